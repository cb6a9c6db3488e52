"""1-D average pooling: a window mean, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import AvgPool


@layer("avgpool1d")
class AvgPool1d(AvgPool):
    """1-D average pooling over a ``[C, L]`` input, a time series or audio (PyTorch ``nn.AvgPool1d``); the stride
    defaults to the kernel.

    Output size per axis: ⌊(n + 2P − F)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- avgpool1d: {kernel: 2}``
    """

    RANK = 1
