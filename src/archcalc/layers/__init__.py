"""Layer kinds: one file each, registered by name in :data:`LAYERS`.

Adding a kind = one file here (its arguments, shape rule, parameter count, geometry) plus one
line below, plus one emitter per backend.
"""

from archcalc.layers import (  # noqa: F401  (importing registers the kinds)
    activations,
    adaptive_avgpool2d,
    avgpool2d,
    batchnorm,
    conv2d,
    dropout,
    flatten,
    global_avgpool2d,
    linear,
    maxpool2d,
    softmax,
)
from archcalc.layers.base import GLOBAL, LAYERS, VARIES, Axis, Count, Derivation, Layer, Shape

__all__ = ["GLOBAL", "LAYERS", "VARIES", "Axis", "Count", "Derivation", "Layer", "Shape"]
