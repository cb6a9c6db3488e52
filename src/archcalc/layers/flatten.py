"""Flatten: [C, H, W] → [C·H·W], so a linear layer can follow a feature map."""

from __future__ import annotations

from archcalc.layers.base import GLOBAL, KEEP, AxisMap, Derivation, Layer, Shape, derive, layer, numel
from archcalc.layers.traits import Trait


@layer("flatten")
class Flatten(Layer):
    """Joins all axes into one (PyTorch ``nn.Flatten()``, which keeps the batch axis).

    Example: ``- flatten`` between the last pooling layer and the first ``linear``.
    """

    TRAITS = Trait.ALIASES | Trait.LINEAR

    def output_shape(self, x: Shape) -> Shape:
        return (numel(x),)

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """One axis holding every input axis, element by element (a view: nothing is mixed yet)."""
        return (tuple((i, KEEP) for i in range(len(x))),)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        if len(x) != 3:
            return []
        return [derive("{C}×{H}×{W}", self.output_shape(x)[0], "D", C=x[0], H=x[1], W=x[2])]
