"""Layer kind → ONNX ops (opset 17): one entry per kind, in :data:`OPS`.

An entry receives the :class:`~.builder.Builder`, the layer's node and the name of its input
tensor, adds the ops that compute the layer in evaluation mode, and returns the output's name.
Weights are the torch module's, in torch's layouts: ``Gemm(transB=1)`` takes a linear weight
``(out, in)`` as it is, and ``Conv`` the same ``(out, in/groups, kh, kw)``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING

import numpy as np
from onnx import helper

from archcalc.backends.common import plain
from archcalc.backends.rope import rotary_frequencies
from archcalc.errors import SpecError
from archcalc.graph import LayerNode, MergeNode
from archcalc.layers.spatial import dropped_window

if TYPE_CHECKING:
    from archcalc.backends.onnx.builder import Builder

OPS: dict[str, Callable[[Builder, LayerNode, str], str]] = {}


def op_for(*kinds: str) -> Callable:
    def register(fn: Callable[[Builder, LayerNode, str], str]) -> Callable[[Builder, LayerNode, str], str]:
        for kind in kinds:
            OPS[kind] = fn
        return fn

    return register


def _pads(node: LayerNode) -> tuple[list[int], list[int]]:
    """(begin, end) padding per spatial axis; 'same' puts the odd pixel at the end, as torch does."""
    pairs = node.layer.pad_pairs()
    return [begin for begin, _ in pairs], [end for _, end in pairs]


def _window(b: Builder, node: LayerNode, kind: str) -> dict[str, object]:
    """Kernel, strides and pads of a sliding window, torch's ``ceil_mode`` made explicit.

    ONNX's opset-17 ceil rule keeps a last window that would start in the right padding; torch drops
    it (:func:`~archcalc.layers.spatial.dropped_window`). Where torch keeps every window the two agree.
    Where it drops one, max pooling uses the floor rule with the smallest end padding that gives torch's
    size (padding never wins a max, and onnxruntime wants it below the kernel); average pooling, whose
    divisor would count that padding, cannot be written.
    """
    layer = node.layer
    begin, end = _pads(node)
    attributes: dict[str, object] = {"kernel_shape": list(layer.kernel), "strides": list(layer.strides)}
    if layer.ceil_mode:
        axes = list(zip(node.in_shape[1:], layer.kernel, layer.strides, begin, layer.dilation))
        if not any(dropped_window(*axis) for axis in axes):
            attributes["ceil_mode"] = 1
        elif kind == "max":
            end = list(layer.end_pads(node.in_shape, node.out_shape))
            if any(e >= k for e, k in zip(end, layer.kernel)):
                raise b.unsupported(node, "ceil_mode here needs end padding as wide as the kernel (onnxruntime "
                                    "refuses that)", hint="use ceil_mode: false, or a stride no larger than the kernel")
        else:
            raise b.unsupported(node, "ceil_mode drops a last window that starts in the padding",
                                hint="use less padding, or ceil_mode: false")
    attributes["pads"] = [*begin, *end]
    return attributes


# -- the table: one entry per kind, in the order of archcalc/layers/ ---------------------------------


@op_for("concat")
def concat(b: Builder, node: MergeNode, xs: list[str]) -> str:
    return b.join("Concat", xs, node, axis=node.layer.config()["axis"] % len(node.out_shape) + 1)


@op_for("add")
def add(b: Builder, node: MergeNode, xs: list[str]) -> str:
    out = xs[0]
    for other in xs[1:]:
        out = b.join("Add", [out, other], node)
    return out


@op_for("multiply")
def multiply(b: Builder, node: MergeNode, xs: list[str]) -> str:
    out = xs[0]
    for other in xs[1:]:
        out = b.join("Mul", [out, other], node)
    return out


@op_for("pixel_shuffle")
def pixel_shuffle(b: Builder, node: LayerNode, x: str) -> str:
    """torch's PixelShuffle is DepthToSpace in its column-row-depth order."""
    return b.op("DepthToSpace", [x], node, blocksize=node.layer.factor, mode="CRD")


def _copy_pad(b: Builder, node: LayerNode, x: str, pairs: tuple[tuple[int, int], ...], mode: str) -> str:
    """``x`` padded by (before, after) per axis after the batch in one of F.pad's copying modes: ``Pad`` in
    mode 'reflect' or 'edge' (replicate); circular as ONNX's 'wrap' needs opset 19 (this is 17): per
    axis, the last ``before`` positions, the input, the first ``after`` positions joined by ``Concat``
    (torch wraps at most once around, so one copy of each end is all it can take)."""
    if mode != "circular":
        pads = [0, *(before for before, _ in pairs), 0, *(after for _, after in pairs)]
        return b.op("Pad", [x, b.constant(node, "pads", pads, dtype=np.int64)], node, "pad" if node.kind != "pad"
                    else "", mode="edge" if mode == "replicate" else mode)
    padded = [axis for axis, pair in enumerate(pairs, 1) if any(pair)]
    for axis, (before, after) in enumerate(pairs, 1):
        pieces = [x]
        if before:  # a start of −before is the end's last positions, whatever the (maybe free) size
            ends = [b.constant(node, name, [v], dtype=np.int64) for name, v in
                    (("starts", -before), ("ends", 2**62), ("axes", axis))]
            pieces.insert(0, b.op("Slice", [x, *ends], node, f"wrap{axis}_before"))
        if after:
            ends = [b.constant(node, name, [v], dtype=np.int64) for name, v in
                    (("starts", 0), ("ends", after), ("axes", axis))]
            pieces.append(b.op("Slice", [x, *ends], node, f"wrap{axis}_after"))
        if len(pieces) > 1:  # a pad layer's last op is named after the layer, as a one-op kind's is
            last = node.kind == "pad" and axis == padded[-1]
            x = b.op("Concat", pieces, node, "" if last else f"wrap{axis}", axis=axis)
    return x


@op_for("pad")
def pad(b: Builder, node: LayerNode, x: str) -> str:
    """``Pad`` (constant mode): ONNX lists every axis's begin amount, then every end amount, in axis order
    (batch included), where torch lists (before, after) pairs from the last axis; negative amounts crop in both.
    The copying modes: :func:`_copy_pad`."""
    pairs = node.layer.pairs(node.in_shape)
    if node.layer.mode != "constant":
        return _copy_pad(b, node, x, pairs, node.layer.mode)
    pads = [0, *(before for before, _ in pairs), 0, *(after for _, after in pairs)]
    value = b.constant(node, "value", node.layer.value)
    return b.op("Pad", [x, b.constant(node, "pads", pads, dtype=np.int64), value], node, mode="constant")


@op_for("upsample")
def upsample(b: Builder, node: LayerNode, x: str) -> str:
    """``Resize`` with torch's coordinates: nearest is 'asymmetric' with the floor (output i reads ⌊i/s⌋),
    linear 'pytorch_half_pixel' or 'align_corners'; torch's scale as the scales (its coordinates use the
    given scale), or the size as the sizes (its coordinates then use in/out, as ONNX's do)."""
    layer = node.layer
    nearest = layer.mode == "nearest"
    transform = "asymmetric" if nearest else "align_corners" if layer.align_corners else "pytorch_half_pixel"
    if layer.scale is not None:
        scales = [1.0, 1.0, *(float(s) for s in layer.per_axis("scale", layer.scale, node.in_shape))]
        inputs = [x, "", b.constant(node, "scales", scales)]
    else:  # the batch and channels from the input, the spatial sizes given
        batch = b.op("Shape", [x], node, "batch", start=0, end=2)
        spatial = b.constant(node, "spatial", list(node.out_shape[1:]), dtype=np.int64)
        inputs = [x, "", "", b.op("Concat", [batch, spatial], node, "sizes", axis=0)]
    return b.op("Resize", inputs, node, mode="nearest" if nearest else "linear",
                coordinate_transformation_mode=transform, **({"nearest_mode": "floor"} if nearest else {}))


