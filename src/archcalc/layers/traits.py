"""What a layer kind does, declared on the kind, for the code that reasons about kinds by behaviour.

Lint rules ("two weighted layers with nothing non-linear between them"), the memory calculator
("this output is a view of its input") and argument checks ("a pool pads at most half its kernel")
ask what a layer does, never which kind it is, so a new kind joins them by declaring its traits.
Every registered kind declares its :class:`Trait` set (``Trait(0)`` when none applies): forgetting
is an error at registration, not a silent "other". What is a number rather than a yes or no sits beside
``TRAITS`` on the kind (``Layer.BOUNDS``, ``Layer.MAX_SLOPE``).

    >>> Trait.WEIGHTED | Trait.LINEAR
    <Trait.WEIGHTED|LINEAR: 9>
"""

from __future__ import annotations

from enum import Flag, auto


class Trait(Flag):
    """One behaviour of a layer kind; a kind's ``TRAITS`` is the union of those that hold for it."""

    #: learned weights that mix features: linear layers and convolutions (what a network's depth counts)
    WEIGHTED = auto()
    #: a non-linear activation applied to each element or position (relu, sigmoid, softmax)
    ACTIVATION = auto()
    #: normalises its input with statistics (batch norm, layer norm)
    NORMALIZES = auto()
    #: a linear map at inference: weighted layers, batch norm, average pooling, dropout, reshapes
    #: (not layer norm, which divides by each sample's own deviation)
    LINEAR = auto()
    #: returns a view of its input or the input itself, so it creates no new tensor
    ALIASES = auto()
    #: pools windows of its input (max or average)
    POOLS = auto()
    #: an activation whose derivative is small almost everywhere (sigmoid' ≤ 0.25): vanishing gradients
    SATURATES = auto()
    #: an activation whose derivative is 0 for every negative input (relu): a unit whose input stays
    #: negative passes no gradient and stops learning ("dies")
    DIES = auto()
    #: zeroes elements at random while training and is the identity at inference
    DROPOUT = auto()
    #: mixes positions by attention (each query reads the keys it may see): a transformer's layer
    ATTENDS = auto()
    #: carries a state from step to step along a sequence (lstm, gru, rnn): output t has read steps 0…t
    RECURRENT = auto()
    #: multiplies its state by learned gates in [0, 1] (lstm, gru), which keeps gradients from vanishing
    #: over many steps and layers as a plain recurrent layer's do
    GATED = auto()
    #: its outputs lie within the range of its inputs, in training as at inference: each is an input value,
    #: their maximum or a weighted average of them (an average pool's padded zeros among them), so
    #: probabilities stay probabilities (reshapes, select, pools, mean, nearest and linear upsampling).
    #: Not dropout: in training it scales what it keeps by 1/(1 − p), past 1
    KEEPS_RANGE = auto()
    #: enlarges its spatial map, each input position spread over several output ones (upsampling,
    #: transposed convolutions, pixel shuffle): a finer grid whose alignment with the input is a convention
    ENLARGES = auto()
    #: an activation that caps outliers only: close to the identity on values well inside its bound
    #: (softcap's c·tanh(x/c)), so what passes through it keeps its meaning, logits included
    CAPS = auto()
    #: an activation that changes nothing when applied twice, f(f(x)) = f(x) (relu, relu6, step)
    IDEMPOTENT = auto()
