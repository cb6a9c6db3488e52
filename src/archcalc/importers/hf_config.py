"""A Hugging Face ``config.json`` → a readable spec, read as data: no ``transformers``, no torch, nothing
downloaded, no code run.

A config holds every size of a model of a known family; the family's code (``modeling_llama.py`` …) holds
its structure. Each family below writes that structure once, as a person writes a shipped spec (a block
with arguments, repeated ``depth`` times), with the config's sizes as the spec's symbols, so that the
result reads like ``specs/llama-3-8b.yaml`` and ``--set T=128`` works on it. The layer names are Hugging
Face's module names, so the real model's ``state_dict`` loads into ``archcalc.to_torch(spec)`` with
``strict=True``.

The config is read with the spec reader (JSON is YAML's flow style), so every value keeps its line and
column: a setting the spec language cannot express (a rope scaling, GPT-2's per-layer attention scale) is
an error located at that key, never a spec that silently computes another network. Settings that change
neither sizes nor outputs of the imported model (token ids, ``torch_dtype``, ``use_cache``) are ignored.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field

from archcalc.errors import Loc, SpecError, choices_hint
from archcalc.limits import Limits
from archcalc.spec.source import YMap, YNode, YScalar, YSeq, describe, parse_yaml, read_text

_MISSING = object()

#: Hugging Face activation names (``ACT2FN``) → the spec's activation, as a flow-mapping body
ACTIVATIONS: dict[str, str] = {
    "gelu": "gelu",
    "gelu_new": "gelu: {approximate: tanh",
    "gelu_pytorch_tanh": "gelu: {approximate: tanh",
    "relu": "relu",
    "silu": "silu",
    "swish": "silu",
    "tanh": "tanh",
    "sigmoid": "sigmoid",
}


@dataclass
class Config:
    """One ``config.json``: each value read once, checked, and located for the error that names it."""

    root: YMap
    path: str
    #: warnings for settings that do not change what archcalc computes but narrow where outputs agree
    warnings: list[SpecError] = field(default_factory=list)
    #: the family (model_type) whose reading of a JSON null applies, and the keys where transformers reads a
    #: null as the key left out (:data:`NULLABLE`); None (before the family is known, and inside a nested
    #: mapping) reads a null as absent
    family: str | None = field(default=None, kw_only=True)
    nullable: frozenset[str] | None = field(default=None, kw_only=True)

    def node(self, key: str) -> YNode | None:
        return self.root.get(key)

    def where(self, key: str) -> Loc:
        node = self.node(key)
        return node.loc if node is not None else self.root.loc

    def error(self, key: str, message: str, hint: str | None = None, code: str = "unsupported-config") -> SpecError:
        return SpecError(self.where(key), message, code=code, hint=hint)

    def null(self, key: str, default: object = _MISSING, want: str | None = None) -> bool:
        """Whether ``key`` is written as JSON ``null`` where the family's transformers code reads a null as the
        key left out (its config class or model gives it a value, or turns the setting off); a null where
        transformers refuses it (the config class's type check, or the model failing on ``hidden * None``) is
        a located error whose hint names the value to write (``default``, the family's) or says to leave the
        key out."""
        node = self.node(key)
        if not (isinstance(node, YScalar) and node.value is None):
            return False
        if self.nullable is None or key in self.nullable:
            return True
        takes = f": it takes {ARTICLES[want]}" if want in ARTICLES else ""
        if default is _MISSING:
            hint = f'write "{key}": {ARTICLES.get(want or "", "its value")}'
        elif default is None or isinstance(default, list | dict):
            hint = f'leave "{key}" out for {self.family}\'s default'
        else:
            hint = f'write "{key}": {_json(default)} ({self.family}\'s default), or leave "{key}" out for it'
        raise SpecError(node.loc, f"'{key}' is null, which transformers refuses for {self.family}{takes}",
                        code="bad-config", hint=hint)

    def given(self, key: str) -> bool:
        """Whether the config gives ``key`` a setting: written, and not a null the family reads as absent."""
        return self.node(key) is not None and not self.null(key, None)

    def value(self, key: str, default: object = _MISSING, want: str | None = None) -> object:
        """The scalar at ``key``; a JSON ``null`` reads as absent where the family's transformers code reads it
        so, and is refused elsewhere (:meth:`null`)."""
        node = self.node(key)
        if node is None or self.null(key, default, want):
            if default is _MISSING:
                raise SpecError(
                    self.root.loc,
                    f"the config has no '{key}'",
                    code="bad-config",
                    hint=f'add "{key}": … (is this the config.json of the model?)',
                )
            return default
        if not isinstance(node, YScalar):
            raise SpecError(node.loc, f"'{key}' must be a single value, got {describe(node)}", code="bad-config")
        return node.value

    def scalar(self, key: str, default: object, want: str) -> object:
        """:meth:`value`, with a list or mapping refused by a hint at the ``want`` (``int``, ``float``, ``bool``,
        ``str``) that belongs there."""
        node = self.node(key)
        if node is not None and not isinstance(node, YScalar):
            raise SpecError(node.loc, f"'{key}' must be a single value, got {describe(node)}", code="bad-config",
                            hint=self.fix(key, node, want, default))
        return self.value(key, default, want)

    def fix(self, key: str, value: object, want: str, default: object = _MISSING, least: int = 1) -> str | None:
        """The hint for ``value`` where a ``want`` is due: the value as it should be written where it evidently
        means one (``"64"`` → 64, ``"true"`` → true, ``[64]`` → 64, ``64.0`` → 64, 1 → true), and the
        family's default, which leaving the key out gives."""
        if isinstance(value, YSeq) and len(value.items) == 1 and isinstance(value.items[0], YScalar):
            one = self._fixed(value.items[0].value, want, least)
            fix = f"one {WANTS[want]}, not a list" if one is None else f'"{key}": {_json(one)}, one value, not a list'
        elif isinstance(value, YNode):
            fix = f"one {WANTS[want]}, not {describe(value)}"
        else:
            one = self._fixed(value, want, least)
            if one is not None and (type(one) is not type(value) or one != value):
                why = ("JSON's true or false, without quotes" if isinstance(value, str) else
                       "JSON's true or false, not a number") if want == "bool" else \
                    "a number, without quotes" if isinstance(value, str) else "a whole number"
                fix = f'"{key}": {_json(one)}, {why}'
            elif want in ("int", "float") and value in ("NaN", "Infinity", "-Infinity"):
                fix = f"{ARTICLES[want]}, not {value} (Python's json reads it as a float, but no setting is {value})"
            elif want in ("int", "float") and isinstance(value, bool):
                fix = f"a number, not {_json(value)}"
            elif want == "int" and isinstance(value, int | float):
                fix = f"a whole number of at least {least}"
            else:
                fix = None
        if default is not _MISSING and default is not None and not isinstance(default, list | dict):
            leave = f'leave "{key}" out for the default, {_json(default)}'
            fix = f"{fix}; or {leave}" if fix else leave
        elif default is None and value in ("NaN", "Infinity", "-Infinity"):
            fix = f'{fix}; or leave "{key}" out for the default'

        return fix

    @staticmethod
    def _fixed(value: object, want: str, least: int) -> object:
        """``value`` as the ``want`` it evidently means, or None: a number in quotes, a whole float, 0 or 1
        for a flag, ``"true"``/``"false"``."""
        if want == "str":
            return value if isinstance(value, str) else None
        if want == "bool":
            if isinstance(value, bool):
                return value
            if isinstance(value, str) and value.strip().lower() in ("true", "false"):
                return value.strip().lower() == "true"
            return bool(value) if isinstance(value, int | float) and value in (0, 1) else None
        if isinstance(value, bool):
            return None
        if isinstance(value, str):
            try:
                value = float(value.strip())
            except ValueError:
                return None
        if not isinstance(value, int | float) or value != value or value in (float("inf"), float("-inf")):
            return None
        if want == "int":
            return int(value) if float(value).is_integer() and value >= least else None
        return value if want == "float" and value >= 0 else None

    def int(self, key: str, default: object = _MISSING, *, least: int = 1) -> int:
        value = self.scalar(key, default, "int")
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise self.error(key, f"'{key}' must be a whole number ≥ {least}, got {value!r}", code="bad-config",
                             hint=self.fix(key, value, "int", default, least))
        return value

    def float(self, key: str, default: object = _MISSING, *, positive: bool = False) -> float:
        value = self.scalar(key, default, "float")
        if not isinstance(value, int | float) or isinstance(value, bool) or value < 0 or (positive and value == 0):
            raise self.error(
                key, f"'{key}' must be a number {'>' if positive else '≥'} 0, got {value!r}", code="bad-config",
                hint=self.fix(key, value, "float", default, 0),
            )
        if value != value or value == float("inf"):
            raise self.error(key, f"'{key}' must be finite, got {value!r}", code="bad-config",
                             hint=self.fix(key, value, "float", default))
        return float(value)

    def probability(self, key: str, default: float) -> float:
        """A dropout probability: a number from 0 to 1."""
        value = self.float(key, default)
        if value > 1:
            raise self.error(key, f"'{key}' must be a probability from 0 to 1, got {value:g}", code="bad-config",
                             hint=f'a share such as 0.1 (10 %); or leave "{key}" out for the default, {_json(default)}')
        return value

    def flag(self, key: str, default: bool) -> bool:
        value = self.scalar(key, default, "bool")
        if not isinstance(value, bool):
            raise self.error(key, f"'{key}' must be true or false, got {value!r}", code="bad-config",
                             hint=self.fix(key, value, "bool", default))
        return value

    def choice(self, key: str, default: str, choices: dict[str, str] | tuple[str, ...], what: str) -> str:
        value = self.scalar(key, default, "str")
        if not isinstance(value, str) or value not in choices:
            word = value if isinstance(value, str) else str(value)
            raise self.error(
                key,
                f"'{key}': archcalc cannot express {what} {value!r}",
                hint=choices_hint(word, set(choices), what + "s"),
            )
        return value

    def require(self, key: str, expected: object, why: str) -> None:
        """A setting archcalc cannot express unless it has its default ``expected``."""
        want = {bool: "bool", int: "int", float: "float", str: "str"}.get(type(expected), "str")
        value = self.scalar(key, expected, want)
        if type(value) is not type(expected) and not (type(expected) is float and type(value) is int):
            kind = {bool: "true or false", int: "a whole number", float: "a number", str: "a string"}
            raise self.error(key, f"'{key}' must be {kind.get(type(expected), type(expected).__name__)}, got "
                             f"{value!r}", code="bad-config", hint=self.fix(key, value, want, expected, 0))
        if value != expected:
            raise self.error(
                key,
                f"'{key}': {why}",
                hint=f'the spec language cannot express it; only "{key}": {_json(expected)} imports',
            )

    def activation(self, key: str, default: str) -> str:
        """The spec's activation layer for a Hugging Face activation name, named ``name`` later."""
        return ACTIVATIONS[self.choice(key, default, ACTIVATIONS, "activation")]


#: how transformers 5 saves rope_parameters, for the hint on one that is not a mapping
ROPE_HINT = 'as transformers saves it: {"rope_type": "default", "rope_theta": 10000.0}, or null for the default'

#: what each reader wants, in a hint
WANTS = {"int": "whole number", "float": "number", "bool": "true or false", "str": "name"}
#: the same with its article, for a null refused
ARTICLES = {"int": "a whole number", "float": "a number", "bool": "true or false", "str": "a name"}


def _json(value: object) -> str:
    """``value`` as config.json writes it."""
    return json.dumps(value) if isinstance(value, str) else "null" if value is None else "true" if value is True \
        else "false" if value is False else repr(value)


def number(value: float) -> str:
    """A float as the spec reader reads it back exactly (``1e-05``, ``500000.0``)."""
    return repr(float(value))


def layer(kind: str, **args: object) -> str:
    """``kind: {a: 1, b: x}`` in flow style, arguments in the order given, ``None`` left out; ``kind`` may
    already open its mapping (``gelu: {approximate: tanh``, from :data:`ACTIVATIONS`)."""
    items = [f"{k}: {'true' if v is True else 'false' if v is False else v}" for k, v in args.items() if v is not None]
    if kind.endswith("}") or "{" not in kind:
        return f"{kind}: {{{', '.join(items)}}}" if items else kind
    return f"{kind}{''.join(', ' + i for i in items)}}}"


# -- families ---------------------------------------------------------------------------------------

#: model_type → (the function that writes the spec, the base model's class, the heads it imports)
Family = Callable[[Config, bool], list[str]]
FAMILIES: dict[str, tuple[Family, str, tuple[str, ...]]] = {}


def family(model_type: str, base: str, *heads: str) -> Callable[[Family], Family]:
    def register(fn: Family) -> Family:
        FAMILIES[model_type] = (fn, base, heads)
        return fn

    return register


def dropout(p: float, name: str | None, indent: str) -> list[str]:
    """A dropout line (named unless ``name`` is None), or nothing for ``p = 0`` (it would change nothing, and
    lint flags it)."""
    return [f"{indent}- {layer('dropout', p=number(p), name=name)}"] if p else []


@family("gpt2", "GPT2Model", "GPT2LMHeadModel")
def gpt2(c: Config, head: bool) -> list[str]:
    """Hugging Face's ``modeling_gpt2.py``: pre-norm blocks, Conv1D projections stored [in, out]
    (``transposed: true``), learned positions, the output projection tied to the token embedding."""
    # GPT2Config's attribute_map reads the common names as its own, so either may give a size
    positions = _aliased(c, "n_positions", "max_position_embeddings", 1024, "the positions")
    sizes = dict(T=positions, V=c.int("vocab_size", 50257), P=positions,
                 D=_aliased(c, "n_embd", "hidden_size", 768, "the width"))
    sizes["F"] = c.int("n_inner", 4 * sizes["D"])
    sizes.update(heads=_aliased(c, "n_head", "num_attention_heads", 12, "the heads"),
                 depth=_aliased(c, "n_layer", "num_hidden_layers", 12, "the number of layers"))
    _divides(c, "n_embd", sizes["D"], "n_head", sizes["heads"])
    act = c.activation("activation_function", "gelu_new")
    eps = c.float("layer_norm_epsilon", 1e-5, positive=True)
    c.require("scale_attn_by_inverse_layer_idx", False, "a different attention scale in every layer")
    c.require("reorder_and_upcast_attn", False, "attention computed in float32 with a reordered scale")
    c.require("add_cross_attention", False, "cross-attention to an encoder's output")
    scale = None if c.flag("scale_attn_weights", True) else "1.0"
    drop = {k: c.probability(k, 0.1) for k in ("embd_pdrop", "attn_pdrop", "resid_pdrop")}
    norm = number(eps) if eps != 1e-5 else None
    lines = [
        *_header(c, sizes),
        "blocks:",
        "  block(d, f, h):                          # pre-norm: x + attn(ln_1(x)), then x + mlp(ln_2(x))",
        "    - residual:",
        f"        - {layer('layernorm', eps=norm, name='ln_1')}",
        "        - name: attn",
        "          layers:",
        "            - linear: {out: 3 * d, transposed: true, name: c_attn}    # q, k, v side by side",
        f"            - {layer('attention', heads='h', causal=True, scale=scale, dropout=_p(drop['attn_pdrop']))}",
        "            - linear: {out: d, transposed: true, name: c_proj}",
        *dropout(drop["resid_pdrop"], "resid_dropout", "            "),
        "      inline: true",
        "    - residual:",
        f"        - {layer('layernorm', eps=norm, name='ln_2')}",
        "        - name: mlp",
        "          layers:",
        "            - linear: {out: f, transposed: true, name: c_fc}",
        f"            - {layer(act, name='act')}",
        "            - linear: {out: d, transposed: true, name: c_proj}",
        *dropout(drop["resid_pdrop"], "dropout", "            "),
        "      inline: true",
        "layers:",
    ]
    body = [
        "- add: [[embedding: {vocab: V, dim: D, name: wte}], [pos_embedding: {positions: P, dim: D, name: wpe}]]",
        "  inline: true",
        *dropout(drop["embd_pdrop"], "drop", ""),
        "- {name: h, repeat: depth, layers: [block: [D, F, heads]]}",
        f"- {layer('layernorm', eps=norm, name='ln_f')}",
    ]
    return _with_head(lines, body, head, "transformer", "wte", c.flag("tie_word_embeddings", True))


@dataclass(frozen=True)
class Encoder:
    """What a BERT-like family's code (``modeling_bert.py`` and its copies) does its own way, and the defaults
    its config class gives the keys a config.json leaves out (a test binds them to transformers' classes)."""

    V: int  # vocab_size
    pad: int | None  # pad_token_id
    D: int = 768  # hidden_size
    F: int = 3072  # intermediate_size
    heads: int = 12  # num_attention_heads
    #: RoBERTa's positions: counted from the ids after pad_token_id's row (``pos_embedding: {padding_idx}``)
    roberta: bool = False
    #: ELECTRA's embeddings of ``embedding_size`` (this default), projected to hidden_size by a linear layer
    embedding_size: int | None = None
    #: the base model's pooler (the first token, a dense layer and tanh): BERT's and RoBERTa's, not ELECTRA's
    pooler: bool = True


def encoder(family: Encoder) -> Family:
    """``modeling_bert.py`` and the families whose base model is a copy of it: post-norm layers (LayerNorm
    after each sum), learned positions and token types (every token of type 0, ``token_type_ids`` left out),
    and the pooler (the first token, a dense layer and tanh). RoBERTa (and XLM-RoBERTa and CamemBERT, whose
    base model is RoBERTa's code) counts its positions from the ids after ``pad_token_id``'s row; ELECTRA
    embeds in ``embedding_size`` features, projected to hidden_size (``embeddings_project``) when they
    differ, and has no pooler."""

    def write(c: Config, head: bool) -> list[str]:
        P = c.int("max_position_embeddings", 512)
        sizes = dict(T=P, V=c.int("vocab_size", family.V), P=P, types=c.int("type_vocab_size", 2))
        width = c.int("embedding_size", family.embedding_size) if family.embedding_size else None
        hidden = c.int("hidden_size", family.D)
        if width is not None and width != hidden:
            sizes["E"] = width  # ELECTRA's embeddings, narrower than its layers
        sizes.update(D=hidden, F=c.int("intermediate_size", family.F),
                     heads=c.int("num_attention_heads", family.heads), depth=c.int("num_hidden_layers", 12))
        _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])
        act = c.activation("hidden_act", "gelu")
        eps = number(c.float("layer_norm_eps", 1e-12, positive=True))
        c.choice("position_embedding_type", "absolute", ("absolute",), "position embedding")
        c.require("is_decoder", False, f"{c.value('model_type')} as a decoder (a causal mask, cross-attention)")
        c.require("add_cross_attention", False, "cross-attention to an encoder's output")
        drop, attn = c.probability("hidden_dropout_prob", 0.1), c.probability("attention_probs_dropout_prob", 0.1)
        pad = _padding(c, sizes["V"], family.pad)
        positions = None
        if family.roberta:
            positions = _roberta_positions(c, pad, P)
            sizes["T"] = P - positions - 1
        dim = "E" if "E" in sizes else "D"
        table = layer("pos_embedding", positions="P", dim=dim, padding_idx=positions, name="position_embeddings")
        return [
            *_header(c, sizes),
            "blocks:",
            *_post_norm_layer(eps, act, drop, attn),
            "layers:",
            "  - name: embeddings",
            "    layers:",
            "      - add:                            # every token of type 0 (no token_type_ids)"
            + ("; positions after padding" if positions is not None else ""),
            f"          - {layer('embedding', vocab='V', dim=dim, padding_idx=pad, name='word_embeddings')}",
            f"          - pos_embedding: {{positions: types, dim: {dim}, index: first, name: token_type_embeddings}}",
            f"          - {table}",
            "        inline: true",
            f"      - layernorm: {{eps: {eps}, name: LayerNorm}}",
            *dropout(drop, "dropout", "      "),
            *(["  - linear: {out: D, name: embeddings_project}   # embedding_size → hidden_size"] if dim == "E"
              else []),
            "  - {name: encoder.layer, repeat: depth, layers: [layer: [D, F, heads]]}",
            *(["  - name: pooler                        # the first token ([CLS]), a dense layer and tanh",
               "    layers: [select, linear: {out: D, name: dense}, tanh: {name: activation}]"] if family.pooler
              else []),
        ]

    return write


