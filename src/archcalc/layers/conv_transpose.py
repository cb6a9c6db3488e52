"""What conv_transpose1d, 2d and 3d share: the gradient of a convolution, used to upsample.

Output size per axis: (n − 1)·S − 2P + d(F − 1) + P_o + 1 (PyTorch's ``ConvTranspose``), where the
output padding P_o adds rows on one side only, to choose between the sizes a strided convolution
maps to the same input size.
"""

from __future__ import annotations

from archcalc import symbolic
from archcalc.errors import Loc, SpecError
from archcalc.layers.args import PerAxis
from archcalc.layers.base import MIX, VARIES, AxisMap, Count, Derivation, Shape, Up, Work, derive, numel
from archcalc.layers.conv import Conv
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


class Cropping(PerAxis):
    """A transposed convolution's ``padding``: numbers only, as torch takes them; 'same' and 'valid' are a
    convolution's words, named in the error rather than read as undefined symbols."""

    def word_error(self, word: str, loc: Loc, names: list[str]) -> SpecError | None:
        if word in ("same", "valid"):
            return self.fail(loc, word, hint="torch's transposed convolutions take no 'same' or 'valid': give "
                             "the rows to remove, e.g. (kernel − stride) // 2 to multiply the size by the stride")
        return None


class ConvTranspose(Conv):
    """Transposed convolution over ``RANK`` spatial axes (PyTorch ``nn.ConvTranspose1d``/``2d``/``3d``).

    Output size per axis: (n − 1)·S − 2P + d(F − 1) + P_o + 1. Parameters: C_i×(C_o/g)×∏F weights (torch's
    layout ``[C_i, C_o/g, *F]``) + C_o biases. Each input element scatters a (C_o/g)·∏F patch.
    """

    TRAITS = Trait.WEIGHTED | Trait.LINEAR | Trait.ENLARGES

    padding = Cropping(0, doc="rows removed from each side of the output: {p}", min=0)
    output_padding = PerAxis(0, doc="rows added to one side of the output, below the stride or the dilation: {p}",
                             min=0)

    #: torch's transposed convolutions pad with zeros only ('Only "zeros" padding mode is supported')
    padding_mode = "zeros"

    def spatial_out(self, x: Shape) -> tuple[Dim, ...]:
        sizes = []
        for axis, n, k, s, p, op, d in zip(self.axis_names, x[1:], self.kernel, self.strides, self.padding,
                                           self.output_padding, self.dilation):
            if symbolic.is_int(op) and op >= s and op >= d:
                raise self.error(f"output padding {op} along {axis} is not smaller than the stride {s} or the "
                                 f"dilation {d}", arg="output_padding",
                                 hint="PyTorch needs output_padding < stride or output_padding < dilation")
            size = symbolic.simplify((n - 1) * s - 2 * p + d * (k - 1) + op + 1)
            if symbolic.positive(size) is False:
                raise self.error(f"output {axis} would be {symbolic.fmt(size)}: the padding {symbolic.fmt(p)} "
                                 f"removes more than the {symbolic.fmt(n)} inputs spread by the stride give",
                                 code="non-positive-size", hint="use less padding, or a larger input")
            sizes.append(size)
        return tuple(sizes)

    def geometry(self, x: Shape) -> str:
        """Outputs step by 1/S input positions, which no downsampling window describes: the receptive field
        reads :meth:`axes` instead, and the tiling and window lint rules leave the layer alone."""
        return VARIES

    def axes(self, x: Shape) -> AxisMap:
        """Channels mixed; each spatial axis the stride-1 window of d(F−1)+1 taps, padded d(F−1) − P on the
        left, over the input with S − 1 zeros between positions (the definition of the transposed conv)."""
        return (((0, MIX),), *(((i + 1, Up(s, keff, keff - 1 - p)),)
                               for i, (s, keff, p) in enumerate(zip(self.strides, self.effective_kernel(),
                                                                    self.padding))))

    def reparam_shape(self, x: Shape) -> Shape:
        """torch's weight, ``[C_i, C_o/g, *F]``, which ``weight_norm:`` or ``spectral_norm:`` reparametrises."""
        return (x[0], symbolic.floordiv(self.out, self.groups), *self.kernel)

    def params(self, x: Shape) -> Count:
        weights = x[0] * symbolic.floordiv(self.out, self.groups) * numel(self.kernel)
        return self.reparametrised(x, Count(weights + (self.out if self.bias else 0)))

    def work(self, x: Shape, y: Shape) -> Work:
        """Each of the C_i·∏n inputs is multiplied into (C_o/g)·∏F outputs (torch.utils.flop_counter's count,
        which runs over the input's positions for a transposed convolution); one bias per output."""
        macs = numel(x) * symbolic.floordiv(self.out, self.groups) * numel(self.kernel)
        return Work(macs=macs, bias=numel(y) if self.bias else 0)

    def explain_params(self, x: Shape) -> Derivation:
        channels = "{C_o}" if self.groups == 1 else "({C_o}/{g})"
        taps = {"k": self.kernel[0]} if self.RANK == 1 else \
            {f"k_{a.lower()}": k for a, k in zip(self.axis_names, self.kernel)}
        template = "{C_i}×" + channels + "".join(f"×{{{name}}}" for name in taps) + ("+{C_o}" if self.bias else "")
        return self.reparam_explained(x, derive(template, self.params(x).trainable, C_i=x[0], g=self.groups,
                                                C_o=self.out, **taps))

    def explain_shape(self, x: Shape) -> list[Derivation]:
        lines = []
        for name, n, k, s, p, op, d, o in zip(self.axis_names, x[1:], self.kernel, self.strides, self.padding,
                                              self.output_padding, self.dilation, self.spatial_out(x)):
            taps = "{F}" if d == 1 else "{d}×({F}−1)+1"
            template = f"({{{name}}}−1)×{{S}}−2×{{P}}+{taps}" + ("+{P_o}" if op else "")
            lines.append(derive(template, o, f"{name}_o", **{name: n, "S": s, "P": p, "F": k, "d": d, "P_o": op}))
        return lines


# Conv's padding_mode is not an argument here: torch refuses any but zeros for nn.ConvTranspose*d
del ConvTranspose.ARGS["padding_mode"]
