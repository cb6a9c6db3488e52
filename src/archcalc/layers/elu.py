"""ELU: x for x > 0, α(eˣ − 1) otherwise: negative outputs that level off at −α."""

from __future__ import annotations

import math

from archcalc.layers.args import Float
from archcalc.layers.base import Activation, layer


@layer("elu")
class ELU(Activation):
    """x for x > 0, α·(eˣ − 1) otherwise (PyTorch ``nn.ELU``): smooth, with negative outputs that level
    off at −α, which pushes mean activations towards zero (Clevert et al. 2016).

    Example: ``- elu`` or ``- elu: 0.5`` (α)
    """

    PRIMARY = "alpha"

    alpha = Float(1.0, doc="α, the value −α negative inputs level off at")

    @property
    def BOUNDS(self) -> tuple[float, float]:
        """Above −α (a negative α makes the negative side α(eˣ − 1) ∈ (0, −α), so then above 0)."""
        return (min(-self.alpha, 0.0), math.inf)