def _post_norm_layer(eps: str, act: str, hidden: float, attn: float) -> list[str]:
    """BERT's layer, ``layer(d, f, h)``: attention (query, key, value, then dense) and the MLP (intermediate,
    output), each added to its input and then normalised."""
    return [
        "  layer(d, f, h):",
        "    - residual:",
        "        body:",
        "          - attention:",
        "              heads: h",
        *([f"              dropout: {number(attn)}"] if attn else []),
        "              branches:",
        "                - linear: {out: d, name: attention.self.query}",
        "                - linear: {out: d, name: attention.self.key}",
        "                - linear: {out: d, name: attention.self.value}",
        "            inline: true",
        "          - linear: {out: d, name: attention.output.dense}",
        *dropout(hidden, "attention.output.dropout", "          "),
        f"        then: [layernorm: {{eps: {eps}, name: attention.output.LayerNorm}}]",
        "      inline: true",
        "    - residual:",
        "        body:",
        "          - linear: {out: f, name: intermediate.dense}",
        f"          - {layer(act, name='intermediate.intermediate_act_fn')}",
        "          - linear: {out: d, name: output.dense}",
        *dropout(hidden, "output.dropout", "          "),
        f"        then: [layernorm: {{eps: {eps}, name: output.LayerNorm}}]",
        "      inline: true",
    ]


def _roberta_positions(c: Config, pad: int | None, rows: int) -> int:
    """RoBERTa's padding row, after which it counts the positions (``create_position_ids_from_input_ids``: the
    k-th token that is not padding at row pad + k): the position table of ``rows`` serves rows − pad − 1
    tokens (roberta-base: 514 rows, 512 tokens)."""
    if pad is None:
        raise c.error("pad_token_id", f"{c.value('model_type')} counts its positions after the padding row, "
                      "pad_token_id, which is null", code="bad-config",
                      hint="give pad_token_id (RoBERTa's is 1)")
    if rows - pad - 1 < 1:
        raise c.error("max_position_embeddings", f"max_position_embeddings {rows} leaves no position after the "
                      f"padding row {pad}: the positions are rows {pad + 1} onwards", code="bad-config",
                      hint=f"a table of more than {pad + 1} rows (roberta-base's 514 serve 512 tokens)")
    return pad


ENCODERS = {
    "bert": Encoder(V=30522, pad=0),
    "roberta": Encoder(V=50265, pad=1, roberta=True),
    "xlm-roberta": Encoder(V=30522, pad=1, roberta=True),
    "camembert": Encoder(V=30522, pad=1, roberta=True),
    "electra": Encoder(V=30522, pad=0, D=256, F=1024, heads=4, embedding_size=128, pooler=False),
}
family("bert", "BertModel")(encoder(ENCODERS["bert"]))
family("roberta", "RobertaModel")(encoder(ENCODERS["roberta"]))
family("xlm-roberta", "XLMRobertaModel")(encoder(ENCODERS["xlm-roberta"]))
family("camembert", "CamembertModel")(encoder(ENCODERS["camembert"]))
family("electra", "ElectraModel")(encoder(ENCODERS["electra"]))


def _aliased(c: Config, key: str, alias: str, default: int, what: str) -> int:
    """A size the config may give under its family's own key or the common name transformers maps onto it
    (``attribute_map``: DistilBERT's ``dim`` is also ``hidden_size``); both, disagreeing, are ambiguous
    (transformers keeps whichever comes last in the file)."""
    own = c.node(key) is not None
    value = c.int(key if own or c.node(alias) is None else alias, default)
    if own and c.node(alias) is not None and c.int(alias) != value:
        raise c.error(alias, f"'{alias}' is {c.int(alias)} but '{key}' is {value}: two names for {what} disagree",
                      code="bad-config", hint=f"keep one of them ({key} is {c.value('model_type')}'s own)")
    return value


