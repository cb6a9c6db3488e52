"""What instancenorm1d, 2d and 3d share: each example's channels normalised one by one over their positions."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Float, Int
from archcalc.layers.base import KEEP, WHOLE, AxisMap, Count, Derivation, Layer, Shape, Work, derive, numel, shape_text
from archcalc.layers.traits import Trait


class InstanceNorm(Layer):
    """Shared by instancenorm1d, 2d and 3d (PyTorch ``nn.InstanceNorm1d/2d/3d``; Ulyanov et al. 2016), which
    differ only in the input rank they accept.

    Each channel of each example is normalised with its own mean and biased variance over its positions,
    in training and at inference alike, unless ``track_running_stats``: then training also updates
    running statistics ``(1 − m)·running + m·s`` (s the batch's average of the examples' means and
    unbiased variances) and inference uses them, as batch norm does. ``affine`` adds γ and β per channel.
    torch's defaults are both false, and so are archcalc's.
    """

    TRAITS = Trait.NORMALIZES

    eps = Float(1e-5, doc="added to the variance before the square root", lo=0, lo_open=True)
    momentum = Float(0.1, doc="weight m of the new statistics in the running ones (track_running_stats)", lo=0, hi=1)
    affine = Bool(False, doc="learn a scale γ and shift β per channel")
    track_running_stats = Bool(False, doc="keep running mean and variance in training and normalise with them "
                                          "at inference")
    features = Int(None, doc="channels C; inferred, checked when given")

    def __init__(self, values: dict[str, object], *args: object, **kwargs: object) -> None:
        super().__init__(values, *args, **kwargs)
        if self.track_running_stats:
            # at inference it then normalises with fixed running statistics: a per-channel scale and shift, a
            # linear map as batch norm's (traits.py: LINEAR is "linear at inference"); without them it divides
            # by each example's own deviation, as layer norm does, and is not
            self.TRAITS = Trait.NORMALIZES | Trait.LINEAR

    @property
    def COUNTERS(self) -> int:
        """num_batches_tracked, which torch registers only with running statistics (and never counts up)."""
        return 1 if self.track_running_stats else 0

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        self.check_in("features", self.features, x[0])
        positions = numel(x[1:])
        if symbolic.is_int(positions) and positions == 1:
            raise self.error(f"normalises each channel over its positions, and {shape_text(x)} has one per channel "
                             "(PyTorch raises 'Expected more than 1 spatial element when training')",
                             code="bad-input-shape", hint="normalise before the positions are pooled away, or use "
                             "batchnorm1d or layernorm on a vector")
        return x

    def params(self, x: Shape) -> Count:
        return Count(2 * x[0] if self.affine else 0, 2 * x[0] + 1 if self.track_running_stats else 0)

    def axes(self, x: Shape) -> AxisMap:
        """Each channel kept apart; every position of it read (its own statistics), unless running statistics
        normalise at inference, which is then element by element."""
        if self.track_running_stats:
            return super().axes(x)
        return (((0, KEEP),), *(((i, WHOLE),) for i in range(1, len(x))))

    def work(self, x: Shape, y: Shape) -> Work:
        """Every element is normalised once (and scaled and shifted), as batch and group norm count it."""
        return Work(norm=numel(y))

    def explain_params(self, x: Shape) -> Derivation:
        """``2×C = 2×64 = 128 (γ and β; …)``, then the buffers when it tracks running statistics."""
        counts = self.params(x)
        note = (f"buffers: {derive('2×{C}+1', counts.buffers, C=x[0])}, a running mean and variance per channel "
                "and a batch count" if self.track_running_stats else "no running buffers")
        if not self.affine:
            return Derivation("0", "0", 0, note=f"affine: false, no γ and β; {note}")
        return derive("2×{C}", counts.trainable, note=f"γ and β per channel; {note}", C=x[0])
