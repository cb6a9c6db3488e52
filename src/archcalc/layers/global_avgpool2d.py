"""Global average pooling: the mean of each channel, [C, H, W] → [C]."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import GlobalAvgPool


@layer("global_avgpool2d", "global_avgpool")
class GlobalAvgPool2d(GlobalAvgPool):
    """Mean over H and W of each channel, giving a flat [C] vector (Keras ``GlobalAveragePooling2D``).

    Equal to ``adaptive_avgpool2d: 1`` followed by ``flatten``; no parameters.

    Example: ``- global_avgpool2d``
    """

    RANK = 2
