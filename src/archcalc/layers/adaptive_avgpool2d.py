"""Adaptive average pooling: any H×W in, a fixed out_h×out_w out, no parameters."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Pair
from archcalc.layers.base import GLOBAL, VARIES, Axis, Layer, Shape, layer


@layer("adaptive_avgpool2d")
class AdaptiveAvgPool2d(Layer):
    """Average pooling to a fixed output size (PyTorch ``nn.AdaptiveAvgPool2d``).

    ``out: 1`` is global average pooling that keeps the [C, 1, 1] shape (torchvision's ResNet);
    ``out: [7, 7]`` is VGG's. When the input divides evenly the windows are k = H/out, stride k.

    Example: ``- adaptive_avgpool2d: {out: [7, 7]}`` or ``- adaptive_avgpool2d: 1``
    """

    ROLE = "pool"
    PRIMARY = "out"
    RANKS = (3,)
    EXPECTS = "a [C, H, W]"

    out = Pair(doc="output size: s or [out_h, out_w]")

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (x[0], *self.out)

    def geometry(self, x: Shape) -> tuple[Axis, Axis] | str:
        if self.out == (1, 1):
            return GLOBAL
        axes = []
        for n, o in zip(x[1:], self.out):
            if not (symbolic.is_int(n) and symbolic.is_int(o)) or n % o:
                return VARIES
            axes.append(Axis(n // o, n // o, 0))
        return tuple(axes)
