"""2-D max pooling: a window maximum, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import MaxPool


@layer("maxpool2d", "maxpool")
class MaxPool2d(MaxPool):
    """2-D max pooling (PyTorch ``nn.MaxPool2d``); the stride defaults to the kernel.

    Output size per axis: ⌊(H + 2P − d(F−1) − 1)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- maxpool2d: {kernel: 2}`` halves H and W.
    """

    RANK = 2
