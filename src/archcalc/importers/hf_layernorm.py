"""The LayerNorm decoders of a Hugging Face ``config.json``: GPT-NeoX (Pythia), Phi (Phi-1, 1.5 and 2),
StarCoder2, StableLM, OPT, GPT-J, GPT-BigCode (SantaCoder, StarCoder 1) and Cohere's Command-R, written as
:mod:`archcalc.importers.hf_config` writes the RMSNorm ones (read as data, a block repeated ``depth`` times,
Hugging Face's module names, each setting located).

What sets them apart from Llama's decoder is the order of the sub-layers, not new layers: GPT-NeoX's
``use_parallel_residual`` (x + attention(ln₁ x) + mlp(ln₂ x)), Phi's attention and MLP side by side on one
shared LayerNorm (Command-R's too), StableLM's choice between the two, written with an ``add`` of branches (an
empty branch is x itself) inside or beside ``residual``; rotary embedding on a share of each head
(``rotary_dim``); and GPT-NeoX's fused ``query_key_value``, ordered head by head (``attention: {packing:
heads}``); GPT-J's rotary in interleaved pairs; GPT-BigCode's one key/value head; OPT's position table read
from row 2 (``pos_embedding: {offset: 2}``).
"""

from __future__ import annotations

from archcalc.errors import SpecError
from archcalc.importers.hf_config import (
    Config,
    _aliased,
    _divides,
    _FamilyConfig,
    _header,
    _padding,
    _rope,
    _rotary_dim,
    _sliding_window,
    _with_head,
    dropout,
    family,
    gated_mlp,
    layer,
    number,
)
from archcalc.spec.source import YScalar

#: what each family's config class gives a key the config.json leaves out (transformers' GPTNeoXConfig: the
#: 20B model; PhiConfig: Phi-1.5; Starcoder2Config: the 3B model; StableLmConfig: stablelm-3b-4e1t;
#: CohereConfig: c4ai-command-r-v01, key/value heads following the heads); a test binds them to transformers'
#: classes
SIZES: dict[str, dict[str, int]] = {
    "gpt_neox": dict(T=2048, V=50432, D=6144, F=24576, heads=64, depth=44),
    "phi": dict(T=2048, V=51200, D=2048, F=8192, heads=32, depth=24),
    "starcoder2": dict(T=4096, V=49152, D=3072, F=12288, heads=24, kv=2, depth=30),
    "stablelm": dict(T=4096, V=50304, D=2560, F=6912, heads=32, kv=32, depth=32),
    "cohere": dict(T=8192, V=256000, D=8192, F=22528, heads=64, depth=40),
}
KEYS = dict(T="max_position_embeddings", V="vocab_size", D="hidden_size", F="intermediate_size",
            heads="num_attention_heads", kv="num_key_value_heads", depth="num_hidden_layers")


def _sizes(c: Config, model_type: str, grouped: bool = True) -> tuple[dict[str, int], bool]:
    """The symbols T, V, D, F, heads, kv (when grouped) and depth, with the family's defaults, and whether the
    attention is grouped-query (key/value heads that do not divide the heads are a located error). A family
    without ``grouped`` attention (GPT-NeoX) reads no key/value heads, as its code reads none."""
    defaults = SIZES[model_type]
    sizes = {name: c.int(KEYS[name], defaults[name]) for name in ("T", "V", "D", "F", "heads")}
    kv = c.int(KEYS["kv"], defaults.get("kv", sizes["heads"])) if grouped and not c.null(KEYS["kv"]) \
        else sizes["heads"]  # a null: one key/value head per query head, as the config classes read it
    if sizes["heads"] % kv:
        raise c.error(KEYS["kv"], f"num_key_value_heads {kv} does not divide num_attention_heads {sizes['heads']}",
                      code="bad-config", hint="each key/value head serves the same number of query heads"
                      if c.node(KEYS["kv"]) else f"{kv} is {model_type}'s default: give num_key_value_heads")
    if kv != sizes["heads"]:
        sizes["kv"] = kv
    sizes["depth"] = c.int(KEYS["depth"], defaults["depth"])
    return sizes, "kv" in sizes


def _norm(eps: str | None, name: str, indent: str) -> str:
    return f"{indent}- {layer('layernorm', eps=eps, name=name)}"


def _eps(c: Config, key: str) -> str | None:
    """The LayerNorms' eps, left out where it is ``nn.LayerNorm``'s (and every family's) 1e-5."""
    eps = c.float(key, 1e-5, positive=True)
    return None if eps == 1e-5 else number(eps)


def _refuse_qk_layernorm(c: Config, norms: str) -> None:
    """``qk_layernorm`` (Phi's LayerNorms on q and k, with a bias, on ``attention``'s branches: no spec form) is
    refused."""
    if c.flag("qk_layernorm", False):
        raise c.error("qk_layernorm", f"'qk_layernorm': q and k normalised by {norms} before rotary",
                      hint='the spec language cannot express it; only "qk_layernorm": false imports')


