"""1-D transposed convolution: C_i × C_o/g × ∏k weights + C_o biases, upsampling by the stride."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.conv_transpose import ConvTranspose


@layer("conv_transpose1d")
class ConvTranspose1d(ConvTranspose):
    """1-D transposed convolution over a ``[C, L]`` input (PyTorch ``nn.ConvTranspose1d``).

    Output size per axis: (n − 1)·S − 2P + d(F − 1) + P_o + 1. Parameters: C_i×(C_o/g)×∏F weights
    + C_o biases.

    Example: ``- conv_transpose1d: {out: 16, kernel: 4, stride: 2, padding: 1}  # doubles L``
    """

    RANK = 1
