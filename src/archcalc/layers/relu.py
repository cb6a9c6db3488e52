"""ReLU: max(x, 0), the default activation of deep networks."""

from __future__ import annotations

import math

from archcalc.layers.base import Activation, layer
from archcalc.layers.traits import Trait


@layer("relu")
class ReLU(Activation):
    """max(x, 0); derivative 1 for x > 0 and 0 otherwise, so it does not vanish (but units can "die").

    Example: ``- relu``
    """

    TRAITS = Trait.ACTIVATION | Trait.DIES | Trait.IDEMPOTENT  # derivative 0 below 0
    BOUNDS = (0.0, math.inf)
