"""Tanh: an activation in (−1, 1) that saturates like the sigmoid."""

from __future__ import annotations

from archcalc.layers.base import Activation, layer
from archcalc.layers.traits import Trait


@layer("tanh")
class Tanh(Activation):
    """tanh x ∈ (−1, 1); saturates like the sigmoid (derivative ≤ 1, → 0 away from 0).

    Example: ``- tanh``
    """

    TRAITS = Trait.ACTIVATION | Trait.SATURATES
    BOUNDS = (-1.0, 1.0)
