"""Hard swish: x·relu6(x + 3)/6, MobileNetV3's cheap SiLU."""

from __future__ import annotations

import math

from archcalc.layers.base import Activation, layer


@layer("hardswish")
class Hardswish(Activation):
    """x·relu6(x + 3)/6 (PyTorch ``nn.Hardswish``): 0 for x ≤ −3, x for x ≥ 3, a parabola between; a
    piecewise-polynomial SiLU (MobileNetV3). Its derivative is 1 for x > 3, so it does not saturate.

    Example: ``- hardswish``
    """

    BOUNDS = (-0.375, math.inf)  # the parabola x(x + 3)/6 is lowest at x = −1.5
