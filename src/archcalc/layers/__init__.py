"""Layer kinds: one file each, registered by name in :data:`LAYERS`.

Adding a kind = one file here (its arguments, shape rule, parameter count, geometry) plus its name
in :data:`KINDS` below (and any alias in :data:`ALIASES`), plus one emitter per backend, plus its
test cases: one entry in tests/kinds.py.

A kind's module is imported the first time the kind is looked up in :data:`LAYERS`, not here: a
command pays only for the kinds its spec uses (tests/test_layers.py holds this table equal to the
modules present and to what each registers).
"""

from archcalc.layers.base import GLOBAL, LAYERS, VARIES, Axis, Count, Derivation, Layer, Shape

#: every kind, by the name of the module that defines it (its own name)
KINDS = (
    "adaptive_avgpool1d",
    "adaptive_avgpool2d",
    "adaptive_avgpool3d",
    "add",
    "attention",
    "avgpool1d",
    "avgpool2d",
    "avgpool3d",
    "batchnorm1d",
    "batchnorm2d",
    "batchnorm3d",
    "class_token",
    "concat",
    "conv1d",
    "conv2d",
    "conv3d",
    "conv_transpose1d",
    "conv_transpose2d",
    "conv_transpose3d",
    "dropout",
    "dropout1d",
    "dropout2d",
    "dropout3d",
    "elu",
    "embedding",
    "flatten",
    "gelu",
    "global_avgpool1d",
    "global_avgpool2d",
    "global_avgpool3d",
    "glu",
    "groupnorm",
    "gru",
    "hardsigmoid",
    "hardswish",
    "identity",
    "instancenorm1d",
    "instancenorm2d",
    "instancenorm3d",
    "layer_scale",
    "layernorm",
    "layernorm2d",
    "leaky_relu",
    "linear",
    "log_softmax",
    "lstm",
    "maxpool1d",
    "maxpool2d",
    "maxpool3d",
    "mean",
    "mish",
    "mla",
    "moe",
    "multihead_attention",
    "multiply",
    "pad",
    "permute",
    "pixel_shuffle",
    "pos_embedding",
    "prelu",
    "relu",
    "relu6",
    "reshape",
    "rmsnorm",
    "rnn",
    "scale",
    "select",
    "sigmoid",
    "silu",
    "softcap",
    "softmax",
    "softplus",
    "step",
    "stochastic_depth",
    "tanh",
    "transpose",
    "upsample",
)

#: a kind's other names (as its ``@layer`` gives them) → the kind
ALIASES = {
    "avgpool": "avgpool2d",
    "conv": "conv2d",
    "dense": "linear",
    "drop_path": "stochastic_depth",
    "global_avgpool": "global_avgpool2d",
    "maxpool": "maxpool2d",
    "sign": "step",
    "swish": "silu",
    "view": "reshape",
}

LAYERS.declare(KINDS, ALIASES)

__all__ = ["ALIASES", "GLOBAL", "KINDS", "LAYERS", "VARIES", "Axis", "Count", "Derivation", "Layer", "Shape"]
