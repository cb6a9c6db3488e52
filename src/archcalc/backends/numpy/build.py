"""Graph → NumPy modules: one table entry per layer kind, one description serving two uses.

Each entry of :data:`KINDS` turns a spec layer (with its input shape) into a :class:`Call`: the
runtime class and its constructor arguments, already validated plain values. A tree of calls is
built into live modules by :meth:`Call.build` (``to_numpy``) and written as Python source by
:meth:`Call.source` (``archcalc export --to numpy``), so the runtime model and the exported file
are the same construction, consuming the random generator in the same order.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field

from archcalc.backends.common import plain
from archcalc.backends.naming import TORCH_TAKEN
from archcalc.backends.numpy import layers as L
from archcalc.backends.numpy import losses, optim
from archcalc.backends.numpy.structures import Add, Attend, Concat, From, Keep, Multiply, Residual, Sequential
from archcalc.backends.plan import frozen_keys
from archcalc.backends.plan import kept as read_later
from archcalc.backends.plan import plan as module_plan
from archcalc.errors import SpecError
from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode, SeqNode
from archcalc.layers import Layer, Shape
from archcalc.layers.base import shape_text
from archcalc.layers.moe import ROUTING
from archcalc.spec.train import LOGIT_LOSSES, SIGN_LOSSES, YES_NO_LOSSES, TrainSpec


@dataclass(slots=True)
class Call:
    """``cls(**kwargs)`` (plus ``rng=rng`` for classes that draw random numbers), and a comment for the source."""

    cls: type
    kwargs: dict[str, object] = field(default_factory=dict)
    comment: str = ""

    def build(self, rng):
        kwargs = {key: _build(value, rng) for key, value in self.kwargs.items()}
        return self.cls(**kwargs, rng=rng) if getattr(self.cls, "RANDOM", False) else self.cls(**kwargs)

    def source(self, indent: int = 0, used: int = 0) -> str:
        """The call as Python source; user text appears only inside ``repr``'d string literals.

        ``used`` is how much of its line is taken by other text: a call that would pass :data:`WIDTH`
        puts one argument on each line, so the file stays within the repository's line length.
        """
        defaults = {k: p.default for k, p in inspect.signature(self.cls.__init__).parameters.items()}
        parts = []
        for key, value in self.kwargs.items():
            default = defaults.get(key, inspect.Parameter.empty)
            if default == value or (value == [] and default == ()):
                continue
            text = _source(value, indent)
            parts.append(text if len(self.kwargs) == 1 and isinstance(value, list) else f"{key}={text}")
        if getattr(self.cls, "RANDOM", False):
            parts.append("rng=rng")
        flat = f"{self.cls.__name__}({', '.join(parts)})"
        if used + len(flat) + 3 <= WIDTH or any("\n" in part for part in parts):  # 3: the "),"" after it
            return flat
        pad = " " * (indent + 4)
        return f"{self.cls.__name__}(\n" + "".join(f"{pad}{part},\n" for part in parts) + " " * indent + ")"


#: the line length of generated source (the repository's ruff setting)
WIDTH = 120


def _build(value: object, rng) -> object:
    if isinstance(value, Call):
        return value.build(rng)
    if isinstance(value, list):
        return [(name, call.build(rng)) for name, call in value]
    return value


def _source(value: object, indent: int) -> str:
    if isinstance(value, Call):
        return value.source(indent)
    if isinstance(value, list):
        if not value:
            return "[]"
        pad = " " * (indent + 4)
        lines = []
        for name, call in value:
            head = f"{pad}({name!r}, "
            comment = f"  # {call.comment}" if call.comment else ""
            lines.append(f"{head}{call.source(indent + 4, len(head) + len(comment))}),{comment}")
        return "[\n" + "\n".join(lines) + "\n" + " " * indent + "]"
    return repr(value)


def _call(cls: type, **kwargs: object) -> Call:
    return Call(cls, {key: plain(value) for key, value in kwargs.items()})


def _inits(layer: Layer) -> dict[str, object]:
    """The spec's ``init:`` as the weighted layers' ``init`` and ``bias_init`` arguments (plain tuples)."""
    init = layer.init
    if init is None:
        return {}
    return {key: part.plain() for key, part in (("init", init.weight), ("bias_init", init.bias)) if part is not None}


def _simple(cls: type) -> Callable[[Layer, Shape], Call]:
    return lambda a, x: _call(cls)


def _attention(a: Layer, xs: list[Shape]) -> dict[str, object]:
    """The attention options, as :class:`~.layers.Attention` takes them."""
    return {key: plain(value) for key, value in dict(
        heads=a.heads, kv_heads=a.groups, head_dim=a.head_size(xs), causal=a.causal, scale=a.scale, rotary=a.rotary,
        theta=a.theta, rotary_dim=a.rotary_dim, dropout=a.dropout, **_gemma(a),
        **({} if a.relative_bias is None else {"relative_bias": a.relative_bias})).items()}


def _gemma(a: Layer) -> dict[str, object]:
    """The attention options Gemma added (and GPT-NeoX's ``packing``, Llama 3.1's and YaRN's rope scaling, the q and
    k norms' kind, β and layout), given only where the spec sets them (generated files of other models stay as they
    were)."""
    defaults = {"window": None, "softcap": None, "rotary_factor": 1.0, "qk_norm_offset": 0.0, "packing": "qkv",
                "qk_norm_kind": "rmsnorm", "qk_norm_layout": "stacked"}
    options = {key: getattr(a, key) for key, default in defaults.items()
               if hasattr(a, key) and getattr(a, key) != default}
    if getattr(a, "qk_norm_biased", False):
        options["qk_norm_bias"] = True  # a LayerNorm's shift β (Cohere's and StableLM's have none)
    return {**options, **{key: plain(value) for key, value in a.rope_options().items()}}


def _multihead(a: Layer, x: Shape) -> Call:
    """Llama's self-attention: its four projections and the attention between them; with ``layout: torch``
    nn.MultiheadAttention's packed projections (:class:`~.layers.SelfAttention`)."""
    if a.layout == "torch":
        return _call(L.SelfAttention, embed_dim=x[-1], heads=a.heads, bias=a.bias, causal=a.causal, dropout=a.dropout)
    head_dim, out = a.dims(x)
    return _call(L.MultiheadAttention, embed_dim=x[-1], heads=a.heads, kv_heads=a.groups, head_dim=head_dim,
                 out_features=out, bias=a.bias, out_bias=a.out_biased, qk_norm=a.qk_norm, qk_norm_eps=a.qk_norm_eps,
                 causal=a.causal, scale=a.scale,
                 rotary=a.rotary, theta=a.theta, rotary_dim=a.rotary_dim, dropout=a.dropout, **_gemma(a))


