"""3-D convolution over a volume or a clip: C_i/g × C_o × k_d × k_h × k_w weights + C_o biases."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.conv import Conv


@layer("conv3d")
class Conv3d(Conv):
    """3-D convolution over a ``[C, D, H, W]`` input: a volume (CT, MRI) or a video clip's frames
    (PyTorch ``nn.Conv3d``).

    Output size per axis: ⌊(n + 2P − d(F−1) − 1)/S⌋ + 1. Parameters: (C_i/g)×C_o×k_d×k_h×k_w weights
    + C_o biases.

    Example: ``- conv3d: {out: 16, kernel: 3, padding: 1}``
    """

    RANK = 3
