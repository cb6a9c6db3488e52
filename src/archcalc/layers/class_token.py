"""Class token: a learned [1, 1, D] vector put before a sequence, [T, D] → [T+1, D] (ViT, BERT's [CLS])."""

from __future__ import annotations

from typing import ClassVar

from archcalc.layers.base import KEEP, AxisMap, Count, Derivation, Layer, Shape, Work, derive, layer
from archcalc.layers.traits import Trait


@layer("class_token")
class ClassToken(Layer):
    """Prepends one learned token to a ``[T, D]`` sequence, giving ``[T+1, D]``: torchvision's ViT
    ``class_token``, a ``[1, 1, D]`` parameter (zeros at the start) expanded over the batch and
    concatenated before the patches. Its D parameters are stored under the layer's own name
    (``class_token``, not ``class_token.weight``), as torchvision's state dict has them; a later
    ``select`` reads the token back.

    Example: ``- class_token`` (name it ``class_token`` to load torchvision's weights)
    """

    TRAITS = Trait(0)
    RANKS = (2,)
    EXPECTS = "a [T, D] sequence"
    BARE: ClassVar[bool] = True

    def rank_hint(self, x: Shape) -> str:
        if len(x) == 3:
            return "make the [C, H, W] map a sequence first: flatten: {start: 1}, then transpose, gives [H·W, C]"
        return "the token goes before the first axis of a [T, D] sequence"

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (x[0] + 1, x[1])

    def params(self, x: Shape) -> Count:
        return Count(x[1])

    def axes(self, x: Shape) -> AxisMap:
        """The sequence keeps its positions (one more, the token's, which reads no input); D is kept."""
        return (((0, KEEP),), ((1, KEEP),))

    def work(self, x: Shape, y: Shape) -> Work:
        """None: the token and the sequence are copied into one tensor, with no arithmetic."""
        return Work()

    def explain_params(self, x: Shape) -> Derivation:
        return derive("{D}", x[1], note="one learned token of D features", D=x[1])

    def explain_shape(self, x: Shape) -> list[Derivation]:
        return [derive("{T}+1", x[0] + 1, "T", T=x[0])]
