"""Inverted dropout: zero with probability p in training, scale survivors by 1/(1−p)."""

from __future__ import annotations

from archcalc.layers.args import Float
from archcalc.layers.base import Layer, Shape, layer
from archcalc.layers.traits import Trait


@layer("dropout")
class Dropout(Layer):
    """Inverted dropout (PyTorch ``nn.Dropout``): E[output] = input, identity in evaluation.

    Example: ``- dropout: {p: 0.5}`` or ``- dropout: 0.5``
    """

    TRAITS = Trait.DROPOUT | Trait.LINEAR
    PRIMARY = "p"

    p = Float(0.5, doc="probability of zeroing each element", lo=0, hi=1)


class ChannelDropout(Layer):
    """Shared by dropout1d, dropout2d and dropout3d (PyTorch ``nn.Dropout1d/2d/3d``; Tompson et al. 2015), which
    differ only in the input rank they accept: in training each channel of each example is zeroed whole, with
    probability ``p``, and the surviving channels scaled by 1/(1−p); the identity at inference. Neighbouring
    positions of a feature map are strongly correlated, so dropping single elements regularises little there.
    """

    TRAITS = Trait.DROPOUT | Trait.LINEAR
    PRIMARY = "p"

    p = Float(0.5, doc="probability of zeroing each channel (the whole of it)", lo=0, hi=1)

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return x
