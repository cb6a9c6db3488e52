"""Located YAML nodes → :class:`~archcalc.spec.ast.Spec`.

Everything that can be checked without evaluating is checked here, once: the top-level keys,
layer kinds and block names (with did-you-mean), argument names, required arguments, block
signatures and expression syntax. Values are evaluated later, when blocks are instantiated.
"""

from __future__ import annotations

import contextlib
import keyword
import re
from collections.abc import Iterator

from archcalc.errors import Collector, Loc, SpecError, choices_hint, did_you_mean
from archcalc.layers import LAYERS
from archcalc.layers.args import Arg, yaml11_bool_hint
from archcalc.layers.base import Layer
from archcalc.layers.merge import Merge as MergeLayer
from archcalc.layers.traits import Trait
from archcalc.limits import Limits
from archcalc.spec.ast import (
    ArgList,
    BlockCall,
    BlockDef,
    Group,
    If,
    Item,
    LayerArg,
    LayerItem,
    Lit,
    Merge,
    Name,
    NameTemplate,
    Param,
    Repeat,
    Residual,
    Spec,
    Symbol,
    Value,
)
from archcalc.spec.expr import INPUT_NAMES, bare_name, parse_expr
from archcalc.spec.source import YMap, YNode, YScalar, YSeq, describe, scalar_value

TOP_KEYS = ("name", "description", "input", "data", "symbols", "blocks", "layers", "train", "budget")
SHORTCUTS = ("identity", "auto", "if_same")
#: construct → the keys its mapping may hold, its own key first: the item is that construct when the
#: key is present (checked in this order, so a mapping with ``repeat:`` and ``layers:`` is a repeat).
#: ``archcalc schema`` is generated from these tables (and fails its tests on a construct it cannot draw).
CONSTRUCT_KEYS: dict[str, tuple[str, ...]] = {
    "if": ("if", "then", "else"),
    "repeat": ("repeat", "layers", "index", "name", "trainable"),
    "residual": ("residual", "name", "inline", "trainable"),
    "layers": ("layers", "name", "trainable"),
}
#: the keys beside a merge kind or a block use (``- add: [...]``) besides the kind itself; inside a merge's
#: mapping form, ``branches:`` holds the branches beside the kind's arguments
MERGE_KEYS = ("name", "inline", "trainable")
CONSTRUCTS = tuple(CONSTRUCT_KEYS)
#: the keys of a merge's branch that reads an earlier node's output (``{from: down2, layers: [...]}``)
FROM_KEYS = ("from", "layers", "name", "trainable")
#: the keys of ``residual:`` in its mapping form
RESIDUAL_KEYS = ("body", "shortcut", "shortcut_name", "then")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*$")
_BRACED = re.compile(r"\{([^{}]*)\}")
#: a list written as a block parameter's default, as the signature's commas leave its start: "[1" or "[1]"
_LIST_START = re.compile(r"\[\s*[-+]?[\w.]+\s*\]?$")
_SIGNATURE = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\((.*)\))?\s*$", re.S)


def parse_spec(root: YNode, path: str, source: str = "", limits: Limits | None = None) -> Spec:
    return _Parser(path, limits or Limits()).spec(root, source)


