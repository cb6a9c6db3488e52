"""A JSON Schema (draft 2020-12) of the spec language, for editors: ``archcalc schema``.

Everything in it is generated from the tables the parser itself reads, so it cannot drift from
the language: the layer registry (every kind and alias, each argument's type, default and doc),
the parser's top-level keys, constructs and their keys, the shortcuts, the ``train:`` keys,
optimizers and their hyperparameters, and the ``budget:`` limits. A construct or an argument
type it does not know how to draw is a :class:`SchemaGap`, which the tests turn into a failure,
so adding one to the parser without adding it here cannot go unnoticed.

The schema checks what can be checked without evaluating: structure, kinds, argument names and
types, required arguments, words. What needs the whole file (a block's name, a symbol used before
it is declared, shapes) is left to ``archcalc lint``; a mapping whose key is no kind is read as a
block use, since blocks are named by the spec itself.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable

from archcalc.layers import LAYERS
from archcalc.layers.args import (
    REQUIRED,
    Arg,
    Axes,
    AxisIndex,
    Bool,
    Choice,
    Dims,
    Float,
    Int,
    LayerPath,
    Padding,
    PerAxis,
    Size,
)
from archcalc.layers.base import Layer, kind_doc
from archcalc.layers.conv_transpose import Cropping
from archcalc.layers.merge import Merge
from archcalc.layers.pad import PadList
from archcalc.layers.traits import Trait
from archcalc.layers.upsample import Scales, Sizes
from archcalc.spec import parser
from archcalc.spec.budget import COUNT, LIMITS, SETTINGS
from archcalc.spec.data import KEYS as DATA_KEYS
from archcalc.spec.init import ALIASES as INIT_ALIASES
from archcalc.spec.init import INITS
from archcalc.spec.reparam import KINDS as REPARAM_KINDS
from archcalc.spec.train import (
    ANNEAL_STRATEGIES,
    BATCH_SCHEDULES,
    FLOAT32_MAX,
    KEYS,
    LOSS_KINDS,
    LOSS_SETTINGS,
    LOSSES,
    METRIC_SCHEDULES,
    MONITOR_MODES,
    MONITORS,
    NEEDED,
    OPTIMIZERS,
    PLATEAU_MODES,
    SCHEDULE_SETTINGS,
    SCHEDULERS,
    STOPPING_KEYS,
    TASKS,
    THRESHOLD_MODES,
    WARMUP,
)

DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: an expression as the parser admits it: numbers, names, + - * / // **, max(…), min(…) and parentheses (the
#: parser checks the rest); in a block, any argument may be one (``out: 2*c``, ``bias: b``)
EXPR = {"type": "string", "pattern": r"^\s*[-+(A-Za-z0-9_.][-+*/(), A-Za-z0-9_.\[\]]*$",
        "patternErrorMessage": "an expression: numbers, names, + - * / // **, max(…), min(…) and parentheses",
        "description": "an expression: numbers, names (symbols, block parameters, repeat indexes, the input's "
        "in_channels, in_features, in_shape[k]), + - * / // **, max(a, b, …), min(a, b, …) and parentheses, e.g. "
        "2*c, in_channels // 2 or max(8, c // 8 * 8)"}
#: the condition of ``if:``: an expression that may also compare and combine (``expansion != 1 and s == 1``)
CONDITION = {"anyOf": [{"type": ["boolean", "integer"]},
                       {"type": "string", "pattern": r"^\s*[-+(A-Za-z0-9_.][-+*/(), A-Za-z0-9_.\[\]=!<>]*$",
                        "patternErrorMessage": "a condition: an expression, comparisons (== != < <= > >=), and, "
                        "or, not"}],
             "description": "a condition on block parameters, symbols or the input's shape: comparisons "
             "(== != < <= > >=), and, or, not, e.g. expansion != 1"}
_IDENT = r"[A-Za-z_][A-Za-z0-9_]*"
IDENT = {"type": "string", "pattern": f"^{_IDENT}$"}
#: a ``name:``: any text whose parts between dots are not empty (a dot places the layer in nested
#: modules); a YAML number is read as its text
NAME = {"type": ["string", "integer"], "pattern": r"^[^.]*[^.\s][^.]*(\.[^.]*[^.\s][^.]*)*$",
        "description": "the node's name in paths (layer4.1.conv2); dots place it in nested modules "
        "(attention.output.dense); {expression} parts are computed per copy or use (denselayer{i + 1})"}
#: ``inline:`` beside a residual, a merge or a block use
INLINE = {"type": "boolean", "default": False,
          "description": "name its layers in the enclosing block, with no level of its own (GPT-2's h.0.ln_1, "
          "VGG's features.N)"}
#: ``trainable:`` beside or among the arguments of a layer, block use, repeat, group, residual or merge
TRAINABLE = {"type": "boolean", "default": True,
             "description": "false freezes the parameters of everything it is written on (counted as non-trainable, "
             "requires_grad_(False), left out of the optimizer); the nearest setting wins"}
#: the words YAML 1.1 read as booleans, which a spec (YAML 1.2) reads as words
_YAML11 = ["y", "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF"]


class SchemaGap(RuntimeError):
    """The language has something this module cannot draw: an argument type or a construct."""


def spec_schema() -> dict:
    """The schema of a whole spec file."""
    item, defs = _item_schemas()
    top = {
        "name": {**NAME, "description": "the model's name; defaults to the file's name"},
        "description": {"type": "string", "description": "free text about the model"},
        "input": {"type": "array", "minItems": 1, "items": _dim(), "description":
                  "the shape of one example, channels first, batch excluded: [3, 224, 224], [64], [3, H, W]; "
                  "a bare name declares a symbol"},
        "symbols": _symbols(),
        "blocks": _blocks(),
        "layers": _layers(1, "the network, in order: each layer runs on the previous one's output"),
        "train": _train(),
        "budget": _budget(),
        "data": _data(),
    }
    missing = set(parser.TOP_KEYS) ^ set(top)
    if missing:
        raise SchemaGap(f"top-level keys the schema does not draw or the parser does not know: {sorted(missing)}")
    return {
        "$schema": DIALECT,
        "title": "archcalc spec",
        "description": "A neural network as archcalc reads it (docs/spec.md). Generated by `archcalc schema` from "
        "the layer registry and the parser's tables.",
        "type": "object",
        "properties": {key: top[key] for key in parser.TOP_KEYS},
        "patternProperties": {"^x-": {"description": "ignored by archcalc: a place for your metadata and YAML "
                                      "anchors"}},
        "additionalProperties": False,
        "required": ["input", "layers"],
        "$defs": {
            "item": item,
            "expression": EXPR,
            **defs,
        },
    }


# -- items: layers, constructs, block uses -------------------------------------------------------


def _item_schemas() -> tuple[dict, dict[str, dict]]:
    """The schema of one list item, and the ``$defs`` of the kinds and constructs it refers to.

    An item is told apart by its key, as the parser tells it (constructs first, in their order, then
    kinds, and any other key is a block of the spec's own). So the item is checked with one ``if``/``then``
    per key, which an editor reports on the argument that is wrong ("Property kernal is not allowed"),
    not on whichever alternative of a long ``anyOf`` happened to come closest. The ``anyOf`` beside it
    only lists the forms an item takes, loosely, for completion and hover.
    """
    defs: dict[str, dict] = {}
    bare = sorted(name for name, cls in LAYERS.items() if not any(a.required for a in cls.ARGS.values()))
    reserved = sorted({*LAYERS, *parser.CONSTRUCTS})
    forms: list[dict] = [
        {"enum": bare, "description": "a layer kind that needs no arguments (relu, flatten, …)"},
        {"allOf": [IDENT, {"not": {"enum": reserved}}], "description": "a block of this spec, used without arguments"},
    ]
    rules: list[dict] = []
    earlier: list[str] = []  # constructs the parser tries first
    for construct in parser.CONSTRUCTS:
        draw = CONSTRUCTS.get(construct)
        if draw is None:
            raise SchemaGap(f"construct '{construct}' has no schema: add it to archcalc.spec.schema.CONSTRUCTS")
        schema = draw()
        keys = set(schema["properties"])
        if keys != set(parser.CONSTRUCT_KEYS[construct]):
            raise SchemaGap(f"construct '{construct}': the schema draws keys {sorted(keys)}, the parser takes "
                            f"{sorted(parser.CONSTRUCT_KEYS[construct])}")
        defs[f"construct-{construct}"] = schema
        forms.append(_loose(construct, schema))
        rules.append(_when([construct], earlier, f"#/$defs/construct-{construct}"))
        earlier.append(construct)
    for name, cls in LAYERS.items():
        defs[f"kind-{name}"] = schema = _kind(name, cls)
        forms.append(_loose(name, schema))
        rules.append(_when([name], earlier, f"#/$defs/kind-{name}"))
    forms.append({"type": "object", "description": "a block of this spec with its arguments: - name: {param: value}, "
                  "[values in order] or one value"})
    defs["block-use"] = _block_use(reserved)
    rules.append({"if": {"type": "object", "not": {"anyOf": [{"required": [key]} for key in reserved]}},
                  "then": {"$ref": "#/$defs/block-use"}})
    return {"anyOf": forms, "allOf": rules, "description": "a layer kind, a construct or a block of this spec"}, defs


def _when(keys: list[str], unless: list[str], ref: str) -> dict:
    """``if`` a mapping has one of ``keys`` and none of ``unless``, ``then`` it is the schema at ``ref``."""
    condition: dict = {"type": "object", "required": keys}
    if unless:
        condition["not"] = {"anyOf": [{"required": [key]} for key in unless]}
    return {"if": condition, "then": {"$ref": ref}}


def _loose(key: str, schema: dict) -> dict:
    """A form for completion and hover: the key, its title and documentation, whatever its value."""
    return {"type": "object", "title": schema["title"], "description": schema["description"],
            "properties": {key: {"description": schema["description"]}, "name": NAME}, "required": [key]}


def _kind(name: str, cls: type[Layer]) -> dict:
    """``- conv2d: {...}`` (or ``- linear: 30`` for a kind with a primary argument), and ``name:`` beside it.
    A merge kind takes its branches as a list (``- add: [[...], [...]]``) or beside its arguments
    (``{axis: 1, branches: [...]}``), and ``inline:`` beside it."""
    args = {arg: _arg(spec) for arg, spec in cls.ARGS.items()}
    if Trait.WEIGHTED in cls.TRAITS:
        args["init"] = _init()
    if cls.kind in REPARAM_KINDS:
        args.update(_reparam())
    required = [arg for arg, spec in cls.ARGS.items() if spec.required]
    merge = issubclass(cls, Merge)
    if merge:
        low, high = cls.ARITY
        branches = {"type": "array", "items": _branch(), "minItems": max(low, 1),
                    "description": "branches on the same input, each a list of layers (empty: the input itself)"}
        if high is not None:
            branches["maxItems"] = high
        args["branches"] = branches
    mapping = {"type": "object", "properties": {**args, "name": NAME, "trainable": TRAINABLE},
               "additionalProperties": False}
    if required:
        mapping["required"] = required
    forms: list[dict] = [mapping]
    if merge:
        forms.append(args["branches"])
    if cls.PRIMARY is not None:
        forms.append({**_value(cls.ARGS[cls.PRIMARY]), "description": f"shorthand for {{{cls.PRIMARY}: …}}"})
    if not required and (not merge or cls.ARITY[0] == 1):
        forms.append({"type": "null"})
    doc = kind_doc(cls)
    if name != cls.kind:
        doc = f"{name} is another name for {cls.kind}. {doc}"
    beside = {"name": NAME, **({"inline": INLINE} if merge else {}), "trainable": TRAINABLE}
    return {"type": "object", "title": name, "description": doc,
            "properties": {name: {"anyOf": forms, "description": doc}, **beside},
            "required": [name], "additionalProperties": False}


def _arg(arg: Arg) -> dict:
    schema = _value(arg)
    default = arg.default
    text = f"{arg.doc} ({arg.type_name}; "
    if default is REQUIRED:
        text += "required)"
    elif default is None:
        text += "inferred when left out)"
    else:
        schema["default"] = list(default) if isinstance(default, tuple) else default
        from archcalc.layers.args import yaml_text

        text += f"default {yaml_text(default)})"
    return {**schema, "description": text}


def _value(arg: Arg) -> dict:
    """What an argument of ``arg``'s type accepts: its own values, or an expression."""
    draw = ARG_TYPES.get(type(arg))
    if draw is None:
        raise SchemaGap(f"argument type {type(arg).__name__} ('{arg.name}') has no schema: add it to "
                        "archcalc.spec.schema.ARG_TYPES")
    return draw(arg)


def _int(arg: Int) -> dict:
    number: dict = {"type": "integer"} if arg.min is None else {"type": "integer", "minimum": arg.min}
    return {"anyOf": [number, {"$ref": "#/$defs/expression"}]}


def _axis(arg: AxisIndex) -> dict:
    """An axis is a position, a plain integer (negative from the end); the layer checks it against its input."""
    return {"type": "integer"}


def _axes(arg: Axes) -> dict:
    return {"anyOf": [{"type": "integer"}, {"type": "array", "items": {"type": "integer"}, "minItems": 1}]}


def _dims(arg: Dims) -> dict:
    """Sizes (≥ 1 or expressions) with at most one -1, which the schema cannot count, so the parser does."""
    size = {"anyOf": [{"type": "integer", "minimum": -1, "not": {"const": 0}}, {"$ref": "#/$defs/expression"}]}
    return {"type": "array", "items": size, "minItems": 1}


def _layer_path(arg: LayerPath) -> dict:
    """Another layer's path, text; the built network says whether a layer has it."""
    return {"type": "string", "pattern": r"^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$"}


def _per_axis(arg: PerAxis) -> dict:
    """One value for every spatial axis, or a list of one per axis (as many as the kind's rank)."""
    one = _int(arg)
    return {"anyOf": [*one["anyOf"], {"type": "array", "items": one, "minItems": arg.rank, "maxItems": arg.rank}]}


def _padding(arg: Padding) -> dict:
    return {"anyOf": [{"enum": list(arg.words)}, *_per_axis(arg)["anyOf"]]}


def _float(arg: Float) -> dict:
    number: dict = {"type": "number"}
    if arg.lo is not None:
        number["exclusiveMinimum" if arg.lo_open else "minimum"] = arg.lo
    if arg.hi is not None:
        number["exclusiveMaximum" if arg.hi_open else "maximum"] = arg.hi
    return {"anyOf": [number, {"$ref": "#/$defs/expression"}]}


def _bool(arg: Bool) -> dict:
    return {"anyOf": [{"type": "boolean"}, {"allOf": [{"$ref": "#/$defs/expression"}, {"not": {"enum": _YAML11}}]}]}


def _choice(arg: Choice) -> dict:
    return {"anyOf": [{"enum": list(arg.words)}, {"$ref": "#/$defs/expression"}]}


#: argument type → its schema. Exact types, not subclasses: a new type must say what it accepts
def _scales(arg: Scales) -> dict:
    """Upsample's scale: a positive number (or an expression) for every spatial axis, or one per axis."""
    one = {"anyOf": [{"type": "number", "exclusiveMinimum": 0}, {"$ref": "#/$defs/expression"}]}
    return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 3}]}


