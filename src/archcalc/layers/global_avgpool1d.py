"""1-D global average pooling: the mean of each channel, [C, L] → [C]."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import GlobalAvgPool


@layer("global_avgpool1d")
class GlobalAvgPool1d(GlobalAvgPool):
    """Mean over L of each channel, giving a flat [C] vector (Keras ``GlobalAveragePooling1D``).

    Equal to ``adaptive_avgpool1d: 1`` followed by ``flatten``; no parameters.

    Example: ``- global_avgpool1d``
    """

    RANK = 1