def _routing(a: Layer) -> dict[str, object]:
    """DeepSeek's routing options of a ``moe``, given only where the spec sets them (a Mixtral's generated file
    stays as it was)."""
    return {key: getattr(a, key) for key, default in ROUTING.items() if getattr(a, key) != default}


def _one(values: tuple) -> object:
    """A per-axis argument as torch's modules take it: one value when every axis has the same, else the tuple."""
    return values[0] if isinstance(values, tuple) and len(set(values)) == 1 else values


def _conv(cls: type, a: Layer, x: Shape) -> Call:
    padding = a.padding if a.padding == "same" else _one(a.padding)
    return _call(cls, in_channels=x[0], out_channels=a.out, kernel_size=_one(a.kernel), stride=_one(a.stride),
                 padding=padding, dilation=_one(a.dilation), groups=a.groups, bias=a.bias,
                 padding_mode=a.padding_mode, **_inits(a))


def _conv_transpose(cls: type, a: Layer, x: Shape) -> Call:
    return _call(cls, in_channels=x[0], out_channels=a.out, kernel_size=_one(a.kernel), stride=_one(a.stride),
                 padding=_one(a.padding), output_padding=_one(a.output_padding), groups=a.groups, bias=a.bias,
                 dilation=_one(a.dilation), **_inits(a))


