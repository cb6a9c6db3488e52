"""What the max and average pooling kinds share, over 1, 2 or 3 spatial axes: no parameters,
channels unchanged, the stride defaulting to the kernel."""

from __future__ import annotations

from archcalc.layers.args import Bool, Padding, PerAxis
from archcalc.layers.base import Shape, Work
from archcalc.layers.spatial import Spatial
from archcalc.layers.traits import Trait


class MaxPool(Spatial):
    """Max pooling (PyTorch ``nn.MaxPool1d``/``2d``/``3d``): the largest value of each window.

    Output size per axis: ⌊(n + 2P − d(F−1) − 1)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.
    """

    TRAITS = Trait.POOLS
    PRIMARY = "kernel"

    kernel = PerAxis(doc="window size F: {k}")
    stride = PerAxis(None, doc="stride S; defaults to the kernel")
    padding = Padding(0, doc="implicit −∞ padding on each side, at most half the kernel")
    dilation = PerAxis(1, doc="spacing between window taps")
    ceil_mode = Bool(False, doc="round the output size up (the last window may overhang)")

    def work(self, x: Shape, y: Shape) -> Work:
        return Work(pool=self.window_reads(y))


class AvgPool(Spatial):
    """Average pooling (PyTorch ``nn.AvgPool1d``/``2d``/``3d``): the mean of each window.

    Output size per axis: ⌊(n + 2P − F)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.
    """

    TRAITS = Trait.POOLS | Trait.LINEAR
    PRIMARY = "kernel"

    kernel = PerAxis(doc="window size F: {k}")
    stride = PerAxis(None, doc="stride S; defaults to the kernel")
    padding = Padding(0, doc="zero padding on each side, at most half the kernel")
    ceil_mode = Bool(False, doc="round the output size up (the last window may overhang)")
    count_include_pad = Bool(True, doc="count padded zeros in the mean's divisor")

    def work(self, x: Shape, y: Shape) -> Work:
        return Work(pool=self.window_reads(y))
