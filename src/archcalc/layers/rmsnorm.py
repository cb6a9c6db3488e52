"""RMS normalisation: each position's features divided by their root mean square, then scaled by γ."""

from __future__ import annotations

from archcalc.layers.args import Bool, Float
from archcalc.layers.base import Derivation, Shape, derive, layer, numel
from archcalc.layers.layernorm import FeatureNorm


@layer("rmsnorm")
class RMSNorm(FeatureNorm):
    """Normalise over the last axis (or last ``axes`` axes) by the root mean square, no mean subtracted
    (PyTorch ``nn.RMSNorm``, Hugging Face's ``LlamaRMSNorm``): ``x / √(mean(x²) + eps) · γ``.

    Parameters: γ of the normalised shape (D on ``[T, D]``), none with ``affine: false``. ``eps``
    defaults to torch's (the dtype's machine epsilon); Llama gives its own (``rms_norm_eps``).

    ``offset`` scales by (offset + γ) instead of γ, with γ starting at 1 − offset so that the layer starts
    as plain RMS normalisation: Gemma's ``GemmaRMSNorm`` is ``offset: 1`` (``x̂ · (1 + γ)``, γ stored and
    initialised as zeros, so its checkpoints hold γ − 1 of the usual norm). It is computed in float32 and
    cast back, as Gemma computes it, so that bfloat16 models round once.

    Example: ``- rmsnorm: {eps: 1.0e-5, name: input_layernorm}``; Gemma's ``- rmsnorm: {eps: 1.0e-6, offset: 1}``
    """

    eps = Float(None, doc="added to the mean square [default: torch's, the dtype's epsilon]", lo=0, lo_open=True)
    affine = Bool(True, doc="learn a scale γ per normalised element")
    offset = Float(0.0, doc="scale by offset + γ, γ starting at 1 − offset (Gemma's 1 + γ: offset 1)")

    def output_shape(self, x: Shape) -> Shape:
        if self.offset and not self.affine:
            raise self.error("offset is given but affine is false: there is no γ to offset", arg="offset",
                             hint="drop offset, or learn γ (affine: true)")
        return super().output_shape(x)

    def per_element(self) -> int:
        return 1 if self.affine else 0

    def explain_params(self, x: Shape) -> Derivation:
        n = numel(self.normalized(x))
        if not self.affine:
            return Derivation("0", "0", 0, note="affine: false, no γ")
        return derive("{D}", n, D=n, note=f"γ, the scale {self.offset:g} + γ" if self.offset else "γ")
