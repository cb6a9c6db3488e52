"""Element-wise sum of branches (with broadcasting): BERT's three embeddings, residual sums of more
than two paths."""

from __future__ import annotations

from archcalc.layers.base import Derivation, Shape, Work, layer, numel
from archcalc.layers.merge import Merge
from archcalc.layers.traits import Trait
from archcalc.notation import math_shape


@layer("add")
class Add(Merge):
    """The sum of the branches' outputs, broadcast as PyTorch broadcasts (``a + b + c``).

    For ``y = f(x) + x`` prefer ``residual``, which also projects the shortcut when shapes change.

    Example: ``- add: [[embedding: {vocab: 30522, dim: 768}], [embedding: {vocab: 512, dim: 768, index: position}]]``
    """

    TRAITS = Trait.LINEAR

    def merge_shape(self, xs: list[Shape]) -> Shape:
        return self.broadcast(xs)

    def merge_work(self, xs: list[Shape], y: Shape) -> Work:
        """One addition per output element for each input after the first."""
        return Work(add=numel(y) * (len(xs) - 1))

    def explain_merge(self, xs: list[Shape], y: Shape) -> list[Derivation | str]:
        return [f"{' + '.join(math_shape(x) for x in xs)} → {math_shape(y)}"]
