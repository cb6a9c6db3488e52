"""PReLU: x for x > 0, a·x otherwise, with the slope a learned (one, or one per channel)."""

from __future__ import annotations

from archcalc.layers.args import Bool, Float
from archcalc.layers.base import Activation, Count, Derivation, Shape, derive, layer


@layer("prelu")
class PReLU(Activation):
    """x for x > 0, a·x otherwise, with the slope a learned (PyTorch ``nn.PReLU``; He et al. 2015).

    One slope for the whole layer by default; ``per_channel: true`` learns one per channel, along the
    first axis (batch excluded), which is PyTorch's ``num_parameters = C``: the channels of
    ``[C, H, W]``, the features of ``[C]``, and, as PyTorch does it, the first axis of a ``[T, D]`` sequence.

    Example: ``- prelu`` or ``- prelu: {per_channel: true}``
    """

    per_channel = Bool(False, doc="one slope per channel (axis 0) instead of one for the layer")
    #: spec key ``init`` as in ``nn.PReLU(init=…)``; stored apart from :attr:`Layer.init` (the weight ``init:``)
    slope_init = Float(0.25, doc="the slopes' initial value (nn.PReLU's init)", key="init")

    def params(self, x: Shape) -> Count:
        return Count(x[0] if self.per_channel else 1)

    def explain_params(self, x: Shape) -> Derivation:
        if not self.per_channel:
            return Derivation("1", "1", 1, note="one slope a for the whole layer")
        return derive("{C}", x[0], note="one slope a per channel", C=x[0])