def _head_norms(c: Config, key: str, layout: str) -> dict[str, str]:
    """The attention's settings for a config's LayerNorms of each head's own on q and k (``key`` true: StableLM's
    ``qk_layernorm``, Cohere's ``use_qk_norm``): bias-free LayerNorms over each head's dimensions, eps
    ``layer_norm_eps``, stored as the family stores them (``layout``); none when ``key`` is false."""
    if not c.flag(key, False):
        return {}
    settings = dict(qk_norm="per_head", qk_norm_kind="layernorm", qk_norm_bias="false",
                    qk_norm_eps=number(c.float("layer_norm_eps", 1e-5, positive=True)))
    return settings if layout == "stacked" else {**settings, "qk_norm_layout": layout}


def _block(args: str, parallel: bool, ln1: str, attention: list[str], ln2: str | None, mlp: list[str]) -> list[str]:
    """A decoder layer of the norm ``ln1``, the ``attention`` lines and the ``mlp`` lines (each written as a
    residual's body, 8 spaces deep): one after the other, x + attn(ln₁ x), then that + mlp(ln₂ that); or
    ``parallel``, x + attn(ln₁ x) + mlp(ln₂ x), or with ``ln2`` None x + attn(ln₁ x) + mlp(ln₁ x), one norm
    feeding both (Phi's, StableLM's)."""
    if not parallel:
        return [f"  decoder({args}):", "    - residual:", ln1, *attention, "      inline: true",
                "    - residual:", *([ln2] if ln2 else []), *mlp, "      inline: true"]
    if ln2 is None:
        return [f"  decoder({args}):                 # x + attention(norm(x)) + mlp(norm(x))",
                "    - residual:", ln1, "        - add:", *_branch(attention, 12), *_branch(mlp, 12),
                "          inline: true", "      inline: true"]
    return [f"  decoder({args}):                 # x + attention(norm_1(x)) + mlp(norm_2(x))",
            "    - add:", "        - []", *_branch([ln1, *attention], 8), *_branch([ln2, *mlp], 8),
            "      inline: true"]


def _branch(lines: list[str], indent: int) -> list[str]:
    """A sub-layer's residual-body lines (8 spaces deep) as one branch of an ``add`` whose items are ``indent``
    deep: an unnamed group, so its layers keep the names they have in the sequential form."""
    shift = " " * (indent + 4 - 8)
    return [" " * indent + "- layers:", *[shift + line for line in lines]]


# -- GPT-NeoX ---------------------------------------------------------------------------------------


@family("gpt_neox", "GPTNeoXModel", "GPTNeoXForCausalLM")
def gpt_neox(c: Config, head: bool) -> list[str]:
    """``modeling_gpt_neox.py`` (Pythia, GPT-NeoX-20B): LayerNorm (with bias) before each sub-layer, q, k and v
    fused in ``query_key_value`` ordered head by head (``view(…, heads, 3·head_dim)`` then ``chunk(3)``:
    ``attention: {packing: heads}``), rotary embedding on ``rotary_pct`` of each head (0.25) with base
    ``rotary_emb_base`` (both in ``rope_parameters`` in transformers 5, which reads neither top-level
    ``rope_theta`` nor ``partial_rotary_factor``), ``use_parallel_residual`` (true: x + attention(ln₁ x) +
    mlp(ln₂ x); false: one after the other), a GELU MLP with biases, and the head (``embed_out`` in the hub's
    checkpoints, ``lm_head`` in transformers 5) untied unless ``tie_word_embeddings``. Every head has its own
    key and value: ``num_key_value_heads``, which GPTNeoXAttention never reads, is ignored as it is there."""
    neox = _FamilyConfig(c.root, c.path, c.warnings, renamed={"rope_theta": "rotary_emb_base",
                                                              "partial_rotary_factor": "rotary_pct"},
                        family=c.family, nullable=c.nullable)
    sizes, _ = _sizes(c, "gpt_neox", grouped=False)
    _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])  # GPTNeoXConfig refuses it too
    theta, share, scaling = _rope(neox, partial=True, share_default=0.25)
    # the rotary table is sized from head_dim when the config has one, as GPTNeoXRotaryEmbedding sizes it
    head_size = sizes["D"] // sizes["heads"]
    rotary_dim = _rotary_dim(neox, c.int("head_dim", head_size), share)
    act = c.activation("hidden_act", "gelu")
    eps = _eps(c, "layer_norm_eps")
    bias = None if c.flag("attention_bias", True) else False
    hidden, attn_drop = c.probability("hidden_dropout", 0.0), c.probability("attention_dropout", 0.0)
    parallel = c.flag("use_parallel_residual", True)
    attention = layer("attention", heads="h", causal="true", packing="heads", rotary="half", theta=number(theta),
                      rotary_dim=rotary_dim if rotary_dim != head_size else None, **scaling,
                      dropout=number(attn_drop) if attn_drop else None)
    lines = [
        *_header(c, sizes),
        "blocks:",
        *_block("d, f, h", parallel, _norm(eps, "input_layernorm", "        "), [
            "        - name: attention",
            "          layers:",
            f"            - {layer('linear', out='3 * d', bias=bias, name='query_key_value')}   # each head's q, k "
            "and v side by side",
            f"            - {attention}",
            f"            - {layer('linear', out='d', bias=bias, name='dense')}",
            *dropout(hidden, "post_attention_dropout", "        "),
        ], _norm(eps, "post_attention_layernorm", "        "), [
            "        - name: mlp",
            f"          layers: [linear: {{out: f, name: dense_h_to_4h}}, {layer(act, name='act')}, "
            "linear: {out: d, name: dense_4h_to_h}]",
            *dropout(hidden, "post_mlp_dropout", "        "),
        ]),
        "layers:",
    ]
    body = [
        "- embedding: {vocab: V, dim: D, name: embed_in}",
        *dropout(hidden, "emb_dropout", ""),
        "- {name: layers, repeat: depth, layers: [decoder: [D, F, heads]]}",
        f"- {layer('layernorm', eps=eps, name='final_layer_norm')}",
    ]
    return _with_head(lines, body, head, "gpt_neox", "embed_in", c.flag("tie_word_embeddings", False))


