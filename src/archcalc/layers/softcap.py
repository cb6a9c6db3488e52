"""Soft-capping: c·tanh(x/c), which bounds the values to (−c, c) and leaves small ones nearly as they are."""

from __future__ import annotations

from archcalc.layers.args import Float
from archcalc.layers.base import Activation, Shape, Work, layer, numel
from archcalc.layers.traits import Trait


@layer("softcap")
class SoftCap(Activation):
    """c·tanh(x/c): a smooth cap to (−c, c), nearly the identity where |x| is well below c. Gemma 2 caps its
    logits so (``final_logit_softcapping``: 30) after the LM head, and its attention scores (the attention
    kinds' ``softcap``: 50).

    Example: ``- softcap: 30.0`` after ``linear: {out: V, name: lm_head}``
    """

    TRAITS = Trait.ACTIVATION | Trait.SATURATES | Trait.CAPS
    PRIMARY = "cap"

    cap = Float(doc="c, the bound: outputs lie in (−c, c)", lo=0, lo_open=True)

    @property
    def BOUNDS(self) -> tuple[float, float]:
        """(−c, c), whatever the input."""
        return (-self.cap, self.cap)

    def work(self, x: Shape, y: Shape) -> Work:
        """x/c, tanh and times c: three operations per element."""
        return Work(act=3 * numel(y))
