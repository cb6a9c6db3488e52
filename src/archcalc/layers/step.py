"""Step: the perceptron's threshold unit, sign(h) ∈ {−1, 0, +1}."""

from __future__ import annotations

from archcalc.layers.base import Activation, layer
from archcalc.layers.traits import Trait


@layer("step", "sign")
class Step(Activation):
    """The perceptron's threshold unit: sign(h) = −1, 0 or +1. Its gradient is zero everywhere.

    Example: ``- step`` after the perceptron's single ``linear``.
    """

    TRAITS = Trait.ACTIVATION | Trait.IDEMPOTENT  # sign(sign(h)) = sign(h)
    BOUNDS = (-1.0, 1.0)