# -- Phi --------------------------------------------------------------------------------------------


@family("phi", "PhiModel", "PhiForCausalLM")
def phi(c: Config, head: bool) -> list[str]:
    """``modeling_phi.py`` (Phi-1, Phi-1.5, Phi-2): one LayerNorm (``input_layernorm``) feeding attention and
    the MLP side by side, x + attention(ln x) + mlp(ln x), each dropped out by ``resid_pdrop``; q, k, v and
    ``dense`` with biases around the attention, rotary embedding on ``partial_rotary_factor`` of each head
    (0.5 by default; Phi-2's 0.4), a GELU MLP (``fc1``, ``fc2``), ``final_layernorm`` and a head with a bias
    of its own. ``qk_layernorm`` (no released Phi sets it) is refused."""
    sizes, grouped = _sizes(c, "phi")
    _refuse_qk_layernorm(c, "a LayerNorm over each head's dimensions")
    # PhiAttention's head_dim: the config's when it has one, else hidden_size // heads (rounded down, as it is)
    explicit = c.scalar("head_dim", None, "int") is not None
    head_dim = c.int("head_dim", None) if explicit else sizes["D"] // sizes["heads"]
    per_head = str(head_dim) if explicit else "(d // h)"
    q_out = "d" if not explicit and sizes["D"] % sizes["heads"] == 0 else f"h * {per_head}"
    kv_out = f"kv * {per_head}" if grouped else q_out
    theta, share, scaling = _rope(c, partial=True, share_default=0.5)
    rotary_dim = _rotary_dim(c, head_dim, share)
    act = c.activation("hidden_act", "gelu_new")
    eps = _eps(c, "layer_norm_eps")
    resid, attn_drop = c.probability("resid_pdrop", 0.0), c.probability("attention_dropout", 0.0)
    args, uses = ("d, f, h, kv", "D, F, heads, kv") if grouped else ("d, f, h", "D, F, heads")
    attention = [f"                {k}: {v}" for k, v in dict(
        heads="h", kv_heads="kv" if grouped else None, causal="true", rotary="half", theta=number(theta),
        rotary_dim=rotary_dim if rotary_dim != head_dim else None, **scaling,
        dropout=number(attn_drop) if attn_drop else None).items() if v is not None]
    lines = [
        *_header(c, sizes),
        "blocks:",
        *_block(args, True, _norm(eps, "input_layernorm", "        "), [
            "        - name: self_attn",
            "          layers:",
            "            - attention:",
            *attention,
            "                branches:",
            f"                  - linear: {{out: {q_out}, name: q_proj}}",
            f"                  - linear: {{out: {kv_out}, name: k_proj}}",
            f"                  - linear: {{out: {kv_out}, name: v_proj}}",
            "              inline: true",
            "            - linear: {out: d, name: dense}",
            *dropout(resid, "resid_dropout", "        "),
        ], None, [
            "        - name: mlp",
            f"          layers: [linear: {{out: f, name: fc1}}, {layer(act, name='activation_fn')}, "
            "linear: {out: d, name: fc2}]",
            *([f"        - dropout: {number(resid)}                  # resid_dropout again"] if resid else []),
        ]),
        "layers:",
    ]
    body = [
        f"- {layer('embedding', vocab='V', dim='D', padding_idx=_padding(c, sizes['V']), name='embed_tokens')}",
        *dropout(c.probability("embd_pdrop", 0.0), "embed_dropout", ""),
        f"- {{name: layers, repeat: depth, layers: [decoder: [{uses}]]}}",
        f"- {layer('layernorm', eps=eps, name='final_layernorm')}",
    ]
    return _with_head(lines, body, head, "model", "embed_tokens", c.flag("tie_word_embeddings", False), bias=True)


# -- StarCoder2 -------------------------------------------------------------------------------------


