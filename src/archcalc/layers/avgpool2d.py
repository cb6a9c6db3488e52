"""2-D average pooling: a window mean, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import AvgPool


@layer("avgpool2d", "avgpool")
class AvgPool2d(AvgPool):
    """2-D average pooling (PyTorch ``nn.AvgPool2d``); the stride defaults to the kernel.

    Output size per axis: ⌊(H + 2P − F)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- avgpool2d: {kernel: 2, stride: 2}``
    """

    RANK = 2