def _maxpool(cls: type, a: Layer) -> Call:
    padding = a.padding if a.padding == "same" else _one(a.padding)
    return _call(cls, kernel_size=_one(a.kernel), stride=_one(a.strides), padding=padding,
                 dilation=_one(a.dilation), ceil_mode=a.ceil_mode)


def _avgpool(cls: type, a: Layer) -> Call:
    padding = a.padding if a.padding == "same" else _one(a.padding)
    return _call(cls, kernel_size=_one(a.kernel), stride=_one(a.strides), padding=padding, ceil_mode=a.ceil_mode,
                 count_include_pad=a.count_include_pad)


def _upsample(a: Layer, x: Shape) -> Call:
    """By a scale (each axis ⌊n·s⌋ at run time, as torch's ``scale_factor``) or to a size, per axis."""
    options = {} if a.mode == "nearest" else {"mode": a.mode, "align_corners": a.align_corners}
    if a.scale is not None:
        return _call(L.Upsample, scale_factor=_one(a.per_axis("scale", a.scale, x)), **options)
    return _call(L.Upsample, size=_one(a.per_axis("size", a.size, x)), **options)
def _recurrent(a: Layer, x: Shape) -> dict[str, object]:
    """The arguments ``lstm``, ``gru`` and ``rnn`` share, as torch's ``nn.LSTM`` names them (plus ``output``)."""
    return dict(input_size=x[1], hidden_size=a.hidden, num_layers=a.num_layers, bias=a.bias,
                bidirectional=a.bidirectional, dropout=a.dropout, output=a.output)


