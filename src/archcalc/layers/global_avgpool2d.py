"""Global average pooling: the mean of each channel, [C, H, W] → [C]."""

from __future__ import annotations

from archcalc.layers.base import GLOBAL, KEEP, MIX, AxisMap, Layer, Shape, Work, layer, numel
from archcalc.layers.traits import Trait


@layer("global_avgpool2d", "global_avgpool")
class GlobalAvgPool2d(Layer):
    """Mean over H and W of each channel, giving a flat [C] vector (Keras ``GlobalAveragePooling2D``).

    Equal to ``adaptive_avgpool2d: 1`` followed by ``flatten``; no parameters.

    Example: ``- global_avgpool2d``
    """

    TRAITS = Trait.POOLS | Trait.LINEAR
    RANKS = (3,)
    EXPECTS = "a [C, H, W]"

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (x[0],)

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """Each channel kept, its H and W averaged away."""
        return (((0, KEEP), *((i, MIX) for i in range(1, len(x)))),)

    def work(self, x: Shape, y: Shape) -> Work:
        """Every input element is read once into its channel's mean."""
        return Work(pool=numel(x))
