"""What batchnorm1d and batchnorm2d share: 2C learned parameters (γ, β) and 2C+1 buffers (running mean,
variance, count)."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Float, Int
from archcalc.layers.base import Count, Derivation, Layer, Shape, Work, derive, numel
from archcalc.layers.traits import Trait


class BatchNorm(Layer):
    """Shared by batchnorm1d and batchnorm2d, which differ only in the input ranks they accept.

    Training normalises with the batch's (biased) variance and updates running statistics
    ``(1 − m)·running + m·batch`` with the unbiased variance; evaluation uses the running ones.
    """

    TRAITS = Trait.NORMALIZES | Trait.LINEAR
    COUNTERS = 1  # num_batches_tracked

    eps = Float(1e-5, doc="added to the variance before the square root", lo=0, lo_open=True)
    momentum = Float(0.1, doc="weight m of the new batch in the running statistics", lo=0, hi=1)
    affine = Bool(True, doc="learn a scale γ and shift β per channel")
    features = Int(None, doc="channels C; inferred, checked when given")

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        self.check_in("features", self.features, x[0])
        return x

    def params(self, x: Shape) -> Count:
        return Count(2 * x[0] if self.affine else 0, 2 * x[0] + 1)

    def trains_on(self, x: Shape, batch: int) -> bool | None:
        """Whether PyTorch can train this layer on batches of ``batch`` inputs ``x``: the statistics need more
        than one value per channel (batch × the other axes), else it raises. None when that depends on a symbol."""
        values = batch * numel(x[1:])
        return values > 1 if symbolic.is_int(values) else None

    def work(self, x: Shape, y: Shape) -> Work:
        """Every element is normalised once (at inference a per-channel scale and shift)."""
        return Work(norm=numel(y))

    def explain_params(self, x: Shape) -> Derivation:
        """``2×C = 2×64 = 128 (γ and β; buffers: 2×C+1 = …)``: the trainable count, then the buffers."""
        counts = self.params(x)
        buffers = derive("2×{C}+1", counts.buffers, C=x[0])
        note = f"buffers: {buffers}, a running mean and variance per channel and a batch count"
        if not self.affine:
            return Derivation("0", "0", 0, note=f"affine: false, no γ and β; {note}")
        return derive("2×{C}", counts.trainable, note=f"γ and β; {note}", C=x[0])
