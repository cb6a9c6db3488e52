"""Hard sigmoid: relu6(x + 3)/6, MobileNetV3's cheap gate; it saturates."""

from __future__ import annotations

from typing import ClassVar

from archcalc.layers.base import Activation, layer
from archcalc.layers.traits import Trait


@layer("hardsigmoid")
class Hardsigmoid(Activation):
    """relu6(x + 3)/6 ∈ [0, 1] (PyTorch ``nn.Hardsigmoid``): 0 for x ≤ −3, 1 for x ≥ 3, a line of slope
    1/6 between. Its derivative is at most 1/6 and 0 outside (−3, 3), so deep stacks vanish even faster
    than with the sigmoid; it is meant as a gate (MobileNetV3's squeeze-and-excitation).

    Example: ``- hardsigmoid``
    """

    TRAITS = Trait.ACTIVATION | Trait.SATURATES
    MAX_SLOPE: ClassVar[float] = 1 / 6
    BOUNDS = (0.0, 1.0)