class _Parser:
    def __init__(self, path: str, limits: Limits):
        self.path = path
        self.limits = limits
        self.blocks: dict[str, BlockDef] = {}
        #: the block whose body is being read: its parameters may be written as layers (``- act``)
        self.scope: BlockDef | None = None
        #: every block use read, for :meth:`block_arguments` to finish once layer parameters are known
        self.uses: list[BlockCall] = []
        #: blocks whose signature is an error already reported: their uses are not unknown kinds too
        self.broken: set[str] = set()

    # -- top level --------------------------------------------------------------------------------

    def spec(self, root: YNode, source: str) -> Spec:
        top = self.mapping(root, "a spec", hint="a spec is a mapping with 'input:' and 'layers:'")
        for key, _ in top.items:
            if key.text not in TOP_KEYS and not key.text.startswith("x-"):
                raise SpecError(key.loc, f"unknown top-level key '{key.text}'", code="unknown-key",
                                hint=did_you_mean(key.text, TOP_KEYS) or f"valid keys: {', '.join(sorted(TOP_KEYS))}; "
                                f"keys starting with x- are ignored, for your own metadata (x-{key.text}: ...)")
        for key in ("input", "layers"):
            if top.get(key) is None:
                raise SpecError(top.loc, f"the spec has no '{key}:'", code="missing-key",
                                hint="input: [3, 224, 224] gives channels first, batch excluded"
                                if key == "input" else "layers: lists the network, e.g. [linear: {out: 10}]")
        name_node = top.get("name")
        name = self.word(name_node, "the model name") if name_node is not None else _stem(self.path)
        if not name.strip():
            raise SpecError(name_node.loc, "the model name is empty", code="bad-name",
                            hint="name the model, or leave 'name:' out to use the file's name")
        symbols = self.symbols(top.get("symbols"))
        input_node = top.get("input")
        input_dims = self.input(input_node, symbols)
        # the sections below are independent: each one's errors are reported together
        errors = Collector()
        blocks_node = top.get("blocks")
        if blocks_node is not None:
            with _collecting(errors):
                self.block_defs(blocks_node)
        layers_node = top.get("layers")
        layers: list[Item] = []
        with _collecting(errors):
            layers = self.items(layers_node, "layers")
            if not layers:
                raise SpecError(layers_node.loc, "'layers:' is empty", code="empty-spec",
                                hint="list at least one layer, e.g. - linear: {out: 10}")
        with _collecting(errors):
            self.block_arguments()
        train_node = top.get("train")
        train = None
        if train_node is not None:
            from archcalc.spec.train import parse_train

            with _collecting(errors):
                train = parse_train(self.mapping(train_node, "'train:'"))
        budget_node = top.get("budget")
        budget = None
        if budget_node is not None:
            from archcalc.spec.budget import parse_budget

            with _collecting(errors):
                budget = parse_budget(budget_node)
        data = None
        if top.get("data") is not None:
            from archcalc.spec.data import parse_data

            with _collecting(errors):
                data = parse_data(top.get("data"))
        errors.raise_any()
        return Spec(name, self.path, input_dims, input_node.loc, symbols, self.blocks, layers, layers_node.loc,
                    train, top.loc, source, budget, data)

    def symbols(self, node: YNode | None) -> dict[str, Symbol]:
        out: dict[str, Symbol] = {}
        if node is None:
            return out
        if isinstance(node, YSeq):
            pairs = [(self.scalar(item, "a symbol name"), None) for item in node.items]
        else:
            pairs = [(key, value) for key, value in self.mapping(node, "'symbols:'").items]
        for key, value in pairs:
            name = self.identifier(key, "symbol")
            default = None
            if value is not None and not (isinstance(value, YScalar) and value.value is None):
                if not isinstance(value, YScalar) or type(value.value) is not int or value.value < 1:
                    raise SpecError(value.loc, f"symbol '{name}' must default to a positive integer or null, "
                                    f"got {describe(value)}", code="bad-argument", hint=_symbol_hint(name, value))
                default = value.value
            out[name] = Symbol(name, default, key.loc)
        return out

    def input(self, node: YNode, symbols: dict[str, Symbol]) -> list[Value]:
        if not isinstance(node, YSeq) or not node.items:
            raise SpecError(node.loc, f"'input:' must be a non-empty list of dims, got {describe(node)}",
                            code="bad-input-shape", hint="channels first, batch excluded: [3, 224, 224] or [D_i]")
        dims = [self.value(item, None) for item in node.items]
        for dim in dims:  # a bare name in the input declares a symbol
            if not isinstance(dim, Lit):
                for name in getattr(dim, "names", ()):
                    if _NAME.match(name) and name not in symbols and name == str(dim).strip():
                        _not_reserved(name, dim.loc, "symbol")
                        symbols[name] = Symbol(name, None, dim.loc)
        return dims

    # -- blocks -----------------------------------------------------------------------------------

    def block_defs(self, node: YNode) -> None:
        defs = self.mapping(node, "'blocks:'", hint="blocks: {stage(n, c): [...layers...]}")
        bodies = []
        errors = Collector()
        for key, body in defs.items:
            match = _SIGNATURE.match(key.text)
            name = match.group(1) if match else key.text.split("(", 1)[0].strip()
            try:
                if not match:
                    raise SpecError(key.loc, f"cannot read block signature '{key.text}'", code="bad-block",
                                    hint="write it as name(param, param = default), e.g. stage(n, c)")
                params_text = match.group(2)
                if name in LAYERS:
                    raise SpecError(key.loc, f"block '{name}' has the name of a layer kind", code="bad-block",
                                    hint="rename the block")
                if name in CONSTRUCTS or name in self.blocks:
                    raise SpecError(key.loc, f"block '{name}' is defined twice" if name in self.blocks
                                    else f"'{name}' is a reserved word", code="bad-block")
                start = Loc(key.loc.path, key.loc.line, key.loc.col + match.start(2)) if params_text else key.loc
                params = self.params(params_text or "", start)
            except SpecError as error:
                errors.add(error)
                if name not in LAYERS and name not in CONSTRUCTS and name not in self.blocks:
                    self.broken.add(name)
                continue
            self.blocks[name] = BlockDef(name, params, [], key.loc)
            bodies.append((name, body))
        for name, body in bodies:  # bodies may use blocks defined further down
            self.scope = self.blocks[name]
            with _collecting(errors):
                items = self.items(body, f"the body of block '{name}'")
                if not items:
                    raise SpecError(body.loc, f"block '{name}' has no layers", code="bad-block")
                self.blocks[name].body = items
        self.scope = None
        errors.raise_any()
        _param_words(self.blocks)

    def layer_default(self, block: BlockDef, param: Param) -> Item:
        """A layer parameter's default, a kind or block written in the signature (``act = relu``)."""
        word = bare_name(param.default)
        if word is None:
            raise SpecError(param.default.loc, f"block '{block.name}': '{param.name}' is written as a layer in the "
                            "body, so its default must be a layer kind or a block", code="bad-block",
                            hint=f"{param.name} = relu (or identity for none)")
        return self.call(word, None, param.default.loc, None)

    def block_arguments(self) -> None:
        """Read each block use's arguments, now that the blocks' layer parameters are known: layers for a
        layer parameter (read in the scope the use is written in), a value for any other. Reading layers
        may find more uses, and more parameters written as layers, so this runs to a fixpoint."""
        errors = Collector()
        changed = True
        while changed:
            changed = False
            _layer_params(self.blocks)
            for use in list(self.uses):
                for param in self.blocks[use.block].params:
                    raw = use.raw.get(param.name)
                    if raw is None or not param.layer or param.name in use.layer_args:
                        continue
                    use.args.pop(param.name, None)
                    use.layer_args[param.name] = []
                    changed = True
                    self.scope = self.blocks[use.scope] if use.scope else None
                    with _collecting(errors):
                        use.layer_args[param.name] = self.items(raw, f"'{param.name}'") \
                            if isinstance(raw, YSeq) else [self.item(raw)]
                    self.scope = None
        for use in self.uses:
            for param in self.blocks[use.block].params:
                if not param.layer and param.name in use.raw and param.name not in use.args:
                    with _collecting(errors):
                        use.args[param.name] = self.value(use.raw[param.name], None)  # a mapping: its error
        for block in self.blocks.values():
            for param in block.params:
                if param.layer and param.default is not None:
                    with _collecting(errors):
                        param.layer_default = [self.layer_default(block, param)]
        errors.raise_any()

    def params(self, text: str, start: Loc) -> list[Param]:
        """The parameters in ``text``, the inside of a signature's brackets, which begins at ``start``:
        each is located at its own name, and a default's errors at the default."""
        params: list[Param] = []
        if not text.strip():
            return params
        seen_default = False
        for offset, part in _split_commas(text):
            loc = Loc(start.path, start.line, start.col + offset)
            pname, eq, default = part.partition("=")
            pname = pname.strip()
            if not _NAME.match(pname) or pname.startswith("__") or keyword.iskeyword(pname):
                raise SpecError(loc, f"block parameter '{pname}' is not a name" + _keyword_note(pname),
                                code="bad-block", hint="parameters are names like c or stride, optionally with "
                                "= default")
            _not_reserved(pname, loc, "block parameter")
            if pname == "trainable":
                raise SpecError(loc, "block parameter name 'trainable' is reserved: 'trainable: false' on a use "
                                "freezes the block's layers", code="bad-name", hint="choose another name")
            if any(p.name == pname for p in params):
                raise SpecError(loc, f"block parameter '{pname}' appears twice", code="bad-block")
            value = None
            if eq:  # a default reads like any YAML value: true, null, 1e-3 mean what they mean elsewhere
                text = default.strip()
                at = Loc(loc.path, loc.line, loc.col + len(part) - len(default.lstrip()))
                if _LIST_START.match(text):  # "[1" of "[1, 2, 2]", split at its commas (not "[x for …]")
                    raise SpecError(at, f"block parameter '{pname}': a default is one value, not a list",
                                    code="bad-block", hint=f"give the list where the block is used "
                                    f"({{{pname}: [1, 2, 2]}}), or one parameter per axis")
                scalar = scalar_value(text, False, at, self.limits)
                value = parse_expr(text, at, self.limits) if isinstance(scalar, str) else Lit(scalar, at)
                seen_default = True
            elif seen_default:
                raise SpecError(loc, f"parameter '{pname}' without a default follows one with a default",
                                code="bad-block", hint="put parameters with defaults last")
            params.append(Param(pname, value, loc))
        return params

    # -- items ------------------------------------------------------------------------------------

    def items(self, node: YNode, what: str) -> list[Item]:
        if isinstance(node, YScalar) and node.value is None:
            return []
        if not isinstance(node, YSeq):
            raise SpecError(node.loc, f"{what} must be a list of layers, got {describe(node)}", code="bad-structure",
                            hint="start each layer on its own line with '- '")
        items, errors = [], Collector()
        branches = {i: _split_conditional(node.items, i) for i in range(len(node.items))}
        split = {j for i, n in branches.items() for j in range(i + 1, i + 1 + n)}
        for i, child in enumerate(node.items):  # every layer's own errors, not only the first layer's
            if i in split:  # the then: or else: of an if: split apart, reported at the if:
                continue
            with _collecting(errors):
                if branches[i]:
                    raise SpecError(child.loc, "'if:' and its branches are separate items of this list: in a list "
                                    "written [...], a mapping of several keys needs braces", code="bad-structure",
                                    hint="write [{if: ..., then: [...], else: [...]}]")
                items.append(self.item(child))
        errors.raise_any()
        return items

    def item(self, node: YNode) -> Item:
        if isinstance(node, YScalar):
            if not isinstance(node.value, str):
                raise SpecError(node.loc, f"expected a layer, got {describe(node)}", code="bad-structure",
                                hint="a layer is a kind name (relu) or a mapping (conv2d: {out: 64, kernel: 3})")
            return self.call(node.value, None, node.loc, None)
        if isinstance(node, YSeq):
            raise SpecError(node.loc, "expected a layer, got a list", code="bad-structure",
                            hint="a nested list of layers needs a construct: {layers: [...]} or {repeat: n, ...}")
        keys = node.keys()
        if "if" in keys:
            return self.conditional(node)
        if node.get("from") is not None:  # not a construct: a merge's branch reads it (merge)
            raise SpecError(node.get("from").loc, "'from:' takes a branch's input from an earlier layer, so it "
                            "belongs in a branch of a merge", code="bad-structure",
                            hint="- concat: [{from: down2}, []] joins down2's output with the input")
        name = self.name(node)
        trainable = self.trainable(node)
        if "repeat" in keys:
            repeat = self.repeat(node, name)
            repeat.trainable = trainable
            return repeat
        if "residual" in keys:
            inside = next((key for key, _ in node.items if key.text in RESIDUAL_KEYS), None)
            if inside is not None:  # the short form's list with a key of the long form beside it
                raise SpecError(inside.loc, f"'{inside.text}' belongs inside 'residual:', beside its body",
                                code="unknown-key", hint=f"write residual: {{body: [layers], {inside.text}: "
                                f"...}} (the short form, residual: [layers], has an identity shortcut and nothing "
                                "else)")
            self.only(node, CONSTRUCT_KEYS["residual"])
            residual = self.residual(node.get("residual"), name, node.loc)
            residual.inline, residual.trainable = self.inline(node), trainable
            return residual
        if "layers" in keys:
            self.only(node, CONSTRUCT_KEYS["layers"])
            return Group(self.items(node.get("layers"), "'layers:'"), name, node.loc, trainable)
        rest = [(k, v) for k, v in node.items if k.text not in MERGE_KEYS]
        if len(rest) != 1:
            raise SpecError(node.loc, f"a layer has one kind, found {len(rest)} keys: {', '.join(keys)}",
                            code="bad-structure", hint="put each layer in its own '- ' item, with its arguments "
                            "in a mapping: - conv2d: {out: 64, kernel: 3}")
        key, args = rest[0]
        item = self.call(key.text, args, key.loc, name)
        if trainable is not None:
            if item.trainable is not None:
                raise SpecError(node.get("trainable").loc, f"'trainable' is given twice: beside {key.text} and among "
                                "its arguments", code="bad-argument", hint="keep one of them")
            item.trainable = trainable
        if node.get("inline") is not None:
            if not isinstance(item, (Merge, BlockCall)):
                raise SpecError(node.get("inline").loc, f"'inline' applies to block uses, residuals and merges of "
                                f"branches, not to {key.text}", code="unknown-key", hint="remove it")
            item.inline = self.inline(node)
            if isinstance(item, BlockCall) and item.inline and item.name is not None:
                raise SpecError(node.get("inline").loc, f"an inline use of block '{item.block}' has no level of its "
                                "own, so it cannot be named", code="bad-name",
                                hint="name the layers inside the block, or drop inline: true to give the use a name")
        return item

    def only(self, node: YMap, allowed: tuple[str, ...], inside: str | None = None) -> None:
        """Refuse keys other than ``allowed``, said to be beside the first one or ``inside`` a construct."""
        where = f"in {inside}" if inside else f"beside '{allowed[0]}'"
        for key, _ in node.items:
            if key.text not in allowed:
                raise SpecError(key.loc, f"unexpected key '{key.text}' {where}", code="unknown-key",
                                hint=did_you_mean(key.text, allowed) or f"allowed here: {', '.join(allowed)}")

    def name(self, node: YMap) -> Name | None:
        value = node.get("name")
        return None if value is None else self.layer_name(value)

    def trainable(self, node: YMap) -> Lit | None:
        """The ``trainable:`` beside an item, or None when it has none."""
        value = node.get("trainable")
        return None if value is None else self.trainable_value(value)

    def trainable_value(self, node: YNode) -> Lit:
        """``trainable:`` wherever it is written (beside an item, among a layer's or a block use's arguments): a
        YAML boolean, kept with its place (where a finding about frozen layers points). It is read as written,
        not computed, so a frozen part is visible in the file itself."""
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return Lit(node.value, node.loc)
        hint = yaml11_bool_hint(node.value if isinstance(node, YScalar) else None) or "trainable: false freezes " \
            "the parameters of everything it is written on (true, the default, trains them)"
        raise SpecError(node.loc, f"'trainable' must be true or false, got {describe(node)}", code="bad-argument",
                        hint=hint)

    def conditional(self, node: YMap) -> If:
        """``if: condition``, ``then: [...]``, ``else: [...]`` (either may be left out: no layers)."""
        self.only(node, CONSTRUCT_KEYS["if"])
        test = node.get("if")
        if not isinstance(test, YScalar) or test.value is None:
            raise SpecError(test.loc, f"'if:' needs a condition, got {describe(test)}", code="bad-structure",
                            hint="a comparison of block parameters or symbols: if: expansion != 1")
        # a number holds when it is not 0 (if: true, if: 0, if: 0.5), as an expression's value does
        written = test.text if isinstance(test.value, str) else ("1" if test.value else "0")
        condition = parse_expr(written, test.loc, self.limits, condition=True)
        if node.get("then") is None and node.get("else") is None:
            raise SpecError(node.loc, "'if:' needs 'then:' or 'else:' layers", code="bad-structure",
                            hint="- if: expansion != 1\n    then: [conv2d: {out: hidden, kernel: 1}]\n    else: []")
        then = self.items(node.get("then"), "'then:'") if node.get("then") is not None else []
        orelse = self.items(node.get("else"), "'else:'") if node.get("else") is not None else []
        return If(condition, then, orelse, node.loc)

    def inline(self, node: YMap) -> bool:
        value = node.get("inline")
        if value is None:
            return False
        if not isinstance(value, YScalar) or not isinstance(value.value, bool):
            raise SpecError(value.loc, f"'inline' must be true or false, got {describe(value)}", code="bad-argument",
                            hint=yaml11_bool_hint(value.value if isinstance(value, YScalar) else None))
        return value.value

    def layer_name(self, node: YNode, computed: bool = True) -> Name:
        """A name; dots place the layer in nested modules (``attention.output.dense``), so each part
        between them must be a name of its own. ``{expression}`` parts (``denselayer{i + 1}``) are computed
        where the item is built, when ``computed``."""
        text = self.word(node, "a name")
        if not text.strip() or any(not part.strip() for part in text.split(".")):
            raise SpecError(node.loc, f"name '{text}' is empty or has an empty part between dots", code="bad-name",
                            hint="'.' separates path parts (attention.output.dense): no leading, trailing or "
                            "double dots")
        if "{" not in text and "}" not in text:
            return text
        if not computed:
            raise SpecError(node.loc, f"name '{text}' cannot have computed {{…}} parts here", code="bad-name",
                            hint="give a fixed name")
        parts: list = []
        last = 0
        for match in _BRACED.finditer(text):
            parts.append(text[last:match.start()])
            at = Loc(node.loc.path, node.loc.line, node.loc.col + _offset(node, text) + match.start(1))
            if not match.group(1).strip():
                raise SpecError(at, f"name '{text}' has an empty {{}}", code="bad-name",
                                hint="write the number to put there: denselayer{i + 1}")
            parts.append(parse_expr(match.group(1), at, self.limits))
            last = match.end()
        parts.append(text[last:])
        stray = next((i for i, part in enumerate(parts) if isinstance(part, str) and ("{" in part or "}" in part)),
                     None)
        if stray is not None:
            raise SpecError(node.loc, f"name '{text}' has an unmatched brace", code="bad-name",
                            hint="a computed part is one expression in braces: layer{i + 1}")
        return NameTemplate(text, tuple(part for part in parts if part != ""), node.loc)

    def call(self, kind: str, args: YNode | None, loc: Loc, name: str | None) -> Item:
        cls = LAYERS.get(kind)
        if cls is not None and issubclass(cls, MergeLayer):
            return self.merge(cls, kind, args, loc, name)
        if cls is not None:
            return self.layer(cls, kind, args, loc, name)
        if kind in self.blocks:
            return self.block_call(self.blocks[kind], args, loc, name)
        if kind in self.broken:  # its signature's error says what is wrong; the use stands for nothing
            return Group([], name, loc)
        if self.scope is not None and any(p.name == kind for p in self.scope.params):
            return self.layer_arg(kind, args, loc, name)
        # a construct only when the word is nearly one ('lyers', one letter off 'layers', not 'layer_scale');
        # otherwise a kind or block: 'layernorn' is a misspelt layer kind, not the 'layers:' construct
        hint = did_you_mean(kind, CONSTRUCTS, cutoff=0.85) or did_you_mean(kind, [*LAYERS, *self.blocks]) or \
            choices_hint(kind, [*LAYERS, *self.blocks], "kinds")
        raise SpecError(loc, f"unknown layer kind '{kind}'", code="unknown-kind", hint=hint)

    def merge(self, cls: type[MergeLayer], kind: str, node: YNode | None, loc: Loc, name: str | None) -> Item:
        """A merge kind with branches (``- add: [[...], [...]]``, or ``{branches: [...], axis: 1}``), or as a
        plain layer on its own input where its arity allows one input."""
        branches_node = node if isinstance(node, YSeq) else node.get("branches") if isinstance(node, YMap) else None
        low, high = cls.ARITY
        if branches_node is None:
            if low > 1:
                raise SpecError(loc, f"{kind} combines branches: give them as a list", code="bad-structure",
                                hint=f"- {kind}: [[...layers...], [...layers...]] (an empty branch [] is the input)")
            return self.layer(cls, kind, node, loc, name)
        item = self.layer(cls, kind, node if isinstance(node, YMap) else None, loc, name, skip=("branches",))
        if not isinstance(branches_node, YSeq):
            raise SpecError(branches_node.loc, f"{kind}: 'branches' must be a list of branches, got "
                            f"{describe(branches_node)}", code="bad-structure",
                            hint=f"{kind}: {{branches: [[...], [...]]}}")
        count = len(branches_node.items)
        if count < low or (high is not None and count > high):
            wanted = f"{low}" if low == high else f"at least {low}" if high is None else f"{low} to {high}"
            raise SpecError(branches_node.loc, f"{kind} takes {wanted} branches, got {count}", code="bad-structure",
                            hint="each branch is a list of layers run on the same input; [] is the input itself")
        branches, locs, sources, source_locs = [], [], [], []
        for branch in branches_node.items:
            source = None
            if isinstance(branch, YMap) and branch.get("from") is not None:
                source, body = self.source(branch)
            else:
                body = self.items(branch, "a branch") if isinstance(branch, YSeq) else [self.item(branch)]
            branches.append(body)
            sources.append(source)
            locs.append(branch.loc)
            source_locs.append(branch.get("from").loc if source is not None else branch.loc)
        return Merge(kind, item.args, branches, item.name, loc, locs, arg_keys=item.arg_keys,
                     sources=sources if any(s is not None for s in sources) else [], source_locs=source_locs,
                     trainable=item.trainable)

    def source(self, node: YMap) -> tuple[Name, list[Item]]:
        """A branch on an earlier node's output: ``{from: PATH}``, with ``layers:`` run on it and a ``name:``
        for them (as a named group's) when given. The path may compute parts (``down{level}``). With
        ``trainable:`` the layers are a group (an unnamed one adds no level) that carries it."""
        self.only(node, FROM_KEYS, "a branch with 'from:'")
        path = self.layer_name(node.get("from"))
        layers = self.items(node.get("layers"), "'layers:'") if node.get("layers") is not None else []
        name, trainable = self.name(node), self.trainable(node)
        grouped = name is not None or trainable is not None
        return path, [Group(layers, name, node.loc, trainable)] if grouped else layers

    def layer(self, cls: type[Layer], kind: str, node: YNode | None, loc: Loc, name: str | None,
              skip: tuple[str, ...] = ()) -> LayerItem:
        args: dict[str, Value] = {}
        keys: dict[str, Loc] = {}
        init = trainable = None
        if isinstance(node, YMap):
            for key, value in node.items:
                if key.text in skip:
                    continue
                if key.text == "name":
                    if name is not None:
                        raise SpecError(key.loc, "the layer is named twice", code="bad-name")
                    name = self.layer_name(value)
                    continue
                if key.text == "trainable":
                    trainable = self.trainable_value(value)
                    continue
                if key.text == "init" and Trait.WEIGHTED in cls.TRAITS:
                    from archcalc.spec.init import parse_init

                    init = parse_init(value, kind)
                    keys["init"] = key.loc
                    continue
                arg = cls.ARGS.get(key.text)
                if arg is None:
                    raise SpecError(key.loc, f"{kind} has no argument '{key.text}'", code="unknown-argument",
                                    hint=_argument_hint(key.text, cls, kind))
                args[key.text] = self.value(value, arg)
                keys[key.text] = key.loc
        elif node is not None and not (isinstance(node, YScalar) and node.value is None):
            if cls.PRIMARY is None:
                raise SpecError(node.loc, f"{kind} takes its arguments as a mapping, got {describe(node)}",
                                code="bad-argument", hint=_mapping_example(cls, kind))
            args[cls.PRIMARY] = self.value(node, cls.ARGS[cls.PRIMARY])
        missing = [a for a, spec in cls.ARGS.items() if spec.required and a not in args]
        if missing:
            docs = "; ".join(f"{a}: {cls.ARGS[a].doc}" for a in missing)
            raise SpecError(loc, f"{kind} needs {_and(missing)}", code="missing-argument",
                            hint=f"{docs} — e.g. {_mapping_example(cls, kind)}")
        return LayerItem(kind, args, name, loc, keys, node, init, trainable)

    def layer_arg(self, param: str, node: YNode | None, loc: Loc, name: Name | None) -> LayerArg:
        """A parameter of the enclosing block written as a layer (``- act``, ``- act: {name: act_fn}``, and
        ``trainable:`` for whatever layers the use gives)."""
        trainable = None
        if isinstance(node, YMap):
            for key, value in node.items:
                if key.text == "trainable":
                    trainable = self.trainable_value(value)
                    continue
                if key.text != "name":
                    raise SpecError(key.loc, f"'{param}' is a block parameter: its layers come with their "
                                    f"arguments from the block's use, so it takes none here", code="unknown-argument",
                                    hint=f"pass them at the use: {param}: {{gelu: {{approximate: tanh}}}}")
                if name is not None:
                    raise SpecError(key.loc, "the layer is named twice", code="bad-name")
                name = self.layer_name(value)
        elif node is not None and not (isinstance(node, YScalar) and node.value is None):
            raise SpecError(node.loc, f"'{param}' is a block parameter: it takes no arguments here",
                            code="unknown-argument", hint=f"write it alone: - {param}")
        next(p for p in self.scope.params if p.name == param).layer = True
        return LayerArg(param, name, loc, trainable)

    def block_call(self, block: BlockDef, node: YNode | None, loc: Loc, name: str | None) -> BlockCall:
        args: dict[str, Value] = {}
        raw: dict[str, YNode] = {}
        names = [p.name for p in block.params]
        trainable = None
        if isinstance(node, YMap):
            for key, value in node.items:
                if key.text == "name":
                    if name is not None:
                        raise SpecError(key.loc, "the block is named twice", code="bad-name")
                    name = self.layer_name(value)
                    continue
                if key.text == "trainable":
                    trainable = self.trainable_value(value)
                    continue
                if key.text not in names:
                    hint = choices_hint(key.text, names, f"parameters of {block.name}") if names \
                        else f"{block.name} takes no parameters"
                    if key.text == "inline":
                        hint = f"inline goes beside the use, not among its arguments: - {block.name}: {{...}}, " \
                            "then inline: true on the next line, aligned with it"
                    if key.text in FREEZE_NAMES:
                        hint = _argument_hint(key.text, Layer, block.name)
                    raise SpecError(key.loc, f"block '{block.name}' has no parameter '{key.text}'",
                                    code="unknown-argument", hint=hint)
                raw[key.text] = value
        elif node is not None and not (isinstance(node, YScalar) and node.value is None):
            values = node.items if isinstance(node, YSeq) else [node]
            if len(values) > len(names):
                raise SpecError(node.loc, f"block '{block.name}' takes {len(names)} argument"
                                f"{'s' if len(names) != 1 else ''} ({', '.join(names) or 'none'}), "
                                f"got {len(values)}", code="block-arguments", hint=_signature(block))
            raw.update(zip(names, values))
        for param, value in raw.items():  # layers or a value? decided in block_arguments when not a scalar
            if isinstance(value, YScalar):
                args[param] = self.value(value, None)
        missing = [p.name for p in block.params if p.default is None and p.name not in raw]
        if missing:
            raise SpecError(loc, f"block '{block.name}' needs {_and(missing)}", code="block-arguments",
                            hint=_signature(block))
        use = BlockCall(block.name, args, name, loc, raw=raw, scope=self.scope.name if self.scope else None,
                        trainable=trainable)
        self.uses.append(use)
        return use

    def repeat(self, node: YMap, name: str | None) -> Repeat:
        self.only(node, CONSTRUCT_KEYS["repeat"])
        count_node = node.get("repeat")
        body_node = node.get("layers")
        if body_node is None:
            raise SpecError(node.loc, "'repeat:' needs 'layers:' to repeat", code="bad-structure",
                            hint="- repeat: 3\n    layers: [conv2d: {out: 64, kernel: 3, padding: 1}, relu]")
        index = None
        if node.get("index") is not None:
            index = self.identifier(node.get("index"), "repeat index")
        body = self.items(body_node, "'layers:'")
        if not body:
            raise SpecError(body_node.loc, "'repeat:' has no layers to repeat", code="bad-structure")
        return Repeat(self.value(count_node, None), index, body, name, node.loc)

    def residual(self, node: YNode, name: str | None, loc: Loc) -> Residual:
        if isinstance(node, YSeq):
            if not node.items:
                raise SpecError(node.loc, "the residual body is empty", code="bad-structure")
            return Residual(self.items(node, "the residual body"), "identity", name, loc, node.loc)
        spec = self.mapping(node, "'residual:'", hint="residual: {body: [...], shortcut: auto}")
        body_node = spec.get("body")
        if body_node is None:  # before the keys: 'layers:' where 'body:' belongs is the likely mistake
            raise SpecError(spec.loc, "'residual:' needs 'body:'", code="bad-structure",
                            hint="residual: {body: [...layers...], shortcut: identity | auto | if_same | [...], "
                            "then: [relu]}")
        self.only(spec, RESIDUAL_KEYS, inside="'residual:'")
        body = self.items(body_node, "the residual body")
        if not body:
            raise SpecError(body_node.loc, "the residual body is empty", code="bad-structure")
        short_node = spec.get("shortcut")
        shortcut: str | list[Item] = "identity"
        short_loc = spec.loc
        if short_node is not None:
            short_loc = short_node.loc
            if isinstance(short_node, YScalar) and isinstance(short_node.value, str) and short_node.value in SHORTCUTS:
                shortcut = short_node.value
            elif isinstance(short_node, YSeq):
                shortcut = self.items(short_node, "the shortcut")
            else:
                text = describe(short_node)
                raise SpecError(short_node.loc, f"shortcut must be identity, auto, if_same or a list of layers, "
                                f"got {text}", code="bad-argument",
                                hint=choices_hint(str(getattr(short_node, "value", "")), SHORTCUTS, "shortcuts"))
        then = self.items(spec.get("then"), "'then:'") if spec.get("then") is not None else []
        short_name = spec.get("shortcut_name")
        label = "shortcut" if short_name is None else self.layer_name(short_name, computed=False)
        if short_name is not None and shortcut in ("identity", "if_same"):
            raise SpecError(short_name.loc, f"shortcut_name names the shortcut's layers, but shortcut: {shortcut} "
                            "has none", code="bad-structure",
                            hint="drop shortcut_name, or use shortcut: auto or a list of layers")
        return Residual(body, shortcut, name, loc, short_loc, then, label)

    # -- values -----------------------------------------------------------------------------------

    def value(self, node: YNode, arg: Arg | None) -> Value:
        """A literal, an expression, or a list of them. Strings are expressions unless the argument
        accepts them as words (``padding: same``)."""
        if isinstance(node, YSeq):
            return ArgList(tuple(self.value(item, arg) for item in node.items), node.loc)
        if isinstance(node, YMap):
            raise SpecError(node.loc, f"argument{f' {arg.name!r}' if arg else ''} cannot be a mapping",
                            code="bad-argument", hint="give a number, an expression such as 2*c, or a list")
        if node.value is None:
            raise SpecError(node.loc, f"argument{f' {arg.name!r}' if arg else ''} has no value", code="bad-argument",
                            hint="give a value or leave the argument out")
        if isinstance(node.value, str):
            if arg is not None and (node.value in arg.words or getattr(arg, "text", False)):
                return Lit(node.value, node.loc)
            return parse_expr(node.value, node.loc, self.limits)
        return Lit(node.value, node.loc)

    # -- small readers ----------------------------------------------------------------------------

    def mapping(self, node: YNode, what: str, hint: str | None = None) -> YMap:
        if not isinstance(node, YMap):
            raise SpecError(node.loc, f"{what} must be a mapping, got {describe(node)}", code="bad-structure",
                            hint=hint)
        return node

    def scalar(self, node: YNode, what: str) -> YScalar:
        if not isinstance(node, YScalar):
            raise SpecError(node.loc, f"expected {what}, got {describe(node)}", code="bad-structure")
        return node

    def word(self, node: YNode, what: str) -> str:
        scalar = self.scalar(node, what)
        if scalar.value is None:
            raise SpecError(node.loc, f"{what} is empty", code="bad-structure")
        return scalar.text

    def identifier(self, node: YNode, what: str) -> str:
        text = self.word(node, f"a {what} name")
        if not _NAME.match(text) or text.startswith("__") or keyword.iskeyword(text):
            raise SpecError(node.loc, f"{what} name '{text}' is not a plain name{_keyword_note(text)}", code="bad-name",
                            hint="use letters, digits and _, starting with a letter (H, D_i, growth)")
        _not_reserved(text, node.loc, what)
        return text


