"""Multi-head latent attention (MLA), DeepSeek-V2's and V3's: k and v expanded from a small cached latent."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Choice, Float, Int, Size
from archcalc.layers.attention import SCALING, Attention
from archcalc.layers.base import MIX, AxisMap, Count, Derivation, Layer, Shape, Work, derive, layer, shape_text
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


@layer("mla")
class LatentAttention(Layer):
    """Self-attention whose keys and values come from a compressed latent, laid out as transformers'
    ``DeepseekV3Attention`` (DeepSeek-V2, V3, R1, Kimi-K2) and named as it names its modules:

    - q: ``q_proj`` (D → h·(n + r)) or, with ``q_rank``, the low-rank path ``q_a_proj`` (D → q_rank),
      ``q_a_layernorm`` (RMSNorm) and ``q_b_proj`` (q_rank → h·(n + r));
    - ``kv_a_proj_with_mqa`` (D → kv_rank + r): the latent and one rotary key of r dimensions that every
      head shares; the latent normalised by ``kv_a_layernorm`` (RMSNorm) and expanded by ``kv_b_proj``
      (kv_rank → h·(n + v)) into each head's key part k_nope (n) and value (v);
    - each head's query and key: n dimensions without position (``nope_dim``) then r rotated ones
      (``rope_dim``; ``rotary: interleaved`` pairs 2i, 2i + 1 as DeepSeek's weights do, ``half`` pairs
      i, i + r/2 for ``rope_interleave: false``; ``rotary_factor``, ``rotary_scaling`` and their settings
      scale the frequencies as ``attention``'s do, YaRN for the published V2 and V3), softmax(q·kᵀ·scale +
      mask)·v with ``scale`` 1/√(n + r) by default (YaRN's models multiply it by mscale², which the import
      writes into ``scale``);
    - ``o_proj`` (h·v → out).

    ``[T, D]`` → ``[T, out]`` (``out`` defaults to D). ``bias`` is transformers' ``attention_bias``: on
    q_a_proj, kv_a_proj_with_mqa and o_proj (q_proj, q_b_proj and kv_b_proj never have one). ``eps`` is
    the two latent norms' (transformers builds them with its RMSNorm's default, 1e-6, whatever
    ``rms_norm_eps`` says).

    Parameters: D·h·(n + r) (or D·q_rank + q_rank + q_rank·h·(n + r)) + D·(kv_rank + r) + kv_rank +
    kv_rank·h·(n + v) + h·v·out, plus the biases. MACs: the projections per token, and q·kᵀ and the
    weighted sum of v, h × T × T × (n + r) and h × T × T × v, the full T × T even when causal. A decoder
    caches the latent and the rotary key: kv_rank + r values per position, not 2·h·head_dim.

    DeepSeek-V3's ``self_attn`` is the example, with ``causal: true``.

    Example: ``- mla: {heads: 128, q_rank: 1536, kv_rank: 512, nope_dim: 128, rope_dim: 64, v_dim: 128}``
    """

    TRAITS = Trait.ATTENDS | Trait.WEIGHTED
    PRIMARY = "heads"

    heads = Size(doc="attention heads h (num_attention_heads)")
    kv_rank = Size(doc="width of the compressed key/value latent (kv_lora_rank)")
    nope_dim = Size(doc="dimensions of each head's query and key without rotary (qk_nope_head_dim)")
    rope_dim = Size(doc="rotated dimensions of each head's query and of the shared key, even (qk_rope_head_dim)")
    v_dim = Size(doc="dimensions of each head's value (v_head_dim)")
    q_rank = Int(None, doc="width of the query's low-rank path q_a_proj → q_a_layernorm → q_b_proj (q_lora_rank) "
                           "[default: none, one q_proj]")
    out = Int(None, doc="output features [default: the input's D]")
    bias = Bool(False, doc="biases on q_a_proj, kv_a_proj_with_mqa and o_proj (attention_bias)")
    eps = Float(1e-6, doc="the latent norms' eps (q_a_layernorm, kv_a_layernorm)", lo=0, lo_open=True)
    causal = Bool(False, doc="mask the keys after each query's position")
    rotary = Choice(("interleaved", "half"), "interleaved",
                    doc="how the rope_dim dimensions pair: DeepSeek's interleaved pairs or Llama's rotate-half")
    theta = Float(10000.0, doc="rotary base θ (rope_theta)", lo=0, lo_open=True)
    # rope scaling, as attention's (DeepSeek-V2's and V3's published YaRN: rotary_scaling: yarn, factor 40)
    rotary_factor = Float(1.0, doc="rope scaling's factor: the positions divided by it under linear scaling", lo=0,
                          lo_open=True)
    rotary_scaling = Choice(SCALING, "linear", doc="how rotary_factor scales the rotary frequencies: all divided "
                            "(linear), Llama 3.1's bands (llama3) or YaRN's blend (yarn)")
    low_freq_factor = Attention.ARGS["low_freq_factor"]
    high_freq_factor = Attention.ARGS["high_freq_factor"]
    original_positions = Attention.ARGS["original_positions"]
    beta_fast = Attention.ARGS["beta_fast"]
    beta_slow = Attention.ARGS["beta_slow"]
    attention_factor = Attention.ARGS["attention_factor"]
    truncate = Attention.ARGS["truncate"]
    scale = Float(None, doc="factor on q·kᵀ [default: 1/√(nope_dim + rope_dim)]", lo=0, lo_open=True)
    dropout = Float(0.0, doc="dropout on the attention weights while training", lo=0, hi=1, hi_open=True)

    #: no sliding window: a decoder keeps every position's latent (``archcalc plan`` asks)
    window = None
    #: attention's checks and backend options for rope scaling, which read the same arguments
    check_scaling = Attention.check_scaling
    rope_options = Attention.rope_options

    @property
    def tells_positions(self) -> bool:
        return True  # the rotary part of every query and key turns with its position

    # -- shapes -----------------------------------------------------------------------------------

    @property
    def qk_dim(self) -> Dim:
        """Each head's query and key width, nope_dim + rope_dim (transformers' qk_head_dim)."""
        return self.nope_dim + self.rope_dim

    def width(self, x: Shape) -> Dim:
        return x[1] if self.out is None else self.out

    def output_shape(self, x: Shape) -> Shape:
        if len(x) != 2:
            raise self.error(f"needs a [T, D] sequence, got {shape_text(x)}", code="bad-input-shape",
                             hint="attention runs on a sequence of vectors; reshape or flatten first")
        if self.init is not None:
            raise self.error("init: sets a layer's weight and bias, but mla holds several projections and norms",
                             arg="init", hint="remove init: (the projections start as nn.Linear's, U(±1/√fan_in), "
                             "the norms' γ at 1)")
        if symbolic.is_int(self.rope_dim) and self.rope_dim % 2:
            raise self.error(f"rotary embedding rotates pairs of dimensions, but rope_dim {self.rope_dim} is odd",
                             arg="rope_dim", code="attention-mismatch", hint="use an even rope_dim (DeepSeek: 64)")
        self.check_scaling()
        return (x[0], self.width(x))

    # -- parameters ---------------------------------------------------------------------------------

    def tensors(self, x: Shape) -> list[tuple[str, Shape]]:
        """Every parameter's name and shape, in the order transformers registers them."""
        d, h, out = x[1], self.heads, self.width(x)
        q = h * self.qk_dim
        shapes: list[tuple[str, Shape]] = []
        if self.q_rank is None:
            shapes.append(("q_proj.weight", (q, d)))
        else:
            shapes += [("q_a_proj.weight", (self.q_rank, d)), *([("q_a_proj.bias", (self.q_rank,))] if self.bias
                                                                 else []),
                       ("q_a_layernorm.weight", (self.q_rank,)), ("q_b_proj.weight", (q, self.q_rank))]
        latent = self.kv_rank + self.rope_dim
        shapes += [("kv_a_proj_with_mqa.weight", (latent, d)),
                   *([("kv_a_proj_with_mqa.bias", (latent,))] if self.bias else []),
                   ("kv_a_layernorm.weight", (self.kv_rank,)),
                   ("kv_b_proj.weight", (h * (self.nope_dim + self.v_dim), self.kv_rank)),
                   ("o_proj.weight", (out, h * self.v_dim)), *([("o_proj.bias", (out,))] if self.bias else [])]
        return shapes

    def params(self, x: Shape) -> Count:
        total: Dim = 0
        for _, shape in self.tensors(x):
            n: Dim = 1
            for v in shape:
                n = n * v
            total = total + n
        return Count(total)

    def axes(self, x: Shape) -> AxisMap:
        """Every position reads every other (its keys), every feature all heads' values: both axes mixed."""
        return (((0, MIX),), ((1, MIX),))

    # -- work -------------------------------------------------------------------------------------

    def kv_per_position(self, xs: list[Shape]) -> Dim:
        """What transformers' cache keeps per position: the normalised latent and the rotated key."""
        return self.kv_rank + self.rope_dim

    def cached(self, positions: Dim) -> Dim:
        return positions

    def kv_cache(self, xs: list[Shape]) -> Dim:
        return self.kv_per_position(xs) * xs[0][0]

    def weights(self, x: Shape) -> tuple[Dim, Dim]:
        """(weights, biases) of the projections, the norms' γ aside."""
        weights: Dim = 0
        biases: Dim = 0
        for name, shape in self.tensors(x):
            if name.endswith("layernorm.weight"):
                continue
            if name.endswith(".bias"):
                biases = biases + shape[0]
            else:
                weights = weights + shape[0] * shape[1]
        return weights, biases

    def work(self, x: Shape, y: Shape) -> Work:
        """Per token the projections (a dot product per output), the two latent norms, and the attention:
        q·kᵀ over n + r dimensions and the weighted sum over v, h × T × T each (the full T × T, as
        torch.utils.flop_counter counts them, also under a causal mask); one softmax per score and
        three operations per rotated element of each query head and of the shared key."""
        t, h = x[0], self.heads
        weights, biases = self.weights(x)
        core = h * t * t * (self.qk_dim + self.v_dim)
        normed = t * (self.kv_rank + (0 if self.q_rank is None else self.q_rank))
        rotary = 3 * t * (h + 1) * self.rope_dim
        return Work(macs=t * weights + core, bias=t * biases, norm=normed, act=h * t * t + rotary)

    def explain_params(self, x: Shape) -> Derivation:
        q = "{D}×{h}×({n}+{r})" if self.q_rank is None else "{D}×{q}+{q}+{q}×{h}×({n}+{r})"
        formula = q + "+{D}×({kv}+{r})+{kv}+{kv}×{h}×({n}+{v})+{h}×{v}×{D_o}"
        note = ("q_proj" if self.q_rank is None else "q_a_proj, q_a_layernorm, q_b_proj") + \
            ", kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj"
        _, biases = self.weights(x)
        if biases:
            formula += "+{b}"
            note += "; biases"
        return derive(formula, self.params(x).trainable, D=x[1], h=self.heads, n=self.nope_dim, r=self.rope_dim,
                      q=self.q_rank, kv=self.kv_rank, v=self.v_dim, D_o=self.width(x), b=biases, note=note)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        t = x[0]
        return [derive("{h}×{v}", self.heads * self.v_dim, label="heads × v_dim", h=self.heads, v=self.v_dim,
                       note="the heads' values side by side, into o_proj"),
                derive("{h}×{T}×{T}×({n}+{r}+{v})", self.heads * t * t * (self.qk_dim + self.v_dim), label="MACs",
                       h=self.heads, T=t, n=self.nope_dim, r=self.rope_dim, v=self.v_dim,
                       note="q·kᵀ and the weighted sum of v, the full T×T also when causal")]
