"""Scaled dot-product attention over heads, on projections computed by the layers before it.

The projections (GPT-2's fused ``c_attn``, BERT's ``query``/``key``/``value``, Llama's ``q_proj``/
``k_proj``/``v_proj``) are ordinary linear layers, so their parameters, names and MACs are theirs;
this kind is the parameter-free part between them and the output projection::

    softmax(q·kᵀ · scale + mask) · v     per head, q of ``heads`` heads, k and v of ``kv_heads``

It takes one input (q, k and v side by side, ``[T, (heads + 2·kv_heads)·head_dim]``) or three
branches (q ``[T_q, heads·head_dim]``, k and v ``[T_k, kv_heads·head_dim]``), and gives
``[T_q, heads·head_dim]``. Rotary position embedding (RoPE) rotates q and k first when asked.
"""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Choice, Float, Int
from archcalc.layers.base import MIX, AxisMap, Count, Derivation, Shape, Work, derive, layer, shape_text
from archcalc.layers.merge import Merge
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim

#: how rotary embedding pairs the dimensions of a head: none, Llama/GPT-NeoX's rotate-half (dimension
#: i with i + d/2), or GPT-J's and Meta's reference code's interleaved pairs (2i with 2i + 1)
ROTARY = ("none", "half", "interleaved")
#: how one fused input holds q, k and v: every query head, then every key head, then every value head (GPT-2's
#: ``c_attn``, Phi-3's ``qkv_proj``), or key/value head by key/value head, each with the heads/kv_heads query heads
#: it serves, then its key, then its value (GPT-NeoX's ``query_key_value``, viewed ``[T, heads, 3·head_dim]``
#: and chunked; Falcon's fused projection, viewed ``[T, kv_heads, heads/kv_heads + 2, head_dim]``)
PACKING = ("qkv", "heads")
#: how ``rotary_factor`` scales the rotary frequencies, as transformers' rope types do (``modeling_rope_utils``):
#: all divided by it (linear), Llama 3.1's three bands by wavelength (llama3), or YaRN's blend (yarn)
SCALING = ("linear", "llama3", "yarn")
#: the settings each scaling reads besides rotary_factor, with what they mean to it
SCALING_ARGS = {"llama3": ("low_freq_factor", "high_freq_factor", "original_positions"),
                "yarn": ("original_positions", "beta_fast", "beta_slow", "attention_factor", "truncate")}


def divide(layer: Merge, a: Dim, b: Dim, message: str, hint: str, arg: str | None = None,
           branch: int | None = None) -> Dim:
    """``a / b`` when ``b`` divides ``a``, else a located error. With free symbols the quotient stays a
    formula (``D/heads``) unless it is provably not whole: the values given later are checked then."""
    if symbolic.is_int(a) and symbolic.is_int(b):
        if a % b == 0:
            return a // b
    else:
        quotient = symbolic.simplify(a / b)
        if getattr(quotient, "is_integer", None) is not False:
            return quotient
    raise (layer.branch_error(branch, message, code="attention-mismatch", hint=hint) if branch is not None
           else layer.error(message, arg=arg, code="attention-mismatch", hint=hint))


