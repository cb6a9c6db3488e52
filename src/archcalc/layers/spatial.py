"""The sliding-window rule shared by convolution and pooling (one formula, one place).

    >>> out_size(224, kernel=7, stride=2, padding=3)
    112
    >>> out_size(112, kernel=3, stride=2, padding=0, ceil_mode=True)   # GoogLeNet's pool: 56, not 55
    56
"""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.base import Axis, Derivation, Layer, Shape, derive, numel
from archcalc.symbolic import Dim


def out_size(n: Dim, kernel: Dim, stride: Dim, padding: Dim, dilation: Dim = 1, ceil_mode: bool = False) -> Dim:
    """Output length of a window sweep: ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    With ``ceil_mode`` PyTorch drops a last window that would start in the right padding.
    """
    span = n + 2 * padding - dilation * (kernel - 1) - 1
    if not ceil_mode:
        return symbolic.simplify(symbolic.floordiv(span, stride) + 1)
    out = symbolic.simplify(symbolic.ceildiv(span, stride) + 1)
    starts_in_padding = (out - 1) * stride >= n + padding if symbolic.is_int(out) else _decide(out, stride, n, padding)
    return out - 1 if starts_in_padding else out


def _decide(out: Dim, stride: Dim, n: Dim, padding: Dim) -> bool:
    gap = (out - 1) * stride - (n + padding)
    if gap.is_nonnegative:
        return True
    if gap.is_negative or (padding == 0 and symbolic.is_int(stride)):  # k ≥ s without padding never overruns
        return False
    raise ValueError("ceil_mode output depends on the input size in a way archcalc cannot express")


class Spatial(Layer):
    """Base of conv2d, maxpool2d and avgpool2d: kernel, stride, padding and dilation over (H, W).

    Subclasses declare ``kernel``, ``padding`` (and, where they have them, ``stride``, ``dilation``,
    ``ceil_mode``); this class turns them into the output size, geometry and derivation.
    """

    RANKS = (3,)
    EXPECTS = "a [C, H, W]"
    ceil_mode = False
    dilation: tuple[Dim, Dim] = (1, 1)

    def rank_hint(self, x: Shape) -> str | None:
        if len(x) == 1:
            return "a flat vector has no H and W; give the input as [C, H, W] or remove the flatten before"
        return None

    @property
    def strides(self) -> tuple[Dim, Dim]:
        return self.stride or self.kernel

    def pads(self) -> tuple[Dim, Dim]:
        """Left (= right, except for even 'same' kernels) padding per axis."""
        if self.padding == "same":
            return tuple(symbolic.floordiv(d * (k - 1), 2) for k, d in zip(self.kernel, self.dilation))
        return self.padding

    def effective_kernel(self) -> tuple[Dim, Dim]:
        return tuple(d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation))

    def spatial_out(self, x: Shape) -> tuple[Dim, Dim]:
        """(H_out, W_out) for input ``x``, with a located error when the window does not fit."""
        self.check_rank(x)
        if self.padding == "same":
            if self.strides != (1, 1):
                raise self.error("padding 'same' needs stride 1 (as in PyTorch)", arg="padding",
                                 hint="give the padding as a number, e.g. (kernel − 1) // 2")
            return x[1], x[2]
        if self.ROLE == "pool":
            for p, k in zip(self.padding, self.effective_kernel()):
                if symbolic.is_int(p) and symbolic.is_int(k) and 2 * p > k:
                    raise self.error(f"padding {p} is more than half the kernel {k}", arg="padding",
                                     hint="PyTorch allows at most kernel // 2")
        sizes = []
        for axis, n, k, s, p, d in zip("HW", x[1:], self.kernel, self.strides, self.padding, self.dilation):
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

    def geometry(self, x: Shape) -> tuple[Axis, Axis]:
        pads = self.pads()
        return tuple(Axis(k, s, p) for k, s, p in zip(self.effective_kernel(), self.strides, pads))

    def window_reads(self, y: Shape) -> Dim:
        """Elements read by all windows: each of the outputs ``y`` reads k_h·k_w taps (padding included)."""
        kh, kw = self.kernel
        return numel(y) * kh * kw

    def explain_shape(self, x: Shape) -> list[Derivation]:
        out = self.spatial_out(x)
        if self.padding == "same":
            return [Derivation("H_o = H, W_o = W", "padding 'same' keeps the size", out[0], "")]
        lines = []
        axes = list(zip(("H", "W"), x[1:], self.kernel, self.strides, self.padding, self.dilation, out))
        if axes[0][1:] == axes[1][1:]:
            axes = [("H_o = W_o", *axes[0][1:])]
        open_, close = ("⌈", "⌉") if self.ceil_mode else ("⌊", "⌋")
        for name, n, k, s, p, d, o in axes:
            label = name if name.endswith("W_o") else f"{name}_o"
            var = "H" if name.startswith("H") else "W"
            span = f"{{{var}}}+2×{{P}}−{{F}}" if d == 1 else f"{{{var}}}+2×{{P}}−{{d}}×({{F}}−1)−1"
            lines.append(derive(f"{open_}({span})/{{S}}{close}+1", o, label, **{var: n, "P": p, "F": k, "S": s,
                                                                                  "d": d}))
        return lines