@family("distilbert", "DistilBertModel")
def distilbert(c: Config, head: bool) -> list[str]:
    """``modeling_distilbert.py``: BERT's post-norm layers under other names (``q_lin`` … ``out_lin``,
    ``sa_layer_norm``, ``ffn.lin1``, ``ffn.lin2``, ``output_layer_norm``), every LayerNorm's eps 1e-12 (fixed
    in the code), learned positions and no token types, and no pooler: the output is the last hidden state.
    ``sinusoidal_pos_embds`` only fills the position table with sines and cosines at the start (a parameter
    all the same, counted and stored): a warning, as a spec's table starts random."""
    sizes = dict(T=c.int("max_position_embeddings", 512), V=c.int("vocab_size", 30522),
                 P=c.int("max_position_embeddings", 512), D=_aliased(c, "dim", "hidden_size", 768, "the width"))
    sizes.update(F=c.int("hidden_dim", 4 * 768), heads=_aliased(c, "n_heads", "num_attention_heads", 12, "the heads"),
                 depth=_aliased(c, "n_layers", "num_hidden_layers", 6, "the number of layers"))
    if sizes["D"] % sizes["heads"]:
        key = "n_heads" if c.node("n_heads") is not None or c.node("num_attention_heads") is None \
            else "num_attention_heads"
        raise c.error(key, f"{key} {sizes['heads']} does not divide the width {sizes['D']}", code="bad-config",
                      hint="every head gets the same number of dimensions")
    act = c.activation("activation", "gelu")
    drop, attn = c.probability("dropout", 0.1), c.probability("attention_dropout", 0.1)
    if c.flag("sinusoidal_pos_embds", False):
        c.warnings.append(SpecError(c.where("sinusoidal_pos_embds"), "sinusoidal_pos_embds: transformers starts "
                                    "the position table at sines and cosines, a parameter all the same; the spec's "
                                    "table starts random (parameters, shapes and the outputs of the model's weights "
                                    "are the same)", code="initial-values"))
    pad = _padding(c, sizes["V"], 0)
    eps = number(1e-12)
    return [
        *_header(c, sizes),
        "blocks:",
        "  block(d, f, h):",
        "    - residual:",
        "        body:",
        "          - attention:",
        "              heads: h",
        *([f"              dropout: {number(attn)}"] if attn else []),
        "              branches:",
        "                - linear: {out: d, name: attention.q_lin}",
        "                - linear: {out: d, name: attention.k_lin}",
        "                - linear: {out: d, name: attention.v_lin}",
        "            inline: true",
        "          - linear: {out: d, name: attention.out_lin}",
        f"        then: [layernorm: {{eps: {eps}, name: sa_layer_norm}}]",
        "      inline: true",
        "    - residual:",
        "        body:",
        "          - linear: {out: f, name: ffn.lin1}",
        f"          - {layer(act, name='ffn.activation')}",
        "          - linear: {out: d, name: ffn.lin2}",
        *dropout(drop, "ffn.dropout", "          "),
        f"        then: [layernorm: {{eps: {eps}, name: output_layer_norm}}]",
        "      inline: true",
        "layers:",
        "  - name: embeddings",
        "    layers:",
        "      - add:",
        f"          - {layer('embedding', vocab='V', dim='D', padding_idx=pad, name='word_embeddings')}",
        "          - pos_embedding: {positions: P, dim: D, name: position_embeddings}",
        "        inline: true",
        f"      - layernorm: {{eps: {eps}, name: LayerNorm}}",
        *dropout(drop, "dropout", "      "),
        "  - {name: transformer.layer, repeat: depth, layers: [block: [D, F, heads]]}",
    ]


def _pair(c: Config, key: str, default: int) -> tuple[int, int]:
    """A size given as one number or as [height, width] (ViT's ``image_size`` and ``patch_size``, which
    ``ViTPatchEmbeddings`` reads either way)."""
    node = c.node(key)
    if isinstance(node, YSeq):
        items = [item.value if isinstance(item, YScalar) else None for item in node.items]
        if len(items) != 2 or not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in items):
            raise SpecError(node.loc, f"'{key}' must be a whole number ≥ 1 or two of them, [height, width], got "
                            f"{describe(node)}", code="bad-config")
        return items[0], items[1]
    size = c.int(key, default)
    return size, size


@family("vit", "ViTModel", "ViTForImageClassification")
def vit(c: Config, head: bool) -> list[str]:
    """``modeling_vit.py``: the image cut into patches by a convolution (``patch_embeddings.projection``, kernel
    and stride the patch), the class token before them and learned positions added (bare parameters,
    ``cls_token`` and ``position_embeddings``, a row per patch and one for the token), pre-norm layers
    (``layernorm_before``, attention ``q_proj`` … ``o_proj``, ``layernorm_after``, ``mlp.fc1``, ``mlp.fc2``),
    the final ``layernorm`` and the pooler (the class token, ``dense`` and ``pooler_act``). The image's
    sizes are symbols, and the positions a formula of them: ``--set H=384,W=384`` is the model of a config
    with ``image_size`` 384 (the real model refuses other sizes than its own). ``ViTForImageClassification``
    has no pooler: its ``classifier`` reads the class token."""
    (h, w), (ph, pw) = _pair(c, "image_size", 224), _pair(c, "patch_size", 16)
    if ph > h or pw > w:
        raise c.error("patch_size", f"patch_size {ph}×{pw} is larger than image_size {h}×{w}", code="bad-config",
                      hint="a patch is a piece of the image")
    sizes = dict(C=c.int("num_channels", 3), H=h, W=w)
    sizes.update(dict(P=ph) if ph == pw else dict(PH=ph, PW=pw))
    sizes.update(D=c.int("hidden_size", 768), F=c.int("intermediate_size", 3072),
                 heads=c.int("num_attention_heads", 12), depth=c.int("num_hidden_layers", 12))
    per_head = c.int("head_dim", sizes["D"] // sizes["heads"]) if c.scalar("head_dim", None, "int") is not None or \
        sizes["D"] >= sizes["heads"] else None
    if per_head is None:
        raise c.error("num_attention_heads", f"num_attention_heads {sizes['heads']} is more than hidden_size "
                      f"{sizes['D']}: each head would get {sizes['D'] // sizes['heads']} dimensions",
                      code="bad-config", hint="at most one head per dimension (or give head_dim)")
    act = c.activation("hidden_act", "gelu")
    eps = number(c.float("layer_norm_eps", 1e-12, positive=True))
    drop, attn = c.probability("hidden_dropout_prob", 0.0), c.probability("attention_probs_dropout_prob", 0.0)
    bias = c.flag("qkv_bias", True)
    if head:
        labels = _labels(c)
        if labels:
            sizes["labels"] = labels
    else:
        pooled = c.int("pooler_output_size", sizes["D"])
        if pooled != sizes["D"]:
            sizes["O"] = pooled
        pooler_act = c.activation("pooler_act", "tanh")
    patch = "P" if ph == pw else "[PH, PW]"
    grid = "(H // P) * (W // P)" if ph == pw else "(H // PH) * (W // PW)"
    attention = layer("multihead_attention", heads="h", head_dim=None if per_head * sizes["heads"] == sizes["D"]
                      else per_head, bias=None if bias else False, out_bias=None if bias else True,
                      dropout=_p(attn), name="attention")
    lines = [
        *_header(c, sizes, "input: [C, H, W]                        # an image"),
        "blocks:",
        "  layer(d, f, h):                        # pre-norm: x + attention(layernorm_before(x)), then the MLP",
        "    - residual:",
        f"        - layernorm: {{eps: {eps}, name: layernorm_before}}",
        f"        - {attention}   # q_proj, k_proj, v_proj, o_proj",
        *dropout(drop, None, "        "),
        "      inline: true",
        "    - residual:",
        f"        - layernorm: {{eps: {eps}, name: layernorm_after}}",
        "        - name: mlp",
        f"          layers: [linear: {{out: f, name: fc1}}, {layer(act, name='activation_fn')}, "
        "linear: {out: d, name: fc2}]",
        *dropout(drop, None, "        "),
        "      inline: true",
        "layers:",
    ]
    body = [
        "- name: embeddings",
        "  layers:",
        "    - name: patch_embeddings",
        f"      layers: [conv2d: {{out: D, kernel: {patch}, stride: {patch}, name: projection}}, "
        "flatten: {start: 1}, transpose]",
        "    - class_token: {name: cls_token}",
        f"    - pos_embedding: {{positions: {grid} + 1, add: true, name: position_embeddings}}",
        *dropout(drop, "dropout", "    "),
        "- {name: layers, repeat: depth, layers: [layer: [D, F, heads]]}",
        f"- layernorm: {{eps: {eps}, name: layernorm}}",
    ]
    if not head:
        out = "O" if "O" in sizes else "D"
        return lines + [f"  {line}" for line in body] + [
            "  - name: pooler                        # the class token, a dense layer and pooler_act",
            f"    layers: [select, linear: {{out: {out}, name: dense}}, {layer(pooler_act, name='activation')}]"]
    return [*lines, "  - name: vit", "    layers:", *[f"      {line}" for line in body],
            "  - select                              # the class token",
            *(["  - linear: {out: labels, name: classifier}"] if "labels" in sizes else [])]


def _labels(c: Config) -> int:
    """The classes of a classification head: as many as ``id2label`` names (transformers' ``num_labels``), or
    ``num_labels``, 2 when the config gives neither; both, disagreeing, are refused."""
    names = c.node("id2label")
    if names is not None and not (isinstance(names, YScalar) and names.value is None):
        if not isinstance(names, YMap):
            raise SpecError(names.loc, "'id2label' must be a mapping of class ids to names", code="bad-config")
        count = len(names.items)
        if c.node("num_labels") is not None and c.int("num_labels", least=0) != count:
            raise c.error("num_labels", f"num_labels {c.int('num_labels', least=0)} but id2label names {count} "
                          "classes", code="bad-config", hint="keep one of them (id2label is what transformers saves)")
        return count
    return c.int("num_labels", 2, least=0)


@dataclass(frozen=True)
class Defaults:
    """What a family's config class gives a key the config.json leaves out (transformers' own defaults, which
    differ: Mistral's 14336-wide MLP and 8 key/value heads, Qwen2's 151936-token vocabulary); a test binds
    them to transformers' classes."""

    T: int
    V: int
    F: int
    kv: int | None = None  # None: one per query head (Llama); Mistral 8 and Qwen2 32, whatever the heads
    sliding_window: int | None = None
    head_dim: int | None = None  # None: hidden_size / heads (Qwen3: 128, whatever the hidden size)
    eps: float = 1e-6  # rms_norm_eps (OLMo 2: 1e-5)
    pad: int | None = None  # pad_token_id, the embedding's padding row (OLMo 2: 1)
    heads: int = 32  # num_attention_heads (Gemma: 16, Gemma 2 and 3: 8)
    depth: int = 32  # num_hidden_layers (Gemma: 28, Gemma 2 and 3: 26)


@dataclass(frozen=True)
class Multipliers:
    """IBM Granite's constants (``modeling_granite.py``), each as the spec writes it, None where it is 1 (left
    out): the embedding's rows times ``embedding`` (``embedding: {scale}``), each sub-layer's output times
    ``residual`` before its residual addition and the logits times ``logits`` (1 / ``logits_scaling``), both
    ``scale`` layers, and the attention scores times ``attention``, the attention's ``scale`` (written
    always: Granite's default is 1, not 1/√head_dim)."""

    embedding: str | None
    residual: str | None
    attention: str
    logits: str | None


def granite_multipliers(c: Config) -> Multipliers:
    """The four multipliers of a Granite config, GraniteConfig's defaults 1; each must be a number > 0 (0
    computes no model, and a table's or the scores' scale is positive)."""
    embedding, residual, attention, logits = (c.float(key, 1.0, positive=True) for key in (
        "embedding_multiplier", "residual_multiplier", "attention_multiplier", "logits_scaling"))

    def written(value: float) -> str | None:
        return None if value == 1 else number(value)

    return Multipliers(written(embedding), written(residual), number(attention), written(1 / logits))


def decoder(qkv_bias: Callable[[Config], tuple[bool, bool]], defaults: Defaults, *, mlp_bias: bool = False,
            free_head_dim: bool = True, qk_norm: str = "none", post_norm: bool = False,
            windowed: bool = True, every_layer_slides: bool = False,
            multipliers: Callable[[Config], Multipliers] | None = None) -> Family:
    """Llama's decoder, which Mistral, Qwen2, Qwen3 and OLMo 2 share (``modeling_llama.py``): pre-norm
    RMSNorm, grouped-query attention with rotary positions, a SwiGLU MLP ``down(act(gate(x)) · up(x))``.
    ``qkv_bias`` gives the family's (q/k/v bias, output bias); ``mlp_bias`` whether the family reads the
    config's ``mlp_bias`` (Llama; the others' MLPs have none whatever it says); ``free_head_dim`` whether
    an explicit ``head_dim`` frees the hidden size from being a multiple of the heads (Mistral-NeMo's 5120
    over 32 heads of 128; Llama's config refuses it); ``qk_norm`` the RMSNorm on q and k (Qwen3's per
    head, OLMo 2's over all heads); ``post_norm`` OLMo 2's order, each sub-layer's output normalised
    before the residual addition (``post_attention_layernorm``, ``post_feedforward_layernorm``); ``windowed``
    whether the family has a sliding attention window at all (Llama's and OLMo 2's code reads none);
    ``every_layer_slides`` that its window applies to every layer (Mistral's, Mixtral's), written as the
    attention's ``window`` so that outputs equal the real model's at any length; ``multipliers`` Granite's
    constants (:class:`Multipliers`)."""

    def write(c: Config, head: bool) -> list[str]:
        sizes, grouped = _decoder_sizes(c, defaults, 4096)
        mult = multipliers(c) if multipliers is not None else None
        scaled = [f"        - scale: {mult.residual}   # residual_multiplier"] \
            if mult is not None and mult.residual is not None else []
        args, uses = ("d, f, h, kv", "D, F, heads, kv") if grouped else ("d, f, h", "D, F, heads")
        head_dim = c.int("head_dim", defaults.head_dim) if c.scalar("head_dim", None, "int") is not None \
            else defaults.head_dim
        if head_dim is None or not free_head_dim:
            _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])
        elif head_dim * sizes["heads"] == sizes["D"]:
            head_dim = None  # the default, left out
        act = c.activation("hidden_act", "silu")
        eps = number(c.float("rms_norm_eps", defaults.eps, positive=True))
        theta, _, scaling = _rope(c, partial=False)
        c.require("pretraining_tp", 1, "weights split into slices for tensor parallelism while pre-training")
        window = _sliding_window(c, defaults.sliding_window, sizes["depth"], every_layer_slides) if windowed \
            else None
        bias, out_bias = qkv_bias(c)
        biased = mlp_bias and c.flag("mlp_bias", False)
        mlp = None if biased else False  # the linear kind's default bias is true
        attn_drop = c.probability("attention_dropout", 0.0) or None
        pad = _padding(c, sizes["V"], defaults.pad)
        attention = [
            f"            {k}: {v}"
            for k, v in dict(
                heads="h",
                kv_heads="kv" if grouped else None,
                head_dim=head_dim,
                bias=None if bias else "false",
                out_bias="false" if bias and not out_bias else "true" if out_bias and not bias else None,
                causal="true",
                window=window,
                scale=None if mult is None else mult.attention,
                rotary="half",
                theta=number(theta),
                **scaling,
                qk_norm=None if qk_norm == "none" else qk_norm,
                qk_norm_eps=None if qk_norm == "none" or float(eps) == 1e-6 else eps,
                dropout=None if attn_drop is None else number(attn_drop),
            ).items()
            if v is not None
        ]
        lines = [
            *_header(c, sizes),
            "blocks:",
            f"  decoder({args}):",
            "    - residual:",
            *([] if post_norm else [f"        - rmsnorm: {{eps: {eps}, name: input_layernorm}}"]),
            "        - multihead_attention:        # q_proj, k_proj, v_proj, o_proj"
            + (", q_norm, k_norm" if qk_norm != "none" else ""),
            *attention,
            "            name: self_attn",
            *([f"        - rmsnorm: {{eps: {eps}, name: post_attention_layernorm}}"] if post_norm else []),
            *scaled,
            "      inline: true",
            "    - residual:",
            *([] if post_norm else [f"        - rmsnorm: {{eps: {eps}, name: post_attention_layernorm}}"]),
            *gated_mlp(act, mlp),
            *([f"        - rmsnorm: {{eps: {eps}, name: post_feedforward_layernorm}}"] if post_norm else []),
            *scaled,
            "      inline: true",
            "layers:",
        ]
        if mult is None:
            return _decoder_model(c, lines, uses, eps, pad, head)
        return _decoder_model(c, lines, uses, eps, pad, head, mult.embedding, mult.logits)

    return write


