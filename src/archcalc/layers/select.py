"""Select: one position along an axis, the axis removed (``x[:, 0]``, a ViT's class token)."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import AxisIndex, Int
from archcalc.layers.base import GLOBAL, KEEP, AxisMap, Layer, Shape, layer, shape_text
from archcalc.layers.traits import Trait


@layer("select")
class Select(Layer):
    """Takes position ``index`` along ``axis`` and drops that axis (PyTorch ``x.select(axis + 1, index)``;
    ``x[:, 0]`` is ``select`` with the defaults): the class token of a ViT's ``[T, D]`` sequence as a
    ``[D]`` vector. A negative index counts from the end (``-1``: the last position).

    The output keeps the receptive field of the chosen position, carried on the first remaining axis (so a
    later layer that mixes that axis, a linear on [D], reports the removed axis as global).

    Example: ``- select`` (position 0 of axis 0) or ``- select: {axis: 0, index: -1}`` (the last token)
    """

    TRAITS = Trait.ALIASES | Trait.LINEAR | Trait.KEEPS_RANGE
    PRIMARY = "index"

    index = Int(0, doc="the position taken; negative counts from the end", min=None)
    axis = AxisIndex(0, doc="the axis it is taken along, then removed (0 is the first after the batch)")

    def output_shape(self, x: Shape) -> Shape:
        a = self.axis_of("axis", self.axis, x)
        if len(x) == 1:
            raise self.error(f"would leave no axis of {shape_text(x)}", arg="axis", code="bad-input-shape",
                             hint="select takes a position of a sequence or map with at least two axes")
        size, index = x[a], self.index
        if symbolic.is_int(size) and symbolic.is_int(index) and not -size <= index < size:
            raise self.error(f"index {index} is outside axis {a} of {shape_text(x)} (size {size})", arg="index",
                             hint=f"use 0..{size - 1}, or -1..-{size} from the end")
        return x[:a] + x[a + 1:]

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """The other axes kept; the chosen position's field rides on the first of them."""
        a = self.axis % len(x)
        rest = [i for i in range(len(x)) if i != a]
        return tuple(((i, KEEP), (a, KEEP)) if n == 0 else ((i, KEEP),) for n, i in enumerate(rest))