#: layer kind → its runtime class and constructor arguments, from the spec layer ``a`` (its arguments)
#: and its input shape ``x`` (batch excluded)
KINDS: dict[str, Callable[[Layer, Shape], Call]] = {
    "linear": lambda a, x: _call(L.Linear, in_features=x[-1], out_features=a.out, bias=a.bias, **_inits(a),
                                 transposed=a.transposed),
    "conv1d": lambda a, x: _conv(L.Conv1d, a, x),
    "conv2d": lambda a, x: _conv(L.Conv2d, a, x),
    "conv3d": lambda a, x: _conv(L.Conv3d, a, x),
    "conv_transpose1d": lambda a, x: _conv_transpose(L.ConvTranspose1d, a, x),
    "conv_transpose2d": lambda a, x: _conv_transpose(L.ConvTranspose2d, a, x),
    "conv_transpose3d": lambda a, x: _conv_transpose(L.ConvTranspose3d, a, x),
    "maxpool1d": lambda a, x: _maxpool(L.MaxPool1d, a),
    "maxpool2d": lambda a, x: _maxpool(L.MaxPool2d, a),
    "maxpool3d": lambda a, x: _maxpool(L.MaxPool3d, a),
    "avgpool1d": lambda a, x: _avgpool(L.AvgPool1d, a),
    "avgpool2d": lambda a, x: _avgpool(L.AvgPool2d, a),
    "avgpool3d": lambda a, x: _avgpool(L.AvgPool3d, a),
    "adaptive_avgpool1d": lambda a, x: _call(L.AdaptiveAvgPool1d, output_size=_one(a.out)),
    "adaptive_avgpool2d": lambda a, x: _call(L.AdaptiveAvgPool2d, output_size=_one(a.out)),
    "adaptive_avgpool3d": lambda a, x: _call(L.AdaptiveAvgPool3d, output_size=_one(a.out)),
    "global_avgpool1d": _simple(L.GlobalAvgPool1d),
    "global_avgpool2d": _simple(L.GlobalAvgPool2d),
    "global_avgpool3d": _simple(L.GlobalAvgPool3d),
    "upsample": lambda a, x: _upsample(a, x),
    "pixel_shuffle": lambda a, x: _call(L.PixelShuffle, upscale_factor=a.factor),
    "pad": lambda a, x: _call(L.ConstantPad, padding=a.padding, value=a.value) if a.mode == "constant" else
    _call(L.CopyPad, padding=a.padding, mode=a.mode),
    "batchnorm1d": lambda a, x: _call(L.BatchNorm1d, num_features=x[0], eps=a.eps, momentum=a.momentum,
                                      affine=a.affine),
    "batchnorm2d": lambda a, x: _call(L.BatchNorm2d, num_features=x[0], eps=a.eps, momentum=a.momentum,
                                      affine=a.affine),
    "batchnorm3d": lambda a, x: _call(L.BatchNorm3d, num_features=x[0], eps=a.eps, momentum=a.momentum,
                                      affine=a.affine),
    **{f"instancenorm{r}d": lambda a, x, cls=cls: _call(cls, num_features=x[0], eps=a.eps, momentum=a.momentum,
                                                         affine=a.affine, track_running_stats=a.track_running_stats)
       for r, cls in ((1, L.InstanceNorm1d), (2, L.InstanceNorm2d), (3, L.InstanceNorm3d))},
    "groupnorm": lambda a, x: _call(L.GroupNorm, num_groups=a.groups, num_channels=x[0], eps=a.eps, affine=a.affine),
    "layernorm": lambda a, x: _call(L.LayerNorm, normalized_shape=a.normalized(x), eps=a.eps,
                                    elementwise_affine=a.affine, bias=a.bias),
    "layernorm2d": lambda a, x: _call(L.LayerNorm2d, normalized_shape=a.normalized(x), eps=a.eps,
                                      elementwise_affine=a.affine, bias=a.bias),
    "rmsnorm": lambda a, x: _call(L.RMSNorm, normalized_shape=a.normalized(x), eps=a.eps, elementwise_affine=a.affine,
                                  **({"offset": a.offset} if a.offset else {})),
    "dropout": lambda a, x: _call(L.Dropout, p=a.p),
    "dropout1d": lambda a, x: _call(L.Dropout1d, p=a.p),
    "dropout2d": lambda a, x: _call(L.Dropout2d, p=a.p),
    "dropout3d": lambda a, x: _call(L.Dropout3d, p=a.p),
    "flatten": lambda a, x: _call(L.Flatten, start_dim=a.span(x)[0] + 1, end_dim=a.span(x)[1] + 1),
    "reshape": lambda a, x: _call(L.Reshape, shape=a.output_shape(x)),
    "permute": lambda a, x: _call(L.Permute, dims=a.order(x)),
    "transpose": lambda a, x: _call(L.Permute, dims=a.order(x)),
    "select": lambda a, x: _call(L.Select, axis=a.axis % len(x), index=a.index),
    "mean": lambda a, x: _call(L.Mean, dims=a.averaged(x), keepdim=a.keepdim),
    "class_token": lambda a, x: _call(L.ClassToken, dim=x[1]),
    "layer_scale": lambda a, x: _call(L.LayerScale, shape=a.shape(x), value=a.value,
                                      **({"view": a.broadcast(x)} if a.flat else {})),
    "stochastic_depth": lambda a, x: _call(L.StochasticDepth, p=a.p, mode=a.mode),
    "identity": _simple(L.Identity),
    "scale": lambda a, x: _call(L.Scale, factor=a.factor),
    "attention": lambda a, x: Call(L.Attention, _attention(a, [x])),  # q, k and v side by side in one input
    "multihead_attention": _multihead,
    "lstm": lambda a, x: _call(L.LSTM, **_recurrent(a, x), proj_size=a.proj_size),
    "gru": lambda a, x: _call(L.GRU, **_recurrent(a, x)),
    "rnn": lambda a, x: _call(L.RNN, **_recurrent(a, x), nonlinearity=a.nonlinearity),
    "embedding": lambda a, x: _call(L.Embedding, num_embeddings=a.vocab, embedding_dim=a.dim,
                                    padding_idx=a.padding_idx, **({} if a.scale is None else {"scale": a.scale})),
    "pos_embedding": lambda a, x: _call(L.PositionAdd, positions=a.positions, dim=x[1]) if a.add else
    _call(L.PositionEmbedding, num_embeddings=a.positions, embedding_dim=a.dim, first=a.index == "first",
          padding_idx=a.padding_idx, offset=a.offset),
    "relu": _simple(L.ReLU),
    "relu6": _simple(L.ReLU6),
    "leaky_relu": lambda a, x: _call(L.LeakyReLU, negative_slope=a.slope),
    "sigmoid": _simple(L.Sigmoid),
    "tanh": _simple(L.Tanh),
    "softcap": lambda a, x: _call(L.SoftCap, cap=a.cap),
    "softmax": lambda a, x: _call(L.Softmax, dim=a.dim % len(x) + 1),  # Softmax.axis, plus the batch axis
    "log_softmax": lambda a, x: _call(L.LogSoftmax, dim=a.dim % len(x) + 1),
    "glu": lambda a, x: _call(L.GLU, dim=a.axis(x) + 1, activation=a.activation,  # GLU.axis, plus the batch axis
                              gate_first=a.gate == "first"),
    "moe": lambda a, x: _call(L.MoE, dim=x[-1], experts=a.experts, top_k=a.top_k, hidden=a.hidden,
                              activation=a.activation, normalize=a.normalize, shared=a.shared, **_routing(a)),
    "mla": lambda a, x: _call(L.LatentAttention, embed_dim=x[1], heads=a.heads, kv_rank=a.kv_rank,
                              nope_dim=a.nope_dim, rope_dim=a.rope_dim, v_dim=a.v_dim, out_features=a.width(x),
                              q_rank=a.q_rank, bias=a.bias, eps=a.eps, causal=a.causal, rotary=a.rotary,
                              theta=a.theta, scale=a.scale, dropout=a.dropout,
                              **({} if a.rotary_factor == 1.0 else {"rotary_factor": a.rotary_factor}),
                              **{key: plain(value) for key, value in a.rope_options().items()}),
    "gelu": lambda a, x: _call(L.GELU, approximate=a.approximate),
    "silu": _simple(L.SiLU),
    "hardswish": _simple(L.Hardswish),
    "hardsigmoid": _simple(L.Hardsigmoid),
    "elu": lambda a, x: _call(L.ELU, alpha=a.alpha),
    "prelu": lambda a, x: _call(L.PReLU, num_parameters=x[0] if a.per_channel else 1, init=a.slope_init),
    "mish": _simple(L.Mish),
    "softplus": lambda a, x: _call(L.Softplus, beta=a.beta, threshold=a.threshold),
    "step": _simple(L.Step),
}