@family("starcoder2", "Starcoder2Model", "Starcoder2ForCausalLM")
def starcoder2(c: Config, head: bool) -> list[str]:
    """``modeling_starcoder2.py``: Llama's layout with LayerNorms (``norm_epsilon``), q, k, v and o projections
    and a GELU MLP (``c_fc``, ``c_proj``) biased with ``use_bias``, grouped-query attention with rotary
    embedding on whole heads, ``sliding_window`` on every layer (written: the outputs equal the real model's at
    any length), ``residual_dropout`` after each sub-layer and the head tied by default."""
    sizes, grouped = _sizes(c, "starcoder2")
    explicit = c.scalar("head_dim", None, "int") is not None
    head_dim = c.int("head_dim", None) if explicit else sizes["D"] // sizes["heads"]
    theta, _, scaling = _rope(c, partial=False)
    window = _sliding_window(c, None, sizes["depth"], every_layer=True)
    act = c.activation("hidden_act", "gelu_pytorch_tanh")
    eps = _eps(c, "norm_epsilon")
    bias = c.flag("use_bias", True)
    resid, attn_drop = c.probability("residual_dropout", 0.0), c.probability("attention_dropout", 0.0)
    args, uses = ("d, f, h, kv", "D, F, heads, kv") if grouped else ("d, f, h", "D, F, heads")
    attention = [f"            {k}: {v}" for k, v in dict(
        heads="h", kv_heads="kv" if grouped else None,
        head_dim=head_dim if head_dim * sizes["heads"] != sizes["D"] else None, bias=None if bias else "false",
        causal="true", window=window, rotary="half", theta=number(theta), **scaling,
        dropout=number(attn_drop) if attn_drop else None, name="self_attn").items() if v is not None]
    mlp_bias = None if bias else False
    lines = [
        *_header(c, sizes),
        "blocks:",
        *_block(args, False, _norm(eps, "input_layernorm", "        "), [
            "        - multihead_attention:        # q_proj, k_proj, v_proj, o_proj",
            *attention,
            *([f"        - dropout: {number(resid)}"] if resid else []),
        ], _norm(eps, "post_attention_layernorm", "        "), [
            "        - name: mlp",
            "          layers:",
            f"            - {layer('linear', out='f', bias=mlp_bias, name='c_fc')}",
            f"            - {layer(act, name='act')}",
            f"            - {layer('linear', out='d', bias=mlp_bias, name='c_proj')}",
            *([f"            - dropout: {number(resid)}"] if resid else []),
        ]),
        "layers:",
    ]
    embedding_dropout = c.probability("embedding_dropout", 0.0)  # functional in Starcoder2Model: no module name
    body = [
        f"- {layer('embedding', vocab='V', dim='D', padding_idx=_padding(c, sizes['V']), name='embed_tokens')}",
        *([f"- dropout: {number(embedding_dropout)}"] if embedding_dropout else []),
        f"- {{name: layers, repeat: depth, layers: [decoder: [{uses}]]}}",
        f"- {layer('layernorm', eps=eps, name='norm')}",
    ]
    return _with_head(lines, body, head, "model", "embed_tokens", c.flag("tie_word_embeddings", True))


# -- StableLM ---------------------------------------------------------------------------------------


@family("stablelm", "StableLmModel", "StableLmForCausalLM")
def stablelm(c: Config, head: bool) -> list[str]:
    """``modeling_stablelm.py`` (StableLM-3B-4E1T, StableLM 2): Llama's attention and SwiGLU MLP with LayerNorms,
    q, k and v biased with ``use_qkv_bias`` (o_proj never), rotary embedding on ``partial_rotary_factor`` of each
    head (0.25), ``use_parallel_residual`` (x + attention(ln x) + mlp(ln x) on one norm) or sequential, and
    ``hidden_dropout`` after the MLP. ``qk_layernorm`` (StableLM 2 12B's ``StableLmLayerNormPerHead``: a bias-free
    LayerNorm of each head's own on q and on k, before rotary, eps ``layer_norm_eps``) is ``qk_norm: per_head``
    stored as StableLM stores it (``qk_norm_layout: stablelm``: ``q_layernorm.norms.0`` …)."""
    sizes, grouped = _sizes(c, "stablelm")
    _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])  # StableLmAttention refuses it
    head_dim = sizes["D"] // sizes["heads"]
    if c.scalar("head_dim", None, "int") is not None and c.int("head_dim", None) != head_dim:
        raise c.error("head_dim", f"head_dim {c.int('head_dim')} is not hidden_size / num_attention_heads "
                      f"({head_dim}): StableLmAttention's heads are {head_dim} wide, and its rotary table would be "
                      "sized for the other", code="bad-config", hint="remove head_dim")
    theta, share, scaling = _rope(c, partial=True, share_default=0.25)
    rotary_dim = _rotary_dim(c, head_dim, share)
    act = c.activation("hidden_act", "silu")
    eps = _eps(c, "layer_norm_eps")
    qk_norm = _head_norms(c, "qk_layernorm", "stablelm")
    bias = c.flag("use_qkv_bias", False)
    parallel = c.flag("use_parallel_residual", False)
    hidden, attn_drop = c.probability("hidden_dropout", 0.0), c.probability("attention_dropout", 0.0)
    args, uses = ("d, f, h, kv", "D, F, heads, kv") if grouped else ("d, f, h", "D, F, heads")
    attention = [f"            {k}: {v}" for k, v in dict(
        heads="h", kv_heads="kv" if grouped else None, bias=None if bias else "false",
        out_bias="false" if bias else None, causal="true", rotary="half", theta=number(theta),
        rotary_dim=rotary_dim if rotary_dim != head_dim else None, **scaling, **qk_norm,
        dropout=number(attn_drop) if attn_drop else None, name="self_attn").items() if v is not None]
    lines = [
        *_header(c, sizes),
        "blocks:",
        *_block(args, parallel, _norm(eps, "input_layernorm", "        "), [
            "        - multihead_attention:        # q_proj, k_proj, v_proj, o_proj"
            + (", q_layernorm, k_layernorm" if qk_norm else ""),
            *attention,
        ], None if parallel else _norm(eps, "post_attention_layernorm", "        "), [
            *gated_mlp(act, False),
            *dropout(hidden, "dropout", "        "),
        ]),
        "layers:",
    ]
    body = [
        f"- {layer('embedding', vocab='V', dim='D', padding_idx=_padding(c, sizes['V']), name='embed_tokens')}",
        f"- {{name: layers, repeat: depth, layers: [decoder: [{uses}]]}}",
        f"- {layer('layernorm', eps=eps, name='norm')}",
    ]
    return _with_head(lines, body, head, "model", "embed_tokens", c.flag("tie_word_embeddings", False))



