"""DeepSeek-V2 and V3 from a Hugging Face ``config.json`` (V3's code serves DeepSeek-R1 and Kimi-K2 too), written
as :mod:`archcalc.importers.hf_config` writes the other decoders: read as data, a block repeated ``depth`` times,
Hugging Face's module names, each setting located.

What sets them apart is the attention, multi-head latent attention (the ``mla`` kind: q through a low-rank path,
k and v expanded from a small latent, a rotary key all heads share), and the MLP: a sparse mixture of routed
experts beside shared ones (``moe`` with ``shared_gate: false``), routed by DeepSeek's rules (V3: sigmoid scores,
a correction bias on the choice, the two best experts' sum choosing ``topk_group`` of ``n_group`` groups; V2:
softmax, greedy or the best expert choosing the groups), after ``first_k_dense_replace`` layers with a dense MLP
of ``intermediate_size`` (the spec's ``if:`` on the layer's index).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from archcalc.errors import SpecError
from archcalc.importers.hf_config import (
    ACTIVATIONS,
    GATES,
    Config,
    _header,
    _padding,
    _with_head,
    family,
    gated_mlp,
    layer,
    number,
)
from archcalc.importers.hf_config import (
    _rope as rope,
)
from archcalc.spec.source import YMap, YScalar


@dataclass(frozen=True)
class DeepSeek:
    """What a generation's config class gives the keys a config.json leaves out (DeepseekV3Config: the 671B
    model; DeepseekV2Config: a 7B-like Llama size with V2's experts), and what its code does its own way; a
    test binds them to transformers' classes."""

    T: int  # max_position_embeddings
    V: int  # vocab_size
    D: int  # hidden_size
    F: int  # intermediate_size
    M: int  # moe_intermediate_size
    heads: int  # num_attention_heads
    depth: int  # num_hidden_layers
    E: int  # n_routed_experts
    k: int | None  # num_experts_per_tok (V2: none, so a config must give it)
    shared: int  # n_shared_experts
    scaling: float  # routed_scaling_factor
    groups: int | None  # n_group
    top_groups: int | None  # topk_group
    dense: int  # first_k_dense_replace
    #: V3: sigmoid scores and a correction bias, groups by their two best experts, norm_topk_prob read; V2:
    #: softmax, topk_method's greedy or group-limited choice by each group's best, never renormalised
    v3: bool


GENERATIONS = {
    "deepseek_v3": DeepSeek(T=4096, V=129280, D=7168, F=18432, M=2048, heads=128, depth=61, E=256, k=8, shared=1,
                            scaling=2.5, groups=8, top_groups=4, dense=3, v3=True),
    "deepseek_v2": DeepSeek(T=2048, V=102400, D=4096, F=11008, M=1407, heads=32, depth=32, E=64, k=None, shared=2,
                            scaling=1.0, groups=None, top_groups=None, dense=0, v3=False),
}


def _nullable(c: Config, key: str, default: int | None) -> int | None:
    """A size that JSON's null switches off (``q_lora_rank``: null is one q_proj), the default when absent."""
    node = c.node(key)
    if isinstance(node, YScalar) and node.value is None:
        return None
    return c.int(key, default) if default is not None or node is not None else None


def _switch(c: Config, key: str, default: bool) -> bool:
    """A flag the code tests by truth (``if config.rope_interleave``): JSON's null is false there, not the
    default."""
    node = c.node(key)
    return False if isinstance(node, YScalar) and node.value is None else c.flag(key, default)


def _rope(c: Config, qk_dim: int) -> tuple[float, dict[str, object], float | None]:
    """(rotary base, the rope scaling arguments of the ``mla`` layer, its softmax scale or None for the default):
    the scaling read as every rotary family's (:func:`~archcalc.importers.hf_config._rope`: YaRN for the published
    V2 and V3), and the scale as ``yarn_apply_mscale`` folds YaRN's ``mscale_all_dim`` into it, 1/√qk_dim times
    (0.1·mscale_all_dim·ln(factor) + 1)² when the rope type is not the default."""
    theta, _, scaling = rope(c, partial=False)
    scaling = {key: value for key, value in scaling.items() if value is not None}
    node = c.node("rope_scaling")
    params = node if isinstance(node, YMap) and node.items else c.node("rope_parameters")
    scale = None
    if isinstance(params, YMap) and scaling:
        inner = Config(params, c.path)
        mscale_all = inner.float("mscale_all_dim", 0.0)
        factor = float(scaling.get("rotary_factor", 1.0))
        if mscale_all:
            mscale = 0.1 * mscale_all * math.log(factor) + 1.0 if factor > 1 else 1.0
            scale = qk_dim ** -0.5 * mscale * mscale
    return theta, scaling, scale