#: train.loss → loss class (its keyword arguments: :func:`loss_kwargs`)
LOSSES: dict[str, type] = {"mse": losses.MSELoss, "cross_entropy": losses.CrossEntropyLoss, "bce": losses.BCELoss,
                           "bce_with_logits": losses.BCEWithLogitsLoss, "nll": losses.NLLLoss, "l1": losses.L1Loss,
                           "huber": losses.HuberLoss, "smooth_l1": losses.SmoothL1Loss, "kl_div": losses.KLDivLoss,
                           "cosine": losses.CosineLoss, "dice": losses.DiceLoss, "hinge": losses.HingeLoss,
                           "squared_hinge": losses.HingeLoss, "soft_margin": losses.SoftMarginLoss,
                           "multi_margin": losses.MultiMarginLoss, "categorical_hinge": losses.CategoricalHingeLoss,
                           "poisson_nll": losses.PoissonNLLLoss, "log_cosh": losses.LogCoshLoss}
#: train.optimizer name → optimizer class (its keyword arguments are torch.optim's names)
OPTIMIZERS: dict[str, type] = {"sgd": optim.SGD, "adagrad": optim.Adagrad, "rmsprop": optim.RMSprop,
                               "adam": optim.Adam, "adamw": optim.AdamW, "adadelta": optim.Adadelta,
                               "adamax": optim.Adamax, "nadam": optim.NAdam, "radam": optim.RAdam}


