"""Gated recurrent unit (torch ``nn.GRU``): three gate blocks, reset, update and new."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.recurrent import Recurrent
from archcalc.layers.traits import Trait


@layer("gru")
class GRU(Recurrent):
    """A GRU over a ``[T, F]`` sequence (PyTorch ``nn.GRU`` with ``batch_first``, the batch excluded).

    Input ``[T, F]`` → ``[T, D·h]`` (``output: sequence``), or ``[D·h]`` for ``output: last`` (torch's
    ``output[:, -1]``) and ``output: hidden`` (the last layer's ``h_n``, directions side by side), D = 2
    when ``bidirectional``. Parameters per layer and direction: 3·h·(i + h) + 2·3·h (biases), i = F
    in the first layer and D·h above, e.g. F = 10, h = 20: 3·20·(10 + 20) + 120 = 1920. Names are
    torch's (weight_ih_l0, bias_hh_l1_reverse).

    Example: ``- gru: {hidden: 64, output: hidden}``
    """

    TRAITS = Trait.RECURRENT | Trait.GATED
    GATES = 3
    ACTS = 3  # σ for the reset and update gates, tanh for the new state
