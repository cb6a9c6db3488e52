"""2-D convolution: C_i/g × C_o × k_h × k_w weights + C_o biases."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.conv import Conv


@layer("conv2d", "conv")
class Conv2d(Conv):
    """2-D convolution over a ``[C, H, W]`` input (PyTorch ``nn.Conv2d``).

    Output size per axis: ⌊(H + 2P − d(F−1) − 1)/S⌋ + 1 (the lecture's (H+2P−F)/S+1 when d = 1).
    Parameters: (C_i/g)×C_o×k_h×k_w weights + C_o biases. ``groups: C`` gives a depthwise conv.

    Example: ``- conv2d: {out: 64, kernel: 3, padding: 1}``
    """

    RANK = 2
