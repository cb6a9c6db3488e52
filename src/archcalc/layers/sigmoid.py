"""Sigmoid: 1/(1 + e^−x), a probability in (0, 1); it saturates."""

from __future__ import annotations

from typing import ClassVar

from archcalc.layers.base import Activation, layer
from archcalc.layers.traits import Trait


@layer("sigmoid")
class Sigmoid(Activation):
    """1/(1 + e^−x) ∈ (0, 1); its derivative s(1 − s) is at most 0.25, so deep stacks vanish.

    Example: ``- sigmoid``
    """

    TRAITS = Trait.ACTIVATION | Trait.SATURATES
    MAX_SLOPE: ClassVar[float] = 0.25
    BOUNDS = (0.0, 1.0)
