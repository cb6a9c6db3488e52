"""Batch normalisation of [C, H, W] inputs, after a convolution."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.batchnorm import BatchNorm


@layer("batchnorm2d")
class BatchNorm2d(BatchNorm):
    """Batch normalisation of ``[C, H, W]`` inputs (PyTorch ``nn.BatchNorm2d``).

    Example: ``- batchnorm2d`` after a ``conv2d``.
    """

    RANKS = (3,)
    EXPECTS = "a [C, H, W]"

    def rank_hint(self, x: Shape) -> str | None:
        if len(x) == 4:
            return "use batchnorm3d for [C, D, H, W] volumes (after a conv3d)"
        return "use batchnorm1d for [C] vectors (after flatten or linear)" if len(x) in (1, 2) else None
