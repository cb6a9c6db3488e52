"""The modules torch lacks: :class:`Network`, which runs a planned container, the parameter-free
merges it applies, and two layer kinds.

:class:`Network` is what :func:`archcalc.to_torch` builds for the root and for every container of
the module plan (:mod:`archcalc.backends.plan`): its children are registered under the plan's keys,
so paths and ``state_dict`` keys read ``layer2.0.downsample.0.weight`` as the spec says, and its
``forward`` runs the plan's program. Generated source writes a class per block instead, with the
program as plain code, registering the same children.

:class:`Sign`, :class:`GlobalAvgPool2d` and the merges are copied verbatim into generated files that
use them, so a generated file still needs nothing but torch. Keep their source short and ASCII.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from archcalc.backends.rope import rotary_frequencies

#: attributes a Network keeps besides its children (child names avoid them)
ATTRIBUTES = frozenset({"_program", "_calls", "_ops", "_kept", "kept"})


class Sign(nn.Module):
    """sign(x), the perceptron's threshold unit: -1, 0 or +1 (its gradient is 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sign(x)


class SoftCap(nn.Module):
    """cap * tanh(x / cap): values bounded to (-cap, cap) (Gemma 2's logits)."""

    def __init__(self, cap: float):
        super().__init__()
        self.cap = cap

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.tanh(x / self.cap) * self.cap


class Scale(nn.Module):
    """x * factor, a constant (Granite's residual_multiplier, 1 / logits_scaling)."""

    def __init__(self, factor: float):
        super().__init__()
        self.factor = factor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.factor


class GlobalAvgPool2d(nn.Module):
    """The mean of each channel over H and W: [N, C, H, W] -> [N, C]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class Reshape(nn.Module):
    """Each example reshaped to ``shape`` (batch excluded): [N, *] -> [N, *shape]."""

    def __init__(self, shape: tuple[int, ...]):
        super().__init__()
        self.shape = tuple(shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class Permute(nn.Module):
    """The axes after the batch reordered: output axis i is input axis dims[i]."""

    def __init__(self, dims: tuple[int, ...]):
        super().__init__()
        self.dims = tuple(dims)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.permute(0, *(d + 1 for d in self.dims))


class Select(nn.Module):
    """One position along an axis (batch excluded), the axis removed: x[:, i]."""

    def __init__(self, axis: int, index: int):
        super().__init__()
        self.axis = axis
        self.index = index

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.select(self.axis + 1, self.index)


class GatedUnit(nn.Module):
    """x split in halves along dim, value * act(gate): nn.GLU with another gate
    function (SwiGLU's silu, GeGLU's gelu), the gate the second half, or the first
    as a fused gate-and-up projection is split (Phi-3's gate_up_proj)."""

    def __init__(
        self, dim: int = -1, activation: str = "silu", gate_first: bool = False
    ):
        super().__init__()
        self.dim, self.activation, self.gate_first = dim, activation, gate_first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        a, b = x.chunk(2, dim=self.dim)
        value, gate = (b, a) if self.gate_first else (a, b)
        if self.activation.startswith("gelu"):
            approximate = "tanh" if self.activation == "gelu_tanh" else "none"
            return value * nn.functional.gelu(gate, approximate=approximate)
        return value * getattr(nn.functional, self.activation)(gate)


class Mean(nn.Module):
    """The mean over the given axes (batch excluded), kept as size 1 with keepdim."""

    def __init__(self, dims: tuple[int, ...], keepdim: bool = False):
        super().__init__()
        self.dims = tuple(dims)
        self.keepdim = keepdim

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=tuple(d + 1 for d in self.dims), keepdim=self.keepdim)


class StochasticDepth(nn.Module):
    """torchvision.ops.StochasticDepth: in training, zero the whole input of an
    example (mode "row") or of the batch ("batch") with probability p and scale
    the rest by 1/(1-p); the identity in eval."""

    def __init__(self, p: float, mode: str = "row"):
        super().__init__()
        self.p = p
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training or self.p == 0.0:
            return x
        survival = 1.0 - self.p
        size = [x.shape[0]] + [1] * (x.ndim - 1) if self.mode == "row" else [1] * x.ndim
        noise = torch.empty(size, dtype=x.dtype, device=x.device).bernoulli_(survival)
        if survival > 0.0:
            noise.div_(survival)
        return x * noise


class ClassToken(nn.Module):
    """A learned [1, 1, D] token put before the sequence: [N, T, D] -> [N, T+1, D]."""

    def __init__(self, dim: int):
        super().__init__()
        self.weight = self.parameter(dim)

    @classmethod
    def parameter(cls, dim: int) -> nn.Parameter:
        return nn.Parameter(torch.zeros(1, 1, dim))

    @staticmethod
    def apply(x: torch.Tensor, parameter: torch.Tensor) -> torch.Tensor:
        return torch.cat([parameter.expand(x.shape[0], -1, -1), x], dim=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.weight)


