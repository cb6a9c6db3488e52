"""The sliding-window rule shared by convolution and pooling (one formula, one place).

    >>> out_size(224, kernel=7, stride=2, padding=3)
    112
    >>> out_size(112, kernel=3, stride=2, padding=0, ceil_mode=True)   # GoogLeNet's pool: 56, not 55
    56
"""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.base import Axis, Derivation, Layer, Shape, derive, numel
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


def out_size(n: Dim, kernel: Dim, stride: Dim, padding: Dim, dilation: Dim = 1, ceil_mode: bool = False) -> Dim:
    """Output length of a window sweep: ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1, or with ``ceil_mode`` ⌈…⌉ + 1 less
    the window PyTorch drops when the last would start in the right padding (:func:`dropped_window`)."""
    span = n + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return symbolic.simplify(symbolic.floordiv(span, stride) + 1)
    return symbolic.simplify(symbolic.ceildiv(span, stride) + 1 - dropped_window(n, kernel, stride, padding, dilation))


def dropped_window(n: Dim, kernel: Dim, stride: Dim, padding: Dim, dilation: Dim = 1) -> int:
    """1 when the last of ``ceil_mode``'s ⌈(n + 2p − k_eff)/s⌉ + 1 windows would start in the right
    padding, which PyTorch drops (ONNX keeps it), else 0.

    That window starts at ⌈(n + 2p − k_eff)/s⌉·s (padded coordinates), the right padding at n + p.
    As ⌈x/s⌉·s < x + s, no window can start there when k_eff ≥ s + p, whatever n is: for a free n that
    rule (or sympy) must decide, otherwise the size is not one formula and :class:`ValueError` says so.

    >>> dropped_window(5, kernel=2, stride=2, padding=1), dropped_window(6, kernel=2, stride=2, padding=1)
    (1, 0)
    """
    keff = dilation * (kernel - 1) + 1
    gap = symbolic.ceildiv(n + 2 * padding - keff, stride) * stride - (n + padding)
    if symbolic.is_int(gap):
        return int(gap >= 0)
    if all(symbolic.is_int(v) for v in (keff, stride, padding)) and keff >= stride + padding:
        return 0
    if gap.is_nonnegative:
        return 1
    if gap.is_negative:
        return 0
    raise ValueError("ceil_mode output depends on the input size in a way archcalc cannot express")


#: how messages and derivations name the spatial axes of a 1-, 2- and 3-D input
AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