# -- Cohere (Command-R) -----------------------------------------------------------------------------


@family("cohere", "CohereModel", "CohereForCausalLM")
def cohere(c: Config, head: bool) -> list[str]:
    """``modeling_cohere.py`` (Command-R, c4ai-command-r-v01): one LayerNorm without a bias
    (``CohereLayerNorm``: γ alone, ``layer_norm_eps``) feeding attention and the MLP side by side, x +
    attention(ln x) + mlp(ln x); grouped-query attention with q, k, v and o biased with ``attention_bias``,
    rotary embedding on interleaved pairs (``repeat_interleave`` of the angles and a ``rotate_half`` of
    x[..., ::2] and x[..., 1::2]: dimensions 2i and 2i + 1 turned together, ``rotary: interleaved``) over
    whole heads, base ``rope_theta`` (500000 by default, CohereConfig's), a SwiGLU MLP without biases, the
    head tied by default and the logits times ``logit_scale`` (0.0625), a ``scale`` layer after it.
    ``use_qk_norm`` (Command R+'s ``q_norm`` and ``k_norm``: bias-free LayerNorms over each head's dimensions
    with a weight of each head's own, ``[heads, head_dim]``, before rotary) is ``qk_norm: per_head``."""
    cfg = _FamilyConfig(c.root, c.path, c.warnings, defaults={"rope_theta": 500000.0}, family=c.family,
                        nullable=c.nullable)
    sizes, grouped = _sizes(c, "cohere")
    explicit = c.value("head_dim", None) is not None  # CohereAttention and its rotary table read it when given
    head_dim = c.int("head_dim", None) if explicit else sizes["D"] // sizes["heads"]
    if not explicit:
        _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])
    qk_norm = _head_norms(c, "use_qk_norm", "stacked")
    theta, _, scaling = _rope(cfg, partial=False)
    act = c.activation("hidden_act", "silu")
    eps = _eps(c, "layer_norm_eps")
    bias = c.flag("attention_bias", False)
    attn_drop = c.probability("attention_dropout", 0.0)
    logit_scale = _logit_scale(c) if head else None
    args, uses = ("d, f, h, kv", "D, F, heads, kv") if grouped else ("d, f, h", "D, F, heads")
    attention = [f"            {k}: {v}" for k, v in dict(
        heads="h", kv_heads="kv" if grouped else None,
        head_dim=head_dim if head_dim * sizes["heads"] != sizes["D"] else None, bias=None if bias else "false",
        causal="true", rotary="interleaved", theta=number(theta), **scaling, **qk_norm,
        dropout=number(attn_drop) if attn_drop else None, name="self_attn").items() if v is not None]

    def norm(name: str) -> str:
        return layer("layernorm", eps=eps, bias=False, name=name)

    lines = [
        *_header(c, sizes),
        "blocks:",
        *_block(args, True, "        - " + norm("input_layernorm"), [
            "        - multihead_attention:        # q_proj, k_proj, v_proj, o_proj" + (", q_norm, k_norm" if qk_norm
                                                                                        else ""),
            *attention,
        ], None, gated_mlp(act, False)),
        "layers:",
    ]
    body = [
        f"- {layer('embedding', vocab='V', dim='D', padding_idx=_padding(c, sizes['V'], 0), name='embed_tokens')}",
        f"- {{name: layers, repeat: depth, layers: [decoder: [{uses}]]}}",
        "- " + norm("norm"),
    ]
    lines = _with_head(lines, body, head, "model", "embed_tokens", c.flag("tie_word_embeddings", True))
    if logit_scale is not None:
        lines.append(f"  - scale: {logit_scale}   # logits times logit_scale")
    return lines


def _logit_scale(c: Config) -> str:
    """Command-R's ``logit_scale`` (CohereConfig's 0.0625), a number > 0: a null is refused, as
    CohereForCausalLM's ``logits * None`` fails."""
    node = c.node("logit_scale")
    if isinstance(node, YScalar) and node.value is None:
        raise c.error("logit_scale", "'logit_scale' is null, but CohereForCausalLM multiplies its logits by it",
                      code="bad-config", hint='give a number ("logit_scale": 0.0625 is Command-R\'s), or import '
                      "the base model with --base")
    return number(c.float("logit_scale", 0.0625, positive=True))