class LayerScale(nn.Module):
    """x times a learned per-channel scale of the given shape (ConvNeXt). Given
    ``view``, the scale is stored flat (timm holds ConvNeXt's as [C]) and viewed as
    [C, 1, …] when applied."""

    def __init__(
        self, shape: tuple[int, ...], value: float, view: tuple[int, ...] | None = None
    ):
        super().__init__()
        self.weight = self.parameter(shape, value)
        self.view = view

    @classmethod
    def parameter(
        cls, shape: tuple[int, ...], value: float, view: tuple[int, ...] | None = None
    ) -> nn.Parameter:
        return nn.Parameter(torch.ones(*shape) * value)

    @staticmethod
    def apply(
        x: torch.Tensor, parameter: torch.Tensor, view: tuple[int, ...] | None = None
    ) -> torch.Tensor:
        return (parameter if view is None else parameter.view(view)) * x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.weight, self.view)


class LayerNorm2d(nn.LayerNorm):
    """nn.LayerNorm over the channels of [N, C, H, W] at each position (ConvNeXt)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


class OffsetRMSNorm(nn.Module):
    """RMS normalisation scaled by (offset + weight), the weight starting at
    1 - offset (Gemma's RMSNorm: offset 1, weight zeros), computed in float32 (or
    wider) and cast back to the input's dtype, as Gemma computes it."""

    def __init__(
        self,
        normalized_shape: tuple[int, ...],
        eps: float | None = None,
        offset: float = 1.0,
    ):
        super().__init__()
        self.normalized_shape, self.eps, self.offset = normalized_shape, eps, offset
        self.weight = nn.Parameter(torch.full(normalized_shape, 1.0 - offset))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        wide = torch.promote_types(x.dtype, torch.float32)
        y = x.to(wide)
        axes = tuple(range(-len(self.normalized_shape), 0))
        eps = torch.finfo(wide).eps if self.eps is None else self.eps
        y = y * torch.rsqrt(y.pow(2).mean(axes, keepdim=True) + eps)
        return (y * (self.offset + self.weight.to(wide))).type_as(x)


class ScaledEmbedding(nn.Embedding):
    """nn.Embedding whose rows are multiplied by scale (Gemma's sqrt(dim)), the
    factor rounded to float32, then to the table's dtype, as Gemma casts it."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        padding_idx: int | None = None,
        scale: float = 1.0,
    ):
        super().__init__(num_embeddings, embedding_dim, padding_idx=padding_idx)
        self.scale = scale

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        factor = torch.tensor(self.scale, dtype=torch.float32).to(self.weight.dtype)
        return super().forward(ids) * factor


class Concat(nn.Module):
    """The inputs joined along ``dim`` (batch included)."""

    def __init__(self, dim: int = 1):
        super().__init__()
        self.dim = dim

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        return torch.cat(xs, dim=self.dim)


class Add(nn.Module):
    """The sum of the inputs, broadcast."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = y + x
        return y


class Multiply(nn.Module):
    """The product of the inputs, broadcast."""

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        y = xs[0]
        for x in xs[1:]:
            y = y * x
        return y


class PositionEmbedding(nn.Module):
    """Rows 0..T-1 of a learned table for a sequence of T (row 0 everywhere: first;
    rows offset..offset+T-1 with an offset, OPT's 2). With padding_idx p, rows
    counted from the ids as RoBERTa counts them: the k-th token that is not p takes
    row p + k, a padding token row p (zero, no gradient)."""

    def __init__(
        self,
        num_embeddings: int,
        embedding_dim: int,
        first: bool = False,
        padding_idx: int | None = None,
        offset: int = 0,
    ):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(num_embeddings, embedding_dim))
        self.first = first
        self.padding_idx = padding_idx
        self.offset = offset
        nn.init.normal_(self.weight)
        if padding_idx is not None:
            with torch.no_grad():
                self.weight[padding_idx].zero_()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.padding_idx is not None:  # x holds the token ids
            mask = x.ne(self.padding_idx).long()
            rows = torch.cumsum(mask, dim=1) * mask + self.padding_idx
            return nn.functional.embedding(rows, self.weight, self.padding_idx)
        rows = (
            torch.zeros(x.shape[1], dtype=torch.long, device=x.device)
            if self.first
            else torch.arange(self.offset, self.offset + x.shape[1], device=x.device)
        )
        return self.weight[rows].expand(x.shape[0], -1, -1)


class PositionAdd(nn.Module):
    """x plus rows 0..T-1 of a learned [1, positions, D] table (torchvision's ViT)."""

    def __init__(self, positions: int, dim: int):
        super().__init__()
        self.weight = self.parameter(positions, dim)

    @classmethod
    def parameter(cls, positions: int, dim: int) -> nn.Parameter:
        return nn.Parameter(torch.empty(1, positions, dim).normal_(std=0.02))

    @staticmethod
    def apply(x: torch.Tensor, parameter: torch.Tensor) -> torch.Tensor:
        return x + parameter[:, : x.shape[1]]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.apply(x, self.weight)