def _not_reserved(name: str, loc: Loc, what: str) -> None:
    """The input names (``in_channels``, …) mean the same everywhere, so nothing may declare them."""
    if name in INPUT_NAMES:
        raise SpecError(loc, f"{what} name '{name}' is reserved: it reads the shape of a layer's input",
                        code="bad-name", hint="choose another name; in_channels, in_features and in_shape[k] are "
                        "there to be read in any layer's arguments")


@contextlib.contextmanager
def _collecting(errors: Collector) -> Iterator[None]:
    """Record a :class:`SpecError` raised inside the block in ``errors`` and go on after it."""
    try:
        yield
    except SpecError as error:
        errors.add(error)


#: PyTorch's and Keras' names for arguments the spec names otherwise, for the hint when one is written
FRAMEWORK_NAMES = {"out_channels": "out", "out_features": "out", "filters": "out", "units": "out",
                   "output_size": "out", "in_channels": "in", "in_features": "in", "kernel_size": "kernel",
                   "pool_size": "kernel", "strides": "stride", "scale_factor": "scale", "num_embeddings": "vocab",
                   "input_dim": "vocab", "embedding_dim": "dim", "output_dim": "dim", "hidden_size": "hidden",
                   "num_heads": "heads", "nhead": "heads", "num_groups": "groups", "negative_slope": "slope",
                   "epsilon": "eps", "rate": "p", "dilation_rate": "dilation", "use_bias": "bias",
                   "upscale_factor": "factor"}
