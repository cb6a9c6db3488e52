"""Rotary embedding's inverse frequencies, scaled as transformers' ``modeling_rope_utils`` scales them.

One function for every backend: the torch modules call it with ``torch``, the NumPy layers and the
ONNX exporter with ``numpy`` (both have ``arange``, ``where``, ``clip`` and ``float32`` alike), and
the generated torch and NumPy files copy it, so they still need nothing but their library. It
computes in float32 in transformers' own order of operations: the angles, and so the outputs, are
the real model's, and which band a frequency falls in (llama3) is decided on the same float32 values.
"""

from __future__ import annotations

import math


def rotary_frequencies(
    xp,
    r: int,
    theta: float,
    factor: float = 1.0,
    rotary_scaling: str = "linear",
    low_freq_factor: float = 1.0,
    high_freq_factor: float = 4.0,
    original_positions: int | None = None,
    beta_fast: float = 32.0,
    beta_slow: float = 1.0,
    attention_factor: float | None = None,
    truncate: bool = True,
):
    """(inverse frequencies f = theta^(-2i/r), float32 [r/2], factor on cos and sin)
    for xp (torch or numpy), scaled as transformers' modeling_rope_utils scales them.

    linear: f / factor. llama3 (Llama 3.1): f / factor where 2*pi/f is longer than
    original_positions / low_freq_factor, f where it is shorter than
    original_positions / high_freq_factor, blended between. yarn: f / factor and f
    blended by each pair's turns over original_positions (beta_fast to beta_slow),
    cos and sin times attention_factor (0.1 ln(factor) + 1 unless given).
    """
    exponents = xp.arange(0, r, 2, dtype=xp.float32) / r
    if rotary_scaling == "yarn":
        powers = theta**exponents
        inv, interpolated = 1.0 / powers, 1.0 / (factor * powers)

        def dim(turns: float) -> float:  # the pair turning this often
            return (
                r
                * math.log(original_positions / (turns * 2 * math.pi))
                / (2 * math.log(theta))
            )

        low, high = dim(beta_fast), dim(beta_slow)
        if truncate:
            low, high = math.floor(low), math.ceil(high)
        low, high = max(low, 0), min(high, r - 1)
        if low == high:
            high += 0.001
        ramp = xp.clip((xp.arange(r // 2, dtype=xp.float32) - low) / (high - low), 0, 1)
        kept = 1 - ramp
        if attention_factor is None:
            attention_factor = 0.1 * math.log(factor) + 1.0 if factor > 1 else 1.0
        return interpolated * (1 - kept) + inv * kept, attention_factor
    inv = 1.0 / theta**exponents
    if rotary_scaling == "llama3":
        # in transformers' order: the long waves divided first, then the blend
        wavelength = 2 * math.pi / inv
        long = wavelength > original_positions / low_freq_factor
        short = wavelength < original_positions / high_freq_factor
        inv = xp.where(long, inv / factor, inv)
        smooth = (original_positions / wavelength - low_freq_factor) / (
            high_freq_factor - low_freq_factor
        )
        return xp.where(
            long | short, inv, (1 - smooth) * inv / factor + smooth * inv
        ), 1.0
    return inv / factor, 1.0
