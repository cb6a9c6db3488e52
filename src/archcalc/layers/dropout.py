"""Inverted dropout: zero with probability p in training, scale survivors by 1/(1−p)."""

from __future__ import annotations

from archcalc.layers.args import Float
from archcalc.layers.base import Layer, layer
from archcalc.layers.traits import Trait


@layer("dropout")
class Dropout(Layer):
    """Inverted dropout (PyTorch ``nn.Dropout``): E[output] = input, identity in evaluation.

    Example: ``- dropout: {p: 0.5}`` or ``- dropout: 0.5``
    """

    TRAITS = Trait.DROPOUT | Trait.LINEAR
    PRIMARY = "p"

    p = Float(0.5, doc="probability of zeroing each element", lo=0, hi=1)
