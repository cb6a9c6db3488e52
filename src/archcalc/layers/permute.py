"""Permute: the axes (batch excluded) in a new order, as ``x.permute``; nothing is computed."""

from __future__ import annotations

from archcalc.layers.args import Axes
from archcalc.layers.base import GLOBAL, KEEP, AxisMap, Layer, Shape, layer, shape_text
from archcalc.layers.traits import Trait


class Reorder(Layer):
    """What permute and transpose share: an :meth:`order` of the input axes (not registered itself)."""

    TRAITS = Trait.ALIASES | Trait.LINEAR | Trait.KEEPS_RANGE  # a view with other strides

    def order(self, x: Shape) -> tuple[int, ...]:
        raise NotImplementedError

    def output_shape(self, x: Shape) -> Shape:
        return tuple(x[d] for d in self.order(x))

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """Each output axis is one input axis, moved: its field goes with it."""
        return tuple(((d, KEEP),) for d in self.order(x))


@layer("permute")
class Permute(Reorder):
    """Reorders the axes after the batch: output axis i is input axis ``dims[i]`` (PyTorch
    ``x.permute(0, *(d + 1 for d in dims))``). ``dims`` names every axis once; negative ones count
    from the end. Each axis keeps its receptive field.

    Example: ``- permute: [1, 2, 0]`` (``[C, H, W]`` → ``[H, W, C]``, ConvNeXt's channels-last block)
    """

    PRIMARY = "dims"

    dims = Axes(doc="the input axis each output axis takes, every axis once (0 is the first after the batch)")

    def order(self, x: Shape) -> tuple[int, ...]:
        """``dims`` counted from 0; it must name every axis of the input exactly once."""
        order = tuple(self.axis_of("dims", d, x) for d in self.dims)
        self.axes_of("dims", order, x)  # refuses repeats
        if len(order) != len(x):
            raise self.error(f"names {len(order)} of the {len(x)} axes of {shape_text(x)}", arg="dims",
                             hint=f"a permutation names every axis once, e.g. {list(range(len(x)))[::-1]}")
        return order
