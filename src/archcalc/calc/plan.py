"""Plan a training or serving run: memory per GPU, sharding, KV cache, FLOPs and time.

Every figure comes from the graph (docs/plan.md gives each formula and its source):

- **model states** per parameter tensor: weights and gradients in the compute type, the fp32 master
  copy and fp32 gradient partition of mixed precision (DeepSpeed's accounting), and the optimizer's
  state tensors exactly as ``torch.optim`` allocates them (Adafactor's factored rows and columns;
  bitsandbytes' 8-bit Adam), then divided as ZeRO stage 1–3 or FSDP shards them;
- **saved activations** from :mod:`archcalc.calc.saved` (what autograd keeps, each tensor once), with
  activation checkpointing;
- **KV cache** for inference from every attention layer's key and value widths;
- **FLOPs**: the graph's MACs, forward 2·MACs, backward twice that (the first layer computes no input
  gradient), beside the 6·N rule of thumb.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from archcalc.calc.saved import Saved, saved
from archcalc.graph import Graph, LayerNode, MergeNode
from archcalc.layers import LAYERS
from archcalc.layers.base import numel
from archcalc.layers.traits import Trait

#: precision → (bytes of weights, gradients and activations in compute; master copy bytes; optimizer state bytes)
PRECISIONS: dict[str, tuple[int, int, int]] = {
    "fp32": (4, 0, 4),
    "mixed-bf16": (2, 4, 4),  # bf16 compute, fp32 master weights, fp32 gradient partition, fp32 states
    "mixed-fp16": (2, 4, 4),
    "bf16": (2, 0, 2),  # pure bf16: weights, gradients and optimizer state all bf16
}
OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "adagrad", "rmsprop", "adadelta", "adamax", "nadam", "radam",
              "adafactor", "adam8bit")
SHARDING = ("none", "zero1", "zero2", "zero3", "fsdp", "hsdp")
#: 8-bit Adam (bitsandbytes): quantisation block and the smallest tensor it quantises
BLOCK_8BIT, MIN_8BIT = 256, 4096

Shape = tuple[int, ...]


def param_tensors(graph: Graph) -> list[tuple[str, Shape]]:
    """Every trainable parameter tensor (path, shape), in the layout PyTorch gives it: what an optimizer built over
    the parameters that require grad holds (a frozen layer's, under ``trainable: false``, are not among them)."""
    out = []
    for node in graph.layers():
        count = node.layer.params(node.in_shape).trainable
        if not count or node.frozen:
            continue
        rule = TENSORS.get(node.kind)
        shapes = rule(node.layer, node.in_shape) if rule else [(count,)]
        reparam = node.layer.reparam
        if reparam is not None and reparam.weight_norm:  # g beside v (the weight's shape): torch's two parameters
            shapes = [*shapes, reparam.g_shape(node.layer.reparam_shape(node.in_shape))]
        out.extend((node.path, s) for s in shapes)
    return out


def _conv(layer, x) -> list[Shape]:
    c = layer.config()
    weight = (c["out"], x[0] // c["groups"], *c["kernel"])
    return [weight, (c["out"],)] if c["bias"] else [weight]


def _conv_transpose(layer, x) -> list[Shape]:
    c = layer.config()
    weight = (x[0], c["out"] // c["groups"], *c["kernel"])  # torch's layout: [C_i, C_o/g, *k]
    return [weight, (c["out"],)] if c["bias"] else [weight]


#: kind → its parameter tensors' shapes (kinds not here count as one flat tensor: state per tensor is then a bound)
TENSORS: dict[str, Callable] = {
    "conv1d": _conv, "conv2d": _conv, "conv3d": _conv,
    "conv_transpose1d": _conv_transpose, "conv_transpose2d": _conv_transpose, "conv_transpose3d": _conv_transpose,
    "linear": lambda layer, x: ([] if layer.tie else [layer.weight_shape(x)]) + ([(layer.out,)] if layer.bias
                                                                                   else []),
    "embedding": lambda layer, x: [] if layer.tie else [(layer.vocab, layer.dim)],
    "pos_embedding": lambda layer, x: [layer.weight_shape(x)],
    "layernorm": lambda layer, x: [layer.normalized(x)] * ((1 + bool(layer.bias)) if layer.affine else 0),
    "layernorm2d": lambda layer, x: [layer.normalized(x)] * ((1 + bool(layer.bias)) if layer.affine else 0),
    "rmsnorm": lambda layer, x: [layer.normalized(x)] if layer.affine else [],
    "prelu": lambda layer, x: [(x[0] if layer.per_channel else 1,)],
    "multihead_attention": lambda layer, x: _multihead(layer, x),
    # the router gate.weight (or router.weight) [E, D], experts.gate_up_proj [E, 2F, D] and experts.down_proj [E, D, F]
    # (with a shared expert, its gate_proj, up_proj, down_proj and Qwen2-MoE's shared_expert_gate after them)
    "moe": lambda layer, x: [(layer.experts, x[-1]), (layer.experts, 2 * layer.hidden, x[-1]),
                             (layer.experts, x[-1], layer.hidden)] + ([] if layer.shared is None else [
        (layer.shared, x[-1]), (layer.shared, x[-1]), (x[-1], layer.shared),
        *([(1, x[-1])] if layer.shared_gate else [])]),
    # q_proj or q_a_proj, q_a_layernorm and q_b_proj; kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj
    "mla": lambda layer, x: [shape for _, shape in layer.tensors(x)],
    "layer_scale": lambda layer, x: [layer.shape(x)],  # [C, 1, 1] as stored (Adafactor factors it)
    "class_token": lambda layer, x: [(1, 1, x[-1])],  # ViT's [1, 1, D] token
    "lstm": lambda layer, x: layer.tensors(x),
    "gru": lambda layer, x: layer.tensors(x),
    "rnn": lambda layer, x: layer.tensors(x),
    "batchnorm1d": lambda layer, x: [(x[0],), (x[0],)],
    "batchnorm2d": lambda layer, x: [(x[0],), (x[0],)],
    "batchnorm3d": lambda layer, x: [(x[0],), (x[0],)],
    **dict.fromkeys(("instancenorm1d", "instancenorm2d", "instancenorm3d"),
                    lambda layer, x: [(x[0],), (x[0],)] if layer.affine else []),
}


def _multihead(layer, x) -> list[Shape]:
    """q_proj, k_proj, v_proj (weights, then biases with ``bias``), o_proj, then q_norm and k_norm (``qk_norm``),
    in torch's registration order;
    ``layout: torch``: nn.MultiheadAttention's in_proj_weight, in_proj_bias and out_proj."""
    if layer.layout == "torch":
        d = x[1]
        return [(3 * d, d), *([(3 * d,)] if layer.bias else []), (d, d), *([(d,)] if layer.bias else [])]
    q, k, v = layer.projected(x)
    _, out = layer.dims(x)
    shapes = []
    for width in (q[1], k[1], v[1]):
        shapes += [(width, x[1])] + ([(width,)] if layer.bias else [])
    return shapes + [(out, q[1])] + ([(out,)] if layer.out_biased else []) + layer.norm_shapes(x)


def _prod(shape: Shape) -> int:
    n = 1
    for v in shape:
        n *= v
    return n


def _factored(shape: Shape) -> int:
    """torch.optim.Adafactor: row and column second moments for ≥ 2-D tensors, a full one otherwise."""
    if len(shape) < 2:
        return _prod(shape)
    return _prod(shape[:-1]) + _prod(shape[:-2]) * shape[-1]


def _8bit(shape: Shape, state: int) -> int:
    """bitsandbytes Adam8bit: two uint8 states and an fp32 absmax per block of 256; small tensors keep fp32 states."""
    n = _prod(shape)
    if n < MIN_8BIT:
        return 2 * n * 4
    blocks = -(-n // BLOCK_8BIT)
    return 2 * n + 2 * blocks * 4


#: optimizer → (bytes of state for one parameter tensor given its shape and the state type's bytes, text)
OPTIMIZER_STATE: dict[str, tuple[Callable[[Shape, int], int], str]] = {
    "sgd": (lambda s, b: 0, "no state"),
    "momentum": (lambda s, b: _prod(s) * b, "momentum_buffer"),
    "adam": (lambda s, b: 2 * _prod(s) * b + 4, "exp_avg, exp_avg_sq, step (0-d fp32)"),
    "adamw": (lambda s, b: 2 * _prod(s) * b + 4, "exp_avg, exp_avg_sq, step (0-d fp32)"),
    "adagrad": (lambda s, b: _prod(s) * b + 4, "sum, step (0-d fp32)"),
    "rmsprop": (lambda s, b: _prod(s) * b + 4, "square_avg, step (0-d fp32)"),
    "adadelta": (lambda s, b: 2 * _prod(s) * b + 4, "square_avg, acc_delta, step (0-d fp32)"),
    "adamax": (lambda s, b: 2 * _prod(s) * b + 4, "exp_avg, exp_inf, step (0-d fp32)"),
    "nadam": (lambda s, b: 2 * _prod(s) * b + 8, "exp_avg, exp_avg_sq, step and mu_product (0-d fp32)"),
    "radam": (lambda s, b: 2 * _prod(s) * b + 4, "exp_avg, exp_avg_sq, step (0-d fp32)"),
    "adafactor": (lambda s, b: _factored(s) * b + 4, "row_var and col_var (≥ 2-D) or variance, step"),
    "adam8bit": (_8bit, "state1, state2 (uint8), absmax1, absmax2 (fp32 per 256)"),
}


def optimizer_from_spec(train: object | None) -> str:
    """The plan's optimizer name for the spec's ``train.optimizer`` (sgd with momentum → momentum)."""
    if train is None:
        return "adamw"
    opt = train.optimizer
    if opt.name == "sgd" and opt.hyper.get("momentum"):
        return "momentum"
    if opt.name in ("adam", "adamw") and opt.hyper.get("amsgrad"):
        return "adam-amsgrad"
    if opt.name == "rmsprop":
        return "-".join(["rmsprop", *(["momentum"] if opt.hyper.get("momentum") else []),
                         *(["centered"] if opt.hyper.get("centered") else [])])
    return opt.name


OPTIMIZER_STATE["adam-amsgrad"] = (lambda s, b: 3 * _prod(s) * b + 4, "exp_avg, exp_avg_sq, max_exp_avg_sq, step")
OPTIMIZER_STATE["rmsprop-momentum"] = (lambda s, b: 2 * _prod(s) * b + 4, "square_avg, momentum_buffer, step")
OPTIMIZER_STATE["rmsprop-centered"] = (lambda s, b: 2 * _prod(s) * b + 4, "square_avg, grad_avg, step")
OPTIMIZER_STATE["rmsprop-momentum-centered"] = (lambda s, b: 3 * _prod(s) * b + 4,
                                                "square_avg, momentum_buffer, grad_avg, step")


def optimizer_bytes(optimizer: str, tensors: list[tuple[str, Shape]], state_bytes: int = 4) -> int:
    """Bytes of optimizer state for ``tensors`` (exactly what one step of the torch optimizer allocates)."""
    rule = OPTIMIZER_STATE[optimizer][0]
    return sum(rule(shape, state_bytes) for _, shape in tensors)


#: name → (memory in bytes, peak dense TFLOPS for bf16, fp16, fp32 (no sparsity, no TF32), source)
GPUS: dict[str, tuple[int, float, float, float, str]] = {
    "a100-40gb": (40 * 2**30, 312.0, 312.0, 19.5,
                  "NVIDIA A100 Tensor Core GPU datasheet (nvidia.com/content/dam/en-zz/Solutions/Data-Center/a100/"
                  "pdf/nvidia-a100-datasheet-us-nvidia-1758950-r4-web.pdf)"),
    "a100-80gb": (80 * 2**30, 312.0, 312.0, 19.5, "NVIDIA A100 datasheet (as a100-40gb)"),
    "h100-sxm": (80 * 2**30, 989.4, 989.4, 66.9,
                 "NVIDIA H100 Tensor Core GPU datasheet (resources.nvidia.com/en-us-tensor-core/"
                 "nvidia-tensor-core-gpu-datasheet); dense = half the sparse 1,979 TFLOPS"),
    "h100-pcie": (80 * 2**30, 756.5, 756.5, 51.2, "NVIDIA H100 datasheet (as h100-sxm)"),
    "h200": (141 * 10**9, 989.4, 989.4, 66.9, "NVIDIA H200 Tensor Core GPU datasheet "
                                                "(nvidia.com/en-us/data-center/h200)"),
    "l4": (24 * 2**30, 121.0, 121.0, 30.3, "NVIDIA L4 datasheet (nvidia.com/en-us/data-center/l4); "
                                              "dense = half of 242"),
    "rtx4090": (24 * 2**30, 165.2, 165.2, 82.6,
                "NVIDIA Ada GPU architecture whitepaper v2.02, table 2 (fp32 accumulate)"),
    "v100-32gb": (32 * 2**30, 0.0, 125.0, 15.7, "NVIDIA V100 datasheet (images.nvidia.com/content/technologies/volta/"
                                                 "pdf/volta-v100-datasheet-update-us-1165301-r5.pdf); no bf16"),
    "t4": (16 * 2**30, 0.0, 65.0, 8.1, "NVIDIA T4 datasheet (nvidia.com/en-us/data-center/tesla-t4); no bf16"),
    "mi300x": (192 * 2**30, 1307.4, 1307.4, 163.4, "AMD Instinct MI300X datasheet (amd.com/en/products/accelerators/"
                                                    "instinct/mi300/mi300x.html)"),
}


def peak_tflops(gpu: str, precision: str) -> float:
    _, bf16, fp16, fp32, _ = GPUS[gpu]
    return {"fp32": fp32, "mixed-bf16": bf16, "bf16": bf16, "mixed-fp16": fp16}[precision]


def kv_cache_per_token(graph: Graph) -> list[tuple[str, int]]:
    """Elements of key and value one token adds to each decoder (causal) attention's cache, per sequence:
    the layer's own ``kv_cache`` (2 × kv_heads × head_dim × T) over the positions it keeps."""
    out = []
    for node, _ in graph.walk():
        layer = getattr(node, "layer", None)
        if layer is None or not hasattr(layer, "kv_cache") or not getattr(layer, "causal", False):
            continue
        inputs = node.inputs if isinstance(node, MergeNode) else [node.in_shape]
        out.append((node.path, layer.kv_per_position(inputs)))
    return out


def kv_cache_at(graph: Graph, context: int) -> tuple[int, int]:
    """(KV cache elements per sequence at ``context`` tokens, of which in sliding windows): each decoder
    attention keeps every token, or the last ``window`` − 1 of them (Gemma 2's and 3's local layers)."""
    total = windowed = 0
    for node, _ in graph.walk():
        layer = getattr(node, "layer", None)
        if layer is None or not hasattr(layer, "kv_cache") or not getattr(layer, "causal", False):
            continue
        inputs = node.inputs if isinstance(node, MergeNode) else [node.in_shape]
        kept = layer.kv_per_position(inputs) * layer.cached(context)
        total += kept
        windowed += kept if layer.window is not None else 0
    return total, windowed


@dataclass(slots=True)
class Options:
    precision: str = "mixed-bf16"
    optimizer: str = "adamw"
    batch: int = 1  # per GPU (per data-parallel rank; a micro-batch with pipeline parallelism)
    checkpointing: str = "none"
    checkpoint_block: str | None = None
    dp: int = 1
    sharding: str = "none"
    shard_size: int = 8  # hsdp: GPUs per shard group
    tp: int = 1
    pp: int = 1
    gpu: str = "h100-sxm"
    reserve: int = 2**30  # CUDA context, NCCL and allocator slack
    inference: bool = False
    context: int | None = None  # tokens in the KV cache
    tokens: int | None = None  # training tokens (or examples) for the time estimate
    mfu: float = 0.4
    loss: str | None = None


@dataclass(slots=True)
class Plan:
    """Bytes per GPU (exact ints) and the work, for one :class:`Options`."""

    options: Options
    weights: int = 0
    buffers: int = 0  # batch-norm statistics (compute type) and counters (int64), never sharded
    gradients: int = 0
    master: int = 0
    optimizer: int = 0
    gathered: int = 0  # ZeRO-3/FSDP: the largest unit's full weights and gradients while it runs
    saved: int = 0
    recompute: int = 0
    kv_cache: int = 0
    temporary: int = 0
    capacity: int = 0
    params: int = 0
    fixed: int = 0  # bytes that do not grow with the batch
    per_example: int = 0
    max_batch: int = 0
    forward_flops: int = 0  # per example
    training_flops: int = 0  # per example
    tokens_per_example: int = 1
    six_n: int = 0  # per token (or example)
    seconds: float | None = None
    notes: list[str] = field(default_factory=list)
    explain: list[tuple[str, str]] = field(default_factory=list)
    layers: list[tuple[str, str, int]] = field(default_factory=list)

    @property
    def model_states(self) -> int:
        return self.weights + self.buffers + self.gradients + self.master + self.optimizer + self.gathered

    @property
    def total(self) -> int:
        return self.model_states + self.saved + self.recompute + self.kv_cache + self.temporary + \
            self.options.reserve

    @property
    def fits(self) -> bool:
        return self.total <= self.capacity


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _first_savers(s: Saved) -> dict[str, list[object]]:
    """Each stored tensor under the layer (path) that saves it first."""
    stored, owner, out = set(s.stored), set(), {}
    for path, _, keys in s.rows:
        mine = [k for k in keys if k in stored and k not in owner]
        owner.update(mine)
        out.setdefault(path, []).extend(mine)
    inputs = [k for k in s.stored if k not in owner]  # checkpoint inputs saved by no layer inside
    out.setdefault("checkpoints", []).extend(inputs)
    return out


def _stages(graph: Graph, pp: int, trainable: dict[str, int]) -> list[list[str]]:
    """Layers (paths) split into ``pp`` contiguous pipeline stages of about equal parameters."""
    paths = [n.path for n in graph.layers()]
    total = sum(trainable.values()) or 1
    stages: list[list[str]] = [[] for _ in range(pp)]
    done = 0
    for path in paths:
        stage = min(pp - 1, done * pp // total)
        stages[stage].append(path)
        done += trainable.get(path, 0)
    return stages


def plan(graph: Graph, o: Options, flops: bool = True) -> Plan:
    """The :class:`Plan` of ``graph`` under ``o`` (concrete dimensions only); ``flops`` False skips the work."""
    p = Plan(o)
    c, m, sb = PRECISIONS[o.precision]
    p.capacity = GPUS[o.gpu][0]
    layer_params = {n.path: n.layer.params(n.in_shape).trainable for n in graph.layers()}
    frozen = {n.path for n in graph.layers() if n.frozen}  # weights without gradients or optimizer state
    tensors = param_tensors(graph)
    P = sum(layer_params.values())
    p.params = P
    ex = p.explain

    # tensor parallelism: each weighted layer whose output (or input) features divide by tp is split
    local = dict(layer_params)
    if o.tp > 1:
        split = []
        for node in graph.layers():
            if not layer_params[node.path]:
                continue
            width = getattr(node.layer, "out", None)
            if width is not None and width % o.tp == 0 and node.kind in TENSORS and node.kind != "batchnorm2d":
                local[node.path] = _ceil(layer_params[node.path], o.tp)
                split.append(node.path)
        p.notes.append(f"tensor parallel {o.tp}: {len(split)} weighted layers split (their output features divide "
                       f"by {o.tp}); the rest and every activation are replicated (an upper bound)")
    stages = [[n.path for n in graph.layers()]]
    if o.pp > 1:
        stages = _stages(graph, o.pp, layer_params)
        heaviest = max(stages, key=lambda st: sum(local[q] for q in st))
        local = {q: local[q] for q in heaviest}
        p.notes.append(f"pipeline parallel {o.pp}: {len(stages[0])} layers on the first stage; the heaviest stage "
                       f"holds {sum(local.values()):,} parameters")
    Pl = sum(local.values())  # parameters on this GPU before data-parallel sharding
    Tl = sum(n for q, n in local.items() if q not in frozen)  # of which trainable: gradients, master copies, states
    counters = sum(n.layer.COUNTERS for n in graph.layers())
    floats = sum(n.layer.params(n.in_shape).buffers for n in graph.layers()) - counters
    p.buffers = floats * c + counters * 8
    if p.buffers:
        ex.append(("buffers", f"{floats:,} running statistics × {c} B + {counters} counters × 8 B = {p.buffers:,} B"))
    if o.inference:
        p.weights = Pl * c
        ex.append(("weights", f"{Pl:,} parameters × {c} B = {p.weights:,} B"))
    else:
        d = 1 if o.sharding == "none" else o.dp if o.sharding != "hsdp" else min(o.shard_size, o.dp)
        opt_rule = OPTIMIZER_STATE[o.optimizer][0]
        flat = [("flat", (_ceil(Tl, d),))] if o.sharding != "none" else \
            [(q, s) for q, s in tensors if q in local]
        if o.tp > 1 or o.pp > 1:
            flat = [("flat", (_ceil(Tl, d),))]
        flat = flat if Tl else []  # nothing learns: no optimizer state at all
        opt = sum(opt_rule(s, sb) for _, s in flat)
        part, trained = _ceil(Pl, d), _ceil(Tl, d)
        stage = o.sharding
        w_shard = part if stage in ("zero3", "fsdp", "hsdp") else Pl
        g_shard = trained if stage in ("zero2", "zero3", "fsdp", "hsdp") else Tl
        if stage in ("fsdp", "hsdp") and m:  # FSDP mixed precision: the sharded parameters are the fp32 ones
            p.weights, p.gradients, p.master = 0, 0, (part + trained) * m
        else:
            p.weights = w_shard * c
            p.gradients = 0 if stage == "zero3" else g_shard * c
            p.master = 2 * (trained if stage != "none" else Tl) * m  # fp32 master weights and fp32 gradients
        p.optimizer = opt
        if stage in ("zero3", "fsdp", "hsdp"):
            # a unit's weights and, for its trainable parameters, their gradients: 2 values per parameter unfrozen
            held = {q: n + (0 if q in frozen else n) for q, n in local.items()}
            largest = max(held.values(), default=0) if stage == "zero3" else _largest_unit(graph, o, held)
            p.gathered = largest * c
            what = f"{largest // 2:,} parameters × ({c} B weights + {c} B gradients)" if not frozen else \
                f"{largest:,} weights and gradients of trainable parameters × {c} B"
            ex.append(("gathered", f"largest {'layer' if stage == 'zero3' else 'FSDP unit'} {what} = {p.gathered:,} B"))
        ex.append(("weights", f"{w_shard if not (stage in ('fsdp', 'hsdp') and m) else 0:,} parameters × {c} B = "
                              f"{p.weights:,} B" + (f" (1/{d} of {Pl:,})" if w_shard != Pl else "")))
        ex.append(("gradients", f"{p.gradients // c if c else 0:,} × {c} B = {p.gradients:,} B"))
        if m and stage in ("fsdp", "hsdp"):
            ex.append(("fp32 master", f"({part:,} sharded weights + {trained:,} sharded gradients) × {m} B = "
                                      f"{p.master:,} B"))
        elif m:
            ex.append(("fp32 master", f"2 × {p.master // (2 * m):,} × {m} B (master weights and fp32 gradients) = "
                                      f"{p.master:,} B"))
        ex.append(("optimizer", f"{o.optimizer} ({OPTIMIZER_STATE[o.optimizer][1]}), states of {sb} B over "
                                f"{len(flat)} tensor(s) = {opt:,} B"))

    # activations, per example then for the batch
    per_gpu_batch = o.batch
    act_bytes = c
    if o.inference:
        kv = sum(n for _, n in kv_cache_per_token(graph))
        ctx = o.context or (graph.input_shape[0] if kv else 0)
        cache, windowed = kv_cache_at(graph, ctx)
        p.kv_cache = cache * per_gpu_batch * c
        if kv and not windowed:
            ex.append(("KV cache", f"{kv:,} key and value elements per token × {ctx:,} tokens × batch "
                                   f"{per_gpu_batch} × {c} B = {p.kv_cache:,} B"))
        elif kv:
            ex.append(("KV cache", f"{cache:,} key and value elements at {ctx:,} tokens ({windowed:,} of them in "
                                   f"sliding windows, which keep their last positions only) × batch "
                                   f"{per_gpu_batch} × {c} B = {p.kv_cache:,} B"))
        live = max((numel(n.in_shape) + numel(n.out_shape) for n in graph.layers()), default=0)
        p.temporary = live * per_gpu_batch * c
        ex.append(("temporary", f"largest layer input + output {live:,} × batch {per_gpu_batch} × {c} B = "
                                f"{p.temporary:,} B (a bound on the forward pass's working set)"))
        per_ex = cache * c + live * c
    else:
        s = saved(graph, o.checkpointing, o.loss, o.checkpoint_block)
        loss_bytes = 4 if m else c
        if o.pp > 1:
            first = set(stages[0])
            owners = _first_savers(s)
            keys = [k for q, ks in owners.items() if q in first or q == "checkpoints" for k in ks]
            per_ex_saved = s.bytes(keys, 1, act_bytes, loss_bytes) * o.pp
            p.saved = per_ex_saved * per_gpu_batch
            ex.append(("saved activations", f"first stage's {s.bytes(keys, 1, act_bytes, loss_bytes):,} B per example "
                                            f"× {o.pp} micro-batches in flight (1F1B) × {per_gpu_batch}"))
        else:
            total1 = s.bytes(s.stored, 1, act_bytes, loss_bytes)
            total0 = s.bytes(s.stored, 0, act_bytes, loss_bytes)
            p.saved = s.bytes(s.stored, per_gpu_batch, act_bytes, loss_bytes)
            per_ex_saved = total1 - total0
            ex.append(("saved activations", f"{len(s.stored)} tensors autograd keeps ({o.checkpointing} "
                                            f"checkpointing): {per_ex_saved:,} B per example × {per_gpu_batch} + "
                                            f"{total0:,} B = {p.saved:,} B"))
        p.recompute = s.bytes(s.recompute, per_gpu_batch, act_bytes, loss_bytes)
        if s.units:
            ex.append(("recomputation", f"{len(s.units)} checkpointed units; the largest recomputation "
                                        f"({s.recompute_unit}) saves {p.recompute:,} B again during backward"))
        live = max((numel(n.in_shape) + numel(n.out_shape) for n in graph.layers()), default=0)
        p.temporary = live * per_gpu_batch * c
        ex.append(("temporary", f"gradients of the largest layer's input and output {live:,} × batch "
                                f"{per_gpu_batch} × {c} B = {p.temporary:,} B (a bound)"))
        per_ex = per_ex_saved + s.bytes(s.recompute, 1, act_bytes, loss_bytes) - \
            s.bytes(s.recompute, 0, act_bytes, loss_bytes) + live * c
        recurrent = sorted({kind for kind in s.estimated if Trait.RECURRENT in LAYERS[kind].TRAITS})
        if others := sorted(set(s.estimated) - set(recurrent)):
            p.notes.append(f"saved tensors of {', '.join(others)} are not modelled: counted as "
                           "their input and output (an upper bound)")
        if recurrent:
            p.notes.append(f"saved tensors of {', '.join(recurrent)} are not modelled: counted as their input and "
                           "output, which is less than PyTorch saves (every step's gates and states, or the fused "
                           "kernel's workspace: oneDNN's on CPU, cuDNN's on a GPU)")
        owners = _first_savers(s)
        p.layers = [(q, kind, s.bytes(owners.get(q, []), per_gpu_batch, act_bytes, loss_bytes))
                    for q, kind, _ in s.rows] + \
            ([("checkpoints", "inputs", s.bytes(owners["checkpoints"], per_gpu_batch, act_bytes, loss_bytes))]
             if owners.get("checkpoints") else [])
    p.per_example = per_ex
    p.fixed = p.total - per_ex * per_gpu_batch
    p.max_batch = max(0, (p.capacity - p.fixed) // per_ex) if per_ex else 0

    if not flops:
        return p
    from archcalc.calc.flops import work

    w = work(graph)
    macs = w[graph.root].macs
    p.forward_flops = 2 * macs
    if o.inference:
        p.training_flops = 0
    else:
        skipped, why = _no_gradient(graph, w)
        extra = 0
        if o.checkpointing != "none":
            s = saved(graph, o.checkpointing, o.loss, o.checkpoint_block)
            units = set(s.units)
            extra = sum(w[n].macs for n, _ in graph.walk() if n.path in units)
        p.training_flops = 2 * (3 * macs - skipped + extra)
        ex.append(("training FLOPs", f"2 × (3 × {macs:,} MACs − {skipped:,} ({why}) + {extra:,} recomputed) = "
                                     f"{p.training_flops:,} per example"))
    p.tokens_per_example = graph.input_shape[0] if kv_cache_per_token(graph) else 1
    p.six_n = 6 * P
    if o.tokens and not o.inference:
        gpus = o.dp * o.tp * o.pp
        flops = p.training_flops * o.tokens / p.tokens_per_example
        p.seconds = flops / (gpus * peak_tflops(o.gpu, o.precision) * 1e12 * o.mfu) \
            if peak_tflops(o.gpu, o.precision) else None
    return p


#: the kinds whose every MAC multiplies by a weight, so that a frozen one's backward skips as many (its weights'
#: gradient) and keeps as many (its input's)
WEIGHT_PRODUCTS = frozenset({"linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                             "conv_transpose3d", "moe", "lstm", "gru", "rnn"})


def _learns(node: LayerNode) -> bool:
    """Whether the layer computes with weights that require grad: its own, unless frozen, or a tied layer's."""
    return not node.frozen and bool(node.layer.params(node.in_shape).trainable or getattr(node.layer, "tie", None))


def _no_gradient(graph: Graph, w: dict) -> tuple[int, str]:
    """MACs of the backward pass that autograd does not run, and why: the layers before the first one that learns
    work on tensors that require no grad (the data, and what frozen or weightless layers made of it), so they run
    no backward at all (2 × their MACs), and that first layer computes no gradient for its input (its MACs); a
    frozen layer after it computes no gradient for its weights (its MACs, for the kinds whose every
    multiply-accumulate is a product with its weights, :data:`WEIGHT_PRODUCTS`; other frozen kinds, attention's
    projections among them, are counted as if trained, an upper bound)."""
    layers = list(graph.layers())
    k = next((i for i, n in enumerate(layers) if _learns(n)), len(layers))
    before = sum(w[n].macs for n in layers[:k])
    first = w[layers[k]].macs if k < len(layers) else 0
    frozen = sum(w[n].macs for n in layers[k + 1:] if n.frozen and n.kind in WEIGHT_PRODUCTS)
    if not before and not frozen:
        return first, "no input gradient for the first layer"
    parts = [*([f"2 × {before:,} before the first layer that learns"] if before else []),
             f"{first:,} no input gradient there",
             *([f"{frozen:,} no weight gradient in frozen layers"] if frozen else [])]
    return 2 * before + first + frozen, "; ".join(parts)


def _largest_unit(graph: Graph, o: Options, local: dict[str, int]) -> int:
    """FSDP's largest wrapped unit: an instance of the checkpoint unit block, or what lies outside them."""
    from archcalc.calc.saved import unit_block

    block = o.checkpoint_block if o.checkpoint_block is not None else unit_block(graph)
    units, inside = [], set()
    for node, _ in graph.walk():
        if block and node.block == block and not any(q in inside for q in [node.path]):
            paths = []
            stack = [node]
            while stack:
                n = stack.pop()
                if isinstance(n, LayerNode):
                    paths.append(n.path)
                stack.extend(n.children)
            inside.update(paths)
            units.append(sum(local.get(q, 0) for q in paths))
    rest = sum(v for q, v in local.items() if q not in inside)
    return max([*units, rest])
