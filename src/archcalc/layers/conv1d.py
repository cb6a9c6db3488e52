"""1-D convolution over a sequence: C_i/g × C_o × k weights + C_o biases."""

from __future__ import annotations

from archcalc.layers.base import layer
from archcalc.layers.conv import Conv


@layer("conv1d")
class Conv1d(Conv):
    """1-D convolution over a ``[C, L]`` input: channels first, then length (PyTorch ``nn.Conv1d``).

    Output length: ⌊(L + 2P − d(F−1) − 1)/S⌋ + 1. Parameters: (C_i/g)×C_o×k weights + C_o biases.
    Time series and audio use it; a sequence of D-dimensional tokens ``[T, D]`` needs a ``permute``
    to ``[D, T]`` first.

    Example: ``- conv1d: {out: 64, kernel: 5, padding: 2}``
    """

    RANK = 1
