"""Layer kind → the torch module that computes it: one entry per kind, in :data:`MODULES`.

An entry reads the layer's normalised arguments (``layer.config()``) and its input shape and
returns a :class:`Call`, the constructor call as data. The runtime builder calls it; the source
emitter prints it. One table therefore serves both, and they cannot disagree.

    >>> from archcalc import loads
    >>> node = loads("input: [3, 32, 32]\\nlayers: [conv2d: {out: 16, kernel: 3, padding: 1}]").layers[0]
    >>> call = MODULES[node.kind](node.layer, node.in_shape)
    >>> call.build()
    Conv2d(3, 16, kernel_size=(3, 3), stride=(1, 1), padding=(1, 1))
"""

from __future__ import annotations

import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

from torch import nn

from archcalc.backends.common import plain
from archcalc.backends.torch.modules import (
    GRU,
    LSTM,
    RNN,
    Add,
    Attention,
    ClassToken,
    Concat,
    Conv1D,
    GatedUnit,
    GlobalAvgPool2d,
    LatentAttention,
    LayerNorm2d,
    LayerScale,
    Mean,
    MoE,
    MultiheadAttention,
    Multiply,
    OffsetRMSNorm,
    Permute,
    PositionAdd,
    PositionEmbedding,
    Reshape,
    Scale,
    ScaledEmbedding,
    Select,
    SelfAttention,
    Sign,
    SoftCap,
    StochasticDepth,
)
from archcalc.layers.base import Layer, Shape
from archcalc.layers.moe import ROUTING

#: a constructor argument: its name, its value, and torch's default for it (``REQUIRED`` when it has none)
REQUIRED = inspect.Parameter.empty


@dataclass(frozen=True, slots=True)
class Arg:
    name: str
    value: object
    default: object = REQUIRED

    @property
    def is_default(self) -> bool:
        return self.default is not REQUIRED and type(self.value) is type(self.default) and self.value == self.default


@dataclass(frozen=True, slots=True)
class Call:
    """``cls(*args, **kwargs)`` with every argument named, keyword ones with torch's default beside them.

    Every keyword argument is kept, even at its default, so two layers of one block always have the
    same arguments; the source emitter leaves out the ones that are the default everywhere.
    """

    cls: type[nn.Module]
    args: tuple[Arg, ...] = ()
    kwargs: tuple[Arg, ...] = ()

    def build(self) -> nn.Module:
        with warnings.catch_warnings():  # archcalc says it itself, located: lint rule N109
            warnings.filterwarnings("ignore", "dropout option adds dropout after all but last recurrent layer")
            return self.cls(*(a.value for a in self.args), **{a.name: a.value for a in self.kwargs})


MODULES: dict[str, Callable[[Layer, Shape], Call]] = {}


def module_for(*kinds: str) -> Callable:
    """Register the decorated function as the torch entry of ``kinds``."""

    def register(fn: Callable[[Layer, Shape], Call]) -> Callable[[Layer, Shape], Call]:
        for kind in kinds:
            MODULES[kind] = fn
        return fn

    return register


def call(cls: type[nn.Module], *args: object, **kwargs: object) -> Call:
    """A :class:`Call` with names and defaults read from ``cls``'s signature and values made literal."""
    params = _signature(cls)
    names = [name for name in params if name != "self"]
    positional = tuple(Arg(name, _literal(value)) for name, value in zip(names, args))
    keywords = tuple(Arg(name, _literal(value), params.get(name, REQUIRED)) for name, value in kwargs.items())
    return Call(cls, positional, keywords)


@cache
def _signature(cls: type) -> dict[str, object]:
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()}


class Exact(tuple):
    """A tuple kept as it is (a shape, an axis order): :func:`_literal` never folds it into one value."""


def _literal(value: object) -> object:
    """A plain literal (:func:`~archcalc.backends.common.plain`) where a per-axis pair of equal values,
    (k, k), becomes k, as torch's constructors take it and a person writes it, except in an
    :class:`Exact` tuple (a shape, an axis order)."""
    if isinstance(value, tuple):
        items = tuple(_literal(v) for v in value)
        if isinstance(value, Exact):
            return Exact(items)
        same = items and all(v == items[0] and type(v) is type(items[0]) for v in items)
        return items[0] if same else items
    return plain(value)


