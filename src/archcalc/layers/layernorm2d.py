"""Layer normalisation over the channels of a [C, H, W] map, at each position on its own (ConvNeXt)."""

from __future__ import annotations

from archcalc.layers.args import Bool, Float
from archcalc.layers.base import KEEP, MIX, AxisMap, Count, Derivation, Layer, Shape, Work, derive, layer, numel
from archcalc.layers.traits import Trait


@layer("layernorm2d")
class LayerNorm2d(Layer):
    """Normalises each position's C channels of a ``[C, H, W]`` map: torchvision's ``LayerNorm2d``
    (ConvNeXt's stem, downsampling and head), which permutes to channels-last, applies
    ``nn.LayerNorm(C)`` and permutes back. ``layernorm`` on the channels-last ``[H, W, C]`` is the
    same arithmetic, which ConvNeXt's blocks write with ``permute`` around it.

    Statistics are each position's own (no running buffers); each output reads every channel at its
    own position only, so the receptive field is unchanged. Parameters: γ and β of C each
    (``bias: false`` keeps γ, ``affine: false`` has none), stored as ``weight`` and ``bias``, as
    torchvision's are.

    Example: ``- layernorm2d: {eps: 1.0e-6}`` after ConvNeXt's stem ``conv2d: {out: 96, kernel: 4, stride: 4}``
    """

    TRAITS = Trait.NORMALIZES
    RANKS = (3,)
    EXPECTS = "a [C, H, W]"
    PRIMARY = "eps"

    eps = Float(1e-5, doc="added to the variance before the square root", lo=0, lo_open=True)
    affine = Bool(True, doc="learn a scale γ (and shift β) per channel")
    bias = Bool(True, doc="learn the shift β too (with affine)")

    def rank_hint(self, x: Shape) -> str:
        return "on a [T, D] sequence or a channels-last map, normalise the last axis with layernorm"

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return x

    def normalized(self, x: Shape) -> Shape:
        """The shape normalised together (torch's ``normalized_shape``): the channels."""
        return (x[0],)

    def params(self, x: Shape) -> Count:
        return Count(((1 + self.bias) if self.affine else 0) * x[0])

    def axes(self, x: Shape) -> AxisMap:
        """Each output reads all channels (their statistics) at its own position."""
        return (((0, MIX),), ((1, KEEP),), ((2, KEEP),))

    def work(self, x: Shape, y: Shape) -> Work:
        """Every element is normalised once (scale and shift included)."""
        return Work(norm=numel(y))

    def explain_params(self, x: Shape) -> Derivation:
        if not self.affine:
            return Derivation("0", "0", 0, note="affine: false, no γ or β")
        if not self.bias:
            return derive("{C}", x[0], C=x[0], note="γ only")
        return derive("2×{C}", 2 * x[0], C=x[0], note="γ and β, one per channel")
