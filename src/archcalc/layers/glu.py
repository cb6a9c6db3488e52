"""GLU: an axis split in half, one half gated by a function of the other (Dauphin et al. 2017; Shazeer 2020)."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import AxisIndex, Choice
from archcalc.layers.base import KEEP, MIX, AxisMap, Derivation, Layer, Shape, Work, derive, layer, numel, shape_text
from archcalc.layers.traits import Trait

#: the functions a gate may apply, named as the activation kinds are (gelu_tanh: gelu with approximate tanh)
GATES = ("sigmoid", "silu", "gelu", "gelu_tanh", "relu", "tanh")


@layer("glu")
class GLU(Layer):
    """The gated linear unit (PyTorch ``nn.GLU(dim)``): axis ``dim`` of size 2n is split into halves a and b,
    and the output a ⊗ σ(b) has n there. No parameters; the gate's weights are the layer before it (twice
    as many outputs: the Conformer's convolution module is ``linear: 2·D`` then ``glu``).

    ``dim`` counts as everywhere in a spec, the batch excluded: 0 is the first axis after the batch, and
    negative counts from the end. The default, -1 (the last axis), is torch's.

    ``activation`` gates with another function than the sigmoid (Shazeer 2020: ``silu`` is SwiGLU, ``gelu``
    GeGLU), and ``gate: first`` takes the gate from the first half, the value from the second, as a fused
    gate-and-up projection is split (Phi-3's ``gate_up_proj``: ``gate, up = x.chunk(2)``, ``up * act(gate)``).

    Example: ``- glu`` on ``[T, 512]`` gives ``[T, 256]``; ``- glu: {dim: 0}`` halves the channels of ``[C, L]``;
    ``- glu: {activation: silu, gate: first}`` after ``linear: 2·F`` is Phi-3's MLP.
    """

    TRAITS = Trait.ACTIVATION  # a gate: σ(b) times a is not linear in the input
    PRIMARY = "dim"

    dim = AxisIndex(-1, doc="the axis split in half (batch excluded): 0 is the first axis, -1 the last")
    activation = Choice(GATES, "sigmoid", doc="the gate's function: sigmoid (GLU), silu (SwiGLU), gelu or "
                                              "gelu_tanh (GeGLU), relu (ReGLU), tanh")
    gate = Choice(("second", "first"), "second", doc="which half is the gate: the second (torch's GLU) or the "
                                                    "first (a fused gate_up projection, Phi-3's)")

    @property
    def plain(self) -> bool:
        """torch's own ``nn.GLU``: a sigmoid gate from the second half."""
        return self.activation == "sigmoid" and self.gate == "second"

    def axis(self, x: Shape) -> int:
        """The split axis counted from 0 (batch excluded); backends add 1 for the batch axis."""
        return self.axis_of("dim", self.dim, x)

    def output_shape(self, x: Shape) -> Shape:
        i = self.axis(x)
        n = x[i]
        half = symbolic.floordiv(n, 2)
        if symbolic.is_int(n):
            odd = "is odd" if n % 2 else ""
        else:  # a formula must be even at every value
            odd = "" if symbolic.equal(2 * half, n) else "is not even for every value of its symbols"
        if odd:
            raise self.error(f"splits axis {i} of {shape_text(x)} in half, but its size {symbolic.fmt(n)} {odd}",
                             arg="dim" if "dim" in self.arg_locs else None, code="bad-input-shape",
                             hint="give the layer before it twice the outputs the gate needs (an even size), "
                             "or split another axis with 'dim'")
        return (*x[:i], half, *x[i + 1:])

    def axes(self, x: Shape) -> AxisMap:
        """Output j of the split axis reads inputs j and n + j: for a feature axis (the usual one) a mix; every
        other axis kept, element by element."""
        i = self.axis(x)
        return tuple(((a, MIX if a == i else KEEP),) for a in range(len(x)))

    def work(self, x: Shape, y: Shape) -> Work:
        """One sigmoid per output element (as ``sigmoid`` counts it) and one product per output element (as
        ``multiply`` counts it): both in the activation column."""
        return Work(act=2 * numel(y))

    def explain_shape(self, x: Shape) -> list[Derivation]:
        i = self.axis(x)
        return [derive("{n}/2", self.output_shape(x)[i], f"axis {i}", "a ⊗ σ(b), the halves of the axis", n=x[i])]
