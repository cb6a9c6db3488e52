"""Transpose: two axes (batch excluded) swapped, as ``x.transpose``; nothing is computed."""

from __future__ import annotations

from archcalc.layers.args import AxisIndex
from archcalc.layers.base import Shape, layer
from archcalc.layers.permute import Reorder


@layer("transpose")
class Transpose(Reorder):
    """Swaps axes ``dim0`` and ``dim1`` (batch excluded; PyTorch ``x.transpose(dim0 + 1, dim1 + 1)``).

    A ViT's patches ``[D, H', W']`` become a sequence ``[H'·W', D]`` with ``flatten: {start: 1}`` then
    ``transpose``.

    Example: ``- transpose`` (the two axes of ``[D, T]``) or ``- transpose: {dim0: 0, dim1: 2}``
    """

    dim0 = AxisIndex(-2, doc="one axis (default: the second last)")
    dim1 = AxisIndex(-1, doc="the other axis (default: the last)")

    def order(self, x: Shape) -> tuple[int, ...]:
        a, b = self.axis_of("dim0", self.dim0, x), self.axis_of("dim1", self.dim1, x)
        order = list(range(len(x)))
        order[a], order[b] = b, a
        return tuple(order)
