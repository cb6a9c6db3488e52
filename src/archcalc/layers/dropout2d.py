"""Channel dropout of [C, H, W] inputs: whole channels zeroed in training."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.dropout import ChannelDropout


@layer("dropout2d")
class Dropout2d(ChannelDropout):
    """Channel dropout of ``[C, H, W]`` feature maps, after a ``conv2d`` (PyTorch ``nn.Dropout2d``): in training each
    channel of each example is zeroed whole with probability ``p`` and the others scaled by 1/(1−p);
    identity in evaluation. No parameters.

    Example: ``- dropout2d: 0.2``
    """

    RANKS = (3,)
    EXPECTS = "a [C, H, W]"

    def rank_hint(self, x: Shape) -> str | None:
        return {1: "a [C] vector has one value per channel: use dropout",
                2: "use dropout1d for [C, L] sequences",
                4: "use dropout3d for [C, D, H, W] volumes"}.get(len(x))