def plan(node: Node, kept: frozenset[str] = frozenset()) -> Call:
    """The construction of ``node`` and everything below it; a node whose path is in ``kept`` (a later
    branch reads its output) is wrapped in :class:`~.structures.Keep`."""
    call = _PLANS[type(node)](node, kept)
    return Call(Keep, {"module": call, "slot": node.path}, call.comment) if node.path in kept else call


def plan_graph(graph: Graph) -> Call:
    """The construction of the whole network: the root's, with the tied weights (``tie:``) the root
    shares, the skip connections (``{from: PATH}``) it links once every layer is built and the modules it
    freezes (``trainable: false``), named as :func:`archcalc.to_torch` names them."""
    skips = tuple(sorted(read_later(graph)))
    call = plan(graph.root, frozenset(skips))
    layers = {node.path: node for node in graph.layers()}
    ties = tuple((node.path, layers[node.layer.tie].path) for node in layers.values()
                 if getattr(node.layer, "tie", None) is not None)
    if ties:
        call.kwargs["ties"] = ties
    if skips:
        call.kwargs["skips"] = skips
    frozen = tuple(key for key, _ in frozen_keys(module_plan(graph, TORCH_TAKEN)))
    if frozen:
        call.kwargs["frozen"] = frozen
    return call


def _children(nodes: list[Node], kept: frozenset[str] = frozenset()) -> list[tuple[str, Call]]:
    """Each child under its name (dotted names are paths too); an inline construct under ``""``, so its
    children's names join its parent's, as in torch. A name part that torch's containers already use
    (``forward``, ``training``, ``get_buffer``) takes a ``_`` as it does in :func:`archcalc.to_torch`
    (:mod:`archcalc.backends.plan`), so the weights keep torch's ``state_dict`` names both ways."""
    out, used = [], set()
    for node in nodes:
        key = "" if node.inline else ".".join(_free(part) for part in node.name.split("."))
        while key and key in used:  # only a renamed part can collide ('forward_' beside a real 'forward_')
            key += "_"
        used.add(key)
        out.append((key, plan(node, kept)))
    return out


def _free(part: str) -> str:
    while part in TORCH_TAKEN:
        part += "_"
    return part


def _layer(node: LayerNode, kept: frozenset[str] = frozenset()) -> Call:
    if node.layer.kind not in KINDS:
        raise SpecError(node.loc, f"{node.layer.kind}: the NumPy backend cannot compute this kind yet",
                        code="export-unsupported", hint="export it --to torch, or train it with --backend torch")
    call = _reparametrised(node.layer, KINDS[node.layer.kind](node.layer, node.in_shape))
    call.comment = f"→ {shape_text(node.out_shape)}"
    return call


def _reparametrised(layer: Layer, call: Call) -> Call:
    """The layer's call wrapped in its ``weight_norm:`` or ``spectral_norm:`` (:class:`~.layers.WeightNorm`,
    :class:`~.layers.SpectralNorm`), which take the weight's place under torch's names; the call itself else."""
    reparam = layer.reparam
    if reparam is None:
        return call
    if reparam.weight_norm:
        return Call(L.WeightNorm, {"layer": call, "dim": reparam.dim, "names": reparam.names})
    return Call(L.SpectralNorm, {"layer": call, "n_power_iterations": reparam.n_power_iterations, "eps": reparam.eps,
                                 "dim": reparam.dim})


def _residual(node: ResidualNode, kept: frozenset[str] = frozenset()) -> Call:
    shortcut = {"identity": "identity", "none": None}.get(node.mode) if node.shortcut is None else \
        plan(node.shortcut, kept)
    args = {"body": _children(node.body, kept), "shortcut": shortcut, "then": _children(node.then, kept)}
    if node.shortcut is not None and node.shortcut.name != "shortcut":
        args["shortcut_name"] = node.shortcut.name
    return Call(Residual, args)