# -- GPT-2's descendants: GPT-J, GPT-BigCode --------------------------------------------------------

#: GPT-2's names for the sizes (the config classes' fields, which config.json files hold) and the common
#: names transformers' ``attribute_map`` reads as them
GPT_KEYS = dict(T=("n_positions", "max_position_embeddings"), D=("n_embd", "hidden_size"),
                heads=("n_head", "num_attention_heads"), depth=("n_layer", "num_hidden_layers"))
#: GPTJConfig's defaults (GPT-J-6B) and GPTBigCodeConfig's (GPT-2's sizes); a test binds them
GPT_SIZES: dict[str, dict[str, int]] = {
    "gptj": dict(T=2048, V=50400, D=4096, heads=16, depth=28),
    "gpt_bigcode": dict(T=1024, V=50257, D=768, heads=12, depth=12),
}


def _gpt_sizes(c: Config, model_type: str) -> dict[str, int]:
    """T, V, P (the position table's rows: T), D, F (``n_inner``, 4·D when null or left out), heads and depth
    under GPT-2's key names or their common ones; heads that do not divide D are refused at their key, as the
    family's attention refuses them."""
    defaults = GPT_SIZES[model_type]
    sizes = {name: _aliased(c, *GPT_KEYS[name], defaults[name], what) for name, what in (
        ("T", "the positions"), ("D", "the width"), ("heads", "the heads"))}
    sizes = dict(T=sizes["T"], V=c.int("vocab_size", defaults["V"]), P=sizes["T"], D=sizes["D"],
                 F=c.int("n_inner", 4 * sizes["D"]), heads=sizes["heads"],
                 depth=_aliased(c, *GPT_KEYS["depth"], defaults["depth"], "the number of layers"))
    heads_key = "n_head" if c.node("n_head") is not None or c.node("num_attention_heads") is None \
        else "num_attention_heads"
    _divides(c, "n_embd", sizes["D"], heads_key, sizes["heads"])
    return sizes


def _gpt_dropouts(c: Config, default: float) -> dict[str, float]:
    return {key: c.probability(key, default) for key in ("embd_pdrop", "attn_pdrop", "resid_pdrop")}


@family("gptj", "GPTJModel", "GPTJForCausalLM")
def gptj(c: Config, head: bool) -> list[str]:
    """``modeling_gptj.py`` (GPT-J-6B): one LayerNorm (``ln_1``) feeding attention and the MLP side by side,
    x + attention(ln₁ x) + mlp(ln₁ x); q, k, v and ``out_proj`` without biases; rotary embedding on the first
    ``rotary_dim`` dimensions of each head in GPT-J's interleaved pairs (2i, 2i + 1: ``rotate_every_two``),
    base 10000 as its code fixes it (no config key reads another); ``fc_in``, ``fc_out`` with biases and
    ``gelu_new``; ``ln_f``; ``lm_head`` with a bias of its own, untied unless ``tie_word_embeddings``. The
    hub's ``rotary`` and ``scale_attn_weights`` and any rope key are read by nothing in GPT-J's code, and
    ignored here too."""
    sizes = _gpt_sizes(c, "gptj")
    del sizes["P"]  # no position table: rotary alone
    head_dim = sizes["D"] // sizes["heads"]
    rotary_dim = _gptj_rotary_dim(c, head_dim)
    act = c.activation("activation_function", "gelu_new")
    eps = _eps(c, "layer_norm_epsilon")
    drop = _gpt_dropouts(c, 0.0)
    attention = [f"                {k}: {v}" for k, v in dict(
        heads="h", causal="true", rotary="interleaved", rotary_dim=rotary_dim if rotary_dim != head_dim else None,
        dropout=number(drop["attn_pdrop"]) if drop["attn_pdrop"] else None).items() if v is not None]
    lines = [
        *_header(c, sizes),
        "blocks:",
        *_block("d, f, h", True, _norm(eps, "ln_1", "        "), [
            "        - name: attn",
            "          layers:",
            "            - attention:",
            *attention,
            "                branches:",
            "                  - linear: {out: d, bias: false, name: q_proj}",
            "                  - linear: {out: d, bias: false, name: k_proj}",
            "                  - linear: {out: d, bias: false, name: v_proj}",
            "              inline: true",
            "            - linear: {out: d, bias: false, name: out_proj}",
            *dropout(drop["resid_pdrop"], "resid_dropout", "            "),
        ], None, [
            "        - name: mlp",
            "          layers:",
            "            - linear: {out: f, name: fc_in}",
            f"            - {layer(act, name='act')}",
            "            - linear: {out: d, name: fc_out}",
            *dropout(drop["resid_pdrop"], "dropout", "            "),
        ]),
        "layers:",
    ]
    body = [
        "- embedding: {vocab: V, dim: D, name: wte}",
        *dropout(drop["embd_pdrop"], "drop", ""),
        "- {name: h, repeat: depth, layers: [decoder: [D, F, heads]]}",
        f"- {layer('layernorm', eps=eps, name='ln_f')}",
    ]
    return _with_head(lines, body, head, "transformer", "wte", c.flag("tie_word_embeddings", False), bias=True)


