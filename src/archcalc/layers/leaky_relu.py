"""Leaky ReLU: a small slope for negative inputs keeps units alive."""

from __future__ import annotations

from archcalc.layers.args import Float
from archcalc.layers.base import Activation, layer


@layer("leaky_relu")
class LeakyReLU(Activation):
    """x for x > 0, slope·x otherwise: a small gradient keeps negative units alive.

    Example: ``- leaky_relu: {slope: 0.1}``
    """

    PRIMARY = "slope"

    slope = Float(0.01, doc="gradient for negative inputs (PyTorch negative_slope)")
