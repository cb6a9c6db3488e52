"""Identity: the input unchanged (a placeholder, or a branch that keeps the input)."""

from __future__ import annotations

from archcalc.layers.base import Layer, layer
from archcalc.layers.traits import Trait


@layer("identity")
class Identity(Layer):
    """Passes its input through unchanged (a placeholder, or a concat branch that keeps the input).

    Example: ``- identity``
    """

    TRAITS = Trait.ALIASES | Trait.LINEAR | Trait.KEEPS_RANGE
