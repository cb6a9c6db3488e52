"""3-D global average pooling: the mean of each channel, [C, D, H, W] → [C]."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import GlobalAvgPool


@layer("global_avgpool3d")
class GlobalAvgPool3d(GlobalAvgPool):
    """Mean over D, H and W of each channel, giving a flat [C] vector (Keras ``GlobalAveragePooling3D``).

    Equal to ``adaptive_avgpool3d: 1`` followed by ``flatten``; no parameters.

    Example: ``- global_avgpool3d``
    """

    RANK = 3
