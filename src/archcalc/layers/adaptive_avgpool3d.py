"""3-D adaptive average pooling: any D, H and W in, a fixed size out, no parameters."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import AdaptiveAvgPool


@layer("adaptive_avgpool3d")
class AdaptiveAvgPool3d(AdaptiveAvgPool):
    """Average pooling of a ``[C, D, H, W]`` input to a fixed output size (PyTorch ``nn.AdaptiveAvgPool3d``).

    ``out: 1`` is global average pooling that keeps the axes as 1. When the input divides evenly the
    windows are k = n/out, stride k.

    Example: ``- adaptive_avgpool3d: 4``
    """

    RANK = 3
