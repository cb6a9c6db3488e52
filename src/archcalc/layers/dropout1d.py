"""Channel dropout of [C, L] inputs: whole channels zeroed in training."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.dropout import ChannelDropout


@layer("dropout1d")
class Dropout1d(ChannelDropout):
    """Channel dropout of ``[C, L]`` sequences, after a ``conv1d`` (PyTorch ``nn.Dropout1d``): in training each
    channel of each example is zeroed whole with probability ``p`` and the others scaled by 1/(1−p);
    identity in evaluation. No parameters.

    Example: ``- dropout1d: 0.2``
    """

    RANKS = (2,)
    EXPECTS = "a [C, L]"

    def rank_hint(self, x: Shape) -> str | None:
        return {1: "a [C] vector has one value per channel: use dropout",
                3: "use dropout2d for [C, H, W] feature maps",
                4: "use dropout3d for [C, D, H, W] volumes"}.get(len(x))
