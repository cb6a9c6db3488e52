"""Batch normalisation of [C, D, H, W] inputs, after a 3-D convolution."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.batchnorm import BatchNorm


@layer("batchnorm3d")
class BatchNorm3d(BatchNorm):
    """Batch normalisation of ``[C, D, H, W]`` inputs, a volume's or a clip's (PyTorch ``nn.BatchNorm3d``).

    Example: ``- batchnorm3d`` after a ``conv3d``.
    """

    RANKS = (4,)
    EXPECTS = "a [C, D, H, W]"

    def rank_hint(self, x: Shape) -> str | None:
        return {1: "use batchnorm1d for [C] vectors", 2: "use batchnorm1d for [C, L] sequences",
                3: "use batchnorm2d for [C, H, W] feature maps"}.get(len(x))