#: other libraries' words for a frozen layer (torch's requires_grad, Keras' trainable is ours)
FREEZE_NAMES = ("requires_grad", "frozen", "freeze")
#: framework arguments with no counterpart, and why
FRAMEWORK_ONLY = {
    "padding_mode": "torch's transposed convolutions and pools pad with zeros (or −∞) only: padding_mode is for "
                    "conv1d/2d/3d; a pad layer (mode: reflect, replicate, circular) pads before any kind",
    "inplace": "in-place or not changes no shape or count; leave it out",
    "device": "specs describe the network, not where it runs; leave it out",
    "dtype": "specs describe the network, not its number type; leave it out",
}


def _argument_hint(word: str, cls: type[Layer], kind: str) -> str:
    """The hint for an argument ``kind`` does not have: its name here when it is PyTorch's or Keras' name for
    one, why there is none when the framework's has no counterpart, else a did-you-mean or the list."""
    ours = FRAMEWORK_NAMES.get(word)
    if word in FREEZE_NAMES:
        return "write trainable: false (beside or among the arguments of any layer, block use, repeat or group): " \
            "it freezes their parameters"
    if ours in cls.ARGS:
        return f"archcalc calls it '{ours}' ({kind}: {{{ours}: ...}})"
    if word in FRAMEWORK_ONLY:
        return FRAMEWORK_ONLY[word]
    return choices_hint(word, list(cls.ARGS), f"arguments of {kind}") if cls.ARGS else f"{kind} takes no arguments"


