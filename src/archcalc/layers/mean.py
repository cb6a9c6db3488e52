"""Mean over given axes: a sequence's tokens averaged, or any axes of a map (``x.mean(dims)``)."""

from __future__ import annotations

from archcalc.layers.args import Axes, Bool
from archcalc.layers.base import GLOBAL, KEEP, MIX, AxisMap, Layer, Shape, Work, layer, numel, shape_text
from archcalc.layers.traits import Trait


@layer("mean")
class Mean(Layer):
    """The mean over ``axes`` (batch excluded; PyTorch ``x.mean(dim=…, keepdim=…)``), those axes removed,
    or kept with size 1 (``keepdim``). ``mean: 0`` on a ``[T, D]`` sequence averages the tokens into
    one ``[D]`` vector; ``mean: [1, 2]`` on ``[C, H, W]`` is global average pooling.

    Every output reads the whole of each averaged axis, so its field there is global.

    Example: ``- mean: 0`` or ``- mean: {axes: [1, 2], keepdim: true}``
    """

    TRAITS = Trait.POOLS | Trait.LINEAR | Trait.KEEPS_RANGE
    PRIMARY = "axes"

    axes_ = Axes(doc="the axis or axes averaged (0 is the first after the batch; negative from the end)",
                 key="axes")
    keepdim = Bool(False, doc="keep the averaged axes with size 1")

    def averaged(self, x: Shape) -> tuple[int, ...]:
        axes = self.axes_of("axes", self.axes_, x)
        if len(axes) == len(x) and not self.keepdim:
            raise self.error(f"averages every axis of {shape_text(x)}, leaving none", arg="axes",
                             code="bad-input-shape", hint="keep one axis, or set keepdim: true")
        return axes

    def output_shape(self, x: Shape) -> Shape:
        axes = self.averaged(x)
        if self.keepdim:
            return tuple(1 if i in axes else d for i, d in enumerate(x))
        return tuple(d for i, d in enumerate(x) if i not in axes)

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """Kept axes element by element; the averaged ones mixed into the first output axis (or their own)."""
        averaged = self.averaged(x)
        if self.keepdim:
            return tuple(((i, MIX if i in averaged else KEEP),) for i in range(len(x)))
        kept = [i for i in range(len(x)) if i not in averaged]
        mixed = tuple((i, MIX) for i in averaged)
        return tuple(((i, KEEP), *mixed) if n == 0 else ((i, KEEP),) for n, i in enumerate(kept))

    def work(self, x: Shape, y: Shape) -> Work:
        """Every input element is read once into its mean."""
        return Work(pool=numel(x))
