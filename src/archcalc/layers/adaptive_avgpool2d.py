"""Adaptive average pooling: any H×W in, a fixed out_h×out_w out, no parameters."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import PerAxis
from archcalc.layers.base import GLOBAL, KEEP, MIX, VARIES, Axis, AxisMap, Layer, Shape, Work, layer
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


@layer("adaptive_avgpool2d")
class AdaptiveAvgPool2d(Layer):
    """Average pooling to a fixed output size (PyTorch ``nn.AdaptiveAvgPool2d``).

    ``out: 1`` is global average pooling that keeps the [C, 1, 1] shape (torchvision's ResNet);
    ``out: [7, 7]`` is VGG's. When the input divides evenly the windows are k = H/out, stride k.

    Example: ``- adaptive_avgpool2d: {out: [7, 7]}`` or ``- adaptive_avgpool2d: 1``
    """

    TRAITS = Trait.POOLS | Trait.LINEAR
    PRIMARY = "out"
    RANKS = (3,)
    EXPECTS = "a [C, H, W]"

    RANK = 2

    out = PerAxis(doc="output size: s or [out_h, out_w]")

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (x[0], *self.out)

    def geometry(self, x: Shape) -> tuple[Axis, ...] | str:
        if self.out == (1, 1):
            return GLOBAL
        axes = []
        for n, o in zip(x[1:], self.out):
            if not (symbolic.is_int(n) and symbolic.is_int(o)) or n % o:
                return VARIES
            axes.append(Axis(n // o, n // o, 0))
        return tuple(axes)

    def axes(self, x: Shape) -> AxisMap:
        """Channels kept; a spatial axis pooled to one value mixed, else windowed (or varying windows)."""
        geometry = self.geometry(x)
        if geometry != GLOBAL:
            return super().axes(x)
        return (((0, KEEP),), *(((i, MIX),) for i in range(1, len(x))))

    def work(self, x: Shape, y: Shape) -> Work:
        """Elements read by all windows. Output i of an axis averages inputs ⌊i·n/o⌋ … ⌈(i+1)·n/o⌉ − 1
        (PyTorch's rule), so the windows cover the n inputs once when o divides n and overlap otherwise."""
        reads = x[0]
        for n, o in zip(x[1:], self.out):
            reads = reads * _window_total(n, o)
        return Work(pool=symbolic.simplify(reads))


def _window_total(n: Dim, o: Dim) -> Dim:
    """Σ over the o outputs of one axis of their window lengths ⌈(i+1)·n/o⌉ − ⌊i·n/o⌋."""
    return symbolic.summation(lambda i: symbolic.ceildiv((i + 1) * n, o) - symbolic.floordiv(i * n, o), o)