def _split_conditional(items: list[YNode], i: int) -> int:
    """How many items after item ``i`` are its ``then:`` and ``else:``, when it is an ``if:`` split apart:
    ``[if: c, then: [...]]`` in a flow list reads as ``{if: c}`` and ``{then: [...]}``, an if without layers
    and an unknown kind 'then'."""
    if not (isinstance(items[i], YMap) and list(items[i].keys()) == ["if"]):
        return 0
    count = 0
    for item in items[i + 1:i + 3]:
        if not (isinstance(item, YMap) and item.items and set(item.keys()) <= {"then", "else"}):
            break
        count += 1
    return count


def _keyword_note(name: str) -> str:
    """Expressions are read with Python's grammar, where a keyword (``in``, ``class``) is no name."""
    return " (it is a Python keyword, which expressions cannot use)" if keyword.iskeyword(name) else ""


def _param_words(blocks: dict[str, BlockDef]) -> None:
    """Give each block parameter the words of the arguments its block passes it to, bare.

    A parameter passed on to another block's parameter takes that one's words too, so this runs to a
    fixpoint (each round adds words, and there are finitely many).
    """
    changed = True
    while changed:
        changed = False
        for block in blocks.values():
            for param in block.params:
                words = param.words.union(*(w for name, w in _passes(block.body, blocks) if name == param.name))
                if words != param.words:
                    param.words, changed = frozenset(words), True


