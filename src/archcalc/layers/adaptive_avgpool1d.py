"""1-D adaptive average pooling: any L in, a fixed size out, no parameters."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import AdaptiveAvgPool


@layer("adaptive_avgpool1d")
class AdaptiveAvgPool1d(AdaptiveAvgPool):
    """Average pooling of a ``[C, L]`` input to a fixed output size (PyTorch ``nn.AdaptiveAvgPool1d``).

    ``out: 1`` is global average pooling that keeps the axes as 1. When the input divides evenly the
    windows are k = n/out, stride k.

    Example: ``- adaptive_avgpool1d: 4``
    """

    RANK = 1
