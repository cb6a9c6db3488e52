"""A PyTorch model → a readable spec, by tracing it with ``torch.fx`` one module at a time.

Each module is traced with its children left as calls (``torch.fx``'s leaf modules), so its own
``forward`` becomes a small graph of calls to children and to functions (``torch.cat``, ``+``,
``F.relu``). Where the graph is series-parallel — a chain, or branches from one value merged by ``+``,
``*`` or ``torch.cat`` — it is written as the spec's sequence, ``residual`` and merge constructs;
children become layers named as the model names its attributes (``layer1.0.conv1``), so the model's
``state_dict`` loads into ``archcalc.to_torch(spec)`` with ``strict=True``. Modules of one class whose
layers differ only in numbers become one block with those numbers as parameters, and runs of equal
uses become ``repeat``.

A parameter the model shares between modules (a tied weight, a module called twice), which torch counts
once, is the spec's ``tie:`` where the spec can say it (a linear layer's or an embedding's weight).

What cannot be written this way (an unknown module or function, a graph that is not series-parallel,
other sharing, parameters ``forward`` never uses) is an error located at the module's class in
its source file, and nothing is written. Only this module imports torch; it is loaded only by
``archcalc import`` of a model (never for a ``config.json``).
"""

from __future__ import annotations

import inspect
import math
import numbers
import operator
import re
import textwrap
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
import yaml
from torch import fx, nn
from torch.overrides import TorchFunctionMode

from archcalc.errors import Loc, SpecError
from archcalc.layers import LAYERS
from archcalc.layers.base import Layer as ArchLayer
from archcalc.layers.moe import ROUTING
from archcalc.layers.pad import MODES

if TYPE_CHECKING:
    from archcalc.model import Model

# -- the spec as data: what the writer prints -------------------------------------------------------


@dataclass
class Default:
    """An argument's value beside the kind's default: written only when they differ, but compared with
    other modules' values either way (a block's stride is 1 in one use and 2 in another)."""

    value: object
    default: object


@dataclass
class Layer:
    kind: str
    args: dict[str, object]  # every value; a Default where the kind has one
    name: str | None = None
    #: its parameters' requires_grad: True when every one is False (``trainable: false``), False when they learn
    #: or its group carries the setting (:func:`lift_frozen`), None for a layer without parameters
    frozen: bool | None = None

    def written(self) -> dict[str, object]:
        """The arguments as the spec writes them: those that differ from the kind's default."""
        return {k: v.value if isinstance(v, Default) else v for k, v in self.args.items()
                if not (isinstance(v, Default) and v.value == v.default)}


@dataclass
class Group:
    name: str | None
    items: list[Item]
    cls: type | None = None  # the module class it was traced from, for blocks
    frozen: bool = False  # every parameter inside requires no grad: written once, trainable: false on the group


@dataclass
class Merge:
    kind: str  # add, multiply, concat; a residual is an add with an empty branch
    branches: list[list[Item]]
    args: dict[str, object] = field(default_factory=dict)
    sources: list[str | None] = field(default_factory=list)  # per branch: the path it starts from (from:), or None
    name: str | None = None  # an inline merge's own name: where a from: reads its output


@dataclass
class Use:
    """A use of a block: ``block`` with its arguments, ``name`` its attribute."""

    block: str
    args: list[object]
    name: str | None
    count: int = 1  # a run of equal uses, written as repeat
    params: list[str] = field(default_factory=list)  # the block's parameters, which name the arguments
    frozen: bool = False  # the group it replaces was: trainable: false on the use


@dataclass
class Repeat:
    """Copies of one body told apart by a number in one name (``denselayer1``, ``denselayer2``, …): ``repeat``
    with an ``index``, the name written ``denselayer{i + 1}``."""

    count: int
    items: list[Item]


Item = Layer | Group | Merge | Use | Repeat


def module_error(module: nn.Module, message: str, hint: str | None = None, at: object = None) -> SpecError:
    """An error located at ``module``'s class (or ``at``, its forward) in its source file (the user's model)."""
    cls = type(module)
    try:
        path, line = inspect.getsourcefile(at or cls) or "<model>", inspect.getsourcelines(at or cls)[1]
    except (OSError, TypeError):
        path, line = "<model>", 1
    return SpecError(Loc(path, line, 1), f"{cls.__module__}.{cls.__qualname__}: {message}",
                     code="unsupported-model", hint=hint)


# -- leaf modules: torch.nn → a layer kind ------------------------------------------------------------


def _pair(v: object) -> object:
    """A size as the spec writes it: 3 for (3, 3), [3, 5] otherwise."""
    if isinstance(v, (tuple, list)):
        return v[0] if len(set(v)) == 1 else list(v)
    return v


def _args(**pairs: tuple[object, object]) -> dict[str, Default]:
    """``name=(value, default)`` → the arguments, each with its default (:class:`Default`)."""
    return {k: Default(v, default) for k, (v, default) in pairs.items()}


def _conv(m: nn.Conv1d | nn.Conv2d | nn.Conv3d) -> Layer:
    padding = m.padding if isinstance(m.padding, str) else _pair(m.padding)
    rank = len(m.kernel_size)
    return Layer(f"conv{rank}d", {"out": m.out_channels, "kernel": _pair(m.kernel_size),
                                  **_args(stride=(_pair(m.stride), 1), padding=(padding, 0),
                                          dilation=(_pair(m.dilation), 1), groups=(m.groups, 1),
                                          bias=(m.bias is not None, True),
                                          padding_mode=(m.padding_mode, "zeros"))})


def _batchnorm(m: nn.BatchNorm1d | nn.BatchNorm2d | nn.BatchNorm3d) -> Layer:
    if not m.track_running_stats:
        raise module_error(m, "batch norm without running statistics has no spec form")
    kind = {nn.BatchNorm1d: "batchnorm1d", nn.BatchNorm3d: "batchnorm3d"}.get(type(m), "batchnorm2d")
    return Layer(kind, _args(eps=(m.eps, 1e-5), momentum=(m.momentum, 0.1), affine=(m.affine, True)))


def _instancenorm(m: nn.InstanceNorm1d | nn.InstanceNorm2d | nn.InstanceNorm3d) -> Layer:
    # unlike batch norm's (a cumulative average), instance norm's momentum=None is 0: torch passes
    # ``momentum if momentum is not None else 0.0`` (the running statistics never move)
    momentum = 0.0 if m.momentum is None else m.momentum
    kind = {nn.InstanceNorm1d: "instancenorm1d", nn.InstanceNorm3d: "instancenorm3d"}.get(type(m), "instancenorm2d")
    return Layer(kind, _args(eps=(m.eps, 1e-5), momentum=(momentum, 0.1), affine=(m.affine, False),
                             track_running_stats=(m.track_running_stats, False)))


def _pool(kind: str) -> Callable[[nn.Module], Layer]:
    """``nn.MaxPool1d/2d/3d`` and ``nn.AvgPool1d/2d/3d`` as ``kind`` (``maxpool1d`` …)."""
    def make(m: nn.Module) -> Layer:
        kernel, stride = _pair(m.kernel_size), _pair(m.stride)
        args = {"kernel": kernel, **_args(stride=(stride, kernel), padding=(_pair(m.padding), 0),
                                         ceil_mode=(m.ceil_mode, False))}
        if kind.startswith("maxpool"):
            args.update(_args(dilation=(_pair(m.dilation), 1)))
            if m.return_indices:
                raise module_error(m, "a pool that returns its indices has no spec form")
        else:
            args.update(_args(count_include_pad=(m.count_include_pad, True)))
            if getattr(m, "divisor_override", None) is not None:  # (AvgPool1d has none)
                raise module_error(m, "divisor_override has no spec form")
        return Layer(kind, args)
    return make


def _adaptive(m: nn.AdaptiveAvgPool1d | nn.AdaptiveAvgPool2d | nn.AdaptiveAvgPool3d) -> Layer:
    size = m.output_size
    if (isinstance(size, (tuple, list)) and None in size) or size is None:
        raise module_error(m, "an adaptive pool that keeps an axis (None) has no spec form")
    kind = {nn.AdaptiveAvgPool1d: "adaptive_avgpool1d", nn.AdaptiveAvgPool3d: "adaptive_avgpool3d"}.get(
        type(m), "adaptive_avgpool2d")
    return Layer(kind, {"out": _pair(size)})


def _normalising(kind: str) -> Callable[[nn.Softmax | nn.LogSoftmax], Layer]:
    """``nn.Softmax(dim)``, ``nn.LogSoftmax(dim)`` as ``softmax``, ``log_softmax`` over that axis (counted after
    the batch); torch's implicit dim (None, deprecated: it depends on the input's rank) and the batch axis are
    refused."""
    def make(m: nn.Softmax | nn.LogSoftmax) -> Layer:
        if m.dim is None or m.dim == 0:
            what = "an implicit dim (None)" if m.dim is None else "dim=0, the batch axis"
            raise module_error(m, f"{type(m).__name__} over {what} has no spec form", "give the axis: dim=1 or -1")
        return Layer(kind, _args(dim=(_spec_axis(m.dim), 0)))
    return make


def _scale_value(v: object) -> object:
    """torch's float scale factors as the spec writes them: 2 for 2.0, [2, 3] for (2.0, 3.0)."""
    if isinstance(v, (tuple, list)):
        v = [_scale_value(x) for x in v]
        return v[0] if len(set(v)) == 1 else v
    return int(v) if isinstance(v, float) and v.is_integer() else v


#: the interpolation modes archcalc's upsample has (torch's bicubic, area and nearest-exact it has not)
UPSAMPLE_MODES = ("nearest", "linear", "bilinear", "trilinear")


def _resize(owner: nn.Module, size: object, scale: object, mode: str, align_corners: object,
            recompute: object = None, antialias: bool = False) -> Layer:
    """``nn.Upsample`` and ``F.interpolate`` as ``upsample``, refused (at ``owner``) in what it lacks."""
    if mode not in UPSAMPLE_MODES:
        raise module_error(owner, f"interpolation mode {mode!r} has no spec form",
                           f"archcalc's upsample interpolates in {', '.join(UPSAMPLE_MODES)}")
    if recompute or antialias:
        flag = "recompute_scale_factor" if recompute else "antialias"
        raise module_error(owner, f"an interpolation with {flag}=True has no spec form", f"leave {flag} out")
    if not all(isinstance(v, (int, float, tuple, list, type(None))) for v in (size, scale)):
        raise module_error(owner, "an interpolation to a size computed in forward has no spec form",
                           "give a fixed size or scale_factor")
    args: dict[str, object] = {"scale": _scale_value(scale)} if scale is not None else {"size": _pair(size)}
    return Layer("upsample", {**args, **_args(mode=(mode, "nearest"), align_corners=(bool(align_corners), False))})


def _upsample(m: nn.Upsample) -> Layer:
    return _resize(m, m.size, m.scale_factor, m.mode, m.align_corners, m.recompute_scale_factor)


def _hardtanh(m: nn.Hardtanh) -> Layer:
    """``nn.Hardtanh(0, 6)`` is ReLU6, which archcalc has; other bounds it has not."""
    if (m.min_val, m.max_val) != (0.0, 6.0):
        raise module_error(m, f"Hardtanh({m.min_val:g}, {m.max_val:g}) has no spec form",
                           "archcalc clips only as relu6 does: Hardtanh(0, 6)")
    return Layer("relu6", {})


def _rmsnorm(m: nn.RMSNorm) -> Layer:
    return Layer("rmsnorm", _args(axes=(len(m.normalized_shape), 1), eps=(m.eps, None),
                                  affine=(m.elementwise_affine, True)))


def _flatten(m: nn.Flatten) -> Layer:
    if m.start_dim < 1:
        raise module_error(m, "flattening the batch axis has no spec form")
    return Layer("flatten", _args(start=(m.start_dim - 1, 0), end=(m.end_dim - 1 if m.end_dim > 0 else m.end_dim, -1)))


def _simple(kind: str, **attrs: tuple[str, object]) -> Callable[[nn.Module], Layer]:
    """A kind whose arguments are attributes of the module: ``arg=(attribute, default)``."""
    return lambda m: Layer(kind, _args(**{k: (getattr(m, a), d) for k, (a, d) in attrs.items()}))


def _layernorm(m: nn.LayerNorm) -> Layer:
    return Layer("layernorm", _args(axes=(len(m.normalized_shape), 1), eps=(m.eps, 1e-5),
                                    affine=(m.elementwise_affine, True),
                                    bias=(getattr(m, "bias", None) is not None or not m.elementwise_affine, True)))


def _dropout(m: nn.Dropout) -> Layer:
    return Layer("dropout", _args(p=(m.p, 0.5)))


def _channel_dropout(m: nn.Dropout1d | nn.Dropout2d | nn.Dropout3d) -> Layer:
    kind = {nn.Dropout1d: "dropout1d", nn.Dropout3d: "dropout3d"}.get(type(m), "dropout2d")
    return Layer(kind, _args(p=(m.p, 0.5)))


def _stochastic_depth(m: nn.Module) -> Layer:
    return Layer("stochastic_depth", {"p": m.p, **_args(mode=(m.mode, "row"))})


def _pad(m: nn.ZeroPad1d | nn.ConstantPad1d) -> Layer:
    """``nn.ZeroPad*d`` and ``nn.ConstantPad*d``: torch's amounts as they are (the last axis first)."""
    return Layer("pad", {"padding": list(m.padding), **_args(value=(float(m.value), 0.0))})


def _copying_pad(mode: str) -> Callable[[nn.Module], Layer]:
    """``nn.ReflectionPad*d``, ``nn.ReplicationPad*d``, ``nn.CircularPad*d``: ``pad`` in that mode, torch's
    amounts as they are."""
    return lambda m: Layer("pad", {"padding": list(m.padding), "mode": mode})


def _embedding(m: nn.Embedding) -> Layer:
    """``nn.Embedding``: the table and its padding row, all archcalc's ``embedding`` has. ``max_norm`` rewrites
    the rows it looks up in place (another forward), and ``scale_grad_by_freq`` and ``sparse`` train otherwise
    than the spec's layer: refused, not left out quietly."""
    if m.max_norm is not None:
        raise module_error(m, f"max_norm={m.max_norm:g} (the rows looked up renormalised in place) has no spec form",
                           "build it with max_norm=None")
    for flag in ("scale_grad_by_freq", "sparse"):
        if getattr(m, flag):
            raise module_error(m, f"{flag}=True (its gradients) has no spec form",
                               f"build it with {flag}=False: its parameters and outputs are the same")
    return Layer("embedding", {"vocab": m.num_embeddings, "dim": m.embedding_dim,
                               **_args(padding_idx=(m.padding_idx, None))})


#: torch's recurrent layers, whose forward gives the pair (output, h_n) (LSTM's: (output, (h_n, c_n)))
RECURRENT = (nn.LSTM, nn.GRU, nn.RNN)


def _recurrent(m: nn.LSTM | nn.GRU | nn.RNN, output: str = "sequence") -> Layer:
    """``nn.LSTM``, ``nn.GRU``, ``nn.RNN`` with ``batch_first``: ``lstm``, ``gru``, ``rnn`` with torch's arguments.
    ``output`` is what the forward takes of the pair the module gives (:meth:`_Graph.recurrent`). A sequence-first
    layer reads ``[T, N, F]``, which a spec (the batch first, always) cannot give it."""
    if not m.batch_first:
        raise module_error(m, "a sequence-first recurrent layer (batch_first=False: [T, N, F]) has no spec form",
                           "build it with batch_first=True (the same weights) and give it [N, T, F]")
    kind = "lstm" if isinstance(m, nn.LSTM) else "gru" if isinstance(m, nn.GRU) else "rnn"
    args = {"hidden": m.hidden_size, **_args(num_layers=(m.num_layers, 1), bias=(m.bias, True),
                                             bidirectional=(m.bidirectional, False), dropout=(float(m.dropout), 0.0))}
    if kind == "lstm":
        args.update(_args(proj_size=(m.proj_size, 0)))
    if kind == "rnn":
        args.update(_args(nonlinearity=(m.nonlinearity, "tanh")))
    return Layer(kind, {**args, **_args(output=(output, "sequence"))})


def _glu(m: nn.GLU) -> Layer:
    if m.dim == 0:
        raise module_error(m, "a GLU that splits the batch axis has no spec form")
    return Layer("glu", _args(dim=(m.dim - 1 if m.dim > 0 else m.dim, -1)))


