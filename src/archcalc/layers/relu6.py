"""ReLU6: min(max(x, 0), 6), as in MobileNet."""

from __future__ import annotations

from archcalc.layers.base import Activation, layer
from archcalc.layers.traits import Trait


@layer("relu6")
class ReLU6(Activation):
    """min(max(x, 0), 6), as in MobileNet.

    Example: ``- relu6``
    """

    TRAITS = Trait.ACTIVATION | Trait.DIES | Trait.IDEMPOTENT  # derivative 0 below 0
    BOUNDS = (0.0, 6.0)
