"""Batch normalisation of [C] or [C, L] inputs, after a linear layer."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.batchnorm import BatchNorm


@layer("batchnorm1d")
class BatchNorm1d(BatchNorm):
    """Batch normalisation of ``[C]`` or ``[C, L]`` inputs (PyTorch ``nn.BatchNorm1d``).

    Example: ``- batchnorm1d`` after a ``linear``.
    """

    RANKS = (1, 2)
    EXPECTS = "a [C] or [C, L]"

    def rank_hint(self, x: Shape) -> str | None:
        return "use batchnorm2d for [C, H, W] feature maps" if len(x) == 3 else None
