"""The per-kind test record: every layer kind's test cases, in one place, for every backend check.

Every kind registered in ``archcalc.layers.LAYERS`` (aliases aside) has one :class:`Kind` entry in
:data:`RECORD` below. Each entry holds the kind's :class:`Case` s and ``torch``, the test harness's own
PyTorch reference for the kind. A case is a small input, the layer as spec text, and what archcalc
must give for it, exactly: trainable parameters, buffers and the output shape (batch excluded).
The checks that read the record, each on every case that applies to it:

============  =======================================================================  ===========
check         what it compares                                                          backends
============  =======================================================================  ===========
``GRAD``      NumPy backward against central finite differences, float64, train and    numpy
              eval mode (tests/test_numpy_gradcheck.py)
``PARITY``    NumPy against ``torch`` below, the same weights, float64, train and      numpy
              eval: outputs, every gradient, running statistics
              (tests/test_numpy_parity.py)
``TORCH``     ``archcalc.to_torch`` against the calculator (parameters, buffers,       torch
              every node's output shape) and its generated source against it, to the
              bit (tests/test_torch_equality.py)
``ONNX``      onnxruntime against ``archcalc.to_torch``, batch 2 and 3                  onnx, torch
              (tests/test_onnx.py)
============  =======================================================================  ===========

tests/test_kinds.py checks the record itself: the entries are exactly the registered kinds; every
case builds, has its kind, and gives the recorded parameters, buffers and output shape; every kind
has a case for every check whose backends support it, and a backend that does not support a case
refuses it as the case records (a located ``export-unsupported`` error, from the runtime builder
and from ``archcalc export``, and no file written).

``torch`` is deliberately not archcalc's torch backend: it is the ``torch.nn`` module a PyTorch user
would write for the layer, given the layer's arguments ``a`` (``a.out``, ``a.kernel``, …, as the
kind's class holds them), its input shape ``x`` (batch excluded) and ``t``, the NumPy module built
for it (only dropout needs it, for the mask the NumPy layer drew). An independent reference is what
makes the NumPy–torch comparison mean something. tests/numpy_torch.py wires these modules into
whole networks (residual, concat) for the kitchen and shipped specs.

Adding a kind
-------------
Add one ``Kind("name", torch=..., cases=(...))`` to :data:`RECORD`, then run
``python -m pytest tests/test_kinds.py`` (it says what is missing) and the four checks
(``-k name`` on tests/test_numpy_gradcheck.py, test_numpy_parity.py, test_torch_equality.py and
test_onnx.py).

- One case per argument family worth its own run (bias off, groups, dilation, ``same`` padding,
  ``ceil_mode`` …), each as small as shows it: every case runs in every check, the gradient
  check perturbs every element of the input and of every parameter.
- ``params``, ``buffers`` and ``out`` are the real library's numbers (``torch.nn``'s own
  parameter count for the module), worked out by hand, not copied from archcalc's output.
- A backend that cannot express the kind yet: ``refuses={"onnx": "<kind>: <the error's message>"}``
  on the ``Kind`` (every case) or on one case (some arguments only). Its checks are then not run
  for those cases; the refusal is tested instead. Backends: ``numpy``, ``torch``, ``onnx``.
- A case that should skip a check for another reason says why: ``skip={PARITY: "why"}``.
- Inputs of integer token ids (an embedding): ``Input((12,), ids=100)``: the checks feed int64
  ids in [0, 100), the gradient check leaves them alone and checks the parameters' gradients.
- Several inputs (cross attention, a kind that merges): ``input=(Input(...), Input(...))`` in the
  order the model takes them, and the whole spec text in ``spec=``; the checks call the model
  with one array per input (ONNX: the graph's inputs in order).
- Looser tolerances for a kind whose float32 ONNX result is further from torch (a long reduction)
  go in ``tol=Tol(onnx=...)``; the NumPy checks are float64 and should stay at 1e-6.
- A kind whose every gradient is zero (``step``) says ``zero_gradient=True``: the parity check then
  demands zero gradients, and otherwise demands non-zero ones (a comparison of zeros proves nothing).
  Parameters whose gradient is zero by the layer's own arithmetic in one case are named in
  ``zero_grads`` (a recurrent layer over one step: weight_hh meets only the zero initial state).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field, replace

import numpy as np
import torch
from torch import nn

#: the checks (see the module docstring)
GRAD, PARITY, TORCH, ONNX = "grad", "parity", "torch", "onnx"
CHECKS = (GRAD, PARITY, TORCH, ONNX)
#: the backends each check builds; a case a backend refuses skips the checks that need it
NEEDS: dict[str, tuple[str, ...]] = {GRAD: ("numpy",), PARITY: ("numpy",), TORCH: ("torch",), ONNX: ("onnx", "torch")}
BACKENDS = ("numpy", "torch", "onnx")


@dataclass(frozen=True)
class Input:
    """One input of a case, batch excluded: real numbers, or integer token ids in ``[0, ids)``."""

    shape: tuple[int, ...]
    ids: int | None = None


@dataclass(frozen=True)
class Tol:
    """How close each comparison must be. The torch check has none: the generated source and the
    runtime module are one construction and must agree to the bit."""

    #: relative error ‖a − n‖/(‖a‖ + ‖n‖) of the analytic gradient against finite differences
    grad: float = 1e-6
    #: largest absolute difference, NumPy (float64) against the torch reference (float64)
    parity: float = 1e-6
    #: largest absolute difference, onnxruntime (float32) against archcalc.to_torch (float32)
    onnx: float = 1e-5


@dataclass(frozen=True)
class Case:
    """One network of one layer (or a whole spec in ``spec``) and what archcalc must say about it."""

    #: the input shape, an :class:`Input`, or one :class:`Input` per model input
    input: tuple[int, ...] | Input | tuple[Input, ...]
    #: the layer as a spec writes it (``conv2d: {out: 4, kernel: 3}``)
    layer: str | None
    _: KW_ONLY
    #: trainable parameters, buffers and output shape (batch excluded) archcalc must give
    params: int
    out: tuple[int, ...]
    buffers: int = 0
    #: the test id is the kind's name, or ``kind-name``
    name: str = ""
    #: the whole spec text, for what the one-layer template cannot write (several inputs)
    spec: str = ""
    #: backend → the message of the located error it refuses the case with
    refuses: Mapping[str, str] = field(default_factory=dict)
    #: check → why this case does not run it (a refusal needs no entry here)
    skip: Mapping[str, str] = field(default_factory=dict)
    tol: Tol = Tol()
    #: every gradient of the layer is zero (a step function)
    zero_gradient: bool = False
    #: parameters (by name, without the layer's path) whose gradient is exactly zero in this case
    zero_grads: tuple[str, ...] = ()
    #: set by the :class:`Kind` that holds the case
    kind: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}" if self.name else self.kind

    @property
    def inputs(self) -> tuple[Input, ...]:
        if isinstance(self.input, Input):
            return (self.input,)
        if self.input and all(isinstance(i, Input) for i in self.input):
            return tuple(self.input)
        return (Input(tuple(self.input)),)

    @property
    def text(self) -> str:
        """The spec: ``spec`` when given, else the one-layer spec (the layer at line 3, column 5)."""
        if self.spec:
            return self.spec
        (single,) = self.inputs
        return f"input: {list(single.shape)}\nlayers:\n  - {self.layer}\n"

    def runs(self, check: str) -> bool:
        """Whether ``check`` runs on this case: not skipped, and no backend it needs refuses the case."""
        return check not in self.skip and not set(NEEDS[check]) & set(self.refuses)

    def load(self):
        import archcalc

        return archcalc.loads(self.text)

    def examples(self, batch: int, rng: np.random.Generator, real: Real | None = None) -> list[np.ndarray]:
        return examples(self.inputs, batch, rng, real)


#: (shape with the batch, generator) → an array of real numbers
Real = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]


def examples(inputs: tuple[Input, ...], batch: int, rng: np.random.Generator, real: Real | None = None) -> list:
    """One array per input: float64 from ``real`` (standard normal by default), int64 ids for ids."""
    real = real or (lambda shape, rng: rng.normal(size=shape))
    return [rng.integers(0, i.ids, size=(batch, *i.shape)) if i.ids else real((batch, *i.shape), rng)
            for i in inputs]


def tensors(arrays: list[np.ndarray]) -> list[torch.Tensor]:
    """Arrays as torch tensors in what the exported modules compute with: float32, and int64 ids."""
    return [torch.from_numpy(x if x.dtype == np.int64 else x.astype(np.float32)) for x in arrays]


@dataclass(frozen=True)
class Kind:
    """A layer kind's entry: its cases, its torch reference, and what backends refuse all of it."""

    kind: str
    #: (a, x, t) → the torch.nn module for the layer; None only if no case runs PARITY
    torch: Callable[..., nn.Module] | None
    cases: tuple[Case, ...]
    #: backend → message, for every case (a backend that cannot express the kind at all)
    refuses: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", tuple(replace(c, kind=self.kind, refuses={**self.refuses, **c.refuses})
                                                for c in self.cases))


# -- the torch reference's own modules, for what torch.nn has no class for ------------------------------


class MaskedDropout(nn.Module):
    """Dropout with the mask the NumPy layer drew (torch's generator cannot be reproduced)."""

    def __init__(self, twin):
        super().__init__()
        self.twin = [twin]  # a list, so torch does not register the NumPy object

    def forward(self, x):
        mask = self.twin[0].mask if self.training else None
        return x if mask is None else x * torch.from_numpy(mask)


class Sign(nn.Module):
    def forward(self, x):
        return torch.sign(x)


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


class Fn(nn.Module):
    """A tensor method as a module: the reference for the kinds that only move axes."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class GemmaRMSNormReference(nn.Module):
    """``GemmaRMSNorm`` as modeling_gemma.py writes it: x·rsqrt(mean(x²) + eps)·(1 + w), w from zeros, computed
    in float32 (at least: float64 stays float64 here, for the float64 checks) and cast back."""

    def __init__(self, shape: tuple[int, ...], eps: float | None, offset: float):
        super().__init__()
        self.eps, self.offset, self.weight = eps, offset, nn.Parameter(torch.full(shape, 1.0 - offset))
        self.axes = tuple(range(-len(shape), 0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wide = torch.promote_types(x.dtype, torch.float32)
        y = x.to(wide)
        eps = torch.finfo(wide).eps if self.eps is None else self.eps
        y = y * torch.rsqrt(y.pow(2).mean(self.axes, keepdim=True) + eps)
        return (y * (self.offset + self.weight.to(wide))).type_as(x)


class ScaledEmbeddingReference(nn.Embedding):
    """``GemmaTextScaledWordEmbedding``: the rows times a factor cast to the table's dtype."""

    def __init__(self, vocab: int, dim: int, padding_idx: int | None, scale: float):
        super().__init__(vocab, dim, padding_idx)
        self.factor = scale

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        return super().forward(ids) * torch.tensor(self.factor).to(self.weight.dtype)


class ClassTokenReference(nn.Module):
    """torchvision VisionTransformer's class token, as its ``forward`` prepends it."""

    def __init__(self, dim: int):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class LayerScaleReference(nn.Module):
    """torchvision ConvNeXt's ``layer_scale * block(x)``; given ``view``, timm ConvNeXt's
    ``x.mul(self.gamma.reshape(1, -1, 1, 1))`` of a ``[C]`` gamma."""

    def __init__(self, shape: tuple[int, ...], value: float, view: tuple[int, ...] | None = None):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(shape) * value)
        self.view = view

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gamma = self.layer_scale if self.view is None else self.layer_scale.reshape(1, *self.view)
        return x.mul(gamma)


class RecurrentReference(nn.Module):
    """torch's nn.LSTM / nn.GRU / nn.RNN as a user calls it (batch first), then the output the spec
    chose: every step, ``output[:, -1]``, or the last layer's ``h_n`` with its directions side by side.

    Dropout between layers draws from torch's generator, which NumPy cannot reproduce: in training with
    dropout the layers run one at a time, each torch's own one-layer module called on the stacked
    module's parameters of that layer (``torch.func.functional_call``), with the NumPy layer's masks
    between them (``t``, its NumPy twin, holds them)."""

    def __init__(self, a, x, t=None):
        super().__init__()
        cls = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[a.kind]
        extra = {"proj_size": a.proj_size} if a.kind == "lstm" else \
            {"nonlinearity": a.nonlinearity} if a.kind == "rnn" else {}
        rnn = cls(x[1], a.hidden, a.num_layers, bias=a.bias, batch_first=True, dropout=a.dropout,
                  bidirectional=a.bidirectional, **extra)
        for name, parameter in rnn.named_parameters():  # torch's names, at the layer's own level
            self.register_parameter(name, parameter)
        self.output, self.bidirectional = a.output, a.bidirectional
        self.rnn = [rnn]  # a list: its parameters are registered above, under their own names
        self.twin = [t]  # a list, so torch does not register the NumPy object
        directions = 2 if a.bidirectional else 1
        width = directions * (extra.get("proj_size") or a.hidden)
        # one one-layer module per layer (a plain list: its own parameters are never used)
        self.layers = [cls(x[1] if layer == 0 else width, a.hidden, 1, bias=a.bias, batch_first=True,
                           bidirectional=a.bidirectional, **extra).double() for layer in range(a.num_layers)]

    def forward(self, x):
        drops = getattr(self.twin[0], "drops", [])
        if self.training and any(d.mask is not None for d in drops):
            y, h = self.stacked(x, [d.mask for d in drops])
        else:
            y, h = self.rnn[0].train(self.training)(x)  # not registered: its mode follows this module's
        h = h[0] if isinstance(h, tuple) else h
        if self.output == "sequence":
            return y
        if self.output == "last":
            return y[:, -1]
        return torch.cat(list(h[-2:]) if self.bidirectional else [h[-1]], dim=-1)

    def stacked(self, x, masks):
        """The layers one by one with the NumPy masks (time-major there) between them; the last layer's state."""
        for layer, one in enumerate(self.layers):
            own = {name.replace(f"_l{layer}", "_l0"): p for name, p in self.named_parameters()
                   if name.endswith((f"_l{layer}", f"_l{layer}_reverse"))}
            x, h = torch.func.functional_call(one, own, (x,))
            if layer < len(masks):
                x = x * torch.from_numpy(masks[layer]).transpose(0, 1)
        return x, h