def deepseek(c: Config, head: bool) -> list[str]:
    """``modeling_deepseek_v3.py`` and ``modeling_deepseek_v2.py``: Llama's pre-norm decoder (RMSNorm
    ``input_layernorm`` and ``post_attention_layernorm``) with multi-head latent attention (``self_attn``, the
    ``mla`` kind) and, from layer ``first_k_dense_replace`` on, a mixture of ``n_routed_experts`` experts of
    ``moe_intermediate_size`` beside ``n_shared_experts`` shared ones (one gated MLP as wide as all of them,
    ``shared_experts``), the first layers a dense MLP of ``intermediate_size``. transformers builds no
    multi-token-prediction layer (``num_nextn_predict_layers``; its weights are left out on loading), so the
    spec has none either."""
    model_type = str(c.value("model_type"))
    g = GENERATIONS[model_type]
    sizes = dict(T=c.int("max_position_embeddings", g.T), V=c.int("vocab_size", g.V), D=c.int("hidden_size", g.D),
                 F=c.int("intermediate_size", g.F), heads=c.int("num_attention_heads", g.heads),
                 depth=c.int("num_hidden_layers", g.depth))
    kv = c.int("num_key_value_heads", sizes["heads"])
    if kv != sizes["heads"]:  # DeepseekV3Config's default is 128 whatever the heads
        c.warnings.append(SpecError(c.where("num_key_value_heads"), f"num_key_value_heads {kv} is not "
                                    f"num_attention_heads {sizes['heads']}: latent attention expands a key and a "
                                    "value for every head, so transformers' default (sdpa) attention ignores it "
                                    "(its eager attention fails on it); the spec ignores it too",
                                    code="ignored-setting"))
    experts = c.int("n_routed_experts", g.E)
    if c.node("n_routed_experts") is None and c.node("num_local_experts") is not None:
        experts = c.int("num_local_experts")
    top_k = c.int("num_experts_per_tok") if g.k is None else c.int("num_experts_per_tok", g.k)
    if top_k > experts:
        raise c.error("num_experts_per_tok", f"num_experts_per_tok {top_k} is more than the {experts} experts "
                      "(n_routed_experts)", code="bad-config", hint="each token goes to at most every expert")
    moe_hidden, n_shared = c.int("moe_intermediate_size", g.M), c.int("n_shared_experts", g.shared, least=0)
    dense = c.int("first_k_dense_replace", g.dense, least=0)
    q_rank = _nullable(c, "q_lora_rank", 1536)
    kv_rank = c.int("kv_lora_rank", 512)
    nope, rope_dim, v_dim = (c.int(key, 128 if key != "qk_rope_head_dim" else 64)
                             for key in ("qk_nope_head_dim", "qk_rope_head_dim", "v_head_dim"))
    if rope_dim % 2:
        raise c.error("qk_rope_head_dim", f"qk_rope_head_dim {rope_dim} is odd: rotary embedding turns pairs of "
                      "dimensions", code="bad-config", hint="an even number (DeepSeek's 64)")
    theta, scaling, scale = _rope(c, nope + rope_dim)
    interleaved = _switch(c, "rope_interleave", True) if g.v3 else True  # V2 rotates complex pairs, always interleaved
    act_name = c.choice("hidden_act", "silu", GATES, "activation")
    gate, act = GATES[act_name], ACTIVATIONS[act_name]
    eps = number(c.float("rms_norm_eps", 1e-6, positive=True))
    c.require("pretraining_tp", 1, "weights split into slices for tensor parallelism while pre-training")
    bias = c.flag("attention_bias", False)
    mlp_bias = False if g.v3 else c.flag("mlp_bias", False)
    attn_drop = c.probability("attention_dropout", 0.0)
    pad = _padding(c, sizes["V"], None)
    routing = _routing(c, g, experts, top_k)
    if mlp_bias and dense < sizes["depth"]:
        raise c.error("mlp_bias", "'mlp_bias': biases on the shared experts' projections, which moe's shared "
                      "experts do not have", hint='only "mlp_bias": false imports (or every layer dense)')
    if dense < sizes["depth"]:  # the experts' symbols, where a layer has experts
        sizes.update(E=experts, k=top_k, M=moe_hidden, S=moe_hidden * n_shared)
        if n_shared < 1:
            raise c.error("n_shared_experts", "'n_shared_experts' 0: transformers still builds the shared experts, "
                          "zero features wide", hint="the spec language has no zero-width layer; only "
                          "\"n_shared_experts\" ≥ 1 imports", code="unsupported-config")
    attention = dict(heads="h", q_rank=q_rank, kv_rank=kv_rank, nope_dim=nope, rope_dim=rope_dim, v_dim=v_dim,
                     bias="true" if bias else None, causal="true", rotary=None if interleaved else "half",
                     theta=number(theta), **scaling, scale=None if scale is None else number(scale),
                     dropout=number(attn_drop) if attn_drop else None, name="self_attn")
    moe_args = dict(experts="E", top_k="k", hidden="M", activation=None if gate == "silu" else gate,
                    normalize=None if routing.pop("normalize") else "false", shared="S", shared_gate="false",
                    **routing, name="mlp")

    def moe(indent: str) -> list[str]:
        return [f"{indent}- moe:   # gate, experts, shared_experts",
                *(f"{indent}    {k}: {v}" for k, v in moe_args.items() if v is not None)]

    dense_mlp = gated_mlp(act, None if mlp_bias else False)
    if dense == 0:
        mlp, args, uses = moe("        "), "d, f, h", "D, F, heads"
    elif dense >= sizes["depth"]:
        mlp, args, uses = dense_mlp, "d, f, h", "D, F, heads"
    else:
        mlp = [f"        - if: i < {dense}   # the first first_k_dense_replace layers: a dense MLP",
               "          then:", *(f"    {line}" for line in dense_mlp),
               "          else:", *moe("            ")]
        args, uses = "d, f, h, i", "D, F, heads, i"
    what = ("q_proj" if q_rank is None else "q_a_proj, q_a_layernorm, q_b_proj") + \
        ", kv_a_proj_with_mqa, kv_a_layernorm, kv_b_proj, o_proj"
    lines = [
        *_header(c, sizes),
        "blocks:",
        f"  decoder({args}):",
        "    - residual:",
        f"        - rmsnorm: {{eps: {eps}, name: input_layernorm}}",
        f"        - mla:   # {what}",
        *(f"            {k}: {v}" for k, v in attention.items() if v is not None),
        "      inline: true",
        "    - residual:",
        f"        - rmsnorm: {{eps: {eps}, name: post_attention_layernorm}}",
        *mlp,
        "      inline: true",
        "layers:",
    ]
    repeat = "repeat: depth, index: i" if "i" in args else "repeat: depth"
    body = [
        f"- {layer('embedding', vocab='V', dim='D', padding_idx=pad, name='embed_tokens')}",
        f"- {{name: layers, {repeat}, layers: [decoder: [{uses}]]}}",
        f"- rmsnorm: {{eps: {eps}, name: norm}}",
    ]
    return _with_head(lines, body, head, "model", "embed_tokens", c.flag("tie_word_embeddings", False))