def _pool_padding(layer: Layer) -> object:
    """torch pools take no 'same': it becomes the symmetric padding that keeps the size (odd kernels)."""
    if layer.padding != "same":
        return layer.padding
    if any(k % 2 == 0 for k in layer.effective_kernel()):
        raise layer.error("padding 'same' with an even kernel pads one side more, which torch pools cannot do",
                          arg="padding", code="export-unsupported", hint="use an odd kernel or explicit padding")
    return layer.pads()


def _by_rank(layer: Layer, *classes: type[nn.Module]) -> type[nn.Module]:
    """The 1-, 2- or 3-D torch class of a sliding-window kind."""
    return classes[layer.RANK - 1]


# -- the table: one entry per kind, in the order of archcalc/layers/ ---------------------------------


@module_for("multiply")
def multiply(layer: Layer, xs: list[Shape]) -> Call:
    return call(Multiply)


#: the kinds without arguments, each a torch module called without arguments
PLAIN: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU, "relu6": nn.ReLU6, "sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "silu": nn.SiLU,
    "hardswish": nn.Hardswish, "hardsigmoid": nn.Hardsigmoid, "mish": nn.Mish, "step": Sign,
    "identity": nn.Identity,
}
for _kind, _cls in PLAIN.items():
    MODULES[_kind] = lambda layer, x, cls=_cls: call(cls)


@module_for("leaky_relu")
def leaky_relu(layer: Layer, x: Shape) -> Call:
    return call(nn.LeakyReLU, negative_slope=layer.config()["slope"])


@module_for("softcap")
def softcap(layer: Layer, x: Shape) -> Call:
    return call(SoftCap, layer.config()["cap"])


@module_for("scale")
def scale(layer: Layer, x: Shape) -> Call:
    return call(Scale, layer.config()["factor"])


@module_for("gelu")
def gelu(layer: Layer, x: Shape) -> Call:
    return call(nn.GELU, approximate=layer.config()["approximate"])


@module_for("elu")
def elu(layer: Layer, x: Shape) -> Call:
    return call(nn.ELU, alpha=layer.config()["alpha"])