def _layer_params(blocks: dict[str, BlockDef]) -> None:
    """Mark the parameters a block passes, bare, to another block's layer parameter (``inner: {act: act}``)
    as layer parameters too, to a fixpoint (:meth:`_Parser.layer_arg` marks those written as layers)."""
    changed = True
    while changed:
        changed = False
        for block in blocks.values():
            mine = {p.name: p for p in block.params}
            for use in (i for i in _walk(block.body) if isinstance(i, BlockCall)):
                for param in blocks[use.block].params:
                    raw = use.raw.get(param.name)
                    word = raw.value if isinstance(raw, YScalar) and isinstance(raw.value, str) else None
                    if param.layer and word in mine and word not in LAYERS and word not in blocks \
                            and not mine[word].layer:
                        mine[word].layer = changed = True


def _walk(items: list[Item]) -> Iterator[Item]:
    """``items`` and every item nested in them (not inside other blocks' bodies)."""
    for item in items:
        yield item
        if isinstance(item, (Repeat, Group)):
            yield from _walk(item.body)
        elif isinstance(item, Residual):
            yield from _walk([*item.body, *(item.shortcut if isinstance(item.shortcut, list) else []), *item.then])
        elif isinstance(item, Merge):
            for branch in item.branches:
                yield from _walk(branch)
        elif isinstance(item, If):
            yield from _walk([*item.then, *item.orelse])


