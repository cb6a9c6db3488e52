"""Adaptive average pooling: any H×W in, a fixed out_h×out_w out, no parameters."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import AdaptiveAvgPool


@layer("adaptive_avgpool2d")
class AdaptiveAvgPool2d(AdaptiveAvgPool):
    """Average pooling to a fixed output size (PyTorch ``nn.AdaptiveAvgPool2d``).

    ``out: 1`` is global average pooling that keeps the [C, 1, 1] shape (torchvision's ResNet);
    ``out: [7, 7]`` is VGG's. When the input divides evenly the windows are k = H/out, stride k.

    Example: ``- adaptive_avgpool2d: {out: [7, 7]}`` or ``- adaptive_avgpool2d: 1``
    """

    RANK = 2
