"""Instance normalisation of [C, D, H, W] inputs: each example's channels over their positions (3-D U-Nets)."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.instancenorm import InstanceNorm


@layer("instancenorm3d")
class InstanceNorm3d(InstanceNorm):
    """Instance normalisation of ``[C, D, H, W]`` inputs (PyTorch ``nn.InstanceNorm3d``): each channel of each
    example normalised over its D·H·W positions, as nnU-Net's 3-D networks do; no parameters unless
    ``affine``, no buffers unless ``track_running_stats`` (torch's defaults).

    Example: ``- instancenorm3d: {affine: true}`` after a ``conv3d``.
    """

    RANKS = (4,)
    EXPECTS = "a [C, D, H, W]"

    def rank_hint(self, x: Shape) -> str | None:
        return {1: "a [C] vector has one value per channel, nothing to normalise over: use batchnorm1d or layernorm",
                2: "use instancenorm1d for [C, L] sequences",
                3: "use instancenorm2d for [C, H, W] feature maps"}.get(len(x))