def _passes(items: list[Item], blocks: dict[str, BlockDef]):
    """``(name, words)`` for every argument in ``items``: the bare name given as the whole argument
    (None when it is something else) and the words that argument takes."""
    for item in items:
        if isinstance(item, LayerItem):
            args = LAYERS[item.kind].ARGS
            yield from ((bare_name(v), args[k].words) for k, v in item.args.items())
        elif isinstance(item, BlockCall):
            params = {p.name: p.words for p in blocks[item.block].params}
            yield from ((bare_name(v), params[k]) for k, v in item.args.items())
        elif isinstance(item, (Repeat, Group)):
            yield from _passes(item.body, blocks)
        elif isinstance(item, Residual):
            shortcut = item.shortcut if isinstance(item.shortcut, list) else []
            yield from _passes([*item.body, *shortcut, *item.then], blocks)
        elif isinstance(item, Merge):
            args = LAYERS[item.kind].ARGS
            yield from ((bare_name(v), args[k].words) for k, v in item.args.items())
            for branch in item.branches:
                yield from _passes(branch, blocks)
        elif isinstance(item, If):
            yield from _passes([*item.then, *item.orelse], blocks)


def _offset(node: YNode, text: str) -> int:
    """Where ``text`` starts after the node's location: 1 past a quote when the scalar was quoted."""
    return 1 if getattr(node, "quoted", False) else 0