def _decoder_sizes(c: Config, defaults: Defaults, hidden: int) -> tuple[dict[str, int], bool]:
    """The symbols of a Llama-like decoder (T, V, D, F, heads, kv when grouped, depth) from the config with the
    family's defaults, and whether the attention is grouped-query; key/value heads that do not divide the
    heads are a located error (at the default's absence when the family's default is what fails)."""
    sizes = dict(T=c.int("max_position_embeddings", defaults.T), V=c.int("vocab_size", defaults.V),
                 D=c.int("hidden_size", hidden), F=c.int("intermediate_size", defaults.F),
                 heads=c.int("num_attention_heads", defaults.heads))
    # a null: one key/value head per query head, as every family's config class that takes it reads it
    kv = sizes["heads"] if c.null("num_key_value_heads") else \
        c.int("num_key_value_heads", defaults.kv or sizes["heads"])
    if sizes["heads"] % kv:
        raise c.error(
            "num_key_value_heads",
            f"num_key_value_heads {kv} does not divide num_attention_heads {sizes['heads']}",
            code="bad-config",
            hint="each key/value head serves the same number of query heads" if c.node("num_key_value_heads")
            else f"{kv} is {c.value('model_type')}'s default whatever the heads: give num_key_value_heads",
        )
    grouped = kv != sizes["heads"]  # grouped-query attention; otherwise kv_heads is left at its default
    if grouped:
        sizes["kv"] = kv
    sizes["depth"] = c.int("num_hidden_layers", defaults.depth)
    return sizes, grouped


def gated_mlp(act: str, bias: bool) -> list[str]:
    """Llama's MLP as the decoder block's lines: ``down_proj(act_fn(gate_proj(x)) * up_proj(x))``, named as
    transformers names it (Llama, Mistral, Qwen, Gemma, StableLM)."""
    return [
        "        - name: mlp",
        "          layers:",
        "            - multiply:",
        f"                - layers: [{layer('linear', out='f', bias=bias, name='gate_proj')}, "
        f"{layer(act, name='act_fn')}]",
        f"                - {layer('linear', out='f', bias=bias, name='up_proj')}",
        "              inline: true",
        f"            - {layer('linear', out='d', bias=bias, name='down_proj')}",
    ]


def _decoder_model(c: Config, lines: list[str], uses: str, eps: str, pad: int | None, head: bool,
                   scale: str | None = None, logits: str | None = None) -> list[str]:
    """The model of a Llama-like decoder after its block: the token embedding (its rows times ``scale``,
    Granite's ``embedding_multiplier``), ``depth`` decoder layers, the final RMSNorm, and the language-model
    head (tied with ``tie_word_embeddings``; its logits times ``logits``, Granite's 1 / ``logits_scaling``)."""
    body = [
        f"- {layer('embedding', vocab='V', dim='D', padding_idx=pad, scale=scale, name='embed_tokens')}"
        + ("   # embedding_multiplier" if scale is not None else ""),
        f"- {{name: layers, repeat: depth, layers: [decoder: [{uses}]]}}",
        f"- rmsnorm: {{eps: {eps}, name: norm}}",
    ]
    lines = _with_head(lines, body, head, "model", "embed_tokens", c.flag("tie_word_embeddings", False))
    if head and logits is not None:
        lines.append(f"  - scale: {logits}   # logits / logits_scaling")
    return lines


def _llama_bias(c: Config) -> tuple[bool, bool]:
    bias = c.flag("attention_bias", False)
    return bias, bias


#: each family's defaults, transformers' LlamaConfig, MistralConfig, Qwen2Config, Qwen3Config and Olmo2Config
DEFAULTS = {"llama": Defaults(T=2048, V=32000, F=11008),
            "mistral": Defaults(T=131072, V=32000, F=14336, kv=8, sliding_window=4096),
            "qwen2": Defaults(T=32768, V=151936, F=22016, kv=32),
            "qwen3": Defaults(T=32768, V=151936, F=22016, kv=32, head_dim=128),
            "olmo2": Defaults(T=2048, V=50304, F=11008, eps=1e-5, pad=1)}
family("llama", "LlamaModel", "LlamaForCausalLM")(decoder(_llama_bias, DEFAULTS["llama"], mlp_bias=True,
                                                          free_head_dim=False, windowed=False))
family("mistral", "MistralModel", "MistralForCausalLM")(decoder(lambda c: (False, False), DEFAULTS["mistral"],
                                                              every_layer_slides=True))
family("qwen2", "Qwen2Model", "Qwen2ForCausalLM")(decoder(lambda c: (True, False), DEFAULTS["qwen2"]))  # q, k, v
family("qwen3", "Qwen3Model", "Qwen3ForCausalLM")(decoder(_llama_bias, DEFAULTS["qwen3"], qk_norm="head"))
family("olmo2", "Olmo2Model", "Olmo2ForCausalLM")(decoder(_llama_bias, DEFAULTS["olmo2"], qk_norm="all",
                                                          post_norm=True, windowed=False))
#: IBM Granite (3.0 to 3.3; GraniteConfig's defaults are Llama's): Llama's decoder with Granite's four multipliers
DEFAULTS["granite"] = Defaults(T=2048, V=32000, F=11008)
family("granite", "GraniteModel", "GraniteForCausalLM")(decoder(_llama_bias, DEFAULTS["granite"], mlp_bias=True,
                                                                windowed=False, multipliers=granite_multipliers))


#: Hugging Face's activation names → the gate function of ``glu`` (``glu: {activation: …}``)
GATES = {"gelu": "gelu", "gelu_new": "gelu_tanh", "gelu_pytorch_tanh": "gelu_tanh", "relu": "relu", "silu": "silu",
         "swish": "silu", "tanh": "tanh", "sigmoid": "sigmoid"}
DEFAULTS["phi3"] = Defaults(T=4096, V=32064, F=8192, eps=1e-5, pad=32000)


@family("phi3", "Phi3Model", "Phi3ForCausalLM")
def phi3(c: Config, head: bool) -> list[str]:
    """``modeling_phi3.py`` (Phi-3, Phi-3.5 and Phi-4): Llama's decoder with q, k and v fused in one projection
    (``qkv_proj``, q then k then v, read by ``attention`` on its one input) and the MLP's gate and up fused in
    ``gate_up_proj`` (the gate its first half: ``glu: {activation: silu, gate: first}``), a dropout
    (``resid_pdrop``) on each sub-layer's output, and rotary embedding on a share of each head
    (``partial_rotary_factor``, Phi-4-mini's 0.75)."""
    d = DEFAULTS["phi3"]
    sizes, grouped = _decoder_sizes(c, d, 3072)
    if c.scalar("head_dim", None, "int") is None:
        _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])
        head_dim, per_head = sizes["D"] // sizes["heads"], "(d // h)"
    else:
        head_dim = c.int("head_dim", None)
        per_head = str(head_dim)
    theta, factor, scaling = _rope(c, partial=True, top_original=4096)
    rotary_dim = _rotary_dim(c, head_dim, factor)
    gate = GATES[c.choice("hidden_act", "silu", GATES, "activation")]
    eps = number(c.float("rms_norm_eps", d.eps, positive=True))
    _sliding_window(c, None, sizes["depth"])
    resid, attn_drop = c.probability("resid_pdrop", 0.0), c.probability("attention_dropout", 0.0) or None
    width = f"(h + 2 * kv) * {per_head}" if grouped else ("3 * d" if per_head == "(d // h)" else f"3 * {per_head} * h")
    args, uses = ("d, f, h, kv", "D, F, heads, kv") if grouped else ("d, f, h", "D, F, heads")
    attention = layer("attention", heads="h", kv_heads="kv" if grouped else None, causal="true", rotary="half",
                      theta=number(theta), rotary_dim=rotary_dim if rotary_dim != head_dim else None, **scaling,
                      dropout=None if attn_drop is None else number(attn_drop))
    lines = [
        *_header(c, sizes),
        "blocks:",
        f"  decoder({args}):",
        "    - residual:",
        f"        - rmsnorm: {{eps: {eps}, name: input_layernorm}}",
        "        - name: self_attn",
        "          layers:",
        f"            - linear: {{out: {width}, bias: false, name: qkv_proj}}   # q, k and v side by side",
        f"            - {attention}",
        "            - linear: {out: d, bias: false, name: o_proj}",
        *dropout(resid, "resid_attn_dropout", "        "),
        "      inline: true",
        "    - residual:",
        f"        - rmsnorm: {{eps: {eps}, name: post_attention_layernorm}}",
        "        - name: mlp",
        "          layers:",
        "            - linear: {out: 2 * f, bias: false, name: gate_up_proj}   # the gate, then up",
        f"            - glu: {{activation: {gate}, gate: first}}",
        "            - linear: {out: d, bias: false, name: down_proj}",
        *dropout(resid, "resid_mlp_dropout", "        "),
        "      inline: true",
        "layers:",
    ]
    return _decoder_model(c, lines, uses, eps, _padding(c, sizes["V"], d.pad), head)