@layer("attention")
class Attention(Merge):
    """Scaled dot-product attention over heads (``torch.nn.functional.scaled_dot_product_attention``).

    One input holds q, k and v side by side in that order, each head's dimensions together, as
    GPT-2's ``c_attn`` gives them: ``[T, (heads + 2·kv_heads)·head_dim]``; ``packing: heads`` reads
    the same features grouped by key/value head instead, each group its query heads, its key and its
    value (GPT-NeoX's ``query_key_value``: q, k, v of head 0, then of head 1, …). Three branches give q,
    k and v apart (BERT, Llama). ``kv_heads`` below ``heads`` is grouped-query attention (each k, v
    head serves heads/kv_heads query heads; 1 is multi-query). Output ``[T_q, heads·head_dim]``.

    ``causal`` masks every key after the query's position (a decoder). ``rotary: half`` rotates q
    and k by Llama's and GPT-NeoX's rotary position embedding (pairs i, i + d/2; ``theta`` its base,
    ``rotary_dim`` the leading dimensions of each head it rotates, as GPT-NeoX's partial rotary);
    ``rotary: interleaved`` pairs 2i, 2i + 1 as GPT-J and Meta's reference Llama do. Positions are
    0 … T−1; no parameters, nothing stored. ``rotary_factor`` divides the positions (linear rope
    scaling, Gemma 3's global layers' 8); ``rotary_scaling: llama3`` divides only the frequencies whose
    wavelength is longer than ``original_positions / low_freq_factor``, keeps those shorter than
    ``original_positions / high_freq_factor`` and blends between (Llama 3.1, 3.2, 3.3), and
    ``rotary_scaling: yarn`` blends them by their turns over ``original_positions`` (``beta_fast`` to
    ``beta_slow``) and multiplies cos and sin by ``attention_factor`` (YaRN; Qwen2.5's long contexts), each
    as transformers computes it. ``scale`` defaults to 1/√head_dim. ``dropout`` drops attention weights in
    training.

    ``window`` (with ``causal``) is sliding-window attention: each query sees its own position and the
    window − 1 before it (Mistral's, Gemma 2's and 3's local layers; transformers' ``sliding_window``).
    ``softcap`` caps the scores smoothly before the mask, c·tanh(s/c) (Gemma 2's
    ``attn_logit_softcapping``); torch then computes the attention as Gemma's eager code does.

    No parameters: the projections are the linear layers around it. MACs: q·kᵀ and the weighted sum
    of v, heads × T_q × T_k × head_dim each, counted for the full T_q × T_k even when causal.

    Example: ``- attention: {heads: 12, causal: true}`` after ``- linear: 2304`` on ``[T, 768]``
    """

    TRAITS = Trait.ATTENDS  # not LINEAR: softmax(q·kᵀ)·v is no linear map of its input
    ARITY = (1, 3)
    PRIMARY = "heads"

    heads = Int(doc="query heads")
    kv_heads = Int(None, doc="key and value heads; divides heads (grouped-query; 1 = multi-query) [default: heads]")
    head_dim = Int(None, doc="dimensions per head [default: inferred from the input]")
    causal = Bool(False, doc="mask the keys after each query's position")
    scale = Float(None, doc="factor on q·kᵀ [default: 1/√head_dim]", lo=0, lo_open=True)
    rotary = Choice(ROTARY, "none", doc="rotary position embedding on q and k: Llama's rotate-half pairs or "
                                        "GPT-J's interleaved pairs")
    theta = Float(10000.0, doc="rotary base θ (Llama 3: 500000)", lo=0, lo_open=True)
    rotary_dim = Int(None, doc="leading dimensions of each head that rotary rotates, even [default: head_dim]")
    dropout = Float(0.0, doc="dropout on the attention weights while training", lo=0, hi=1, hi_open=True)
    window = Int(None, doc="with causal: each query sees the window keys ending at its own position "
                           "(sliding-window attention) [default: all before it]")
    softcap = Float(None, doc="cap the scores c·tanh(s/c) before the mask (Gemma 2's attn_logit_softcapping) "
                              "[default: none]", lo=0, lo_open=True)
    rotary_factor = Float(1.0, doc="linear rope scaling: positions divided by this factor (Gemma 3: 8)", lo=0,
                          lo_open=True)
    rotary_scaling = Choice(SCALING, "linear", doc="how rotary_factor scales the rotary frequencies: all divided "
                            "(linear), Llama 3.1's bands by wavelength (llama3) or YaRN's blend (yarn)")
    low_freq_factor = Float(1.0, doc="llama3: wavelengths above original_positions / this are divided by "
                                     "rotary_factor", lo=0, lo_open=True)
    high_freq_factor = Float(4.0, doc="llama3: wavelengths below original_positions / this are kept; more than "
                                      "low_freq_factor", lo=0, lo_open=True)
    original_positions = Int(None, doc="llama3 and yarn: the context length the model was trained at "
                                       "(transformers' original_max_position_embeddings)")
    beta_fast = Float(32.0, doc="yarn: pairs turning more often than this over original_positions are kept",
                      lo=0, lo_open=True)
    beta_slow = Float(1.0, doc="yarn: pairs turning less often than this are divided by rotary_factor",
                      lo=0, lo_open=True)
    attention_factor = Float(None, doc="yarn: the factor on cos and sin [default: 0.1·ln(rotary_factor) + 1]",
                             lo=0, lo_open=True)
    truncate = Bool(True, doc="yarn: round the blended pairs' bounds outwards to whole pairs")
    packing = Choice(PACKING, "qkv", doc="how one input holds q, k and v: all queries, all keys, all values "
                                         "(GPT-2), or per key/value head its queries, key and value (GPT-NeoX)")

    @property
    def tells_positions(self) -> bool:
        """A causal mask lets position t see t + 1 keys (a decoder learns positions from it); rotary
        angles rotate q and k by their positions."""
        return bool(self.causal) or self.rotary != "none"

    # -- shapes -----------------------------------------------------------------------------------

    @property
    def groups(self) -> int:
        return self.heads if self.kv_heads is None else self.kv_heads

    def split(self, xs: list[Shape]) -> tuple[Shape, Shape, Shape, Dim]:
        """The q, k and v shapes and the head dimension, checked; a located error where they do not fit."""
        if len(xs) == 3 and self.packing != "qkv":
            raise self.error(f"packing: {self.packing} orders the features of one fused input, but q, k and v come "
                             "from three branches", arg="packing", hint="remove packing, or give q, k and v side by "
                             "side in one input")
        if len(xs) == 2:
            raise self.branch_error(1, "takes one input (q, k and v side by side) or three branches (q, k, v), "
                                    "got two", code="bad-structure",
                                    hint="give k and v as branches of their own: attention: [[q], [k], [v]]")
        for i, x in enumerate(xs):
            if len(x) != 2:
                raise self.branch_error(i, f"needs [T, D] inputs, got {shape_text(x)}", code="bad-input-shape",
                                        hint="attention runs on a sequence of vectors; reshape or flatten first")
        heads, kv = self.heads, self.groups
        divide(self, heads, kv, f"kv_heads {symbolic.fmt(kv)} does not divide heads {symbolic.fmt(heads)}",
               "each key/value head serves the same number of query heads: "
               f"use a divisor of {symbolic.fmt(heads)} (1 = multi-query)", arg="kv_heads")
        if len(xs) == 1:
            (t, d), = xs
            width = heads + 2 * kv
            words = f"{heads} + 2×{kv}" if kv != heads else f"3×{heads}"
            hd = divide(self, d, width, f"the input's {symbolic.fmt(d)} features do not split into q, k and v of "
                        f"{words} = {width} heads", "a fused input holds (heads + 2·kv_heads)·head_dim "
                        "features: fix the projection before, or give q, k and v as three branches",
                        arg="heads")
            if self.head_dim is not None and not symbolic.equal(self.head_dim, hd):
                raise self.error(f"head_dim {self.head_dim} does not fit a fused input of {symbolic.fmt(d)} features: "
                                 f"that is ({words})×{symbolic.fmt(hd)}", arg="head_dim", code="attention-mismatch",
                                 hint="remove head_dim (it is inferred) or fix the projection before")
            q, k = (t, heads * hd), (t, kv * hd)
            return q, k, k, hd
        q, k, v = xs
        hd = self.head_dim
        if hd is None:
            hd = divide(self, q[1], heads, f"the query's {symbolic.fmt(q[1])} features do not split into {heads} "
                        "heads", f"use a number of heads that divides {symbolic.fmt(q[1])}, or give head_dim",
                        arg="heads", branch=0)
        for i, (x, n, what) in enumerate(((q, heads, "heads"), (k, kv, "kv_heads"), (v, kv, "kv_heads"))):
            if not symbolic.equal(x[1], n * hd):
                name = "qkv"[i]
                raise self.branch_error(i, f"{name} has {symbolic.fmt(x[1])} features but {what} × head_dim is "
                                        f"{n}×{symbolic.fmt(hd)} = {symbolic.fmt(n * hd)}",
                                        code="attention-mismatch",
                                        hint=f"make the {name} projection give {symbolic.fmt(n * hd)} features, "
                                        "or fix heads, kv_heads or head_dim")
        if not symbolic.equal(k[0], v[0]):
            raise self.branch_error(2, f"v has {symbolic.fmt(v[0])} positions but k has {symbolic.fmt(k[0])}",
                                    code="attention-mismatch", hint="each key needs its value: k and v come from "
                                    "the same sequence")
        return q, k, v, hd

    def merge_shape(self, xs: list[Shape]) -> Shape:
        q, k, _, hd = self.split(xs)
        if self.causal and not symbolic.equal(q[0], k[0]):
            raise self.error(f"causal attention needs as many queries as keys, got {symbolic.fmt(q[0])} and "
                             f"{symbolic.fmt(k[0])}", arg="causal", code="attention-mismatch",
                             hint="a causal mask lets query i see keys 0…i of the same sequence; drop causal for "
                             "cross-attention")
        if self.rotary != "none":
            rd = hd if self.rotary_dim is None else self.rotary_dim
            if symbolic.is_int(rd) and rd % 2:
                raise self.error(f"rotary embedding rotates pairs of dimensions, but {symbolic.fmt(rd)} is odd",
                                 arg="rotary_dim" if self.rotary_dim is not None else "rotary",
                                 code="attention-mismatch", hint="use an even rotary_dim (or an even head_dim)")
            if symbolic.is_int(hd) and rd > hd:
                raise self.error(f"rotary_dim {rd} is more than head_dim {hd}", arg="rotary_dim",
                                 code="attention-mismatch",
                                 hint=f"rotary rotates at most the {hd} dimensions of a head")
        elif self.rotary_dim is not None:
            raise self.error("rotary_dim is given but rotary is none", arg="rotary_dim", code="bad-argument",
                             hint="add rotary: half (or interleaved), or drop rotary_dim")
        self.check_scaling()
        if self.window is not None and not self.causal:
            raise self.error("a window needs causal: true (it slides over the keys before each query)",
                             arg="window", code="bad-argument", hint="add causal: true, or drop window")
        return (q[0], self.heads * hd)

    def check_scaling(self) -> None:
        """Rope scaling's settings only with rotary and the scaling that reads them, original_positions where
        llama3 and yarn need it, and the bands in order: a located error otherwise."""
        given = [arg for arg in ("rotary_factor", "rotary_scaling", *dict.fromkeys(sum(SCALING_ARGS.values(), ())))
                 if arg in self.arg_locs]
        if self.rotary == "none" and given:
            raise self.error(f"{given[0]} is given but rotary is none", arg=given[0], code="bad-argument",
                             hint=f"add rotary: half (or interleaved), or drop {given[0]}")
        reads = SCALING_ARGS.get(self.rotary_scaling, ())
        for arg in given:
            if arg not in ("rotary_factor", "rotary_scaling", *reads):
                takes = " or ".join(kind for kind, args in SCALING_ARGS.items() if arg in args)
                raise self.error(f"{arg} is given but rotary_scaling is {self.rotary_scaling}", arg=arg,
                                 code="bad-argument", hint=f"add rotary_scaling: {takes}, or drop {arg}")
        if reads and self.original_positions is None:
            raise self.error(f"rotary_scaling: {self.rotary_scaling} needs original_positions, the context length "
                             "the model was trained at", arg="rotary_scaling", code="bad-argument",
                             hint="add original_positions (transformers' original_max_position_embeddings, "
                             "Llama 3.1's 8192)")
        if self.rotary_scaling == "llama3" and self.high_freq_factor <= self.low_freq_factor:
            arg = "high_freq_factor" if "high_freq_factor" in self.arg_locs else "low_freq_factor"
            raise self.error(f"high_freq_factor {self.high_freq_factor:g} is not more than low_freq_factor "
                             f"{self.low_freq_factor:g}", arg=arg, code="bad-argument",
                             hint="the kept short waves end at original_positions / high_freq_factor, before the "
                             "divided long ones begin at original_positions / low_freq_factor (Llama 3.1: 4 and 1)")
        if self.rotary_scaling == "yarn" and self.beta_fast < self.beta_slow:
            arg = "beta_fast" if "beta_fast" in self.arg_locs else "beta_slow"
            raise self.error(f"beta_fast {self.beta_fast:g} is less than beta_slow {self.beta_slow:g}", arg=arg,
                             code="bad-argument", hint="pairs turning more than beta_fast times are kept, less "
                             "than beta_slow divided: beta_fast ≥ beta_slow (YaRN's 32 and 1)")

    def rope_options(self) -> dict[str, object]:
        """The rope settings a backend passes to :func:`archcalc.backends.rope.rotary_frequencies` beyond
        theta and rotary_factor: the scaling and what it reads, none for linear scaling."""
        if self.rotary_scaling == "linear":
            return {}
        return {"rotary_scaling": self.rotary_scaling,
                **{arg: getattr(self, arg) for arg in SCALING_ARGS[self.rotary_scaling]}}

    def head_size(self, xs: list[Shape]) -> Dim:
        return self.split(xs)[3]

    def rotated(self, xs: list[Shape]) -> Dim:
        """The dimensions of each head that rotary rotates (0 without rotary)."""
        if self.rotary == "none":
            return 0
        return self.head_size(xs) if self.rotary_dim is None else self.rotary_dim

    def kv_cache(self, xs: list[Shape]) -> Dim:
        """Values a decoder keeps per example to extend the sequence: k and v, kv_heads × head_dim × T_k each;
        under a ``window`` the last window − 1 positions only (the next token sees them and itself: the
        sliding cache transformers keeps for Gemma 2's and 3's local layers)."""
        _, k, _, _ = self.split(xs)
        return self.kv_per_position(xs) * self.cached(k[0])

    def kv_per_position(self, xs: list[Shape]) -> Dim:
        """Values one cached position holds: its key and its value, kv_heads × head_dim each."""
        _, k, v, _ = self.split(xs)
        return k[1] + v[1]

    def cached(self, positions: Dim) -> Dim:
        """How many of ``positions`` keys a decoder keeps: all, or the last window − 1."""
        return positions if self.window is None else symbolic.smallest([self.window - 1, positions])

    def merge_params(self, xs: list[Shape]) -> Count:
        return Count()

    def axes(self, x: Shape) -> AxisMap:
        """Every position reads every other (its keys), and every feature all heads' values: both axes mixed."""
        return (((0, MIX),), ((1, MIX),))

    # -- work -------------------------------------------------------------------------------------

    def merge_work(self, xs: list[Shape], y: Shape) -> Work:
        """q·kᵀ and the weighted sum of v: heads × T_q × T_k × head_dim MACs each (the full T_q × T_k,
        as torch.utils.flop_counter counts them, also under a causal mask); one softmax per score,
        counted with the activations, three operations per rotated element of q and k, and three per score
        for a soft cap."""
        q, k, _, hd = self.split(xs)
        products = self.heads * q[0] * k[0] * hd
        rotary = 3 * (q[0] * self.heads + k[0] * self.groups) * self.rotated(xs)
        capped = 3 * self.heads * q[0] * k[0] if self.softcap is not None else 0  # s/c, tanh, times c
        return Work(macs=2 * products, act=self.heads * q[0] * k[0] + rotary + capped)

    def explain_merge(self, xs: list[Shape], y: Shape) -> list[Derivation | str]:
        q, k, v, hd = self.split(xs)
        lines: list[Derivation | str] = []
        if len(xs) == 1:
            lines.append(derive("{D}/({h}+2×{h_kv})", hd, label="head_dim", D=xs[0][1], h=self.heads,
                                h_kv=self.groups))
        else:
            lines.append(f"q {shape_text(q)}, k {shape_text(k)}, v {shape_text(v)}")
        lines.append(derive("{h}×{d}", y[1], label="D_o", h=self.heads, d=hd,
                            note="heads × head_dim, the heads side by side"))
        lines.append(derive("2×{h}×{T_q}×{T_k}×{d}", 2 * self.heads * q[0] * k[0] * hd, label="MACs",
                            h=self.heads, T_q=q[0], T_k=k[0], d=hd,
                            note="q·kᵀ and the weighted sum of v, the full T_q×T_k also when causal"))
        return lines
