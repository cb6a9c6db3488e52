"""3-D max pooling: a window maximum, no parameters, channels unchanged."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.pool import MaxPool


@layer("maxpool3d")
class MaxPool3d(MaxPool):
    """3-D max pooling over a ``[C, D, H, W]`` input, a volume or a clip (PyTorch ``nn.MaxPool3d``); the stride
    defaults to the kernel.

    Output size per axis: ⌊(n + 2P − d(F−1) − 1)/S⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``.

    Example: ``- maxpool3d: 2`` halves D, H and W.
    """

    RANK = 3
