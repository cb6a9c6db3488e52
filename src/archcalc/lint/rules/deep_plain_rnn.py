"""A stack of three or more plain (ungated) recurrent layers.

## What it does
Reports a network with three or more `rnn` layers stacked one on another (each layer of
`num_layers` counts; layers that are not recurrent do not break the stack, a gated `lstm` or
`gru` does). The finding is at the layer where the stack reaches three.

## Why is this bad?
A plain recurrent layer passes its gradient back through time as a product of one Jacobian
diag(f′)·W_hhᵀ per step: its norm shrinks or grows geometrically with the number of steps, and
tanh′ ≤ 1 only shrinks it further (Bengio et al. 1994; Pascanu et al. 2013). A stack of L such
layers puts L of these products, and L more saturating non-linearities, on the path from the loss
to the first layer's early steps, so the lower layers of a deep plain stack learn next to nothing
(or blow up with relu). Gated layers add their state through a gate near 1, an almost linear path
that carries the gradient across steps and layers: every published deep recurrent network (Graves
et al. 2013's speech recogniser, Google's NMT with 8 LSTM layers) is gated. Two plain layers
are still common and train on short sequences; from three on, use `lstm` or `gru`.

## Example
```yaml
input: [50, 16]
layers:
  - rnn: {hidden: 64, num_layers: 3}
  - linear: 10
```

Use instead:
```yaml
input: [50, 16]
layers:
  - lstm: {hidden: 64, num_layers: 3}
  - linear: 10
```

## References
- Pascanu, Mikolov, Bengio, "On the difficulty of training recurrent neural networks", ICML 2013.
- Bengio, Simard, Frasconi, "Learning long-term dependencies with gradient descent is difficult",
  IEEE Trans. Neural Networks 1994.
- Hochreiter, Schmidhuber, "Long Short-Term Memory", Neural Computation 1997.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: stacked plain recurrent layers from which the stack counts as deep
THRESHOLD = 3


def check(ctx: Context) -> Iterator[Finding]:
    depth = 0
    for node in ctx.layers:
        traits = node.layer.TRAITS
        if Trait.RECURRENT not in traits:
            continue
        if Trait.GATED in traits:
            depth = 0
            continue
        layers = node.layer.num_layers
        if not symbolic.is_int(layers):  # a symbol: counted as one layer, what every value gives at least
            layers = 1
        before, depth = depth, depth + layers
        if before < THRESHOLD <= depth:
            yield Finding(node.loc, f"{depth} plain recurrent layers stacked up to the rnn `{node.path}`: without "
                          "gates the gradient reaching the lower layers vanishes (or explodes) through the steps "
                          "and layers", hint="use lstm or gru (gated), or at most two rnn layers")
