"""Softmax: exp(x_i)/Σ exp(x_j) along the channel axis; outputs are probabilities (and the axis they share
with log-softmax)."""

from __future__ import annotations

from archcalc.layers.args import AxisIndex
from archcalc.layers.base import KEEP, MIX, AxisMap, Layer, Shape, Work, layer, numel
from archcalc.layers.traits import Trait


class OverAxis(Layer):
    """What softmax and log-softmax share: one axis they normalise over (not registered itself)."""

    TRAITS = Trait.ACTIVATION

    dim = AxisIndex(0, doc="axis of the input (batch excluded) to normalise; 0 = channels; negative counts from the "
                    "end")

    def output_shape(self, x: Shape) -> Shape:
        self.axis_of("dim", self.dim, x)
        return x

    def axis(self, x: Shape) -> int:
        """The normalised axis counted from 0 (batch excluded): ``dim: -1`` on a ``[C]`` input is 0.

        Backends add 1 for the batch axis; the trainers leave a final softmax out of training
        only when this is 0, the class axis that cross-entropy normalises.
        """
        return self.dim % len(x)

    def axes(self, x: Shape) -> AxisMap:
        """The normalised axis mixed (every output depends on all of it), the others kept."""
        return tuple(((i, MIX if i == self.axis(x) else KEEP),) for i in range(len(x)))

    def work(self, x: Shape, y: Shape) -> Work:
        """One normalised exponential per element (the sums are counted with them)."""
        return Work(act=numel(y))


@layer("softmax")
class Softmax(OverAxis):
    """Softmax over one axis, the channels by default (PyTorch ``nn.Softmax(dim=1)``).

    Cross-entropy takes logits and applies softmax itself, so archcalc trains a network that ends in
    softmax on the logits before it; a hand-written loop should do the same (lint rule T102).

    Example: ``- softmax``
    """

    BOUNDS = (0.0, 1.0)
