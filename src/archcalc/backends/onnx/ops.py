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


@op_for("gelu")
def gelu(b: Builder, node: LayerNode, x: str) -> str:
    """Opset 17 has no Gelu: x·Φ(x) = x/2·(1 + erf(x/√2)), or the tanh form torch uses for 'tanh'."""
    if node.layer.config()["approximate"] == "tanh":
        cube = b.op("Mul", [b.op("Mul", [x, x], node, "square"), x], node, "cube")
        inner = b.op("Add", [x, b.op("Mul", [cube, b.constant(node, "c", 0.044715)], node, "scaled")], node, "sum")
        scaled = b.op("Mul", [inner, b.constant(node, "sqrt_2_over_pi", math.sqrt(2 / math.pi))], node, "arg")
        shape = b.op("Tanh", [scaled], node, "tanh")
    else:
        shape = b.op("Erf", [b.op("Div", [x, b.constant(node, "sqrt2", math.sqrt(2))], node, "arg")], node, "erf")
    one_plus = b.op("Add", [shape, b.constant(node, "one", 1.0)], node, "one_plus")
    half_x = b.op("Mul", [x, b.constant(node, "half", 0.5)], node, "half_x")
    return b.op("Mul", [half_x, one_plus], node)


@op_for("step")
def step(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Sign", [x], node)


@op_for("identity")
def identity(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Identity", [x], node)


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


@op_for("batchnorm1d", "batchnorm2d")
def batchnorm(b: Builder, node: LayerNode, x: str) -> str:
    """Evaluation mode: the running statistics. ONNX's momentum weighs the old value (torch's 1 − m)."""
    c = node.layer.config()
    channels = node.in_shape[0]
    scale = b.weight(node, "weight") if c["affine"] else b.constant(node, "scale", [1.0] * channels)
    shift = b.weight(node, "bias") if c["affine"] else b.constant(node, "shift", [0.0] * channels)
    return b.op("BatchNormalization", [x, scale, shift, b.weight(node, "running_mean"),
                                       b.weight(node, "running_var")], node, epsilon=c["eps"],
                momentum=1 - c["momentum"])


@op_for("conv1d", "conv2d", "conv3d")
def conv(b: Builder, node: LayerNode, x: str) -> str:
    c = node.layer.config()
    begin, end = _pads(node)
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


@op_for("dropout")
def dropout(b: Builder, node: LayerNode, x: str) -> str:
    """Identity at inference, written as ``Identity`` named after the layer: onnxruntime refuses a
    Dropout ratio of 1, which PyTorch (and a spec) allow, and the exported graph never trains."""
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


@op_for("global_avgpool1d", "global_avgpool2d", "global_avgpool3d")
def global_avgpool2d(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Flatten", [b.op("GlobalAveragePool", [x], node, "pool")], node, axis=1)


@op_for("linear")
def linear(b: Builder, node: LayerNode, x: str) -> str:
    """``Gemm(transB=1)`` on a flat input; on [..., D_i] inputs ``MatMul`` with the transposed weight."""
    bias = [b.weight(node, "bias")] if node.layer.config()["bias"] else []
    if len(node.in_shape) == 1:
        return b.op("Gemm", [x, b.weight(node, "weight"), *bias], node, transB=1)
    weight = b.op("Transpose", [b.weight(node, "weight")], node, "weight_t", perm=[1, 0])
    product = b.op("MatMul", [x, weight], node, "matmul" if bias else "")
    return b.op("Add", [product, *bias], node) if bias else product


@op_for("maxpool1d", "maxpool2d", "maxpool3d")
def maxpool2d(b: Builder, node: LayerNode, x: str) -> str:
    c = node.layer.config()
    return b.op("MaxPool", [x], node, dilations=list(c["dilation"]), **_window(b, node, "max"))


@op_for("softmax")
def softmax(b: Builder, node: LayerNode, x: str) -> str:
    return b.op("Softmax", [x], node, axis=node.layer.axis(node.in_shape) + 1)




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
        raise SpecError(layer.arg_locs.get("proj_size", node.loc), "lstm: a projection (proj_size) has no ONNX "
                        "LSTM attribute, which ONNX cannot express", code="export-unsupported",
                        hint="export it --to torch, or drop proj_size")
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