class Spatial(Layer):
    """Base of the sliding-window kinds (convolution and pooling) over 1, 2 or 3 spatial axes.

    A kind fixes ``RANK`` and declares ``kernel``, ``padding`` (and, where it has them, ``stride``,
    ``dilation``, ``ceil_mode``) as per-axis arguments; this class turns them into the output size,
    the geometry, the padding on each side and the derivation, for any rank. Input ``[C, *spatial]``.
    """

    RANK = 2
    ceil_mode = False

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        names = AXIS_NAMES[cls.RANK]
        cls.RANKS = (cls.RANK + 1,)
        cls.EXPECTS = f"a [C, {', '.join(names)}]"
        if "dilation" not in cls.ARGS:  # pools without the argument: taps are adjacent
            cls.dilation = (1,) * cls.RANK

    @property
    def axis_names(self) -> tuple[str, ...]:
        return AXIS_NAMES[self.RANK]

    def rank_hint(self, x: Shape) -> str | None:
        if len(x) == 1:
            axes = " and ".join(self.axis_names)
            return f"a flat vector has no {axes}; give the input as [C, {', '.join(self.axis_names)}] or remove " \
                   "the flatten before"
        return None

    @property
    def strides(self) -> tuple[Dim, ...]:
        return self.stride or self.kernel

    def pads(self) -> tuple[Dim, ...]:
        """Left (= right, except for even 'same' kernels) padding per axis."""
        return tuple(begin for begin, _ in self.pad_pairs())

    def pad_pairs(self) -> tuple[tuple[Dim, Dim], ...]:
        """(begin, end) padding per axis. 'same' pads d(k−1) in all, the odd one at the end (as PyTorch)."""
        if self.padding == "same":
            total = [d * (k - 1) for k, d in zip(self.kernel, self.dilation)]
            return tuple((symbolic.floordiv(t, 2), t - symbolic.floordiv(t, 2)) for t in total)
        return tuple((p, p) for p in self.padding)

    def end_pads(self, x: Shape, y: Shape) -> tuple[Dim, ...]:
        """The padding the last window actually reaches past the input's end, per axis: the end padding
        an explicit-padding backend needs to give ``y`` from ``x`` (less than the symmetric padding
        when the floor drops rows, more with ``ceil_mode``)."""
        return tuple(symbolic.simplify(_max0((o - 1) * s + keff - n - begin))
                     for n, o, s, keff, (begin, _) in zip(x[1:], y[1:], self.strides, self.effective_kernel(),
                                                         self.pad_pairs()))

    def effective_kernel(self) -> tuple[Dim, ...]:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (self.out_channels(x), *self.spatial_out(x))

    def out_channels(self, x: Shape) -> Dim:
        """Pooling keeps the channels; a convolution checks them and sets its own."""
        return x[0]

    def spatial_out(self, x: Shape) -> tuple[Dim, ...]:
        """The spatial sizes for a ``[C, *spatial]`` input ``x``, with a located error when the window does not fit."""
        if Trait.POOLS in self.TRAITS:
            self.check_pool_padding()
        if self.padding == "same":
            if any(s != 1 for s in self.strides):
                raise self.error("padding 'same' needs stride 1 (as in PyTorch)", arg="padding",
                                 hint="give the padding as a number, e.g. (kernel − 1) // 2")
            return tuple(x[1:])
        sizes = []
        for axis, n, k, s, p, d in zip(self.axis_names, x[1:], self.kernel, self.strides, self.padding,
                                       self.dilation):
            try:
                size = out_size(n, k, s, p, d, self.ceil_mode)
            except ValueError as e:
                raise self.error(str(e), arg="ceil_mode", hint=f"give {symbolic.fmt(n)} a value with --set") from None
            if symbolic.positive(size) is False:
                keff = d * (k - 1) + 1
                raise self.error(f"output {axis} would be {symbolic.fmt(size)}: the {symbolic.fmt(keff)}-wide kernel "
                                 f"does not fit the input {axis}={symbolic.fmt(n)} padded by {symbolic.fmt(p)}",
                                 code="non-positive-size", hint="use a smaller kernel or stride, more padding, "
                                 "or a larger input")
            sizes.append(size)
        return tuple(sizes)

    def check_pool_padding(self) -> None:
        """PyTorch pools pad at most half the kernel, the raw one (``pad <= kernel // 2``) even when
        dilated; 'same' pads d(k−1)/2, so a dilated 'same' pool can break the rule too."""
        for p, k in zip(self.pads(), self.kernel):
            if symbolic.is_int(p) and symbolic.is_int(k) and 2 * p > k:
                what = f"padding 'same' pads {p}, which is" if self.padding == "same" else f"padding {p} is"
                raise self.error(f"{what} more than half the kernel {k}", arg="padding",
                                 hint="PyTorch allows at most kernel // 2")

    def geometry(self, x: Shape) -> tuple[Axis, ...]:
        return tuple(Axis(k, s, p) for k, s, p in zip(self.effective_kernel(), self.strides, self.pads()))

    def window_reads(self, y: Shape) -> Dim:
        """Elements read by all windows: each of the outputs ``y`` reads every kernel tap (padding included)."""
        return numel(y) * numel(self.kernel)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        out = self.spatial_out(x)
        names = self.axis_names
        if self.padding == "same":
            axes = [(names, x[1], out[0])] if len(set(x[1:])) == 1 else \
                [((name,), n, o) for name, n, o in zip(names, x[1:], out)]
            return [derive(f"{{{group[0]}}}", o, " = ".join(f"{g}_o" for g in group),
                           "padding 'same' keeps the size", **{group[0]: n}) for group, n, o in axes]
        rows = [((name,), n, k, s, p, d, o) for name, n, k, s, p, d, o in
                zip(names, x[1:], self.kernel, self.strides, self.padding, self.dilation, out)]
        if len(rows) > 1 and all(row[1:] == rows[0][1:] for row in rows):
            rows = [(names, *rows[0][1:])]
        open_, close = ("⌈", "⌉") if self.ceil_mode else ("⌊", "⌋")
        lines = []
        for group, n, k, s, p, d, o in rows:
            label = " = ".join(f"{g}_o" for g in group)
            var = group[0]
            span = f"{{{var}}}+2×{{P}}−{{F}}" if d == 1 else f"{{{var}}}+2×{{P}}−{{d}}×({{F}}−1)−1"
            template, note = f"{open_}({span})/{{S}}{close}+1", ""
            if self.ceil_mode and dropped_window(n, k, s, p, d):
                template, note = template + "−1", "PyTorch drops the last window, which would start in the padding"
            lines.append(derive(template, o, label, note, **{var: n, "P": p, "F": k, "S": s, "d": d}))
        return lines


def _max0(value: Dim) -> Dim:
    """max(value, 0), for ints and for formulas."""
    return max(value, 0) if symbolic.is_int(value) else symbolic.largest([value, 0])
