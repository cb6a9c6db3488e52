"""Stochastic depth: in training a residual branch is dropped for whole examples; identity at inference."""

from __future__ import annotations

from archcalc.layers.args import Choice, Float
from archcalc.layers.base import Layer, layer
from archcalc.layers.traits import Trait


@layer("stochastic_depth", "drop_path")
class StochasticDepth(Layer):
    """In training, zeroes the whole input of an example (``mode: row``) or of the whole batch
    (``mode: batch``) with probability ``p`` and scales the rest by 1/(1−p); the identity at inference
    (torchvision ``ops.StochasticDepth``, timm's ``DropPath``; Huang et al. 2016). Placed at the end of
    a residual body, it drops the block for those examples. No parameters.

    Example: ``- stochastic_depth: 0.1`` or ``- stochastic_depth: {p: 0.2, mode: batch}``
    """

    TRAITS = Trait.DROPOUT | Trait.LINEAR
    PRIMARY = "p"

    p = Float(doc="the probability of zeroing (dropping the branch)", lo=0, hi=1)
    mode = Choice(("row", "batch"), "row", doc="row: each example on its own; batch: the whole batch at once")
