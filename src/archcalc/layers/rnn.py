"""Plain (Elman) recurrent layer (torch ``nn.RNN``): h_t = f(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh)."""

from __future__ import annotations

from archcalc.layers.args import Choice
from archcalc.layers.base import layer
from archcalc.layers.recurrent import Recurrent
from archcalc.layers.traits import Trait


@layer("rnn")
class RNN(Recurrent):
    """A plain recurrent layer over a ``[T, F]`` sequence (PyTorch ``nn.RNN`` with ``batch_first``).

    Each step is h_t = f(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh), f = ``nonlinearity`` (tanh or relu):
    no gates, so gradients through many steps or stacked layers vanish or explode (lint rule S110).
    Input ``[T, F]`` → ``[T, D·h]`` (``output: sequence``), or ``[D·h]`` for ``output: last`` (torch's
    ``output[:, -1]``) and ``output: hidden`` (the last layer's ``h_n``, directions side by side).
    Parameters per layer and direction: h·(i + h) + 2·h, i = F in the first layer and D·h above,
    e.g. F = 10, h = 20: 20·(10 + 20) + 40 = 640. Names are torch's (weight_ih_l0, bias_ih_l0_reverse).

    Example: ``- rnn: {hidden: 32, nonlinearity: relu}``
    """

    TRAITS = Trait.RECURRENT
    GATES = 1
    ACTS = 1

    nonlinearity = Choice(("tanh", "relu"), "tanh", doc="the step's function f: tanh or relu")