def _sizes(arg: Sizes) -> dict:
    """Upsample's size: one (≥ 1 or an expression) for every spatial axis, or one per axis."""
    one = {"anyOf": [{"type": "integer", "minimum": 1}, {"$ref": "#/$defs/expression"}]}
    return {"anyOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 3}]}


def _pad_list(arg: PadList) -> dict:
    """Pad amounts: (before, after) for 1 to 3 axes, whole numbers (negative crops) or expressions."""
    one = {"anyOf": [{"type": "integer"}, {"$ref": "#/$defs/expression"}]}
    return {"anyOf": [{"type": "array", "items": one, "minItems": n, "maxItems": n} for n in (2, 4, 6)]}


ARG_TYPES: dict[type, Callable[..., dict]] = {
    Int: _int, Size: _int, PerAxis: _per_axis, Padding: _padding, Float: _float, Bool: _bool, Choice: _choice,
    AxisIndex: _axis, Axes: _axes, Dims: _dims, LayerPath: _layer_path,
    Cropping: _per_axis, Scales: _scales, Sizes: _sizes, PadList: _pad_list,
}


def _construct(key: str, value: dict, required: tuple[str, ...] | None = None, named: bool = True,
               **more: dict) -> dict:
    from archcalc.spec import ast

    doc = {"repeat": ast.Repeat, "residual": ast.Residual, "layers": ast.Group, "if": ast.If}[key].__doc__
    return {"type": "object", "title": key, "description": inspect.cleandoc(doc or ""),
            "properties": {key: value, **more, **({"name": NAME, "trainable": TRAINABLE} if named else {})},
            "required": list(required or (key,)), "additionalProperties": False}


def _layers(min_items: int = 0, description: str = "") -> dict:
    """A list of items; where it may be empty, YAML's null (``then:`` alone) is the empty list."""
    schema: dict = {"type": "array", "items": {"$ref": "#/$defs/item"}}
    if min_items:
        schema["minItems"] = min_items
    else:
        schema["type"] = ["array", "null"]
    return {**schema, "description": description} if description else schema


def _repeat() -> dict:
    return _construct("repeat", {"anyOf": [{"type": "integer", "minimum": 0}, {"$ref": "#/$defs/expression"}],
                                 "description": "how many copies of layers: (0 leaves them out)"},
                      ("repeat", "layers"),
                      layers=_layers(1, "the layers to repeat"),
                      index={**IDENT, "description": "a name for the copy number (0, 1, …) inside layers:"})


def _residual() -> dict:
    shortcut = {"anyOf": [{"enum": list(parser.SHORTCUTS)}, _layers(0)], "default": "identity",
                "description": "identity (default); auto: a 1×1 convolution and batch norm where the shape "
                "changes; if_same: add only where the shapes agree; or a list of layers"}
    keys = {"body": _layers(1, "the residual path"), "shortcut": shortcut,
            "shortcut_name": {**NAME, "description": "the shortcut's name in paths (default shortcut)"},
            "then": _layers(0, "layers after the addition, e.g. [relu]")}
    if set(keys) != set(parser.RESIDUAL_KEYS):
        raise SchemaGap(f"residual: the schema draws {sorted(keys)}, the parser takes {sorted(parser.RESIDUAL_KEYS)}")
    form = {"type": "object", "properties": keys, "required": ["body"], "additionalProperties": False}
    short = _layers(1, "the body, with an identity shortcut")
    return _construct("residual", {"if": {"type": "array"}, "then": short, "else": form,
                                   "description": "a list of layers (the body, with an identity shortcut) or "
                                   "{body, shortcut, shortcut_name, then}"}, inline=INLINE)


def _branch() -> dict:
    keys = {"from": {"type": "string", "description": "the path of an earlier layer or block (down2, encoder.1): "
                     "the branch runs on its output, a skip connection; {expression} parts are computed"},
            "layers": _layers(0, "layers run on that output (none: the output itself)"),
            "name": NAME, "trainable": TRAINABLE}
    if set(keys) != set(parser.FROM_KEYS):
        raise SchemaGap(f"from: the schema draws {sorted(keys)}, the parser takes {sorted(parser.FROM_KEYS)}")
    source = {"type": "object", "properties": keys, "required": ["from"], "additionalProperties": False,
              "description": "a branch on an earlier node's output: {from: down2} or {from: down2, layers: [...]}"}
    return {"anyOf": [_layers(0), source, {"$ref": "#/$defs/item"}],
            "description": "a branch: a list of layers (empty: the input itself), one layer, or {from: PATH} "
            "to start from an earlier node's output"}


def _group() -> dict:
    return _construct("layers", _layers(0, "a named run of layers"))


def _if() -> dict:
    return _construct("if", CONDITION, named=False, then=_layers(0, "the layers when the condition holds"),
                      **{"else": _layers(0, "the layers when it does not")})


#: construct (a key of the parser's ``CONSTRUCT_KEYS``) → its schema
CONSTRUCTS: dict[str, Callable[[], dict]] = {
    "repeat": _repeat, "residual": _residual, "layers": _group, "if": _if,
}


def _block_use(reserved: list[str]) -> dict:
    """``- stage: {n: 2, c: 64}`` (or ``[2, 64]``, or ``64``, or nothing): a block of the spec's own."""
    value = {"anyOf": [{"type": "null"}, _scalar_arg(), {"type": "array", "items": _scalar_arg()},
                       {"type": "object", "properties": {"name": NAME, "trainable": TRAINABLE},
                        "additionalProperties": {"anyOf": [_scalar_arg_or_list(), {"$ref": "#/$defs/item"}, _layers(1)],
                                                 "description": "a value, or layers for a parameter the block "
                                                 "writes as a layer"}}]}
    beside = {"name": NAME, "inline": INLINE, "trainable": TRAINABLE}
    only_beside = {"properties": dict.fromkeys(beside, True), "additionalProperties": False}
    return {"type": "object", "description": "a block of this spec with its arguments: by name, or in order; "
            "inline: true splices its layers into the caller's sequence",
            "propertyNames": {"anyOf": [{"enum": list(beside)}, {"allOf": [IDENT, {"not": {"enum": reserved}}]}]},
            "properties": beside, "additionalProperties": value,
            "not": only_beside, **_one_besides(list(beside))}


def _one_besides(keys: list[str]) -> dict:
    """One key besides those of ``keys`` that are present: at most 1 + their number of properties, as nested
    ``if``/``then`` on each key (draft-07 validators read these; no keyword counts a subset of keys)."""
    def rule(rest: list[str], present: int) -> dict:
        if not rest:
            return {"maxProperties": present + 1}
        return {"if": {"required": [rest[0]]}, "then": rule(rest[1:], present + 1), "else": rule(rest[1:], present)}

    return rule(keys, 0)


def _scalar_arg() -> dict:
    return {"anyOf": [{"type": ["number", "boolean"]}, {"$ref": "#/$defs/expression"}]}


def _scalar_arg_or_list() -> dict:
    return {"anyOf": [_scalar_arg(), {"type": "array", "items": _scalar_arg()}]}


# -- the other top-level keys ---------------------------------------------------------------------


def _dim() -> dict:
    return {"anyOf": [{"type": "integer", "minimum": 1}, {"$ref": "#/$defs/expression"}]}


def _symbols() -> dict:
    default = {"anyOf": [{"type": "integer", "minimum": 1}, {"type": "null"}],
               "description": "the symbol's default value, or null to leave it free"}
    return {"description": "named dimensions: {H: 224, W: null} (defaults; --set overrides them) or [H, W]",
            "anyOf": [{"type": "object", "propertyNames": IDENT, "additionalProperties": default},
                      {"type": "array", "items": IDENT}]}


def _blocks() -> dict:
    reserved = "|".join(re.escape(k) for k in sorted({*LAYERS, *parser.CONSTRUCTS}))
    signature = {"pattern": rf"^\s*{_IDENT}\s*(\(.*\))?\s*$",
                 "not": {"pattern": rf"^\s*({reserved})\s*(\(|$)"}}
    return {"type": "object", "description": "reusable blocks: name(param, param = default): [layers]; use one "
            "like a layer kind, - name: {param: value}",
            "propertyNames": signature, "additionalProperties": _layers(1)}


def _train() -> dict:
    hyper = {}
    for name, defaults in OPTIMIZERS.items():
        props = {key: _hyper(value) for key, value in defaults.items()}
        hyper[name] = {"anyOf": [{"type": "null"}, {"type": "object", "properties": props,
                                                   "additionalProperties": False}],
                       "description": f"torch.optim's {name}: " + ", ".join(f"{k} {_json_default(v)}"
                                                                           for k, v in defaults.items())}
    optimizer = {"anyOf": [{"enum": list(OPTIMIZERS)},
                           {"type": "object", "properties": hyper, "minProperties": 1, "maxProperties": 1,
                            "additionalProperties": False}]}
    stopping_props = {
        "patience": {"type": "integer", "minimum": 1},
        "min_delta": {"type": "number", "minimum": 0},
        "monitor": {"enum": list(MONITORS)},
    }
    for key, (default, doc) in STOPPING_KEYS.items():
        stopping_props[key].update(description=doc, default=default)
    values = {
        "task": {"enum": list(TASKS)},
        "classes": {"type": "integer", "minimum": 2},
        "class_axis": {"type": "integer"},
        "loss": _loss(),
        "multi_label": {"type": "boolean"},
        "target_range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2},
        "optimizer": optimizer,
        "batch_size": {"type": "integer", "minimum": 1},
        "epochs": {"type": "integer", "minimum": 1},
        "weight_decay": {"type": "number", "minimum": 0},
        "l1": {"type": "number", "minimum": 0},
        "clip_grad_norm": {"type": "number", "exclusiveMinimum": 0},
        "clip_grad_value": {"type": "number", "exclusiveMinimum": 0},
        "scheduler": _scheduler(),
        "early_stopping": {"anyOf": [{"const": False}, {"type": "integer", "minimum": 1},
                                     {"type": "object", "properties": stopping_props,
                                      "additionalProperties": False}]},
        "seed": {"type": "integer", "minimum": 0},
    }
    if set(values) != set(KEYS):
        raise SchemaGap(f"train: the schema draws {sorted(values)}, the parser takes {sorted(KEYS)}")
    for key, (default, doc) in KEYS.items():
        values[key]["description"] = doc
        if default is not None:
            values[key]["default"] = default
    return {"type": "object", "description": "how `archcalc train` and the exports train the network",
            "properties": {key: values[key] for key in KEYS}, "additionalProperties": False,
            # one clipping at a time (archcalc.spec.train._clipping says why)
            "not": {"required": ["clip_grad_norm", "clip_grad_value"]}}


def _scheduler() -> dict:
    """``scheduler: cosine`` or ``{step: {step_size: 30, gamma: 0.1, warmup_epochs: 5}}``, or ``{plateau: {monitor:
    val_accuracy}}`` (its mode, when written, the one its monitor needs; no warm-up)."""
    kinds = {"step_size": {"type": "integer", "minimum": 1}, "T_max": {"type": "integer", "minimum": 1},
             "milestones": {"type": "array", "items": {"type": "integer", "minimum": 1}, "minItems": 1,
                            "uniqueItems": True},
             "gamma": {"type": "number", "exclusiveMinimum": 0}, "eta_min": {"type": "number", "minimum": 0},
             "warmup_epochs": {"type": "integer", "minimum": 0},
             "warmup_start_factor": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
             "start_factor": {"type": "number", "exclusiveMinimum": 0, "maximum": 1},
             "end_factor": {"type": "number", "minimum": 0, "maximum": 1},
             "total_iters": {"type": "integer", "minimum": 1}, "power": {"type": "number", "minimum": 0},
             "monitor": {"enum": list(MONITORS)}, "mode": {"enum": list(PLATEAU_MODES)},
             "factor": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
             "patience": {"type": "integer", "minimum": 0}, "threshold": {"type": "number", "minimum": 0},
             "threshold_mode": {"enum": list(THRESHOLD_MODES)}, "cooldown": {"type": "integer", "minimum": 0},
             "min_lr": {"type": "number", "minimum": 0}, "eps": {"type": "number", "minimum": 0},
             "max_lr": {"type": "number", "exclusiveMinimum": 0, "maximum": FLOAT32_MAX},
             "pct_start": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
             "anneal_strategy": {"enum": list(ANNEAL_STRATEGIES)}, "cycle_momentum": {"type": "boolean"},
             "base_momentum": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
             "max_momentum": {"type": "number", "minimum": 0, "exclusiveMaximum": 1},
             "div_factor": {"type": "number", "exclusiveMinimum": 0},
             "final_div_factor": {"type": "number", "exclusiveMinimum": 0}, "three_phase": {"type": "boolean"},
             "T_0": {"type": "integer", "minimum": 1}, "T_mult": {"type": "integer", "minimum": 1}}
    if set(kinds) != set(SCHEDULE_SETTINGS):
        raise SchemaGap(f"scheduler: the schema draws {sorted(kinds)}, the parser takes {sorted(SCHEDULE_SETTINGS)}")
    settings = {}
    for name, defaults in SCHEDULERS.items():
        # a schedule that watches a metric takes no warm-up (SequentialLR cannot chain it): warmup_epochs 0 at most;
        # onecycle none at all (its first phase is its warm-up)
        every = {**defaults, **WARMUP} if name not in METRIC_SCHEDULES else {**defaults, "warmup_epochs": 0}
        if name in BATCH_SCHEDULES:
            every = dict(defaults)
        props = {key: {**kinds[key], "description": SCHEDULE_SETTINGS[key],
                       **({"default": value} if value not in (None, NEEDED) else {})} for key, value in every.items()}
        required = [key for key, value in defaults.items() if value == NEEDED]
        body = {"type": "object", "properties": props, "additionalProperties": False, **(
            {"required": required} if required else {})}
        if name in METRIC_SCHEDULES:
            props["warmup_epochs"]["maximum"] = 0
            # the mode follows the monitor (archcalc.spec.train._plateau): val_accuracy improves up, val_loss down
            # (an "if" on properties alone also holds when the monitor is left out: the default monitor's case)
            body["allOf"] = [{"if": {"properties": {"monitor": {"const": monitor}},
                                     **({} if monitor == defaults["monitor"] else {"required": ["monitor"]})},
                              "then": {"properties": {"mode": {"const": mode}}}}
                             for monitor, mode in MONITOR_MODES.items()]
        settings[name] = body if required else {"anyOf": [{"type": "null"}, body]}
    return {"anyOf": [{"type": "null"}, {"const": False},
                      {"enum": [n for n, d in SCHEDULERS.items() if NEEDED not in d.values()]},
                      {"type": "object", "properties": settings, "minProperties": 1, "maxProperties": 1,
                       "additionalProperties": False}]}


def _loss() -> dict:
    """``loss: mse`` or ``loss: {huber: {delta: 0.5}}`` (``inputs:`` and the loss's own settings)."""
    settings = {}
    for name, kind in LOSS_KINDS.items():
        props = {"inputs": {"enum": list(kind.inputs), "description": f"what {name} takes from the network: "
                            + " or ".join(kind.inputs) + f" (default {kind.inputs[0]})"},
                 **{key: {**_loss_setting(key, value), "default": value, "description": LOSS_SETTINGS[key]}
                    for key, value in kind.params.items()}}
        settings[name] = {"anyOf": [{"type": "null"}, {"type": "object", "properties": props,
                                                       "additionalProperties": False}]}
    return {"anyOf": [{"enum": list(LOSSES)},
                      {"type": "object", "properties": settings, "minProperties": 1, "maxProperties": 1,
                       "additionalProperties": False}]}


def _loss_setting(key: str, default: float | bool | int) -> dict:
    """The type of one loss setting, as :func:`archcalc.spec.train._loss_setting` checks it."""
    if isinstance(default, bool):
        return {"type": "boolean"}
    if key == "p":
        return {"enum": [1, 2]}
    return {"type": "number", "minimum": 0, **({"maximum": 1} if key == "label_smoothing" else {})}


def _data() -> dict:
    values = {"range": {"type": "array", "items": {"type": "number"}, "minItems": 2, "maxItems": 2,
                        "description": "[low, high]: the values an input element takes as fed to the network"},
              "normalized": {"type": "boolean", "description": "whether preprocessing scales or standardises "
                             "the inputs"}}
    if set(values) != set(DATA_KEYS):
        raise SchemaGap(f"data: the schema draws {sorted(values)}, the parser takes {sorted(DATA_KEYS)}")
    return {"type": "object", "description": "what the network's inputs are (docs/spec.md)", "properties": values,
            "additionalProperties": False}


def _init() -> dict:
    """A layer's ``init:``: a torch.nn.init name, ``{name: {settings}}``, or ``{weight: …, bias: …}``."""
    names = [*INITS, *INIT_ALIASES]
    one = {"anyOf": [{"enum": names}, {"type": "object", "minProperties": 1, "maxProperties": 1,
                                       "propertyNames": {"enum": names}}]}
    return {"anyOf": [one, {"type": "object", "properties": {"weight": one, "bias": one},
                            "additionalProperties": False, "minProperties": 1}],
            "description": "how the weights start (torch.nn.init's names): zeros, constant, uniform, normal, "
            "xavier_*/glorot_*, kaiming_*/he_*, orthogonal; or {weight: …, bias: …}"}


def _reparam() -> dict[str, dict]:
    """A weighted layer's ``weight_norm:`` and ``spectral_norm:``: true, false or their settings (torch's)."""
    dim = {"type": ["integer", "null"], "minimum": 0, "description": "the weight's axis kept apart (null: the whole "
           "tensor, weight_norm only)"}
    return {
        "weight_norm": {"anyOf": [{"type": "boolean"}, {"type": "object", "properties": {
            "dim": dim, "names": {"enum": ["old", "new"], "description": "state-dict names: torch.nn.utils."
                                  "weight_norm's (weight_g, weight_v) or parametrizations.weight_norm's"}},
            "additionalProperties": False}],
            "description": "w = g·v/‖v‖ (torch.nn.utils.weight_norm): g, one per output channel, counted too"},
        "spectral_norm": {"anyOf": [{"type": "boolean"}, {"type": "object", "properties": {
            "dim": dim, "n_power_iterations": {"type": "integer", "minimum": 1, "default": 1},
            "eps": {"type": "number", "exclusiveMinimum": 0, "default": 1e-12}}, "additionalProperties": False}],
            "description": "w/σ(w) by power iteration (torch.nn.utils.spectral_norm): buffers u and v"},
    }


def _hyper(default: object) -> dict:
    if isinstance(default, bool):
        return {"type": "boolean", "default": default}
    if isinstance(default, tuple):
        return {"type": "array", "items": {"type": "number"}, "minItems": len(default), "maxItems": len(default),
                "default": list(default)}
    return {"type": "number", "default": default}


def _json_default(value: object) -> str:
    from archcalc.layers.args import yaml_text

    return yaml_text(value)


def _budget() -> dict:
    from archcalc.calc.memory import DTYPES

    number = r"^\s*[0-9][0-9_]*(\.[0-9]+)?([eE][+-]?[0-9]+)?\s*"
    count = {"if": {"type": "string"},
             "then": {"pattern": number + r"[kKMGTP]?\s*$",
                      "patternErrorMessage": "a count such as 30M: K, M, G or T (powers of 1000), no B"},
             "else": {"type": "number", "minimum": 0}}
    size = {"if": {"type": "string"},
            "then": {"pattern": number + r"([kKMGTP]i?)?\s*B?\s*$",
                     "patternErrorMessage": "a size in bytes such as 2GB or 512MiB"},
            "else": {"type": "number", "minimum": 0}}
    props = {key: {**(count if measure == COUNT else size), "description": doc}
             for key, (measure, doc) in LIMITS.items()}
    settings = {"batch_size": {"type": "integer", "minimum": 1}, "dtype": {"enum": list(DTYPES)}}
    for key, (default, doc) in SETTINGS.items():
        props[key] = {**settings[key], "description": doc, "default": default}
    return {"type": "object", "description": "limits `archcalc lint` holds the network to (rule S107): counts such "
            "as 30M, sizes such as 2GB", "properties": props, "additionalProperties": False,
            "anyOf": [{"required": [key]} for key in LIMITS]}

