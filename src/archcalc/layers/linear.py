"""Fully connected layer: y = Wx + b on the last axis, with (D_i×D)+D parameters."""

from __future__ import annotations

from archcalc.layers.args import Bool, Int, LayerPath
from archcalc.layers.base import (
    GLOBAL,
    MIX,
    POINT,
    AxisMap,
    Count,
    Derivation,
    Layer,
    Shape,
    Work,
    derive,
    layer,
    numel,
)
from archcalc.layers.traits import Trait


@layer("linear", "dense")
class Linear(Layer):
    """Fully connected layer on the last axis (PyTorch ``nn.Linear``).

    Parameters: D_i×D weights + D biases, e.g. 50 → 30 is (50×30)+30 = 1530.
    Input ``[..., D_i]`` → output ``[..., D]``; put ``flatten`` first to connect a feature map.

    ``transposed: true`` stores the weight as ``[D_i, D]`` instead of torch's ``[D, D_i]``: Hugging
    Face's ``Conv1D`` (GPT-2's ``c_attn``, ``c_proj``, ``c_fc``), so its weights load as they are.
    ``tie`` uses another layer's weight of the same shape (GPT-2's output projection is its token
    embedding ``transformer.wte``): one parameter, counted once, there.

    Example: ``- linear: {out: 30}`` or ``- linear: 30``
    """

    TRAITS = Trait.WEIGHTED | Trait.LINEAR
    PRIMARY = "out"
    RANKS = None

    out = Int(doc="output features D")
    bias = Bool(True, doc="add a learned bias b")
    inputs = Int(None, doc="input features D_i; inferred, checked when given", key="in")
    transposed = Bool(False, doc="store the weight as [D_i, D] (Hugging Face's Conv1D, GPT-2) instead of [D, D_i]")
    tie = LayerPath(None, doc="use this layer's weight (its path), of the same shape; counted once, there")

    def output_shape(self, x: Shape) -> Shape:
        if not x:
            raise self.error("needs at least one input axis", code="bad-input-shape")
        self.check_in("in", self.inputs, x[-1])
        return (*x[:-1], self.out)

    def weight_shape(self, x: Shape) -> Shape:
        """The weight as stored: ``[D, D_i]`` (torch) or ``[D_i, D]`` (transposed); what a tie must match."""
        return (x[-1], self.out) if self.transposed else (self.out, x[-1])

    def reparam_shape(self, x: Shape) -> Shape:
        """The weight ``weight_norm:`` or ``spectral_norm:`` reparametrises: the stored one."""
        return self.weight_shape(x)

    def params(self, x: Shape) -> Count:
        return self.reparametrised(x, Count((0 if self.tie else x[-1] * self.out) + (self.out if self.bias else 0)))

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """Each position of the leading axes on its own; the last axis (the features) mixed."""
        return (*(((i, POINT),) for i in range(len(x) - 1)), ((len(x) - 1, MIX),))

    def work(self, x: Shape, y: Shape) -> Work:
        """Each output (D per position of the leading axes) is a D_i-long dot product, plus its bias."""
        outputs = numel(y)
        return Work(macs=outputs * x[-1], bias=outputs if self.bias else 0)

    def explain_params(self, x: Shape) -> Derivation:
        if self.tie:
            note = f"the weight is {self.tie}'s, counted there"
            if self.bias:
                return derive("{D}", self.out, D=self.out, note=f"bias only; {note}")
            return Derivation("0", "0", 0, note=note)
        template = "({D_i}×{D})+{D}" if self.bias else "{D_i}×{D}"
        return self.reparam_explained(x, derive(template, self.params(x).trainable, D_i=x[-1], D=self.out))
