"""Softplus: log(1 + e^(βx))/β, a smooth ReLU that is exactly linear above a threshold."""

from __future__ import annotations

import math

from archcalc.layers.args import Float
from archcalc.layers.base import Activation, layer


@layer("softplus")
class Softplus(Activation):
    """(1/β)·log(1 + e^(βx)) (PyTorch ``nn.Softplus``): a smooth ReLU, always positive. Where βx exceeds
    ``threshold`` it returns x itself, as PyTorch does for numerical stability.

    Example: ``- softplus`` or ``- softplus: {beta: 2, threshold: 10}``
    """

    PRIMARY = "beta"
    BOUNDS = (0.0, math.inf)  # log(1 + e^(βx))/β > 0, and 0 where e^(βx) underflows

    beta = Float(1.0, doc="β, the sharpness: larger is closer to relu", lo=0, lo_open=True)
    threshold = Float(20.0, doc="above βx > threshold the output is x (no exponential)")
