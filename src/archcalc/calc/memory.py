"""Memory: parameter bytes per dtype, forward activations, and a training estimate.

Conventions (docs/analysis.md has them with the arithmetic):

- **Activations** are the tensors a forward pass creates, counted once each: every layer's output
  except the kinds that return a view or their input (``Trait.ALIASES``: flatten is a view in
  PyTorch), plus the sum of each residual and the output of each merge (concat, add, …), which are
  new tensors.
  The input is counted apart.
- **Training** is :func:`archcalc.calc.plan.plan`'s figure for one GPU without a reserve: weights (frozen
  ones included), buffers, a gradient per trainable parameter, the optimizer's state as ``torch.optim``
  allocates it over the trainable ones,
  the tensors autograd saves for the backward pass (:mod:`archcalc.calc.saved`) and a bound on the
  backward pass's temporary gradients (docs/plan.md). ``archcalc plan`` shows the same parts.

Everything is in one dtype (``--dtype``); bytes are exact, MB are 10⁶ bytes as torchinfo prints.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode
from archcalc.layers.base import numel
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim, exact, fmt, is_int, simplify

#: dtype → bytes per element
DTYPES: dict[str, int] = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}
#: dtype → the precision of :func:`archcalc.calc.plan.plan` that stores everything in it
PLANNED = {"fp32": "fp32", "bf16": "bf16", "fp16": "bf16"}
#: bytes of an int64 counter (batch norm's num_batches_tracked stays int64 when a model is cast)
INT64 = 8


def activations(graph: Graph) -> dict[Node, Dim]:
    """Elements of the new tensors each node creates in one forward pass of one example."""
    out: dict[Node, Dim] = {}

    def visit(node: Node) -> Dim:
        if isinstance(node, LayerNode):
            total = 0 if Trait.ALIASES in node.layer.TRAITS else numel(node.out_shape)
        else:
            total = 0
            if isinstance(node, ResidualNode) and node.mode != "none":
                total = numel(node.sum_shape)
            elif isinstance(node, MergeNode):
                total = numel(node.out_shape)
            for child in node.children:
                total = total + visit(child)
        out[node] = exact(simplify(total))
        return out[node]

    visit(graph.root)
    return out


def _adam(h: dict) -> list[str]:
    return ["exp_avg", "exp_avg_sq", *(["max_exp_avg_sq"] if h.get("amsgrad") else [])]


#: optimizer (spec.train.OPTIMIZERS) → the state tensors torch.optim keeps per parameter, given its hyperparameters
OPTIMIZER_STATE: dict[str, Callable[[dict], list[str]]] = {
    "sgd": lambda h: ["momentum_buffer"] if h.get("momentum") else [],
    "adam": _adam,
    "adamw": _adam,
    "adagrad": lambda h: ["sum"],
    "rmsprop": lambda h: ["square_avg", *(["momentum_buffer"] if h.get("momentum") else []),
                          *(["grad_avg"] if h.get("centered") else [])],
    "adadelta": lambda h: ["square_avg", "acc_delta"],
    "adamax": lambda h: ["exp_avg", "exp_inf"],
    "nadam": lambda h: ["exp_avg", "exp_avg_sq"],  # and mu_product, a 0-d tensor beside step
    "radam": lambda h: ["exp_avg", "exp_avg_sq"],
}


def optimizer_slots(train: object | None) -> tuple[int, str]:
    """Tensors of optimizer state kept per trainable parameter, and what they are.

    >>> from archcalc.spec.train import Optimizer
    >>> class Train: optimizer = Optimizer("adam", {"amsgrad": False}, None)
    >>> optimizer_slots(Train)
    (2, 'adam: exp_avg, exp_avg_sq')
    """
    if train is None:
        return 0, "no train: section, so no optimizer state"
    opt = train.optimizer
    slots = OPTIMIZER_STATE[opt.name](opt.hyper)
    name = f"{opt.name} (momentum {opt.hyper['momentum']:g})" if opt.name == "sgd" and slots else opt.name
    return len(slots), f"{name}: {', '.join(slots) or 'no state'}"


@dataclass(frozen=True, slots=True)
class Memory:
    """Bytes of one model at one batch size and dtype (each field exact; symbolic when dims are free)."""

    dtype: str
    batch: int
    params: Dim  # every parameter, trainable and frozen
    buffers: Dim  # BatchNorm running statistics (in the dtype) and batch counters (int64)
    input: Dim
    activations: Dim  # forward pass, the whole batch
    gradients: Dim
    optimizer: Dim
    optimizer_slots: int
    optimizer_text: str
    saved: Dim | None = None  # what autograd keeps for backward (None: a symbolic or int8 model, see training)
    temporary: Dim = 0
    #: what a decoder keeps to extend its sequence: every causal attention's k and v at the spec's
    #: length, 2 × layers × kv_heads × head_dim × T values per example (not part of the totals: a
    #: forward pass of the whole sequence holds k and v among its activations already)
    kv_cache: Dim = 0

    @property
    def inference(self) -> Dim:
        """Weights, buffers, the input and every activation kept (an upper bound on a forward pass)."""
        return self.params + self.buffers + self.input + self.activations

    @property
    def training(self) -> Dim:
        """What one training step holds at its peak: the model states, the saved activations and the
        backward pass's temporaries (:mod:`archcalc.calc.plan`); for a model with free dimensions, an
        int8 one, the inference total plus gradients and optimizer state."""
        if self.saved is None:
            return self.inference + self.gradients + self.optimizer
        return self.params + self.buffers + self.gradients + self.optimizer + self.saved + self.temporary


def memory(graph: Graph, params: Dim, buffers: Dim, batch: int = 1, dtype: str = "fp32",
           train: object | None = None, acts: dict[Node, Dim] | None = None, frozen: Dim = 0) -> Memory:
    """The :class:`Memory` of ``graph`` with ``params`` parameters, ``frozen`` of them under ``trainable: false``
    (they are weights, but have no gradient and no optimizer state), and ``buffers`` (from
    :func:`archcalc.calc.params.param_counts`), for ``batch`` examples stored as ``dtype``."""
    size = DTYPES[dtype]
    trainable = params - frozen
    acts = acts if acts is not None else activations(graph)
    slots, text = optimizer_slots(train)
    counters = sum(node.layer.COUNTERS for node in graph.layers())  # int64 whatever the dtype
    buffer_bytes = (buffers - counters) * size + counters * INT64
    first = next(iter(graph.layers()), None)
    ids = first is not None and first.layer.READS_IDS  # token ids are int64, whatever the model's dtype
    fields = (dtype, batch, params * size, buffer_bytes,
              exact(numel(graph.input_shape) * batch * (INT64 if ids else size)),
              exact(acts[graph.root] * batch * size))
    kv = exact(kv_values(graph) * batch * size)
    if graph.free or dtype not in PLANNED:
        return Memory(*fields, trainable * size, slots * trainable * size, slots, text, kv_cache=kv)
    from archcalc.calc.plan import Options, optimizer_from_spec, plan

    name = optimizer_from_spec(train) if train is not None else "sgd"
    p = plan(graph, Options(precision=PLANNED[dtype], optimizer=name, batch=batch, reserve=0,
                            loss=train.loss if train is not None else None), flops=False)
    return Memory(*fields, p.gradients, p.optimizer, slots, text, p.saved, p.temporary, kv)


def kv_values(graph: Graph) -> Dim:
    """Values of the KV cache per example: the keys and values of every causal (decoder) attention,
    at the sequence length the spec gives (kv_heads × head_dim × T each)."""
    total: Dim = 0
    for node, _ in graph.walk():
        layer = getattr(node, "layer", None)
        if layer is None or not hasattr(layer, "kv_cache") or not layer.causal:
            continue
        total = total + layer.kv_cache(node.inputs if isinstance(node, MergeNode) else [node.in_shape])
    return simplify(total)


def nbytes(n: Dim) -> str:
    """``102,228,128 B (102.23 MB)``: exact bytes, then :func:`scaled`. Formulas stay formulas.

    >>> nbytes(102_228_128), nbytes(512)
    ('102,228,128 B (102.23 MB)', '512 B')
    """
    if not is_int(n):
        return f"{fmt(n)} B"
    return f"{n} B" if n < 1000 else f"{n:,} B ({scaled(n)})"


def scaled(n: int) -> str:
    """``102.23 MB``: decimal units as torchinfo prints them (kB = 10³ B, MB = 10⁶ B, …)."""
    if n >= 10**300:  # past a float: the exact number is printed beside it anyway
        return f"{n // 10**12:,} TB"
    value, unit = float(n), "B"
    units = ("B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB", "RB", "QB")
    for unit in units:
        if value < 999.995 or unit == units[-1]:
            break
        value /= 1000
    if value >= 999.995:  # past 10³⁰ bytes: scientific notation
        return f"{float(n):.2e} B"
    return f"{n} B" if unit == "B" else f"{value:.2f} {unit}"