# -- mixtures of experts ----------------------------------------------------------------------------


@dataclass
class _FamilyConfig(Config):
    """A config read with a family's own defaults for keys it leaves out (Mixtral's rope_theta is 1e6, where
    the shared readers default to 10000), and keys read under the family's names (Qwen3-MoE's experts are
    ``moe_intermediate_size`` wide, which a Llama-like decoder reads as ``intermediate_size``); errors are
    located at the key actually read. It shares the original's warnings."""

    defaults: dict[str, object] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)

    def node(self, key: str) -> YNode | None:
        return super().node(self.renamed.get(key, key))

    def int(self, key: str, default: object = _MISSING, *, least: int = 1) -> int:
        return super().int(self.renamed.get(key, key), default, least=least)  # its message names the key read

    def float(self, key: str, default: object = _MISSING, *, positive: bool = False) -> float:
        return super().float(self.renamed.get(key, key), default, positive=positive)

    def value(self, key: str, default: object = _MISSING, want: str | None = None) -> object:
        key = self.renamed.get(key, key)
        node = super().node(key)
        if key in self.defaults and (node is None or self.null(key, self.defaults[key], want)):
            return self.defaults[key]
        return super().value(key, default, want)


@dataclass(frozen=True)
class Experts:
    """Where a family's config keeps its mixture of experts: the key of the number of experts (its own;
    transformers reads ``num_experts`` and ``num_local_experts`` alike), the defaults of the experts, top_k
    and ``norm_topk_prob``, and of each other key the config may leave out (transformers' config classes:
    a test binds them)."""

    experts_key: str
    experts: int
    top_k: int
    normalize: bool | None  # None: always renormalised (Mixtral has no norm_topk_prob)
    defaults: dict[str, object] = field(default_factory=dict)
    renamed: dict[str, str] = field(default_factory=dict)
    #: the key of a shared expert's width and its default (Qwen2-MoE's), None for a family without one
    shared: tuple[str, int] | None = None
    #: the sparse block's module name and its router's (GraniteMoE's block_sparse_moe and router)
    name: str = "mlp"
    router: str = "gate"


def moe_decoder(dense: Family, moe: Experts) -> Family:
    """A Llama-like decoder (``dense``, one :func:`decoder`) whose MLP is a sparse mixture of experts, named
    ``mlp`` as the family's ``SparseMoeBlock`` is (``gate``, ``experts.gate_up_proj``, ``experts.down_proj``;
    GraniteMoE's ``block_sparse_moe`` with a ``router``, as :class:`Experts` says):
    the dense family's spec with its MLP lines replaced by one ``moe`` layer, and the experts' count and
    top_k as the symbols E and k. The router's jitter noise (Mixtral's ``router_jitter_noise``) scales the
    input only while training: a warning, as the spec computes the evaluation forward pass. The auxiliary
    load-balancing loss (``output_router_logits``, ``router_aux_loss_coef``) is not part of the forward
    pass, and is read by nothing here."""

    def write(c: Config, head: bool) -> list[str]:
        family_config = _FamilyConfig(c.root, c.path, c.warnings, moe.defaults, moe.renamed, family=c.family,
                                      nullable=c.nullable)
        # transformers reads either name of the count (its attribute_map) and saves the family's own
        alias = "num_experts" if moe.experts_key == "num_local_experts" else "num_local_experts"
        key = alias if not c.given(moe.experts_key) and c.given(alias) else moe.experts_key
        experts = family_config.int(key, moe.experts)
        other = alias if key == moe.experts_key else moe.experts_key
        if c.given(other) and family_config.int(other, moe.experts) != experts:
            # transformers keeps whichever the file gives last: a config that says both ways is ambiguous
            raise c.error(other, f"'{other}' is {family_config.int(other, moe.experts)} but '{key}' is {experts}: "
                          "two names for the number of experts disagree", code="bad-config",
                          hint=f"keep one of them ({moe.experts_key} is {c.value('model_type')}'s own)")
        top_k = family_config.int("num_experts_per_tok", moe.top_k)
        if top_k > experts:
            raise c.error("num_experts_per_tok", f"num_experts_per_tok {top_k} is more than the {experts} experts "
                          f"({key})", code="bad-config", hint="each token goes to at most every expert")
        normalize = True if moe.normalize is None else family_config.flag("norm_topk_prob", moe.normalize)
        jitter = family_config.float("router_jitter_noise", 0.0)
        if jitter:
            c.warnings.append(SpecError(c.where("router_jitter_noise"), f"router_jitter_noise {jitter:g} scales the "
                                        "input by random factors while training only: the spec computes the "
                                        "evaluation forward pass (counts do not depend on it)", code="training-only"))
        lines = dense(family_config, head)
        start = lines.index("        - name: mlp")
        end = next(i for i in range(start, len(lines)) if "name: down_proj" in lines[i])
        act = GATES[family_config.choice("hidden_act", "silu", GATES, "activation")]
        shared = family_config.int(*moe.shared) if moe.shared else None
        moe_layer = layer("moe", experts="E", top_k="k", hidden="f", activation=None if act == "silu" else act,
                          normalize=None if normalize else False, shared="S" if shared else None,
                          router=None if moe.router == "gate" else moe.router, name=moe.name)
        parts = ("router gate" if moe.router == "gate" else moe.router) + ", experts" + \
            (", shared_expert, shared_expert_gate" if shared else "")
        lines[start:end + 1] = [f"        - {moe_layer}   # {parts}"]
        symbols = next(i for i, line in enumerate(lines) if line.startswith("symbols: {"))
        lines[symbols] = f"{lines[symbols][:-1]}, E: {experts}, k: {top_k}{f', S: {shared}' if shared else ''}}}"
        return lines

    return write


#: transformers' MixtralConfig: Mistral's decoder with rope_theta 1e6 by default, no sliding window unless given
DEFAULTS["mixtral"] = Defaults(T=131072, V=32000, F=14336, kv=8, eps=1e-5)
family("mixtral", "MixtralModel", "MixtralForCausalLM")(moe_decoder(
    decoder(lambda c: (False, False), DEFAULTS["mixtral"], every_layer_slides=True),
    Experts("num_local_experts", 8, 2, None, defaults={"rope_theta": 1000000.0})))


def _all_sparse(c: Config) -> None:
    """Qwen-MoE's layers are all sparse unless ``decoder_sparse_step`` or ``mlp_only_layers`` make some dense
    (a plain MLP of ``intermediate_size``): a located error, as every repeat of the spec's block is one kind."""
    c.require("decoder_sparse_step", 1, "a dense MLP in every layer but each decoder_sparse_step-th")
    dense = c.node("mlp_only_layers")
    if dense is not None and not isinstance(dense, YSeq) and not (isinstance(dense, YScalar) and dense.value is None):
        raise SpecError(dense.loc, f"'mlp_only_layers' must be a list of layer indices, got {describe(dense)}",
                        code="bad-config", hint='"mlp_only_layers": [] (every layer sparse)')
    if isinstance(dense, YSeq) and dense.items:
        raise SpecError(dense.loc, "'mlp_only_layers': layers with a dense MLP among the sparse ones",
                        code="unsupported-config", hint='the spec repeats one decoder layer; only "mlp_only_layers": '
                        "[] imports")


def _qwen_moe(sparse: Family) -> Family:
    """Qwen-MoE's decoder (``sparse``, a :func:`moe_decoder`) with every MLP sparse (:func:`_all_sparse`), and
    ``use_sliding_window`` a warning: the layers ``max_window_layers`` makes sliding are not told apart."""

    def write(c: Config, head: bool) -> list[str]:
        _all_sparse(c)
        if c.flag("use_sliding_window", False):
            _sliding_window(c, 4096, 1)
        return sparse(c, head)

    return write


DEFAULTS["qwen2_moe"] = Defaults(T=32768, V=151936, F=1408, kv=16)
_QWEN2_MOE = moe_decoder(
    decoder(lambda c: (c.flag("qkv_bias", True), False), DEFAULTS["qwen2_moe"], windowed=False),
    Experts("num_experts", 60, 4, False, defaults={"hidden_size": 2048, "num_hidden_layers": 24,
                                                   "num_attention_heads": 16},
            renamed={"intermediate_size": "moe_intermediate_size"},
            shared=("shared_expert_intermediate_size", 5632)))
#: Qwen2-MoE: Qwen2's q, k, v biases (``qkv_bias``), experts ``moe_intermediate_size`` wide and a shared expert
#: ``shared_expert_intermediate_size`` wide that every token runs, scaled by σ(``shared_expert_gate``(x))
family("qwen2_moe", "Qwen2MoeModel", "Qwen2MoeForCausalLM")(_qwen_moe(_QWEN2_MOE))


DEFAULTS["qwen3_moe"] = Defaults(T=32768, V=151936, F=768, kv=4)
_QWEN3_MOE = moe_decoder(
    decoder(_llama_bias, DEFAULTS["qwen3_moe"], qk_norm="head", windowed=False),
    Experts("num_local_experts", 128, 8, False, defaults={"hidden_size": 2048, "num_hidden_layers": 24},
            renamed={"intermediate_size": "moe_intermediate_size"}))
#: Qwen3-MoE: Qwen3's q_norm and k_norm per head, experts ``moe_intermediate_size`` wide, no shared expert
family("qwen3_moe", "Qwen3MoeModel", "Qwen3MoeForCausalLM")(_qwen_moe(_QWEN3_MOE))


def _olmoe(c: Config, head: bool) -> list[str]:
    """OLMoE: OLMo 2's q and k norms over all heads' features, but Llama's pre-norm order, and a sparse MLP
    in every layer (experts ``intermediate_size`` wide, the kept weights renormalised only with
    ``norm_topk_prob``); ``clip_qkv`` (clamping q, k and v) has no spec form."""
    if c.value("clip_qkv", None) is not None:
        raise c.error("clip_qkv", "'clip_qkv': q, k and v clamped to a range", hint='the spec language cannot '
                      'express it; only "clip_qkv": null imports')
    return _OLMOE(c, head)


DEFAULTS["olmoe"] = Defaults(T=4096, V=50304, F=2048, eps=1e-5, pad=1)
_OLMOE = moe_decoder(decoder(_llama_bias, DEFAULTS["olmoe"], free_head_dim=False, qk_norm="all", windowed=False),
                     Experts("num_experts", 64, 8, False, defaults={"hidden_size": 2048, "num_hidden_layers": 16,
                                                                    "num_attention_heads": 16}))
family("olmoe", "OlmoeModel", "OlmoeForCausalLM")(_olmoe)

#: IBM GraniteMoE (granite-3.0-1b-a400m, 3b-a800m; GraniteMoeConfig's defaults are Llama's, with 8 experts of
#: intermediate_size, 2 per token): Granite's decoder and four multipliers, its MLP a sparse block named
#: block_sparse_moe whose router is router.weight. GraniteMoeTopKRouter keeps the top_k logits and takes the softmax
#: over them alone, which is the softmax over every expert kept and renormalised (normalize: true, the moe default)
DEFAULTS["granitemoe"] = Defaults(T=2048, V=32000, F=11008)
family("granitemoe", "GraniteMoeModel", "GraniteMoeForCausalLM")(moe_decoder(
    decoder(_llama_bias, DEFAULTS["granitemoe"], windowed=False, multipliers=granite_multipliers),
    Experts("num_local_experts", 8, 2, None, name="block_sparse_moe", router="router")))


# -- Gemma ------------------------------------------------------------------------------------------

