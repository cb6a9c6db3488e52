"""Group normalisation: each example's channels in groups, each group normalised over its channels and positions."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Float, Int
from archcalc.layers.base import MIX, AxisMap, Count, Derivation, Layer, Shape, Work, derive, layer, numel
from archcalc.layers.traits import Trait


@layer("groupnorm")
class GroupNorm(Layer):
    """Splits the channels (axis 0) into ``groups`` groups and normalises each group of each example over its
    channels and all positions (PyTorch ``nn.GroupNorm``; Wu & He 2018), then scales and shifts per channel.

    Statistics are each example's own, in training and at inference alike, so there are no running
    buffers, and every output depends on every position of its group: the receptive field of what
    follows is global (``groups: 1`` is layer norm over ``[C, H, W]``; ``groups: C`` is instance norm).

    Example: ``- groupnorm: 32`` (groups) after a ``conv2d`` with a multiple of 32 channels.
    """

    TRAITS = Trait.NORMALIZES
    PRIMARY = "groups"

    groups = Int(doc="number of groups G; it must divide the channels")
    eps = Float(1e-5, doc="added to the variance before the square root", lo=0, lo_open=True)
    affine = Bool(True, doc="learn a scale γ and shift β per channel")
    channels = Int(None, doc="channels C (axis 0); inferred, checked when given")

    def output_shape(self, x: Shape) -> Shape:
        self.check_in("channels", self.channels, x[0])
        rest = symbolic.simplify(x[0] % self.groups)
        if symbolic.is_int(rest) and rest != 0:
            raise self.error(f"groups={symbolic.fmt(self.groups)} does not divide the {symbolic.fmt(x[0])} channels",
                             arg="groups", hint=_divisors_hint(x[0]))
        return x

    def params(self, x: Shape) -> Count:
        return Count(2 * x[0] if self.affine else 0)

    def axes(self, x: Shape) -> AxisMap:
        """Every axis mixed: an output reads its group's channels at every position (the statistics)."""
        return tuple(((i, MIX),) for i in range(len(x)))

    def work(self, x: Shape, y: Shape) -> Work:
        """Every element is normalised once (and scaled and shifted)."""
        return Work(norm=numel(y))

    def explain_params(self, x: Shape) -> Derivation:
        if not self.affine:
            return Derivation("0", "0", 0, note="affine: false, no γ and β; no buffers")
        return derive("2×{C}", 2 * x[0], note="γ and β per channel; no running buffers", C=x[0])


def _divisors_hint(channels: object) -> str:
    """The group counts that would work, for a concrete channel count."""
    if not symbolic.is_int(channels):
        return "groups must divide the channels"
    near = [g for g in (1, 2, 4, 8, 16, 32, 64) if channels % g == 0]
    return f"groups must divide the channels: {', '.join(map(str, near))} divide {channels}"