LEAVES: dict[type, Callable[[nn.Module], Layer | list[Layer]]] = {
    nn.Conv1d: _conv, nn.Conv2d: _conv, nn.Conv3d: _conv,
    nn.BatchNorm1d: _batchnorm, nn.BatchNorm2d: _batchnorm, nn.BatchNorm3d: _batchnorm,
    nn.InstanceNorm1d: _instancenorm, nn.InstanceNorm2d: _instancenorm, nn.InstanceNorm3d: _instancenorm,
    nn.Linear: lambda m: Layer("linear", {"out": m.out_features, **_args(bias=(m.bias is not None, True))}),
    nn.MaxPool2d: _pool("maxpool2d"), nn.AvgPool2d: _pool("avgpool2d"), nn.AdaptiveAvgPool2d: _adaptive,
    nn.MaxPool1d: _pool("maxpool1d"), nn.AvgPool1d: _pool("avgpool1d"), nn.AdaptiveAvgPool1d: _adaptive,
    nn.MaxPool3d: _pool("maxpool3d"), nn.AvgPool3d: _pool("avgpool3d"), nn.AdaptiveAvgPool3d: _adaptive,
    nn.Softmax: _normalising("softmax"), nn.LogSoftmax: _normalising("log_softmax"),
    nn.Upsample: _upsample, nn.UpsamplingNearest2d: _upsample, nn.UpsamplingBilinear2d: _upsample,
    nn.PixelShuffle: lambda m: Layer("pixel_shuffle", {"factor": m.upscale_factor}),
    nn.PReLU: lambda m: Layer("prelu", _args(per_channel=(m.num_parameters > 1, False), init=(m.init, 0.25))),
    nn.Hardtanh: _hardtanh, nn.RMSNorm: _rmsnorm,
    nn.Flatten: _flatten, nn.Dropout: _dropout, nn.Identity: lambda m: Layer("identity", {}),
    nn.Dropout1d: _channel_dropout, nn.Dropout2d: _channel_dropout, nn.Dropout3d: _channel_dropout,
    nn.ReLU: lambda m: Layer("relu", {}), nn.ReLU6: lambda m: Layer("relu6", {}),
    nn.SiLU: lambda m: Layer("silu", {}), nn.Sigmoid: lambda m: Layer("sigmoid", {}),
    nn.Tanh: lambda m: Layer("tanh", {}), nn.Hardswish: lambda m: Layer("hardswish", {}),
    nn.Hardsigmoid: lambda m: Layer("hardsigmoid", {}), nn.Mish: lambda m: Layer("mish", {}),
    nn.GELU: _simple("gelu", approximate=("approximate", "none")),
    nn.LeakyReLU: _simple("leaky_relu", slope=("negative_slope", 0.01)),
    nn.ELU: _simple("elu", alpha=("alpha", 1.0)),
    nn.Softplus: _simple("softplus", beta=("beta", 1.0), threshold=("threshold", 20.0)),
    nn.LayerNorm: _layernorm,
    nn.ZeroPad1d: _pad, nn.ZeroPad2d: _pad, nn.ZeroPad3d: _pad,
    nn.ConstantPad1d: _pad, nn.ConstantPad2d: _pad, nn.ConstantPad3d: _pad,
    **dict.fromkeys((nn.ReflectionPad1d, nn.ReflectionPad2d, nn.ReflectionPad3d), _copying_pad("reflect")),
    **dict.fromkeys((nn.ReplicationPad1d, nn.ReplicationPad2d, nn.ReplicationPad3d), _copying_pad("replicate")),
    **dict.fromkeys((nn.CircularPad1d, nn.CircularPad2d, nn.CircularPad3d), _copying_pad("circular")),
    nn.GLU: _glu, nn.Embedding: _embedding, nn.LSTM: _recurrent, nn.GRU: _recurrent, nn.RNN: _recurrent,
    nn.GroupNorm: lambda m: Layer("groupnorm", {"groups": m.num_groups, **_args(eps=(m.eps, 1e-5),
                                                                                 affine=(m.affine, True))}),
}

def _multihead(m: nn.MultiheadAttention) -> Layer:
    """``nn.MultiheadAttention`` as torchvision's ViT builds it: batch first, one embedding size for q, k and v."""
    if not m.batch_first:
        raise module_error(m, "a sequence-first nn.MultiheadAttention ([T, N, D]) has no spec form",
                           "build it with batch_first=True")
    if not m._qkv_same_embed_dim or m.bias_k is not None or m.add_zero_attn:
        raise module_error(m, "an nn.MultiheadAttention with kdim/vdim, add_bias_kv or add_zero_attn has no spec form")
    return Layer("multihead_attention", {"heads": m.num_heads, "layout": "torch",
                                         **_args(bias=(m.in_proj_bias is not None, True), dropout=(m.dropout, 0.0))})


LEAVES[nn.MultiheadAttention] = _multihead


def _conv_transpose(m: nn.ConvTranspose1d | nn.ConvTranspose2d | nn.ConvTranspose3d) -> Layer:
    if m.padding_mode != "zeros":
        raise module_error(m, f"padding_mode '{m.padding_mode}' has no spec form", "archcalc pads with zeros")
    return Layer(f"conv_transpose{len(m.kernel_size)}d", {
        "out": m.out_channels, "kernel": _pair(m.kernel_size),
        **_args(stride=(_pair(m.stride), 1), padding=(_pair(m.padding), 0), output_padding=(_pair(m.output_padding), 0),
                dilation=(_pair(m.dilation), 1), groups=(m.groups, 1), bias=(m.bias is not None, True))})


LEAVES.update({nn.ConvTranspose1d: _conv_transpose, nn.ConvTranspose2d: _conv_transpose,
               nn.ConvTranspose3d: _conv_transpose})


def _permute(m: nn.Module) -> Layer:
    dims = list(m.dims)
    if dims[0] != 0:
        raise module_error(m, "a permutation that moves the batch axis has no spec form")
    return Layer("permute", {"dims": [d - 1 for d in dims[1:]]})


def _layernorm2d(m: nn.LayerNorm) -> Layer:
    return Layer("layernorm2d", _args(eps=(m.eps, 1e-5), affine=(m.elementwise_affine, True),
                                      bias=(getattr(m, "bias", None) is not None or not m.elementwise_affine, True)))


try:  # torchvision's own layers, where torchvision is installed
    from torchvision.models.convnext import LayerNorm2d
    from torchvision.ops import StochasticDepth
    from torchvision.ops.misc import Permute

    LEAVES.update({StochasticDepth: _stochastic_depth, Permute: _permute, LayerNorm2d: _layernorm2d})
except Exception:  # not installed, or built for another torch ("operator torchvision::nms does not exist")
    pass