@op_for("relu")
def relu(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Relu", [x], node)


@op_for("relu6")
def relu6(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Clip", [x, b.constant(node, "min", 0.0), b.constant(node, "max", 6.0)], node)


@op_for("leaky_relu")
def leaky_relu(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("LeakyRelu", [x], node, alpha=node.layer.config()["slope"])


@op_for("sigmoid")
def sigmoid(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Sigmoid", [x], node)


@op_for("tanh")
def tanh(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Tanh", [x], node)


@op_for("softcap")
def softcap(b: Builder, node: LayerNode, x: str) -> str:
    """c·tanh(x/c)."""
    cap = b.constant(node, "cap", node.layer.cap)
    return b.op("Mul", [b.op("Tanh", [b.op("Div", [x, cap], node, "over_cap")], node, "tanh"), cap], node)


@op_for("gelu")
def gelu(b: Builder, node: LayerNode, x: str) -> str:
    return _gelu(b, node, x, node.layer.config()["approximate"] == "tanh")


def _gelu(b: Builder, node: LayerNode, x: str, tanh: bool) -> str:
    """Opset 17 has no Gelu: x·Φ(x) = x/2·(1 + erf(x/√2)), or the tanh form torch uses for 'tanh'."""
    if tanh:
        cube = b.op("Mul", [b.op("Mul", [x, x], node, "square"), x], node, "cube")
        inner = b.op("Add", [x, b.op("Mul", [cube, b.constant(node, "c", 0.044715)], node, "scaled")], node, "sum")
        scaled = b.op("Mul", [inner, b.constant(node, "sqrt_2_over_pi", math.sqrt(2 / math.pi))], node, "arg")
        shape = b.op("Tanh", [scaled], node, "tanh")
    else:
        shape = b.op("Erf", [b.op("Div", [x, b.constant(node, "sqrt2", math.sqrt(2))], node, "arg")], node, "erf")
    one_plus = b.op("Add", [shape, b.constant(node, "one", 1.0)], node, "one_plus")
    half_x = b.op("Mul", [x, b.constant(node, "half", 0.5)], node, "half_x")
    return b.op("Mul", [half_x, one_plus], node)


@op_for("silu")
def silu(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Mul", [x, b.op("Sigmoid", [x], node, "sigmoid")], node)


@op_for("hardswish")
def hardswish(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("HardSwish", [x], node)


@op_for("hardsigmoid")
def hardsigmoid(b: Builder, node: LayerNode, x: str) -> str:
    """torch's relu6(x + 3)/6 is ONNX's max(0, min(1, αx + β)) with α = 1/6, β = 1/2."""
    return b.op("HardSigmoid", [x], node, alpha=1 / 6, beta=0.5)


@op_for("elu")
def elu(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Elu", [x], node, alpha=node.layer.config()["alpha"])


@op_for("prelu")
def prelu(b: Builder, node: LayerNode, x: str) -> str:
    """ONNX broadcasts the slope from the right: one per channel is reshaped to [C, 1, …]."""
    slope = b.weight(node, "weight")
    if node.layer.config()["per_channel"] and len(node.in_shape) > 1:
        shape = b.constant(node, "slope_shape", [-1, *[1] * (len(node.in_shape) - 1)], dtype=np.int64)
        slope = b.op("Reshape", [slope, shape], node, "slope")
    return b.op("PRelu", [x, slope], node)


@op_for("mish")
def mish(b: Builder, node: LayerNode, x: str) -> str:
    """Opset 17 has no Mish: x·tanh(softplus(x))."""
    return b.op("Mul", [x, b.op("Tanh", [b.op("Softplus", [x], node, "softplus")], node, "tanh")], node)


@op_for("softplus")
def softplus(b: Builder, node: LayerNode, x: str) -> str:
    """softplus(βx)/β, and x where βx > threshold, as torch."""
    c = node.layer.config()
    bx = b.op("Mul", [x, b.constant(node, "beta", c["beta"])], node, "bx")
    smooth = b.op("Div", [b.op("Softplus", [bx], node, "softplus"), b.constant(node, "beta_div", c["beta"])], node,
                  "smooth")
    above = b.op("Greater", [bx, b.constant(node, "threshold", c["threshold"])], node, "above")
    return b.op("Where", [above, x, smooth], node)


@op_for("step")
def step(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Sign", [x], node)


@op_for("identity")
def identity(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Identity", [x], node)


@op_for("scale")
def scale(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Mul", [x, b.constant(node, "factor", node.layer.factor)], node)


@op_for("adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d")
def adaptive_avgpool(b: Builder, node: LayerNode, x: str) -> str:
    out = node.layer.config()["out"]
    if all(o == 1 for o in out):
        return b.op("GlobalAveragePool", [x], node)
    sizes = node.in_shape[1:]
    if any(n % o for n, o in zip(sizes, out)):
        raise b.unsupported(node, f"pooling {'×'.join(map(str, sizes))} to {'×'.join(map(str, out))} uses windows "
                            "of different sizes", hint="choose an input size the output size divides")
    window = [n // o for n, o in zip(sizes, out)]
    return b.op("AveragePool", [x], node, kernel_shape=window, strides=window)


@op_for("avgpool1d", "avgpool2d", "avgpool3d")
def avgpool2d(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("AveragePool", [x], node, count_include_pad=int(node.layer.config()["count_include_pad"]),
                **_window(b, node, "average"))


@op_for("batchnorm1d", "batchnorm2d", "batchnorm3d")
def batchnorm(b: Builder, node: LayerNode, x: str) -> str:
    """Evaluation mode: the running statistics. ONNX's momentum weighs the old value (torch's 1 − m)."""
    c = node.layer.config()
    channels = node.in_shape[0]
    scale = b.weight(node, "weight") if c["affine"] else b.constant(node, "scale", [1.0] * channels)
    shift = b.weight(node, "bias") if c["affine"] else b.constant(node, "shift", [0.0] * channels)
    return b.op("BatchNormalization", [x, scale, shift, b.weight(node, "running_mean"),
                                       b.weight(node, "running_var")], node, epsilon=c["eps"],
                momentum=1 - c["momentum"])


@op_for("instancenorm1d", "instancenorm2d", "instancenorm3d")
def instancenorm(b: Builder, node: LayerNode, x: str) -> str:
    """Evaluation mode: InstanceNormalization (each example's own statistics), or, with running statistics,
    BatchNormalization over them as for batch norm; γ = 1 and β = 0 written out where torch has none."""
    c = node.layer.config()
    channels = node.in_shape[0]
    scale = b.weight(node, "weight") if c["affine"] else b.constant(node, "scale", [1.0] * channels)
    shift = b.weight(node, "bias") if c["affine"] else b.constant(node, "shift", [0.0] * channels)
    if c["track_running_stats"]:
        return b.op("BatchNormalization", [x, scale, shift, b.weight(node, "running_mean"),
                                           b.weight(node, "running_var")], node, epsilon=c["eps"],
                    momentum=1 - c["momentum"])
    return b.op("InstanceNormalization", [x, scale, shift], node, epsilon=c["eps"])


@op_for("groupnorm")
def groupnorm(b: Builder, node: LayerNode, x: str) -> str:
    """[N, C, …] as [N, G, C/G·…], each row normalised (InstanceNormalization with γ = 1, β = 0), back to
    [N, C, …], then torch's γ and β per channel."""
    c = node.layer.config()
    groups, shape = c["groups"], node.in_shape
    rows = b.op("Reshape", [x, b.constant(node, "groups", [0, groups, -1], dtype=np.int64)], node, "rows")
    normal = b.op("InstanceNormalization", [rows, b.constant(node, "one", [1.0] * groups),
                                            b.constant(node, "zero", [0.0] * groups)], node, "normal",
                  epsilon=c["eps"])
    back = b.constant(node, "shape", [0, *shape], dtype=np.int64)
    if not c["affine"]:
        return b.op("Reshape", [normal, back], node)
    out = b.op("Reshape", [normal, back], node, "unrows")
    channel = b.constant(node, "channel", [-1, *[1] * (len(shape) - 1)], dtype=np.int64)
    scale = b.op("Reshape", [b.weight(node, "weight"), channel], node, "scale")
    shift = b.op("Reshape", [b.weight(node, "bias"), channel], node, "shift")
    return b.op("Add", [b.op("Mul", [out, scale], node, "scaled"), shift], node)


@op_for("layernorm")
def layernorm(b: Builder, node: LayerNode, x: str) -> str:
    """LayerNormalization (opset 17) over the last ``axes`` axes; γ = 1 and β = 0 where torch has none."""
    c, layer = node.layer.config(), node.layer
    normalized = layer.normalized(node.in_shape)
    scale = b.weight(node, "weight") if c["affine"] else b.constant(node, "one", np.ones(normalized))
    shift = b.weight(node, "bias") if c["affine"] and c["bias"] else b.constant(node, "zero", np.zeros(normalized))
    return b.op("LayerNormalization", [x, scale, shift], node, axis=-len(normalized), epsilon=c["eps"])


@op_for("layernorm2d")
def layernorm2d(b: Builder, node: LayerNode, x: str) -> str:
    """torchvision's LayerNorm2d as it computes: [N, C, H, W] transposed channels-last, LayerNormalization
    over the last axis, transposed back."""
    c, channels = node.layer.config(), node.in_shape[0]
    last = b.op("Transpose", [x], node, "channels_last", perm=[0, 2, 3, 1])
    scale = b.weight(node, "weight") if c["affine"] else b.constant(node, "one", np.ones(channels))
    shift = b.weight(node, "bias") if c["affine"] and c["bias"] else b.constant(node, "zero", np.zeros(channels))
    normal = b.op("LayerNormalization", [last, scale, shift], node, "normal", axis=-1, epsilon=c["eps"])
    return b.op("Transpose", [normal], node, perm=[0, 3, 1, 2])


@op_for("rmsnorm")
def rmsnorm(b: Builder, node: LayerNode, x: str) -> str:
    """x/√(mean(x²) + eps)·γ; eps None is torch's for float32, the machine epsilon."""
    c, layer = node.layer.config(), node.layer
    rank = len(layer.normalized(node.in_shape))
    eps = float(np.finfo(np.float32).eps) if c["eps"] is None else c["eps"]
    square = b.op("Mul", [x, x], node, "square")
    mean = b.op("ReduceMean", [square], node, "mean", axes=list(range(-rank, 0)), keepdims=1)
    rms = b.op("Sqrt", [b.op("Add", [mean, b.constant(node, "eps", eps)], node, "plus_eps")], node, "rms")
    if not c["affine"]:
        return b.op("Div", [x, rms], node)
    scale = b.weight(node, "weight")
    if c["offset"]:  # Gemma's 1 + γ
        scale = b.op("Add", [scale, b.constant(node, "offset", c["offset"])], node, "scale")
    return b.op("Mul", [b.op("Div", [x, rms], node, "normal"), scale], node)


@op_for("conv1d", "conv2d", "conv3d")
def conv(b: Builder, node: LayerNode, x: str) -> str:
    """A padding_mode other than zeros pads first (as torch does, :func:`_copy_pad`), then an unpadded Conv."""
    c = node.layer.config()
    begin, end = _pads(node)
    if c["padding_mode"] != "zeros":
        x = _copy_pad(b, node, x, ((0, 0), *zip(begin, end)), c["padding_mode"])
        begin, end = [0] * len(begin), [0] * len(end)
    inputs = [x, b.weight(node, "weight"), *([b.weight(node, "bias")] if c["bias"] else [])]
    return b.op("Conv", inputs, node, kernel_shape=list(c["kernel"]), strides=list(c["stride"]),
                dilations=list(c["dilation"]), group=c["groups"], pads=[*begin, *end])


@op_for("conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
def conv_transpose(b: Builder, node: LayerNode, x: str) -> str:
    """ONNX's ConvTranspose takes torch's weight layout ``(C_i, C_o/g, *k)`` and its output size rule."""
    c = node.layer.config()
    if any(op >= s for op, s in zip(c["output_padding"], c["stride"])):
        raise b.unsupported(node, "an output padding not below the stride (torch allows it below the dilation; "
                            "onnxruntime does not)", hint="use output_padding < stride, or export to torch")
    inputs = [x, b.weight(node, "weight"), *([b.weight(node, "bias")] if c["bias"] else [])]
    return b.op("ConvTranspose", inputs, node, kernel_shape=list(c["kernel"]), strides=list(c["stride"]),
                dilations=list(c["dilation"]), group=c["groups"], pads=[*c["padding"], *c["padding"]],
                output_padding=list(c["output_padding"]))


@op_for("dropout", "dropout1d", "dropout2d", "dropout3d")
def dropout(b: Builder, node: LayerNode, x: str) -> str:
    """Identity at inference, written as ``Identity`` named after the layer: onnxruntime refuses a
    Dropout ratio of 1, which PyTorch (and a spec) allow, and the exported graph never trains (channel
    dropout too: ONNX has no op for it)."""
    return b.op("Identity", [x], node)


@op_for("flatten")
def flatten(b: Builder, node: LayerNode, x: str) -> str:
    """ONNX Flatten joins everything from ``axis`` on; a flatten that stops earlier is a Reshape (the
    batch kept as 0, "copy the input's")."""
    start, end = node.layer.span(node.in_shape)
    if end == len(node.in_shape) - 1 and start == 0:
        return b.op("Flatten", [x], node, axis=1)
    shape = b.constant(node, "shape", [0, *node.out_shape], dtype=np.int64)
    return b.op("Reshape", [x, shape], node)


def _shape(b: Builder, node: LayerNode, part: str, shape: tuple) -> str:
    """A Reshape target: the batch copied (0), then ``shape``."""
    return b.constant(node, part, [0, *shape], dtype=np.int64)


@op_for("reshape")
def reshape(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Reshape", [x, _shape(b, node, "shape", node.out_shape)], node)


@op_for("permute", "transpose")
def permute(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Transpose", [x], node, perm=[0, *(d + 1 for d in node.layer.order(node.in_shape))])


@op_for("select")
def select(b: Builder, node: LayerNode, x: str) -> str:
    """Gather with a scalar index drops the axis, as ``x.select`` does; a negative index counts from the end."""
    layer = node.layer
    index = b.constant(node, "index", layer.index, dtype=np.int64)
    return b.op("Gather", [x, index], node, axis=layer.axis % len(node.in_shape) + 1)


@op_for("mean")
def mean(b: Builder, node: LayerNode, x: str) -> str:
    layer = node.layer
    return b.op("ReduceMean", [x], node, axes=[d + 1 for d in layer.averaged(node.in_shape)],
                keepdims=int(layer.keepdim))


@op_for("class_token")
def class_token(b: Builder, node: LayerNode, x: str) -> str:
    """The [1, 1, D] token expanded to [N, 1, D] (N read from the input) and put before the sequence."""
    batch = b.op("Shape", [x], node, "batch", start=0, end=1)
    size = b.op("Concat", [batch, b.constant(node, "token_shape", [1, node.in_shape[1]], dtype=np.int64)], node,
                "token_size", axis=0)
    token = b.op("Expand", [b.weight(node, None), size], node, "token")
    return b.op("Concat", [token, x], node, axis=1)


@op_for("layer_scale")
def layer_scale(b: Builder, node: LayerNode, x: str) -> str:
    """γ times x; a flat γ ([C], as timm stores it) reshaped to [C, 1, …] to broadcast along its axis."""
    weight = b.weight(node, None)
    if node.layer.flat:
        weight = b.op("Reshape", [weight, b.constant(node, "gamma_shape", list(node.layer.broadcast(node.in_shape)),
                                                     dtype=np.int64)], node, "gamma")
    return b.op("Mul", [weight, x], node)


@op_for("stochastic_depth")
def stochastic_depth(b: Builder, node: LayerNode, x: str) -> str:
    """The identity at inference, as dropout."""
    return b.op("Identity", [x], node)


def _ints(b: Builder, node: LayerNode, part: str, values: list[int]) -> str:
    return b.constant(node, part, values, dtype=np.int64)


def _rotary(b: Builder, node: LayerNode, x: str, part: str, rotary: str, theta: float, r: int, d: int,
            factor: float = 1.0, **scaling: object) -> str:
    """Rotary embedding on the first r dimensions of x [N, H, T, d]; the angles t·f computed in the graph from T
    (so the length stays free), in float32 as torch computes them, for the inverse frequencies f of
    :func:`rotary_frequencies` (θ^(−2i/r) scaled by ``factor`` as ``scaling`` says), cos and sin times its
    factor (YaRN's) when that is not 1."""
    length = b.op("Squeeze", [b.op("Shape", [x], node, f"{part}_t", start=2, end=3), _ints(b, node, "axis0", [0])],
                  node, f"{part}_length")
    positions = b.op("Range", [b.constant(node, "start", 0, dtype=np.int64), length,
                               b.constant(node, "delta", 1, dtype=np.int64)], node, f"{part}_positions")
    column = b.op("Unsqueeze", [b.op("Cast", [positions], node, f"{part}_float", to=1), _ints(b, node, "axis1", [1])],
                  node, f"{part}_column")
    inv, gain = rotary_frequencies(np, r, theta, factor, **scaling)
    angles = b.op("Mul", [column, b.constant(node, "inv_freq", inv)], node, f"{part}_angles")
    cos, sin = b.op("Cos", [angles], node, f"{part}_cos"), b.op("Sin", [angles], node, f"{part}_sin")
    if gain != 1:
        times = b.constant(node, f"{part}_rotary_gain", gain)
        cos = b.op("Mul", [cos, times], node, f"{part}_cos_gain")
        sin = b.op("Mul", [sin, times], node, f"{part}_sin_gain")
    axis = _ints(b, node, "axis3", [3])

    def piece(name: str, start: int, end: int, step: int = 1) -> str:
        return b.op("Slice", [x, _ints(b, node, f"{name}_start", [start]), _ints(b, node, f"{name}_end", [end]), axis,
                              _ints(b, node, f"{name}_step", [step])], node, f"{part}_{name}")

    interleaved = rotary == "interleaved"
    a, c = (piece("even", 0, r, 2), piece("odd", 1, r, 2)) if interleaved else \
        (piece("low", 0, r // 2), piece("high", r // 2, r))
    first = b.op("Sub", [b.op("Mul", [a, cos], node, f"{part}_a_cos"), b.op("Mul", [c, sin], node, f"{part}_b_sin")],
                 node, f"{part}_first")
    second = b.op("Add", [b.op("Mul", [c, cos], node, f"{part}_b_cos"), b.op("Mul", [a, sin], node, f"{part}_a_sin")],
                  node, f"{part}_second")
    if interleaved:
        last = _ints(b, node, "axis_last", [-1])
        pairs = b.op("Concat", [b.op("Unsqueeze", [first, last], node, f"{part}_first_pair"),
                                b.op("Unsqueeze", [second, last], node, f"{part}_second_pair")], node,
                     f"{part}_pairs", axis=-1)
        turned = [b.op("Reshape", [pairs, _ints(b, node, "rotated_shape", [0, 0, 0, r])], node, f"{part}_turned")]
    else:
        turned = [first, second]
    if r < d:
        turned.append(piece("rest", r, d))
    return b.op("Concat", turned, node, f"{part}_rotated", axis=-1)


def _rows(b: Builder, node: LayerNode, x: str, part: str) -> str:
    """x [N, G…, T, F] as [N·G…, T, F]: each sequence of the axes before [T, F] (a window, a frame) a batch row
    of its own, as attention treats them."""
    tail = b.op("Shape", [x], node, f"{part}_tail", start=-2)
    shape = b.op("Concat", [_ints(b, node, "rows", [-1]), tail], node, f"{part}_rows_shape", axis=0)
    return b.op("Reshape", [x, shape], node, f"{part}_rows")


def _unrows(b: Builder, node: LayerNode, y: str, like: str, features: int) -> str:
    """The attention's output [N·G…, T, features] back in the input's leading axes: [N, G…, T, features]."""
    lead = b.op("Shape", [like], node, "leading", end=-1)
    shape = b.op("Concat", [lead, _ints(b, node, "out_features", [features])], node, "unrows_shape", axis=0)
    return b.op("Reshape", [y, shape], node, "unrows")


def _relative_bias(b: Builder, node: LayerNode, scores: str, window: tuple[int, int]) -> str:
    """scores + Swin's relative position bias: the table's row for each pair's offset in the window (torchvision's
    relative_position_index, recomputed here: a constant), [T·T, heads] viewed [T, T, heads] and put heads first."""
    wh, ww = window
    h, w = (a.reshape(-1) for a in np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij"))
    index = ((h[:, None] - h[None, :] + wh - 1) * (2 * ww - 1) + w[:, None] - w[None, :] + ww - 1).reshape(-1)
    rows = b.op("Gather", [b.weight(node, "relative_position_bias_table"),
                           b.constant(node, "relative_position_index", index, dtype=np.int64)], node, "bias_rows",
                axis=0)
    t = wh * ww
    pairs = b.op("Reshape", [rows, _ints(b, node, "bias_shape", [t, t, -1])], node, "bias_pairs")
    bias = b.op("Transpose", [pairs], node, "relative_bias", perm=[2, 0, 1])
    return b.op("Add", [scores, bias], node, "biased")


def _attend(b: Builder, node: LayerNode, q: str, k: str, v: str, c: dict, heads: int, kv: int, d: int) -> str:
    """softmax(q·kᵀ·scale + causal mask)·v per head, from MatMul and Softmax; q [N, T, h·d], k and v
    [N, S, kv·d]; k and v heads repeated for grouped-query attention as ``repeat_interleave`` does."""
    def split(x: str, n: int, part: str) -> str:
        shaped = b.op("Reshape", [x, _ints(b, node, f"{part}_shape", [0, 0, n, d])], node, f"{part}_heads")
        return b.op("Transpose", [shaped], node, f"{part}_t", perm=[0, 2, 1, 3])

    q, k, v = split(q, heads, "q"), split(k, kv, "k"), split(v, kv, "v")
    if c["rotary"] != "none":
        r = d if c["rotary_dim"] is None else c["rotary_dim"]
        scaling = {key: plain(value) for key, value in node.layer.rope_options().items()}
        q = _rotary(b, node, q, "q", c["rotary"], c["theta"], r, d, c["rotary_factor"], **scaling)
        k = _rotary(b, node, k, "k", c["rotary"], c["theta"], r, d, c["rotary_factor"], **scaling)
    if kv != heads:
        def repeat(x: str, part: str) -> str:
            wide = b.op("Expand", [b.op("Unsqueeze", [x, _ints(b, node, "axis2", [2])], node, f"{part}_group"),
                                   _ints(b, node, "group", [1, 1, heads // kv, 1, 1])], node, f"{part}_wide")
            return b.op("Reshape", [wide, _ints(b, node, "repeated", [0, heads, -1, d])], node, f"{part}_repeated")

        k, v = repeat(k, "k"), repeat(v, "v")
    scale = 1 / math.sqrt(d) if c["scale"] is None else c["scale"]
    scores = b.op("Mul", [b.op("MatMul", [q, b.op("Transpose", [k], node, "k_transposed", perm=[0, 1, 3, 2])], node,
                               "products"), b.constant(node, "scale", scale)], node, "scores")
    if c["softcap"] is not None:  # Gemma 2's c·tanh(s/c)
        cap = b.constant(node, "softcap", c["softcap"])
        turned = b.op("Tanh", [b.op("Div", [scores, cap], node, "scores_over_cap")], node, "scores_tanh")
        scores = b.op("Mul", [turned, cap], node, "capped")
    if c.get("relative_bias") is not None:
        scores = _relative_bias(b, node, scores, c["relative_bias"])
    if c["causal"]:
        scores = _causal(b, node, scores, c["window"])
    weights = b.op("Softmax", [scores], node, "weights", axis=-1)
    out = b.op("Transpose", [b.op("MatMul", [weights, v], node, "mixed")], node, "mixed_t", perm=[0, 2, 1, 3])
    return b.op("Reshape", [out, _ints(b, node, "out_shape", [0, 0, heads * d])], node)


def _causal(b: Builder, node: LayerNode, scores: str, window: int | None = None) -> str:
    """The scores [N, H, T, S] with every key after its query's position at −∞ (and, with a ``window``, every key
    window or more positions before it)."""
    size = b.op("Shape", [scores], node, "score_size", start=2)
    ones = b.op("ConstantOfShape", [size], node, "ones", value=helper.make_tensor("value", 1, [1], [1.0]))
    lower = b.op("Trilu", [ones], node, "lower", upper=0)
    if window is not None:  # not the keys window or more positions back: lower minus its part below −window
        far = b.op("Trilu", [ones, b.constant(node, "window", -window, dtype=np.int64)], node, "far", upper=0)
        lower = b.op("Sub", [lower, far], node, "window_band")
    seen = b.op("Cast", [lower], node, "seen", to=9)  # 9: BOOL
    return b.op("Where", [seen, scores, b.constant(node, "minus_inf", -np.inf)], node, "masked")


@op_for("mla")
def mla(b: Builder, node: LayerNode, x: str) -> str:
    """DeepSeek's latent attention with torch's weights: q (``q_proj``, or ``q_a_proj``, ``q_a_layernorm``,
    ``q_b_proj``), the latent and the shared rotary key (``kv_a_proj_with_mqa``), the latent normalised and
    expanded (``kv_a_layernorm``, ``kv_b_proj``) into each head's key part and value; the rotary parts turned
    (:func:`_rotary`), the shared key expanded to every head; softmax(q·kᵀ·scale + mask)·v, then ``o_proj``."""
    c = node.layer.config()
    h, n, r, v, rank = c["heads"], c["nope_dim"], c["rope_dim"], c["v_dim"], c["kv_rank"]

    def project(inp: str, name: str, bias: bool) -> str:
        weight = b.op("Transpose", [b.weight(node, f"{name}.weight")], node, f"{name}_t", perm=[1, 0])
        product = b.op("MatMul", [inp, weight], node, name)
        return b.op("Add", [product, b.weight(node, f"{name}.bias")], node, f"{name}_biased") if bias else product

    def norm(inp: str, name: str) -> str:
        mean = b.op("ReduceMean", [b.op("Mul", [inp, inp], node, f"{name}_square")], node, f"{name}_mean",
                    axes=[-1], keepdims=1)
        rms = b.op("Sqrt", [b.op("Add", [mean, b.constant(node, f"{name}_eps", c["eps"])], node, f"{name}_plus_eps")],
                   node, f"{name}_rms")
        return b.op("Mul", [b.op("Div", [inp, rms], node, f"{name}_normal"), b.weight(node, f"{name}.weight")], node,
                    name)

    def heads(t: str, width: int, part: str) -> str:  # [N, T, h·width] → [N, h, T, width]
        shaped = b.op("Reshape", [t, _ints(b, node, f"{part}_shape", [0, 0, h, width])], node, f"{part}_heads")
        return b.op("Transpose", [shaped], node, f"{part}_t", perm=[0, 2, 1, 3])

    def piece(t: str, start: int, end: int, part: str, axis: int = 3) -> str:
        return b.op("Slice", [t, _ints(b, node, f"{part}_from", [start]), _ints(b, node, f"{part}_to", [end]),
                              _ints(b, node, f"{part}_axis", [axis])], node, part)

    if c["q_rank"] is None:
        q = project(x, "q_proj", False)
    else:
        q = project(norm(project(x, "q_a_proj", c["bias"]), "q_a_layernorm"), "q_b_proj", False)
    q = heads(q, n + r, "q")
    scaling = node.layer.rope_options()
    q_rot = _rotary(b, node, piece(q, n, n + r, "q_rope"), "q", c["rotary"], c["theta"], r, r, c["rotary_factor"],
                    **scaling)
    q = b.op("Concat", [piece(q, 0, n, "q_nope"), q_rot], node, "q_turned", axis=-1)
    latent = project(x, "kv_a_proj_with_mqa", c["bias"])
    kv = heads(project(norm(piece(latent, 0, rank, "latent", -1), "kv_a_layernorm"), "kv_b_proj", False), n + v, "kv")
    k_rot = b.op("Unsqueeze", [piece(latent, rank, rank + r, "k_rope", -1), _ints(b, node, "head_axis", [1])], node,
                 "k_rope_head")  # [N, 1, T, r]: one key for every head
    k_rot = b.op("Expand", [_rotary(b, node, k_rot, "k", c["rotary"], c["theta"], r, r, c["rotary_factor"],
                                    **scaling),
                            _ints(b, node, "every_head", [1, h, 1, 1])], node, "k_rope_heads")
    k = b.op("Concat", [piece(kv, 0, n, "k_nope"), k_rot], node, "k", axis=-1)
    scale = (n + r) ** -0.5 if c["scale"] is None else c["scale"]
    scores = b.op("Mul", [b.op("MatMul", [q, b.op("Transpose", [k], node, "k_transposed", perm=[0, 1, 3, 2])], node,
                               "products"), b.constant(node, "scale", scale)], node, "scores")
    if c["causal"]:
        scores = _causal(b, node, scores)
    weights = b.op("Softmax", [scores], node, "weights", axis=-1)
    mixed = b.op("MatMul", [weights, piece(kv, n, n + v, "v")], node, "mixed")
    out = b.op("Transpose", [mixed], node, "mixed_t", perm=[0, 2, 1, 3])
    out = b.op("Reshape", [out, _ints(b, node, "out_shape", [0, 0, h * v])], node, "heads_joined")
    return project(out, "o_proj", c["bias"])


@op_for("attention")
def attention(b: Builder, node: LayerNode | MergeNode, x: str | list[str]) -> str:
    """On q, k and v side by side (one input, sliced apart; with ``packing: heads`` viewed [N, T, kv, h/kv + 2, d]
    and each group's queries, key and value sliced apart) or from three branches."""
    layer, c = node.layer, node.layer.config()
    xs = x if isinstance(x, list) else [x]
    shapes = node.inputs if isinstance(node, MergeNode) else [node.in_shape]
    heads, kv, d = c["heads"], layer.groups, layer.head_size(shapes)
    if len(shapes[0]) > 2:  # sequences side by side: each a batch row, the output put back in their axes
        rows = [_rows(b, node, one, f"in{i}") for i, one in enumerate(xs)]
        return _unrows(b, node, _attention(b, node, rows if len(xs) > 1 else rows[0], c, heads, kv, d), xs[0],
                       heads * d)
    return _attention(b, node, x, c, heads, kv, d)


def _attention(b: Builder, node: LayerNode | MergeNode, x: str | list[str], c: dict, heads: int, kv: int,
               d: int) -> str:
    """:func:`attention` on [N, T, F] inputs."""
    xs = x if isinstance(x, list) else [x]
    if len(xs) == 1 and c["packing"] == "heads":
        g = heads // kv
        groups = b.op("Reshape", [x, _ints(b, node, "groups_shape", [0, 0, kv, g + 2, d])], node, "groups")
        axis, flat = _ints(b, node, "group_axis", [3]), _ints(b, node, "flat_shape", [0, 0, -1])
        bounds = [0, g, g + 1, g + 2]
        xs = [b.op("Reshape", [b.op("Slice", [groups, _ints(b, node, f"{name}_from", [bounds[i]]),
                                              _ints(b, node, f"{name}_to", [bounds[i + 1]]), axis], node,
                                    f"{name}_grouped"), flat], node, name) for i, name in enumerate("qkv")]
    elif len(xs) == 1:
        axis = _ints(b, node, "features", [-1])
        bounds = [0, heads * d, (heads + kv) * d, (heads + 2 * kv) * d]
        xs = [b.op("Slice", [x, _ints(b, node, f"{name}_from", [bounds[i]]), _ints(b, node, f"{name}_to",
                                                                                   [bounds[i + 1]]), axis],
                   node, name) for i, name in enumerate("qkv")]
    return _attend(b, node, *xs, c, heads, kv, d)


@op_for("multihead_attention")
def multihead_attention(b: Builder, node: LayerNode, x: str) -> str:
    """The q, k and v projections (``q_proj`` …), attention, and ``o_proj``, with torch's weights; ``layout: torch``
    is nn.MultiheadAttention's packed in_proj (:func:`_packed_attention`)."""
    layer, c = node.layer, node.layer.config()
    head_dim, out = layer.dims(node.in_shape)
    if len(node.in_shape) > 2:  # sequences side by side: each a batch row, the output put back in their axes
        return _unrows(b, node, _self_attention(b, node, _rows(b, node, x, "in"), c, head_dim), x, out)
    return _self_attention(b, node, x, c, head_dim)


def _self_attention(b: Builder, node: LayerNode, x: str, c: dict, head_dim: int) -> str:
    """:func:`multihead_attention` on an [N, T, D] input."""
    layer = node.layer
    if c["layout"] == "torch":
        return _packed_attention(b, node, x, c, head_dim)

    def project(inp: str, name: str, bias: bool) -> str:
        weight = b.op("Transpose", [b.weight(node, f"{name}.weight")], node, f"{name}_t", perm=[1, 0])
        product = b.op("MatMul", [inp, weight], node, name)
        return b.op("Add", [product, b.weight(node, f"{name}.bias")], node, f"{name}_biased") if bias else product

    q, k, v = (project(x, f"{p}_proj", c["bias"]) for p in "qkv")
    if c["qk_norm"] != "none":
        q, k = (_qk_norm(b, node, t, part, c, head_dim) for t, part in ((q, "q"), (k, "k")))
    y = _attend(b, node, q, k, v, c, c["heads"], layer.groups, head_dim)
    return project(y, "o_proj", layer.out_biased)


def _qk_norm(b: Builder, node: LayerNode, x: str, part: str, c: dict, head_dim: int) -> str:
    """``q_norm`` (or ``k_norm``): x/√(mean(x²) + eps)·γ (``qk_norm_kind: layernorm``: (x − mean)/√(var + eps)·γ
    + β) over all of x's features [N, T, h·d], or over each head's d of them (``qk_norm: head`` and
    ``per_head``, x viewed [N, T, h, d] and put back; ``per_head``'s γ [h, d], one row per head, stacked
    from StableLM's per-head norms)."""
    per_head = c["qk_norm"] in ("head", "per_head")
    if per_head:
        x = b.op("Reshape", [x, _ints(b, node, "per_head", [0, 0, -1, head_dim])], node, f"{part}_by_head")
    if c["qk_norm_kind"] == "layernorm":
        average = b.op("ReduceMean", [x], node, f"{part}_average", axes=[-1], keepdims=1)
        x = b.op("Sub", [x, average], node, f"{part}_centred")
    square = b.op("Mul", [x, x], node, f"{part}_square")
    mean = b.op("ReduceMean", [square], node, f"{part}_mean", axes=[-1], keepdims=1)
    rms = b.op("Sqrt", [b.op("Add", [mean, b.constant(node, "qk_eps", c["qk_norm_eps"])], node, f"{part}_plus_eps")],
               node, f"{part}_rms")
    biased = c["qk_norm_kind"] == "layernorm" and c["qk_norm_bias"]
    names = ["weight", "bias"] if biased else ["weight"]
    if c["qk_norm"] == "per_head" and c["qk_norm_layout"] == "stablelm":  # norms.0 …: each [d], stacked [h, d]
        heads = c["heads"] if part == "q" else node.layer.groups
        row = _ints(b, node, "norm_row", [1, head_dim])
        params = [b.op("Concat", [b.op("Reshape", [b.weight(node, f"{part}_layernorm.norms.{i}.{name}"), row], node,
                                       f"{part}_{name}_{i}") for i in range(heads)], node, f"{part}_{name}s", axis=0)
                  for name in names]
    else:
        params = [b.weight(node, f"{part}_norm.{name}") for name in names]
    scale = params[0]
    if c["qk_norm_offset"]:  # Gemma 3's offset + γ
        scale = b.op("Add", [scale, b.constant(node, "qk_offset", c["qk_norm_offset"])], node, f"{part}_scale")
    normed = b.op("Mul", [b.op("Div", [x, rms], node, f"{part}_normal"), scale], node, f"{part}_normed")
    if biased:
        normed = b.op("Add", [normed, params[1]], node, f"{part}_shifted")
    if per_head:
        normed = b.op("Reshape", [normed, _ints(b, node, "joined", [0, 0, -1])], node, f"{part}_joined")
    return normed


def _packed_attention(b: Builder, node: LayerNode, x: str, c: dict, head_dim: int) -> str:
    """nn.MultiheadAttention's self-attention: x·in_proj_weightᵀ + in_proj_bias gives q, k and v side by
    side ([N, T, 3D], sliced apart), attention with D/heads per head, then ``out_proj``."""
    heads, dim = c["heads"], node.in_shape[-1]
    weight = b.op("Transpose", [b.weight(node, "in_proj_weight")], node, "in_proj_t", perm=[1, 0])
    packed = b.op("MatMul", [x, weight], node, "in_proj")
    if c["bias"]:
        packed = b.op("Add", [packed, b.weight(node, "in_proj_bias")], node, "in_proj_biased")
    axis = _ints(b, node, "features", [-1])
    q, k, v = (b.op("Slice", [packed, _ints(b, node, f"{name}_from", [i * dim]), _ints(b, node, f"{name}_to",
                                                                                     [(i + 1) * dim]), axis],
                    node, name) for i, name in enumerate("qkv"))
    y = _attend(b, node, q, k, v, c, heads, heads, head_dim)
    out = b.op("MatMul", [y, b.op("Transpose", [b.weight(node, "out_proj.weight")], node, "out_proj_t",
                                  perm=[1, 0])], node, "out_proj")
    return b.op("Add", [out, b.weight(node, "out_proj.bias")], node, "out_proj_biased") if c["bias"] else out


@op_for("embedding")
def embedding(b: Builder, node: LayerNode, x: str) -> str:
    """Gather the ids' rows of the table (the model's input is int64 ids); a tied table is its owner's."""
    table = b.tied(node) if node.layer.config().get("tie") else b.weight(node, "weight")
    if node.layer.scale is None:
        return b.op("Gather", [table, x], node, axis=0)
    rows = b.op("Gather", [table, x], node, "rows", axis=0)
    return b.op("Mul", [rows, b.constant(node, "scale", node.layer.scale)], node)  # Gemma's √dim


@op_for("pos_embedding")
def pos_embedding(b: Builder, node: LayerNode, x: str) -> str:
    """Rows 0 … T−1 (or row 0; rows k … k + T − 1 with an offset k) of the table, T read from the input, expanded
    to [N, T, D], or with ``add``
    added to the input: the sequence length stays free. With ``padding_idx`` the rows are counted from the
    ids (``CumSum`` of the non-padding mask, RoBERTa's positions) and gathered."""
    pad = node.layer.padding_idx
    if pad is not None:  # RoBERTa's rows from the ids: cumsum of the non-padding mask, times it, plus padding_idx
        ids = b.op("Cast", [x], node, "ids", to=7)  # 7: INT64; the model's ids already (a no-op), or whole numbers
        mask = b.op("Cast", [b.op("Not", [b.op("Equal", [ids, b.constant(node, "padding_idx", pad, dtype=np.int64)],
                                               node, "is_padding")], node, "not_padding")], node, "mask", to=7)
        counted = b.op("CumSum", [mask, b.constant(node, "axis1", 1, dtype=np.int64)], node, "counted")
        rows = b.op("Add", [b.op("Mul", [counted, mask], node, "kept"), b.constant(node, "offset", pad,
                                                                                    dtype=np.int64)], node, "rows")
        return b.op("Gather", [b.weight(node, "weight"), rows], node, axis=0)
    zero = b.constant(node, "zero", [0], dtype=np.int64)
    if node.layer.config()["add"]:  # torchvision ViT's x + pos_embedding[:, :T], the [1, P, D] table bare
        length = b.op("Shape", [x], node, "length", start=1, end=2)
        one = b.constant(node, "axis1", [1], dtype=np.int64)
        rows = b.op("Slice", [b.weight(node, None), zero, length, one], node, "rows")
        return b.op("Add", [x, rows], node)
    end = b.constant(node, "one", [1], dtype=np.int64) if node.layer.index == "first" else \
        b.op("Shape", [x], node, "length", start=1, end=2)
    start = zero
    if node.layer.offset:  # OPT's rows offset … offset + T − 1
        start = b.constant(node, "offset", [node.layer.offset], dtype=np.int64)
        end = b.op("Add", [end, start], node, "end")
    rows = b.op("Slice", [b.weight(node, "weight"), start, end, zero], node, "rows")
    size = b.op("Concat", [b.op("Shape", [x], node, "batch_length", start=0, end=2),
                           b.constant(node, "dim", [node.layer.dim], dtype=np.int64)], node, "size", axis=0)
    return b.op("Expand", [rows, size], node)


@op_for("global_avgpool1d", "global_avgpool2d", "global_avgpool3d")
def global_avgpool2d(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Flatten", [b.op("GlobalAveragePool", [x], node, "pool")], node, axis=1)


@op_for("linear")
def linear(b: Builder, node: LayerNode, x: str) -> str:
    """``Gemm(transB=1)`` on a flat input; on [..., D_i] inputs ``MatMul`` with the transposed weight, or
    with the weight as it is when it is stored [D_i, D] (``transposed``). A tied weight is its owner's
    initialiser, written once."""
    c = node.layer.config()
    bias = [b.weight(node, "bias")] if c["bias"] else []
    weight = b.tied(node) if c["tie"] else b.weight(node, "weight")
    if len(node.in_shape) == 1:
        return b.op("Gemm", [x, weight, *bias], node, transB=0 if c["transposed"] else 1)
    if not c["transposed"]:
        weight = b.op("Transpose", [weight], node, "weight_t", perm=[1, 0])
    product = b.op("MatMul", [x, weight], node, "matmul" if bias else "")
    return b.op("Add", [product, *bias], node) if bias else product


@op_for("maxpool1d", "maxpool2d", "maxpool3d")
def maxpool2d(b: Builder, node: LayerNode, x: str) -> str:
    c = node.layer.config()
    return b.op("MaxPool", [x], node, dilations=list(c["dilation"]), **_window(b, node, "max"))


@op_for("softmax")
def softmax(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Softmax", [x], node, axis=node.layer.axis(node.in_shape) + 1)




@op_for("glu")
def glu(b: Builder, node: LayerNode, x: str) -> str:
    """``Split`` into two halves along the axis, then value·act(gate) (ONNX has no GLU op): a·Sigmoid(b), or the
    layer's gate function, on the first half with ``gate: first``."""
    layer = node.layer
    axis = layer.axis(node.in_shape) + 1
    half = node.out_shape[axis - 1]
    first, second = b.name(f"{b.paths[node]}/a"), b.name(f"{b.paths[node]}/b")
    sizes = b.constant(node, "split", [half, half], dtype=np.int64)
    b.nodes.append(helper.make_node("Split", [x, sizes], [first, second], name=first, axis=axis))
    value, gate = (second, first) if layer.gate == "first" else (first, second)
    return b.op("Mul", [value, _gate(b, node, gate, layer.activation)], node)


def _gate(b: Builder, node: LayerNode, gate: str, activation: str) -> str:
    """A gate function (``glu``'s and ``moe``'s ``activation``) on the tensor ``gate``."""
    if activation in ("gelu", "gelu_tanh"):
        return _gelu(b, node, gate, activation == "gelu_tanh")
    if activation == "silu":
        return b.op("Mul", [gate, b.op("Sigmoid", [gate], node, "sigmoid")], node, "gate")
    return b.op({"sigmoid": "Sigmoid", "relu": "Relu", "tanh": "Tanh"}[activation], [gate], node, "gate")


@op_for("moe")
def moe(b: Builder, node: LayerNode, x: str) -> str:
    """The routing as torch computes it (MatMul by the router's weight, Softmax, TopK, the kept weights
    rescaled), scattered into a dense [..., E] weight per token (zero outside its top k); then every expert
    on every token, [..., E, D], weighted and summed over E. The same result as the sparse loop, computed
    densely: ONNX has no cheap per-expert gather, and the graph stays static."""
    layer = node.layer
    f = layer.hidden

    def axes(part: str, *values: int) -> str:
        return b.constant(node, part, list(values), dtype=np.int64)

    router = b.op("Transpose", [b.weight(node, f"{layer.router}.weight")], node, "gate_t", perm=[1, 0])
    logits = b.op("MatMul", [x, router], node, "logits")
    if layer.scoring == "sigmoid":
        probs = b.op("Sigmoid", [logits], node, "probs")
    else:
        probs = b.op("Softmax", [logits], node, "probs", axis=-1)
    choice = _choice(b, node, probs)
    kept, chosen = b.name(f"{b.paths[node]}/kept"), b.name(f"{b.paths[node]}/chosen")
    b.nodes.append(helper.make_node("TopK", [choice, axes("k", layer.top_k)], [kept, chosen], name=kept, axis=-1))
    if choice != probs:  # the weights are the unbiased scores of the experts chosen
        kept = b.op("GatherElements", [probs, chosen], node, "kept_scores", axis=-1)
    if layer.normalize:
        total = b.op("ReduceSum", [kept, axes("sum_axis", -1)], node, "total", keepdims=1)
        if layer.scoring == "sigmoid":  # DeepSeek-V3's + 1e-20
            total = b.op("Add", [total, b.constant(node, "tiny", 1e-20)], node, "total_tiny")
        kept = b.op("Div", [kept, total], node, "normalized")
    if layer.scaling != 1.0:
        kept = b.op("Mul", [kept, b.constant(node, "scaling", layer.scaling)], node, "scaled")
    zeros = b.op("ConstantOfShape", [b.op("Shape", [probs], node, "probs_shape")], node, "zeros",
                 value=helper.make_tensor("zero", 1, [1], [0.0]))
    weights = b.op("ScatterElements", [zeros, chosen, kept], node, "weights", axis=-1)  # [..., E]
    # x as [..., 1, 1, D]: a (1, D) matrix per token, broadcast against the E experts' weights
    rows = b.op("Unsqueeze", [x, axes("row_axes", -3, -2)], node, "rows")
    gate_up = b.op("Transpose", [b.weight(node, "experts.gate_up_proj")], node, "gate_up_t", perm=[0, 2, 1])
    h = b.op("MatMul", [rows, gate_up], node, "gate_up")  # [..., E, 1, 2F]
    gate, up = b.name(f"{b.paths[node]}/gate"), b.name(f"{b.paths[node]}/up")
    b.nodes.append(helper.make_node("Split", [h, axes("split", f, f)], [gate, up], name=gate, axis=-1))
    inner = b.op("Mul", [_gate(b, node, gate, layer.activation), up], node, "inner")
    down = b.op("Transpose", [b.weight(node, "experts.down_proj")], node, "down_t", perm=[0, 2, 1])
    out = b.op("Squeeze", [b.op("MatMul", [inner, down], node, "down"), axes("squeeze", -2)], node, "experts")
    scale = b.op("Unsqueeze", [weights, axes("weight_axis", -1)], node, "scale")  # [..., E, 1]
    routed = b.op("ReduceSum", [b.op("Mul", [out, scale], node, "weighted"), axes("expert_axis", -2)], node,
                  "routed" if layer.shared is not None else "", keepdims=0)
    if layer.shared is None:
        return routed

    def project(name: str, t: str) -> str:  # a bias-free linear layer of the shared expert: t · Wᵀ
        weight = b.op("Transpose", [b.weight(node, f"{name}.weight")], node, f"{name}_t", perm=[1, 0])
        return b.op("MatMul", [t, weight], node, name)

    if not layer.shared_gate:  # DeepSeek's shared_experts, added as they are
        gated = b.op("Mul", [_gate(b, node, project("shared_experts.gate_proj", x), layer.activation),
                             project("shared_experts.up_proj", x)], node, "shared_inner")
        return b.op("Add", [routed, project("shared_experts.down_proj", gated)], node)
    gated = b.op("Mul", [_gate(b, node, project("shared_expert.gate_proj", x), layer.activation),
                         project("shared_expert.up_proj", x)], node, "shared_inner")
    shared = project("shared_expert.down_proj", gated)
    sigmoid = b.op("Sigmoid", [project("shared_expert_gate", x)], node, "shared_sigmoid")
    return b.op("Add", [routed, b.op("Mul", [sigmoid, shared], node, "shared")], node)


def _choice(b: Builder, node: LayerNode, probs: str) -> str:
    """The scores the experts are chosen by: ``probs`` plus the correction bias, and with ``groups`` those of
    the experts outside the ``top_groups`` best groups at −∞ (a group's score its two best experts' sum, or its
    best); ``probs`` itself for Mixtral's routing."""
    layer = node.layer
    choice = probs
    if layer.correction_bias:
        choice = b.op("Add", [probs, b.weight(node, f"{layer.router}.e_score_correction_bias")], node, "choice")
    if layer.groups is None:
        return choice
    g = layer.groups
    lead = b.op("Shape", [choice], node, "lead", end=-1)
    grouped_shape = b.op("Concat", [lead, _ints(b, node, "group_sizes", [g, layer.experts // g])], node,
                         "grouped_shape", axis=0)
    grouped = b.op("Reshape", [choice, grouped_shape], node, "grouped")
    if layer.group_score == "top2":
        best2, index2 = b.name(f"{b.paths[node]}/best2"), b.name(f"{b.paths[node]}/best2_index")
        b.nodes.append(helper.make_node("TopK", [grouped, _ints(b, node, "two", [2])], [best2, index2], name=best2,
                                        axis=-1))
        best = b.op("ReduceSum", [best2, _ints(b, node, "pair_axis", [-1])], node, "group_scores", keepdims=0)
    else:
        best = b.op("ReduceMax", [grouped], node, "group_scores", axes=[-1], keepdims=0)
    top, kept = b.name(f"{b.paths[node]}/top_groups"), b.name(f"{b.paths[node]}/kept_groups")
    b.nodes.append(helper.make_node("TopK", [best, _ints(b, node, "top_groups", [layer.top_groups or g])],
                                    [top, kept], name=top, axis=-1))
    one = helper.make_tensor("one", 1, [1], [1.0])
    zeros = b.op("ConstantOfShape", [b.op("Shape", [best], node, "groups_shape")], node, "no_groups",
                 value=helper.make_tensor("zero", 1, [1], [0.0]))
    ones = b.op("ConstantOfShape", [b.op("Shape", [kept], node, "kept_shape")], node, "kept_ones", value=one)
    mask = b.op("ScatterElements", [zeros, kept, ones], node, "group_mask", axis=-1)
    mask = b.op("Expand", [b.op("Unsqueeze", [mask, _ints(b, node, "member_axis", [-1])], node, "group_column"),
                           b.op("Shape", [grouped], node, "grouped_size")], node, "member_mask")
    mask = b.op("Cast", [b.op("Reshape", [mask, b.op("Shape", [choice], node, "choice_shape")], node, "expert_mask")],
                node, "allowed", to=9)  # 9: BOOL
    return b.op("Where", [mask, choice, b.constant(node, "minus_inf", -np.inf)], node, "limited")


@op_for("log_softmax")
def log_softmax(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("LogSoftmax", [x], node, axis=node.layer.axis(node.in_shape) + 1)


#: kind → (ONNX op, where each of ONNX's gate blocks is in torch's weights): ONNX's LSTM stacks the gates
#: i, o, f, c and torch's nn.LSTM i, f, g, o; ONNX's GRU z, r, h and torch's nn.GRU r, z, n
RECURRENT = {"lstm": ("LSTM", (0, 3, 1, 2)), "gru": ("GRU", (1, 0, 2)), "rnn": ("RNN", (0,))}


@op_for("lstm", "gru", "rnn")
def recurrent(b: Builder, node: LayerNode, x: str) -> str:
    """One ONNX LSTM, GRU or RNN op per layer (ONNX's ops have one layer each), on [T, N, F] (layout 0):
    torch's weights with their gate blocks reordered, both directions stacked, the two biases side by
    side; GRU with ``linear_before_reset`` (torch applies the reset gate after the hidden product).
    Each layer's [T, D, N, h] output becomes the next one's [T, N, D·h] input."""
    layer = node.layer
    if layer.kind == "lstm" and layer.proj_size:
        raise SpecError(layer.arg_locs.get("proj_size", node.loc), "lstm: ONNX's LSTM has no projection of the "
                        "hidden state (proj_size)", code="export-unsupported",
                        hint="export it --to torch or --to numpy, or drop proj_size")
    op_type, order = RECURRENT[layer.kind]
    h, d = layer.hidden, layer.directions

    def blocks(array: np.ndarray) -> np.ndarray:
        parts = np.split(np.asarray(array, dtype=np.float32), len(order))
        return np.concatenate([parts[i] for i in order])

    attributes: dict[str, object] = {"hidden_size": h, "direction": "bidirectional" if d == 2 else "forward"}
    if layer.kind == "gru":
        attributes["linear_before_reset"] = 1
    if layer.kind == "rnn":
        attributes["activations"] = ["Relu" if layer.nonlinearity == "relu" else "Tanh"] * d
    y = b.op("Transpose", [x], node, "time_major", perm=[1, 0, 2])
    hidden = ""
    for n in range(layer.num_layers):
        suffixes = ["", "_reverse"][:d]
        stacked = {name: np.stack([blocks(b.weights[f"{b.paths[node]}.{name}_l{n}{s}"]) for s in suffixes])
                   for name in (["weight_ih", "weight_hh"] + (["bias_ih", "bias_hh"] if layer.bias else []))}
        inputs = [y, b.constant(node, f"W{n}", stacked["weight_ih"]), b.constant(node, f"R{n}", stacked["weight_hh"])]
        if layer.bias:
            inputs.append(b.constant(node, f"B{n}", np.concatenate([stacked["bias_ih"], stacked["bias_hh"]], axis=1)))
        out, hidden = b.name(f"{b.paths[node]}/Y{n}"), b.name(f"{b.paths[node]}/Y_h{n}")
        b.nodes.append(helper.make_node(op_type, inputs, [out, hidden], name=out, **attributes))
        y = b.op("Transpose", [out], node, f"steps{n}", perm=[0, 2, 1, 3])  # [T, N, D, h]
        y = b.op("Reshape", [y, b.constant(node, f"shape{n}", [0, 0, -1], dtype=np.int64)], node, f"layer{n}")
    if layer.output == "hidden":  # h_n [D, N, h] → [N, D·h], forward then backward
        last = b.op("Transpose", [hidden], node, "h_n", perm=[1, 0, 2])
        return b.op("Reshape", [last, b.constant(node, "h_shape", [0, -1], dtype=np.int64)], node)
    if layer.output == "last":
        return b.op("Gather", [y, b.constant(node, "last", -1, dtype=np.int64)], node, axis=0)
    return b.op("Transpose", [y], node, perm=[1, 0, 2])