#: GemmaConfig's, Gemma2Config's and Gemma3TextConfig's defaults (gemma-7b's and gemma-2-2b's sizes): 256-wide
#: heads whatever the hidden size, key/value heads that do not follow the heads, padding row 0
DEFAULTS["gemma"] = Defaults(T=8192, V=256000, F=24576, kv=16, head_dim=256, pad=0, heads=16, depth=28)
DEFAULTS["gemma2"] = Defaults(T=8192, V=256000, F=9216, kv=4, sliding_window=4096, head_dim=256, pad=0, heads=8,
                              depth=26)
DEFAULTS["gemma3_text"] = Defaults(T=131072, V=262208, F=9216, kv=4, sliding_window=4096, head_dim=256, pad=0,
                                   heads=8, depth=26)
#: each generation's default hidden_size
GEMMA_HIDDEN = {"gemma": 3072, "gemma2": 2304, "gemma3_text": 2304}
SLIDING, FULL = "sliding_attention", "full_attention"


def gemma(generation: int) -> Family:
    """Google's Gemma (``modeling_gemma.py``), Gemma 2 and Gemma 3's text model: Llama's decoder with Gemma's
    RMSNorm (x̂·(1 + γ), ``rmsnorm: {offset: 1}``), the embedding's rows times √hidden_size (``scale``), a
    GeGLU MLP (``gelu_pytorch_tanh``), 256-wide heads and the LM head tied. Gemma 2 adds a norm after each
    sub-layer too (``post_attention_layernorm``, ``pre_feedforward_layernorm``, ``post_feedforward_layernorm``),
    scores scaled by ``query_pre_attn_scalar``⁻¹ᐟ² and soft-capped (``attn_logit_softcapping``), the logits
    soft-capped (``final_logit_softcapping``, a ``softcap`` layer after ``lm_head``) and sliding-window layers
    (``layer_types``: a window of ``sliding_window`` positions) between global ones. Gemma 3 adds q and k norms
    per head (Gemma's RMSNorm) and a rotary base per layer type (``rope_local_base_freq`` on the sliding
    layers), with linear scaling on the global ones (the 4B and larger models' factor 8)."""

    def write(c: Config, head: bool) -> list[str]:
        model_type = str(c.value("model_type"))
        d = DEFAULTS[model_type]
        sizes, grouped = _decoder_sizes(c, d, GEMMA_HIDDEN[model_type])
        if generation > 1:  # Gemma2Config and Gemma3TextConfig refuse it whatever head_dim says
            _divides(c, "hidden_size", sizes["D"], "num_attention_heads", sizes["heads"])
        head_dim = c.int("head_dim", d.head_dim)
        # Gemma's MLP reads hidden_act (its config reads the first releases' "gelu" as the tanh form it meant);
        # Gemma 2's and 3's read hidden_activation alone
        act_key = "hidden_act" if generation == 1 else "hidden_activation"
        act_name = c.choice(act_key, "gelu_pytorch_tanh", ACTIVATIONS, "activation")
        act = ACTIVATIONS["gelu_pytorch_tanh" if generation == 1 and act_name == "gelu" else act_name]
        eps = number(c.float("rms_norm_eps", d.eps, positive=True))
        c.require("use_bidirectional_attention", False, "attention to every position (an encoder), not a causal "
                  "decoder's")
        bias = c.flag("attention_bias", False)
        attn_drop = c.probability("attention_dropout", 0.0) or None
        pad = _padding(c, sizes["V"], d.pad)
        scale = attn_cap = final_cap = window = None
        if generation > 1:
            query = c.float("query_pre_attn_scalar", 256, positive=True)
            scale = None if query == head_dim else number(query ** -0.5)  # transformers: query_pre_attn_scalar**-0.5
            attn_cap = _softcap(c, "attn_logit_softcapping", 50.0 if generation == 2 else None)
            if generation == 3 and attn_cap is not None:  # Gemma3Attention keeps it but never passes it on
                c.warnings.append(SpecError(c.where("attn_logit_softcapping"), f"attn_logit_softcapping "
                                            f"{attn_cap:g}: Gemma 3's attention code never applies it, so the spec "
                                            "caps no scores either", code="ignored-setting"))
                attn_cap = None
            final_cap = _softcap(c, "final_logit_softcapping", 30.0 if generation == 2 else None)
            sliding = _layer_types(c, sizes["depth"], 2 if generation == 2 else c.int("sliding_window_pattern", 6))
        else:
            sliding = [False] * sizes["depth"]
        if any(sliding):
            window = c.int("sliding_window", d.sliding_window)
        theta, _, scaling = (None, None, {}) if generation == 3 else _rope(c, partial=False)
        rope = _gemma3_rope(c) if generation == 3 else dict.fromkeys((SLIDING, FULL), (theta, None))
        condition = _pattern(c, sliding)

        def attention(local: bool, indent: str) -> list[str]:
            theta, factor = rope[SLIDING if local else FULL]
            args = dict(
                heads="h",
                kv_heads="kv" if grouped else None,
                head_dim=None if head_dim * sizes["heads"] == sizes["D"] else head_dim,
                bias=None if bias else "false",
                causal="true",
                window=window if local else None,
                scale=scale,
                softcap=None if attn_cap is None else number(attn_cap),
                rotary="half",
                theta=number(theta),
                **{"rotary_factor": None if factor is None else number(factor), **scaling},
                qk_norm="head" if generation == 3 else None,
                qk_norm_eps=eps if generation == 3 and float(eps) != 1e-6 else None,
                qk_norm_offset=1 if generation == 3 else None,
                dropout=None if attn_drop is None else number(attn_drop),
                name="self_attn",
            )
            what = "q_proj, k_proj, v_proj, o_proj" + (", q_norm, k_norm" if generation == 3 else "")
            return [f"{indent}- multihead_attention:        # {what}",
                    *(f"{indent}    {k}: {v}" for k, v in args.items() if v is not None)]

        if condition is None:
            attn = attention(sliding[0], "        ")
        else:
            period = condition
            attn = [f"        - if: (i + 1) // {period} * {period} != i + 1   # {SLIDING}, but every {period}"
                    f"{_ordinal(period)} layer: {FULL}",
                    "          then:", *attention(True, "            "),
                    "          else:", *attention(False, "            ")]

        def norm(name: str) -> str:
            return f"        - rmsnorm: {{eps: {eps}, offset: 1, name: {name}}}"

        args, uses = ("d, f, h, kv", "D, F, heads, kv") if grouped else ("d, f, h", "D, F, heads")
        if condition is not None:
            args, uses = args + ", i", uses + ", i"
        mlp_norm = "post_attention_layernorm" if generation == 1 else "pre_feedforward_layernorm"
        lines = [
            *_header(c, sizes),
            "blocks:",
            f"  decoder({args}):",
            "    - residual:",
            norm("input_layernorm"),
            *attn,
            *([norm("post_attention_layernorm")] if generation > 1 else []),
            "      inline: true",
            "    - residual:",
            norm(mlp_norm),
            *gated_mlp(act, False),
            *([norm("post_feedforward_layernorm")] if generation > 1 else []),
            "      inline: true",
            "layers:",
        ]
        repeat = "repeat: depth, index: i" if condition is not None else "repeat: depth"
        embedding = layer("embedding", vocab="V", dim="D", padding_idx=pad, scale=number(sizes["D"] ** 0.5),
                          name="embed_tokens")
        body = [
            f"- {embedding}   # the rows times √D",
            f"- {{name: layers, {repeat}, layers: [decoder: [{uses}]]}}",
            f"- rmsnorm: {{eps: {eps}, offset: 1, name: norm}}",
        ]
        lines = _with_head(lines, body, head, "model", "embed_tokens", c.flag("tie_word_embeddings", True))
        if head and final_cap is not None:  # tanh(logits / cap) · cap
            lines.append(f"  - softcap: {{cap: {number(final_cap)}, name: final_logit_softcapping}}")
        return lines

    return write


def _ordinal(n: int) -> str:
    return "th" if n % 100 in (11, 12, 13) else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")


def _softcap(c: Config, key: str, default: float | None) -> float | None:
    """A soft cap c of Gemma 2's (tanh(x/c)·c), or None where the config has none (JSON null)."""
    written = c.node(key)
    if isinstance(written, YScalar) and written.value is None:
        return None
    return None if default is None and written is None else c.float(key, default, positive=True)


def _layer_types(c: Config, depth: int, period: int) -> list[bool]:
    """Which layers attend through a sliding window: ``layer_types`` as the config lists them, else the
    generation's pattern (Gemma 2: every other layer from the first; Gemma 3: all but every
    ``sliding_window_pattern``-th)."""
    node = c.node("layer_types")
    if node is None or (isinstance(node, YScalar) and node.value is None):
        return [(i + 1) % period != 0 for i in range(depth)]
    if not isinstance(node, YSeq):
        raise SpecError(node.loc, f"'layer_types' must be a list of '{SLIDING}' and '{FULL}', got {describe(node)}",
                        code="bad-config")
    for item in node.items:
        if not (isinstance(item, YScalar) and item.value in (SLIDING, FULL)):
            raise SpecError(item.loc, f"'layer_types': archcalc cannot express layer type {describe(item)}",
                            code="unsupported-config", hint=f"Gemma's layers are '{SLIDING}' or '{FULL}'")
    if len(node.items) != depth:
        raise SpecError(node.loc, f"'layer_types' names {len(node.items)} layers, but num_hidden_layers is {depth}",
                        code="bad-config", hint="one type per layer")
    return [item.value == SLIDING for item in node.items]


def _pattern(c: Config, sliding: list[bool]) -> int | None:
    """The period p of the layer types when every p-th layer is global and the others slide (the spec's
    ``if:`` on the layer's index), None when every layer is of one type."""
    if all(sliding) or not any(sliding):
        return None
    period = sliding.index(False) + 1
    if sliding != [(i + 1) % period != 0 for i in range(len(sliding))]:
        raise c.error("layer_types", "'layer_types' is no pattern archcalc writes: every p-th layer "
                      f"'{FULL}', the others '{SLIDING}'", hint="the spec chooses each layer's attention by its "
                      "index; a list without such a period would need a block per layer")
    return period


def _gemma3_rope(c: Config) -> dict[str, tuple[float, float | None]]:
    """Gemma 3's rotary embedding per layer type: (base, linear scaling factor or None). transformers 5 saves
    ``rope_parameters`` by layer type; the hub's configs give ``rope_theta`` (the global layers',
    1,000,000), ``rope_local_base_freq`` (the sliding layers', 10,000) and ``rope_scaling`` (the global
    layers' only: linear, factor 8 in the 4B and larger models). Any other rope type is refused."""
    params = c.node("rope_parameters")
    if isinstance(params, YScalar) and params.value is None:
        params = None
    if params is not None and not isinstance(params, YMap):
        raise SpecError(params.loc, "'rope_parameters' must be a mapping", code="bad-config", hint=ROPE_HINT)
    if params is not None and params.items and params.get(SLIDING) is None and params.get(FULL) is None:
        raise SpecError(params.loc, f"'rope_parameters': Gemma 3 gives one per layer type ('{SLIDING}', '{FULL}')",
                        code="bad-config", hint="as Gemma3TextConfig saves it: "
                        '{"full_attention": {"rope_type": "default", "rope_theta": 1000000.0}, …}')
    scaling = c.node("rope_scaling")
    if isinstance(scaling, YScalar) and scaling.value is None:
        scaling = None
    if scaling is not None and not isinstance(scaling, YMap):
        raise SpecError(scaling.loc, "'rope_scaling' must be a mapping", code="bad-config",
                        hint='as the hub writes it: {"rope_type": "linear", "factor": 8.0}, or null for none')
    bases = {FULL: c.float("rope_theta", 1_000_000.0, positive=True),
             SLIDING: c.float("rope_local_base_freq", 10_000.0, positive=True)}
    rope: dict[str, tuple[float, float | None]] = {}
    for kind in (SLIDING, FULL):
        node = params.get(kind) if params is not None else None
        if node is None and kind == FULL:
            node = scaling
        if node is None or (isinstance(node, YScalar) and node.value is None):
            rope[kind] = (bases[kind], None)
            continue
        if not isinstance(node, YMap):
            raise SpecError(node.loc, f"'{kind}' must be a mapping of rope parameters", code="bad-config")
        inner = Config(node, c.path)
        key = "rope_type" if inner.node("rope_type") is not None or inner.node("type") is None else "type"
        rope_type = inner.choice(key, "default", ("default", "linear"), "rope type")
        inner.require("partial_rotary_factor", 1.0, "rotary embedding on part of each head")
        factor = inner.float("factor", positive=True) if rope_type == "linear" else None
        rope[kind] = (inner.float("rope_theta", bases[kind], positive=True), None if factor == 1 else factor)
    return rope


