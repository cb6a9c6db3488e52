"""What autograd saves for the backward pass, layer by layer: the activations a training step holds.

A training step keeps, between its forward and backward pass, exactly the tensors each operation
saves for its gradient (``ctx.save_for_backward``; what ``torch.autograd.graph.saved_tensors_hooks``
sees). Several operations often save the same tensor (a ReLU saves its output, the convolution after
it saves that as its input): each tensor is counted once. Parameters and buffers are model state,
counted apart. :data:`SAVES` says, per layer kind, which tensors PyTorch's kernels save
(``tools/autograd/derivatives.yaml``); tests/test_plan.py measures them on real training steps.

Activation checkpointing (``torch.utils.checkpoint``) replaces what a unit saves by its input and
recomputes the unit during the backward pass, one unit at a time:

- ``full``: every instance of one block is a unit: by default the block with the most instances
  (the outer one of a tie), so one ResNet bottleneck or one transformer layer, as Hugging Face's
  ``gradient_checkpointing`` and Megatron's full recomputation do; a spec without blocks checkpoints
  each top-level layer;
- ``selective``: only the kinds in :data:`RECOMPUTE` (the attention core, Korthikanti et al. 2022) are
  units; a network without them saves what ``none`` saves.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode
from archcalc.layers.base import Layer, Shape, numel
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim

#: storage types of saved tensors besides the activations' own (``act``): bytes per element
FIXED_BYTES = {"fp32": 4, "int64": 8, "bool": 1}
CHECKPOINTING = ("none", "selective", "full")


@dataclass(frozen=True, slots=True)
class Save:
    """One tensor an operation saves: ``ref`` is ``in`` (its input; ``inN`` for a merge's N-th),
    ``out`` (its output) or ``own`` (a tensor of its own: pooling indices, a dropout mask, batch-norm
    statistics); ``elements`` per example, or in all when ``per_example`` is False; ``dtype`` is ``act``
    (the activations' type) or a key of :data:`FIXED_BYTES`. ``for_input`` marks a tensor a step without
    weights inside the layer saves (a convolution's reflection pad): on an input that requires no grad
    autograd records that step not at all, so it is not saved there. ``for_weight`` marks a tensor saved
    for the weights' gradient alone (a linear layer's input: ``mm``'s derivative saves it only when the
    weight requires grad), which a frozen layer (``trainable: false``) does not save."""

    ref: str
    elements: Dim
    dtype: str = "act"
    per_example: bool = True
    for_input: bool = False
    for_weight: bool = False


def _in(x: Shape) -> Save:
    return Save("in", numel(x))


def _out(y: Shape) -> Save:
    return Save("out", numel(y))


def _copy_pad(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # reflection_pad*d_backward(grad, self, padding) and replication_pad*d's take the input itself; circular
    # padding is narrows and a cat, whose backward needs only the sizes; constant_pad_nd_backward the amounts
    return [_in(x)] if layer.mode in ("reflect", "replicate") else []


def _conv(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # convolution_backward: the input (and the weight, a parameter). A padding_mode other than zeros pads with
    # F.pad first (which saves as pad does), then convolves the padded copy unpadded and saves that
    if layer.padding_mode == "zeros":
        return [_in(x)]
    padded = numel((x[0], *(n + before + after for n, (before, after) in zip(x[1:], layer.pad_pairs()))))
    pads = [Save("in", numel(x), for_input=True)] if layer.padding_mode in ("reflect", "replicate") else []
    return [*pads, Save("own", padded)]


def _batchnorm(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # native_batch_norm saves its input and, per channel, save_mean and save_invstd (fp32 accumulators)
    return [_in(x), Save("own", x[0], "fp32", False), Save("own", x[0], "fp32", False)]


def _instancenorm(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # instance_norm is batch norm on the [1, N·C, …] view of its input: native_batch_norm saves that view (the
    # input), save_mean and save_invstd (fp32) per example and channel, and the N·C copies it made of the
    # weight (weight.repeat(N)) and of the running mean and variance, in their type
    copies = (1 if layer.affine else 0) + (2 if layer.track_running_stats else 0)
    return [_in(x), Save("own", x[0], "fp32"), Save("own", x[0], "fp32"), *(Save("own", x[0]) for _ in range(copies))]


def _maxpool(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    return [_in(x), Save("own", numel(y), "int64")]  # max_pool*_with_indices: self and the indices


def _dropout(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # on a GPU native_dropout saves a bool mask; on the CPU aten's dropout multiplies by a noise tensor
    # of the input's type and saves that (the ``mask`` type: 1 byte, or the activations' on a CPU)
    return [Save("own", numel(x), "mask")] if layer.config()["p"] else []


def _channel_dropout(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # feature dropout multiplies by a noise tensor of one value per example and channel ([N, C, 1, …]), in the
    # input's type on every device (it is not native_dropout), and saves it
    return [Save("own", x[0])] if layer.config()["p"] else []


def _layernorm(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # native_layer_norm: the input, and mean and rstd (fp32) per normalised group
    groups = numel(x) // numel(layer.normalized(x))
    return [_in(x), Save("own", groups, "fp32"), Save("own", groups, "fp32")]


def _rmsnorm(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # aten's rms_norm: x upcast to fp32 (x itself in fp32), rsqrt(mean(x²) + eps) per group (fp32), and
    # x·rsqrt in the activations' type, which the weight multiplies
    groups = numel(x) // numel(layer.normalized(x))
    if layer.offset:
        # Gemma's, in plain operations in fp32: x (upcast), rsqrt per group, x·rsqrt (fp32) and offset + γ
        return [Save("in", numel(x), "upcast"), Save("own", groups, "fp32"), Save("own", numel(x), "fp32"),
                Save("own", numel(layer.normalized(x)), "fp32", False)]
    return [Save("in", numel(x), "upcast"), Save("own", groups, "fp32"), Save("own", numel(x))]


def _attention(layer: Layer, xs: list[Shape], y: Shape) -> list[Save]:
    """Flash attention (``scaled_dot_product_attention`` on a GPU, and on the CPU without dropout) saves
    q, k, v, its output and the log-sum-exp of each query row (fp32); dropout adds the generator's
    seed and offset. q, k, v are views of the inputs unless rotary embedding made new ones (its cos
    and sin tables, T × r/2 per call, are saved too) or grouped-query attention repeated k and v
    across the query heads (new tensors)."""
    q, k, _, hd = layer.split(xs)
    heads, groups = layer.heads, layer.groups
    g, tq, tk = layer.leading(xs), q[-2], k[-2]  # G sequences of the leading axes, each T_q queries, T_k keys
    fused = len(xs) == 1
    saves = [Save("in", numel(xs[0]))] * 3 if fused else [Save(f"in{i}", numel(x)) for i, x in enumerate(xs)]
    if layer.rotary != "none":  # the cos and sin tables are one per call, broadcast over the sequences
        r = hd if layer.rotary_dim is None else layer.rotary_dim
        saves[:2] = [Save("own", numel(q)), Save("own", numel(k))]
        saves += [Save("own", tq * (r // 2), "act", False) for _ in range(2)]
        saves += [Save("own", tk * (r // 2), "act", False) for _ in range(2)]
    if groups != heads:
        saves[1:3] = [Save("own", g * tk * heads * hd), Save("own", g * tk * heads * hd)]
    if eager(layer):
        # Gemma 2's eager attention (a window or a soft cap) and Swin's biased scores: q·kᵀ saves q and k, the
        # weighted sum v (above); tanh's output (the cap), masked_fill's mask (T_q × T_k bools, once), softmax's
        # fp32 probabilities (under bf16 their cast copy is saved too, which this leaves out), and dropout's mask
        # and product; adding the relative bias saves nothing, and its gather saves the index, a buffer
        scores = g * heads * tq * tk
        saves += [Save("own", scores)] if layer.softcap is not None else []
        saves += [Save("own", tq * tk, "bool", False), Save("own", scores, "fp32")]
        return saves + ([Save("own", scores, "mask"), Save("own", scores)] if layer.dropout else [])
    # flash attention lays its output out as q is: q a view of a projection's [N, T, heads·d] output gives
    # [N, T, heads, d] memory, so the layer's [N, T, heads·d] result is a view of it; a rotated q is a new
    # [N, heads, T, d] tensor, and the result a copy (the next layer saves that)
    saves += [Save("own", numel(y)) if layer.rotary != "none" else _out(y), Save("own", g * heads * tq, "fp32")]
    if layer.dropout:
        saves += [Save("own", 1, "int64", False), Save("own", 1, "int64", False)]
    return saves


def eager(layer: Layer) -> bool:
    """torch computes attention with a window or a soft cap as Gemma's eager code does, and with a relative
    position bias as torchvision's Swin does, not with ``scaled_dot_product_attention``."""
    return layer.window is not None or layer.softcap is not None or layer.relative_bias is not None


def _multihead(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    """q_proj, k_proj and v_proj save their input x (layout: torch, a copy of it), q_norm and k_norm
    (``qk_norm``) what rms_norm or layer_norm saves of q and k, the attention core
    saves what :func:`_attention` says of their outputs (``q``, ``k``, ``v``), and o_proj saves the
    core's output: a view of flash attention's output, or its copy when rotary embedding made q a new
    tensor."""
    q, k, v = layer.projected(x)
    core = q
    rename = {"in0": "q", "in1": "k", "in2": "v", "out": "core"}
    # layout: torch (nn.MultiheadAttention, batch first) projects a contiguous copy of x transposed to
    # sequence-first, and saves that copy instead of x
    first = Save("own", numel(x), for_weight=True) if layer.layout == "torch" else Save("in", numel(x),
                                                                                        for_weight=True)
    norms: list[Save] = []
    for name, shape, width in zip(("q", "k"), (q, k), layer.norm_widths(x)):
        # q_norm and k_norm are rms_norm or layer_norm on the projection (a view of it, per head; with
        # per_head one call per head, on views of it, their outputs stacked): they save what :func:`_rmsnorm`
        # and :func:`_layernorm` say, and the attention core reads their output, a new tensor
        groups = numel(shape) // width
        if layer.qk_norm_kind == "layernorm":
            norms += [Save(name, numel(shape)), Save("own", groups, "fp32"), Save("own", groups, "fp32")]
        else:
            norms += [Save(name, numel(shape), "upcast"), Save("own", groups, "fp32")]
            # Gemma 3's offset: plain operations in fp32, x·rsqrt and offset + γ saved in fp32
            norms += [Save("own", numel(shape), "fp32"), Save("own", width, "fp32", False)] \
                if layer.qk_norm_offset else [Save("own", numel(shape))]
        rename["in0" if name == "q" else "in1"] = f"{name}_normed"
    saves = [first, *norms, *(Save(rename.get(s.ref, s.ref), s.elements, s.dtype, s.per_example)
                              for s in _attention(layer, [q, k, v], core))]
    # the eager core's output is a new [N, heads, T, d] tensor, so o_proj's input is a copy as under rotary
    return [*saves, Save("core_copy" if layer.rotary != "none" or eager(layer) else "core", numel(core),
                         for_weight=True)]


def _moe(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    """The router saves its input x, the softmax its probabilities and topk its indices (fp32: the routing
    is computed in at least fp32); the renormalisation (``normalize``) divides the kept probabilities by
    their sum and saves both. Then each expert, on the n tokens routed to it: torch.where's indices (one
    [n, 2] storage), the gathered tokens, the gate_up output [n, 2F] (act and the product save views of
    it), act(gate) and the product [n, F], the routing weights [n, 1] (fp32), the expert's output [n, D]
    (times the weight) and the weighted output (index_add_ keeps it) [n, D].

    Which tokens an expert gets depends on the data, but every expert's tensors are linear in its n, and
    the n add up to k per token: the total is exact at any routing (k·τ token-expert pairs for τ tokens),
    though no single expert's share is (k/E of the tokens each, when balanced).

    A shared expert (``shared``: S) runs on every token: its gate and up projections read x (saved already),
    then the sigmoid of its gate saves its output [τ, 1], its gate_up [τ, 2S], act(gate) and the product
    [τ, S] as the routed experts' do, and the scaling saves the expert's output [τ, D]; DeepSeek's ungated
    ``shared_experts`` save the gate_up, act(gate) and product alone. DeepSeek's routing (sigmoid scores, the
    correction bias, groups, scaling) is counted as Mixtral's: its few [τ, E] tensors are not told apart."""
    d, f, k = x[-1], layer.hidden, layer.top_k
    tokens = numel(x[:-1])
    pairs = k * tokens
    router = [_in(x), Save("own", tokens * layer.experts, "upcast"), Save("own", pairs, "int64")]
    if layer.normalize:
        router += [Save("own", tokens, "upcast"), Save("own", pairs, "upcast")]
    experts = [Save("own", 2 * pairs, "int64"), Save("own", pairs * d), Save("own", pairs * 2 * f),
               Save("own", pairs * f), Save("own", pairs * f), Save("own", pairs, "upcast"), Save("own", pairs * d),
               Save("own", pairs * d)]
    shared = [] if layer.shared is None else [
        Save("own", tokens * 2 * layer.shared), Save("own", tokens * layer.shared), Save("own", tokens * layer.shared)]
    if layer.shared is not None and layer.shared_gate:  # Qwen2-MoE's σ(gate) and the expert's output it scales
        shared = [Save("own", tokens), *shared, Save("own", tokens * d)]
    return router + experts + shared


def _nothing(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    return []


def _stochastic_depth(layer: Layer, x: Shape, y: Shape) -> list[Save]:
    # x * noise saves the noise for x's gradient: one value per example (mode row) or per batch; p = 0 is x
    return [Save("own", 1, "act", layer.mode == "row")] if layer.p else []


#: layer kind → the tensors its forward saves for backward in training mode (PyTorch's derivatives.yaml)
SAVES: dict[str, Callable[[Layer, Shape, Shape], list[Save]]] = {
    "conv1d": _conv,
    "conv2d": _conv,
    "conv3d": _conv,
    **dict.fromkeys(("conv_transpose1d", "conv_transpose2d", "conv_transpose3d"), lambda layer, x, y: [_in(x)]),
    "linear": lambda layer, x, y: [Save("in", numel(x), for_weight=True)],  # addmm / mm: mat1 (and the weight)
    "batchnorm1d": _batchnorm,
    "batchnorm2d": _batchnorm,
    "batchnorm3d": _batchnorm,
    **dict.fromkeys(("instancenorm1d", "instancenorm2d", "instancenorm3d"), _instancenorm),
    "relu": lambda layer, x, y: [_out(y)],  # threshold_backward(grad, result, 0)
    "sigmoid": lambda layer, x, y: [_out(y)],
    "tanh": lambda layer, x, y: [_out(y)],
    "softmax": lambda layer, x, y: [_out(y)],
    "log_softmax": lambda layer, x, y: [_out(y)],
    "relu6": lambda layer, x, y: [_in(x)],  # hardtanh_backward(grad, self, 0, 6)
    "leaky_relu": lambda layer, x, y: [_in(x)],
    "gelu": lambda layer, x, y: [_in(x)],
    "silu": lambda layer, x, y: [_in(x)],
    "mish": lambda layer, x, y: [_in(x)],
    "softplus": lambda layer, x, y: [_in(x)],
    "softcap": lambda layer, x, y: [Save("own", numel(y))],  # tanh(x / c), a new tensor (÷c and ×c save nothing)
    "elu": lambda layer, x, y: [_in(x)],  # elu_backward(..., is_result=false, self)
    "hardswish": lambda layer, x, y: [_in(x)],
    "hardsigmoid": lambda layer, x, y: [_in(x)],
    # nn.GLU: glu_backward(grad, self, dim); another gate (GatedUnit): its function saves the gate half (a view of
    # the input) or its own output, and the product the value half (a view) and act(gate), a new tensor
    "glu": lambda layer, x, y: [_in(x)] if layer.plain else [_in(x), Save("own", numel(y))],
    "prelu": lambda layer, x, y: [_in(x)],  # _prelu_kernel_backward: self and the weight (a parameter)
    "step": _nothing,  # sign's gradient is zero: nothing saved
    **dict.fromkeys(("maxpool1d", "maxpool2d", "maxpool3d"), _maxpool),
    **dict.fromkeys(("avgpool1d", "avgpool2d", "avgpool3d"), lambda layer, x, y: [_in(x)]),
    # pooled to 1 everywhere: a mean, which keeps only sizes
    **dict.fromkeys(("adaptive_avgpool1d", "adaptive_avgpool2d", "adaptive_avgpool3d"),
                    lambda layer, x, y: [] if all(v == 1 for v in y[1:]) else [_in(x)]),
    **dict.fromkeys(("global_avgpool1d", "global_avgpool2d", "global_avgpool3d"), _nothing),  # a mean: sizes only
    "dropout": _dropout,
    **dict.fromkeys(("dropout1d", "dropout2d", "dropout3d"), _channel_dropout),
    "embedding": lambda layer, x, y: [Save("in", numel(x), "int64")]  # embedding_backward: the indices
    + ([Save("own", 1, "act", False)] if layer.scale is not None else []),  # Gemma's rows times a 0-d factor
    # weight[arange(T)]: the positions; added to the input (add: true), a sum that saves nothing
    "pos_embedding": lambda layer, x, y: [] if layer.add else [Save("own", x[0], "int64", False)],
    "layernorm": _layernorm,
    "layernorm2d": _layernorm,  # native_layer_norm on the channels-last view: the same tensors
    "rmsnorm": _rmsnorm,
    "attention": lambda layer, x, y: _attention(layer, [x], y),
    "multihead_attention": _multihead,
    "moe": _moe,
    "class_token": _nothing,  # cat of the expanded token and the input: sizes only
    # γ * x: x, for γ's gradient (γ is a parameter)
    "layer_scale": lambda layer, x, y: [Save("in", numel(x), for_weight=True)],
    "stochastic_depth": _stochastic_depth,
    "flatten": _nothing,
    "upsample": _nothing,  # the backward of nearest and linear interpolation needs only the sizes
    "pixel_shuffle": _nothing,  # a permutation of the elements
    "pad": _copy_pad,
    "reshape": _nothing,  # views: their backward needs sizes, strides and the index only
    "permute": _nothing,
    "transpose": _nothing,
    "select": _nothing,
    "identity": _nothing,
    "scale": _nothing,  # x * c by a Python number: its backward is grad * c, nothing saved
}


def _multiply(layer: Layer, xs: list[Shape], y: Shape) -> list[Save]:
    # x0 * x1 * x2 …: each product saves both of its factors; the running products are new tensors
    saves = [Save("in0", numel(xs[0]))] if len(xs) > 1 else []
    for i in range(1, len(xs)):
        if i > 1:
            saves.append(Save(f"partial{i}", numel(y)))
        saves.append(Save(f"in{i}", numel(xs[i])))
    return saves


#: merge kind → what it saves (``inN`` is the N-th branch's output)
MERGE_SAVES: dict[str, Callable[[Layer, list[Shape], Shape], list[Save]]] = {
    "add": lambda layer, xs, y: [],
    "concat": lambda layer, xs, y: [],
    "multiply": _multiply,
    "attention": _attention,
}

#: kinds that ``selective`` checkpointing recomputes (memory-heavy, cheap to recompute: Korthikanti et al. 2022);
#: ``multihead_attention`` holds its projections, so they are recomputed with the core
RECOMPUTE: frozenset[str] = frozenset({"attention", "multihead_attention"})


def _target(y: Shape) -> Dim:
    """Class indices: one per output vector (an image's one; a sequence's T)."""
    return numel(y[:-1]) if len(y) > 1 else 1


#: loss (train.loss) → what it saves besides the network's output: ``in`` is that output
LOSS_SAVES: dict[str, Callable[[Shape], list[Save]]] = {
    # log_softmax saves its result (a new tensor, in fp32 under autocast), nll_loss the class indices
    # and total_weight (a 0-d tensor)
    "cross_entropy": lambda y: [Save("own", numel(y), "loss"), Save("own", _target(y), "int64"),
                                Save("own", 1, "loss", False)],
    "nll": lambda y: [Save("in", numel(y)), Save("own", _target(y), "int64"), Save("own", 1, "loss", False)],
    "mse": lambda y: [Save("in", numel(y)), Save("own", numel(y))],
    "l1": lambda y: [Save("in", numel(y)), Save("own", numel(y))],
    "huber": lambda y: [Save("in", numel(y)), Save("own", numel(y))],
    "smooth_l1": lambda y: [Save("in", numel(y)), Save("own", numel(y))],
    "bce": lambda y: [Save("in", numel(y)), Save("own", numel(y))],
    "bce_with_logits": lambda y: [Save("in", numel(y)), Save("own", numel(y))],
}


@dataclass(slots=True)
class Saved:
    """The saved tensors of one training step, per example and in all.

    ``rows`` is one entry per layer (and the loss) in execution order: the tensors it is the first to
    save, as (elements per example, elements in all) per storage type. ``stored`` holds the keys kept
    from the forward to the backward pass; ``recompute`` is the largest set a checkpointed unit saves
    again while the backward pass recomputes it (live for that unit only). ``estimated`` lists the
    kinds :data:`SAVES` does not know, counted as saving their input and output (an upper bound)."""

    sizes: dict[object, tuple[Dim, bool, str]] = field(default_factory=dict)
    rows: list[tuple[str, str, list[object]]] = field(default_factory=list)
    stored: list[object] = field(default_factory=list)
    recompute: list[object] = field(default_factory=list)
    recompute_unit: str = ""
    units: list[str] = field(default_factory=list)
    estimated: list[str] = field(default_factory=list)

    def bytes(self, keys: list[object], batch: Dim, act: int, loss: int | None = None, mask: int = 1) -> Dim:
        """Bytes of ``keys`` at ``batch`` examples, activations of ``act`` bytes (the loss's tensors of
        ``loss``, fp32 under autocast; dropout masks of ``mask``: 1 on a GPU, ``act`` on a CPU)."""
        sizes = {"act": act, "loss": loss or act, "mask": mask, "upcast": 4, **FIXED_BYTES}
        total: Dim = 0
        for key in keys:
            elements, per_example, dtype = self.sizes[key]
            size = sizes[dtype]
            total = total + elements * (batch if per_example else 1) * size
        return total


class _Walk:
    def __init__(self, graph: Graph, checkpointing: str, loss: str | None, block: str | None):
        self.graph, self.mode = graph, checkpointing
        self.block = block if block is not None else unit_block(graph)
        self.out = Saved()
        self.kept: dict[object, None] = {}  # ordered set of stored keys
        self.unit: list[dict[object, None]] | None = None  # keys saved inside the current unit
        self.loss = loss
        # tensors that do not require grad: the network's input (a batch of data), and what layers without
        # weights make of it; autograd records nothing for them, so such a layer saves nothing. Under
        # checkpointing the input is taken to require grad (a reentrant checkpoint needs it to, to backpropagate)
        self.constant: set[object] = {"input"} if checkpointing == "none" else set()

    def note(self, node: Node, saves: list[Save], refs: dict[str, object]) -> None:
        keys = []
        for i, s in enumerate(saves):
            key = refs.get(s.ref, (node, s.ref, i) if s.ref == "own" else (node, s.ref))
            if key not in self.out.sizes or (s.ref.startswith("in") and s.dtype != "act"):  # token ids: int64
                self.out.sizes[key] = (s.elements, s.per_example, s.dtype)
            keys.append(key)
            (self.unit[-1] if self.unit is not None else self.kept).setdefault(key, None)
        self.out.rows.append((node.path, node.kind, keys))

    def is_unit(self, node: Node) -> bool:
        if self.unit is not None or self.mode == "none":
            return False
        if self.mode == "selective":
            return node.kind in RECOMPUTE
        return node.block == self.block if self.block else node in self.graph.root.items

    def visit(self, node: Node, x: object) -> object:
        if not self.is_unit(node):
            return self.run(node, x)
        self.kept.setdefault(x, None)  # the checkpoint saves its input
        self.unit = [{}]
        y = self.run(node, x)
        inside = [k for k in self.unit[0] if k not in self.kept]
        self.unit = None
        self.out.units.append(node.path)
        if len(self.out.sizes) and self._size(inside) > self._size(self.out.recompute):
            self.out.recompute, self.out.recompute_unit = inside, node.path
        return y

    def _size(self, keys: list[object]) -> Dim:
        return self.out.bytes(keys, 1, 4) if keys else 0

    def run(self, node: Node, x: object) -> object:
        if isinstance(node, LayerNode):
            y = x if Trait.ALIASES in node.layer.TRAITS else (node, "out")
            if x in self.constant and not _weighted(node):
                self.constant.add(y)  # a function of the data alone: nothing recorded, nothing saved
                self.out.rows.append((node.path, node.kind, []))
                return y
            rule = SAVES.get(node.kind)
            if rule is None:
                self.out.estimated.append(node.kind)
                saves = [_in(node.in_shape), _out(node.out_shape)]
            else:
                saves = rule(node.layer, node.in_shape, node.out_shape)
            if x in self.constant:
                saves = [s for s in saves if not s.for_input]
            if node.frozen:  # its weights require no grad: what only their gradient needs is not saved
                saves = [s for s in saves if not s.for_weight]
            self.sizes_of(x, node.in_shape)
            self.sizes_of(y, node.out_shape)
            self.note(node, saves, {"in": x, "out": y})
            return y
        if isinstance(node, ResidualNode):
            y = x
            for child in node.body:
                y = self.visit(child, y)
            if node.mode != "none":
                shortcut = self.visit(node.shortcut, x) if node.shortcut is not None else x
                body, y = y, (node, "sum")  # the addition saves nothing
                if body in self.constant and shortcut in self.constant:
                    self.constant.add(y)
            for child in node.then:
                y = self.visit(child, y)
            return y
        if isinstance(node, MergeNode):
            outs = [self.visit(branch, x) for branch in node.branches]
            y = (node, "out")
            if all(key in self.constant for key in outs) and not _weighted(node):
                self.constant.add(y)
                self.out.rows.append((node.path, node.layer.kind, []))
                return y
            rule = MERGE_SAVES.get(node.layer.kind)
            refs = {f"in{i}": key for i, key in enumerate(outs)} | {"out": y}
            for key, shape in zip(outs, node.inputs, strict=True):
                self.sizes_of(key, shape)
            self.sizes_of(y, node.out_shape)
            if rule is None:
                self.out.estimated.append(node.layer.kind)
                saves = [Save(f"in{i}", numel(s)) for i, s in enumerate(node.inputs)] + [_out(node.out_shape)]
            else:
                saves = rule(node.layer, node.inputs, node.out_shape)
            self.note(node, saves, refs)
            return y
        for child in node.children:
            x = self.visit(child, x)
        return x

    def sizes_of(self, key: object, shape: Shape) -> None:
        if key not in self.out.sizes:
            self.out.sizes[key] = (numel(shape), True, "act")

    def walk(self) -> Saved:
        x: object = "input"
        self.out.sizes[x] = (numel(self.graph.input_shape), True, "act")
        y = x
        for child in self.graph.root.items:
            y = self.visit(child, y)
        if self.loss is not None:
            rule = LOSS_SAVES.get(self.loss)
            shape = self.graph.output_shape
            saves = rule(shape) if rule else [Save("in", numel(shape)), Save("own", numel(shape))]
            keys = []
            for i, s in enumerate(saves):
                key = y if s.ref == "in" else ("loss", i)
                self.out.sizes.setdefault(key, (s.elements, s.per_example, s.dtype))
                self.kept.setdefault(key, None)
                keys.append(key)
            self.out.rows.append(("loss", self.loss, keys))
        self.out.stored = list(self.kept)
        return self.out


def _weighted(node: LayerNode | MergeNode) -> bool:
    """Whether the layer computes with weights that require grad (its own, or a tied layer's), so that
    autograd records it, and saves what the weights' gradients need, even on an input that does not. A frozen
    layer's (``trainable: false``) do not, and neither does a tied owner's then (a tie joins two layers of one
    setting)."""
    if node.frozen:
        return False
    layer = node.layer
    own = layer.merge_params(node.inputs) if isinstance(node, MergeNode) else layer.params(node.in_shape)
    return bool(own.trainable) or bool(getattr(layer, "tie", None))


def unit_block(graph: Graph) -> str:
    """The block full checkpointing recomputes by default: the one with the most instances (the
    outermost of a tie); '' when the spec has no blocks."""
    count: dict[str, list[int]] = {}
    for node, depth in graph.walk():
        if node.block:
            count.setdefault(node.block, [0, depth])[0] += 1
    return max(count, key=lambda b: (count[b][0], -count[b][1]), default="")


def saved(graph: Graph, checkpointing: str = "none", loss: str | None = None, block: str | None = None) -> Saved:
    """The tensors one training step of ``graph`` saves, with ``checkpointing`` (each instance of
    ``block`` a unit of ``full``; default :func:`unit_block`) and the ``loss`` (``train.loss``; None:
    the network's output is the end)."""
    return _Walk(graph, checkpointing, loss, block).walk()
