"""2-D max pooling: a window maximum, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.args import Bool, Padding, Pair
from archcalc.layers.base import Shape, Work, layer
from archcalc.layers.spatial import Spatial
from archcalc.layers.traits import Trait


@layer("maxpool2d", "maxpool")
class MaxPool2d(Spatial):
    """2-D max pooling (PyTorch ``nn.MaxPool2d``); the stride defaults to the kernel.

    Output size per axis: ⌊(H + 2P − d(F−1) − 1)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- maxpool2d: {kernel: 2}`` halves H and W.
    """

    TRAITS = Trait.POOLS
    PRIMARY = "kernel"

    kernel = Pair(doc="window size F: k or [k_h, k_w]")
    stride = Pair(None, doc="stride S; defaults to the kernel")
    padding = Padding(0, doc="implicit −∞ padding on each side, at most half the kernel")
    dilation = Pair(1, doc="spacing between window taps")
    ceil_mode = Bool(False, doc="round the output size up (the last window may overhang)")

    def work(self, x: Shape, y: Shape) -> Work:
        return Work(pool=self.window_reads(y))
