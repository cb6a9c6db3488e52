"""What the pooling kinds share, over 1, 2 or 3 spatial axes: no parameters, channels unchanged;
the window kinds' stride defaults to the kernel, the adaptive and global ones size their windows
from the input."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Padding, PerAxis
from archcalc.layers.base import GLOBAL, KEEP, MIX, VARIES, Axis, AxisMap, Layer, Shape, Work, numel
from archcalc.layers.spatial import AXIS_NAMES, Spatial
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


class MaxPool(Spatial):
    """Max pooling (PyTorch ``nn.MaxPool1d``/``2d``/``3d``): the largest value of each window.

    Output size per axis: ⌊(n + 2P − d(F−1) − 1)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.
    """

    TRAITS = Trait.POOLS | Trait.KEEPS_RANGE
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

    TRAITS = Trait.POOLS | Trait.LINEAR | Trait.KEEPS_RANGE
    PRIMARY = "kernel"

    kernel = PerAxis(doc="window size F: {k}")
    stride = PerAxis(None, doc="stride S; defaults to the kernel")
    padding = Padding(0, doc="zero padding on each side, at most half the kernel")
    ceil_mode = Bool(False, doc="round the output size up (the last window may overhang)")
    count_include_pad = Bool(True, doc="count padded zeros in the mean's divisor")

    def work(self, x: Shape, y: Shape) -> Work:
        return Work(pool=self.window_reads(y))


class _Ranked(Layer):
    """A pool over ``RANK`` spatial axes without a window argument: the accepted input is ``[C, *spatial]``."""

    RANK = 2

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        cls.RANKS = (cls.RANK + 1,)
        cls.EXPECTS = f"a [C, {', '.join(AXIS_NAMES[cls.RANK])}]"


class AdaptiveAvgPool(_Ranked):
    """Average pooling to a fixed output size (PyTorch ``nn.AdaptiveAvgPool1d``/``2d``/``3d``).

    Output i of an axis of n inputs pooled to o averages inputs ⌊i·n/o⌋ … ⌈(i+1)·n/o⌉ − 1; when o
    divides n these are windows of k = n/o, stride k.
    """

    TRAITS = Trait.POOLS | Trait.LINEAR | Trait.KEEPS_RANGE
    PRIMARY = "out"

    out = PerAxis(doc="output size: one for every axis or one per axis")

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (x[0], *self.out)

    def geometry(self, x: Shape) -> tuple[Axis, ...] | str:
        if all(o == 1 for o in self.out):
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


class GlobalAvgPool(_Ranked):
    """The mean of each channel over every spatial axis, giving a flat ``[C]`` vector."""

    TRAITS = Trait.POOLS | Trait.LINEAR | Trait.KEEPS_RANGE

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (x[0],)

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """Each channel kept, its spatial axes averaged away."""
        return (((0, KEEP), *((i, MIX) for i in range(1, len(x)))),)

    def work(self, x: Shape, y: Shape) -> Work:
        """Every input element is read once into its channel's mean."""
        return Work(pool=numel(x))