_PLANS: dict[type, Callable[[Node, frozenset[str]], Call]] = {
    LayerNode: _layer,
    SeqNode: lambda node, kept: Call(Sequential, {"layers": _children(node.items, kept)}),
    ResidualNode: _residual,
    MergeNode: lambda node, kept: _merge(node, kept),
}


def _merge(node: MergeNode, kept: frozenset[str] = frozenset()) -> Call:
    """The merge's structure; a branch that reads an earlier node's output (``{from: PATH}``) is wrapped
    in :class:`~.structures.From`, which the root links to that node's :class:`~.structures.Keep`."""
    kind = node.layer.kind
    if kind not in MERGES:
        raise SpecError(node.loc, f"{kind}: the NumPy backend cannot compute this kind yet", code="export-unsupported",
                        hint="export it --to torch, or train it with --backend torch")
    branches = [(name, call if source is None else Call(From, {"branch": call, "slot": source.path}))
                for (name, call), source in zip(_children(node.branches, kept),
                                                [node.source(i) for i in range(len(node.branches))])]
    return MERGES[kind](node.layer, branches, node.inputs)


#: merge kind → its structure, from the layer, its branches' calls and their output shapes
MERGES: dict[str, Callable[[Layer, list, list[Shape]], Call]] = {
    "concat": lambda a, branches, xs: Call(Concat, {"branches": branches, "axis": a.axis % len(xs[0]) + 1}),
    "add": lambda a, branches, xs: Call(Add, {"branches": branches}),
    "multiply": lambda a, branches, xs: Call(Multiply, {"branches": branches}),
    "attention": lambda a, branches, xs: Call(Attend, {"branches": branches, **_attention(a, xs)}),
}


def build_model(graph: Graph, seed=None, dtype="float32") -> Sequential:
    """The network as NumPy modules, initialised like PyTorch from ``seed`` (an int or a Generator)."""
    import numpy as np

    return plan_graph(graph).build(np.random.default_rng(seed)).astype(dtype)


def loss_kwargs(train: TrainSpec) -> dict[str, object]:
    """The loss class's keyword arguments: its hyperparameters, what it takes when the spec says so
    (cross-entropy on probabilities), and ``fuse=False`` when the spec says what a logits loss takes,
    so that it sees the network's output exactly."""
    kwargs: dict[str, object] = dict(train.loss_settings)
    if train.loss_inputs is not None and train.loss == "cross_entropy":
        kwargs["inputs"] = train.loss_inputs
    if train.loss_inputs is not None and train.loss in LOGIT_LOSSES:
        kwargs["fuse"] = False
    if train.loss == "squared_hinge":
        kwargs["squared"] = True
    if train.multi_label and train.loss in YES_NO_LOSSES + SIGN_LOSSES:
        kwargs["multi_label"] = True  # scored label by label
    return kwargs


def make_loss(train: TrainSpec):
    return LOSSES[train.loss](**loss_kwargs(train))


def optimizer_kwargs(train: TrainSpec) -> dict[str, object]:
    """The optimizer's keyword arguments: the spec's hyperparameters and weight decay."""
    return {**{k: plain(v) for k, v in train.optimizer.hyper.items()}, "weight_decay": train.weight_decay}


def clip_kwargs(train: TrainSpec) -> dict[str, float]:
    """:class:`~.optim.ClipGradients`' keyword argument for the spec's clipping (torch.nn.utils' names:
    ``max_norm``, ``clip_value``); empty when the spec clips nothing."""
    if train.clip_grad_norm is not None:
        return {"max_norm": train.clip_grad_norm}
    if train.clip_grad_value is not None:
        return {"clip_value": train.clip_grad_value}
    return {}


def make_optimizer(train: TrainSpec, params):
    """The spec's optimizer over ``params``, wrapped in :class:`~.optim.ClipGradients` when it clips."""
    optimizer = OPTIMIZERS[train.optimizer.name](params, **optimizer_kwargs(train))
    clip = clip_kwargs(train)
    return optim.ClipGradients(optimizer, **clip) if clip else optimizer