def _routing(c: Config, g: DeepSeek, experts: int, top_k: int) -> dict[str, object]:
    """The moe layer's routing arguments of a DeepSeek config (the defaults left out), each size checked at its
    key: V3's sigmoid scores, correction bias and groups scored by their two best experts; V2's softmax and
    ``topk_method``, greedy or group-limited (each group scored by its best expert)."""
    args: dict[str, object] = {}
    scaling = c.float("routed_scaling_factor", g.scaling, positive=True)
    if g.v3:
        args.update(scoring="sigmoid", correction_bias="true")
        for key, default in (("n_group", g.groups), ("topk_group", g.top_groups)):
            node = c.node(key)  # the router views the scores [n_group, …]: null fails there
            if isinstance(node, YScalar) and node.value is None:
                raise SpecError(node.loc, f"'{key}' is null, which transformers' DeepSeek-V3 router cannot route by",
                                code="bad-config", hint=f'a whole number; or leave "{key}" out for the default, '
                                f"{default}")
        groups, top_groups = c.int("n_group", g.groups), c.int("topk_group", g.top_groups)
        args["normalize"] = _switch(c, "norm_topk_prob", True)
    else:
        method = c.choice("topk_method", "greedy", ("greedy", "group_limited_greedy"), "topk_method")
        if c.value("norm_topk_prob", False) is True:
            c.warnings.append(SpecError(c.where("norm_topk_prob"), "norm_topk_prob: transformers' DeepSeek-V2 "
                                        "router never renormalises the kept weights, so neither does the spec",
                                        code="ignored-setting"))
        args["normalize"] = False
        groups = top_groups = None
        if method == "group_limited_greedy":
            groups, top_groups = c.int("n_group"), c.int("topk_group")
            args["group_score"] = "max"
    if groups is not None:
        if experts % groups:
            raise c.error("n_group", f"n_group {groups} does not divide the {experts} experts (n_routed_experts)",
                          code="bad-config", hint="each group holds n_routed_experts / n_group experts")
        if g.v3 and experts // groups < 2:
            raise c.error("n_group", f"n_group {groups} leaves {experts // groups} expert per group, but a group's "
                          "score is its two best experts' sum", code="bad-config",
                          hint="at least two experts per group")
        if top_groups > groups:
            raise c.error("topk_group", f"topk_group {top_groups} is more than the {groups} groups (n_group)",
                          code="bad-config", hint="at most n_group")
        if top_k > top_groups * (experts // groups):
            raise c.error("num_experts_per_tok", f"num_experts_per_tok {top_k} is more than the "
                          f"{top_groups * (experts // groups)} experts of topk_group {top_groups} groups",
                          code="bad-config", hint="at most topk_group × n_routed_experts / n_group")
        if top_groups < groups:  # every group kept is the plain choice: written without groups
            args.update(groups=groups, top_groups=top_groups)
        else:
            args.pop("group_score", None)
    if scaling != 1.0:
        args["scaling"] = number(scaling)
    return args


family("deepseek_v3", "DeepseekV3Model", "DeepseekV3ForCausalLM")(deepseek)
family("deepseek_v2", "DeepseekV2Model", "DeepseekV2ForCausalLM")(deepseek)
