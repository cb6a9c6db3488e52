"""GELU: x·Φ(x), the Gaussian error linear unit of transformers."""

from __future__ import annotations

from archcalc.layers.args import Choice
from archcalc.layers.base import Activation, layer


@layer("gelu")
class GELU(Activation):
    """x·Φ(x), the Gaussian error linear unit (``approximate: tanh`` for the faster form).

    Example: ``- gelu``
    """

    approximate = Choice(("none", "tanh"), "none", doc="none (exact erf) or tanh approximation")
