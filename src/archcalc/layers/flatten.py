"""Flatten: a run of axes joined into one ([C, H, W] → [C·H·W] by default), for a linear layer after a map."""

from __future__ import annotations

from archcalc.layers.args import AxisIndex
from archcalc.layers.base import GLOBAL, KEEP, AxisMap, Derivation, Layer, Shape, derive, layer, numel, shape_text
from archcalc.layers.traits import Trait


@layer("flatten")
class Flatten(Layer):
    """Joins the axes ``start`` … ``end`` (both included, batch excluded) into one, as PyTorch's
    ``nn.Flatten(start_dim, end_dim)`` does with the batch axis counted: all of them by default.

    ``flatten: {start: 1}`` on ``[C, H, W]`` gives ``[C, H·W]``: with ``transpose`` after it, a ViT's
    patches as a sequence. Nothing is computed; each element keeps its field.

    Example: ``- flatten`` between the last pooling layer and the first ``linear``.
    """

    TRAITS = Trait.ALIASES | Trait.LINEAR | Trait.KEEPS_RANGE

    start = AxisIndex(0, doc="the first axis joined (0 is the first after the batch; negative from the end)")
    end = AxisIndex(-1, doc="the last axis joined, included (-1: the last)")

    def span(self, x: Shape) -> tuple[int, int]:
        """``(start, end)`` counted from 0; ``end`` before ``start`` is an error."""
        start, end = self.axis_of("start", self.start, x), self.axis_of("end", self.end, x)
        if end < start:
            raise self.error(f"end axis {self.end} comes before start axis {self.start} on {shape_text(x)}",
                             arg="end", hint="end names the last axis joined, at or after start (-1 is the last)")
        return start, end

    def output_shape(self, x: Shape) -> Shape:
        start, end = self.span(x)
        return (*x[:start], numel(x[start:end + 1]), *x[end + 1:])

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """The joined axes held by one output axis, element by element (a view: nothing is mixed yet)."""
        start, end = self.span(x)
        return (*(((i, KEEP),) for i in range(start)), tuple((i, KEEP) for i in range(start, end + 1)),
                *(((i, KEEP),) for i in range(end + 1, len(x))))

    def explain_shape(self, x: Shape) -> list[Derivation]:
        start, end = self.span(x)
        if end == start:
            return []
        names = ("C", "H", "W") if len(x) == 3 else tuple(f"D_{i}" for i in range(len(x)))
        joined = dict(zip(names[start:end + 1], x[start:end + 1]))
        template = "×".join(f"{{{name}}}" for name in joined)
        return [derive(template, numel(x[start:end + 1]), "D" if start == 0 and end == len(x) - 1 else
                       f"axis {start}", **joined)]
