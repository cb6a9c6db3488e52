"""Channel dropout of [C, D, H, W] inputs: whole channels zeroed in training."""

from __future__ import annotations

from archcalc.layers.base import Shape, layer
from archcalc.layers.dropout import ChannelDropout


@layer("dropout3d")
class Dropout3d(ChannelDropout):
    """Channel dropout of ``[C, D, H, W]`` volumes or clips, after a ``conv3d`` (PyTorch ``nn.Dropout3d``): in
    training each channel of each example is zeroed whole with probability ``p`` and the others scaled by
    1/(1−p); identity in evaluation. No parameters.

    Example: ``- dropout3d: 0.2``
    """

    RANKS = (4,)
    EXPECTS = "a [C, D, H, W]"

    def rank_hint(self, x: Shape) -> str | None:
        return {1: "a [C] vector has one value per channel: use dropout",
                2: "use dropout1d for [C, L] sequences",
                3: "use dropout2d for [C, H, W] feature maps"}.get(len(x))
