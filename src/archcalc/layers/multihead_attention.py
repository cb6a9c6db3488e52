"""Multi-head self-attention with its projections: q, k, v and output linear layers around attention."""

from __future__ import annotations

from archcalc.layers.args import Bool, Choice, Float, Int
from archcalc.layers.attention import Attention, divide
from archcalc.layers.base import MIX, AxisMap, Count, Derivation, Shape, Work, derive, layer, numel, shape_text
from archcalc.layers.traits import Trait

#: what qk_norm normalises together, and with which γ (see the class)
QK_NORMS = ("none", "head", "all", "per_head")


@layer("multihead_attention")
class MultiheadAttention(Attention):
    """Self-attention with its four projections in one layer, named as Llama's ``self_attn`` names them:
    ``q_proj`` (D → heads·head_dim), ``k_proj`` and ``v_proj`` (D → kv_heads·head_dim) and ``o_proj``
    (heads·head_dim → out), around the ``attention`` kind (``softmax(q·kᵀ/√d + mask)·v`` per head).

    ``[T, D]`` → ``[T, out]`` (``out`` defaults to D). ``head_dim`` defaults to D / heads, which must
    be whole; ``kv_heads`` below ``heads`` is grouped-query attention (1: multi-query). ``bias`` is
    the q, k, v projections' (Qwen2: true; Llama: false), ``out_bias`` the output projection's.
    Parameters: D·h·d + 2·D·h_kv·d + h·d·out, plus the biases. Named ``self_attn``, the layer's
    ``state_dict`` keys are Hugging Face Llama's and Mistral's. For cross-attention, or GPT-2's and
    BERT's names, write the projections as ``linear`` layers around ``attention``.

    ``qk_norm`` normalises q and k after their projections, before rotary, as Qwen3 and OLMo 2 do:
    ``head`` over each head's ``head_dim`` dimensions, one γ of head_dim shared by the heads
    (Qwen3's ``q_norm`` and ``k_norm``: 2·d parameters), ``all`` over all heads' features together
    (OLMo 2's: (h + h_kv)·d parameters), ``per_head`` over each head's dimensions with a γ of each
    head's own, [h, d] for q and [h_kv, d] for k ((h + h_kv)·d parameters: Command R+'s and StableLM 2
    12B's). ``qk_norm_kind`` is ``rmsnorm`` (those above but Cohere's and StableLM's) or ``layernorm``
    (the mean subtracted too, and a shift β of γ's shape unless ``qk_norm_bias: false``: Cohere's and
    StableLM's have none); ``qk_norm_eps`` is their eps (Hugging Face's ``rms_norm_eps`` or
    ``layer_norm_eps``), ``qk_norm_offset`` an RMSNorm's offset as ``rmsnorm``'s (Gemma 3's q_norm and
    k_norm scale by 1 + γ: 1). The norms are ``q_norm`` and ``k_norm`` (``weight``, then ``bias``);
    ``qk_norm_layout: stablelm`` stores per-head norms as StableLM's ``StableLmLayerNormPerHead`` does, a
    module per head: ``q_layernorm.norms.0.weight`` … and ``k_layernorm.norms.0.weight`` …, [d] each.

    ``layout: torch`` stores the projections as PyTorch's ``nn.MultiheadAttention`` does (torchvision's
    ViT ``self_attention``): q, k and v packed in one ``in_proj_weight`` [3D, D] and ``in_proj_bias``
    [3D], then ``out_proj`` (D → D); the same count, and no ``kv_heads``, ``head_dim``, ``out``,
    ``rotary``, ``qk_norm`` or ``scale`` other than torch's (D/heads per head, 1/√head_dim).

    Example: ``- multihead_attention: {heads: 32, kv_heads: 8, bias: false, causal: true, rotary: half}``
    """

    TRAITS = Trait.ATTENDS | Trait.WEIGHTED
    ARITY = (1, 1)

    bias = Bool(True, doc="learned biases on the q, k and v projections")
    out_bias = Bool(None, doc="a learned bias on the output projection [default: bias]")
    out = Int(None, doc="output features [default: the input's D]")
    layout = Choice(("llama", "torch"), "llama", doc="the parameters: Llama's q_proj, k_proj, v_proj and o_proj, or "
                                                     "nn.MultiheadAttention's packed in_proj_weight and out_proj")
    qk_norm = Choice(QK_NORMS, "none", doc="normalise q and k before rotary: over each head with one γ the heads "
                                           "share (Qwen3), over all heads' features (OLMo 2), or over each head "
                                           "with a γ of each head's own (Command R+, StableLM 2 12B)")
    qk_norm_kind = Choice(("rmsnorm", "layernorm"), "rmsnorm", doc="the q and k norms: RMSNorm (Qwen3, OLMo 2) or "
                                                                   "LayerNorm (Command R+, StableLM 2 12B)")
    qk_norm_bias = Bool(True, doc="with qk_norm_kind: layernorm, learn the shift β too (Command R+'s and "
                                  "StableLM's have none)")
    qk_norm_eps = Float(1e-6, doc="the q and k norms' eps (with qk_norm)", lo=0, lo_open=True)
    qk_norm_offset = Float(0.0, doc="the q and k RMSNorms scale by offset + γ, γ from 1 − offset (Gemma 3: 1)")
    qk_norm_layout = Choice(("stacked", "stablelm"), "stacked",
                            doc="with qk_norm: per_head, γ as one [heads, head_dim] q_norm.weight (Cohere's), or "
                                "a norm module per head, q_layernorm.norms.0.weight … (StableLM's)")
    #: q, k and v come from projections of their own, never from one fused input (see below)
    packing = "qkv"

    # -- the projections ----------------------------------------------------------------------------

    def dims(self, x: Shape) -> tuple[object, object]:
        """(head_dim, output features) for input ``x``; a located error when D does not split into heads."""
        if len(x) != 2:
            raise self.error(f"needs a [T, D] sequence, got {shape_text(x)}", code="bad-input-shape",
                             hint="attention runs on a sequence of vectors; reshape or flatten first")
        hd = self.head_dim if self.head_dim is not None else divide(
            self, x[1], self.heads, f"dim {x[1]} is not divisible by heads {self.heads}",
            f"use a number of heads that divides {x[1]}" + ("" if self.layout == "torch" else ", or give head_dim"),
            arg="heads")
        return hd, (x[1] if self.out is None else self.out)

    def projected(self, x: Shape) -> list[Shape]:
        """The shapes q, k and v have after their projections."""
        hd, _ = self.dims(x)
        return [(x[0], self.heads * hd), (x[0], self.groups * hd), (x[0], self.groups * hd)]

    def check_layout(self) -> None:
        """``layout: torch`` is ``nn.MultiheadAttention``: a located error for what it cannot hold."""
        if self.layout != "torch":
            return
        what = "nn.MultiheadAttention"
        problems = {
            "kv_heads": (self.kv_heads is not None and self.kv_heads != self.heads,
                         f"{what} has as many k and v heads as q heads, not kv_heads {self.kv_heads}"),
            "head_dim": (self.head_dim is not None, f"{what} has D/heads dimensions per head: no head_dim of its own"),
            "out": (self.out is not None, f"{what}'s output is as wide as its input: no out of its own"),
            "out_bias": (self.out_bias is not None and self.out_bias != self.bias,
                         f"{what} has one bias switch for all four projections: out_bias differs from bias"),
            "rotary": (self.rotary != "none", f"{what} has no rotary position embedding"),
            "qk_norm": (self.qk_norm != "none", f"{what} has no q and k norms"),
            "window": (self.window is not None, f"{what} attends to every key: no window"),
            "softcap": (self.softcap is not None, f"{what} has no soft cap on the scores"),
            "scale": (self.scale is not None, f"{what} scales q·kᵀ by 1/√head_dim: no scale of its own"),
        }
        for arg, (bad, message) in problems.items():
            if bad:
                raise self.error(f"layout: torch: {message}", arg=arg,
                                 hint=f"remove {arg}, or use layout: llama (q_proj, k_proj, v_proj, o_proj apart)")

    def output_shape(self, x: Shape) -> Shape:
        self.check_layout()
        if self.init is not None:  # init: names one weight and one bias; the backends have four projections
            raise self.error("init: sets a layer's weight and bias, but multihead_attention holds four projections "
                             "(q, k, v and out) instead", arg="init",
                             hint="remove init: (the projections start as torch's: U(±1/√fan_in) for layout llama, "
                             "xavier_uniform in_proj for layout torch)")
        self.check_qk_norm()
        self.merge_shape(self.projected(x))  # the attention's own checks (kv_heads, rotary, causal)
        return (x[0], self.dims(x)[1])

    def check_qk_norm(self) -> None:
        """The q and k norms' settings: each only where it means something, a located error otherwise."""
        for arg in ("qk_norm_kind", "qk_norm_bias", "qk_norm_eps", "qk_norm_offset", "qk_norm_layout"):
            if self.qk_norm == "none" and arg in self.arg_locs:
                raise self.error(f"{arg} is given but qk_norm is none", arg=arg, code="bad-argument",
                                 hint=f"add qk_norm: head (or all, or per_head), or drop {arg}")
        if self.qk_norm_kind == "rmsnorm" and "qk_norm_bias" in self.arg_locs:
            raise self.error("qk_norm_bias is given but qk_norm_kind is rmsnorm, which has no shift β",
                             arg="qk_norm_bias", code="bad-argument",
                             hint="add qk_norm_kind: layernorm, or drop qk_norm_bias")
        if self.qk_norm_kind == "layernorm" and "qk_norm_offset" in self.arg_locs:
            raise self.error("qk_norm_offset is an RMSNorm's (Gemma's offset + γ), but qk_norm_kind is layernorm",
                             arg="qk_norm_offset", code="bad-argument",
                             hint="drop qk_norm_offset, or use qk_norm_kind: rmsnorm")
        if self.qk_norm == "per_head" and "qk_norm_offset" in self.arg_locs:
            raise self.error("qk_norm_offset scales by offset + γ with one γ the heads share (Gemma 3's), not "
                             "qk_norm: per_head's γ of each head's own", arg="qk_norm_offset", code="bad-argument",
                             hint="use qk_norm: head with qk_norm_offset, or drop qk_norm_offset")
        if self.qk_norm != "per_head" and "qk_norm_layout" in self.arg_locs:
            raise self.error(f"qk_norm_layout stores a γ of each head's own, but qk_norm is {self.qk_norm}",
                             arg="qk_norm_layout", code="bad-argument",
                             hint="use qk_norm: per_head, or drop qk_norm_layout")

    def head_size(self, xs: list[Shape]) -> object:
        return self.dims(xs[0])[0]

    def kv_cache(self, xs: list[Shape]) -> object:
        return super().kv_cache(self.projected(xs[0]))

    def kv_per_position(self, xs: list[Shape]) -> object:
        return super().kv_per_position(self.projected(xs[0]))

    def weights(self, x: Shape) -> tuple[object, object]:
        """(weights, biases) of the four projections."""
        hd, out = self.dims(x)
        inner, kv = self.heads * hd, self.groups * hd
        weights = x[1] * inner + 2 * x[1] * kv + inner * out
        biases = (inner + 2 * kv if self.bias else 0) + (out if self.out_biased else 0)
        return weights, biases

    @property
    def qk_norm_biased(self) -> bool:
        """Whether the q and k norms have a shift β (LayerNorms with qk_norm_bias)."""
        return self.qk_norm != "none" and self.qk_norm_kind == "layernorm" and bool(self.qk_norm_bias)

    def norm_widths(self, x: Shape) -> list[object]:
        """What q_norm and k_norm each normalise together (none without qk_norm): a head's d features, or
        all heads' features with ``all``."""
        if self.qk_norm == "none":
            return []
        hd, _ = self.dims(x)
        return [hd, hd] if self.qk_norm != "all" else [self.heads * hd, self.groups * hd]

    def norm_shapes(self, x: Shape) -> list[Shape]:
        """The q and k norms' parameters, in torch's registration order: q's γ (and β), then k's; with
        ``per_head`` [heads, d] and [kv_heads, d], or (``qk_norm_layout: stablelm``) a [d] γ (and β) per head."""
        if self.qk_norm == "none":
            return []
        hd, _ = self.dims(x)
        per = 2 if self.qk_norm_biased else 1
        if self.qk_norm != "per_head":
            return [(width,) for width in self.norm_widths(x) for _ in range(per)]
        if self.qk_norm_layout == "stablelm":
            return [(hd,) for n in (self.heads, self.groups) for _ in range(n * per)]
        return [(n, hd) for n in (self.heads, self.groups) for _ in range(per)]

    @property
    def out_biased(self) -> bool:
        return self.bias if self.out_bias is None else self.out_bias

    def params(self, x: Shape) -> Count:
        return Count(sum(self.weights(x)) + sum(numel(shape) for shape in self.norm_shapes(x)))

    def axes(self, x: Shape) -> AxisMap:
        return (((0, MIX),), ((1, MIX),))

    def work(self, x: Shape, y: Shape) -> Work:
        """The four projections (a dot product of D or h·d per output) and the attention itself."""
        weights, biases = self.weights(x)
        q, k, _ = self.projected(x)
        core = self.merge_work([q, k, k], (x[0], q[1]))
        normed = x[0] * (q[1] + k[1]) if self.qk_norm != "none" else 0
        return core.plus(Work(macs=x[0] * weights, bias=x[0] * biases, norm=normed))

    def explain_params(self, x: Shape) -> Derivation:
        hd, out = self.dims(x)
        weights, biases = self.weights(x)
        if self.layout == "torch":
            if self.bias:
                return derive("(3×{D}×{D}+3×{D})+({D}×{D}+{D})", weights + biases, D=x[1],
                              note="in_proj_weight and in_proj_bias (q, k, v packed), out_proj")
            return derive("3×{D}×{D}+{D}×{D}", weights, D=x[1], note="in_proj_weight (q, k, v packed), out_proj")
        note = f"q, k, v, o; biases {biases}" if biases else "q, k, v, o; no biases"
        norms = {"none": "", "head": "2×{d}", "all": "({h}+{h_kv})×{d}", "per_head": "({h}+{h_kv})×{d}"}[self.qk_norm]
        if norms:
            norms = "+" + ("2×" + norms if self.qk_norm_biased else norms)
            note += "; q and k norms' γ" + (" and β" if self.qk_norm_biased else "")
            note += " of each head's own" if self.qk_norm == "per_head" else ""
        return derive("{D}×{h}×{d}+2×{D}×{h_kv}×{d}+{h}×{d}×{D_o}" + norms, self.params(x).trainable, D=x[1],
                      h=self.heads, d=hd, h_kv=self.groups, D_o=out, note=note)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        hd, _ = self.dims(x)
        return [derive("{D}/{h}", hd, label="head_dim", D=x[1], h=self.heads), *[
            line for line in self.explain_merge(self.projected(x), (x[0], self.heads * hd))
            if isinstance(line, Derivation) and line.label == "MACs"]]


# attention's packing orders one fused input; this layer projects q, k and v apart, so it has none
del MultiheadAttention.ARGS["packing"]