def _llama_attention(m: nn.Module) -> Layer:
    """archcalc's own ``MultiheadAttention`` (Llama's q_proj, k_proj, v_proj, o_proj, and q_norm, k_norm with
    ``qk_norm``, RMSNorm or LayerNorm, per head StableLM's q_layernorm, k_layernorm; Gemma's window, soft cap,
    rope factor and norm offset; Llama 3.1's and YaRN's rope scaling), read back from its projections and the
    options it keeps."""
    o, dim = m.options, m.q_proj.in_features
    q_norm = getattr(m, m.norm_names[0], None)
    heads = o["heads"]
    norm = "none" if q_norm is None else "per_head" if type(q_norm).__name__ == "HeadNorm" else \
        "head" if m.per_head else "all"
    kind = "none" if q_norm is None else getattr(q_norm, "kind", None) or \
        ("layernorm" if isinstance(q_norm, nn.LayerNorm) else "rmsnorm")
    norm_bias = any(name.endswith("bias") for name, _ in q_norm.named_parameters()) if q_norm is not None else False
    bias = m.q_proj.bias is not None
    layernorm = kind == "layernorm"
    return Layer("multihead_attention", {"heads": heads, **_args(
        kv_heads=(o["kv_heads"], heads), head_dim=(o["head_dim"], dim // heads if dim % heads == 0 else None),
        out=(m.o_proj.out_features, dim), bias=(bias, True), out_bias=(m.o_proj.bias is not None, bias),
        qk_norm=(norm, "none"), qk_norm_kind=(kind if layernorm else "rmsnorm", "rmsnorm"),
        qk_norm_bias=(norm_bias if layernorm else True, True),
        qk_norm_eps=(q_norm.eps if norm != "none" else 1e-6, 1e-6),
        qk_norm_offset=(getattr(m, "offset", 0.0), 0.0),
        qk_norm_layout=("stablelm" if m.norm_names[0] == "q_layernorm" else "stacked", "stacked"),
        causal=(o["causal"], False),
        window=(o.get("window"), None), scale=(o["scale"], None), softcap=(o.get("softcap"), None),
        rotary=(o["rotary"], "none"), theta=(o["theta"], 10000.0), rotary_dim=(o["rotary_dim"], None),
        rotary_factor=(o.get("rotary_factor", 1.0), 1.0), **_scaling(o), dropout=(o["dropout"], 0.0))})


def _scaling(options: dict) -> dict[str, tuple[object, object]]:
    """Rope scaling's settings among an attention's options (Llama 3.1's, YaRN's), each with the spec's default:
    the generated file passes only those its spec set."""
    defaults = {"rotary_scaling": "linear", "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                "original_positions": None, "beta_fast": 32.0, "beta_slow": 1.0, "attention_factor": None,
                "truncate": True}
    return {key: (options.get(key, default), default) for key, default in defaults.items()}


#: archcalc's own layer modules (``archcalc.backends.torch.modules``), which ``archcalc export --to torch`` copies
#: into the file it writes: importing that file gives the spec back
GENERATED: dict[str, Callable[[nn.Module], Layer]] = {
    "Sign": lambda m: Layer("step", {}),
    "SoftCap": lambda m: Layer("softcap", {"cap": m.cap}),
    "Scale": lambda m: Layer("scale", {"factor": m.factor}),
    "GlobalAvgPool2d": lambda m: Layer("global_avgpool2d", {}),
    "Reshape": lambda m: Layer("reshape", {"shape": list(m.shape)}),
    "Permute": lambda m: Layer("permute", {"dims": list(m.dims)}),
    "Select": lambda m: Layer("select", _args(index=(m.index, 0), axis=(m.axis, 0))),
    "Mean": lambda m: Layer("mean", {"axes": list(m.dims), **_args(keepdim=(m.keepdim, False))}),
    "GatedUnit": lambda m: Layer("glu", _args(dim=(m.dim - 1 if m.dim > 0 else m.dim, -1),
                                              activation=(m.activation, "sigmoid"),
                                              gate=("first" if m.gate_first else "second", "second"))),
    "StochasticDepth": _stochastic_depth,
    **dict.fromkeys(("LSTM", "GRU", "RNN"), lambda m: _recurrent(m, m.output)),  # the output it is built to give
    "OffsetRMSNorm": lambda m: Layer("rmsnorm", _args(axes=(len(m.normalized_shape), 1), eps=(m.eps, None),
                                                      offset=(m.offset, 0.0))),
    "PositionEmbedding": lambda m: Layer("pos_embedding", {"positions": m.weight.shape[0], "dim": m.weight.shape[1],
                                                           **_args(index=("first" if m.first else "position",
                                                                          "position"),
                                                                   padding_idx=(m.padding_idx,
                                                                                None))}),
    "Conv1D": lambda m: Layer("linear", {"out": m.weight.shape[1], **_args(bias=(m.bias is not None, True)),
                                         "transposed": True}),  # GPT-2's weight stored [in, out]
    "ScaledEmbedding": lambda m: Layer("embedding", {**_embedding(m).args, "scale": m.scale}),
    "LayerNorm2d": _layernorm2d,
    "SelfAttention": lambda m: Layer("multihead_attention", {**_multihead(m).args, **_args(causal=(m.causal, False))}),
    "MultiheadAttention": _llama_attention,
    "MoE": lambda m: _moe(m),
    "LatentAttention": lambda m: _latent_attention(m),
}


def _moe(m: nn.Module) -> Layer:
    """archcalc's own ``MoE`` (Mixtral's gate, experts.gate_up_proj, experts.down_proj; Qwen2-MoE's gated shared
    expert or DeepSeek's ungated shared_experts; DeepSeek's routing from the options it keeps)."""
    shared = getattr(m, "shared_expert", None) or getattr(m, "shared_experts", None)
    routing = getattr(m, "routing", {})
    return Layer("moe", {"experts": m.experts.down_proj.shape[0], **_args(top_k=(m.top_k, 2)),
                         "hidden": m.experts.down_proj.shape[2],
                         **_args(activation=(m.act.activation, "silu"), normalize=(m.normalize, True),
                                 shared=(None if shared is None else shared.up_proj.out_features, None),
                                 router=(getattr(m, "router_name", "gate"), "gate"),
                                 **{key: (routing.get(key, default), default) for key, default in ROUTING.items()
                                    if key != "router"})})


def _latent_attention(m: nn.Module) -> Layer:
    """archcalc's own ``LatentAttention`` (DeepSeek's q_proj or q_a_proj … o_proj), read back from its
    projections, sizes and the options it keeps (rope scaling too)."""
    heads, kv_rank, nope, rope, v = m.sizes
    o, dim = m.options, m.kv_a_proj_with_mqa.in_features
    q_rank = m.q_a_proj.out_features if hasattr(m, "q_a_proj") else None
    return Layer("mla", {"heads": heads, "kv_rank": kv_rank, "nope_dim": nope, "rope_dim": rope, "v_dim": v,
                         **_args(q_rank=(q_rank, None), out=(m.o_proj.out_features, dim),
                                 bias=(m.o_proj.bias is not None, False), eps=(m.kv_a_layernorm.eps, 1e-6),
                                 causal=(o.get("causal", False), False), rotary=(o.get("rotary"), "interleaved"),
                                 theta=(o.get("theta"), 10000.0), scale=(o.get("scale"), None),
                                 dropout=(o.get("dropout", 0.0), 0.0),
                                 rotary_factor=(o.get("rotary_factor", 1.0), 1.0), **_scaling(o))})
_leaf_cache: dict[type, Callable[[nn.Module], Layer] | None] = {}
#: modules whose forward is known and written as items directly, their children named by their attributes
#: (timm's ``Attention``: its ``qkv``, the attention, its ``proj``): ``(converter, module, qualname) → items``
COMPOSITES: dict[type, Callable[[Converter, nn.Module, str], list[Item]]] = {}
_timm_loaded = False


def _load_timm() -> None:
    """timm's layers into :data:`LEAVES`, once (timm's import is slow: only for a model that uses them)."""
    global _timm_loaded
    _timm_loaded = True
    from archcalc.importers import timm_layers

    try:
        found, composites = timm_layers.leaves(), timm_layers.composites()
    except ImportError:  # a class named timm.* without timm's layers (another version): traced as the user's
        return
    LEAVES.update(found)
    COMPOSITES.update(composites)


def frozen_as(m: nn.Module, items: list[Item]) -> list[Item]:
    """The layers a torch layer ``m`` became, each with ``frozen`` as ``m``'s parameters' ``requires_grad`` says:
    all False is ``trainable: false``; a layer of some frozen parameters and some not has no spec (a spec freezes
    whole layers), a located error."""
    flags = {name: p.requires_grad for name, p in m.named_parameters()}
    if not flags:
        return items
    if len(set(flags.values())) > 1:
        learn = [name for name, grad in flags.items() if grad]
        frozen = [name for name, grad in flags.items() if not grad]
        raise module_error(m, f"its {_and(frozen)} require{'s' if len(frozen) == 1 else ''} no grad but its "
                           f"{_and(learn)} do{'es' if len(learn) == 1 else ''}: a spec freezes whole layers "
                           "(trainable: false), not some of a layer's parameters",
                           "freeze the whole layer (module.requires_grad_(False)) or none of it before importing, "
                           "and set requires_grad on the rest after archcalc.to_torch(spec)")
    for item in items:  # the layers of kinds with parameters (a BatchNormAct2d's batch norm, not its activation)
        if isinstance(item, Layer) and _weighs(item.kind):
            item.frozen = not next(iter(flags.values()))
    return items


def reparametrised(m: nn.Module, items: list[Item]) -> list[Item]:
    """The layer a torch layer ``m`` became, with ``weight_norm:`` or ``spectral_norm:`` where ``m``'s weight is
    reparametrised: by ``torch.nn.utils.weight_norm`` or ``spectral_norm`` (a forward pre-hook holding its
    settings) or ``torch.nn.utils.parametrizations.weight_norm`` (``names: new``). So the spec counts ``g``
    and the power iteration's buffers, and its module has the model's state-dict names. Anything else on a
    parameter (the new ``spectral_norm``'s names, ``orthogonal``, a user's parametrisation, a hook on another
    parameter) is refused, located at the module: no spec says it."""
    from torch.nn.utils import parametrize
    from torch.nn.utils.parametrizations import _WeightNorm
    from torch.nn.utils.spectral_norm import SpectralNorm
    from torch.nn.utils.weight_norm import WeightNorm

    from archcalc.spec.reparam import KINDS

    options: list[tuple[str, object]] = []
    for hook in m._forward_pre_hooks.values():
        if isinstance(hook, (WeightNorm, SpectralNorm)):
            what = "weight_norm" if isinstance(hook, WeightNorm) else "spectral_norm"
            if hook.name != "weight":
                raise module_error(m, f"torch.nn.utils.{what} on its '{hook.name}', which no spec says",
                                   f"a spec normalises the weight of {', '.join(KINDS)}")
            if isinstance(hook, WeightNorm):
                options.append((what, True if hook.dim == 0 else Flow(dim=None if hook.dim == -1 else hook.dim)))
            else:
                transposed = isinstance(m, (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d))
                settings = {key: value for key, value, default in (
                    ("dim", hook.dim, 1 if transposed else 0), ("n_power_iterations", hook.n_power_iterations, 1),
                    ("eps", hook.eps, 1e-12)) if value != default}
                options.append((what, Flow(settings) if settings else True))
    if parametrize.is_parametrized(m):
        for name, chain in m.parametrizations.items():
            kinds = [type(p).__name__ for p in chain]
            if name != "weight" or len(chain) != 1 or not isinstance(chain[0], _WeightNorm):
                hint = "a spec reads torch.nn.utils.parametrizations.weight_norm on a weight; for spectral norm, " \
                    "torch.nn.utils.spectral_norm (weight_orig, weight_u, weight_v)" if kinds == ["_SpectralNorm"] \
                    else f"a spec normalises the weight of {', '.join(KINDS)} (weight_norm, spectral_norm)"
                raise module_error(m, f"its '{name}' is parametrised by {', '.join(kinds)}, which no spec says", hint)
            dim = None if chain[0].dim == -1 else chain[0].dim
            options.append(("weight_norm", Flow({**({} if dim == 0 else {"dim": dim}), "names": "new"})))
    if not options:
        return items
    layer = items[0]
    if len(options) > 1 or not isinstance(layer, Layer) or layer.kind not in KINDS:
        what = " and ".join(name for name, _ in options)
        raise module_error(m, f"its weight is reparametrised ({what}), which a spec says once, on "
                           f"{', '.join(KINDS)}", "one weight_norm or spectral_norm on a linear or convolution layer")
    layer.args[options[0][0]] = options[0][1]
    return items


def _weighs(kind: str) -> bool:
    """Whether a layer kind can hold parameters (it counts them: its ``params`` is its own)."""
    cls = LAYERS.get(kind)
    return cls is not None and cls.params is not ArchLayer.params


def _and(names: list[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def lift_frozen(items: list[Item]) -> set[bool]:
    """Write each ``trainable: false`` once, on the outermost group whose every parameter is frozen (a module a torch
    user froze whole, ``model.layer1.requires_grad_(False)``), rather than on each of its layers, so that frozen and
    trainable modules of one class still become uses of one block. Returns the settings found inside ``items``
    (True frozen, False trainable)."""
    found: set[bool] = set()
    for item in items:
        if isinstance(item, Layer):
            found |= {item.frozen} if item.frozen is not None else set()
        elif isinstance(item, Group):
            inside = lift_frozen(item.items)
            if inside == {True}:
                item.frozen = True
                _unfreeze(item.items)
            found |= inside
        elif isinstance(item, Merge):
            for branch in item.branches:
                found |= lift_frozen(branch)
        elif isinstance(item, Repeat):
            found |= lift_frozen(item.items)
    return found


def _unfreeze(items: list[Item]) -> None:
    """Clear the settings inside a group that carries ``trainable: false`` for all of them."""
    for item in items:
        if isinstance(item, Layer):
            item.frozen = False if item.frozen is not None else None  # as a trainable module's layers read
        elif isinstance(item, Group):
            item.frozen = False
            _unfreeze(item.items)
        elif isinstance(item, Merge):
            for branch in item.branches:
                _unfreeze(branch)
        elif isinstance(item, Repeat):
            _unfreeze(item.items)


def leaf(cls: type) -> Callable[[nn.Module], Layer | list[Layer]] | None:
    """How a module of class ``cls`` becomes a layer (or a layer and the parameter-free layers after it, all
    computed by the module itself), if it does: torch's, torchvision's and timm's layers, and archcalc's own
    modules where ``cls`` is one, or a copy with the same source (a class of that name with other code is
    the user's, and is traced)."""
    if cls in LEAVES:
        return LEAVES[cls]
    if cls.__module__ == "torch.nn.utils.parametrize" and cls.__bases__[0] in LEAVES:  # ParametrizedConv1d
        return LEAVES[cls.__bases__[0]]
    if cls.__module__.startswith("timm.") and not _timm_loaded:
        _load_timm()
        return leaf(cls)
    if cls not in _leaf_cache:
        from archcalc.backends.torch import modules

        ours = getattr(modules, cls.__name__, None)
        same = ours is cls
        if not same and isinstance(ours, type) and cls.__name__ in GENERATED:
            try:
                same = inspect.getsource(cls) == inspect.getsource(ours)
            except (OSError, TypeError):
                same = False
        _leaf_cache[cls] = GENERATED.get(cls.__name__) if same else None
    return _leaf_cache[cls]


# -- skip connections: the store of kept outputs that generated source shares --------------------------


def generated_store(model: nn.Module) -> dict | None:
    """The store of kept outputs when ``model`` is archcalc's generated source of a spec with ``from:``: one
    dict that every module holds as ``kept``, put there by a ``share_kept`` (the function the model's class
    calls) whose source is archcalc's. Else None: a ``kept`` of the user's own is the user's, and traced as is."""
    from archcalc.backends.torch.modules import share_kept

    store = getattr(model, "kept", None)
    if not isinstance(store, dict) or any(getattr(m, "kept", None) is not store for m in model.modules()):
        return None
    made = getattr(type(model).__init__, "__globals__", {}).get("share_kept")
    try:
        same = made is share_kept or (callable(made) and inspect.getsource(made) == inspect.getsource(share_kept))
    except (OSError, TypeError):
        same = False
    return store if same else None


def kept_output(slot: str) -> torch.Tensor:
    """Stands in a traced graph for the output kept under ``slot``: where a ``from:`` branch starts. Never run."""
    raise RuntimeError(f"the output kept under {slot!r} exists only in a traced graph")


class _Store:
    """The store while one module is traced: what ``forward`` keeps is noted (slot → the node it keeps), and
    each read is a node of its own (a call of :func:`kept_output`), since the output it reads is computed
    in another module's graph (or later in this one's, as ``from:`` reads it)."""

    def __init__(self, tracer: fx.Tracer):
        self.tracer = tracer
        self.kept: dict[str, fx.Node] = {}

    def __setitem__(self, slot: str, value: object) -> None:
        if not isinstance(slot, str) or not isinstance(value, fx.Proxy):
            raise TypeError("the store keeps tensors under strings")
        self.kept[slot] = value.node

    def __getitem__(self, slot: str) -> fx.Proxy:
        if not isinstance(slot, str):
            raise TypeError("the store keeps tensors under strings")
        return self.tracer.create_proxy("call_function", kept_output, (slot,), {})


def _reads(node: fx.Node) -> bool:
    """A read of the store (:class:`_Store`)."""
    return node.op == "call_function" and node.target is kept_output


# -- functions in a forward: torch → a layer kind or a merge -------------------------------------------

MERGES: dict[object, str] = {operator.add: "add", torch.add: "add", operator.iadd: "add", "add": "add",
                             operator.mul: "multiply", torch.mul: "multiply", operator.imul: "multiply",
                             "mul": "multiply"}
ACTIVATIONS: dict[object, str] = {F.relu: "relu", torch.relu: "relu", "relu": "relu", F.relu6: "relu6",
                                  F.silu: "silu", F.hardswish: "hardswish", F.hardsigmoid: "hardsigmoid",
                                  torch.sigmoid: "sigmoid", "sigmoid": "sigmoid", F.sigmoid: "sigmoid",
                                  torch.tanh: "tanh", "tanh": "tanh", F.gelu: "gelu", F.mish: "mish"}


#: pooling functions → their kinds
POOLS: dict[object, str] = {F.max_pool1d: "maxpool1d", F.max_pool2d: "maxpool2d", F.max_pool3d: "maxpool3d",
                            F.avg_pool1d: "avgpool1d", F.avg_pool2d: "avgpool2d", F.avg_pool3d: "avgpool3d"}
ADAPTIVE: dict[object, str] = {F.adaptive_avg_pool1d: "adaptive_avgpool1d", F.adaptive_avg_pool2d: "adaptive_avgpool2d",
                               F.adaptive_avg_pool3d: "adaptive_avgpool3d"}
#: softmax and log-softmax as functions and methods → their kinds
NORMALISING: dict[object, str] = {F.softmax: "softmax", torch.softmax: "softmax", "softmax": "softmax",
                                  F.log_softmax: "log_softmax", torch.log_softmax: "log_softmax",
                                  "log_softmax": "log_softmax"}


def _argument(node: fx.Node, index: int, key: str, default: object) -> object:
    if len(node.args) > index:
        return node.args[index]
    return node.kwargs.get(key, default)


#: x * c (or c * x) and x / c by a Python number: a ``scale`` (x / c as the factor 1 / c)
PRODUCTS: tuple[object, ...] = (operator.mul, operator.imul, torch.mul, "mul")
QUOTIENTS: tuple[object, ...] = (operator.truediv, operator.itruediv, torch.div, torch.true_divide, "div")


def _constant_factor(node: fx.Node) -> float | None:
    """The factor of a product of one tensor and a Python number (not 0: that computes no model), or of a
    quotient of a tensor by one; None for anything else (a product of tensors is a merge, a rounding
    division no scale)."""
    if node.kwargs or len(node.args) != 2:
        return None
    a, b = node.args

    def number(v: object) -> bool:  # a Python or NumPy number (np.sqrt(d) is a float64), not a bool
        return isinstance(v, numbers.Real) and not isinstance(v, bool) and v != 0 and math.isfinite(v)

    factor = None
    if node.target in PRODUCTS:
        factor = b if isinstance(a, fx.Node) and number(b) else a if isinstance(b, fx.Node) and number(a) else None
    elif node.target in QUOTIENTS and isinstance(a, fx.Node) and number(b):
        factor = 1.0 / float(b)
    return float(factor) if factor is not None and math.isfinite(factor) and factor != 0 else None


def function_layer(node: fx.Node, owner: nn.Module) -> Layer | None:
    """The layer of a single-input function call, or None when it is no such call."""
    target = node.target
    factor = _constant_factor(node)
    if factor is not None:
        return Layer("scale", {"factor": factor})
    if target is F.gelu:
        return Layer("gelu", _args(approximate=(_argument(node, 1, "approximate", "none"), "none")))
    if target in ACTIVATIONS:
        return Layer(ACTIVATIONS[target], {})
    if target in (torch.permute, "permute"):
        args = node.args[1:]
        dims = list(args if len(args) > 1 else args[0] if args else node.kwargs["dims"])
        if dims[0] != 0:
            raise module_error(owner, "a permutation that moves the batch axis has no spec form")
        return Layer("permute", {"dims": [d - 1 for d in dims[1:]]})
    if target in (torch.transpose, "transpose"):
        dims = [_argument(node, 1, "dim0", None), _argument(node, 2, "dim1", None)]
        if 0 in dims:
            raise module_error(owner, "a transpose that moves the batch axis has no spec form")
        return Layer("transpose", {"dim0": dims[0] - 1 if dims[0] > 0 else dims[0],
                                   "dim1": dims[1] - 1 if dims[1] > 0 else dims[1]})
    if target is operator.getitem and isinstance(node.args[1], tuple):  # x[:, 0]: a position of one axis
        index = node.args[1]
        full = [isinstance(i, slice) and i == slice(None) for i in index]
        picks = [j for j, i in enumerate(index) if isinstance(i, int) and not isinstance(i, bool)]
        if len(picks) == 1 and picks[0] >= 1 and all(full[j] for j in range(len(index)) if j != picks[0]):
            # x[:, -1] and x[:, -1, :] alike: the axes after it kept whole
            return Layer("select", _args(index=(index[picks[0]], 0), axis=(picks[0] - 1, 0)))
    if target in (torch.select, "select"):
        dim, index = _argument(node, 1, "dim", None), _argument(node, 2, "index", None)
        if dim == 0:
            raise module_error(owner, "a selection along the batch axis has no spec form")
        return Layer("select", _args(index=(index, 0), axis=(dim - 1 if dim > 0 else dim, 0)))
    if target in (torch.flatten, "flatten"):
        start, end = _argument(node, 1, "start_dim", 0), _argument(node, 2, "end_dim", -1)
        if start < 1:
            raise module_error(owner, "flattening the batch axis has no spec form")
        return Layer("flatten", _args(start=(start - 1, 0), end=(end - 1 if end > 0 else end, -1)))
    if target in ADAPTIVE:
        return Layer(ADAPTIVE[target], {"out": _pair(_argument(node, 1, "output_size", None))})
    if target in POOLS:
        kind = POOLS[target]
        kernel = _pair(_argument(node, 1, "kernel_size", None))
        stride = _pair(_argument(node, 2, "stride", None) or kernel)
        top = kind.startswith("maxpool")
        args = {"kernel": kernel, **_args(stride=(stride, kernel), padding=(_pair(_argument(node, 3, "padding", 0)), 0),
                                         ceil_mode=(_argument(node, 5 if top else 4, "ceil_mode", False), False))}
        if top:
            args.update(_args(dilation=(_pair(_argument(node, 4, "dilation", 1)), 1)))
            if _argument(node, 6, "return_indices", False):
                raise module_error(owner, "a pool that returns its indices has no spec form")
        else:
            args.update(_args(count_include_pad=(_argument(node, 5, "count_include_pad", True), True)))
            if _argument(node, 6, "divisor_override", None) is not None:
                raise module_error(owner, "divisor_override has no spec form")
        return Layer(kind, args)
    if target in NORMALISING:
        dim = _argument(node, 1, "dim", None)
        if not isinstance(dim, int) or dim == 0 or _argument(node, 3, "dtype", None) is not None:
            raise module_error(owner, f"{NORMALISING[target]} over an implicit dim, the batch axis or with a dtype "
                               "has no spec form", "give the axis: dim=1 or -1", at=type(owner).forward)
        return Layer(NORMALISING[target], _args(dim=(_spec_axis(dim), 0)))
    if target is F.interpolate:
        return _resize(owner, _argument(node, 1, "size", None), _argument(node, 2, "scale_factor", None),
                       _argument(node, 3, "mode", "nearest"), _argument(node, 4, "align_corners", None),
                       _argument(node, 5, "recompute_scale_factor", None), _argument(node, 6, "antialias", False))
    if target in (F.pixel_shuffle, torch.pixel_shuffle):
        return Layer("pixel_shuffle", {"factor": _argument(node, 1, "upscale_factor", None)})
    if target is F.elu:
        return Layer("elu", _args(alpha=(float(_argument(node, 1, "alpha", 1.0)), 1.0)))
    if target is F.leaky_relu:
        return Layer("leaky_relu", _args(slope=(float(_argument(node, 1, "negative_slope", 0.01)), 0.01)))
    if target is F.softplus:
        return Layer("softplus", _args(beta=(float(_argument(node, 1, "beta", 1.0)), 1.0),
                                       threshold=(float(_argument(node, 2, "threshold", 20.0)), 20.0)))
    if target is F.pad:
        mode = _argument(node, 2, "mode", "constant")
        if mode not in MODES:
            raise module_error(owner, f"F.pad with mode {mode!r} has no spec form",
                               f"pad with mode {', '.join(map(repr, MODES))}")
        value, amounts = _argument(node, 3, "value", None), list(_argument(node, 1, "pad", ()))
        if not all(isinstance(v, int) and not isinstance(v, bool) for v in amounts) \
                or not isinstance(value, (int, float, type(None))):
            raise module_error(owner, "F.pad with amounts (or a value) computed in forward, from the input's size "
                               "or another tensor, has no spec form: a spec's pad amounts are fixed numbers",
                               "pad by fixed amounts (or give the model a fixed input size and write them out)")
        if mode != "constant":  # torch takes no value in these modes (0 alone passes); the spec takes none
            return Layer("pad", {"padding": amounts, "mode": mode})
        return Layer("pad", {"padding": amounts, **_args(value=(float(value or 0.0), 0.0))})
    if target is F.glu:
        dim = _argument(node, 1, "dim", -1)
        if dim == 0:
            raise module_error(owner, "a GLU that splits the batch axis has no spec form")
        return Layer("glu", _args(dim=(dim - 1 if dim > 0 else dim, -1)))
    if target in (F.dropout, F.dropout1d, F.dropout2d, F.dropout3d):
        kind = {F.dropout1d: "dropout1d", F.dropout2d: "dropout2d", F.dropout3d: "dropout3d"}.get(target, "dropout")
        return Layer(kind, _args(p=(_argument(node, 1, "p", 0.5), 0.5)))
    if target == "mean" or target is torch.mean:
        dims = _argument(node, 1, "dim", None)
        dims = [dims] if isinstance(dims, int) else list(dims or [])
        if not dims or any(d == 0 for d in dims):
            raise module_error(owner, "a mean over the batch axis has no spec form")
        return Layer("mean", {"axes": [d - 1 if d > 0 else d for d in dims],
                              **_args(keepdim=(_argument(node, 2, "keepdim", False), False))})
    return None


# -- one module's forward → items ------------------------------------------------------------------


class _Children(fx.Tracer):
    """Traces one module's forward with every child module left as a call, and the arguments after the input
    that have defaults fixed at them (timm's ``head(x, pre_logits=False)``): a spec layer is called with its
    input alone, and :meth:`_Graph.single` refuses a call that passes other values."""

    def __init__(self, root: nn.Module):
        super().__init__()
        self.root_module = root

    def is_leaf_module(self, m: nn.Module, qualname: str) -> bool:
        return m is not self.root_module

    def trace_fixed(self, m: nn.Module) -> fx.Graph:
        fixed = defaults(m)
        graph = self.trace(m, concrete_args=fixed or None)
        if fixed:  # fx keeps each fixed argument as an input checked against its value: both go
            for node in reversed([n for n in graph.nodes if n.op == "placeholder"][1:]):
                _erase_checks(graph, node)
        return graph


def defaults(m: nn.Module) -> dict[str, object]:
    """The arguments of ``m.forward`` after its input that have default values, at those values."""
    try:
        params = list(inspect.signature(m.forward).parameters.values())[1:]
    except (TypeError, ValueError):
        return {}
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    return {p.name: p.default for p in params if p.kind in kinds and p.default is not inspect.Parameter.empty}


def _same(value: object, default: object) -> bool:
    """Whether an argument a call passes is its default (never a tensor, which fx traced as a node)."""
    return not isinstance(value, fx.Node) and type(value) is type(default) and value == default


def _erase_checks(graph: fx.Graph, placeholder: fx.Node) -> None:
    """Removes a fixed argument's input and the checks fx made of it (``torch._assert(x == value)``), when those
    are all that use it."""
    checks, stack = [], list(placeholder.users)
    while stack:
        node = stack.pop()
        check = node.target in (operator.eq, torch._assert) or getattr(node.target, "__name__", "") == "_assert_is_none"
        if node.op != "call_function" or not check:
            return
        checks.append(node)
        stack.extend(node.users)
    for node in reversed([n for n in graph.nodes if n in checks]):
        graph.erase_node(node)
    graph.erase_node(placeholder)


def _tensor_inputs(node: fx.Node) -> list[fx.Node]:
    """The fx nodes a node computes from (the list of a torch.cat included)."""
    out: list[fx.Node] = []
    for arg in (*node.args, *node.kwargs.values()):
        if isinstance(arg, fx.Node):
            out.append(arg)
        elif isinstance(arg, (list, tuple)):
            out.extend(a for a in arg if isinstance(a, fx.Node))
    return out


def joined_name(qualname: str, name: str) -> str:
    """The full name of child ``name`` of the module named ``qualname`` (the model itself: "")."""
    return f"{qualname}.{name}" if qualname else name


def _viewed(node: fx.Node) -> tuple[fx.Node, tuple[int, ...] | None]:
    """A tensor read through ``.reshape`` or ``.view`` to constant sizes (timm's ``gamma.reshape(1, -1, 1, 1)``):
    the tensor read, and the sizes; else ``node`` itself and None."""
    if node.op == "call_method" and node.target in ("reshape", "view") and isinstance(node.args[0], fx.Node) \
            and node.args[0].op == "get_attr":
        sizes = node.args[1] if len(node.args) == 2 and isinstance(node.args[1], (tuple, list)) else node.args[1:]
        if sizes and all(isinstance(d, int) for d in sizes):
            return node.args[0], tuple(sizes)
    return node, None


def _no_op(item: Item) -> bool:
    """A layer that changes nothing and holds nothing (an ``nn.Identity`` placeholder, dropout of 0): left out of
    the spec, which reads better without it and computes the same."""
    return isinstance(item, Layer) and (item.kind == "identity" or (
        item.kind in ("dropout", "dropout1d", "dropout2d", "dropout3d")
        and (item.args["p"].value if isinstance(item.args.get("p"), Default) else None) == 0))


class Converter:
    """Turns a model into items, module by module, keeping what a block needs."""

    def __init__(self, model: nn.Module, input_shape: tuple[int, ...] = (3, 224, 224), vocab: int | None = None):
        self.model = model
        self.input_shape = input_shape
        self.vocab = vocab  # the input is token ids below it (the model's input goes into an nn.Embedding)
        self._inputs: dict[int, tuple[int, ...]] | None = None  # id(module) → its input's shape, batch first
        self._kept_shapes: dict[str, tuple[int, ...]] = {}  # slot → the shape of what is kept there (batch first)
        self.store = generated_store(model)  # skip connections: outputs kept for a later branch (from:)
        self.kept: dict[str, str] = {}  # slot → the path of the module whose output is kept there
        self.noted: set[str] = set()  # every slot a traced forward keeps something under
        self.reads: list[tuple[Merge, nn.Module]] = []  # merges with from: branches (slots), and their modules
        self.shared = shared_parameters(model)  # the names of each parameter that has several (a tied weight)
        self.made: dict[str, Layer] = {}  # a leaf module's path → the layer that holds its parameters
        self.renamed: list[tuple[str, str]] = []  # (path of a module's second call's layer, the module's path)
        self.again: list[Layer] = []  # the layers of second calls, each tied to its module's layer

    def resolve(self) -> None:
        """Each ``from:`` branch's slot as the path of the module whose output is kept there (the spec's path
        for it, as the writer names layers after the model's attributes)."""
        for merge, owner in self.reads:
            for i, slot in enumerate(merge.sources):
                if slot is None:
                    continue
                if slot not in self.kept:
                    what = "is the output of no layer or construct that a spec's from: can name" \
                        if slot in self.noted else "no module keeps"
                    raise module_error(owner, f"reads the output kept under '{slot}', which {what}",
                                       "keep the output of a layer or block (self.kept[...] = x) where a module "
                                       "computes it", at=type(owner).forward)
                merge.sources[i] = self.kept[slot]
        self.reads.clear()

    def module(self, m: nn.Module, qualname: str, joined: int | None = None) -> list[Item]:
        """The items of ``m``'s own forward (its children named by their attributes). ``joined``: ``m`` is
        given the list of earlier outputs and concatenates them along that spec axis first (DenseNet's layer);
        its items then start from the concatenation."""
        make = leaf(type(m))
        if make is not None and joined is None:
            made = make(m)
            items = made if isinstance(made, list) else [made]
            return frozen_as(m, reparametrised(m, items))
        if type(m) in COMPOSITES and joined is None:
            return frozen_as(m, COMPOSITES[type(m)](self, m, qualname))
        if isinstance(m, nn.Sequential) and type(m).forward is nn.Sequential.forward and joined is None:
            items: list[Item] = []
            for name, child in m.named_children():  # a child's position is the spec's, after any expanded before
                items.extend(self.children(child, joined_name(qualname, name), name, str(len(items))))
            return items
        tracer = _Children(m)
        store = _Store(tracer) if self.store is not None and m.__dict__.get("kept") is self.store else None
        if store is not None:  # this module's reads and keeps become nodes and notes of its graph
            m.__dict__["kept"] = store
        try:
            graph = tracer.trace_fixed(m)
        except Exception as e:  # fx refuses data-dependent control flow and the like
            cause = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else e}"
            if isinstance(getattr(m, "kept", None), dict):  # a store like generated source's, not archcalc's
                raise module_error(m, "reads a store of outputs ('kept') that is not the one archcalc's generated "
                                   "source shares (its share_kept), which tracing one module at a time cannot follow"
                                   f" ({cause})",
                                   "write the skip connection as a merge in one module's forward, or keep "
                                   "share_kept as archcalc export writes it", at=type(m).forward) from None
            raise module_error(m, f"torch.fx cannot trace its forward ({cause})",
                               "a forward with control flow on tensor values cannot be written as a spec",
                               at=type(m).forward) from None
        finally:
            if store is not None:
                m.__dict__["kept"] = self.store
        return _Graph(self, m, qualname, graph, joined, store.kept if store is not None else {}).items()

    def children(self, child: nn.Module, qualname: str, name: str, position: str | None = None,
                 again: bool = False) -> list[Item]:
        """A child module as items: one (:meth:`child`), or for a leaf that computes several layers (timm's
        ``BatchNormAct2d``) the first named ``name``, which holds the parameters, and the rest unnamed.
        ``again``: a second call of a module called already, whose layer is not the module's (:meth:`tie`)."""
        make = leaf(type(child))
        if make is None:
            return [self.child(child, qualname, name, position)]
        try:
            items = [item for item in self.module(child, qualname) if not _no_op(item)]
        except SpecError as e:
            raise self.relocated(e, child, qualname) from None
        if items:
            items[0].name = None if name == position else name
            if not again and isinstance(items[0], Layer):
                self.made.setdefault(qualname, items[0])
        return items

    def tie(self) -> None:
        """Every parameter the model holds under several names (``self.decoder.weight = self.encoder.weight``,
        word_language_model's and nanoGPT's tied heads), which torch counts once, as the spec's ``tie:``: the
        first written layer of those names owns the weight and the others tie theirs to it, so the spec counts
        it once and its module holds one parameter under every name, as the model's state dict has it. A spec
        ties a linear layer's or an embedding's weight and nothing else: any other shared parameter (a bias, a
        convolution's weight, a bare parameter) is refused, located at the module that holds both names, since
        counting it twice would be wrong. A name no layer is written for is a module the forward never calls,
        which the check after writing reports (:func:`_unused`)."""
        for names in self.shared:
            holders: list[tuple[str, Layer]] = []
            for name in names:
                path, _, attr = name.rpartition(".")
                layer = self.made.get(path)
                module = self.model.get_submodule(path)
                what = None
                if attr == "bias":
                    what = "a bias"
                elif layer is None and leaf(type(module)) is None:
                    what = f"a parameter of {type(module).__name__}'s own"
                elif attr != "weight" or (layer is not None and layer.kind not in TIED_KINDS):
                    what = f"a {layer.kind} layer's {attr}" if layer is not None else \
                        f"{type(module).__name__}'s {attr}"
                if what is not None:
                    quoted = [f"'{n}'" for n in names]
                    raise module_error(self.model.get_submodule(_common_path(names)),
                                       f"{_and(quoted)} are one parameter, which torch counts once; a spec shares "
                                       f"only the weight of a linear layer or an embedding (tie:), and '{name}' "
                                       f"is {what}", "give each module a parameter of its own, or share only "
                                       "linear and embedding weights (self.head.weight = self.embed.weight)")
                if layer is not None:
                    holders.append((path, layer))
            for path, layer in holders[1:]:
                layer.args["tie"] = holders[0][0]
                for later in self.again:  # a second call of this module: tied to the owner too (one step)
                    if later.args["tie"] == path:
                        later.args["tie"] = holders[0][0]

    def relocated(self, error: SpecError, child: nn.Module, qualname: str) -> SpecError:
        """A torch layer's refusal (``batch_first=False``, ``max_norm``) located at the class of the model that
        holds it, naming the attribute: torch's own source is no place the user can change."""
        cls = type(child)
        prefix = f"{cls.__module__}.{cls.__qualname__}: "
        if not (cls.__module__.startswith("torch.") and error.message.startswith(prefix)):
            return error
        parent, _, name = qualname.rpartition(".")
        owner = self.model.get_submodule(parent) if parent else self.model
        return module_error(owner, f"'{name}' ({cls.__name__}): {error.message[len(prefix):]}", error.hint)

    def child(self, child: nn.Module, qualname: str, name: str, position: str | None = None,
              joined: int | None = None) -> Item:
        """A child module as one item named ``name`` (a layer, or a group of its items)."""
        items = self.module(child, qualname, joined)
        if len(items) == 1 and isinstance(items[0], Layer) and leaf(type(child)) is not None:
            layer = items[0]
            layer.name = None if name == position else name
            return layer
        # a group has a level, named even where a position would do; a plain Sequential is never a block
        return Group(name, items, None if type(child) is nn.Sequential else type(child))

    def node_shapes(self, owner: nn.Module, graph: fx.Graph) -> dict[fx.Node, tuple[int, ...]]:
        """The shape (batch first) of every tensor in ``owner``'s graph, for a forward that reshapes by sizes
        it reads (``x.view(b, 2, c // 2, h, w)``). Computed with fake tensors (no arithmetic, no memory),
        from the shape ``owner`` is given in one fake run of the whole model, made the first time it is needed."""
        from torch._subclasses.fake_tensor import FakeTensorMode
        from torch.fx.passes.shape_prop import ShapeProp, TensorMetadata

        if self._inputs is None:
            self._inputs = {}

            def record(module: nn.Module, args: tuple) -> None:
                if args and isinstance(args[0], torch.Tensor):
                    self._inputs.setdefault(id(module), tuple(args[0].shape))

            hooks = [m.register_forward_pre_hook(record) for m in self.model.modules()]
            try:
                with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
                    run(self.model, torch.zeros(1, *self.input_shape, dtype=torch.long) if self.vocab is not None
                        else torch.empty(1, *self.input_shape))
                # the outputs generated source kept in its store on the way, for a read of it (kept_output)
                self._kept_shapes = {slot: tuple(v.shape) for slot, v in (self.store or {}).items()
                                     if isinstance(v, torch.Tensor)}
            finally:
                for hook in hooks:
                    hook.remove()
        shape = self._inputs.get(id(owner))
        if shape is None:
            raise module_error(owner, "reshapes by its input's size, but the model's forward never calls it with "
                               "one tensor, so that size is unknown")
        kept = self._kept_shapes

        class Shapes(ShapeProp):
            def call_function(self, target: object, args: tuple, kwargs: dict) -> object:
                if target is kept_output:  # a read of the store: a tensor of the shape kept there
                    return torch.empty(kept[args[0]])
                return super().call_function(target, args, kwargs)

        with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
            Shapes(fx.GraphModule(owner, graph)).propagate(torch.empty(shape))
        return {n: tuple(n.meta["tensor_meta"].shape) for n in graph.nodes
                if isinstance(n.meta.get("tensor_meta"), TensorMetadata)}


def shared_parameters(model: nn.Module) -> list[list[str]]:
    """The names of every parameter the model holds under more than one (in the order torch registers them, so
    the first is the name ``model.named_parameters()`` gives it): one tensor that torch counts once."""
    names: dict[int, list[str]] = {}
    for name, p in model.named_parameters(remove_duplicate=False):
        names.setdefault(id(p), []).append(name)
    return [group for group in names.values() if len(group) > 1]


def _common_path(names: list[str]) -> str:
    """The path of the innermost module that holds every one of ``names`` (where the sharing is written)."""
    parts = [name.split(".")[:-1] for name in names]
    common: list[str] = []
    for level in zip(*parts):
        if len(set(level)) > 1:
            break
        common.append(level[0])
    return ".".join(common)


#: the layer kinds whose weight a spec ties to another layer's (``tie:``)
TIED_KINDS = ("linear", "embedding")
#: methods and functions that compute nothing a spec sees (a copy in memory order)
PASS_THROUGH = {"contiguous", "clone", torch.clone}
#: the casts of a tensor's type that a model may call on what already has that type (:meth:`_Graph._keeps_type`)
CASTS = {"long": torch.int64, "int": torch.int32, "float": torch.float32}
#: the types ``nn.Embedding`` takes its indices in: a cast of token ids to either changes no id
ID_TYPES = (torch.int64, torch.int32)
#: calls that split a tensor into several (read through ``getitem``)
SPLITS = {"chunk", torch.chunk, "split", torch.split}
RESHAPES = {"view", "reshape", torch.reshape}


class _Graph:
    """One module's fx graph written as items: chains, and branches between a fork and a merge."""

    def __init__(self, conv: Converter, owner: nn.Module, qualname: str, graph: fx.Graph, joined: int | None = None,
                 kept: dict[str, fx.Node] | None = None):
        self.conv, self.owner, self.qualname, self.graph = conv, owner, qualname, graph
        self.pending: dict[fx.Node, str] = {}  # kept outputs no module computes: named as their items are made
        conv.noted.update(kept or {})
        for slot, node in (kept or {}).items():  # a from: names a layer or block: the module that computes it
            if node.op == "call_module":
                conv.kept[slot] = self.qual(str(node.target))
            else:
                self.pending[node] = slot
        self.nodes = list(graph.nodes)
        self.order = {n: i for i, n in enumerate(self.nodes)}
        inputs = [n for n in self.nodes if n.op == "placeholder"]
        outputs = [n for n in self.nodes if n.op == "output"]
        if len(inputs) != 1:
            raise module_error(owner, f"its forward takes {len(inputs)} inputs; a spec layer takes one")
        self.input = inputs[0]
        result = outputs[0].args[0]
        if not isinstance(result, fx.Node):
            raise module_error(owner, "its forward returns several values; a spec layer returns one tensor")
        self.result = result
        self.sizes: set[fx.Node] = set()  # nodes that are sizes, not tensors (x.shape[2] // 16)
        for n in self.nodes:
            if self._is_size(n):
                self.sizes.add(n)
        self.joined = joined
        if joined is not None and not all(self._joins(user) for user in self.input.users):
            raise module_error(owner, "is given a list of tensors and uses it other than by concatenating it",
                               "a spec layer takes one tensor")
        self._shapes: dict[fx.Node, tuple[int, ...]] | None = None

    def _is_size(self, n: fx.Node) -> bool:
        if n.op == "call_method" and n.target in ("size", "dim"):
            return True
        if n.op == "call_function" and n.target is getattr and n.args[1] in ("shape", "ndim"):
            return True
        ins = _tensor_inputs(n)
        return n.op == "call_function" and bool(ins) and all(i in self.sizes for i in ins) and \
            getattr(n.target, "__module__", None) in ("_operator", "operator", "math", "builtins")

    def _joins(self, node: fx.Node) -> bool:
        """``torch.cat(inputs, dim)`` of the list this module is given, along the axis it was given as."""
        return node.op == "call_function" and node.target is torch.cat and node.args[0] is self.input and \
            _spec_axis(_argument(node, 1, "dim", 0)) == self.joined

    def shapes(self) -> dict[fx.Node, tuple[int, ...]]:
        if self._shapes is None:
            self._shapes = self.conv.node_shapes(self.owner, self.graph)
        return self._shapes

    def inputs(self, node: fx.Node) -> list[fx.Node]:
        """The tensors ``node`` computes from (a piece of a split: the split's input)."""
        if node.op == "call_function" and node.target is operator.getitem and isinstance(node.args[0], fx.Node) \
                and node.args[0].target in SPLITS:
            return self.inputs(node.args[0])
        return [i for i in _tensor_inputs(node) if i not in self.sizes]

    def items(self) -> list[Item]:
        return self.chain(self.input, self.result)

    def chain(self, src: fx.Node, dst: fx.Node) -> list[Item]:
        """The items that compute ``dst`` from ``src``."""
        out: list[Item] = []
        node = dst
        while node is not src:
            before = len(out)
            after = self.step(node, src, out)
            if node in self.pending:
                self.name_kept(node, out[before:])
            node = after
        return _last_steps(out[::-1])

    def step(self, node: fx.Node, src: fx.Node, out: list[Item]) -> fx.Node:
        """Appends the items (last first) that compute ``node`` from the node it returns."""
        if node.op == "placeholder":
            raise module_error(self.owner, "its forward is not a chain of branches and merges from its input")
        if _reads(node):
            raise module_error(self.owner, f"reads the output kept under '{node.args[0]}' other than as a branch "
                               "of a merge (torch.cat, +, *)", "a spec's from: starts a branch of a merge",
                               at=type(self.owner).forward)
        taken = self.recurrent(node) or self.scaled_rows(node)
        if taken is not None:
            out.extend(reversed(taken[0]))
            return taken[1]
        inputs = self.inputs(node)
        if self.passes(node):
            return inputs[0]
        dense = self.running_concat(node)
        if dense is not None:
            out.extend(reversed(dense[0]))
            return dense[1]
        special = self.scale(node, inputs) or self.position(node, inputs) or self.token(node) or \
            self.learned_positions(node)
        if special is not None:
            out.append(special[0])
            return special[1]
        merge = self.merge_kind(node, inputs)
        if merge is None:
            distinct = list(dict.fromkeys(inputs))  # attention called as (x, x, x)
            if len(distinct) != 1:
                raise self.unsupported(node)
            out.extend(reversed(self.single(node)))
            return distinct[0]
        inputs = self.terms(node) or inputs
        starts = [self.start(i, src) for i in inputs]  # a read of the store: a from: branch
        local = [i for i, start in zip(inputs, starts) if start is None]
        if not local:
            raise module_error(self.owner, "merges only outputs kept earlier, so what its forward computes before "
                               "the merge reaches nothing", "give the merge a branch on its input ([])",
                               at=type(self.owner).forward)
        fork = self.fork(local, src)
        item = merge([self.chain(start or fork, i) for i, start in zip(inputs, starts)])
        if any(starts):  # slots for now; the paths they are kept for once every module is traced
            item.sources = [start.args[0] if start is not None else None for start in starts]
            self.conv.reads.append((item, self.owner))
        out.append(item)
        return fork

    def _table_of_positions(self, node: object) -> fx.Node | None:
        """``self.pos(torch.arange(n))`` or ``torch.arange(0, n)``, of an index type on any device (``.unsqueeze(0)``
        or ``.expand(…)`` after it): the embedding's call."""
        while isinstance(node, fx.Node) and node.op == "call_method" and node.target in ("unsqueeze", "expand"):
            node = node.args[0]
        if not (isinstance(node, fx.Node) and node.op == "call_module" and len(node.args) == 1
                and type(self.owner.get_submodule(str(node.target))) is nn.Embedding):
            return None
        rows = node.args[0]
        while isinstance(rows, fx.Node) and rows.op == "call_method" and rows.target in ("unsqueeze", "expand"):
            rows = rows.args[0]
        if isinstance(rows, fx.Node) and rows.op == "call_function" and rows.target is torch.arange and \
                (len(rows.args) == 1 or (len(rows.args) == 2 and type(rows.args[0]) is int and rows.args[0] == 0)) \
                and set(rows.kwargs) <= {"dtype", "device"} and rows.kwargs.get("dtype", torch.int64) in ID_TYPES:
            return node  # (nanoGPT's torch.arange(0, t, dtype=torch.long, device=device) too)
        return None

    def learned_positions(self, node: fx.Node) -> tuple[Merge, fx.Node] | None:
        """``self.tok(x) + self.pos(torch.arange(x.size(1)))``: learned positions, rows 0 … T−1 of a table, as a
        ``pos_embedding`` named after the table, in a branch of the sum (GPT-2's ``wte`` and ``wpe``); added to
        another sequence, a residual branch of it (the positions read only its length)."""
        if MERGES.get(node.target) != "add" or len(node.args) != 2 or not all(isinstance(a, fx.Node)
                                                                              for a in node.args):
            return None
        tables = [self._table_of_positions(a) for a in node.args]
        if [t is None for t in tables].count(True) != 1:
            return None
        table = next(t for t in tables if t is not None)
        other = next(a for a, t in zip(node.args, tables) if t is None)
        (made,) = self.single(table)
        if _plain(made.args.get("padding_idx")) is not None:
            return None
        pos = Layer("pos_embedding", {"positions": made.args["vocab"], "dim": made.args["dim"]}, name=made.name)
        if other.op == "call_module" and type(self.owner.get_submodule(str(other.target))) is nn.Embedding:
            ids = other.args[0]
            return Merge("add", [self.chain(ids, other), [pos]]), ids
        return Merge("add", [[], [pos]]), other

    def scaled_rows(self, node: fx.Node) -> tuple[list[Item], fx.Node] | None:
        """``self.embed(x) * math.sqrt(d)`` ("Attention Is All You Need"'s scaled embedding): the rows looked up
        times a constant, archcalc's ``embedding: {scale: …}``."""
        if MERGES.get(node.target) != "multiply" or len(node.args) != 2 or node.kwargs:
            return None
        table, factor = node.args if isinstance(node.args[0], fx.Node) else node.args[::-1]
        if not (isinstance(table, fx.Node) and table.op == "call_module" and len(table.users) == 1
                and type(self.owner.get_submodule(str(table.target))) is nn.Embedding
                and type(factor) in (int, float) and factor > 0):
            return None
        items = self.single(table)
        items[0].args["scale"] = Default(float(factor), None)
        return items, table.args[0]

    # -- recurrent layers: what a forward takes of (output, h_n) ------------------------------------------

    def _rnn(self, node: object) -> nn.Module | None:
        """The torch recurrent layer ``node`` calls (its value the pair (output, h_n)), if it calls one."""
        if not (isinstance(node, fx.Node) and node.op == "call_module"):
            return None
        child = self.owner.get_submodule(str(node.target))
        return child if type(child) in RECURRENT else None

    @staticmethod
    def _item(node: object, index: object = None) -> fx.Node | None:
        """The tuple ``node`` is an element of (``pair[index]``, any int index when None), if it is one."""
        if isinstance(node, fx.Node) and node.op == "call_function" and node.target is operator.getitem and \
                isinstance(node.args[0], fx.Node) and type(node.args[1]) is int and \
                (index is None or node.args[1] == index):
            return node.args[0]
        return None

    def _state(self, node: object) -> fx.Node | None:
        """The recurrent call whose final hidden state h_n ``node`` is (``pair[1]``; an LSTM's ``pair[1][0]``)."""
        pair = self._item(node, 1)
        if pair is not None and self._rnn(pair) is not None and not isinstance(self._rnn(pair), nn.LSTM):
            return pair
        inner = self._item(node, 0)
        pair = self._item(inner, 1) if inner is not None else None
        return pair if pair is not None and isinstance(self._rnn(pair), nn.LSTM) else None

    @staticmethod
    def _row(node: object) -> tuple[fx.Node, int] | None:
        """``h[k]`` (or ``h[k, :, :]``): the tensor and k."""
        if not (isinstance(node, fx.Node) and node.op == "call_function" and node.target is operator.getitem):
            return None
        index = node.args[1]
        index = index if isinstance(index, tuple) else (index,)
        if type(index[0]) is int and all(isinstance(i, slice) and i == slice(None) for i in index[1:]):
            return node.args[0], index[0]
        return None

    def recurrent(self, node: fx.Node) -> tuple[list[Item], fx.Node] | None:
        """What a forward takes of a torch recurrent layer's pair (output, h_n), as the spec layer's ``output``:
        ``out, _ = rnn(x)`` is ``sequence`` (``out[:, -1]`` after it, ``last``: :func:`_last_steps`); the last
        layer's final state, ``h_n[-1]`` (``h_n.squeeze(0)`` of one layer; ``torch.cat([h_n[-2], h_n[-1]], 1)``
        of a bidirectional one), is ``hidden``. Any other use is refused where it is made: the spec's layer gives
        one tensor. Returns the layer and the node it reads, or None when ``node`` reads no such pair."""
        call, output = None, None
        for read in (node, *_tensor_inputs(node)):  # a sequence-first layer's out[-1]: refused as the layer is
            made = read if self._rnn(read) is not None else self._item(read)
            if self._rnn(made) is not None and not self._rnn(made).batch_first:
                self.single(made)
        if self._rnn(node) is not None:
            what = "the pair (output, h_n) it returns whole"
            raise module_error(self.owner, f"uses {what} of '{node.target}' ({type(self._rnn(node)).__name__})",
                               "take its output (out, _ = rnn(x)) or its last layer's state (h_n[-1])",
                               at=type(self.owner).forward)
        seq = self._item(node, 0)
        if seq is not None and self._rnn(seq) is not None:
            call, output = seq, "sequence"
        if call is None:
            call, output = self._hidden(node), "hidden"
        if call is None:  # a use of the pair, h_n or c_n the spec has no output for (c_n[-1], h_n whole)
            for read in (node, *_tensor_inputs(node)):
                pair = self._item(self._item(read, 1), 1) if self._item(read, 1) is not None else None
                if pair is not None and isinstance(self._rnn(pair), nn.LSTM):
                    raise module_error(self.owner, f"uses the cell state c_n of '{pair.target}' (LSTM), which has "
                                       "no spec form", "take its output or its hidden state h_n[-1]",
                                       at=type(self.owner).forward)
            state = next((s for read in (node, *_tensor_inputs(node))
                          for s in [self._state(read) or (self._item(read, 1) if self._rnn(self._item(read, 1))
                                                          is not None else None)] if s is not None), None)
            if state is None:
                return None
            raise module_error(self.owner, f"uses the final state of '{state.target}' "
                               f"({type(self._rnn(state)).__name__}) other than as its last layer's (h_n[-1]; "
                               "torch.cat([h_n[-2], h_n[-1]], 1) when bidirectional)",
                               "a spec layer gives every step's output, the last step's or the last layer's "
                               "final state", at=type(self.owner).forward)
        live = [u for u in call.users if _used(u)]  # out, (h, c) = lstm(x) makes an item of each, used or not
        if len(live) > 1:
            raise module_error(self.owner, f"uses both the output and the final state of '{call.target}' "
                               f"({type(self._rnn(call)).__name__}); a spec layer gives one of them",
                               at=type(self.owner).forward)
        items = self.single(call)
        layer = items[0]
        layer.args["output"] = Default(output, "sequence")
        return items, call.args[0]

    def _hidden(self, node: fx.Node) -> fx.Node | None:
        """The recurrent call whose last layer's final state ``node`` is, both directions side by side as
        ``hidden`` gives them; a state the spec cannot give is refused."""
        row = self._row(node)
        if row is None and node.op in ("call_method", "call_function") and node.target in ("squeeze", torch.squeeze) \
                and _argument(node, 1, "dim", None) == 0:
            row = (node.args[0], 0)  # h_n.squeeze(0): one layer, one direction
            if self._state(row[0]) is not None and self._states(self._state(row[0])) != 1:
                raise module_error(self.owner, f"squeezes h_n of '{self._state(row[0]).target}', which holds "
                                   f"{self._states(self._state(row[0]))} states", "take h_n[-1]",
                                   at=type(self.owner).forward)
        if row is not None:
            call = self._state(row[0])
            if call is None:
                return None
            m, n = self._rnn(call), self._states(call)
            if row[1] % n != n - 1:
                raise module_error(self.owner, f"uses h_n[{row[1]}] of '{call.target}', an earlier layer's or "
                                   "direction's final state", "take the last layer's, h_n[-1]",
                                   at=type(self.owner).forward)
            if m.bidirectional:
                raise module_error(self.owner, f"uses h_n[{row[1]}] of the bidirectional '{call.target}', its "
                                   "backward direction alone", "take both directions: torch.cat([h_n[-2], "
                                   "h_n[-1]], dim=1), archcalc's output: hidden", at=type(self.owner).forward)
            return call
        if node.op == "call_function" and node.target is torch.cat and isinstance(node.args[0], (list, tuple)) \
                and len(node.args[0]) == 2 and _argument(node, 1, "dim", 0) in (1, -1):
            rows = [self._row(part) for part in node.args[0]]
            calls = {self._state(r[0]) for r in rows if r is not None}
            if None in rows or len(calls) != 1 or None in calls:
                return None
            call = calls.pop()
            n = self._states(call)
            if not self._rnn(call).bidirectional or [r[1] % n for r in rows] != [n - 2, n - 1]:
                raise module_error(self.owner, f"joins final states of '{call.target}' other than both directions "
                                   "of its last layer (torch.cat([h_n[-2], h_n[-1]], dim=1))",
                                   at=type(self.owner).forward)
            return call
        return None

    def _states(self, call: fx.Node) -> int:
        """The rows of a recurrent call's h_n: one per layer and direction."""
        m = self._rnn(call)
        return m.num_layers * (2 if m.bidirectional else 1)

    def name_kept(self, node: fx.Node, made: list[Item]) -> None:
        """The output of ``node``, kept under a slot for a ``from:``, is no module's (an inline residual or merge,
        a function): the item that computes it (``made[0]``, the last of those ``node`` makes) takes the name the
        slot gives it, so the spec's path for it is the slot (``body.1``)."""
        slot = self.pending[node]
        holder, _, part = slot.rpartition(".")
        item = made[0] if made else None
        if holder != self.qualname or not isinstance(item, (Layer, Merge)) or item.name not in (None, part):
            raise module_error(self.owner, f"keeps under '{slot}' an output that no layer or construct of its own "
                               "computes, so a spec's from: cannot name it", "keep the output of a layer or block",
                               at=type(self.owner).forward)
        item.name = part
        self.conv.kept[slot] = slot

    def passes(self, node: fx.Node) -> bool:
        """A call that changes nothing the spec sees: a copy, attention's output taken from its (output,
        weights) pair, the concatenation of the list this module is given, ``y.expand_as(x)`` into a sum or
        product (which broadcast ``y`` themselves: ECA's gate)."""
        if (node.op in ("call_method", "call_function") and node.target in PASS_THROUGH) or self._keeps_type(node):
            return True
        if node.op == "call_method" and node.target == "expand_as" and node.users and \
                all(MERGES.get(user.target) in ("add", "multiply") for user in node.users):
            return True
        if self.joined is not None and self._joins(node):
            return True
        if self._zero_plus(node):  # sum([...]) starts from 0
            return True
        if node.op == "call_function" and node.target is operator.getitem and node.args[1] == 0:
            source = node.args[0]
            return isinstance(source, fx.Node) and source.op == "call_module" and \
                isinstance(self.owner.get_submodule(str(source.target)), nn.MultiheadAttention)
        return False

    def _keeps_type(self, node: fx.Node) -> bool:
        """A cast that changes no number: ``x.long()`` or ``x.int()`` of the token ids the model is given (into its
        embedding, which takes either type; ids below the vocabulary fit both), ``h.float()`` or
        ``h.to(torch.float32)`` of float32 values. Any other cast changes the numbers (a float truncated to an
        integer, float64's or float16's precision, ids wrapped round in int16 or made booleans), which a spec does
        not say."""
        if node.op != "call_method" or node.kwargs or not node.args:
            return False
        if node.target == "to" and len(node.args) == 2 and isinstance(node.args[1], torch.dtype):
            to = node.args[1]
        elif node.target in CASTS and len(node.args) == 1:
            to = CASTS[node.target]
        else:
            return False
        if self._ids(node.args[0]):  # (int32 holds every id of a table up to 2³¹ rows)
            return to is torch.int64 or (to is torch.int32 and self.conv.vocab <= 2**31)
        return to == torch.float32

    def _ids(self, value: object) -> bool:
        """Whether ``value`` holds token ids: the model's own input when it goes into an embedding, or an
        integer cast of those."""
        if not isinstance(value, fx.Node):
            return False
        if value.op == "placeholder":
            return self.owner is self.conv.model and self.conv.vocab is not None
        return self._keeps_type(value) and self._ids(value.args[0])

    @staticmethod
    def _zero_plus(node: fx.Node) -> bool:
        """``0 + a``: where Python's ``sum([a, b, …])`` starts (generated source adds three branches or more so)."""
        return node.op == "call_function" and node.target is operator.add and len(node.args) == 2 and \
            type(node.args[0]) is int and node.args[0] == 0 and isinstance(node.args[1], fx.Node)

    def terms(self, node: fx.Node) -> list[fx.Node] | None:
        """The terms of ``sum([a, b, c])``, which Python computes as ``((0 + a) + b) + c``: one add of them all,
        as the spec's merge of three branches is; None for any other addition."""
        out: list[fx.Node] = []
        while node.op == "call_function" and node.target is operator.add and len(node.args) == 2:
            if self._zero_plus(node):
                return [node.args[1], *reversed(out)]
            left, right = node.args
            if not (isinstance(left, fx.Node) and isinstance(right, fx.Node)) or (out and len(node.users) != 1):
                return None
            out.append(right)
            node = left
        return None

    def running_concat(self, node: fx.Node) -> tuple[list[Item], fx.Node] | None:
        """DenseNet's block: ``features = [x]; features.append(layer(features)) …; torch.cat(features, 1)``.
        Each layer reads the concatenation of all earlier outputs, so it is the running concatenation: the
        block is a chain of ``concat: [[], layer]``, each layer starting from the concatenation it is given."""
        if not (node.op == "call_function" and node.target is torch.cat and isinstance(node.args[0], (list, tuple))):
            return None
        parts = list(node.args[0])
        if len(parts) < 2 or not all(isinstance(p, fx.Node) for p in parts):
            return None
        for i, part in enumerate(parts[1:], 1):
            given = part.args[0] if part.op == "call_module" and len(part.args) == 1 and not part.kwargs else None
            if not (isinstance(given, (list, tuple)) and list(given) == parts[:i]):
                return None
        axis = _spec_axis(_argument(node, 1, "dim", 0))
        if axis is None:
            raise module_error(self.owner, "a concatenation along the batch axis has no spec form")
        items: list[Item] = []
        for part in parts[1:]:
            target = str(part.target)
            qual = self.qual(target)
            item = self.conv.child(self.owner.get_submodule(target), qual, target, joined=axis)
            items.append(Merge("concat", [[], [item]], {"axis": axis} if axis else {}))
        return items, parts[0]

    def _parameter(self, node: fx.Node) -> tuple[str, torch.Tensor] | None:
        """``node`` as a parameter of the module's own (read directly, or expanded), with its name."""
        while (node.op == "call_method" and node.target in ("expand", "expand_as")) or \
                (node.target is operator.getitem and _leading(node.args[1])):  # table[:, :T]: its first rows
            node = node.args[0]
        if node.op != "get_attr" or "." in str(node.target):
            return None
        try:
            return str(node.target), self.owner.get_parameter(str(node.target)).detach()
        except AttributeError:
            return None

    def scale(self, node: fx.Node, inputs: list[fx.Node]) -> tuple[Layer, fx.Node] | None:
        """``self.gamma * x``: a product with a parameter of the module's own is a ``layer_scale`` named after
        it (ConvNeXt's, CaiT's), its value the parameter's when every element starts equal. A vector viewed to
        broadcast along another axis than the last (timm's ``gamma.reshape(1, -1, 1, 1)``) is a ``flat`` one."""
        reads = [(i, *_viewed(i)) for i in inputs]
        params = [(i, read, view) for i, read, view in reads if read.op == "get_attr"]
        if MERGES.get(node.target) != "multiply" or len(inputs) != 2 or len(params) != 1:
            return None
        param, read, view = params[0]
        found = self._parameter(read)
        if found is None:
            return None
        name, value = found
        first = value.flatten()[0]
        start = float(f"{float(first):.7g}") if bool((value == first).all()) else 1e-6  # as float32 reads
        args: dict[str, object] = {"value": Default(start, 1e-6)}
        x = next(i for i in inputs if i is not param)
        if view is not None:
            axes = [i for i, d in enumerate(view) if d != 1]
            if value.dim() != 1 or len(axes) != 1:
                return None
            axis = axes[0] - len(view)  # from the end: the view broadcasts against x's last axes
            if axis != -1:
                rank = len(self.shapes()[x]) - 1  # x's axes after the batch
                args.update(axis=Default(rank + axis, 0), flat=Default(True, False))
            else:
                args.update(axis=Default(-1, 0))
        return Layer("layer_scale", args, name=name, frozen=self.frozen(name)), x

    def position(self, node: fx.Node, inputs: list[fx.Node]) -> tuple[Layer, fx.Node] | None:
        """``x + self.pos_embedding`` with a ``[1, T, D]`` parameter: torchvision ViT's learned positions,
        a ``pos_embedding`` with ``add`` named after the parameter."""
        if MERGES.get(node.target) != "add" or len(inputs) != 2:
            return None
        found = [(i, p) for i in inputs for p in [self._parameter(i)] if p is not None]
        if len(found) != 1 or found[0][1][1].dim() != 3 or found[0][1][1].shape[0] != 1:
            return None
        param, (name, value) = found[0]
        return (Layer("pos_embedding", {"positions": int(value.shape[1]), "add": True}, name=name,
                      frozen=self.frozen(name)), next(i for i in inputs if i is not param))

    def token(self, node: fx.Node) -> tuple[Layer, fx.Node] | None:
        """``torch.cat([self.class_token.expand(n, -1, -1), x], dim=1)``: a learned ``[1, 1, D]`` token put
        before the sequence, a ``class_token`` named after the parameter."""
        if not (node.op == "call_function" and node.target is torch.cat and isinstance(node.args[0], (list, tuple))
                and len(node.args[0]) == 2 and _argument(node, 1, "dim", 0) == 1):
            return None
        first, rest = node.args[0]
        found = self._parameter(first) if isinstance(first, fx.Node) else None
        if found is None or tuple(found[1].shape[:2]) != (1, 1) or found[1].dim() != 3:
            return None
        return Layer("class_token", {}, name=found[0], frozen=self.frozen(found[0])), rest

    def frozen(self, name: str) -> bool:
        """Whether the module's own parameter ``name`` (a bare one: a token, a table of positions) is frozen."""
        return not self.owner.get_parameter(name).requires_grad

    def merge_kind(self, node: fx.Node, inputs: list[fx.Node]) -> Callable[[list[list[Item]]], Merge] | None:
        kind = MERGES.get(node.target) if node.op in ("call_function", "call_method") else None
        if kind is not None and len(inputs) == 2 and len(node.args) == 2:
            return lambda branches: Merge(kind, branches)
        if node.op == "call_function" and node.target is torch.cat and len(inputs) >= 2:
            axis = _spec_axis(_argument(node, 1, "dim", 0))
            if axis is None:
                raise module_error(self.owner, "a concatenation along the batch axis has no spec form")
            return lambda branches: Merge("concat", branches, {"axis": axis} if axis else {})
        return None

    def start(self, node: fx.Node, src: fx.Node) -> fx.Node | None:
        """The read of the store a merge's input ``node`` is computed from, where it is not computed from ``src``
        (the first such read, when it merges several: the others are from: branches of merges inside it)."""
        seen, stack = set(), [node]
        while stack:
            m = stack.pop()
            if m in seen:
                continue
            seen.add(m)
            if m is src:
                return None
            stack.extend(self.inputs(m))
        reads = [m for m in seen if _reads(m)]
        return min(reads, key=self.order.__getitem__) if reads else None

    def qual(self, target: str) -> str:
        """The full name of this module's child ``target`` (``layer1.0.conv1``)."""
        return joined_name(self.qualname, target)

    def fork(self, inputs: list[fx.Node], src: fx.Node) -> fx.Node:
        """The latest value every input is computed from: where their branches start."""
        def ancestors(n: fx.Node) -> set[fx.Node]:
            seen, stack = set(), [n]
            while stack:
                m = stack.pop()
                if m in seen:
                    continue
                seen.add(m)
                if m is not src:
                    stack.extend(self.inputs(m))
            return seen
        common = set.intersection(*(ancestors(i) for i in inputs))
        if not common:
            raise module_error(self.owner, "its branches do not start from one value")
        return max(common, key=self.order.__getitem__)

    def single(self, node: fx.Node) -> list[Item]:
        """The items of a call on one tensor, in order."""
        if node.op == "call_module":
            target = str(node.target)
            child = self.owner.get_submodule(target)
            if type(child) is nn.MultiheadAttention:  # (archcalc's SelfAttention takes x alone)
                self.attention_call(node, child)
            else:
                self.plain_call(node, child)
            stateful = any(True for _ in child.parameters()) or any(True for _ in child.buffers())
            uses = [n for n in self.nodes if n.op == "call_module" and n.target == node.target]
            if stateful and node is not uses[0]:
                return self.again(node, child, uses)
            qual = self.qual(target)
            items = self.conv.children(child, qual, target)
            if not stateful and len(items) == 1 and isinstance(items[0], Layer):
                items[0].name = None  # a stateless module called several times (one ReLU) names nothing
            return items
        if node.op in ("call_function", "call_method"):
            if node.target is operator.getitem and isinstance(node.args[0], fx.Node) and node.args[0].target in SPLITS:
                return self.piece(node)
            if node.target in RESHAPES:
                return [self.reshape(node)]
            layer = function_layer(node, self.owner)
            if layer is not None:
                return [layer]
        raise self.unsupported(node)

    def again(self, node: fx.Node, child: nn.Module, uses: list[fx.Node]) -> list[Item]:
        """A module with weights called once more (``self.mix(self.mix(x))``), which torch counts once: this
        call's layer ties its weight to the first call's (``tie:``), named after another attribute that holds
        the module (``self.b = self.a``: torch names both, ``b.weight`` in the state dict too) or else after the
        module and the call's number (``mix_2``, the tied weight's second name in the spec's module). Only a
        linear layer without a bias and an embedding can be: a spec ties a weight and nothing else, so a module
        with any other parameter or buffer called twice is refused (counted twice, it would be wrong)."""
        target = str(node.target)
        n = uses.index(node) + 1
        items = self.conv.children(child, self.qual(target), target, again=True) if leaf(type(child)) else []
        own = sorted(name for name, _ in [*child.named_parameters(), *child.named_buffers()])
        layer = items[0] if len(items) == 1 and isinstance(items[0], Layer) else None
        if layer is None or layer.kind not in TIED_KINDS or own != ["weight"]:
            what = f"a {layer.kind} layer" if layer is not None else "a module of several layers"
            if layer is not None and layer.kind in TIED_KINDS:
                what += f" with {_and(sorted(set(own) - {'weight'}))} beside its weight"
            raise module_error(self.owner, f"calls '{target}' ({type(child).__name__}) {len(uses)} times, one "
                               "module's parameters used by each call, which torch counts once; a spec shares "
                               f"only the weight of a linear layer or an embedding (tie:), and '{target}' is {what}",
                               "give each call a module of its own (its own parameters), or share only a linear "
                               "layer's weight: self.b.weight = self.a.weight", at=type(self.owner).forward)
        if "." not in target:
            aliases = [name for name, m in self.owner._modules.items() if m is child and name != target]
        else:
            aliases = []
        if n - 2 < len(aliases):
            name = aliases[n - 2]
        else:
            name, k = f"{target}_{n}", n
            while name in self.owner._modules or hasattr(self.owner, name):
                k += 1
                name = f"{target}_{k}"
            self.conv.renamed.append((self.qual(name), self.qual(target)))
        layer.name = name
        layer.args["tie"] = self.qual(target)
        self.conv.again.append(layer)
        return items

    def plain_call(self, node: fx.Node, child: nn.Module) -> None:
        """A call of ``child`` on its input alone, any other argument at its default: as its forward was traced."""
        try:
            bound = inspect.signature(child.forward).bind(*node.args, **node.kwargs).arguments
        except (TypeError, ValueError):
            bound = {}
        fixed = defaults(child)
        given = {k: v for k, v in list(bound.items())[1:] if not (k in fixed and _same(v, fixed[k]))}
        if given:
            raise module_error(self.owner, f"calls '{node.target}' ({type(child).__name__}) with "
                               f"{', '.join(f'{k}={v}' for k, v in given.items())}: a spec layer is called with "
                               "its input alone", at=type(self.owner).forward)

    def attention_call(self, node: fx.Node, child: nn.MultiheadAttention) -> None:
        """``attn(x, x, x)`` without masks: self-attention, which ``multihead_attention`` is."""
        q, k, v = (list(node.args) + [node.kwargs.get(n) for n in ("query", "key", "value")])[:3]
        masks = {k: v for k, v in node.kwargs.items() if k in ("key_padding_mask", "attn_mask", "is_causal")
                 and v not in (None, False)}
        if not (q is k is v) or masks or len(node.args) > 3:
            raise module_error(self.owner, f"calls '{node.target}' ({type(child).__name__}) other than as "
                               "self-attention without masks (attn(x, x, x))",
                               "multihead_attention is self-attention: cross-attention and masks have no spec form")

    def piece(self, node: fx.Node) -> list[Item]:
        """``x.chunk(n, dim)[k]`` of a size n divides, or ``x.split(size, dim)[k]`` into pieces of one size (CSPNet's
        halves): the axis split into n rows (``reshape``), row k taken (``select``), the other axes kept as the
        input has them (``in_shape[j]``)."""
        split = node.args[0]
        source = split.args[0]
        axis = _spec_axis(_argument(split, 2, "dim", 0))
        shape = self.shapes()[source][1:]
        if axis is None:
            raise module_error(self.owner, "a split of the batch axis has no spec form")
        axis %= len(shape)
        n = _argument(split, 1, "chunks", None)
        if split.target in ("split", torch.split):  # the pieces' size, as the fake run found it (a size it computed)
            sections = _argument(split, 1, "split_size", None) or split.kwargs.get("split_size_or_sections")
            size = self.shapes()[node][1:][axis]
            equal = not isinstance(sections, (list, tuple)) or len(set(sections)) == 1
            n = shape[axis] // size if equal and shape[axis] % size == 0 else None
        if not isinstance(n, int) or shape[axis] % n:
            pieces = f"{n} chunks" if isinstance(n, int) else "pieces"
            raise module_error(self.owner, f"splits an axis of {shape[axis]} into {pieces} of unequal size",
                               "archcalc splits an axis into equal chunks")
        dims: list[object] = [f"in_shape[{j}]" for j in range(axis)] + [n, -1] + \
            [f"in_shape[{j}]" for j in range(axis + 1, len(shape))]
        return [Layer("reshape", {"shape": dims}),
                Layer("select", _args(index=(node.args[1], 0), axis=(axis, 0)))]

    def reshape(self, node: fx.Node) -> Layer:
        """``x.view(…)`` / ``x.reshape(…)`` from the shapes it gives: a ``flatten`` where it joins adjacent axes,
        else a ``reshape`` that keeps the axes it leaves alone as ``in_shape[j]`` (so the spec takes any size
        the model does) and writes -1 for the one size the model computes."""
        shapes = self.shapes()
        source = self.inputs(node)[0]
        before, after = shapes[source], shapes[node]
        if before[0] != after[0]:
            raise module_error(self.owner, "a reshape that moves elements across the batch has no spec form")
        a, b = before[1:], after[1:]
        for start in range(len(a)):
            for end in range(start + 1, len(a)):
                if [*a[:start], math.prod(a[start:end + 1]), *a[end + 1:]] == list(b):
                    return Layer("flatten", _args(start=(start, 0), end=(end if end < len(a) - 1 else -1, -1)))
        given = list(node.args[1:])
        if len(given) == 1 and isinstance(given[0], (list, tuple)):
            given = list(given[0])
        given = given or list(node.kwargs.get("shape", ()))
        literal = [isinstance(g, int) for g in given[1:]] if len(given) == len(after) else [False] * len(b)
        kept = 0
        while kept < min(len(a), len(b)) - 1 and a[len(a) - 1 - kept] == b[len(b) - 1 - kept]:
            kept += 1
        lead = len(b) - kept
        dims: list[object] = list(b[:lead])
        computed = [j for j in range(lead) if not literal[j]]
        if len(computed) == 1:
            dims[computed[0]] = -1
        dims += [f"in_shape[{len(a) - kept + j}]" for j in range(kept)]
        return Layer("reshape", {"shape": dims})

    def unsupported(self, node: fx.Node) -> SpecError:
        what = node.target if isinstance(node.target, str) else getattr(node.target, "__name__", str(node.target))
        return module_error(self.owner, f"its forward calls {node.op} '{what}', which archcalc cannot express",
                            "archcalc maps layers, activations, pooling, flatten, reshapes, +, *, torch.cat and "
                            "products with a number (x * c, x / c)")


def _used(node: fx.Node) -> bool:
    """Whether a value reaches anything: an element taken from a tuple and left unused does not."""
    return any(u.target is not operator.getitem or _used(u) for u in node.users)


def _last_steps(items: list[Item]) -> list[Item]:
    """A recurrent layer's every step followed by a selection of the last (``out[:, -1]``) as the layer's own
    ``output: last``, which is exactly that."""
    out: list[Item] = []
    for item in items:
        last = out[-1] if out else None
        if isinstance(item, Layer) and item.kind == "select" and item.name is None and \
                _plain(item.args.get("index")) == -1 and _plain(item.args.get("axis")) == 0 and \
                isinstance(last, Layer) and last.kind in ("lstm", "gru", "rnn") and \
                _plain(last.args.get("output")) == "sequence":
            last.args["output"] = Default("last", "sequence")
            continue
        out.append(item)
    return out


def _leading(index: object) -> bool:
    """An index that keeps the first elements of each axis (``[:, :T]``)."""
    index = index if isinstance(index, tuple) else (index,)
    return all(isinstance(i, slice) and i.start in (None, 0) and i.step in (None, 1) for i in index)


def _spec_axis(dim: int) -> int | None:
    """torch's dim (batch first) as the spec's axis (batch excluded); None for the batch axis."""
    return None if dim == 0 else dim - 1 if dim > 0 else dim


# -- blocks: modules of one class that differ only in numbers ------------------------------------------


def _shape(item: Item) -> object:
    """An item with its numbers replaced by a placeholder: items of one shape differ only in numbers."""
    if isinstance(item, Layer):
        return ("L", item.kind, item.name, tuple((k, _num(_plain(v))) for k, v in item.args.items()), item.frozen)
    if isinstance(item, Group):
        return ("G", item.name, tuple(_shape(i) for i in item.items), item.frozen)
    if isinstance(item, Merge):
        return ("M", item.kind, tuple(sorted(item.args.items())), tuple(tuple(_shape(i) for i in b)
                                                                         for b in item.branches), tuple(item.sources),
                item.name)
    if isinstance(item, Repeat):
        return ("R", tuple(_shape(i) for i in item.items))
    return ("U", item.block, item.name, len(item.args), item.count, item.frozen)


def _plain(v: object) -> object:
    return v.value if isinstance(v, Default) else v


def _num(v: object) -> object:
    return "#" if _is_int(v) else tuple(v) if isinstance(v, list) else v


def _is_int(v: object) -> bool:
    """A number a block may take as a parameter (a size, a stride, a stochastic depth's rate)."""
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower().lstrip("_")  # _DenseLayer → dense_layer


# -- the writer ---------------------------------------------------------------------------------------


def data(items: list[Item]) -> list[object]:
    """Items as the YAML data of a spec's ``layers:``."""
    out: list[object] = []
    for item in items:
        if isinstance(item, Layer):
            written = item.written()
            primary = getattr(LAYERS.get(item.kind), "PRIMARY", None)
            if item.name is None and len(written) == 1 and primary in written and not item.frozen:  # linear: 64
                out.append({item.kind: _flow(written[primary])})
                continue
            args = {**written, **({"name": item.name} if item.name is not None else {}), **_frozen(item.frozen)}
            out.append({item.kind: Flow({k: _flow(v) for k, v in args.items()})} if args else item.kind)
        elif isinstance(item, Group) and item.name is not None and len(item.items) == 1 and \
                isinstance(item.items[0], Merge) and item.items[0].name is None:
            # a merge's own module: the merge named so, its branches' layers in it (an inline merge in the
            # group would take a position there, which a branch's own "0" could collide with)
            out.append({**_merge_data(item.items[0], inline=False), "name": item.name, **_frozen(item.frozen)})
        elif isinstance(item, Group):
            out.append({**({"name": item.name} if item.name is not None else {}), **_frozen(item.frozen),
                        "layers": data(item.items)})
        elif isinstance(item, Merge):
            out.append(_merge_data(item, inline=True))
        elif isinstance(item, Repeat):
            out.append({"repeat": item.count, "index": "i", "layers": data(item.items)})
        else:
            use = {item.block: FlowList(item.args)} if item.args else item.block
            if item.count > 1:
                out.append({"repeat": item.count, **_frozen(item.frozen), "layers": [use]})
            elif item.name is not None:  # dense_block: {n: 6, name: denseblock1}
                out.append({item.block: Flow({**dict(zip(item.params, item.args)), "name": item.name,
                                              **_frozen(item.frozen)})})
            elif item.frozen:  # beside the use's arguments in order, or as its one key
                out.append({**use, **_frozen(True)} if item.args else {item.block: Flow(_frozen(True))})
            else:
                out.append(use)
    return out


def _frozen(frozen: bool | None) -> dict[str, bool]:
    """``trainable: false`` for an item whose parameters the model froze, nothing otherwise."""
    return {"trainable": False} if frozen else {}


def _merge_data(item: Merge, inline: bool) -> dict:
    tail = {"inline": True, **({"name": item.name} if item.name is not None else {})} if inline else {}
    branches = item.branches
    if item.kind == "add" and len(branches) == 2 and not (branches[0] and branches[1]) and not item.sources:
        return {"residual": data(branches[0] or branches[1]), **tail}
    # a branch of several layers is an unnamed group: its layers are named beside the others, as the module's
    written = [data(b)[0] if len(b) == 1 and isinstance(b[0], (Layer, Use, Group)) else data(b) if len(b) < 2
               else [{"layers": data(b)}] for b in branches]
    for i, source in enumerate(item.sources):
        if source is not None:  # {from: PATH}, its layers as a branch's (a named group's: its name beside them)
            b = branches[i]
            group = b[0] if len(b) == 1 and isinstance(b[0], Group) and b[0].name is not None else None
            body = {"name": group.name, "layers": data(group.items)} if group is not None else \
                {"layers": data(b) if len(b) < 2 else [{"layers": data(b)}]} if b else {}
            written[i] = {"from": source, **body} if body else Flow({"from": source})
    if item.args:
        return {item.kind: {"branches": written, **item.args}, **tail}
    return {item.kind: written, **tail}


class Flow(dict):
    """A mapping written on one line: a layer's arguments."""


class FlowList(list):
    """A list written on one line: a kernel's sizes, a block's arguments, the input's shape."""


def _flow(v: object) -> object:
    return FlowList(v) if isinstance(v, (list, tuple)) else v


class _Dumper(yaml.SafeDumper):
    """Block style for constructs, flow style for a layer's arguments, lists indented under their key."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> object:
        return super().increase_indent(flow, False)


def _float(dumper: yaml.SafeDumper, value: float) -> yaml.ScalarNode:
    """A float at 12 significant digits: 0.075 for the 0.07500000000000001 a schedule computes."""
    return dumper.represent_float(float(f"{value:.12g}"))


_Dumper.add_representer(float, _float)
_Dumper.add_representer(Flow, lambda d, v: d.represent_mapping("tag:yaml.org,2002:map", v, flow_style=True))
_Dumper.add_representer(FlowList, lambda d, v: d.represent_sequence("tag:yaml.org,2002:seq", v, flow_style=True))


def dump(value: object) -> str:
    return yaml.dump(value, Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=120)


# -- the entry point -----------------------------------------------------------------------------------


def build(source: str, args: dict[str, object]) -> tuple[nn.Module, str]:
    """The model ``source`` names, and a name for the spec: ``torchvision:NAME``, ``timm:NAME`` or
    ``path/to/file.py:Class`` (which imports the file: it runs the user's code)."""
    where = Loc("<source>", 1, 1)
    prefix, _, name = source.partition(":")
    if prefix == "torchvision":
        try:
            import torchvision
        except Exception as e:  # not installed, or built for another torch
            raise SpecError(where, f"torchvision does not import here ({type(e).__name__}: {str(e)[:80]})",
                            code="missing-dependency", hint="pip install torch==2.14.1 torchvision==0.29.1 "
                            "(README, Testing)") from None
        if name not in torchvision.models.list_models():
            from archcalc.errors import choices_hint

            raise SpecError(where, f"torchvision has no model '{name}'", code="usage",
                            hint=choices_hint(name, torchvision.models.list_models(), "models"))
        return construct(where, f"torchvision's {name}", torchvision.models.get_model, name, weights=None,
                         **args), name
    if prefix == "timm":
        try:
            import timm
        except ImportError:
            raise SpecError(where, "timm is not installed", code="missing-dependency",
                            hint="pip install timm") from None
        if not timm.is_model(name):
            from archcalc.errors import did_you_mean

            raise SpecError(where, f"timm has no model '{name}'", code="usage",
                            hint=did_you_mean(name, timm.list_models()) or "timm.list_models() names its "
                            f"{len(timm.list_models())} models; timm.list_models('*{name[:4]}*') those like it")
        return construct(where, f"timm's {name}", timm.create_model, name, pretrained=False, **args), \
            name.replace("/", "_")
    if name and source.rsplit(":", 1)[0].endswith(".py"):
        import importlib.util
        import os

        path, cls_name = source.rsplit(":", 1)
        if not os.path.isfile(path):
            raise SpecError(Loc(path, 1, 1), "no such file", code="unreadable-file", hint="check the path")
        import sys

        spec = importlib.util.spec_from_file_location("archcalc_user_model", path)
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module  # where inspect finds the classes' source lines for errors
        try:
            spec.loader.exec_module(module)
        except (Exception, SystemExit) as e:  # the user's file: a syntax error, a missing import, an error or
            # sys.exit (an argparse or a training run at its top level) while it is imported
            line = getattr(e, "lineno", None) or _line_in(e, path)
            hint = "put the script part under if __name__ == \"__main__\": importing the file runs its top level" \
                if isinstance(e, SystemExit) else "fix the file so that `python FILE` runs"
            raise SpecError(Loc(path, line or 1, getattr(e, "offset", None) or 1),
                            f"importing the file fails ({type(e).__name__}: {_first_line(e)})", code="usage",
                            hint=hint) from None
        cls = getattr(module, cls_name, None)
        if not (isinstance(cls, type) and issubclass(cls, nn.Module)):
            raise SpecError(Loc(path, 1, 1), f"'{cls_name}' is not an nn.Module class in this file", code="usage")
        return construct(Loc(path, inspect.getsourcelines(cls)[1], 1), cls_name, cls, **args), cls_name.lower()
    raise SpecError(where, f"cannot tell what model '{source}' names", code="usage",
                    hint="torchvision:NAME, timm:NAME, path/to/model.py:Class, or a Hugging Face config.json")


def construct(where: Loc, what: str, make: Callable[..., nn.Module], *args: object, **kwargs: object) -> nn.Module:
    """``make(*args, **kwargs)``: the model; its constructor's refusal (an argument it does not take) is the
    user's error, at ``where``."""
    try:
        return make(*args, **kwargs)
    except Exception as e:
        raise SpecError(where, f"building {what} fails ({type(e).__name__}: {_first_line(e)})", code="usage",
                        hint="check --args against the model's constructor") from None


def _first_line(e: BaseException) -> str:
    text = str(e).strip()
    return text.splitlines()[0][:200] if text else "no message"


def _line_in(e: BaseException, path: str) -> int | None:
    """The line of ``path`` that an exception was raised from, the last one its traceback passes through."""
    import os
    import traceback

    lines = [f.lineno for f in traceback.extract_tb(e.__traceback__)
             if os.path.exists(f.filename) and os.path.samefile(f.filename, path)]
    return lines[-1] if lines else None


def import_model(source: str, args: dict[str, object], input_shape: tuple[int, ...] | None) -> str:
    """The spec text for the model ``source`` names, checked against the model before it is returned."""
    from archcalc.collector import gc_paused

    threads = torch.get_num_threads()
    # the check's forwards are small (64×64 where sizes are free): a second thread gains little, and on shared
    # cores threads wait on each other at every op (five times slower under load). The import makes no garbage
    # cycles, and a full collection over torch's heap costs seconds.
    torch.set_num_threads(1)
    try:
        with gc_paused():
            return _import_model(source, args, input_shape)
    finally:
        torch.set_num_threads(threads)


def _import_model(source: str, args: dict[str, object], input_shape: tuple[int, ...] | None) -> str:
    import archcalc

    model, name = build(source, args)
    model.eval()
    vocab = token_vocab(model, input_shape or (TOKENS,))
    shape = input_shape or ((TOKENS,) if vocab is not None else default_input(model))
    conv = Converter(model, shape, vocab)
    items = conv.module(model, "") or [Layer("identity", {})]
    conv.resolve()
    conv.tie()
    lift_frozen(items)
    blocks = extract_blocks(items, model)
    top: dict[str, object] = {"name": name, "input": FlowList(shape)}
    if blocks:
        top["blocks"] = blocks
    top["layers"] = data(items)
    head = f"# Imported by `archcalc import {source}`: the layer names are the model's, so its\n" \
           "# state dict loads into `archcalc.to_torch(spec)` with strict=True.\n"
    if conv.renamed:  # a module called twice: the spec's second layer names its tied weight once more
        pairs = _and([f"{alias}.weight (= {owner}.weight)" for alias, owner in conv.renamed])
        head = "".join(f"# {line}\n" for line in textwrap.wrap(
            f"Imported by `archcalc import {source}`: the layer names are the model's, so its state dict loads "
            f"into `archcalc.to_torch(spec)` with strict=False, which leaves out only {pairs}: the second name of "
            "the weight of a module called twice, which the spec ties to the first.", 98, break_long_words=False,
            break_on_hyphens=False))
    text = head + dump(top)
    sizes = free_sizes(shape, vocab, _first_kind(items))
    if sizes and not ("T" in sizes.values() and shape[next(i for i, s in sizes.items() if s == "T")] == 1):
        # sizes as symbols when every layer takes another size too, as written (one token: no other length)
        ordered = {"name": name, "input": FlowList([sizes.get(i, d) for i, d in enumerate(shape)]),
                   "symbols": Flow({s: shape[i] for i, s in sizes.items()}),
                   **{k: v for k, v in top.items() if k not in ("name", "input")}}
        free = head + dump(ordered)
        # a smaller input: a quicker check. A length is compared with the one given (a table of positions
        # bounds it from above), an image's sizes with larger ones
        quick = {s: (16 if shape[i] > 16 else max(1, shape[i] // 2)) if s == "T" else 64 for i, s in sizes.items()}
        other = {s: shape[i] if s == "T" else shape[i] + 32 for i, s in sizes.items()}
        try:  # the same layers, and the model's weights (no linear layer sized by H), at other sizes
            small = archcalc.loads(free, path="<imported spec>", **quick)
            larger = archcalc.loads(free, **other)
            if small.total_params == larger.total_params == sum(p.numel() for p in model.parameters()):
                check(free, model, tuple(quick.get(sizes.get(i), d) for i, d in enumerate(shape)), small, vocab)
                return free
        except SpecError:  # or the model itself takes only its size (an assert, a position table): as given
            pass
    check(text, model, shape, vocab=vocab)
    return text


def free_sizes(shape: tuple[int, ...], vocab: int | None, first: str | None = None) -> dict[int, str]:
    """The input's axes written as symbols when the model takes other sizes too: an image's H and W
    (``[3, H, W]``), the length T of a sequence of token ids (``[T]``) or of vectors a recurrent layer reads
    first (``[T, F]``)."""
    if vocab is not None:
        return {0: "T"} if len(shape) == 1 else {}
    if len(shape) == 2 and first in ("lstm", "gru", "rnn"):
        return {0: "T"}
    return {1: "H", 2: "W"} if len(shape) == 3 else {}


def _first_kind(items: list[Item]) -> str | None:
    """The kind of the first layer the input reaches (through groups and a merge's first branch), if a layer."""
    while items:
        item = items[0]
        if isinstance(item, Layer):
            return item.kind
        if isinstance(item, (Group, Repeat)):
            items = item.items
        elif isinstance(item, Merge):
            items = next((b for b in item.branches if b), [])
        else:
            return None
    return None


def default_input(model: nn.Module) -> tuple[int, ...]:
    """The input size a model says it takes (timm's ``pretrained_cfg``: 256×256 for ``botnet26t_256``, 299×299
    for Inception), else torchvision's 3×224×224."""
    size = (getattr(model, "pretrained_cfg", None) or {}).get("input_size")
    if isinstance(size, (tuple, list)) and len(size) == 3 and all(isinstance(d, int) and d > 0 for d in size):
        return tuple(size)
    return (3, 224, 224)


#: the length a model whose input is token ids is traced and checked at when ``--input`` gives none
TOKENS = 32


class _Reached(Exception):
    """Stops the fake run of :func:`token_vocab` at the embedding the input goes into."""


class _IdCasts(TorchFunctionMode):
    """The input and its casts to the index types an embedding takes (``x.int()``, ``x.long()``,
    ``x.to(torch.int32)``, as :meth:`_Graph._keeps_type` reads them): ids whatever the cast, for :func:`token_vocab`."""

    def __init__(self, x: torch.Tensor):
        super().__init__()
        self.ids = [x]

    def holds(self, value: object) -> bool:
        return any(value is t for t in self.ids)

    def __torch_function__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        if func in (torch.Tensor.long, torch.Tensor.int, torch.Tensor.to) and args and self.holds(args[0]) and \
                isinstance(out, torch.Tensor) and out.dtype in ID_TYPES:
            self.ids.append(out)
        return out


def token_vocab(model: nn.Module, shape: tuple[int, ...]) -> int | None:
    """The vocabulary of the ``nn.Embedding`` the model's input goes into as it is (``self.embed(x)``) or cast to an
    index type (``self.embed(x.int())``), else None.
    Such a model reads token ids in ``[0, vocab)``: it is traced and checked with int64 ids (a float input fails
    in the lookup), and its spec's input is ``[T]``, as archcalc's embedding reads it. Found in a fake run (shapes
    only, no arithmetic) that stops at the first embedding given the input itself."""
    tables = [m for m in model.modules() if isinstance(m, nn.Embedding)]
    if not tables:
        return None
    from torch._subclasses.fake_tensor import FakeTensorMode

    found: list[nn.Embedding] = []
    with FakeTensorMode(allow_non_fake_inputs=True), torch.no_grad():
        x = torch.zeros(1, *shape, dtype=torch.long)
        ids = _IdCasts(x)

        def reached(module: nn.Module, args: tuple) -> None:
            if args and ids.holds(args[0]):
                found.append(module)
                raise _Reached

        hooks = [m.register_forward_pre_hook(reached) for m in tables]
        try:
            with ids:
                model(x)
        except Exception:  # _Reached, or a model that takes no ids: its own run says what it takes
            pass
        finally:
            for hook in hooks:
                hook.remove()
    return found[0].num_embeddings if found else None


def example(shape: tuple[int, ...], vocab: int | None) -> torch.Tensor:
    """The input the model and its spec are compared on: token ids in ``[0, vocab)`` for a model that reads ids,
    else normal values; one example, seeded."""
    torch.manual_seed(0)
    if vocab is not None:
        return torch.randint(0, vocab, (1, *shape))
    return torch.randn(1, *shape)


def run(model: nn.Module, x: torch.Tensor) -> object:
    """``model(x)``; a model that refuses the input (a size it was not built for) is the user's error to fix."""
    try:
        return model(x)
    except Exception as e:
        what = "token ids" if not x.is_floating_point() else "an input"
        raise module_error(model, f"its forward fails on {what} of {list(x.shape[1:])} "
                           f"({type(e).__name__}: {_first_line(e)})",
                           "give the input size the model takes: --input C,H,W (T for token ids; or its "
                           "constructor's arguments: --args)", at=type(model).forward) from None


def check(text: str, model: nn.Module, shape: tuple[int, ...], spec: Model | None = None,
          vocab: int | None = None) -> None:
    """The written spec (``spec``, where it is built already) is the model: its weights load with strict=True (but
    for the second name a module called twice gives its tied weight, :func:`retie`), it counts the model's
    parameters (a shared one once, as ``model.parameters()`` gives it) and it gives the same outputs (on token
    ids below ``vocab`` for a model that reads ids)."""
    import archcalc

    where = Loc("<imported spec>", 1, 1)
    x = example(shape, vocab)
    with torch.no_grad():  # first: a model that refuses the input says so, before a spec is compared with it
        expected = run(model, x)
    try:
        spec = spec or archcalc.loads(text, path="<imported spec>")
    except SpecError as e:  # sizes the model accepts but a layer kind refuses (an odd case archcalc misses)
        raise module_error(model, f"archcalc cannot build what it wrote: {e.message}", e.hint) from None
    with torch.device("meta"):  # no initialisation of weights that the model's replace at once
        ours = archcalc.to_torch(spec).eval()
    theirs = {name: p.requires_grad for name, p in model.named_parameters()}
    differ = next((name for name, p in ours.named_parameters() if name in theirs and p.requires_grad != theirs[name]),
                  None)
    if differ is not None:
        raise SpecError(where, f"the written spec {'freezes' if theirs[differ] else 'trains'} '{differ}', which the "
                        f"model {'trains' if theirs[differ] else 'freezes'}", code="unsupported-model",
                        hint="a trainable: setting archcalc misplaced: please report the model")
    counted = sum(p.numel() for p in ours.parameters())  # a tied weight once, as the model's count has it
    names = shared_parameters(ours)  # tied weights: one parameter under several names, before loading
    try:
        missing, unexpected = ours.load_state_dict(model.state_dict(), strict=False, assign=True)
    except RuntimeError as e:  # a weight of another size: the model ran, so a forward archcalc misreads
        raise SpecError(where, f"the written spec's weights do not fit the model's ({str(e).splitlines()[-1].strip()})",
                        code="unsupported-model", hint="a forward archcalc misreads: please report the model") from None
    if unexpected:
        _unused(model, set(unexpected))
    missing = retie(ours, names, missing)
    if missing:
        raise SpecError(where, f"the written spec has a weight '{missing[0]}' the model lacks",
                        code="unsupported-model", hint="a forward archcalc misreads: please report the model")
    count = sum(p.numel() for p in model.parameters())
    if counted != count:  # the same names, but a parameter shared in one and not in the other
        raise SpecError(where, f"the written spec has {counted:,} parameters, the model {count:,}",
                        code="unsupported-model", hint="a forward archcalc misreads: please report the model")
    with torch.no_grad():
        try:
            got = ours(x)
        except RuntimeError:  # a tensor a module made for itself stayed on the meta device: build it for real
            ours = archcalc.to_torch(spec).eval()
            ours.load_state_dict(model.state_dict(), strict=False)  # (the keys are checked above)
            got = ours(x)
    if not isinstance(expected, torch.Tensor) or expected.shape != got.shape or \
            not torch.allclose(expected, got, atol=1e-4, rtol=1e-4):
        raise SpecError(where, "the written spec does not compute what the model computes", code="unsupported-model",
                        hint="a forward archcalc misreads: please report the model")


def retie(module: nn.Module, names: list[list[str]], missing: list[str]) -> list[str]:
    """After ``load_state_dict(..., assign=True)``, which gives every name the loaded tensor of its own: each
    tied parameter of ``module`` (``names``, found before loading) one parameter again, the one loaded under
    one of its names. Returns the keys still missing: a name of a tied parameter that the state dict lacks
    (``mix_2.weight`` of a module called twice) is loaded with the parameter, not missing."""
    left = set(missing)
    for group in names:
        loaded = next((name for name in group if name not in left), None)
        if loaded is None:
            continue
        p = module.get_parameter(loaded)
        for name in group:
            path, _, attr = name.rpartition(".")
            setattr(module.get_submodule(path), attr, p)
            left.discard(name)
    return [key for key in missing if key in left]


def _unused(model: nn.Module, unexpected: set[str]) -> None:
    """The outermost module whose weights the forward never reached, located at its owner's class."""
    key = sorted(unexpected)[0]
    parts = key.split(".")[:-1]
    state = list(model.state_dict())
    for i in range(1, len(parts) + 1):
        prefix = ".".join(parts[:i])
        if all(k in unexpected for k in state if k.startswith(prefix + ".")):
            owner = model.get_submodule(".".join(parts[:i - 1])) if i > 1 else model
            kind = type(model.get_submodule(prefix)).__name__
            mine = {k: v for k, v in model.state_dict(keep_vars=True).items() if k.startswith(prefix + ".")}
            used = {id(v): k for k, v in model.state_dict(keep_vars=True).items() if k not in unexpected}
            if mine and all(id(v) in used for v in mine.values()):  # b.weight = a.weight, and only b called
                first = next(iter(mine))
                raise module_error(owner, f"'{prefix}' ({kind}) is never called, and its weights are another "
                                   f"module's ('{first}' is '{used[id(mine[first])]}'): the spec has a layer for each "
                                   "module the forward calls, so the second name has no place",
                                   f"delete '{prefix}' (or call it in forward)")
            raise module_error(owner, f"'{prefix}' ({kind}) holds weights "
                               "its forward never uses in eval mode, so a spec of what forward computes has no "
                               "place for them", _without(model, prefix))
    raise module_error(model, f"the model's weight '{key}' has no place in the spec")


def _without(model: nn.Module, prefix: str) -> str:
    """How to build ``model`` without the module at ``prefix``: the constructor's switch named like it
    (GoogLeNet's ``aux1`` and Inception's ``AuxLogits``: ``aux_logits``), where there is one."""
    stem = re.sub(r"\d+$", "", _snake(prefix.rsplit(".", 1)[-1]))
    try:
        parameters = inspect.signature(type(model).__init__).parameters.values()
    except (TypeError, ValueError):
        parameters = []
    for p in parameters:
        if p.default is True and (stem in p.name or p.name in stem):
            return f"construct the model without it: --args '{{\"{p.name}\": false}}'"
    return "construct the model without it (its options, --args '{…}')"


def extract_blocks(items: list[Item], model: nn.Module) -> dict[str, list[object]]:
    """Modules of one class whose items differ only in numbers become one block, its parameters the numbers
    that differ (named after the argument they are), innermost first; then runs of equal uses become
    ``repeat``. Returns the blocks' definitions as spec data; ``items`` are rewritten in place."""
    blocks: dict[str, list[object]] = {}
    signatures: dict[str, list[str]] = {}  # block → its parameters, which name the parameters passed on to it
    taken: set[str] = set()
    while True:
        pending = [g for g in _groups(items) if g.cls is not None]
        if not pending:
            break
        groups = [g for g in pending if not any(inner.cls is not None for inner in _groups(g.items))]
        for g in groups:
            _indexed(g.items)
        buckets: dict[tuple, list[Group]] = {}
        for g in groups:
            buckets.setdefault((g.cls, tuple(_shape(i) for i in g.items)), []).append(g)
        for (cls, _), members in buckets.items():
            # a body of one layer or one use would be that item, with no level of the module's own
            if len(members) < 2 or (len(members[0].items) == 1 and isinstance(members[0].items[0], (Layer, Use))):
                for g in members:
                    g.cls = None  # one of a kind, or one layer: stays a group
                continue
            name = _snake(cls.__name__)
            base, n = name, 2
            while name in taken or name in LAYER_KINDS:
                name, n = f"{base}_{n}", n + 1
            taken.add(name)
            rows = [[v for _, v in _named_numbers(g.items, signatures)] for g in members]
            keys = [k for k, _ in _named_numbers(members[0].items, signatures)]
            columns = list(zip(*rows)) if rows and rows[0] else []
            params: dict[tuple, str] = {}
            for key, column in zip(keys, columns):
                if len(set(column)) > 1 and column not in params:
                    pname, n = key, 2
                    while pname in params.values():
                        pname, n = f"{key}{n}", n + 1
                    params[column] = pname
            names = iter(params.get(column) for column in columns)
            body = _substitute(members[0].items, names)
            _repeats(body)
            signatures[name] = list(params.values())
            single = len(body) == 1 and isinstance(body[0], Merge)
            blocks[f"{name}({', '.join(params.values())})" if params else name] = \
                [_merge_data(body[0], inline=False)] if single else data(body)
            for g, row in zip(members, rows):
                args = [row[columns.index(column)] for column in params]
                _replace(items, g, Use(name, args, g.name, params=list(params.values()), frozen=g.frozen))
    _repeats(items)
    return blocks


LAYER_KINDS = set(LAYERS)


def _groups(items: list[Item]) -> list[Group]:
    out: list[Group] = []
    for item in items:
        if isinstance(item, Group):
            out += _groups(item.items)
            out.append(item)
        elif isinstance(item, Merge):
            for branch in item.branches:
                out += _groups(branch)
        elif isinstance(item, Repeat):
            out += _groups(item.items)
    return out


def _named_numbers(items: list[Item], signatures: dict[str, list[str]]) -> list[tuple[str, int]]:
    """The numbers of ``items`` in order, each with the argument it is (``out``, ``stride``; a block's
    argument by the block's parameter)."""
    out: list[tuple[str, int]] = []
    for item in items:
        if isinstance(item, Layer):
            out += [(k, _plain(v)) for k, v in item.args.items() if _is_int(_plain(v))]
        elif isinstance(item, Group):
            out += _named_numbers(item.items, signatures)
        elif isinstance(item, Merge):
            for branch in item.branches:
                out += _named_numbers(branch, signatures)
        elif isinstance(item, Repeat):
            out += [("n", item.count), *_named_numbers(item.items, signatures)]
        else:
            out += [(p, a) for p, a in zip(signatures[item.block], item.args) if _is_int(a)]
    return out


def _substitute(items: list[Item], names) -> list[Item]:
    """A copy of ``items`` with each number replaced by the next of ``names`` where that is not None."""
    out: list[Item] = []
    for item in items:
        if isinstance(item, Layer):
            args = {}
            for k, v in item.args.items():
                if _is_int(_plain(v)):
                    param = next(names)
                    args[k] = v if param is None else param  # a parameter is written whatever its default
                else:
                    args[k] = v
            out.append(Layer(item.kind, args, item.name, item.frozen))
        elif isinstance(item, Group):
            out.append(Group(item.name, _substitute(item.items, names), frozen=item.frozen))
        elif isinstance(item, Merge):
            out.append(Merge(item.kind, [_substitute(b, names) for b in item.branches], dict(item.args),
                             list(item.sources), item.name))
        elif isinstance(item, Repeat):
            param = next(names)
            out.append(Repeat(item.count if param is None else param, _substitute(item.items, names)))
        else:
            args = []
            for a in item.args:
                if _is_int(a):
                    param = next(names)
                    args.append(a if param is None else param)
                else:
                    args.append(a)
            out.append(Use(item.block, args, item.name, item.count, item.params, item.frozen))
    return out


def _replace(items: list[Item], old: Group, new: Item) -> bool:
    for i, item in enumerate(items):
        if item is old:
            items[i] = new
            return True
        if isinstance(item, Group) and _replace(item.items, old, new):
            return True
        if isinstance(item, Merge) and any(_replace(b, old, new) for b in item.branches):
            return True
        if isinstance(item, Repeat) and _replace(item.items, old, new):
            return True
    return False


def _repeats(items: list[Item]) -> None:
    """Runs of equal uses named by their positions become ``repeat`` (its copies take those positions)."""
    _indexed(items)
    plain = all(isinstance(i, (Layer, Group, Use)) for i in items)
    for item in items:
        if isinstance(item, (Group, Repeat)):
            _repeats(item.items)
        elif isinstance(item, Merge):
            for branch in item.branches:
                _repeats(branch)
    if not plain:
        return
    for i, item in enumerate(items):
        if isinstance(item, (Layer, Use)) and item.name == str(i):
            item.name = None
    out: list[Item] = []
    for item in items:
        last = out[-1] if out else None
        if isinstance(item, Use) and item.name is None and isinstance(last, Use) and last.name is None \
                and (last.block, last.args, last.frozen) == (item.block, item.args, item.frozen):
            last.count += 1
            continue
        out.append(item)
    items[:] = out


def _named_one(item: Item) -> Layer | Group | Use | None:
    """The one item at ``item``'s own level that has a name (a merge's only named branch), if there is one."""
    if isinstance(item, (Layer, Group, Use)):
        return item if item.name is not None else None
    if isinstance(item, Merge):
        named: list[Layer | Group | Use] = []
        stack = [i for b in item.branches for i in b]
        while stack:
            i = stack.pop()
            if isinstance(i, Group) and i.name is None:
                stack += i.items
            elif isinstance(i, (Layer, Group, Use)) and i.name is not None:
                named.append(i)
            elif not isinstance(i, (Layer, Use, Group)):
                return None
        return named[0] if len(named) == 1 else None
    return None


def _numbered(item: Item) -> tuple[str, int] | None:
    """(prefix, number) of the name that tells ``item`` apart: ``denselayer3`` → ("denselayer", 3)."""
    one = _named_one(item)
    match = re.fullmatch(r"(.*?[^\d])(\d+)", one.name) if one is not None else None
    return (match.group(1), int(match.group(2))) if match else None


def _templated(item: Item, name: str) -> Item:
    copy = deepcopy(item)
    _named_one(copy).name = name
    return copy


def _indexed(items: list[Item]) -> None:
    """Runs of items equal but for a number counting up in one name become a ``Repeat`` (DenseNet's
    ``denselayer1`` … ``denselayer6``, ViT's ``encoder_layer_0`` … ``encoder_layer_11``)."""
    out: list[Item] = []
    i = 0
    while i < len(items):
        first = _numbered(items[i])
        run = 1
        if first is not None:
            prefix, start = first
            name = f"{prefix}{{i + {start}}}" if start else f"{prefix}{{i}}"
            body = _templated(items[i], name)
            while i + run < len(items) and _numbered(items[i + run]) == (prefix, start + run) and \
                    _templated(items[i + run], name) == body:
                run += 1
        if run > 1:
            out.append(Repeat(run, [body]))
        else:
            out.append(items[i])
        i += run
    items[:] = out
