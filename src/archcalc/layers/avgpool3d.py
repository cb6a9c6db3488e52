"""3-D average pooling: a window mean, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.base import Dim, Shape, layer
from archcalc.layers.pool import AvgPool


@layer("avgpool3d")
class AvgPool3d(AvgPool):
    """3-D average pooling over a ``[C, D, H, W]`` input, a volume or a clip (PyTorch ``nn.AvgPool3d``); the stride
    defaults to the kernel.

    Output size per axis: ⌊(n + 2P − F)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    PyTorch's ``avg_pool3d`` (unlike its 1-D and 2-D kinds and max pooling) refuses a window larger than the
    unpadded input along any axis, padding or not: so does this kind.

    Example: ``- avgpool3d: {kernel: 2}``
    """

    RANK = 3

    def spatial_out(self, x: Shape) -> tuple[Dim, ...]:
        sizes = super().spatial_out(x)
        for axis, n, k in zip(self.axis_names, x[1:], self.kernel):
            if symbolic.is_int(n) and symbolic.is_int(k) and n < k:
                raise self.error(f"the input's {axis}={n} is smaller than the kernel's {k}: PyTorch's avg_pool3d "
                                 "refuses a window wider than the unpadded input, whatever the padding",
                                 arg="kernel", code="non-positive-size",
                                 hint=f"a kernel of at most {n} along {axis}, or a larger input")
        return sizes
