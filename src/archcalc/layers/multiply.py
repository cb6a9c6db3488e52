"""Element-wise product of branches (with broadcasting): squeeze-and-excitation, GLU and SwiGLU gates."""

from __future__ import annotations

from archcalc.layers.base import Derivation, Shape, Work, layer, numel
from archcalc.layers.merge import Merge
from archcalc.layers.traits import Trait
from archcalc.notation import math_shape


@layer("multiply")
class Multiply(Merge):
    """The product of the branches' outputs, broadcast as PyTorch broadcasts (``a * b``).

    Squeeze-and-excitation scales a ``[C, H, W]`` map by a ``[C, 1, 1]`` gate; SwiGLU multiplies
    ``silu(gate(x))`` by ``up(x)``. An empty branch is the input itself.

    Example: ``- multiply: [[], [global_avgpool2d, linear: 16, relu, linear: 64, sigmoid, reshape: [64, 1, 1]]]``
    """

    TRAITS = Trait(0)  # a gate: the product of two functions of x is not linear in x

    def merge_shape(self, xs: list[Shape]) -> Shape:
        return self.broadcast(xs)

    def merge_work(self, xs: list[Shape], y: Shape) -> Work:
        """One multiplication per output element for each input after the first (counted with activations)."""
        return Work(act=numel(y) * (len(xs) - 1))

    def explain_merge(self, xs: list[Shape], y: Shape) -> list[Derivation | str]:
        return [f"{' × '.join(math_shape(x) for x in xs)} → {math_shape(y)}"]
