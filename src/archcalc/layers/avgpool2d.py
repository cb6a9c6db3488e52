"""2-D average pooling: a window mean, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.args import Bool, Padding, Pair
from archcalc.layers.base import Shape, Work, layer
from archcalc.layers.spatial import Spatial
from archcalc.layers.traits import Trait


@layer("avgpool2d", "avgpool")
class AvgPool2d(Spatial):
    """2-D average pooling (PyTorch ``nn.AvgPool2d``); the stride defaults to the kernel.

    Output size per axis: ⌊(H + 2P − F)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- avgpool2d: {kernel: 2, stride: 2}``
    """

    TRAITS = Trait.POOLS | Trait.LINEAR
    PRIMARY = "kernel"

    kernel = Pair(doc="window size F: k or [k_h, k_w]")
    stride = Pair(None, doc="stride S; defaults to the kernel")
    padding = Padding(0, doc="zero padding on each side, at most half the kernel")
    ceil_mode = Bool(False, doc="round the output size up (the last window may overhang)")
    count_include_pad = Bool(True, doc="count padded zeros in the mean's divisor")

    def work(self, x: Shape, y: Shape) -> Work:
        return Work(pool=self.window_reads(y))
