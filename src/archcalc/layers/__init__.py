"""Layer kinds: one file each, registered by name in :data:`LAYERS`.

Adding a kind = one file here (its arguments, shape rule, parameter count, geometry) plus one
line below, plus one emitter per backend, plus its test cases: one entry in tests/kinds.py.
"""

from archcalc.layers import (  # noqa: F401  (importing registers the kinds)
    adaptive_avgpool2d,
    add,
    attention,
    avgpool2d,
    batchnorm1d,
    batchnorm2d,
    class_token,
    concat,
    conv1d,
    conv2d,
    dropout,
    elu,
    embedding,
    flatten,
    gelu,
    global_avgpool2d,
    groupnorm,
    hardsigmoid,
    hardswish,
    identity,
    layer_scale,
    layernorm,
    layernorm2d,
    leaky_relu,
    linear,
    log_softmax,
    maxpool2d,
    mean,
    mish,
    multihead_attention,
    multiply,
    permute,
    pos_embedding,
    prelu,
    relu,
    relu6,
    reshape,
    rmsnorm,
    select,
    sigmoid,
    silu,
    softmax,
    softplus,
    step,
    stochastic_depth,
    tanh,
    transpose,
)
from archcalc.layers.base import GLOBAL, LAYERS, VARIES, Axis, Count, Derivation, Layer, Shape

__all__ = ["GLOBAL", "LAYERS", "VARIES", "Axis", "Count", "Derivation", "Layer", "Shape"]