def _gptj_rotary_dim(c: Config, head_dim: int) -> int:
    """GPT-J's ``rotary_dim`` (64), which ``GPTJAttention`` rotates of each head: whole pairs, at most the head.
    Null, which transformers 4 read as the whole hidden size, is refused by transformers 5's GPTJConfig (a whole
    number), and so here."""
    node = c.node("rotary_dim")
    if isinstance(node, YScalar) and node.value is None:
        raise c.error("rotary_dim", "'rotary_dim' null: transformers' GPTJConfig takes a whole number of each "
                      "head's dimensions to rotate", code="bad-config",
                      hint=f'"rotary_dim": {head_dim} rotates every dimension of a head (GPT-J-6B rotates 64 of 256)')
    rotary_dim = c.int("rotary_dim", 64)
    if rotary_dim % 2 or rotary_dim > head_dim:
        raise c.error("rotary_dim", f"rotary_dim {rotary_dim} " + (
            "is odd: rotary embedding turns pairs of dimensions" if rotary_dim % 2 else
            f"is more than a head's {head_dim} dimensions"), code="bad-config",
            hint=f"an even number of dimensions from 2 to {head_dim}" if node is not None else
            f'64 is GPT-J\'s default: give "rotary_dim", an even number of dimensions from 2 to {head_dim}')
    return rotary_dim


@family("gpt_bigcode", "GPTBigCodeModel", "GPTBigCodeForCausalLM")
def gpt_bigcode(c: Config, head: bool) -> list[str]:
    """``modeling_gpt_bigcode.py`` (SantaCoder, StarCoder 1): GPT-2's pre-norm layout, learned positions and
    names, with ``nn.Linear`` layers (weights stored [out, in], not Conv1D's) and ``multi_query``: one key and
    value head shared by every query head, ``c_attn`` giving the queries, then the key, then the value
    (``attention: {kv_heads: 1}``); without it ``c_attn`` is ordered head by head, each head's q, k and v
    (``packing: heads``). ``gelu_pytorch_tanh``, biases everywhere, the head tied unless
    ``tie_word_embeddings`` is false. ``attention_softmax_in_fp32`` and its scale's twin change only the
    precision of half-precision runs."""
    sizes = _gpt_sizes(c, "gpt_bigcode")
    act = c.activation("activation_function", "gelu_pytorch_tanh")
    eps = _eps(c, "layer_norm_epsilon")
    c.require("add_cross_attention", False, "cross-attention to an encoder's output")
    multi_query = c.flag("multi_query", True)
    scale = None if c.flag("scale_attn_weights", True) else "1.0"
    for key in ("attention_softmax_in_fp32", "scale_attention_softmax_in_fp32"):
        c.flag(key, True)
    drop = _gpt_dropouts(c, 0.1)
    attention = layer("attention", heads="h", kv_heads=1 if multi_query else None, causal="true",
                      packing=None if multi_query else "heads", scale=scale,
                      dropout=number(drop["attn_pdrop"]) if drop["attn_pdrop"] else None)
    fused = "d + 2 * (d // h)" if multi_query else "3 * d"
    order = "the queries, then one head's key and value" if multi_query else "each head's q, k and v side by side"
    lines = [
        *_header(c, sizes),
        "blocks:",
        *_block("d, f, h", False, _norm(eps, "ln_1", "        "), [
            "        - name: attn",
            "          layers:",
            f"            - linear: {{out: {fused}, name: c_attn}}   # {order}",
            f"            - {attention}",
            "            - linear: {out: d, name: c_proj}",
            *dropout(drop["resid_pdrop"], "resid_dropout", "            "),
        ], _norm(eps, "ln_2", "        "), [
            "        - name: mlp",
            "          layers:",
            "            - linear: {out: f, name: c_fc}",
            f"            - {layer(act, name='act')}",
            "            - linear: {out: d, name: c_proj}",
            *dropout(drop["resid_pdrop"], "dropout", "            "),
        ]),
        "layers:",
    ]
    body = [
        "- add: [[embedding: {vocab: V, dim: D, name: wte}], [pos_embedding: {positions: P, dim: D, name: wpe}]]",
        "  inline: true",
        *dropout(drop["embd_pdrop"], "drop", ""),
        "- {name: h, repeat: depth, layers: [decoder: [D, F, heads]]}",
        f"- {layer('layernorm', eps=eps, name='ln_f')}",
    ]
    return _with_head(lines, body, head, "transformer", "wte", c.flag("tie_word_embeddings", True))


# -- OPT --------------------------------------------------------------------------------------------

#: OPTConfig's defaults (opt-125m's sizes) under its own keys; a test binds them
OPT_SIZES = dict(T=2048, V=50272, D=768, F=3072, heads=12, depth=12)
OPT_KEYS = dict(T="max_position_embeddings", V="vocab_size", D="hidden_size", F="ffn_dim",
                heads="num_attention_heads", depth="num_hidden_layers")