@module_for("prelu")
def prelu(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(nn.PReLU, num_parameters=x[0] if c["per_channel"] else 1, init=c["init"])


@module_for("softplus")
def softplus(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(nn.Softplus, beta=c["beta"], threshold=c["threshold"])


@module_for("add")
def add(layer: Layer, xs: list[Shape]) -> Call:
    return call(Add)


@module_for("adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d")
def adaptive_avgpool(layer: Layer, x: Shape) -> Call:
    return call(_by_rank(layer, nn.AdaptiveAvgPool1d, nn.AdaptiveAvgPool2d, nn.AdaptiveAvgPool3d),
                layer.config()["out"])


@module_for("avgpool1d", "avgpool2d", "avgpool3d")
def avgpool(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(_by_rank(layer, nn.AvgPool1d, nn.AvgPool2d, nn.AvgPool3d), kernel_size=c["kernel"], stride=c["stride"],
                padding=_pool_padding(layer),
                ceil_mode=c["ceil_mode"], count_include_pad=c["count_include_pad"])


@module_for("groupnorm")
def groupnorm(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(nn.GroupNorm, c["groups"], x[0], eps=c["eps"], affine=c["affine"])


@module_for("batchnorm1d")
def batchnorm1d(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(nn.BatchNorm1d, x[0], eps=c["eps"], momentum=c["momentum"], affine=c["affine"])


@module_for("batchnorm2d")
def batchnorm2d(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(nn.BatchNorm2d, x[0], eps=c["eps"], momentum=c["momentum"], affine=c["affine"])


@module_for("batchnorm3d")
def batchnorm3d(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(nn.BatchNorm3d, x[0], eps=c["eps"], momentum=c["momentum"], affine=c["affine"])


@module_for("instancenorm1d", "instancenorm2d", "instancenorm3d")
def instancenorm(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    cls = {"instancenorm1d": nn.InstanceNorm1d, "instancenorm2d": nn.InstanceNorm2d}.get(layer.kind, nn.InstanceNorm3d)
    return call(cls, x[0], eps=c["eps"], momentum=c["momentum"], affine=c["affine"],
                track_running_stats=c["track_running_stats"])


@module_for("concat")
def concat(layer: Layer, xs: list[Shape]) -> Call:
    return call(Concat, dim=layer.config()["axis"] % len(xs[0]) + 1)  # the spec's axes exclude the batch


@module_for("conv1d", "conv2d", "conv3d")
def conv(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(_by_rank(layer, nn.Conv1d, nn.Conv2d, nn.Conv3d), x[0], c["out"], kernel_size=c["kernel"],
                stride=c["stride"], padding=c["padding"],
                dilation=c["dilation"], groups=c["groups"], bias=c["bias"], padding_mode=c["padding_mode"])


@module_for("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def conv_transpose(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(_by_rank(layer, nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d), x[0], c["out"],
                kernel_size=c["kernel"], stride=c["stride"], padding=c["padding"],
                output_padding=c["output_padding"], groups=c["groups"], bias=c["bias"], dilation=c["dilation"])


@module_for("dropout")
def dropout(layer: Layer, x: Shape) -> Call:
    return call(nn.Dropout, layer.config()["p"])  # positional: the rate shows even at torch's default


@module_for("dropout1d", "dropout2d", "dropout3d")
def channel_dropout(layer: Layer, x: Shape) -> Call:
    cls = {"dropout1d": nn.Dropout1d, "dropout2d": nn.Dropout2d}.get(layer.kind, nn.Dropout3d)
    return call(cls, layer.config()["p"])  # positional, as dropout's


@module_for("flatten")
def flatten(layer: Layer, x: Shape) -> Call:
    start, end = layer.span(x)
    return call(nn.Flatten, start_dim=start + 1, end_dim=-1 if end == len(x) - 1 else end + 1)


@module_for("reshape")
def reshape(layer: Layer, x: Shape) -> Call:
    return call(Reshape, Exact(layer.output_shape(x)))


@module_for("permute", "transpose")
def permute(layer: Layer, x: Shape) -> Call:
    return call(Permute, Exact(layer.order(x)))


@module_for("select")
def select(layer: Layer, x: Shape) -> Call:
    return call(Select, layer.axis % len(x), layer.index)


@module_for("mean")
def mean(layer: Layer, x: Shape) -> Call:
    return call(Mean, Exact(layer.averaged(x)), keepdim=layer.keepdim)


@module_for("class_token")
def class_token(layer: Layer, x: Shape) -> Call:
    return call(ClassToken, x[1])


@module_for("layer_scale")
def layer_scale(layer: Layer, x: Shape) -> Call:
    if layer.flat:  # stored as [C], viewed as [-1, 1, …] when applied (whatever C: a block used at two widths)
        return call(LayerScale, Exact(layer.shape(x)), layer.value, view=Exact((-1, *layer.broadcast(x)[1:])))
    return call(LayerScale, Exact(layer.shape(x)), layer.value)


@module_for("stochastic_depth")
def stochastic_depth(layer: Layer, x: Shape) -> Call:
    return call(StochasticDepth, layer.p, mode=layer.mode)


@module_for("global_avgpool2d")
def global_avgpool2d(layer: Layer, x: Shape) -> Call:
    return call(GlobalAvgPool2d)


@module_for("global_avgpool1d", "global_avgpool3d")
def global_avgpool(layer: Layer, x: Shape) -> Call:
    return call(Mean, Exact(range(1, len(x))))


@module_for("linear")
def linear(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(Conv1D if c["transposed"] else nn.Linear, x[-1], c["out"], bias=c["bias"])


@module_for("attention")
def attention(layer: Layer, xs: list[Shape]) -> Call:
    c = layer.config()
    return call(Attention, heads=c["heads"], kv_heads=layer.groups, head_dim=layer.head_size(xs), causal=c["causal"],
                scale=c["scale"],
                rotary=c["rotary"], theta=c["theta"], rotary_dim=c["rotary_dim"], dropout=c["dropout"],
                window=c["window"], softcap=c["softcap"], rotary_factor=c["rotary_factor"], packing=c["packing"],
                **layer.rope_options(),
                **({} if c["relative_bias"] is None else {"relative_bias": Exact(c["relative_bias"])}))


def _gemma_options(c: dict) -> dict[str, object]:
    """The attention options Gemma added (a window, a soft cap, linear rope scaling, the q and k norms' offset),
    given only where the spec sets them: a Llama's generated source stays as it was (as do Llama 3.1's and YaRN's
    scaling, :meth:`~archcalc.layers.attention.Attention.rope_options`, and the q and k norms' kind, β and layout)."""
    defaults = {"window": None, "softcap": None, "rotary_factor": 1.0, "qk_norm_offset": 0.0,
                "qk_norm_kind": "rmsnorm", "qk_norm_layout": "stacked"}
    options = {key: c[key] for key, default in defaults.items() if c[key] != default}
    if c["qk_norm"] != "none" and c["qk_norm_kind"] == "layernorm" and c["qk_norm_bias"]:
        options["qk_norm_bias"] = True  # a LayerNorm's shift β (Cohere's and StableLM's have none)
    return options


@module_for("multihead_attention")
def multihead_attention(layer: Layer, xs: list[Shape]) -> Call:
    c = layer.config()
    (x,) = xs
    head_dim, out = layer.dims(x)
    if c["layout"] == "torch":  # nn.MultiheadAttention's own parameters: in_proj_weight, in_proj_bias, out_proj
        return call(SelfAttention, x[-1], c["heads"], bias=c["bias"], dropout=c["dropout"], causal=c["causal"])
    return call(MultiheadAttention, x[-1], c["heads"], layer.groups, head_dim, out, bias=c["bias"],
                out_bias=layer.out_biased, qk_norm=c["qk_norm"], qk_norm_eps=c["qk_norm_eps"], causal=c["causal"],
                scale=c["scale"], rotary=c["rotary"], theta=c["theta"], rotary_dim=c["rotary_dim"],
                dropout=c["dropout"], **_gemma_options(c), **layer.rope_options())


@module_for("moe")
def moe(layer: Layer, x: Shape) -> Call:
    """Mixtral's block; DeepSeek's routing options given only where the spec sets them (a Mixtral's generated
    source stays as it was)."""
    c = layer.config()
    routing = {key: c[key] for key, default in ROUTING.items() if c[key] != default}
    return call(MoE, x[-1], c["experts"], c["top_k"], c["hidden"], activation=c["activation"],
                normalize=c["normalize"], shared=c["shared"], **routing)


@module_for("mla")
def mla(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(LatentAttention, x[1], c["heads"], c["kv_rank"], c["nope_dim"], c["rope_dim"], c["v_dim"],
                layer.width(x), q_rank=c["q_rank"], bias=c["bias"], eps=c["eps"], causal=c["causal"],
                rotary=c["rotary"], theta=c["theta"], scale=c["scale"], dropout=c["dropout"],
                **({} if c["rotary_factor"] == 1.0 else {"rotary_factor": c["rotary_factor"]}),
                **layer.rope_options())


@module_for("embedding")
def embedding(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    if c["scale"] is not None:  # Gemma's rows times √dim
        return call(ScaledEmbedding, c["vocab"], c["dim"], padding_idx=c["padding_idx"], scale=c["scale"])
    return call(nn.Embedding, c["vocab"], c["dim"], padding_idx=c["padding_idx"])


@module_for("pos_embedding")
def pos_embedding(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    if c["add"]:  # torchvision ViT: a bare [1, positions, D] parameter added to the input
        return call(PositionAdd, c["positions"], layer.width(x))
    return call(PositionEmbedding, c["positions"], c["dim"], first=c["index"] == "first",
                padding_idx=c["padding_idx"], offset=c["offset"])


@module_for("layernorm")
def layernorm(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(nn.LayerNorm, Exact(layer.normalized(x)), eps=c["eps"], elementwise_affine=c["affine"], bias=c["bias"])


@module_for("layernorm2d")
def layernorm2d(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(LayerNorm2d, x[0], eps=c["eps"], elementwise_affine=c["affine"], bias=c["bias"])


@module_for("rmsnorm")
def rmsnorm(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    if c["offset"]:  # Gemma's x̂·(1 + γ), in float32
        return call(OffsetRMSNorm, Exact(layer.normalized(x)), eps=c["eps"], offset=c["offset"])
    return call(nn.RMSNorm, Exact(layer.normalized(x)), eps=c["eps"], elementwise_affine=c["affine"])


@module_for("lstm", "gru", "rnn")
def recurrent(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    extra = {"nonlinearity": c["nonlinearity"]} if layer.kind == "rnn" else {}
    extra.update({"proj_size": c["proj_size"]} if layer.kind == "lstm" else {})
    cls = {"lstm": LSTM, "gru": GRU, "rnn": RNN}[layer.kind]
    return call(cls, x[1], c["hidden"], num_layers=c["num_layers"], bias=c["bias"], dropout=c["dropout"],
                bidirectional=c["bidirectional"], output=c["output"], **extra)


@module_for("maxpool1d", "maxpool2d", "maxpool3d")
def maxpool(layer: Layer, x: Shape) -> Call:
    c = layer.config()
    return call(_by_rank(layer, nn.MaxPool1d, nn.MaxPool2d, nn.MaxPool3d), kernel_size=c["kernel"], stride=c["stride"],
                padding=_pool_padding(layer),
                dilation=c["dilation"], ceil_mode=c["ceil_mode"])


@module_for("pixel_shuffle")
def pixel_shuffle(layer: Layer, x: Shape) -> Call:
    return call(nn.PixelShuffle, layer.factor)


#: torch's modules for pad's copying modes, by the number of padded axes
COPYING = {"reflect": (nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d),
           "replicate": (nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d),
           "circular": (nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d)}


@module_for("pad")
def pad(layer: Layer, x: Shape) -> Call:
    """``nn.ZeroPad{n}d`` when the value is 0, else ``nn.ConstantPad{n}d``, n the padded axes; the copying modes
    ``nn.ReflectionPad{n}d``, ``nn.ReplicationPad{n}d``, ``nn.CircularPad{n}d`` (each takes the 2–5-D tensors the
    layer accepts: the padded axes and at most one more besides the batch). What a person writes, one number
    when every side is padded alike (``nn.ZeroPad2d(1)``)."""
    layer.pairs(x)  # checked against the input
    rank = layer.rank
    if layer.mode != "constant":
        return call(COPYING[layer.mode][rank - 1], layer.padding)
    if layer.value == 0:
        return call((nn.ZeroPad1d, nn.ZeroPad2d, nn.ZeroPad3d)[rank - 1], layer.padding)
    return call((nn.ConstantPad1d, nn.ConstantPad2d, nn.ConstantPad3d)[rank - 1], layer.padding, layer.value)


@module_for("upsample")
def upsample(layer: Layer, x: Shape) -> Call:
    """torch takes ``align_corners`` only in the interpolating modes (None, its default, otherwise)."""
    size = layer.per_axis("size", layer.size, x) if layer.size is not None else None
    scale = layer.per_axis("scale", layer.scale, x) if layer.scale is not None else None
    return call(nn.Upsample, size=size, scale_factor=scale, mode=layer.mode,
                align_corners=None if layer.mode == "nearest" else layer.align_corners)


@module_for("softmax")
def softmax(layer: Layer, x: Shape) -> Call:
    return call(nn.Softmax, dim=layer.axis(x) + 1)  # the spec's axes exclude the batch


@module_for("glu")
def glu(layer: Layer, x: Shape) -> Call:
    """torch's default ``nn.GLU()`` for the last axis, else ``dim`` counted with the batch (as softmax's); another
    gate function or the gate first is archcalc's :class:`GatedUnit`."""
    axis = layer.axis(x)
    dim = -1 if axis == len(x) - 1 else axis + 1
    if layer.plain:
        return call(nn.GLU, dim=dim)
    return call(GatedUnit, dim=dim, activation=layer.activation, gate_first=layer.gate == "first")


@module_for("log_softmax")
def log_softmax(layer: Layer, x: Shape) -> Call:
    return call(nn.LogSoftmax, dim=layer.axis(x) + 1)