class Conv1D(nn.Module):
    """A linear layer with its weight stored [in, out], as GPT-2's Conv1D stores it."""

    def __init__(self, in_features: int, out_features: int, bias: bool = True):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(in_features, out_features))
        self.bias = nn.Parameter(torch.zeros(out_features)) if bias else None
        nn.init.normal_(self.weight, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x @ self.weight
        return y if self.bias is None else y + self.bias


class Attention(nn.Module):
    """Scaled dot-product attention over heads, on q, k, v side by side or apart.

    Inputs [N, T, h*d] (q) and [N, S, kv*d] (k, v); kv < h shares each k, v head
    among h/kv query heads. rotary='half' rotates q and k as Llama does (pairs i,
    i+d/2), 'interleaved' as GPT-J (pairs 2i, 2i+1), on the first rotary_dim
    dimensions of each head, at positions 0..T-1, the frequencies scaled by
    rotary_factor as rotary_scaling says (rotary_frequencies: linear, llama3, yarn).
    A window or a soft cap (Gemma 2's) computes the scores as Gemma's eager code.
    One input holds q, k, v side by side; packing="heads" reads it grouped by k, v
    head instead, each group its h/kv queries, its key, its value (GPT-NeoX's).
    Axes between the batch and [T, D] are independent sequences (Swin's windows).
    relative_bias=(Wh, Ww) adds Swin's learned bias per head to the scores, indexed
    by each pair's offset in a Wh x Ww window, stored as torchvision stores it.
    """

    def __init__(
        self,
        heads: int,
        kv_heads: int,
        head_dim: int,
        causal: bool = False,
        scale: float | None = None,
        rotary: str = "none",
        theta: float = 10000.0,
        rotary_dim: int | None = None,
        dropout: float = 0.0,
        window: int | None = None,
        softcap: float | None = None,
        rotary_factor: float = 1.0,
        packing: str = "qkv",
        rotary_scaling: str = "linear",
        low_freq_factor: float = 1.0,
        high_freq_factor: float = 4.0,
        original_positions: int | None = None,
        beta_fast: float = 32.0,
        beta_slow: float = 1.0,
        attention_factor: float | None = None,
        truncate: bool = True,
        relative_bias: tuple[int, int] | None = None,
    ):
        super().__init__()
        self.options = dict(locals())
        del self.options["self"], self.options["__class__"]
        del self.options["relative_bias"]
        if relative_bias is not None:  # torchvision's ShiftedWindowAttention's
            # relative_position_bias_table and relative_position_index
            wh, ww = self.window_size = tuple(relative_bias)
            table = torch.zeros((2 * wh - 1) * (2 * ww - 1), heads)
            self.relative_position_bias_table = nn.Parameter(table)
            nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)
            self.register_buffer(
                "relative_position_index", Attention.relative_index(wh, ww)
            )

    def forward(self, *xs: torch.Tensor) -> torch.Tensor:
        bias = None
        if hasattr(self, "relative_position_bias_table"):
            t = self.window_size[0] * self.window_size[1]
            rows = self.relative_position_bias_table[self.relative_position_index]
            bias = rows.view(t, t, -1).permute(2, 0, 1)
        return Attention.apply(*xs, training=self.training, bias=bias, **self.options)

    @staticmethod
    def relative_index(wh: int, ww: int) -> torch.Tensor:
        """The row of the bias table for each pair (i, j) of a Wh x Ww window's
        positions (row-major), flattened: (dh + Wh - 1) * (2Ww - 1) + dw + Ww - 1
        for the offset (dh, dw) of i from j, as torchvision computes it."""
        h, w = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
        h, w = h.flatten(), w.flatten()
        dh = h[:, None] - h[None, :] + wh - 1
        dw = w[:, None] - w[None, :] + ww - 1
        return (dh * (2 * ww - 1) + dw).flatten()

    @staticmethod
    def apply(
        *xs: torch.Tensor,
        training: bool = False,
        bias: torch.Tensor | None = None,
        **options: object,
    ) -> torch.Tensor:
        """Attention of xs with the options of __init__ (generated code calls this);
        bias [heads, T, T] is added to the scores."""
        o = options
        h, kv, d = o["heads"], o["kv_heads"], o["head_dim"]
        causal, scale, dropout = o["causal"], o["scale"], o["dropout"]
        rotary, theta, rotary_dim = o["rotary"], o["theta"], o["rotary_dim"]
        window, softcap = o.get("window"), o.get("softcap")
        if len(xs) == 1 and o.get("packing", "qkv") == "heads":
            groups = xs[0].unflatten(-1, (kv, h // kv + 2, d))
            xs = (
                groups[..., :-2, :].flatten(-3),
                groups[..., -2, :].flatten(-2),
                groups[..., -1, :].flatten(-2),
            )
        elif len(xs) == 1:
            xs = xs[0].split((h * d, kv * d, kv * d), dim=-1)
        q, k, v = xs
        q = q.unflatten(-1, (h, d)).transpose(-3, -2)
        k = k.unflatten(-1, (kv, d)).transpose(-3, -2)
        v = v.unflatten(-1, (kv, d)).transpose(-3, -2)
        if rotary != "none":
            r = d if rotary_dim is None else rotary_dim
            inv, gain = rotary_frequencies(
                torch, r, theta, o.get("rotary_factor", 1.0), **Attention.scaling(o)
            )
            q, k = (
                Attention.rotate(q, rotary, inv, gain),
                Attention.rotate(k, rotary, inv, gain),
            )
        if kv != h:
            k, v = (
                k.repeat_interleave(h // kv, dim=-3),
                v.repeat_interleave(h // kv, dim=-3),
            )
        p = dropout if training else 0.0
        lead = q.shape[:-3]  # the batch and the sequences beside it: one axis (views)
        q, k, v = q.flatten(0, -4), k.flatten(0, -4), v.flatten(0, -4)
        if window is None and softcap is None and bias is None:
            y = nn.functional.scaled_dot_product_attention(
                q, k, v, dropout_p=p, is_causal=causal, scale=scale
            )
        else:
            y = Attention.eager(q, k, v, causal, scale, p, window, softcap, bias)
        return y.unflatten(0, lead).transpose(-3, -2).flatten(-2)

    @staticmethod
    def eager(
        q: torch.Tensor,
        k: torch.Tensor,
        v: torch.Tensor,
        causal: bool,
        scale: float | None,
        dropout: float,
        window: int | None,
        softcap: float | None,
        bias: torch.Tensor | None = None,
    ) -> torch.Tensor:
        """softmax(mask + cap(q.k^T * scale)).v as Gemma 2's eager attention: the
        cap softcap * tanh(s / softcap); the mask hides later keys (causal) and those
        window or more positions back. A bias (Swin's) is added before the mask."""
        s = q @ k.transpose(-2, -1) * (q.shape[-1] ** -0.5 if scale is None else scale)
        if softcap is not None:
            s = torch.tanh(s / softcap) * softcap
        if bias is not None:
            s = s + bias
        i = torch.arange(s.shape[-2], device=s.device)[:, None]
        j = torch.arange(s.shape[-1], device=s.device)[None, :]
        hidden = (j > i) if causal else torch.zeros_like(i == j)
        if window is not None:
            hidden = hidden | (j <= i - window)
        s = s.masked_fill(hidden, float("-inf"))
        # float32 at least, as Gemma's eager code; float64 stays float64
        wide = torch.promote_types(s.dtype, torch.float32)
        weights = torch.softmax(s, dim=-1, dtype=wide).to(q.dtype)
        return nn.functional.dropout(weights, dropout) @ v

    @staticmethod
    def scaling(options: dict) -> dict:
        """The rope scaling settings among options (rotary_scaling and the rest)."""
        keys = (
            "rotary_scaling",
            "low_freq_factor",
            "high_freq_factor",
            "original_positions",
            "beta_fast",
            "beta_slow",
            "attention_factor",
            "truncate",
        )
        return {key: options[key] for key in keys if key in options}

    @staticmethod
    def rotate(
        x: torch.Tensor, rotary: str, inv: torch.Tensor, gain: float = 1.0
    ) -> torch.Tensor:
        """Rotary position embedding on the first 2 * len(inv) dimensions of x
        [N, ..., H, T, d] at the inverse frequencies inv, cos and sin times gain."""
        r = 2 * inv.shape[0]
        angles = (
            torch.arange(x.shape[-2], dtype=torch.int64).float()[:, None] * inv[None, :]
        )
        cos = (angles.cos() * gain).to(x.dtype)
        sin = (angles.sin() * gain).to(x.dtype)
        part, rest = x[..., :r], x[..., r:]
        if rotary == "half":
            a, b = part[..., : r // 2], part[..., r // 2 :]
            turned = torch.cat((a * cos - b * sin, b * cos + a * sin), dim=-1)
        else:
            a, b = part[..., 0::2], part[..., 1::2]
            turned = torch.stack(
                (a * cos - b * sin, b * cos + a * sin), dim=-1
            ).flatten(-2)
        return torch.cat((turned, rest), dim=-1)


class HeadNorm(nn.Module):
    """A norm over each head's d features of x [..., heads, d] with a weight (and
    bias) of each head's own: one [heads, d] weight (Cohere's q_norm), or with
    modules a norm per head, norms.0, norms.1, ... (StableLM's q_layernorm).
    kind is "layernorm" or "rmsnorm"; each head is normalised as its own norm
    module would normalise it."""

    def __init__(
        self,
        heads: int,
        head_dim: int,
        kind: str = "layernorm",
        eps: float = 1e-5,
        bias: bool = False,
        modules: bool = False,
    ):
        super().__init__()
        self.kind, self.eps = kind, eps
        if modules:
            self.norms = nn.ModuleList(
                nn.LayerNorm(head_dim, eps, bias=bias)
                if kind == "layernorm"
                else nn.RMSNorm(head_dim, eps)
                for _ in range(heads)
            )
        else:
            self.weight = nn.Parameter(torch.ones(heads, head_dim))
            self.bias = nn.Parameter(torch.zeros(heads, head_dim)) if bias else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if hasattr(self, "norms"):
            pairs = [(n.weight, getattr(n, "bias", None)) for n in self.norms]
        elif self.bias is None:
            pairs = [(w, None) for w in self.weight]
        else:
            pairs = list(zip(self.weight, self.bias, strict=True))
        shape, heads = (x.shape[-1],), []
        for i, (w, b) in enumerate(pairs):
            if self.kind == "layernorm":
                y = nn.functional.layer_norm(x[..., i, :], shape, w, b, self.eps)
            else:
                y = nn.functional.rms_norm(x[..., i, :], shape, w, self.eps)
            heads.append(y)
        return torch.stack(heads, dim=-2)


class MultiheadAttention(nn.Module):
    """Self-attention with q_proj, k_proj, v_proj and o_proj, named as Llama's are.

    qk_norm normalises q and k before the attention: "head" over each head's
    dimensions (Qwen3's q_norm, k_norm), "all" over all heads' features (OLMo 2's),
    "per_head" over each head's with a weight of each head's own (Cohere's q_norm,
    or with qk_norm_layout "stablelm" StableLM's q_layernorm). qk_norm_kind is
    "rmsnorm" or "layernorm" (a bias with qk_norm_bias).
    """

    def __init__(
        self,
        embed_dim: int,
        heads: int,
        kv_heads: int,
        head_dim: int,
        out_features: int,
        bias: bool = True,
        out_bias: bool = True,
        qk_norm: str = "none",
        qk_norm_eps: float = 1e-6,
        qk_norm_offset: float = 0.0,
        qk_norm_kind: str = "rmsnorm",
        qk_norm_bias: bool = False,
        qk_norm_layout: str = "stacked",
        **options: object,
    ):
        super().__init__()
        inner, kv = heads * head_dim, kv_heads * head_dim
        self.q_proj = nn.Linear(embed_dim, inner, bias=bias)
        self.k_proj = nn.Linear(embed_dim, kv, bias=bias)
        self.v_proj = nn.Linear(embed_dim, kv, bias=bias)
        self.o_proj = nn.Linear(inner, out_features, bias=out_bias)
        self.head_dim, self.per_head = head_dim, qk_norm in ("head", "per_head")
        self.norm_names = ("q_norm", "k_norm")
        if qk_norm == "per_head":
            modules = qk_norm_layout == "stablelm"
            if modules:
                self.norm_names = ("q_layernorm", "k_layernorm")
            q_name, k_name = self.norm_names
            settings = (head_dim, qk_norm_kind, qk_norm_eps, qk_norm_bias, modules)
            self.add_module(q_name, HeadNorm(heads, *settings))
            self.add_module(k_name, HeadNorm(kv_heads, *settings))
        elif qk_norm != "none":
            q_size, k_size = (head_dim, head_dim) if self.per_head else (inner, kv)
            for name, size in (("q_norm", q_size), ("k_norm", k_size)):
                if qk_norm_kind == "layernorm":
                    norm = nn.LayerNorm(size, qk_norm_eps, bias=qk_norm_bias)
                else:
                    norm = nn.RMSNorm(size, eps=qk_norm_eps)
                    # Gemma 3's: offset + weight
                    nn.init.constant_(norm.weight, 1.0 - qk_norm_offset)
                self.add_module(name, norm)
        self.offset = qk_norm_offset
        self.options = dict(
            heads=heads, kv_heads=kv_heads, head_dim=head_dim, **options
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        q, k, v = self.q_proj(x), self.k_proj(x), self.v_proj(x)
        if hasattr(self, self.norm_names[0]):
            q_norm, k_norm = (getattr(self, name) for name in self.norm_names)
            q, k = self.normed(q_norm, q), self.normed(k_norm, k)
        y = Attention.apply(q, k, v, training=self.training, **self.options)
        return self.o_proj(y)

    def normed(self, norm: nn.Module, x: torch.Tensor) -> torch.Tensor:
        """norm(x) over all features, or over each head's (x as [N, T, heads, d]);
        with an offset, Gemma 3's x_hat * (offset + weight) in float32."""
        if self.per_head:
            x = x.unflatten(-1, (-1, self.head_dim))
        if self.offset:
            wide = torch.promote_types(x.dtype, torch.float32)
            y = x.to(wide)
            y = y * torch.rsqrt(y.pow(2).mean(-1, keepdim=True) + norm.eps)
            y = (y * (self.offset + norm.weight.to(wide))).type_as(x)
        else:
            y = norm(x)
        return y.flatten(-2) if self.per_head else y


class LatentAttention(nn.Module):
    """DeepSeek-V2/V3's multi-head latent attention, named as transformers names
    it: q from q_proj, or q_a_proj, q_a_layernorm and q_b_proj (q_rank); k and v
    from the latent of kv_a_proj_with_mqa, normalised by kv_a_layernorm and
    expanded by kv_b_proj, each head's key ending in the one rotated key all
    heads share; o_proj on the heads' values side by side."""

    def __init__(
        self,
        embed_dim: int,
        heads: int,
        kv_rank: int,
        nope_dim: int,
        rope_dim: int,
        v_dim: int,
        out_features: int,
        q_rank: int | None = None,
        bias: bool = False,
        eps: float = 1e-6,
        **options: object,
    ):
        super().__init__()
        qk = heads * (nope_dim + rope_dim)
        if q_rank is None:
            self.q_proj = nn.Linear(embed_dim, qk, bias=False)
        else:
            self.q_a_proj = nn.Linear(embed_dim, q_rank, bias=bias)
            self.q_a_layernorm = nn.RMSNorm(q_rank, eps=eps)
            self.q_b_proj = nn.Linear(q_rank, qk, bias=False)
        latent = kv_rank + rope_dim
        self.kv_a_proj_with_mqa = nn.Linear(embed_dim, latent, bias=bias)
        self.kv_a_layernorm = nn.RMSNorm(kv_rank, eps=eps)
        self.kv_b_proj = nn.Linear(kv_rank, heads * (nope_dim + v_dim), bias=False)
        self.o_proj = nn.Linear(heads * v_dim, out_features, bias=bias)
        self.sizes = (heads, kv_rank, nope_dim, rope_dim, v_dim)
        self.options = options

    def query(self, x: torch.Tensor) -> torch.Tensor:
        """Every head's query side by side: q_proj, or the low-rank path."""
        if hasattr(self, "q_proj"):
            return self.q_proj(x)
        return self.q_b_proj(self.q_a_layernorm(self.q_a_proj(x)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h, kv_rank, n, r, v_dim = self.sizes
        o = self.options
        q = self.query(x).unflatten(-1, (h, n + r)).transpose(1, 2)
        latent, k_rot = self.kv_a_proj_with_mqa(x).split((kv_rank, r), dim=-1)
        kv = self.kv_b_proj(self.kv_a_layernorm(latent))
        k, v = kv.unflatten(-1, (h, n + v_dim)).transpose(1, 2).split((n, v_dim), -1)
        rotary, theta = o.get("rotary", "interleaved"), o.get("theta", 10000.0)
        inv, gain = rotary_frequencies(
            torch, r, theta, o.get("rotary_factor", 1.0), **Attention.scaling(o)
        )
        q_rot = Attention.rotate(q[..., n:], rotary, inv, gain)
        k_rot = Attention.rotate(k_rot.unsqueeze(1), rotary, inv, gain)
        q = torch.cat((q[..., :n], q_rot), dim=-1)
        k = torch.cat((k, k_rot.expand(-1, h, -1, -1)), dim=-1)
        y = nn.functional.scaled_dot_product_attention(
            q,
            k,
            v,
            dropout_p=o.get("dropout", 0.0) if self.training else 0.0,
            is_causal=o.get("causal", False),
            scale=o.get("scale"),
        )
        return self.o_proj(y.transpose(1, 2).flatten(2))


class Experts(nn.Module):
    """E gated MLPs, fused as transformers 5 stores Mixtral's: gate_up_proj
    [E, 2F, D] (the gate the first F rows) and down_proj [E, D, F]."""

    def __init__(self, experts: int, dim: int, hidden: int):
        super().__init__()
        self.gate_up_proj = nn.Parameter(torch.empty(experts, 2 * hidden, dim))
        self.down_proj = nn.Parameter(torch.empty(experts, dim, hidden))
        for weight, fan_in in ((self.gate_up_proj, dim), (self.down_proj, hidden)):
            nn.init.uniform_(weight, -(fan_in**-0.5), fan_in**-0.5)  # nn.Linear's


class SharedExpert(nn.Module):
    """down_proj(act(gate_proj(x)) * up_proj(x)), no biases: Qwen2-MoE's
    shared_expert, which every token runs."""

    def __init__(self, dim: int, hidden: int, activation: str = "silu"):
        super().__init__()
        self.gate_proj = nn.Linear(dim, hidden, bias=False)
        self.up_proj = nn.Linear(dim, hidden, bias=False)
        self.down_proj = nn.Linear(hidden, dim, bias=False)
        self.act = GatedUnit(-1, activation, gate_first=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = torch.cat((self.gate_proj(x), self.up_proj(x)), dim=-1)
        return self.down_proj(self.act(h))


class MoE(nn.Module):
    """Mixtral's sparse mixture of experts: the router gate scores E experts,
    softmax, the top_k kept (rescaled to sum 1 with normalize), and each token
    gets the weighted sum of its experts' down(act(gate) * up). Each expert
    runs only on the tokens routed to it, as transformers' loop does. shared
    adds Qwen2-MoE's shared expert, scaled by sigmoid(shared_expert_gate(x)),
    or with shared_gate False DeepSeek's shared_experts, added as they are.
    router names the router (GraniteMoE's is "router"). DeepSeek's routing:
    sigmoid scores, a correction bias on the choice alone, the choice among the
    best top_groups of groups, the weights times scaling."""

    def __init__(
        self,
        dim: int,
        experts: int,
        top_k: int,
        hidden: int,
        activation: str = "silu",
        normalize: bool = True,
        shared: int | None = None,
        **routing: object,
    ):
        super().__init__()
        self.router_name = str(routing.get("router", "gate"))
        router = nn.Linear(dim, experts, bias=False)
        if routing.get("correction_bias"):
            bias = torch.zeros(experts)
            router.register_buffer("e_score_correction_bias", bias)
        self.add_module(self.router_name, router)
        self.experts = Experts(experts, dim, hidden)
        if shared is not None and not routing.get("shared_gate", True):
            self.shared_experts = SharedExpert(dim, shared, activation)
        elif shared is not None:
            self.shared_expert = SharedExpert(dim, shared, activation)
            self.shared_expert_gate = nn.Linear(dim, 1, bias=False)
        self.top_k, self.normalize, self.routing = top_k, normalize, routing
        self.act = GatedUnit(-1, activation, gate_first=True)

    def route(self, flat: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """(weights, chosen experts) per token, [tokens, top_k] each."""
        r = self.routing
        router = getattr(self, self.router_name)
        logits = router(flat)
        wide = logits.float() if logits.element_size() < 4 else logits
        sigmoid = r.get("scoring") == "sigmoid"
        scores = wide.sigmoid() if sigmoid else wide.softmax(-1)
        choice = scores
        if hasattr(router, "e_score_correction_bias"):
            choice = scores + router.e_score_correction_bias
        if r.get("groups") is not None:
            g = r["groups"]
            grouped = choice.unflatten(-1, (g, -1))
            if r.get("group_score", "top2") == "top2":
                best = grouped.topk(2, dim=-1).values.sum(-1)
            else:
                best = grouped.amax(-1)
            kept = best.topk(r.get("top_groups") or g, dim=-1).indices
            mask = torch.zeros_like(best, dtype=torch.bool).scatter(1, kept, True)
            mask = mask.unsqueeze(-1).expand_as(grouped).flatten(-2)
            choice = choice.masked_fill(~mask, float("-inf"))
        if choice is scores:
            weights, chosen = scores.topk(self.top_k, dim=-1)
        else:
            chosen = choice.topk(self.top_k, dim=-1).indices
            weights = scores.gather(-1, chosen)
        if self.normalize:
            tiny = 1e-20 if sigmoid else 0.0
            weights = weights / (weights.sum(-1, keepdim=True) + tiny)
        return weights * r.get("scaling", 1.0), chosen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = x.reshape(-1, x.shape[-1])
        weights, chosen = self.route(flat)
        y = torch.zeros_like(flat)
        for e in range(self.experts.gate_up_proj.shape[0]):
            token, slot = torch.where(chosen == e)
            h = nn.functional.linear(flat[token], self.experts.gate_up_proj[e])
            h = nn.functional.linear(self.act(h), self.experts.down_proj[e])
            y.index_add_(0, token, (h * weights[token, slot, None]).to(y.dtype))
        if hasattr(self, "shared_expert"):
            gate = torch.sigmoid(self.shared_expert_gate(flat))
            y = y + gate * self.shared_expert(flat)
        if hasattr(self, "shared_experts"):
            y = y + self.shared_experts(flat)
        return y.reshape(x.shape)


class RNN(nn.RNN):
    """nn.RNN on [N, T, F] (batch first) giving every step's output, the last
    step's (output[:, -1]) or the last layer's final hidden state (h_n, the
    directions side by side): output "sequence", "last" or "hidden"."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        output: str = "sequence",
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            nonlinearity=nonlinearity,
            bias=bias,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
        )
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, h = super().forward(x)
        return RNN.pick(y, h, self.output, self.bidirectional)

    @staticmethod
    def pick(y: torch.Tensor, h: torch.Tensor, output: str, both: bool):
        """The chosen output of torch's (output, h_n); h_n is [layers*D, N, h]."""
        if output == "sequence":
            return y
        if output == "last":
            return y[:, -1]
        return torch.cat(tuple(h[-2:]) if both else (h[-1],), dim=-1)


class GRU(nn.GRU):
    """nn.GRU on [N, T, F] (batch first), giving what RNN.pick gives."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        output: str = "sequence",
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
        )
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, h = super().forward(x)
        return RNN.pick(y, h, self.output, self.bidirectional)


class LSTM(nn.LSTM):
    """nn.LSTM on [N, T, F] (batch first), giving what RNN.pick gives (h_n is
    proj_size wide with a projection)."""

    def __init__(
        self,
        input_size: int,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        dropout: float = 0.0,
        bidirectional: bool = False,
        proj_size: int = 0,
        output: str = "sequence",
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias=bias,
            batch_first=True,
            dropout=dropout,
            bidirectional=bidirectional,
            proj_size=proj_size,
        )
        self.output = output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y, (h, _) = super().forward(x)
        return RNN.pick(y, h, self.output, self.bidirectional)


class SelfAttention(nn.MultiheadAttention):
    """nn.MultiheadAttention on one sequence, batch first (q, k, v in in_proj); the
    sequences of axes between the batch and [T, D] are batch rows to it."""

    def __init__(
        self,
        embed_dim: int,
        num_heads: int,
        bias: bool = True,
        dropout: float = 0.0,
        causal: bool = False,
    ):
        super().__init__(embed_dim, num_heads, dropout, bias, batch_first=True)
        self.causal = causal

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # type: ignore[override]
        t = x.shape[-2]
        mask = None
        if self.causal:
            mask = torch.ones(t, t, dtype=torch.bool, device=x.device).triu(1)
        rows = x.flatten(0, -3)  # each sequence of the axes before [T, D] a batch row
        y = super().forward(rows, rows, rows, need_weights=False, attn_mask=mask)[0]
        return y.view(*x.shape[:-1], y.shape[-1])


#: the layer modules generated source copies into a file that uses them (the merges have MERGE_CODE;
#: Attention's is its own apply, so it is copied too)
def share_kept(model: nn.Module) -> None:
    """Give every module of model one store for the outputs that a later
    branch reads (a skip connection: its from:)."""
    kept: dict = {}
    for module in model.modules():
        module.kept = kept


HELPERS = (share_kept, Sign, SoftCap, Scale, GlobalAvgPool2d, Reshape, Permute, Select, GatedUnit, Mean,
           StochasticDepth, ClassToken, LayerScale, LayerNorm2d, OffsetRMSNorm, ScaledEmbedding, PositionEmbedding,
           PositionAdd, Conv1D, Attention, HeadNorm, MultiheadAttention, LatentAttention, SelfAttention,
           Experts, SharedExpert, MoE, RNN, GRU, LSTM)
#: helpers whose code calls another helper, copied with it (before it)
REQUIRES = {Attention: (rotary_frequencies,), MultiheadAttention: (rotary_frequencies, Attention, HeadNorm),
            LatentAttention: (rotary_frequencies, Attention), SharedExpert: (GatedUnit,),
            MoE: (GatedUnit, Experts, SharedExpert),
            GRU: (RNN,), LSTM: (RNN,)}


class Network(nn.Module):
    """A container of the module plan: children under their keys (dotted keys in holder modules), and a
    program run by :meth:`forward`.

    The program is plain tuples: ``("call", key)``, ``("seq", steps)``, ``("sum", body, shortcut or
    None, identity, then)``, ``("join", op, branches)`` (or ``("join", op, branches, sources)``, where a
    branch with a source slot runs on the output kept there) and ``("keep", step, slot)``, which runs
    ``step`` and keeps its output under ``slot`` in ``_kept``, a store every container of one module
    shares; ``op`` indexes the parameter-free merge modules in ``_ops``.
    """

    def __init__(self, children: list[tuple[str, nn.Module | nn.Parameter]], program: tuple,
                 ops: list[nn.Module] = (), bare: dict[str, nn.Module] | None = None):
        super().__init__()
        for key, child in children:
            holder, name = self._holder(key)
            if isinstance(child, nn.Parameter):
                holder.register_parameter(name, child)
            else:
                holder.add_module(name, child)
        self._program = program
        self._ops = list(ops)
        self._kept: dict[str, torch.Tensor] = {}
        #: key → what a call runs: the child module, or a bare layer applying a parameter registered here
        self._calls: dict[str, Callable] = {key: self.get_submodule(key) for key, child in children
                                            if not isinstance(child, nn.Parameter)}
        self._calls.update(bare or {})

    def _holder(self, key: str) -> tuple[nn.Module, str]:
        """The module that holds the last part of a dotted key, made on the way (a plain ``nn.Module``)."""
        *parts, name = key.split(".")
        holder: nn.Module = self
        for part in parts:
            if part not in holder._modules:
                holder.add_module(part, nn.Module())
            holder = holder._modules[part]
        return holder, name

    def train(self, mode: bool = True) -> Network:
        """As nn.Module's, and the merge ops too: they are not children (they hold no state, and a child
        would add a name to the module tree the real model's lacks), but attention's dropout must obey
        ``eval()`` as the generated source's ``training=self.training`` does."""
        super().train(mode)
        for op in self._ops:
            op.train(mode)
        return self

    def __getitem__(self, key: int | str) -> nn.Module:
        """The child registered as ``key`` (``module[0]``, ``module["layer4"]``), as nn.Sequential indexes."""
        return self.get_submodule(str(key))

    def with_program(self, program: tuple, calls: dict[str, Callable] | None = None) -> Network:
        """A twin holding the same children and parameters (shared, not copied) that runs ``program``:
        how training drops a final softmax the loss applies itself."""
        twin = Network([], program, self._ops)
        twin._kept = self._kept
        for name, child in self._modules.items():
            twin.add_module(name, child)
        for name, parameter in self._parameters.items():
            twin.register_parameter(name, parameter)
        twin._calls = {**self._calls, **(calls or {})}
        return twin

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._run(self._program, x)

    def _run(self, step: tuple, x: torch.Tensor) -> torch.Tensor:
        kind = step[0]
        if kind == "call":
            return self._calls[step[1]](x)
        if kind == "seq":
            for inner in step[1]:
                x = self._run(inner, x)
            return x
        if kind == "sum":
            _, body, shortcut, identity, then = step
            y = self._run(body, x)
            if shortcut is not None:
                y = y + self._run(shortcut, x)
            elif identity:
                y = y + x
            return self._run(then, y)
        if kind == "keep":
            y = self._kept[step[2]] = self._run(step[1], x)
            return y
        op, branches, sources = step[1], step[2], step[3] if len(step) > 3 else ()
        return self._ops[op](*(self._run(branch, self._kept[source] if source else x)
                               for branch, source in zip(branches, sources or (None,) * len(branches))))
