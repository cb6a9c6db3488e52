"""1-D max pooling: a window maximum, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import MaxPool


@layer("maxpool1d")
class MaxPool1d(MaxPool):
    """1-D max pooling over a ``[C, L]`` input, a time series or audio (PyTorch ``nn.MaxPool1d``); the stride
    defaults to the kernel.

    Output size per axis: ⌊(n + 2P − d(F−1) − 1)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- maxpool1d: 2`` halves L.
    """

    RANK = 1
