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

    Example: ``- rmsnorm: {eps: 1.0e-5, name: input_layernorm}``
    """

    eps = Float(None, doc="added to the mean square [default: torch's, the dtype's epsilon]", lo=0, lo_open=True)
    affine = Bool(True, doc="learn a scale γ per normalised element")

    def per_element(self) -> int:
        return 1 if self.affine else 0

    def explain_params(self, x: Shape) -> Derivation:
        n = numel(self.normalized(x))
        if not self.affine:
            return Derivation("0", "0", 0, note="affine: false, no γ")
        return derive("{D}", n, D=n, note="γ")
