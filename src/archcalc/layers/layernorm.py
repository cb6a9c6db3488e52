"""Layer normalisation: each position's features scaled to mean 0 and variance 1, then γ·x + β."""

from __future__ import annotations

from archcalc.layers.args import Bool, Float, Int
from archcalc.layers.base import KEEP, MIX, AxisMap, Count, Derivation, Layer, Shape, Work, derive, layer, numel
from archcalc.layers.traits import Trait


class FeatureNorm(Layer):
    """What layernorm and rmsnorm share: per-example normalisation of the last ``axes`` axes, and a
    learned scale (and, for layernorm, shift) of the normalised shape."""

    TRAITS = Trait.NORMALIZES
    PRIMARY = "axes"

    axes_ = Int(1, doc="how many trailing axes are normalised together (1: the last, the features)", key="axes")
    eps = Float(1e-5, doc="added to the variance before the square root", lo=0, lo_open=True)
    affine = Bool(True, doc="learn a scale γ (and shift β) per normalised element")

    def output_shape(self, x: Shape) -> Shape:
        if len(x) < self.axes_:
            raise self.error(f"normalises the last {self.axes_} axes but the input has {len(x)}", arg="axes",
                             code="bad-input-shape", hint=f"use axes ≤ {len(x)}")
        return x

    def normalized(self, x: Shape) -> Shape:
        """The shape normalised together (torch's ``normalized_shape``): the last ``axes`` axes."""
        return tuple(x[len(x) - self.axes_:])

    def per_element(self) -> int:
        """Parameters per normalised element."""
        raise NotImplementedError

    def params(self, x: Shape) -> Count:
        return Count(self.per_element() * numel(self.normalized(x)))

    def axes(self, x: Shape) -> AxisMap:
        """Each output reads the whole of the normalised axes (their statistics), the others kept."""
        first = len(x) - self.axes_
        return tuple(((i, MIX if i >= first else KEEP),) for i in range(len(x)))

    def work(self, x: Shape, y: Shape) -> Work:
        """Every element is normalised once (scale and shift included)."""
        return Work(norm=numel(y))


@layer("layernorm")
class LayerNorm(FeatureNorm):
    """Normalise over the last axis (or the last ``axes`` axes) of each example on its own (PyTorch
    ``nn.LayerNorm``): ``(x − mean)/√(var + eps)·γ + β``, the variance biased, no running statistics.

    Parameters: γ and β of the normalised shape (D each on ``[T, D]``); ``affine: false`` has none,
    ``bias: false`` keeps γ alone. Unlike batch norm it is not linear at inference (it divides by
    each example's own deviation), so it is no linear map lint could fold away.

    Example: ``- layernorm: {name: ln_1}`` or ``- layernorm: {eps: 1.0e-12, name: LayerNorm}``
    """

    bias = Bool(True, doc="learn the shift β too (with affine)")

    def per_element(self) -> int:
        """γ and β, γ alone, or none."""
        return (1 + self.bias) if self.affine else 0

    def explain_params(self, x: Shape) -> Derivation:
        n = numel(self.normalized(x))
        if not self.affine:
            return Derivation("0", "0", 0, note="affine: false, no γ or β")
        if self.per_element() == 1:
            return derive("{D}", n, D=n, note="γ only")
        return derive("2×{D}", 2 * n, D=n, note="γ and β")