def upsample_reference(a) -> nn.Module:
    """``nn.Upsample`` as a user writes it from the spec's arguments (one value, or a tuple per axis)."""
    def one(values):
        return None if values is None else values[0] if len(values) == 1 else tuple(values)

    scale = one(a.scale)
    return nn.Upsample(size=one(a.size), scale_factor=scale, mode=a.mode,
                       align_corners=None if a.mode == "nearest" else a.align_corners)


class PositionAddReference(nn.Module):
    """torchvision ViT's ``x + pos_embedding`` with its bare [1, positions, D] parameter, on the first T rows."""

    def __init__(self, positions: int, dim: int):
        super().__init__()
        self.weight = nn.Parameter(torch.randn(1, positions, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight[:, :x.shape[1]]


class TorchAttentionReference(nn.MultiheadAttention):
    """``nn.MultiheadAttention`` as torchvision's ViT calls it: self-attention, batch first, no weights out."""

    def __init__(self, a, x):
        super().__init__(x[-1], a.heads, bias=a.bias, batch_first=True)
        self.causal = a.causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = torch.ones(x.shape[-2], x.shape[-2], dtype=torch.bool).triu(1) if self.causal else None
        rows = x.flatten(0, -3)  # nn.MultiheadAttention takes one batch axis: each sequence a row of it
        return super().forward(rows, rows, rows, need_weights=False, attn_mask=mask)[0].view(x.shape)


class PositionReference(nn.Embedding):
    """GPT-2's ``wpe(arange(T))`` (BERT's position embeddings), or BERT's token types all 0 (``first``),
    over the batch; with ``padding_idx``, RoBERTa's ``position_embeddings(position_ids)``, the ids made as
    ``RobertaEmbeddings.create_position_ids_from_input_ids`` makes them; with an ``offset``, OPT's
    ``OPTLearnedPositionalEmbedding`` without padding (``position_ids + offset``)."""

    def __init__(self, positions: int, dim: int, first: bool, padding_idx: int | None = None, offset: int = 0):
        super().__init__(positions, dim, padding_idx=padding_idx)
        self.first, self.offset = first, offset

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding_idx is not None:
            mask = x.ne(self.padding_idx).int()
            return super().forward((torch.cumsum(mask, dim=1).type_as(mask) * mask).long() + self.padding_idx)
        rows = torch.zeros(x.shape[1], dtype=torch.long) if self.first else torch.arange(x.shape[1]) + self.offset
        return super().forward(rows).expand(x.shape[0], -1, -1)


def rope(x: torch.Tensor, rotary: str, theta: float, r: int, factor: float = 1.0) -> torch.Tensor:
    """Rotary embedding of x [N, …, H, T, d] as its authors' code computes it, angles in float32: Hugging Face
    Llama's ``x·cos + rotate_half(x)·sin`` on ``cat(freqs, freqs)``, or GPT-J's ``x·cos +
    rotate_every_two(x)·sin`` on the angles repeated in pairs; ``factor`` is transformers' linear rope
    scaling (``inv_freq /= factor``, Gemma 3's global layers)."""
    inv_freq = 1.0 / (theta ** (torch.arange(0, r, 2, dtype=torch.int64).float() / r))
    inv_freq /= factor
    freqs = torch.outer(torch.arange(x.shape[-2]).float(), inv_freq)
    part, rest = x[..., :r], x[..., r:]
    if rotary == "half":
        emb = torch.cat((freqs, freqs), dim=-1)
        turned_half = torch.cat((-part[..., r // 2:], part[..., :r // 2]), dim=-1)
    else:
        emb = freqs.repeat_interleave(2, dim=-1)
        turned_half = torch.stack((-part[..., 1::2], part[..., ::2]), dim=-1).flatten(-2)
    turned = part * emb.cos().to(x.dtype) + turned_half * emb.sin().to(x.dtype)
    return torch.cat((turned, rest), dim=-1)


def attend(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, a, mask: np.ndarray | None = None,
           bias: torch.Tensor | None = None) -> torch.Tensor:
    """``F.scaled_dot_product_attention`` (grouped-query as Hugging Face's ``repeat_kv``) on q [N, …, T, h·d],
    k and v [N, …, S, kv·d] (the axes between N and T independent sequences, as the function takes them), with
    the attention layer ``a``'s options; [N, …, T, h·d]. With a dropout ``mask`` (the one the NumPy layer drew),
    GPT-2's eager attention instead: softmax, times the mask, times v; a ``bias`` [h, T, S] (Swin's relative
    position bias) is added to the scaled scores, as torchvision's shifted_window_attention adds it."""
    heads, kv = a.heads, a.kv_heads or a.heads
    d = q.shape[-1] // heads
    q, k, v = (y.unflatten(-1, (n, d)).transpose(-3, -2) for y, n in ((q, heads), (k, kv), (v, kv)))
    if a.rotary != "none":
        r = a.rotary_dim or d
        q, k = rope(q, a.rotary, a.theta, r, a.rotary_factor), rope(k, a.rotary, a.theta, r, a.rotary_factor)
    if kv != heads:  # Hugging Face's repeat_kv: each k, v head serves heads/kv query heads in turn
        k, v = (y.unsqueeze(-3).expand(*y.shape[:-2], heads // kv, *y.shape[-2:]).flatten(-4, -3) for y in (k, v))
    if mask is None and a.softcap is None and a.window is None and bias is None:
        y = nn.functional.scaled_dot_product_attention(q, k, v, is_causal=a.causal, scale=a.scale)
    else:  # GPT-2's eager attention, or Gemma 2's eager_attention_forward: the soft cap before the mask
        scores = q @ k.transpose(-1, -2) * (a.scale or d ** -0.5)
        if a.softcap is not None:
            scores = torch.tanh(scores / a.softcap) * a.softcap
        if bias is not None:
            scores = scores + bias
        if a.causal:
            seen = torch.ones(scores.shape[-2:], dtype=torch.bool).tril()
            if a.window is not None:  # transformers' sliding_window_overlay: kv_idx > q_idx - sliding_window
                rows, columns = scores.shape[-2:]
                seen &= torch.arange(columns)[None, :] > torch.arange(rows)[:, None] - a.window
            scores = scores.masked_fill(~seen, float("-inf"))
        weights = scores.softmax(-1)
        y = (weights if mask is None else weights * torch.from_numpy(mask).view(weights.shape)) @ v
    return y.transpose(-3, -2).flatten(-2)


class AttentionReference(nn.Module):
    """Attention on q, k and v side by side in one input (GPT-2's ``c_attn`` output)."""

    def __init__(self, a, x: tuple[int, ...], twin=None):
        super().__init__()
        self.a, self.d = a, a.head_size([x])
        self.twin = [twin]  # the NumPy layer, for its dropout mask (a list, so torch does not register it)
        if a.relative_bias is not None:  # torchvision's ShiftedWindowAttention.define_relative_coords
            wh, ww = a.relative_bias
            self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), a.heads))
            coords = torch.flatten(torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")), 1)
            relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
            relative[:, :, 0] += wh - 1
            relative[:, :, 1] += ww - 1
            relative[:, :, 0] *= 2 * ww - 1
            self.register_buffer("relative_position_index", relative.sum(-1).flatten())

    def bias(self) -> torch.Tensor | None:
        """torchvision's _get_relative_position_bias, without its leading 1: [heads, T, T]."""
        if self.a.relative_bias is None:
            return None
        n = self.a.relative_bias[0] * self.a.relative_bias[1]
        return self.relative_position_bias_table[self.relative_position_index].view(n, n, -1).permute(2, 0, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        heads, kv = self.a.heads, self.a.kv_heads or self.a.heads
        if self.a.packing == "heads" and kv == heads:  # GPT-NeoX: view(…, heads, 3·d), chunk(3) per head
            q, k, v = (y.flatten(-2) for y in x.unflatten(-1, (heads, 3 * self.d)).chunk(3, dim=-1))
        elif self.a.packing == "heads":  # Falcon's _split_heads: view(…, kv, heads/kv + 2, d), q [:-2], k [-2], v [-1]
            groups = x.unflatten(-1, (kv, heads // kv + 2, self.d))
            q, k, v = groups[..., :-2, :].flatten(-3), groups[..., -2, :].flatten(-2), groups[..., -1, :].flatten(-2)
        else:
            q, k, v = x.split((heads * self.d, kv * self.d, kv * self.d), dim=-1)
        twin = self.twin[0]
        mask = twin.cache[4] if self.training and twin is not None and self.a.dropout > 0 else None
        return attend(q, k, v, self.a, mask, self.bias())


class Conv1DReference(nn.Module):
    """Hugging Face's GPT-2 ``Conv1D``: a linear layer whose weight is stored [in, out]."""

    def __init__(self, features: int, out: int, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(features, out))
        self.bias = nn.Parameter(torch.zeros(out)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


def gated(y: torch.Tensor, a) -> torch.Tensor:
    """A gated unit as the papers and Phi-3's MLP write it: the halves of the axis, value · act(gate)."""
    first, second = y.chunk(2, dim=a.dim + 1 if a.dim >= 0 else a.dim)
    value, gate = (second, first) if a.gate == "first" else (first, second)
    act = {"sigmoid": torch.sigmoid, "silu": nn.functional.silu, "relu": torch.relu, "tanh": torch.tanh,
           "gelu": nn.functional.gelu, "gelu_tanh": lambda g: nn.functional.gelu(g, approximate="tanh")}
    return value * act[a.activation](gate)


class MoEReference(nn.Module):
    """Mixtral's sparse MoE block written densely: every expert on every token, each output weighted by the
    token's routing weight for it (zero for the experts outside its top k). Names as transformers 5's
    ``MixtralSparseMoeBlock``: ``gate.weight`` [E, D], ``experts.gate_up_proj`` [E, 2F, D] (the gate first),
    ``experts.down_proj`` [E, D, F]."""

    def __init__(self, a, x: tuple[int, ...]):
        super().__init__()
        d, e, f = x[-1], a.experts, a.hidden
        self.add_module(a.router, nn.Linear(d, e, bias=False))  # GraniteMoE's is router.weight
        self.experts = nn.Module()
        self.experts.gate_up_proj = nn.Parameter(torch.randn(e, 2 * f, d))
        self.experts.down_proj = nn.Parameter(torch.randn(e, d, f))
        if a.correction_bias:  # DeepSeek-V3's e_score_correction_bias, a buffer of the router
            getattr(self, a.router).register_buffer("e_score_correction_bias", torch.zeros(e))
        if a.shared is not None:  # Qwen2MoeMLP and its sigmoid gate, or DeepSeek's ungated shared_experts
            mlp = nn.Module()
            mlp.gate_proj = nn.Linear(d, a.shared, bias=False)
            mlp.up_proj = nn.Linear(d, a.shared, bias=False)
            mlp.down_proj = nn.Linear(a.shared, d, bias=False)
            if a.shared_gate:
                self.shared_expert = mlp
                self.shared_expert_gate = nn.Linear(d, 1, bias=False)
            else:
                self.shared_experts = mlp
        self.a = a

    def route(self, x: torch.Tensor) -> torch.Tensor:
        """The dense [..., E] routing weights, as transformers' routers compute them (DeepSeek-V3's: sigmoid, the
        bias for the choice, the two best of each group choosing topk_group groups, the masked rest −inf)."""
        a = self.a
        router = getattr(self, a.router)
        logits = router(x)
        if a.router == "router" and a.scoring == "softmax":  # GraniteMoeTopKRouter: the top_k logits, then softmax
            # over them alone
            kept, chosen = logits.topk(a.top_k, dim=-1)
            return torch.zeros_like(logits).scatter(-1, chosen, kept.softmax(-1))
        probs = logits.sigmoid() if a.scoring == "sigmoid" else logits.softmax(-1)
        choice = probs + router.e_score_correction_bias if a.correction_bias else probs
        if a.groups is not None:
            grouped = choice.view(*choice.shape[:-1], a.groups, -1)
            score = grouped.topk(2, dim=-1)[0].sum(-1) if a.group_score == "top2" else grouped.max(-1).values
            keep = score.topk(a.top_groups or a.groups, dim=-1)[1]
            mask = torch.zeros_like(score).scatter(-1, keep, 1.0).bool()
            choice = choice.masked_fill(~mask.repeat_interleave(grouped.shape[-1], dim=-1), float("-inf"))
        chosen = choice.topk(a.top_k, dim=-1)[1]
        top = probs.gather(-1, chosen)
        if a.normalize:
            top = top / (top.sum(-1, keepdim=True) + (1e-20 if a.scoring == "sigmoid" else 0.0))
        return torch.zeros_like(probs).scatter(-1, chosen, top * a.scaling)  # [..., E]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        weights = self.route(x)
        gate, up = torch.einsum("...d,efd->...ef", x, self.experts.gate_up_proj).chunk(2, dim=-1)
        act = {"sigmoid": torch.sigmoid, "silu": nn.functional.silu, "relu": torch.relu, "tanh": torch.tanh,
               "gelu": nn.functional.gelu, "gelu_tanh": lambda g: nn.functional.gelu(g, approximate="tanh")}
        out = torch.einsum("...ef,edf->...ed", act[self.a.activation](gate) * up, self.experts.down_proj)
        y = (weights[..., None] * out).sum(-2)
        if self.a.shared is None:
            return y
        mlp = self.shared_expert if self.a.shared_gate else self.shared_experts
        shared = mlp.down_proj(act[self.a.activation](mlp.gate_proj(x)) * mlp.up_proj(x))
        if not self.a.shared_gate:
            return y + shared
        return y + torch.sigmoid(self.shared_expert_gate(x)) * shared


class LatentAttentionReference(nn.Module):
    """transformers' ``DeepseekV3Attention`` written out: q from q_proj (or q_a_proj, q_a_layernorm, q_b_proj),
    the latent and the shared rotary key from kv_a_proj_with_mqa, kv_b_proj's keys and values, the rotary parts
    turned as ``apply_rotary_pos_emb_interleave`` turns them (the pairs' results de-interleaved) or by
    rotate-half, then the eager softmax and o_proj."""

    def __init__(self, a, x: tuple[int, ...]):
        super().__init__()
        d, h, n, r, v = x[1], a.heads, a.nope_dim, a.rope_dim, a.v_dim
        if a.q_rank is None:
            self.q_proj = nn.Linear(d, h * (n + r), bias=False)
        else:
            self.q_a_proj = nn.Linear(d, a.q_rank, bias=a.bias)
            self.q_a_layernorm = nn.RMSNorm(a.q_rank, eps=a.eps)
            self.q_b_proj = nn.Linear(a.q_rank, h * (n + r), bias=False)
        self.kv_a_proj_with_mqa = nn.Linear(d, a.kv_rank + r, bias=a.bias)
        self.kv_a_layernorm = nn.RMSNorm(a.kv_rank, eps=a.eps)
        self.kv_b_proj = nn.Linear(a.kv_rank, h * (n + v), bias=False)
        self.o_proj = nn.Linear(h * v, a.width(x), bias=a.bias)
        self.a = a

    def turn(self, x: torch.Tensor) -> torch.Tensor:
        a, t = self.a, x.shape[-2]
        inv = 1.0 / (a.theta ** (torch.arange(0, a.rope_dim, 2).float() / a.rope_dim))
        gain = 1.0
        if a.rotary_scaling != "linear" or a.rotary_factor != 1.0:  # rope scaling's frequencies (YaRN's: the
            # function tests/test_rope_scaling.py holds to transformers' ROPE_INIT_FUNCTIONS bit for bit)
            from archcalc.backends.rope import rotary_frequencies

            inv, gain = rotary_frequencies(torch, a.rope_dim, a.theta, a.rotary_factor, **a.rope_options())
        angles = torch.arange(t).float()[:, None] * inv[None, :]
        cos, sin = (angles.cos() * gain).to(x.dtype), (angles.sin() * gain).to(x.dtype)
        if a.rotary == "interleaved":
            x1, x2 = x[..., 0::2], x[..., 1::2]
        else:
            x1, x2 = x[..., : a.rope_dim // 2], x[..., a.rope_dim // 2:]
        return torch.cat([x1 * cos - x2 * sin, x2 * cos + x1 * sin], dim=-1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, (b, t, _) = self.a, x.shape
        h, n, r = a.heads, a.nope_dim, a.rope_dim
        q = self.q_proj(x) if a.q_rank is None else self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))
        q = q.view(b, t, h, n + r).transpose(1, 2)
        latent, k_rot = self.kv_a_proj_with_mqa(x).split([a.kv_rank, r], dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(latent)).view(b, t, h, n + a.v_dim).transpose(1, 2)
        k_nope, v = kv.split([n, a.v_dim], dim=-1)
        q = torch.cat([q[..., :n], self.turn(q[..., n:])], dim=-1)
        k = torch.cat([k_nope, self.turn(k_rot.view(b, 1, t, r)).expand(b, h, t, r)], dim=-1)
        scores = q @ k.transpose(-1, -2) * ((n + r) ** -0.5 if a.scale is None else a.scale)
        if a.causal:
            scores = scores.masked_fill(torch.ones(t, t, dtype=torch.bool).triu(1), float("-inf"))
        y = scores.softmax(-1) @ v
        return self.o_proj(y.transpose(1, 2).reshape(b, t, -1))


class MultiheadReference(nn.Module):
    """Llama's self-attention: q_proj, k_proj, v_proj, attention, o_proj."""

    def __init__(self, a, x: tuple[int, ...]):
        super().__init__()
        d, out = a.dims(x)
        heads, kv = a.heads, a.kv_heads or a.heads
        self.q_proj = nn.Linear(x[-1], heads * d, bias=a.bias)
        self.k_proj = nn.Linear(x[-1], kv * d, bias=a.bias)
        self.v_proj = nn.Linear(x[-1], kv * d, bias=a.bias)
        self.o_proj = nn.Linear(heads * d, out, bias=a.bias if a.out_bias is None else a.out_bias)
        if a.qk_norm != "none" and a.qk_norm_offset:  # Gemma 3's q_norm, k_norm: Gemma's RMSNorm per head
            self.q_norm = GemmaRMSNormReference((d if a.qk_norm == "head" else heads * d,), a.qk_norm_eps,
                                                a.qk_norm_offset)
            self.k_norm = GemmaRMSNormReference((d if a.qk_norm == "head" else kv * d,), a.qk_norm_eps,
                                                a.qk_norm_offset)
        elif a.qk_norm == "per_head" and a.qk_norm_layout == "stablelm":  # transformers' own per-head LayerNorms
            from transformers.models.stablelm.modeling_stablelm import StableLmLayerNormPerHead
            self.q_layernorm = StableLmLayerNormPerHead(d, heads, a.qk_norm_eps, a.qk_norm_biased)
            self.k_layernorm = StableLmLayerNormPerHead(d, kv, a.qk_norm_eps, a.qk_norm_biased)
        elif a.qk_norm == "per_head":  # Cohere's q_norm, k_norm: a γ of each head's own
            self.q_norm = PerHeadNormReference(heads, d, a.qk_norm_kind, a.qk_norm_eps, a.qk_norm_biased)
            self.k_norm = PerHeadNormReference(kv, d, a.qk_norm_kind, a.qk_norm_eps, a.qk_norm_biased)
        elif a.qk_norm != "none":  # Qwen3's q_norm, k_norm over head_dim; OLMo 2's over all heads' features
            for name, n in (("q_norm", heads), ("k_norm", kv)):
                size = d if a.qk_norm == "head" else n * d
                setattr(self, name, nn.LayerNorm(size, a.qk_norm_eps, bias=a.qk_norm_biased)
                        if a.qk_norm_kind == "layernorm" else nn.RMSNorm(size, eps=a.qk_norm_eps))
        self.a, self.d = a, d

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k = self.q_proj(x), self.k_proj(x)
        if self.a.qk_norm == "per_head" and self.a.qk_norm_layout == "stablelm":  # on [N, heads, T, d]
            q = self.q_layernorm(q.unflatten(-1, (-1, self.d)).transpose(1, 2)).transpose(1, 2).flatten(-2)
            k = self.k_layernorm(k.unflatten(-1, (-1, self.d)).transpose(1, 2)).transpose(1, 2).flatten(-2)
        elif self.a.qk_norm in ("head", "per_head"):
            q = self.q_norm(q.view(*q.shape[:-1], -1, self.d)).view(q.shape)
            k = self.k_norm(k.view(*k.shape[:-1], -1, self.d)).view(k.shape)
        elif self.a.qk_norm == "all":
            q, k = self.q_norm(q), self.k_norm(k)
        return self.o_proj(attend(q, k, self.v_proj(x), self.a))


class PerHeadNormReference(nn.Module):
    """``CohereLayerNorm((heads, d))`` as modeling_cohere.py writes it, in the input's type (float64 stays float64
    here, for the float64 checks; Cohere's computes in float32): each head's d features of x [..., heads, d] to
    mean 0 and variance 1, times a γ [heads, d] of each head's own; with ``kind`` rmsnorm x·rsqrt(mean(x²) + eps)
    instead, and with ``bias`` a β [heads, d] added."""

    def __init__(self, heads: int, d: int, kind: str, eps: float, bias: bool):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(heads, d))
        self.bias = nn.Parameter(torch.zeros(heads, d)) if bias else None
        self.kind, self.eps = kind, eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.kind == "layernorm":
            x = x - x.mean(-1, keepdim=True)
        y = x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight
        return y if self.bias is None else y + self.bias


class LayerNorm2dReference(nn.LayerNorm):
    """torchvision ConvNeXt's ``LayerNorm2d``: an ``nn.LayerNorm`` (its ``weight`` and ``bias``) applied to the
    channels-last view, permuted back."""

    def __init__(self, channels: int, eps: float, affine: bool, bias: bool):
        super().__init__(channels, eps, affine, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


SAME_POOL = "torch pools take no 'same' padding, so the reference cannot be built either (the gradient check runs)"

# -- the record -----------------------------------------------------------------------------------------

RECORD: tuple[Kind, ...] = (
    Kind("linear", lambda a, x, t: Conv1DReference(x[-1], a.out, a.bias) if a.transposed else
         nn.Linear(x[-1], a.out, bias=a.bias), (
        Case((5,), "linear: 3", params=5 * 3 + 3, out=(3,)),
        Case((2, 5), "linear: {out: 3, bias: false}", params=5 * 3, out=(2, 3), name="rank2"),
    )),
    # merge kinds: the harness computes them itself (tests/numpy_torch.py, ``merge``), so no torch module
    Kind("add", None, (
        Case((3, 4), None, params=4 * 4 + 4 + 4 * 1 + 1, out=(3, 4), spec="""input: [3, 4]
layers:
  - add: [[linear: 4], [], [linear: 1]]
"""),
        # one output read by three later branches (a sum, then a concat, once through a layer): a's gradient
        # is the sum of the four uses
        Case((2, 5), None, params=(5 * 3 + 3) + (3 * 3 + 3) + (3 * 2 + 2), out=(2, 8), name="skip",
             spec="""input: [2, 5]
layers:
  - linear: {out: 3, name: a}
  - tanh
  - add: [{from: a}, [linear: 3]]
  - concat: {axis: -1, branches: [{from: a, layers: [linear: 2]}, [], {from: a}]}
"""),
    )),
    Kind("concat", None, (
        Case((3, 4), None, params=4 * 2 + 2 + 4 * 3, out=(3, 9), name="last-axis", spec="""input: [3, 4]
layers:
  - concat: {axis: 1, branches: [[linear: 2], [], [linear: {out: 3, bias: false}]]}
"""),
        Case((2, 3, 3), None, params=2 * 4 + 4, out=(6, 3, 3), name="channels", spec="""input: [2, 3, 3]
layers:
  - concat: [[conv2d: {out: 4, kernel: 1}], []]
"""),
        # a skip connection: enc's [3, 4, 4] output (before the relu) joined with the last conv's [2, 4, 4]
        Case((2, 4, 4), None, params=2 * 3 + 3 + 3 * 2 * 3 * 3 + 2, out=(5, 4, 4), name="skip", spec="""input: [2, 4, 4]
layers:
  - conv2d: {out: 3, kernel: 1, name: enc}
  - relu
  - conv2d: {out: 2, kernel: 3, padding: 1}
  - concat: [{from: enc}, []]
"""),
        # skips from a residual and from a layer inside it (its output before the tanh), one through a layer:
        # [2, 4, 4] + [3, 4, 4] + [1, 4, 4]; the residual's conv gets the gradients of all three uses
        Case((2, 4, 4), None, params=(2 * 2 * 9 + 2) + (2 * 3 * 4 + 3) + (2 + 1), out=(6, 4, 4), name="skip-nested",
             spec="""input: [2, 4, 4]
layers:
  - residual: [conv2d: {out: 2, kernel: 3, padding: 1, name: inner}, tanh]
    name: res
  - maxpool2d: 2
  - conv_transpose2d: {out: 3, kernel: 2, stride: 2}
  - concat: [{from: res.inner}, [], {from: res, layers: [conv2d: {out: 1, kernel: 1}]}]
"""),
    )),
    Kind("multiply", None, (
        Case((3, 4), None, params=4 * 1 + 1 + 4 * 4 + 4, out=(3, 4), name="broadcast", spec="""input: [3, 4]
layers:
  - multiply: [[], [linear: {out: 1}, sigmoid], [linear: 4, tanh]]
"""),
    )),
    Kind("conv1d", lambda a, x, t: nn.Conv1d(x[0], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups,
                                             a.bias, a.padding_mode), (
        Case((4, 9), "conv1d: {out: 6, kernel: 3, stride: 2, padding: 1, groups: 2}",
             params=6 * 2 * 3 + 6, out=(6, 5)),
        Case((2, 8), "conv1d: {out: 3, kernel: 2, padding: same, dilation: 2}",
             params=3 * 2 * 2 + 3, out=(3, 8), name="dilated-same"),
        # the kernel spans the whole input (one output); a stride past the kernel skips inputs: ⌊(9 − 2)/3⌋ + 1
        Case((3, 4), "conv1d: {out: 2, kernel: 4}", params=3 * 2 * 4 + 2, out=(2, 1), name="kernel-is-input"),
        Case((2, 9), "conv1d: {out: 3, kernel: 2, stride: 3, bias: false}", params=2 * 3 * 2, out=(3, 3),
             name="stride-past-kernel"),
        # torch pads with F.pad(mode) then convolves unpadded: shapes and counts as with zeros
        Case((2, 6), "conv1d: {out: 3, kernel: 3, padding: 2, padding_mode: reflect}", params=2 * 3 * 3 + 3,
             out=(3, 8), name="reflect"),
    )),
    Kind("conv2d", lambda a, x, t: nn.Conv2d(x[0], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups,
                                             a.bias, a.padding_mode), (
        Case((4, 6, 6), "conv2d: {out: 4, kernel: 3, stride: 2, padding: 1, groups: 2}",
             params=4 * 2 * 3 * 3 + 4, out=(4, 3, 3)),
        Case((2, 6, 5), "conv2d: {out: 3, kernel: [2, 3], padding: same, dilation: [1, 2]}",
             params=3 * 2 * 2 * 3 + 3, out=(3, 6, 5), name="dilated-same"),
        Case((3, 1, 5), "conv2d: {out: 2, kernel: [1, 5]}", params=3 * 2 * 5 + 2, out=(2, 1, 1),
             name="kernel-is-input"),
        # ⌊(7 − 2)/3⌋ + 1 = 2, ⌊(8 − 2)/4⌋ + 1 = 2
        Case((2, 7, 8), "conv2d: {out: 4, kernel: 2, stride: [3, 4], groups: 2}", params=1 * 4 * 2 * 2 + 4,
             out=(4, 2, 2), name="stride-past-kernel"),
        # ⌊(5 + 2 − 3)/2⌋ + 1 = 3, ⌊(6 + 2 − 3)/2⌋ + 1 = 3
        Case((2, 5, 6), "conv2d: {out: 3, kernel: 3, stride: 2, padding: 1, padding_mode: replicate}",
             params=2 * 3 * 9 + 3, out=(3, 3, 3), name="replicate-strided"),
        # 'same' pads H (0, 1) and W (2, 2), the odd one at the end, as torch's _reversed_padding_repeated_twice
        Case((2, 4, 5), "conv2d: {out: 2, kernel: [2, 3], padding: same, dilation: [1, 2], padding_mode: circular}",
             params=2 * 2 * 2 * 3 + 2, out=(2, 4, 5), name="circular-same"),
        # reflect pads below the axis: H 1 < 4, W 2 < 4; (4 + 2 − 3) + 1 = 4, (4 + 4 − 3) + 1 = 6
        Case((4, 4, 4), "conv2d: {out: 4, kernel: 3, padding: [1, 2], groups: 2, bias: false, padding_mode: reflect}",
             params=4 * 2 * 9, out=(4, 4, 6), name="reflect-groups"),
    )),
    # (C_i/g)·C_o·k_d·k_h·k_w + C_o; per axis ⌊(n + 2p − k)/s⌋ + 1: ⌊4/2⌋+1, ⌊5/2⌋+1, ⌊6/2⌋+1
    Kind("conv3d", lambda a, x, t: nn.Conv3d(x[0], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups,
                                             a.bias, a.padding_mode), (
        Case((4, 5, 6, 7), "conv3d: {out: 6, kernel: 3, stride: 2, padding: 1, groups: 2}",
             params=6 * 2 * 3 * 3 * 3 + 6, out=(6, 3, 3, 4)),
        Case((2, 4, 5, 6), "conv3d: {out: 3, kernel: [1, 2, 3], padding: same, dilation: [1, 2, 1], bias: false}",
             params=3 * 2 * 1 * 2 * 3, out=(3, 4, 5, 6), name="dilated-same"),
        Case((2, 1, 3, 3), "conv3d: {out: 2, kernel: [1, 3, 3]}", params=2 * 2 * 9 + 2, out=(2, 1, 1, 1),
             name="kernel-is-input"),
        # depthwise, 1×1×1 taps, strides past the kernel: ⌊3/2⌋ + 1, ⌊4/3⌋ + 1, ⌊5/4⌋ + 1
        Case((3, 4, 5, 6), "conv3d: {out: 3, kernel: 1, stride: [2, 3, 4], groups: 3}", params=3 + 3,
             out=(3, 2, 2, 2), name="depthwise-strided"),
        Case((2, 3, 4, 3), "conv3d: {out: 2, kernel: 3, padding: 1, padding_mode: circular}", params=2 * 2 * 27 + 2,
             out=(2, 3, 4, 3), name="circular"),
        # H: 3 + 4 − 3 + 1 = 5 (reflect 2 < 3), W: 4 + 2 − 3 + 1 = 4
        Case((1, 2, 3, 4), "conv3d: {out: 2, kernel: [1, 3, 3], padding: [0, 2, 1], padding_mode: reflect}",
             params=1 * 2 * 9 + 2, out=(2, 2, 5, 4), name="reflect"),
    )),
    # nn.ConvTranspose: weight [C_i, C_o/g, *k] + C_o biases; per axis (n − 1)·s − 2p + d(k − 1) + p_o + 1:
    # 4·2 − 2 + 2 + 1 + 1 = 10; 3·2 + 3·1 + 2 + 1 = 12 (p_o = 2 ≥ s but < d = 3, which torch allows)
    Kind("conv_transpose1d", lambda a, x, t: nn.ConvTranspose1d(x[0], a.out, a.kernel, a.stride, a.padding,
                                                                a.output_padding, a.groups, a.bias, a.dilation), (
        Case((4, 5), "conv_transpose1d: {out: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}",
             params=4 * 3 * 3 + 6, out=(6, 10)),
        Case((3, 4), "conv_transpose1d: {out: 2, kernel: 2, stride: 2, dilation: 3, output_padding: 2, bias: false}",
             params=3 * 2 * 2, out=(2, 12), name="dilated",
             refuses={"onnx": "conv_transpose1d: an output padding not below the stride (torch allows it below the "
                              "dilation; onnxruntime does not), which ONNX cannot express"}),
        # one input position: its k = 3 taps are the output, (1 − 1)·1 + 2 + 1 = 3
        Case((3, 1), "conv_transpose1d: {out: 2, kernel: 3}", params=3 * 2 * 3 + 2, out=(2, 3), name="one-step"),
        # a stride past the kernel leaves gaps: (3 − 1)·3 + 1 + 2 + 1 = 10, every third output only bias
        Case((2, 3), "conv_transpose1d: {out: 4, kernel: 2, stride: 3, output_padding: 2, groups: 2}",
             params=2 * 2 * 2 + 4, out=(4, 10), name="stride-past-kernel"),
    )),
    # H: 2·2 − 2 + 2 + 1 + 1 = 6, W: 4·3 − 0 + 1 + 2 + 1 = 16; U-Net's up-convolution doubles H and W
    Kind("conv_transpose2d", lambda a, x, t: nn.ConvTranspose2d(x[0], a.out, a.kernel, a.stride, a.padding,
                                                                a.output_padding, a.groups, a.bias, a.dilation), (
        Case((4, 3, 5), "conv_transpose2d: {out: 2, kernel: [3, 2], stride: [2, 3], padding: [1, 0], "
             "output_padding: [1, 2], groups: 2}", params=4 * 1 * 3 * 2 + 2, out=(2, 6, 16)),
        Case((4, 3, 3), "conv_transpose2d: {out: 2, kernel: 2, stride: 2}", params=4 * 2 * 2 * 2 + 2, out=(2, 6, 6),
             name="double"),
        # (4 − 1)·2 − 2 + 2·2 + 1 + 1 = 10 per axis
        Case((2, 4, 4), "conv_transpose2d: {out: 3, kernel: 3, stride: 2, padding: 1, output_padding: 1, dilation: 2}",
             params=2 * 3 * 9 + 3, out=(3, 10, 10), name="dilated"),
        # depthwise over a one-row input: H 1, W (3 − 1)·2 + 1 + 1 = 6
        Case((4, 1, 3), "conv_transpose2d: {out: 4, kernel: [1, 2], stride: [1, 2], groups: 4, bias: false}",
             params=4 * 1 * 1 * 2, out=(4, 1, 6), name="one-row"),
    )),
    # D: 1·1 + 1 + 1 = 3, H: 2·2 − 2 + 1 + 1 = 4, W: 1·2 + 1 + 1 = 4
    Kind("conv_transpose3d", lambda a, x, t: nn.ConvTranspose3d(x[0], a.out, a.kernel, a.stride, a.padding,
                                                                a.output_padding, a.groups, a.bias, a.dilation), (
        Case((2, 2, 3, 2), "conv_transpose3d: {out: 3, kernel: 2, stride: [1, 2, 2], padding: [0, 1, 0], bias: false}",
             params=2 * 3 * 2 * 2 * 2, out=(3, 3, 4, 4)),
        # D 1; H (2 − 1)·3 + 2 + 2 + 1 = 8; W (2 − 1)·2 + 1 + 1 + 1 = 5
        Case((4, 1, 2, 2), "conv_transpose3d: {out: 2, kernel: [1, 3, 2], stride: [1, 3, 2], "
             "output_padding: [0, 2, 1], groups: 2}", params=4 * 1 * 1 * 3 * 2 + 2, out=(2, 1, 8, 5), name="groups"),
    )),
    # ceil: ⌈(9 + 2 − 3)/2⌉ + 1 = 5, the last window starting at 8, inside the input (torch keeps it)
    Kind("maxpool1d", lambda a, x, t: nn.MaxPool1d(a.kernel, a.strides, a.padding, a.dilation,
                                                   ceil_mode=a.ceil_mode), (
        Case((2, 9), "maxpool1d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", params=0, out=(2, 5)),
        Case((2, 8), "maxpool1d: {kernel: 2, stride: 1, dilation: 3}", params=0, out=(2, 5), name="dilated"),
        Case((2, 5), "maxpool1d: 5", params=0, out=(2, 1), name="kernel-is-input"),
        Case((3, 10), "maxpool1d: {kernel: 2, stride: 3}", params=0, out=(3, 3), name="stride-past-kernel"),
    )),
    Kind("maxpool2d", lambda a, x, t: nn.MaxPool2d(a.kernel, a.strides, a.padding, a.dilation,
                                                   ceil_mode=a.ceil_mode), (
        Case((2, 7, 7), "maxpool2d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", params=0, out=(2, 4, 4)),
        Case((2, 7, 6), "maxpool2d: {kernel: 2, stride: 1, dilation: 2}", params=0, out=(2, 5, 4), name="dilated"),
        Case((2, 5, 6), "maxpool2d: {kernel: 2, stride: 1, padding: same}", params=0, out=(2, 5, 6),
             name="even-same", skip={PARITY: SAME_POOL}, refuses=dict.fromkeys(
                 ("torch", "onnx"), "maxpool2d: padding 'same' with an even kernel pads one side more, which torch "
                 "pools cannot do")),
    )),
    Kind("maxpool3d", lambda a, x, t: nn.MaxPool3d(a.kernel, a.strides, a.padding, a.dilation,
                                                   ceil_mode=a.ceil_mode), (
        Case((2, 5, 6, 7), "maxpool3d: 2", params=0, out=(2, 2, 3, 3)),
        Case((1, 5, 5, 6), "maxpool3d: {kernel: 3, stride: 2, padding: 1, dilation: [1, 1, 2]}", params=0,
             out=(1, 3, 3, 2), name="dilated"),
        # D stays 1; H ⌈(4 − 2)/3⌉ + 1 = 2, W ⌈(5 − 2)/3⌉ + 1 = 2 (the last windows overhang the end)
        Case((2, 1, 4, 5), "maxpool3d: {kernel: [1, 2, 2], stride: [1, 3, 3], ceil_mode: true}", params=0,
             out=(2, 1, 2, 2), name="one-deep"),
    )),
    # ⌈(7 + 2 − 3)/2⌉ + 1 = 4; ⌊(6 + 2 − 2)/2⌋ + 1 = 4
    Kind("avgpool1d", lambda a, x, t: nn.AvgPool1d(a.kernel, a.strides, a.padding, a.ceil_mode,
                                                   a.count_include_pad), (
        Case((2, 7), "avgpool1d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", params=0, out=(2, 4)),
        Case((2, 6), "avgpool1d: {kernel: 2, padding: 1, count_include_pad: false}", params=0, out=(2, 4),
             name="exclude-pad"),
        Case((2, 4), "avgpool1d: 4", params=0, out=(2, 1), name="kernel-is-input"),
        # ⌈(9 + 2 − 2)/3⌉ + 1 = 4: windows start at −1, 2, 5, 8 (the last half in the padding)
        Case((2, 9), "avgpool1d: {kernel: 2, stride: 3, padding: 1, count_include_pad: false, ceil_mode: true}",
             params=0, out=(2, 4), name="stride-past-kernel"),
    )),
    Kind("avgpool2d", lambda a, x, t: nn.AvgPool2d(a.kernel, a.strides, a.padding, a.ceil_mode,
                                                   a.count_include_pad), (
        Case((2, 7, 7), "avgpool2d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", params=0, out=(2, 4, 4)),
        Case((2, 6, 7), "avgpool2d: {kernel: 2, padding: 1, count_include_pad: false}", params=0, out=(2, 4, 4),
             name="exclude-pad"),
        Case((2, 5, 6), "avgpool2d: {kernel: [2, 3], stride: 1, padding: same}", params=0, out=(2, 5, 6),
             name="even-same", skip={PARITY: SAME_POOL}, refuses=dict.fromkeys(
                 ("torch", "onnx"), "avgpool2d: padding 'same' with an even kernel pads one side more, which torch "
                 "pools cannot do")),
    )),
    # stride 1: (4 + 2 − 2) + 1, (5 − 2) + 1, (6 + 2 − 3) + 1
    Kind("avgpool3d", lambda a, x, t: nn.AvgPool3d(a.kernel, a.strides, a.padding, a.ceil_mode,
                                                   a.count_include_pad), (
        Case((2, 4, 5, 6), "avgpool3d: {kernel: [2, 2, 3], stride: 1, padding: [1, 0, 1]}", params=0,
             out=(2, 5, 4, 6)),
        Case((1, 4, 4, 6), "avgpool3d: {kernel: 2, padding: 1, count_include_pad: false, ceil_mode: true}",
             params=0, out=(1, 3, 3, 4), name="exclude-pad"),
        Case((2, 1, 3, 3), "avgpool3d: {kernel: [1, 3, 3]}", params=0, out=(2, 1, 1, 1), name="kernel-is-input"),
    )),
    Kind("adaptive_avgpool1d", lambda a, x, t: nn.AdaptiveAvgPool1d(a.out), (
        Case((2, 7), "adaptive_avgpool1d: 3", params=0, out=(2, 3), name="uneven",
             refuses={"onnx": "adaptive_avgpool1d: pooling 7 to 3 uses windows of different sizes, which ONNX "
                              "cannot express"}),
        Case((2, 8), "adaptive_avgpool1d: 4", params=0, out=(2, 4)),
        Case((3, 5), "adaptive_avgpool1d: 1", params=0, out=(3, 1), name="to-one"),
    )),
    Kind("adaptive_avgpool2d", lambda a, x, t: nn.AdaptiveAvgPool2d(a.out), (
        Case((2, 7, 5), "adaptive_avgpool2d: {out: [3, 2]}", params=0, out=(2, 3, 2), name="uneven",
             refuses={"onnx": "adaptive_avgpool2d: pooling 7×5 to 3×2 uses windows of different sizes, which ONNX "
                              "cannot express"}),
        Case((2, 6, 4), "adaptive_avgpool2d: {out: [3, 2]}", params=0, out=(2, 3, 2)),
    )),
    Kind("adaptive_avgpool3d", lambda a, x, t: nn.AdaptiveAvgPool3d(a.out), (
        Case((1, 5, 4, 3), "adaptive_avgpool3d: 2", params=0, out=(1, 2, 2, 2), name="uneven",
             refuses={"onnx": "adaptive_avgpool3d: pooling 5×4×3 to 2×2×2 uses windows of different sizes, "
                              "which ONNX cannot express"}),
        Case((2, 4, 6, 3), "adaptive_avgpool3d: [2, 3, 1]", params=0, out=(2, 2, 3, 1)),
        Case((2, 1, 4, 6), "adaptive_avgpool3d: [1, 2, 3]", params=0, out=(2, 1, 2, 3), name="one-deep"),
    )),
    Kind("global_avgpool1d", lambda a, x, t: Fn(lambda x: x.mean(2)), (
        Case((3, 5), "global_avgpool1d", params=0, out=(3,)),
        Case((2, 1), "global_avgpool1d", params=0, out=(2,), name="one-step"),
    )),
    Kind("global_avgpool2d", lambda a, x, t: GlobalAvgPool(), (
        Case((3, 4, 4), "global_avgpool2d", params=0, out=(3,)),
    )),
    Kind("global_avgpool3d", lambda a, x, t: Fn(lambda x: x.mean((2, 3, 4))), (
        Case((3, 2, 3, 4), "global_avgpool3d", params=0, out=(3,)),
        Case((2, 1, 1, 3), "global_avgpool3d", params=0, out=(2,), name="flat"),
    )),
    # buffers: running mean and variance per channel, and one num_batches_tracked
    Kind("batchnorm1d", lambda a, x, t: nn.BatchNorm1d(x[0], a.eps, a.momentum, a.affine), (
        Case((4,), "batchnorm1d", params=2 * 4, buffers=2 * 4 + 1, out=(4,)),
        Case((3, 4), "batchnorm1d: {momentum: 0.5}", params=2 * 3, buffers=2 * 3 + 1, out=(3, 4), name="rank2"),
    )),
    # nn.GroupNorm(G, C): γ and β per channel (2C), no buffers; any rank from [C] up
    Kind("groupnorm", lambda a, x, t: nn.GroupNorm(a.groups, x[0], a.eps, a.affine), (
        Case((4, 3, 3), "groupnorm: 2", params=2 * 4, out=(4, 3, 3)),
        Case((6, 5), "groupnorm: {groups: 3, affine: false, eps: 0.001}", params=0, out=(6, 5), name="plain"),
        Case((4, 2, 2, 2), "groupnorm: {groups: 4, channels: 4}", params=2 * 4, out=(4, 2, 2, 2), name="instance"),
    )),
    Kind("batchnorm2d", lambda a, x, t: nn.BatchNorm2d(x[0], a.eps, a.momentum, a.affine), (
        Case((3, 4, 4), "batchnorm2d", params=2 * 3, buffers=2 * 3 + 1, out=(3, 4, 4)),
        Case((3, 3, 3), "batchnorm2d: {affine: false}", params=0, buffers=2 * 3 + 1, out=(3, 3, 3),
             name="no-affine"),
    )),
    Kind("batchnorm3d", lambda a, x, t: nn.BatchNorm3d(x[0], a.eps, a.momentum, a.affine), (
        Case((3, 2, 4, 4), "batchnorm3d", params=2 * 3, buffers=2 * 3 + 1, out=(3, 2, 4, 4)),
        Case((2, 3, 3, 2), "batchnorm3d: {affine: false, eps: 0.001, momentum: 0.2}", params=0, buffers=2 * 2 + 1,
             out=(2, 3, 3, 2), name="no-affine"),
    )),
    # nn.InstanceNorm{1,2,3}d(C): torch's defaults affine=False, track_running_stats=False hold nothing; γ and β
    # per channel (2C) with affine; running mean and variance per channel and num_batches_tracked (2C + 1) with
    # track_running_stats, which evaluation then normalises with
    Kind("instancenorm1d", lambda a, x, t: nn.InstanceNorm1d(x[0], a.eps, a.momentum, a.affine,
                                                                a.track_running_stats), (
        Case((3, 5), "instancenorm1d", params=0, out=(3, 5)),
        Case((4, 6), "instancenorm1d: {affine: true, eps: 0.001}", params=2 * 4, out=(4, 6), name="affine"),
    )),
    Kind("instancenorm2d", lambda a, x, t: nn.InstanceNorm2d(x[0], a.eps, a.momentum, a.affine,
                                                                a.track_running_stats), (
        Case((3, 4, 4), "instancenorm2d", params=0, out=(3, 4, 4)),
        Case((3, 3, 4), "instancenorm2d: {affine: true}", params=2 * 3, out=(3, 3, 4), name="affine"),
        Case((2, 3, 3), "instancenorm2d: {affine: true, track_running_stats: true, momentum: 0.3}", params=2 * 2,
             buffers=2 * 2 + 1, out=(2, 3, 3), name="tracked"),
        Case((3, 1, 4), "instancenorm2d: {track_running_stats: true}", params=0, buffers=2 * 3 + 1, out=(3, 1, 4),
             name="tracked-no-affine"),
    )),
    Kind("instancenorm3d", lambda a, x, t: nn.InstanceNorm3d(x[0], a.eps, a.momentum, a.affine,
                                                                a.track_running_stats), (
        Case((2, 2, 3, 3), "instancenorm3d: {affine: true}", params=2 * 2, out=(2, 2, 3, 3)),
        Case((3, 2, 2, 2), "instancenorm3d: {eps: 0.01}", params=0, out=(3, 2, 2, 2), name="plain"),
    )),
    Kind("dropout", lambda a, x, t: MaskedDropout(t), (
        Case((12,), "dropout: 0.4", params=0, out=(12,)),
    )),
    # nn.Dropout{1,2,3}d(p): no parameters; the reference multiplies by the NumPy layer's [N, C, 1, …] mask
    Kind("dropout1d", lambda a, x, t: MaskedDropout(t), (
        Case((4, 5), "dropout1d: 0.4", params=0, out=(4, 5)),
    )),
    Kind("dropout2d", lambda a, x, t: MaskedDropout(t), (
        Case((4, 3, 3), "dropout2d: 0.5", params=0, out=(4, 3, 3)),
        Case((3, 2, 4), "dropout2d", params=0, out=(3, 2, 4), name="default"),
    )),
    Kind("dropout3d", lambda a, x, t: MaskedDropout(t), (
        Case((4, 2, 2, 3), "dropout3d: 0.3", params=0, out=(4, 2, 2, 3)),
    )),
    Kind("flatten", lambda a, x, t: nn.Flatten(a.start % len(x) + 1, a.end % len(x) + 1), (
        Case((2, 3, 3), "flatten", params=0, out=(18,)),
        Case((2, 3, 4), "flatten: {start: 1}", params=0, out=(2, 12), name="start"),
        Case((2, 3, 4, 2), "flatten: {start: -3, end: 2}", params=0, out=(2, 12, 2), name="middle"),
    )),
    # -- upsampling, issue 11: torch's sizes ⌊n·scale⌋ (⌊5·2.5⌋ = 12, ⌊2·1.5⌋ = 3, ⌊3·1.5⌋ = 4) ------------
    Kind("upsample", lambda a, x, t: upsample_reference(a), (
        Case((2, 3, 4), "upsample: 2", params=0, out=(2, 6, 8)),
        Case((2, 3, 3), "upsample: 1.5", params=0, out=(2, 4, 4), name="fraction"),
        Case((2, 5), "upsample: {scale: 2.5, mode: linear}", params=0, out=(2, 12), name="linear"),
        Case((2, 3, 4), "upsample: {size: [5, 7], mode: bilinear, align_corners: true}", params=0, out=(2, 5, 7),
             name="bilinear-size"),
        Case((1, 2, 3, 2), "upsample: {scale: [1, 2, 1.5], mode: trilinear}", params=0, out=(1, 2, 6, 3),
             name="trilinear"),
        # ⌊3·1.5⌋ = 4 per axis, corners aligned; a length-1 input spread over 4; ⌊5·1.7⌋ = 8; ⌊5·2.5⌋ = 12 nearest
        Case((2, 3, 3), "upsample: {scale: 1.5, mode: bilinear, align_corners: true}", params=0, out=(2, 4, 4),
             name="bilinear-aligned"),
        Case((2, 1), "upsample: {size: 4, mode: linear, align_corners: true}", params=0, out=(2, 4),
             name="one-step-aligned"),
        Case((3, 5), "upsample: {scale: 1.7, mode: linear}", params=0, out=(3, 8), name="linear-fraction"),
        Case((2, 5), "upsample: 2.5", params=0, out=(2, 12), name="nearest-1d"),
        Case((1, 2, 2, 3), "upsample: {size: [3, 4, 5]}", params=0, out=(1, 3, 4, 5), name="nearest-3d"),
        # sizes down as well as up: W 2 → 1 with aligned corners reads the first input; ⌊5·0.75⌋ = ⌊4·0.75⌋ = 3
        Case((1, 2, 3, 2), "upsample: {size: [3, 5, 1], mode: trilinear, align_corners: true}", params=0,
             out=(1, 3, 5, 1), name="trilinear-aligned"),
        Case((1, 5, 4), "upsample: {scale: 0.75, mode: bilinear}", params=0, out=(1, 3, 3), name="down"),
    )),
    # nn.PixelShuffle(r): [C·r², H, W] → [C, H·r, W·r]
    Kind("pixel_shuffle", lambda a, x, t: nn.PixelShuffle(a.factor), (
        Case((8, 2, 3), "pixel_shuffle: 2", params=0, out=(2, 4, 6)),
        Case((9, 1, 2), "pixel_shuffle: 3", params=0, out=(1, 3, 6), name="three"),
        Case((4, 1, 1), "pixel_shuffle: 2", params=0, out=(1, 2, 2), name="one-pixel"),
        Case((3, 2, 2), "pixel_shuffle: 1", params=0, out=(3, 2, 2), name="one"),
    )),
    # -- axis moves (torch.Tensor methods, wrapped), issue 11 ------------------------------------------
    # each padded axis n + before + after, torch's order (the last axis first); negative amounts crop
    Kind("pad", lambda a, x, t: Fn(lambda y: torch.nn.functional.pad(
            y, list(a.padding), mode=a.mode, value=a.value if a.mode == "constant" else None)), (
        Case((3, 5), "pad: [2, 0]", params=0, out=(3, 5 + 2)),  # a causal convolution's left padding
        Case((2, 3, 4), "pad: [1, 2, 0, 3]", params=0, out=(2, 3 + 3, 4 + 1 + 2), name="asymmetric-2d"),
        Case((2, 3, 3), "pad: [1, 1, 1, 1]", params=0, out=(2, 5, 5), name="every-side"),
        Case((1, 2, 3, 2), "pad: {padding: [1, 0, 0, 1, 2, 1], value: 0.5}", params=0,
             out=(1, 2 + 2 + 1, 3 + 1, 2 + 1), name="value-3d"),
        Case((3, 4), "pad: {padding: [1, 1], value: -2}", params=0, out=(3, 6), name="value-1d"),
        Case((2, 5, 6), "pad: [-1, 2, -2, -1]", params=0, out=(2, 5 - 3, 6 + 1), name="crop"),
        Case((2, 3), "pad: [0, 0, 1, 1]", params=0, out=(2 + 2, 3), name="first-axis"),
        # the copying modes: amounts within torch's limits (reflect below the size, circular at most the size)
        Case((3, 5), "pad: {padding: [2, 4], mode: reflect}", params=0, out=(3, 5 + 6), name="reflect-1d"),
        Case((2, 4, 5), "pad: {padding: [1, 2, 3, 1], mode: reflect}", params=0, out=(2, 4 + 4, 5 + 3),
             name="reflect-2d"),
        Case((1, 3, 2, 3), "pad: {padding: [1, 2, 1, 0, 2, 1], mode: reflect}", params=0, out=(1, 3 + 3, 2 + 1, 3 + 3),
             name="reflect-3d"),
        Case((2, 3, 4), "pad: {padding: [2, 0, 1, 3], mode: replicate}", params=0, out=(2, 3 + 4, 4 + 2),
             name="replicate-2d"),
        Case((1, 2, 3, 2), "pad: {padding: [1, 2, 0, 3, 1, 1], mode: replicate}", params=0,
             out=(1, 2 + 2, 3 + 3, 2 + 3), name="replicate-3d"),
        Case((2, 3, 4), "pad: {padding: [4, 1, 3, 2], mode: circular}", params=0, out=(2, 3 + 5, 4 + 5),
             name="circular-2d"),
        Case((5,), "pad: {padding: [2, 3], mode: circular}", params=0, out=(5 + 5,), name="circular-1d"),
        # every axis padded: torch sees [N, 4, 5] as one unbatched [C, H, W] map, which pads the same
        Case((4, 5), "pad: {padding: [1, 1, 2, 1], mode: replicate}", params=0, out=(4 + 3, 5 + 2),
             name="replicate-every-axis"),
    )),
    # a ⊗ σ(b) for the halves of axis dim: that axis halves
    Kind("glu", lambda a, x, t: nn.GLU(dim=a.dim + 1 if a.dim >= 0 else a.dim) if a.plain else Fn(
        lambda y: gated(y, a)), (
        Case((3, 8), "glu", params=0, out=(3, 4)),
        Case((6, 5), "glu: {dim: 0}", params=0, out=(3, 5), name="first-axis"),
        Case((2, 4, 3), "glu: 1", params=0, out=(2, 2, 3), name="middle"),
        Case((2,), "glu", params=0, out=(1,), name="vector"),
        # SwiGLU, GeGLU and Phi-3's fused gate_up (the gate the first half), each gate function once
        Case((3, 8), "glu: {activation: silu}", params=0, out=(3, 4), name="swiglu"),
        Case((3, 8), "glu: {activation: silu, gate: first}", params=0, out=(3, 4), name="phi3"),
        Case((3, 8), "glu: {activation: gelu_tanh}", params=0, out=(3, 4), name="geglu-tanh"),
        Case((6, 5), "glu: {dim: 0, activation: gelu, gate: first}", params=0, out=(3, 5), name="geglu-first-axis"),
        Case((3, 8), "glu: {activation: relu}", params=0, out=(3, 4), name="reglu"),
        Case((3, 8), "glu: {activation: tanh, gate: first}", params=0, out=(3, 4), name="tanh-first"),
        Case((3, 8), "glu: {gate: first}", params=0, out=(3, 4), name="sigmoid-first"),
    )),
    Kind("reshape", lambda a, x, t: Fn(lambda y: y.reshape(y.shape[0], *a.output_shape(x))), (
        Case((4, 6), "reshape: [2, -1, 3]", params=0, out=(2, 4, 3)),
        Case((2, 3, 4), "reshape: [24]", params=0, out=(24,), name="flat"),
    )),
    Kind("permute", lambda a, x, t: Fn(lambda y: y.permute(0, *(d % len(x) + 1 for d in a.dims))), (
        Case((2, 3, 4), "permute: [1, 2, 0]", params=0, out=(3, 4, 2)),
        Case((2, 3), "permute: [-1, 0]", params=0, out=(3, 2), name="negative"),
    )),
    Kind("transpose", lambda a, x, t: Fn(lambda y: y.transpose(a.dim0 % len(x) + 1, a.dim1 % len(x) + 1)), (
        Case((2, 5), "transpose", params=0, out=(5, 2)),
        Case((2, 3, 4), "transpose: {dim0: 0, dim1: 2}", params=0, out=(4, 3, 2), name="outer"),
    )),
    Kind("select", lambda a, x, t: Fn(lambda y: y.select(a.axis % len(x) + 1, a.index)), (
        Case((5, 3), "select", params=0, out=(3,)),
        Case((2, 5, 3), "select: {axis: 1, index: -1}", params=0, out=(2, 3), name="last"),
    )),
    Kind("mean", lambda a, x, t: Fn(lambda y: y.mean(tuple(d % len(x) + 1 for d in a.axes_), a.keepdim)), (
        Case((5, 3), "mean: 0", params=0, out=(3,)),
        Case((2, 3, 4), "mean: {axes: [1, -1], keepdim: true}", params=0, out=(2, 1, 1), name="keepdim"),
    )),
    # torchvision ViT: class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim)), concatenated before the patches
    Kind("class_token", lambda a, x, t: ClassTokenReference(x[1]), (
        Case((4, 6), "class_token", params=6, out=(5, 6)),
    )),
    # torchvision ConvNeXt CNBlock: layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
    # timm ConvNeXt's gamma = nn.Parameter(ls_init_value * torch.ones(dim)), applied as gamma.reshape(1, -1, 1, 1)
    Kind("layer_scale", lambda a, x, t: LayerScaleReference(a.shape(x), a.value,
                                                            a.broadcast(x) if a.flat else None), (
        Case((3, 2, 2), "layer_scale", params=3, out=(3, 2, 2)),
        Case((4, 6), "layer_scale: {value: 0.1, axis: -1}", params=6, out=(4, 6), name="last-axis"),
        Case((3, 2, 4), "layer_scale: {value: 0.5, flat: true}", params=3, out=(3, 2, 4), name="flat"),
        Case((2, 3, 4), "layer_scale: {flat: true, axis: 1}", params=3, out=(2, 3, 4), name="flat-middle"),
    )),
    # torchvision.ops.StochasticDepth: in training the NumPy layer's mask (per row or batch), the identity in eval
    Kind("stochastic_depth", lambda a, x, t: MaskedDropout(t), (
        Case((3, 4), "stochastic_depth: 0.2", params=0, out=(3, 4)),
        Case((3, 2, 2), "stochastic_depth: {p: 0.5, mode: batch}", params=0, out=(3, 2, 2), name="batch"),
    )),
    Kind("identity", lambda a, x, t: nn.Identity(), (
        Case((2, 3), "identity", params=0, out=(2, 3)),
    )),
    # IBM Granite's residual_multiplier (x * 0.22) and logits / logits_scaling (a negative factor too)
    Kind("scale", lambda a, x, t: Fn(lambda y: y * a.factor), (
        Case((2, 6), "scale: 0.22", params=0, out=(2, 6)),
        Case((3, 2, 4), "scale: {factor: -8}", params=0, out=(3, 2, 4), name="negative"),
    )),
    Kind("relu", lambda a, x, t: nn.ReLU(), (Case((2, 6), "relu", params=0, out=(2, 6)),)),
    Kind("relu6", lambda a, x, t: nn.ReLU6(), (Case((2, 6), "relu6", params=0, out=(2, 6)),)),
    Kind("leaky_relu", lambda a, x, t: nn.LeakyReLU(a.slope), (Case((2, 6), "leaky_relu: 0.2", params=0, out=(2, 6)),)),
    Kind("sigmoid", lambda a, x, t: nn.Sigmoid(), (Case((2, 6), "sigmoid", params=0, out=(2, 6)),)),
    Kind("tanh", lambda a, x, t: nn.Tanh(), (Case((2, 6), "tanh", params=0, out=(2, 6)),)),
    # Gemma 2's final_logit_softcapping: logits / cap, tanh, times cap
    Kind("softcap", lambda a, x, t: Fn(lambda y: torch.tanh(y / a.cap) * a.cap), (
        Case((2, 6), "softcap: 1.5", params=0, out=(2, 6)),
        Case((3, 2, 4), "softcap: {cap: 30.0}", params=0, out=(3, 2, 4), name="gemma2"),
    )),
    Kind("log_softmax", lambda a, x, t: nn.LogSoftmax(dim=a.dim + 1 if a.dim >= 0 else a.dim), (
        Case((3, 4), "log_softmax", params=0, out=(3, 4)),
        Case((3, 4), "log_softmax: {dim: -1}", params=0, out=(3, 4), name="last"),
    )),
    Kind("softmax", lambda a, x, t: nn.Softmax(dim=a.dim + 1 if a.dim >= 0 else a.dim), (
        Case((3, 4), "softmax", params=0, out=(3, 4)),
        Case((3, 4), "softmax: {dim: -1}", params=0, out=(3, 4), name="last"),
    )),
    Kind("gelu", lambda a, x, t: nn.GELU(approximate=a.approximate), (
        Case((2, 6), "gelu", params=0, out=(2, 6)),
        Case((2, 6), "gelu: {approximate: tanh}", params=0, out=(2, 6), name="tanh"),
    )),
    Kind("step", lambda a, x, t: Sign(), (Case((2, 6), "step", params=0, out=(2, 6), zero_gradient=True),)),
    # -- transformers (issue 11; NumPy and ONNX, issue 12) ------------------------------------------------
    Kind("embedding", lambda a, x, t: nn.Embedding(a.vocab, a.dim, a.padding_idx) if a.scale is None else
         ScaledEmbeddingReference(a.vocab, a.dim, a.padding_idx, a.scale), (
        Case(Input((7,), ids=11), "embedding: {vocab: 11, dim: 4}", params=11 * 4, out=(7, 4)),
        # Gemma's rows times √dim (√4 = 2; √6 here, a factor float32 rounds)
        Case(Input((7,), ids=11), "embedding: {vocab: 11, dim: 6, scale: 2.449489742783178}", params=11 * 6,
             out=(7, 6), name="scaled"),
        Case(Input((7,), ids=11), "embedding: {vocab: 11, dim: 4, padding_idx: 0}", params=11 * 4, out=(7, 4),
             name="padding", skip={GRAD: "the padding row gets no gradient by torch's definition, though the output "
                                         "reads it: finite differences see a slope there (parity checks the zero)"}),
    )),
    Kind("pos_embedding", lambda a, x, t: PositionAddReference(a.positions, x[1]) if a.add else
         PositionReference(a.positions, a.dim, a.index == "first", a.padding_idx, a.offset), (
        Case((5, 3), None, params=8 * 3, out=(5, 3), spec="""input: [5, 3]
layers:
  - add: [[], [pos_embedding: {positions: 8, dim: 3}]]
"""),
        Case((5, 3), "pos_embedding: {positions: 2, dim: 3, index: first}", params=2 * 3, out=(5, 3), name="first"),
        # OPT's table: position t at row t + 2, rows 2 … 6 of 7 (the table's every row used)
        Case((5, 3), "pos_embedding: {positions: 7, dim: 3, offset: 2}", params=7 * 3, out=(5, 3), name="offset"),
        # RoBERTa's positions from the ids (among 4 ids, padding 1 is common): rows 2 … 8 of 9 without padding;
        # beside a token embedding, which makes the model's input ids (int64 in ONNX)
        Case(Input((7,), ids=4), None, params=4 * 3 + 9 * 3, out=(7, 3), spec="""input: [7]
layers:
  - add: [[embedding: {vocab: 4, dim: 3}], [pos_embedding: {positions: 9, dim: 3, padding_idx: 1}]]
""", name="roberta", skip={GRAD: "the padding row gets no gradient by torch's definition, though the output "
                                         "reads it: finite differences see a slope there (parity checks the zero)"}),
        # torchvision ViT's Encoder: pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim)), added
        Case((5, 3), "pos_embedding: {positions: 5, add: true}", params=5 * 3, out=(5, 3), name="add"),
        Case((4, 3), "pos_embedding: {positions: 6, dim: 3, add: true}", params=6 * 3, out=(4, 3), name="add-shorter"),
        Case((1, 2), "pos_embedding: {positions: 3, add: true}", params=3 * 2, out=(1, 2), name="add-one-token"),
    )),
    Kind("layernorm", lambda a, x, t: nn.LayerNorm(x[len(x) - a.axes_:], a.eps, a.affine, a.bias), (
        Case((3, 6), "layernorm", params=2 * 6, out=(3, 6)),
        Case((2, 3, 4), "layernorm: {axes: 2, bias: false, eps: 1.0e-12}", params=3 * 4, out=(2, 3, 4),
             name="two-axes"),
        Case((3, 6), "layernorm: {affine: false}", params=0, out=(3, 6), name="plain"),
        Case((2, 4, 4), "layernorm: {axes: 2}", params=2 * 4 * 4, out=(2, 4, 4), name="square"),  # shape (4, 4)
    )),
    # torchvision ConvNeXt's LayerNorm2d: nn.LayerNorm(C) on the channels-last view, permuted back
    Kind("layernorm2d", lambda a, x, t: LayerNorm2dReference(x[0], a.eps, a.affine, a.bias), (
        Case((4, 3, 5), "layernorm2d: 1.0e-6", params=2 * 4, out=(4, 3, 5)),
        Case((3, 2, 2), "layernorm2d: {bias: false}", params=3, out=(3, 2, 2), name="no-bias"),
        Case((3, 2, 4), "layernorm2d: {affine: false}", params=0, out=(3, 2, 4), name="plain"),
        Case((5, 1, 1), "layernorm2d", params=2 * 5, out=(5, 1, 1), name="one-pixel"),
    )),
    Kind("rmsnorm", lambda a, x, t: GemmaRMSNormReference(x[len(x) - a.axes_:], a.eps, a.offset) if a.offset else
         nn.RMSNorm(x[len(x) - a.axes_:], a.eps, a.affine), (
        Case((3, 6), "rmsnorm: {eps: 1.0e-6}", params=6, out=(3, 6)),
        Case((2, 3, 4), "rmsnorm: {axes: 2, affine: false}", params=0, out=(2, 3, 4), name="plain"),
        # Gemma's x̂·(1 + γ), γ from zeros
        Case((3, 6), "rmsnorm: {eps: 1.0e-6, offset: 1}", params=6, out=(3, 6), name="gemma"),
        Case((2, 3, 4), "rmsnorm: {axes: 2, offset: 0.5}", params=3 * 4, out=(2, 3, 4), name="half-offset"),
    )),
    # the harness computes the three-branch form itself (tests/numpy_torch.py, ``merge``), with ``attend``
    Kind("attention", lambda a, x, t: AttentionReference(a, x, t), (
        Case((5, 24), "attention: {heads: 2, causal: true}", params=0, out=(5, 8), name="fused"),
        Case((1, 12), "attention: {heads: 1, causal: true, rotary: interleaved}", params=0, out=(1, 4),
             name="one-token"),
        # Gemma 2's local layers: the scores soft-capped, each query seeing itself and the 2 keys before it
        Case((6, 16), "attention: {heads: 2, kv_heads: 1, causal: true, window: 3, softcap: 2.0, scale: 0.3}",
             params=0, out=(6, 8), name="window-softcap"),
        # Gemma 3's global layers: linear rope scaling, the positions divided by 8
        Case((5, 24), "attention: {heads: 2, causal: true, rotary: half, theta: 100.0, rotary_factor: 8.0}",
             params=0, out=(5, 8), name="rotary-factor"),
        # GPT-NeoX's query_key_value: each head's q, k and v together, a quarter of each head rotated
        Case((5, 48), "attention: {heads: 2, causal: true, packing: heads, rotary: half, rotary_dim: 2}",
             params=0, out=(5, 16), name="packed-by-head"),
        # Falcon's grouped form: per key/value head its 2 queries, its key, its value
        Case((4, 24), "attention: {heads: 4, kv_heads: 2, packing: heads, causal: true}", params=0, out=(4, 12),
             name="packed-by-group"),
        # independent sequences: 3 windows (frames) of 5 positions, each attended on its own, rotary within each
        Case((3, 5, 24), "attention: {heads: 2, kv_heads: 1, causal: true, rotary: half}", params=0, out=(3, 5, 12),
             name="groups"),
        # Swin's W-MSA: 2×2 groups of 2×3 windows, 3 heads, the relative position bias table (2·2−1)(2·3−1)×3 and
        # torchvision's relative_position_index buffer of (2·3)² offsets; dropout on the weights in training
        Case((2, 2, 6, 18), "attention: {heads: 3, relative_bias: [2, 3], dropout: 0.25}", params=3 * 5 * 3,
             buffers=36, out=(2, 2, 6, 6), name="relative-bias"),
        Case((4, 18), "attention: {heads: 3, relative_bias: [2, 2], causal: true, rotary: half}", params=3 * 3 * 3,
             buffers=16, out=(4, 6), name="relative-bias-causal"),
        Case((2, 5, 6), None, params=3 * (6 * 4 + 4), out=(2, 5, 4), name="groups-branches", spec="""input: [2, 5, 6]
layers:
  - attention: {heads: 2, causal: true, window: 2, branches: [[linear: 4], [linear: 4], [linear: 4]]}
"""),
        Case((5, 6), None, params=6 * 8 + 8 + 2 * (6 * 2 + 2), out=(5, 8), name="multi-query", spec="""input: [5, 6]
layers:
  - attention: {heads: 4, kv_heads: 1, scale: 0.5, rotary: half, rotary_dim: 2,
                branches: [[linear: 8], [linear: 2], [linear: 2]]}
"""),
        Case((6, 8), None, params=8 * 8 + 2 * (8 * 4 + 4), out=(6, 8), name="gqa-rotary", spec="""input: [6, 8]
layers:
  - attention:
      heads: 4
      kv_heads: 2
      rotary: half
      causal: true
      branches: [[linear: {out: 8, bias: false}], [linear: 4], [linear: 4]]
"""),
        # a window, a soft cap and a rope factor on three branches (the NumPy backend once refused them there)
        Case((6, 8), None, params=3 * (8 * 8 + 8), out=(6, 8), name="branches-window", spec="""input: [6, 8]
layers:
  - attention:
      heads: 2
      causal: true
      window: 2
      softcap: 3.0
      rotary: half
      rotary_factor: 2.0
      branches: [[linear: 8], [linear: 8], [linear: 8]]
"""),
        Case((6, 8), None, params=3 * (8 * 8), out=(6, 8), name="interleaved", spec="""input: [6, 8]
layers:
  - attention:
      heads: 1
      rotary: interleaved
      rotary_dim: 4
      theta: 500000.0
      branches: [[linear: {out: 8, bias: false}], [linear: {out: 8, bias: false}], [linear: {out: 8, bias: false}]]
"""),
    )),
    Kind("multihead_attention", lambda a, x, t: TorchAttentionReference(a, x) if a.layout == "torch" else
         MultiheadReference(a, x), (
        Case((6, 16), "multihead_attention: 4", params=4 * (16 * 16 + 16), out=(6, 16)),
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, causal: true, rotary: half, out: 8}",
             params=16 * 16 + 2 * 16 * 8 + 16 * 8, out=(6, 8), name="gqa"),
        Case((6, 16), "multihead_attention: {heads: 2, head_dim: 4, out_bias: false}",
             params=3 * (16 * 8 + 8) + 8 * 16, out=(6, 16), name="head-dim"),
        Case((2, 8), "multihead_attention: {heads: 2, kv_heads: 1, causal: true, rotary: interleaved}",
             params=(8 * 8 + 8) + 2 * (8 * 4 + 4) + (8 * 8 + 8), out=(2, 8), name="multi-query"),
        # Qwen3: q_norm and k_norm of head_dim 4 each; OLMo 2: of heads·d = 16 and kv_heads·d = 8
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, causal: true, rotary: half, "
             "qk_norm: head}", params=16 * 16 + 2 * 16 * 8 + 16 * 16 + 2 * 4, out=(6, 16), name="qk-norm-head"),
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, rotary: half, qk_norm: all, "
             "qk_norm_eps: 1.0e-5}", params=16 * 16 + 2 * 16 * 8 + 16 * 16 + 16 + 8, out=(6, 16),
             name="qk-norm-all"),
        # Gemma 3: q_norm and k_norm of head_dim 6 with Gemma's (1 + γ), a window, a cap and linear rope scaling
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, head_dim: 6, bias: false, causal: true, "
             "window: 3, scale: 0.25, softcap: 3.0, rotary: half, theta: 100.0, rotary_factor: 8.0, qk_norm: head, "
             "qk_norm_offset: 1}", params=16 * 24 + 2 * 16 * 12 + 24 * 16 + 2 * 6, out=(6, 16), name="gemma3"),
        # Command R+: LayerNorms over each head's 4 features, γ [4, 4] for q and [2, 4] for k, no β
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, causal: true, rotary: interleaved, "
             "qk_norm: per_head, qk_norm_kind: layernorm, qk_norm_bias: false, qk_norm_eps: 1.0e-5}",
             params=16 * 16 + 2 * 16 * 8 + 16 * 16 + (4 + 2) * 4, out=(6, 16), name="qk-norm-per-head"),
        # StableLM 2 12B's layout (a LayerNorm module per head), here with β: 2 × (4 + 2) × 4; partial rotary
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, causal: true, rotary: half, rotary_dim: 2, "
             "qk_norm: per_head, qk_norm_kind: layernorm, qk_norm_layout: stablelm}",
             params=16 * 16 + 2 * 16 * 8 + 16 * 16 + (16 + 8 + 8 + 16) + 2 * (4 + 2) * 4, out=(6, 16),
             name="qk-norm-stablelm"),
        Case((6, 16), "multihead_attention: {heads: 4, bias: false, qk_norm: per_head, qk_norm_eps: 1.0e-5}",
             params=4 * (16 * 16) + (4 + 4) * 4, out=(6, 16), name="qk-norm-per-head-rms"),
        # LayerNorms shared by the heads (Persimmon's, with β), and over all heads' features without β
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, rotary: half, qk_norm: head, "
             "qk_norm_kind: layernorm}", params=16 * 16 + 2 * 16 * 8 + 16 * 16 + 2 * 2 * 4, out=(6, 16),
             name="qk-norm-head-layernorm"),
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, qk_norm: all, qk_norm_kind: "
             "layernorm, qk_norm_bias: false}", params=16 * 16 + 2 * 16 * 8 + 16 * 16 + 16 + 8, out=(6, 16),
             name="qk-norm-all-layernorm"),
        # nn.MultiheadAttention(16, 4): in_proj_weight [48, 16], in_proj_bias [48], out_proj 16 → 16
        Case((6, 16), "multihead_attention: {heads: 4, layout: torch}", params=4 * (16 * 16 + 16), out=(6, 16),
             name="torch-layout"),
        Case((5, 8), "multihead_attention: {heads: 2, layout: torch, bias: false, causal: true}",
             params=4 * 8 * 8, out=(5, 8), name="torch-layout-causal"),
        Case((4, 6), "multihead_attention: {heads: 1, layout: torch}", params=4 * (6 * 6 + 6), out=(4, 6),
             name="torch-layout-one-head"),
        Case((3, 6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, causal: true, rotary: half}",
             params=16 * 16 + 2 * 16 * 8 + 16 * 16, out=(3, 6, 16), name="groups"),
        Case((2, 3, 5, 8), "multihead_attention: {heads: 2, layout: torch, causal: true}", params=4 * (8 * 8 + 8),
             out=(2, 3, 5, 8), name="torch-layout-groups"),
        Case((1, 8), "multihead_attention: {heads: 2, layout: torch, causal: true}", params=4 * (8 * 8 + 8),
             out=(1, 8), name="torch-layout-one-token"),
    )),
    # Mixtral's block: D·E router + E·(2F·D + D·F) experts; top_k 1 and E = k are the edge cases of routing
    Kind("moe", lambda a, x, t: MoEReference(a, x), (
        Case((5, 6), "moe: {experts: 4, top_k: 2, hidden: 3}", params=6 * 4 + 4 * 3 * 6 * 3, out=(5, 6)),
        Case((2, 3, 4), "moe: {experts: 3, top_k: 1, hidden: 2, normalize: false}", params=4 * 3 + 3 * 3 * 4 * 2,
             out=(2, 3, 4), name="top-1-raw"),
        Case((4, 6), "moe: {experts: 3, top_k: 2, hidden: 4, normalize: false, activation: gelu}",
             params=6 * 3 + 3 * 3 * 6 * 4, out=(4, 6), name="qwen-gelu"),
        Case((6,), "moe: {experts: 2, top_k: 2, hidden: 3}", params=6 * 2 + 2 * 3 * 6 * 3, out=(6,),
             name="every-expert"),
        # Qwen2-MoE: a shared expert of 5 (gate, up, down) and its D → 1 sigmoid gate beside the routed ones
        Case((4, 6), "moe: {experts: 3, top_k: 2, hidden: 4, normalize: false, shared: 5}",
             params=6 * 3 + 3 * 3 * 6 * 4 + 3 * 6 * 5 + 6, out=(4, 6), name="qwen2-shared"),
        # GraniteMoE: router.weight, the softmax over the 2 kept logits (the reference computes it that way)
        Case((5, 6), "moe: {experts: 4, top_k: 2, hidden: 3, router: router}", params=6 * 4 + 4 * 3 * 6 * 3,
             out=(5, 6), name="granite-router"),
        # DeepSeek-V3's router: sigmoid scores, the correction bias (a buffer of E), 3 of 4 groups of 2 by their two
        # best; the weights renormalised and times 2.5; shared_experts of 5 without a gate
        Case((5, 6), "moe: {experts: 8, top_k: 3, hidden: 3, scoring: sigmoid, correction_bias: true, groups: 4, "
             "top_groups: 2, scaling: 2.5, shared: 5, shared_gate: false}",
             params=6 * 8 + 8 * 3 * 6 * 3 + 3 * 6 * 5, buffers=8, out=(5, 6), name="deepseek-v3"),
        # DeepSeek-V2's group_limited_greedy: softmax, 2 of 3 groups by their best expert, the weights as they are
        Case((2, 4, 6), "moe: {experts: 6, top_k: 2, hidden: 4, normalize: false, groups: 3, top_groups: 2, "
             "group_score: max, scaling: 1.5, shared: 4, shared_gate: false}",
             params=6 * 6 + 6 * 3 * 6 * 4 + 3 * 6 * 4, out=(2, 4, 6), name="deepseek-v2-groups"),
        # the correction bias belongs to the router whatever its name (router.e_score_correction_bias)
        Case((3, 6), "moe: {experts: 4, top_k: 2, hidden: 3, router: router, scoring: sigmoid, correction_bias: true}",
             params=6 * 4 + 4 * 3 * 6 * 3, buffers=4, out=(3, 6), name="renamed-router-bias"),
    )),
    # DeepSeek's latent attention: q direct (D·h·(n+r)) or low-rank (D·q + q + q·h·(n+r)), kv_a (D·(kv+r)), its
    # norm (kv), kv_b (kv·h·(n+v)), o (h·v·out)
    Kind("mla", lambda a, x, t: LatentAttentionReference(a, x), (
        Case((6, 16), "mla: {heads: 2, q_rank: 6, kv_rank: 8, nope_dim: 4, rope_dim: 2, v_dim: 3, causal: true}",
             params=16 * 6 + 6 + 6 * 2 * 6 + 16 * 10 + 8 + 8 * 2 * 7 + 2 * 3 * 16, out=(6, 16)),
        Case((5, 12), "mla: {heads: 3, kv_rank: 6, nope_dim: 2, rope_dim: 4, v_dim: 5, rotary: half, bias: true, "
             "out: 7, theta: 500.0}",
             params=12 * 3 * 6 + (12 * 10 + 10) + 6 + 6 * 3 * 7 + (3 * 5 * 7 + 7), out=(5, 7), name="q-proj-half"),
        Case((4, 8), "mla: {heads: 2, q_rank: 4, kv_rank: 4, nope_dim: 2, rope_dim: 2, v_dim: 2, bias: true, "
             "causal: true, scale: 0.3, eps: 1.0e-5}",
             params=(8 * 4 + 4) + 4 + 4 * 2 * 4 + (8 * 6 + 6) + 4 + 4 * 2 * 4 + (2 * 2 * 8 + 8), out=(4, 8),
             name="biased-scaled"),
        # DeepSeek's published YaRN on the rotary part (here from 2 positions, factor 4, on 4 tokens)
        Case((4, 8), "mla: {heads: 2, kv_rank: 4, nope_dim: 2, rope_dim: 4, v_dim: 2, causal: true, "
             "rotary_factor: 4.0, rotary_scaling: yarn, original_positions: 2, attention_factor: 1.2, scale: 0.5}",
             params=8 * 2 * 6 + 8 * 8 + 4 + 4 * 2 * 4 + 2 * 2 * 8, out=(4, 8), name="yarn"),
    )),
    Kind("silu", lambda a, x, t: nn.SiLU(), (Case((2, 6), "silu", params=0, out=(2, 6)),)),
    Kind("hardswish", lambda a, x, t: nn.Hardswish(), (Case((3, 8), "hardswish", params=0, out=(3, 8)),)),
    Kind("hardsigmoid", lambda a, x, t: nn.Hardsigmoid(), (Case((3, 8), "hardsigmoid", params=0, out=(3, 8)),)),
    Kind("elu", lambda a, x, t: nn.ELU(a.alpha), (
        Case((2, 6), "elu", params=0, out=(2, 6)),
        Case((2, 6), "elu: 0.5", params=0, out=(2, 6), name="alpha"),
    )),
    # nn.PReLU(num_parameters): one slope, or one per channel (the axis after the batch)
    Kind("prelu", lambda a, x, t: nn.PReLU(x[0] if a.per_channel else 1, a.slope_init), (
        Case((3, 4, 4), "prelu", params=1, out=(3, 4, 4)),
        Case((3, 4, 4), "prelu: {per_channel: true, init: 0.1}", params=3, out=(3, 4, 4), name="per-channel"),
        Case((5,), "prelu: {per_channel: true}", params=5, out=(5,), name="vector"),
    )),
    Kind("mish", lambda a, x, t: nn.Mish(), (Case((2, 6), "mish", params=0, out=(2, 6)),)),
    Kind("softplus", lambda a, x, t: nn.Softplus(a.beta, a.threshold), (
        Case((2, 6), "softplus", params=0, out=(2, 6)),
        Case((2, 6), "softplus: {beta: 2, threshold: 1}", params=0, out=(2, 6), name="threshold"),
    )),
    # -- recurrent layers (issue 11): torch's counts per layer and direction, G·h·(i + h_r) + 2·G·h, plus
    # proj_size·h for an LSTM's projection (i: F, then D·h_r above the first layer) ------------------------
    Kind("lstm", lambda a, x, t: RecurrentReference(a, x, t), (
        Case((5, 3), "lstm: 4", params=4 * 4 * (3 + 4) + 2 * 4 * 4, out=(5, 4)),
        Case((5, 3), "lstm: {hidden: 4, bidirectional: true, output: last}", params=2 * (4 * 4 * 7 + 32), out=(8,),
             name="bidirectional", zero_grads=("weight_hh_l0_reverse",)),  # its output: its first step
        Case((5, 3), "lstm: {hidden: 4, num_layers: 2, dropout: 0.5}",
             params=(4 * 4 * (3 + 4) + 32) + (4 * 4 * (4 + 4) + 32), out=(5, 4), name="two-layers"),
        Case((5, 3), "lstm: {hidden: 4, proj_size: 2, num_layers: 2, bidirectional: true, output: hidden}",
             params=2 * (4 * 4 * (3 + 2) + 32 + 2 * 4) + 2 * (4 * 4 * (2 * 2 + 2) + 32 + 2 * 4), out=(4,),
             name="proj", refuses={"onnx": "lstm: ONNX's LSTM has no projection of the hidden state "
                                           "(proj_size)"}),
        Case((1, 3), "lstm: {hidden: 4, output: last}", params=4 * 4 * 7 + 32, out=(4,), name="one-step",
             zero_grads=("weight_hh_l0",)),
        Case((1, 3), "lstm: {hidden: 4, bidirectional: true, output: hidden}", params=2 * (4 * 4 * 7 + 32), out=(8,),
             name="one-step-bidirectional", zero_grads=("weight_hh_l0", "weight_hh_l0_reverse")),
        Case((4, 2), "lstm: {hidden: 3, num_layers: 3, bidirectional: true, dropout: 0.25, output: hidden}",
             params=2 * (4 * 3 * (2 + 3) + 24) + 2 * 2 * (4 * 3 * (6 + 3) + 24), out=(6,), name="three-layers"),
        Case((5, 3), "lstm: {hidden: 4, proj_size: 3, bias: false, output: last}", params=4 * 4 * (3 + 3) + 3 * 4,
             out=(3,), name="proj-last", refuses={"onnx": "lstm: ONNX's LSTM has no projection of the hidden "
                                                          "state (proj_size)"}),
    )),
    Kind("gru", lambda a, x, t: RecurrentReference(a, x, t), (
        Case((5, 3), "gru: 4", params=3 * 4 * (3 + 4) + 2 * 3 * 4, out=(5, 4)),
        Case((5, 3), "gru: {hidden: 4, bidirectional: true, output: hidden}", params=2 * (3 * 4 * 7 + 24), out=(8,),
             name="bidirectional"),
        Case((5, 3), "gru: {hidden: 4, num_layers: 2, bias: false}", params=3 * 4 * (3 + 4) + 3 * 4 * (4 + 4),
             out=(5, 4), name="two-layers"),
        Case((1, 3), "gru: {hidden: 4, bidirectional: true}", params=2 * (3 * 4 * 7 + 24), out=(1, 8),
             name="one-step", zero_grads=("weight_hh_l0", "weight_hh_l0_reverse")),
        Case((4, 2), "gru: {hidden: 3, num_layers: 3, dropout: 0.5, output: last}",
             params=(3 * 3 * (2 + 3) + 18) + 2 * (3 * 3 * (3 + 3) + 18), out=(3,), name="three-layers"),
    )),
    Kind("rnn", lambda a, x, t: RecurrentReference(a, x, t), (
        Case((5, 3), "rnn: 4", params=4 * (3 + 4) + 2 * 4, out=(5, 4)),
        Case((5, 3), "rnn: {hidden: 4, nonlinearity: relu, bidirectional: true, output: last}",
             params=2 * (4 * 7 + 8), out=(8,), name="bidirectional", zero_grads=("weight_hh_l0_reverse",)),
        Case((5, 3), "rnn: {hidden: 4, num_layers: 2, bidirectional: true}",
             params=2 * (4 * (3 + 4) + 8) + 2 * (4 * (2 * 4 + 4) + 8), out=(5, 8), name="two-layers"),
        Case((1, 3), "rnn: {hidden: 4, output: hidden}", params=4 * 7 + 8, out=(4,), name="one-step",
             zero_grads=("weight_hh_l0",)),
        Case((4, 2), "rnn: {hidden: 3, num_layers: 3, nonlinearity: relu, dropout: 0.5, bidirectional: true, "
                     "output: hidden}", params=2 * (3 * (2 + 3) + 6) + 2 * 2 * (3 * (6 + 3) + 6), out=(6,),
             name="three-layers"),
        Case((1, 3), "rnn: {hidden: 4, nonlinearity: relu, bidirectional: true, output: last}",
             params=2 * (4 * 7 + 8), out=(8,), name="one-step-bidirectional",
             zero_grads=("weight_hh_l0", "weight_hh_l0_reverse")),
    )),
)

#: kind → its entry
KINDS: dict[str, Kind] = {entry.kind: entry for entry in RECORD}
#: every case of every kind, in record order
CASES: tuple[Case, ...] = tuple(case for entry in RECORD for case in entry.cases)
#: kind → the torch reference (tests/numpy_torch.py builds whole networks from it)
REFERENCE: dict[str, Callable[..., nn.Module]] = {entry.kind: entry.torch for entry in RECORD if entry.torch}


def cases(check: str) -> list:
    """pytest params: the cases ``check`` runs on, by id."""
    import pytest

    return [pytest.param(case, id=case.id) for case in CASES if case.runs(check)]
