"""Pixel shuffle: channels rearranged into space, [C·r², H, W] → [C, H·r, W·r], no parameters."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Int
from archcalc.layers.base import KEEP, VARIES, AxisMap, Derivation, Layer, Shape, Up, Work, derive, layer, shape_text
from archcalc.layers.traits import Trait


@layer("pixel_shuffle")
class PixelShuffle(Layer):
    """Sub-pixel upsampling (PyTorch ``nn.PixelShuffle``, Shi et al. 2016): each group of r² channels
    becomes an r×r patch, so ``[C·r², H, W]`` → ``[C, H·r, W·r]``. Moves data only; no parameters.

    Example: ``- pixel_shuffle: 2`` turns ``[64, 16, 16]`` into ``[16, 32, 32]``.
    """

    TRAITS = Trait.KEEPS_RANGE | Trait.ENLARGES  # a permutation of the values into a finer grid
    PRIMARY = "factor"
    RANKS = (3,)
    EXPECTS = "a [C, H, W]"

    factor = Int(doc="upscale factor r: H and W grow r times, the channels shrink r² times")

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        r2 = self.factor * self.factor
        if symbolic.is_int(x[0]) and symbolic.is_int(r2):
            channels, bad = x[0] // r2, x[0] % r2 != 0
        else:
            channels = symbolic.simplify(x[0] / r2)
            bad = channels.is_integer is not True
        if bad:
            raise self.error(f"{symbolic.fmt(x[0])} channels of {shape_text(x)} do not divide by r² = "
                             f"{symbolic.fmt(r2)}", arg="factor", code="bad-input-shape",
                             hint=f"give the convolution before it a multiple of {symbolic.fmt(r2)} channels "
                             f"(out × {symbolic.fmt(r2)})")
        return (channels, x[1] * self.factor, x[2] * self.factor)

    def work(self, x: Shape, y: Shape) -> Work:
        """A permutation of the elements into a new tensor: no arithmetic (torch.utils.flop_counter counts none)."""
        return Work()

    def explain_shape(self, x: Shape) -> list[Derivation]:
        c, h, w = self.output_shape(x)
        return [derive("{C}/({r}×{r})", c, "C_o", C=x[0], r=self.factor),
                derive("{H}×{r}", h, "H_o", H=x[1], r=self.factor), derive("{W}×{r}", w, "W_o", W=x[2], r=self.factor)]

    def geometry(self, x: Shape) -> str:
        """Not a downsampling window: the receptive field reads :meth:`axes`."""
        return VARIES

    def axes(self, x: Shape) -> AxisMap:
        """Channels kept as features; H and W each nearest upsampling by r (output i reads input ⌊i/r⌋)."""
        r = self.factor
        return (((0, KEEP),), ((1, Up(r, r, r - 1)),), ((2, Up(r, r, r - 1)),))
