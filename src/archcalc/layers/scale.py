"""A constant factor: every element times a fixed number, no parameters (IBM Granite's multipliers)."""

from __future__ import annotations

from archcalc.layers.args import Float
from archcalc.layers.base import Layer, Shape, Work, layer, numel
from archcalc.layers.traits import Trait

#: the largest float32 (torch builds the model in float32)
FLOAT32_MAX = 3.4028234663852886e38


@layer("scale")
class Scale(Layer):
    """Multiplies its input by a constant, ``x · factor``: nothing learned, nothing stored, the shape
    unchanged. Models fix such factors in their code rather than learn them: IBM Granite multiplies each
    sub-layer's output by ``residual_multiplier`` before the residual addition and divides its logits by
    ``logits_scaling`` (a factor of 1/logits_scaling here), Cohere's Command-R multiplies its logits by
    ``logit_scale``. A factor a model learns is a ``layer_scale``; the token embedding's own factor is
    ``embedding: {scale}``; the attention scores' is the attention's ``scale``.

    It is linear (lint sees through it as through dropout at inference), and 0 is refused: a layer that
    zeroes everything after it computes no model.

    Example: ``- scale: 0.22`` after a sub-layer, or ``- scale: {factor: 0.125, name: logits_scaling}``
    """

    TRAITS = Trait.LINEAR
    PRIMARY = "factor"

    factor = Float(doc="the constant every element is multiplied by (not 0)")

    def output_shape(self, x: Shape) -> Shape:
        if self.factor == 0:
            raise self.error("a factor of 0 makes every output 0", arg="factor", code="bad-argument",
                             hint="a constant other than 0 (remove the layer for a factor of 1)")
        if abs(self.factor) > FLOAT32_MAX:
            raise self.error(f"a factor of {self.factor:g} is beyond float32's largest number: the model's float32 "
                             "weights and outputs hold it as infinity", arg="factor", code="bad-argument",
                             hint="a constant within ±3.4e38")
        return x

    def work(self, x: Shape, y: Shape) -> Work:
        """One product per element, counted with the element-wise activations (as ``layer_scale``'s)."""
        return Work(act=numel(y))
