"""Instance normalisation of [C, H, W] inputs: each example's channels over their positions (style transfer)."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.instancenorm import InstanceNorm


@layer("instancenorm2d")
class InstanceNorm2d(InstanceNorm):
    """Instance normalisation of ``[C, H, W]`` inputs (PyTorch ``nn.InstanceNorm2d``): each channel of each
    example normalised over its H·W positions, as style-transfer and image-to-image networks do; no
    parameters unless ``affine``, no buffers unless ``track_running_stats`` (torch's defaults).

    Example: ``- instancenorm2d`` after a ``conv2d``, or ``- instancenorm2d: {affine: true}``.
    """

    RANKS = (3,)
    EXPECTS = "a [C, H, W]"

    def rank_hint(self, x: Shape) -> str | None:
        return {1: "a [C] vector has one value per channel, nothing to normalise over: use batchnorm1d or layernorm",
                2: "use instancenorm1d for [C, L] sequences",
                4: "use instancenorm3d for [C, D, H, W] volumes (after a conv3d)"}.get(len(x))
