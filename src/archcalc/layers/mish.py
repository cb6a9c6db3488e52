"""Mish: x·tanh(softplus(x)), a smooth self-gated activation (YOLOv4)."""

from __future__ import annotations

from archcalc.layers.base import Activation, layer


@layer("mish")
class Mish(Activation):
    """x·tanh(softplus(x)) (PyTorch ``nn.Mish``; Misra 2019): smooth and non-monotonic like SiLU, with a
    derivative that tends to 1 for large x.

    Example: ``- mish``
    """