family("gemma", "GemmaModel", "GemmaForCausalLM")(gemma(1))
family("gemma2", "Gemma2Model", "Gemma2ForCausalLM")(gemma(2))
family("gemma3_text", "Gemma3TextModel", "Gemma3ForCausalLM")(gemma(3))


# -- shared pieces ----------------------------------------------------------------------------------


def _with_head(lines: list[str], body: list[str], head: bool, base: str, embedding: str, tied: bool,
               bias: bool = False) -> list[str]:
    """The base model's layers at the top level, or, with the language-model head, under ``base`` (Hugging
    Face's ``transformer``, ``model``) followed by ``lm_head``, tied to the token embedding when ``tied``;
    ``bias`` gives the head a bias of its own (Phi's), which a tie leaves untied."""
    if not head:
        return lines + [f"  {line}" for line in body]
    tie = f", tie: {base}.{embedding}" if tied else ""
    return [*lines, f"  - name: {base}", "    layers:", *[f"      {line}" for line in body],
            f"  - linear: {{out: V{'' if bias else ', bias: false'}, name: lm_head{tie}}}"]


def _header(c: Config, sizes: dict[str, int], given: str = "input: [T]                              # token ids"
            ) -> list[str]:
    model_type = c.value("model_type")
    return [
        f"# Imported by `archcalc import` from a Hugging Face config.json (model_type {model_type}). The layer",
        "# names are Hugging Face's, so the real model's state dict loads into `archcalc.to_torch(spec)`.",
        f"name: {model_type}",
        given,
        "symbols: {" + ", ".join(f"{k}: {v}" for k, v in sizes.items()) + "}",
    ]


def _p(p: float) -> str | None:
    return number(p) if p else None


def _divides(c: Config, dim_key: str, dim: int, heads_key: str, heads: int) -> None:
    if dim % heads:
        raise c.error(
            heads_key,
            f"{heads_key} {heads} does not divide {dim_key} {dim}",
            code="bad-config",
            hint="every head gets the same number of dimensions",
        )


def _padding(c: Config, vocab: int, default: int | None = None) -> int | None:
    """The embedding's padding row: ``pad_token_id`` when it names a row (Hugging Face passes it to
    ``nn.Embedding``, which keeps that row at zero and out of the gradient); ``default`` the family's when the
    key is missing. An explicit null is no padding row, as transformers reads it (not the family's default)."""
    node = c.node("pad_token_id")
    pad = None if isinstance(node, YScalar) and node.value is None else c.scalar("pad_token_id", default, "int")
    if pad is None:
        return None
    if not isinstance(pad, int) or isinstance(pad, bool) or not 0 <= pad < vocab:
        given = c.node("pad_token_id") is not None
        fixed = c.fix("pad_token_id", pad, "int", least=0) if given and not isinstance(pad, int) else None
        raise c.error(
            "pad_token_id", f"pad_token_id {pad!r} {'' if given else '(the family default) '}is not a token id below "
            f"vocab_size {vocab}", code="bad-config",
            hint=f"{fixed}; or null for no padding row" if fixed and fixed.startswith('"') else
            f"a token id from 0 to {vocab - 1}, or null for no padding row" if given else
            'give "pad_token_id" (a token id, or null for none)',
        )
    return pad


#: transformers' rope types (``ROPE_INIT_FUNCTIONS``) that the attention's rotary_scaling computes
ROPE_TYPES = ("default", "linear", "llama3", "yarn")
#: a published setting of each scaling rope type, for a hint on one missing a key
ROPE_EXAMPLES = {
    "linear": '"factor": 2.0',
    "llama3": 'Llama 3.1: "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0, '
              '"original_max_position_embeddings": 8192',
    "yarn": 'Qwen2.5\'s YaRN: "factor": 4.0, "original_max_position_embeddings": 32768',
}


def _rope(c: Config, partial: bool, share_default: float = 1.0,
          top_original: int | None = None) -> tuple[float, float, dict[str, object]]:
    """(rotary base, the share of each head it rotates, the attention's rope scaling arguments as the spec writes
    them). The base is ``rope_theta`` (config files) or in ``rope_parameters`` (transformers 5); with
    ``partial`` the share is the family's ``partial_rotary_factor`` (Phi-4-mini's 0.75; in ``rope_parameters``
    in transformers 5; ``share_default`` where the config gives none, Phi's 0.5), else a factor other than 1
    is an error. A :class:`_FamilyConfig` reads the top-level keys under its family's names (GPT-NeoX's
    ``rotary_emb_base`` and ``rotary_pct``).

    The scaling is read as transformers reads it: ``rope_scaling`` when it is a mapping with keys (it replaces
    ``rope_parameters``), its type ``rope_type`` or else ``type``; :func:`_scaling` gives its arguments.
    ``top_original`` is the family's default for a top-level ``original_max_position_embeddings``, which then
    wins over the mapping's (Phi-3's config has the attribute)."""
    scaling = c.node("rope_scaling")
    if scaling is not None and not isinstance(scaling, YMap) and \
            not (isinstance(scaling, YScalar) and scaling.value is None):
        raise SpecError(scaling.loc, f"'rope_scaling' must be a mapping, got {describe(scaling)}", code="bad-config",
                        hint=_rope_scaling_hint(scaling))
    params, source = (scaling, "rope_scaling") if isinstance(scaling, YMap) and scaling.items else \
        (c.node("rope_parameters"), "rope_parameters")

    def share(config: Config, default: float) -> float:
        if not partial:
            config.require("partial_rotary_factor", 1.0, "rotary embedding on part of each head")
            return 1.0
        factor = config.float("partial_rotary_factor", default, positive=True)
        key = getattr(config, "renamed", {}).get("partial_rotary_factor", "partial_rotary_factor")
        if factor > 1:
            raise config.error("partial_rotary_factor", f"{key} {factor:g} is more than the whole "
                               "head", code="bad-config", hint="a share of each head's dimensions: at most 1")
        return factor

    factor = share(c, share_default)
    if isinstance(params, YMap):
        inner = Config(params, c.path)
        key = "rope_type" if inner.node("rope_type") is not None or inner.node("type") is None else "type"
        rope_type = inner.value(key, "default")
        if rope_type not in ROPE_TYPES:
            raise inner.error(key, f"'{source}': archcalc's rotary embedding cannot compute rope type "
                              f"{rope_type!r}", hint=choices_hint(str(rope_type), ROPE_TYPES, "rope types")
                              + " (as transformers' modeling_rope_utils computes them)")
        factor = share(inner, factor)
        theta = inner.float("rope_theta", c.float("rope_theta", 10000.0, positive=True), positive=True)
        return theta, factor, _scaling(c, inner, source, rope_type, top_original)
    if params is not None and not (isinstance(params, YScalar) and params.value is None):
        raise SpecError(params.loc, "'rope_parameters' must be a mapping", code="bad-config", hint=ROPE_HINT)
    return c.float("rope_theta", 10000.0, positive=True), factor, {}


def _rope_scaling_hint(scaling: YNode) -> str:
    """The mapping a ``rope_scaling`` that is not one evidently means: a number as linear scaling's factor, a
    rope type's name as its type."""
    value = scaling.value if isinstance(scaling, YScalar) else None
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0 and value == value:
        return f'as transformers reads it: {{"rope_type": "linear", "factor": {float(value)!r}}}, or null for none'
    if value == "linear":
        return f'as transformers reads it: {{"rope_type": "linear", {ROPE_EXAMPLES["linear"]}}}, or null for none'
    if isinstance(value, str) and value in ROPE_EXAMPLES:
        return f'as transformers reads it: {{"rope_type": "{value}", …}} ({ROPE_EXAMPLES[value]})'
    return 'a mapping of the rope type and its keys, as transformers reads it: {"rope_type": "linear", "factor": ' \
        '2.0}, or null for none'


def _scaling(c: Config, inner: Config, source: str, rope_type: str, top_original: int | None) -> dict[str, object]:
    """The attention's rope scaling arguments for ``rope_type`` read from ``inner`` (``source``'s mapping), as
    ``modeling_rope_utils`` reads them: linear's ``factor`` (``rotary_factor``, left out when 1); llama3's
    ``factor``, ``low_freq_factor``, ``high_freq_factor`` (each required) and
    ``original_max_position_embeddings`` (``max_position_embeddings`` when left out); yarn's ``factor`` (null:
    max_position_embeddings / original_max_position_embeddings), ``beta_fast`` and ``beta_slow`` (0 or null
    read as 32 and 1), ``truncate``, and ``attention_factor`` or, with both ``mscale`` and ``mscale_all_dim``,
    their ratio of (0.1·mscale·ln(factor) + 1)s."""
    def needed(key: str) -> float:
        if inner.node(key) is None or (isinstance(inner.node(key), YScalar) and inner.node(key).value is None):
            raise SpecError(inner.root.loc, f"'{source}': rope type {rope_type} needs '{key}'", code="bad-config",
                            hint=f"transformers refuses {rope_type} scaling without it ({ROPE_EXAMPLES[rope_type]})")
        return inner.float(key, positive=True)

    if rope_type == "default":
        return {}
    if rope_type == "linear":
        factor = needed("factor")
        return {} if factor == 1 else {"rotary_factor": number(factor)}
    written = inner.node("original_max_position_embeddings")
    if top_original is None and isinstance(written, YScalar) and written.value is None:
        # transformers fills in max_position_embeddings only where the key is missing; a null stays None, and
        # its llama3 and yarn inverse frequencies fail on it
        raise SpecError(written.loc, f"'{source}': original_max_position_embeddings is null, which transformers' "
                        f"{rope_type} scaling refuses", code="bad-config", hint="the context length the model was "
                        f"trained at ({ROPE_EXAMPLES[rope_type]}); or leave the key out for max_position_embeddings")
    original = c.int("original_max_position_embeddings", top_original) if top_original is not None else \
        inner.int("original_max_position_embeddings", c.int("max_position_embeddings", 2048))
    if rope_type == "llama3":
        factor, low, high = needed("factor"), needed("low_freq_factor"), needed("high_freq_factor")
        if high <= low:
            raise inner.error("high_freq_factor", f"'{source}': high_freq_factor {high:g} is not more than "
                              f"low_freq_factor {low:g}", code="bad-config", hint="the kept short waves end at "
                              "original_max_position_embeddings / high_freq_factor, before the divided long ones "
                              "(Llama 3.1: 4.0 and 1.0)")
        return {"rotary_factor": number(factor), "rotary_scaling": "llama3", "low_freq_factor": number(low),
                "high_freq_factor": number(high), "original_positions": original}
    if inner.node("factor") is None:
        needed("factor")
    factor = inner.float("factor", c.int("max_position_embeddings", 2048) / original, positive=True)
    fast, slow = (inner.float(key, 0.0) or default for key, default in (("beta_fast", 32.0), ("beta_slow", 1.0)))
    if fast < slow:
        raise inner.error("beta_fast", f"'{source}': beta_fast {fast:g} is less than beta_slow {slow:g}",
                          code="bad-config", hint="YaRN keeps the pairs turning more than beta_fast times and "
                          "divides those turning less than beta_slow (32 and 1 by default)")
    # null, as left out: transformers' get("attention_factor") is None either way, and the factor its default
    attention = inner.float("attention_factor", positive=True) if inner.given("attention_factor") else None
    mscale, mscale_all = inner.float("mscale", 0.0), inner.float("mscale_all_dim", 0.0)
    if attention is None and mscale and mscale_all and factor > 1:
        attention = (0.1 * mscale * math.log(factor) + 1.0) / (0.1 * mscale_all * math.log(factor) + 1.0)
    return {"rotary_factor": number(factor), "rotary_scaling": "yarn", "original_positions": original,
            "beta_fast": None if fast == 32 else number(fast), "beta_slow": None if slow == 1 else number(slow),
            "attention_factor": None if attention is None else number(attention),
            "truncate": None if inner.flag("truncate", True) else "false"}


