"""2-D transposed convolution: C_i × C_o/g × ∏k weights + C_o biases, upsampling by the stride."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.conv_transpose import ConvTranspose


@layer("conv_transpose2d")
class ConvTranspose2d(ConvTranspose):
    """2-D transposed convolution over a ``[C, H, W]`` input (PyTorch ``nn.ConvTranspose2d``).

    Output size per axis: (n − 1)·S − 2P + d(F − 1) + P_o + 1. Parameters: C_i×(C_o/g)×∏F weights
    + C_o biases.

    Example: ``- conv_transpose2d: {out: 64, kernel: 2, stride: 2}  # doubles H and W (U-Net's up-convolution)``
    """

    RANK = 2
