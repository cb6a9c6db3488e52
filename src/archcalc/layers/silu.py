"""SiLU (swish): x·σ(x), the activation of EfficientNet and of Llama's gated MLP."""

from __future__ import annotations

from archcalc.layers.base import Activation, layer


@layer("silu", "swish")
class SiLU(Activation):
    """x·σ(x) (PyTorch ``nn.SiLU``), the sigmoid-weighted linear unit: smooth, unbounded above, with a
    small negative dip (minimum ≈ −0.28 at x ≈ −1.28). Its derivative tends to 1 for large x, so it does
    not saturate as the sigmoid does.

    Example: ``- silu`` (EfficientNet's blocks; SwiGLU gates as ``multiply: [[linear: …, silu], [linear: …]]``)
    """
