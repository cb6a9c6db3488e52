"""3-D transposed convolution: C_i × C_o/g × ∏k weights + C_o biases, upsampling by the stride."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.conv_transpose import ConvTranspose


@layer("conv_transpose3d")
class ConvTranspose3d(ConvTranspose):
    """3-D transposed convolution over a ``[C, D, H, W]`` input (PyTorch ``nn.ConvTranspose3d``).

    Output size per axis: (n − 1)·S − 2P + d(F − 1) + P_o + 1. Parameters: C_i×(C_o/g)×∏F weights
    + C_o biases.

    Example: ``- conv_transpose3d: {out: 8, kernel: 2, stride: 2}  # doubles D, H and W``
    """

    RANK = 3
