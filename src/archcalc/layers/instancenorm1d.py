"""Instance normalisation of [C, L] inputs: each example's channels over their positions."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.instancenorm import InstanceNorm


@layer("instancenorm1d")
class InstanceNorm1d(InstanceNorm):
    """Instance normalisation of ``[C, L]`` inputs (PyTorch ``nn.InstanceNorm1d``): each channel of each
    example normalised over its L positions; no parameters unless ``affine``, no buffers unless
    ``track_running_stats`` (torch's defaults).

    Example: ``- instancenorm1d`` after a ``conv1d``, or ``- instancenorm1d: {affine: true}``.
    """

    RANKS = (2,)
    EXPECTS = "a [C, L]"

    def rank_hint(self, x: Shape) -> str | None:
        return {1: "a [C] vector has one value per channel, nothing to normalise over: use batchnorm1d or layernorm",
                3: "use instancenorm2d for [C, H, W] feature maps",
                4: "use instancenorm3d for [C, D, H, W] volumes"}.get(len(x))
