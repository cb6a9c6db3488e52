"""3-D average pooling: a window mean, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import AvgPool


@layer("avgpool3d")
class AvgPool3d(AvgPool):
    """3-D average pooling over a ``[C, D, H, W]`` input, a volume or a clip (PyTorch ``nn.AvgPool3d``); the stride
    defaults to the kernel.

    Output size per axis: ⌊(n + 2P − F)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- avgpool3d: {kernel: 2}``
    """

    RANK = 3