@family("opt", "OPTModel", "OPTForCausalLM")
def opt(c: Config, head: bool) -> list[str]:
    """``modeling_opt.py`` (Meta's OPT, 125M to 175B): learned positions from a table of
    ``max_position_embeddings`` + 2 rows read from row 2 (``OPTLearnedPositionalEmbedding``'s offset: without
    padding the positions are 0 … T−1, rows 2 … T + 1; ``pos_embedding: {offset: 2}``); LayerNorm before each
    sub-layer with ``do_layer_norm_before`` (every size but 350M), after each residual sum without it (and
    then no ``final_layer_norm``, nor with ``_remove_final_layer_norm``); q, k, v and ``out_proj`` around the
    attention and ``fc1``, ``fc2`` (``activation_function``, ReLU) biased with ``enable_bias``; LayerNorms
    without γ and β unless ``layer_norm_elementwise_affine``; tokens embedded ``word_embed_proj_dim`` wide and
    projected to hidden_size (``project_in``) and back after the layers (``project_out``) where the two differ
    (350M's 512 and 1024); ``dropout`` after each sub-layer; the head tied unless ``tie_word_embeddings`` is
    false. ``layerdrop`` skips whole layers while training only: a warning."""
    sizes = {name: c.int(OPT_KEYS[name], OPT_SIZES[name]) for name in ("T", "V", "D")}
    sizes["P"] = sizes["T"]
    width = c.int("word_embed_proj_dim", sizes["D"])  # null: hidden_size, as OPTConfig reads it
    if width != sizes["D"]:
        sizes["E"] = width
    sizes.update({name: c.int(OPT_KEYS[name], OPT_SIZES[name]) for name in ("F", "heads", "depth")})
    _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])  # OPTAttention refuses it
    act = c.activation("activation_function", "relu")
    before = c.flag("do_layer_norm_before", True)
    final = not c.flag("_remove_final_layer_norm", False) and before  # OPTDecoder: a final norm only pre-norm
    bias = None if c.flag("enable_bias", True) else False
    affine = None if c.flag("layer_norm_elementwise_affine", True) else False
    drop, attn_drop = c.probability("dropout", 0.1), c.probability("attention_dropout", 0.0)
    if c.probability("layerdrop", 0.0):
        c.warnings.append(SpecError(c.where("layerdrop"), f"layerdrop {c.float('layerdrop'):g} skips whole layers "
                                    "at random while training only: the spec's training runs every layer (counts "
                                    "and the evaluation outputs do not depend on it)", code="training-only"))
    pad = _padding(c, sizes["V"], 1)

    def norm(name: str) -> str:
        return layer("layernorm", affine=affine, name=name)

    attention = [
        "        - name: self_attn",
        "          layers:",
        "            - attention:",
        "                heads: h",
        "                causal: true",
        *([f"                dropout: {number(attn_drop)}"] if attn_drop else []),
        "                branches:",
        *[f"                  - {layer('linear', out='d', bias=bias, name=name)}" for name in ("q_proj", "k_proj",
                                                                                            "v_proj")],
        "              inline: true",
        f"            - {layer('linear', out='d', bias=bias, name='out_proj')}",
        *([f"        - dropout: {number(drop)}"] if drop else []),
    ]
    mlp = [
        f"        - {layer('linear', out='f', bias=bias, name='fc1')}",
        f"        - {layer(act, name='activation_fn')}",
        f"        - {layer('linear', out='d', bias=bias, name='fc2')}",
        *([f"        - dropout: {number(drop)}"] if drop else []),
    ]
    if before:
        block = ["  layer(d, f, h):                          # pre-norm: x + attn(norm(x)), then x + mlp(norm(x))",
                 "    - residual:", f"        - {norm('self_attn_layer_norm')}", *attention, "      inline: true",
                 "    - residual:", f"        - {norm('final_layer_norm')}", *mlp, "      inline: true"]
    else:  # 350M: each sum normalised, as BERT's
        block = ["  layer(d, f, h):                          # post-norm: norm(x + attn(x)), then norm(x + mlp(x))",
                 "    - residual:", "        body:", *[f"  {line}" for line in attention],
                 f"        then: [{norm('self_attn_layer_norm')}]", "      inline: true",
                 "    - residual:", "        body:", *[f"  {line}" for line in mlp],
                 f"        then: [{norm('final_layer_norm')}]", "      inline: true"]
    embedding = layer("embedding", vocab="V", dim="E" if "E" in sizes else "D", padding_idx=pad, name="embed_tokens")
    tokens = f"{embedding}, linear: {{out: D, bias: false, name: project_in}}" if "E" in sizes else embedding
    body = [
        "- name: decoder",
        "  layers:",
        "    - add:                              # position t reads row t + 2 of P + 2",
        f"        - layers: [{tokens}]" if "E" in sizes else f"        - [{tokens}]",
        "        - [pos_embedding: {positions: P + 2, dim: D, offset: 2, name: embed_positions}]",
        "      inline: true",
        "    - {name: layers, repeat: depth, layers: [layer: [D, F, heads]]}",
        *([f"    - {norm('final_layer_norm')}"] if final else []),
        *(["    - linear: {out: E, bias: false, name: project_out}"] if "E" in sizes else []),
    ]
    lines = [*_header(c, sizes), "blocks:", *block, "layers:"]
    return _with_head(lines, body, head, "model", "decoder.embed_tokens", c.flag("tie_word_embeddings", True))