def _split_commas(text: str) -> list[tuple[int, str]]:
    """The comma-separated parts of ``text`` outside brackets, stripped, each with its offset."""
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(text + ","):
        depth += ch == "("
        depth -= ch == ")"
        if ch == "," and depth == 0:
            piece = text[start:i]
            parts.append((start + len(piece) - len(piece.lstrip()), piece.strip()))
            start = i + 1
    return parts


def _and(names: list[str]) -> str:
    quoted = [f"'{n}'" for n in names]
    return quoted[0] if len(quoted) == 1 else ", ".join(quoted[:-1]) + " and " + quoted[-1]


def _signature(block: BlockDef) -> str:
    params = ", ".join(p.name + (" = …" if p.default is not None else "") for p in block.params)
    return f"{block.name}({params}) is defined at line {block.loc.line}"


def _mapping_example(cls: type[Layer], kind: str) -> str:
    required = [a for a, spec in cls.ARGS.items() if spec.required]
    inner = ", ".join(f"{a}: …" for a in required)
    return f"- {kind}: {{{inner}}}" if inner else f"- {kind}"


def _stem(path: str) -> str:
    base = path.replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[0] if "." in base else base or "model"


def _symbol_hint(name: str, value: YNode) -> str:
    """What to write instead of a symbol default that is no size: symbols are the model's sizes, and a
    switch or a rate belongs to a block's arguments, which may be true, false, 0 or a fraction."""
    switch = isinstance(value, YScalar) and (type(value.value) is bool or value.value == 0)
    if switch:
        return (f"symbols are sizes (1 or more); a switch is an argument of the block that reads it, with a default "
                f"(`up(c, {name} = {str(value.value).lower()}):` under blocks:), and `if: {name}` chooses the layers")
    return f"symbols are sizes: a whole number of 1 or more ({name}: 32), or null to give it with --set {name}=N"