def _rotary_dim(c: Config, head_dim: int, factor: float) -> int:
    """The leading dimensions of each head that rotary embedding turns, ``int(head_dim · factor)`` as transformers'
    rotary embeddings size it (Phi-3's, GPT-NeoX's), or a located error where they are no whole pairs."""
    rotary_dim = int(head_dim * factor)
    if rotary_dim < 2 or rotary_dim % 2:
        params = c.node("rope_parameters")
        inner = params.get("partial_rotary_factor") if isinstance(params, YMap) else None  # read first, as there
        key = "partial_rotary_factor" if inner is not None else \
            getattr(c, "renamed", {}).get("partial_rotary_factor", "partial_rotary_factor")
        raise SpecError(inner.loc if inner is not None else c.where("partial_rotary_factor"),
                        f"{key} {factor:g} of a head of {head_dim} rotates {rotary_dim} dimensions: rotary "
                        "embedding turns pairs of them", code="bad-config",
                        hint="a factor that gives an even number of dimensions, at least 2")
    return rotary_dim


def _sliding_window(c: Config, default: int | None, depth: int, every_layer: bool = False) -> int | None:
    """Mistral's and Mixtral's attention window, on every layer (``every_layer``): returned, for the attention's
    ``window``. Qwen2's and Qwen3's, on the layers its ``layer_types`` or ``use_sliding_window`` and
    ``max_window_layers`` make sliding: it changes outputs only for sequences longer than the window, and no
    count; a warning, since the spec attends to every position."""
    written = c.node("sliding_window")
    if isinstance(written, YScalar) and written.value is None:
        return None  # "sliding_window": null, as MistralConfig(sliding_window=None) saves it: no window at all
    window = c.scalar("sliding_window", default, "int")
    if c.value("model_type") in ("qwen2", "qwen3"):
        use = c.flag("use_sliding_window", False)
        types = c.value("layer_types", None) if not isinstance(c.node("layer_types"), YSeq) else \
            [item.value if isinstance(item, YScalar) else None for item in c.node("layer_types").items]
        if isinstance(types, list):
            sliding = "sliding_attention" in types
        else:
            sliding = use and c.int("max_window_layers", 28, least=0) < depth
        if not sliding:
            return None
    if window is None:
        return None
    window = c.int("sliding_window", default)
    if every_layer:
        return window
    c.warnings.append(
        SpecError(
            c.where("sliding_window"),
            f"sliding_window {window}: the spec attends to every "
            "earlier position, so its outputs equal the real model's only for sequences of "
            f"at most {window} tokens (parameters, shapes and MACs do not depend on it)",
            code="sliding-window",
        )
    )
    return None


# -- JSON nulls -------------------------------------------------------------------------------------

#: the rope keys every rotary family's config reads a null of as left out (transformers 5 standardises them
#: into ``rope_parameters``, skipping a None)
_ROPE = frozenset({"rope_scaling", "rope_parameters", "partial_rotary_factor", "rope_theta"})
#: model_type → the keys the importer reads where transformers takes a JSON null: its config class or model
#: reads it as the key left out (its default), or as "off" (a window, a soft cap) or as another key's value
#: (``num_key_value_heads``: one per query head), which the family's reader gives it. Every other key the
#: importer reads refuses a null, as transformers does (its config class's type check, or the model failing on
#: ``hidden * None``). tests/test_import_nulls.py measures this table against transformers, key by key.
NULLABLE: dict[str, frozenset[str]] = {
    "gpt2": frozenset({"n_inner"}),
    "gptj": frozenset({"n_inner"}),
    "gpt_bigcode": frozenset({"n_inner"}),
    "bert": frozenset({"position_embedding_type", "pad_token_id"}),
    "electra": frozenset({"position_embedding_type", "pad_token_id"}),
    "roberta": frozenset({"position_embedding_type"}),
    "xlm-roberta": frozenset({"position_embedding_type"}),
    "camembert": frozenset({"position_embedding_type"}),
    "distilbert": frozenset({"pad_token_id"}),
    "vit": frozenset({"pooler_output_size"}),
    "llama": _ROPE | {"num_key_value_heads", "head_dim", "pretraining_tp", "attention_dropout", "pad_token_id"},
    "mistral": _ROPE | {"head_dim", "pretraining_tp", "sliding_window", "pad_token_id"},
    "mixtral": _ROPE | {"head_dim", "pretraining_tp", "sliding_window", "pad_token_id"},
    "qwen2": _ROPE | {"num_key_value_heads", "pretraining_tp", "sliding_window", "pad_token_id"},
    "qwen3": _ROPE | {"num_key_value_heads", "pretraining_tp", "sliding_window", "pad_token_id"},
    "olmo2": _ROPE | {"num_key_value_heads", "pretraining_tp", "pad_token_id"},
    "phi3": _ROPE | {"num_key_value_heads", "sliding_window", "pad_token_id"},
    "granite": _ROPE | {"num_key_value_heads", "pretraining_tp", "pad_token_id"},
    "granitemoe": _ROPE | {"num_key_value_heads", "pretraining_tp", "attention_dropout", "pad_token_id",
                           "num_experts", "router_jitter_noise"},
    "qwen2_moe": _ROPE | {"pretraining_tp", "pad_token_id", "mlp_only_layers", "num_local_experts",
                          "router_jitter_noise"},
    "qwen3_moe": _ROPE | {"pretraining_tp", "pad_token_id", "mlp_only_layers", "router_jitter_noise"},
    "olmoe": _ROPE | {"num_key_value_heads", "pretraining_tp", "pad_token_id", "clip_qkv", "router_jitter_noise"},
    "gemma": _ROPE | {"use_bidirectional_attention", "pad_token_id"},
    "gemma2": _ROPE | {"use_bidirectional_attention", "attention_dropout", "pad_token_id", "attn_logit_softcapping",
                       "final_logit_softcapping", "layer_types"},
    "gemma3_text": _ROPE | {"use_bidirectional_attention", "attention_dropout", "pad_token_id",
                            "attn_logit_softcapping", "final_logit_softcapping", "sliding_window_pattern",
                            "layer_types", "rope_local_base_freq"},
    "gpt_neox": frozenset({"rope_scaling", "rope_parameters", "rotary_pct", "rotary_emb_base", "head_dim"}),
    "phi": _ROPE | {"num_key_value_heads", "attention_dropout", "pad_token_id"},
    "starcoder2": _ROPE | {"head_dim", "sliding_window", "pad_token_id"},
    "stablelm": _ROPE | {"head_dim", "pad_token_id"},
    "cohere": _ROPE | {"num_key_value_heads", "use_qk_norm", "attention_dropout", "pad_token_id"},
    "opt": frozenset({"word_embed_proj_dim", "pad_token_id"}),
    "deepseek_v3": _ROPE | {"num_key_value_heads", "partial_rotary_factor", "pretraining_tp", "attention_dropout",
                            "pad_token_id"},
    "deepseek_v2": _ROPE | {"num_key_value_heads", "partial_rotary_factor", "pretraining_tp", "attention_dropout",
                            "pad_token_id", "norm_topk_prob"},
}


# -- the entry point --------------------------------------------------------------------------------

# GPT-NeoX, Phi, StarCoder2, StableLM, OPT, GPT-J, GPT-BigCode, DeepSeek-V2 and V3 register themselves; they use
# the shared pieces above
from archcalc.importers import hf_deepseek, hf_layernorm  # noqa: E402, F401


def read_config(path: str, limits: Limits) -> Config:
    """The config at ``path``: JSON as ``json.load`` and transformers read it (a trailing comma, single
    quotes or a comment are errors there, so here too), then parsed again for the locations of its values."""
    text = read_text(path, limits, "a JSON config")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        empty = not text.strip()
        raise SpecError(Loc(path, e.lineno, e.colno), "the file is empty: a config.json holds one JSON object"
                        if empty else f"invalid JSON: {e.msg}", code="bad-config",
                        hint="pass the model's config.json (Hugging Face's from_pretrained folder has one)" if empty
                        else "config.json is strict JSON: no trailing commas, comments or single quotes") from None
    if not isinstance(data, dict):
        kind = {type(None): "null", list: "an array", str: "a string", bool: "a boolean"}.get(type(data), "a number")
        raise SpecError(Loc(path, 1, 1), f"a config.json holds one JSON object, got {kind}", code="bad-config",
                        hint="pass the model's config.json (Hugging Face's from_pretrained folder has one)")
    root = parse_yaml(text, path, limits)
    if not isinstance(root, YMap):
        raise SpecError(
            root.loc,
            f"a config.json holds one JSON object, got {describe(root)}",
            code="bad-config",
            hint="pass the model's config.json (Hugging Face's from_pretrained folder has one)",
        )
    return Config(root, path)


def import_config(path: str, limits: Limits, *, base: bool = False) -> tuple[str, list[SpecError]]:
    """The spec text for the Hugging Face ``config.json`` at ``path`` and the warnings on it; ``base``
    imports the family's base model (``LlamaModel``) whatever head ``architectures`` names."""
    c = read_config(path, limits)
    if c.value("model_type", None) is None:
        raise c.error("model_type", "the config has no model_type, which names the family it belongs to",
                      hint=f"archcalc imports {', '.join(sorted(FAMILIES))}; a config saved by transformers has it")
    text = c.node("text_config")
    kind = c.value("model_type")
    if isinstance(kind, str) and kind not in FAMILIES and isinstance(text, YMap):  # multimodal (Gemma 3, LLaVA)
        inner = text.get("model_type")
        family = f" (model_type {inner.value})" if isinstance(inner, YScalar) and inner.value in FAMILIES else ""
        raise c.error("model_type", f"'model_type': {kind!r} is a model of several parts; archcalc "
                      f"imports its language model, whose config is text_config{family}",
                      hint="save the text_config object as a config.json of its own (with its model_type) and "
                      "import that")
    model_type = c.choice("model_type", "", {k: k for k in FAMILIES}, "model type")
    for key in ("num_hidden_layers", "n_layers", "n_layer"):  # the common name, DistilBERT's, GPT-2's
        depth = c.value(key, None) if isinstance(c.node(key), YScalar) else None
        if isinstance(depth, int) and not isinstance(depth, bool) and depth > limits.max_layers:
            # before a family lays its layers out one by one (Gemma's layer types): located, and at once
            raise c.error(key, f"{key} {depth:,} exceeds the {limits.max_layers:,}-layer limit",
                          code="resource-limit", hint="raise it with --limit max_layers=N if you mean it")
    c.family, c.nullable = model_type, NULLABLE[model_type]  # from here a null reads as transformers reads it
    write, base_class, heads = FAMILIES[model_type]
    head = False
    if not base:
        node = c.node("architectures")
        names = node.items if isinstance(node, YSeq) else []
        if (
            node is not None
            and not (
                isinstance(node, YSeq)
                and names
                and all(isinstance(n, YScalar) and isinstance(n.value, str) for n in names)
            )
            and not (isinstance(node, YScalar) and node.value is None)
        ):
            named = node.value if isinstance(node, YScalar) and isinstance(node.value, str) else base_class
            raise SpecError(node.loc, "'architectures' must be a list of class names", code="bad-config",
                            hint=f'"architectures": {json.dumps([named])}')
        if names:
            first = names[0]
            if first.value not in (base_class, *heads):
                raise SpecError(
                    first.loc,
                    f"archcalc imports {', '.join((base_class, *heads))}, not {first.value}",
                    code="unsupported-config",
                    hint=f"pass --base to import its body, {base_class}, alone",
                )
            head = first.value in heads
        elif heads:
            c.warnings.append(SpecError(c.where("architectures"), f"the config names no architectures: this is the "
                                        f"base model, {base_class}, without {heads[0]}'s head", code="base-model",
                                        hint=f'add "architectures": ["{heads[0]}"] for the model with its head, or '
                                        "pass --base to say the base model is meant"))
    text = "\n".join(write(c, head)) + "\n"
    _check_builds(text, c, limits)
    return text, c.warnings


def _check_builds(text: str, c: Config, limits: Limits) -> None:
    """Build the written spec (sizes only: counting 8 billion parameters allocates none), so that sizes
    the family's code cannot combine (an odd head size under rotary …) are an error located in the config,
    not a spec that fails later at a line the user never wrote."""
    from archcalc.model import loads

    try:
        loads(text, path="<imported spec>", limits=limits)
    except SpecError as e:
        raise SpecError(
            c.root.loc,
            f"these sizes do not make a {c.value('model_type')} model: {e.message}",
            code="bad-config",
            hint=e.hint,
        ) from None
