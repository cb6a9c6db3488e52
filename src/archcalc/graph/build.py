"""Spec → graph: instantiate blocks, unroll repeats, evaluate arguments, propagate shapes.

This is where values meet structure, so it is where shape errors are found: a channel mismatch, a
kernel that does not fit, a residual whose two sides differ, a concat whose branches disagree.
Each is raised at the spec location that caused it.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field

from archcalc import symbolic
from archcalc.errors import Loc, SpecError, did_you_mean
from archcalc.graph.nodes import Graph, LayerNode, MergeNode, Node, ResidualNode, SeqNode
from archcalc.layers import GLOBAL, LAYERS, VARIES, Shape
from archcalc.layers.args import Arg, Int
from archcalc.layers.base import Layer, shape_text
from archcalc.limits import Limits, default_limits
from archcalc.spec.ast import (
    ArgList,
    BlockCall,
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
    Value,
)
from archcalc.spec.expr import (
    INPUT_NAMES,
    Expr,
    Unknown,
    bare_name,
    depends_on_unknown,
    evaluate,
    truth,
    undefined_hint,
    unknown_input,
)
from archcalc.symbolic import Dim

_DIM = Int(doc="an input dimension")
_DIM.name = "input"


@dataclass(frozen=True, slots=True)
class Layers:
    """The value of a layer parameter: the layers a use passed (or the default), with the names of the
    place they were written in (the caller's parameters, repeat indexes), where they are built."""

    items: list[Item]
    env: Mapping[str, object]

    def __repr__(self) -> str:  # the key of a block's size: the same layers in the same place count once
        return f"Layers({id(self.items)}, {sorted((k, repr(v)) for k, v in self.env.items())})"


def build_graph(spec: Spec, values: Mapping[str, int] | None = None, *, free: bool = False,
                limits: Limits | None = None) -> Graph:
    """Elaborate ``spec``. ``values`` set symbols (``--set``); ``free`` ignores the spec's defaults."""
    values = dict(values or {})
    for name in values:
        if name not in spec.symbols:
            hint = did_you_mean(name, list(spec.symbols)) or (
                f"the spec's symbols are {', '.join(spec.symbols)}" if spec.symbols else "the spec has no symbols")
            raise SpecError(spec.loc, f"{name}={values[name]!r} is given, but the spec has no symbol '{name}'",
                            code="usage", hint=hint)
    limits = limits or default_limits()
    for name, value in values.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:  # the Python API's values
            raise SpecError(spec.symbols[name].loc, f"{name}={value!r}: a symbol's value must be a whole number ≥ 1",
                            code="usage", hint=f"e.g. {name}=224")
        if abs(value) > limits.max_int:
            shown = str(value) if len(str(value)) <= 20 else f"{str(value)[:20]}…"
            raise SpecError(None, f"--set {name}: {shown} is too large", code="resource-limit",
                            hint=f"values are limited to ±{limits.max_int:,} (--limit max_int=N)")
    env: dict[str, Dim] = {}
    for name, sym in spec.symbols.items():
        value = values.get(name, None if free else sym.default)
        env[name] = value if value is not None else symbolic.symbol(name)
    builder = _Builder(spec, env, limits)
    x = tuple(builder.dim(value) for value in spec.input)
    builder.input_symbols = set(symbolic.free_names(x))
    if all(symbolic.is_int(d) for d in x) and math.prod(x) > limits.max_int:
        raise SpecError(spec.input_loc, f"the input holds {_magnitude(math.prod(x))} elements, past the integer limit",
                        code="resource-limit", hint=f"sizes are limited to {limits.max_int:,} (--limit max_int=N)")
    root = SeqNode("", spec.name, spec.loc, x, x, "model")
    box = _Box(root.items)
    try:
        builder.check_size(spec.layers, env)
        for item in spec.layers:
            x = builder.item(item, x, "", env, box)
    except SpecError as error:
        # the prefix that built (none when the first layer failed), for the linter's layer-local and input rules
        root.out_shape = x
        error.partial = Graph(spec.name, root, env, [n for n, v in env.items() if not symbolic.is_int(v)], spec)
        raise
    except RecursionError:  # only when --limit max_nesting was raised past what Python's stack holds
        raise SpecError(spec.layers_loc, "the spec nests too deeply for Python's stack", code="resource-limit",
                        hint=f"--limit max_nesting={limits.max_nesting} allows more than this machine can build; "
                        "lower it (the default is 100)") from None
    if builder.count == 0:  # as 'layers: []' is: every report and backend needs at least one layer
        raise SpecError(spec.layers_loc, "'layers:' builds no layers", code="empty-spec",
                        hint="empty branches and bodies, and repeats of 0, add none; keep at least one layer")
    root.out_shape = x
    graph = Graph(spec.name, root, env, sorted(n for n, v in env.items() if not symbolic.is_int(v)), spec,
                  builder.minimums, builder.maximums)
    check_ties(graph)
    _check_class_axis(graph)
    return graph


def _check_class_axis(graph: Graph) -> None:
    """``train: class_axis`` names an axis of the output (counted after the batch, negative from the last)."""
    train, out = graph.spec.train, graph.output_shape
    axis = train.class_axis if train is not None else None
    if axis is not None and not -len(out) <= axis < len(out):
        error = SpecError(train.locs.get("class_axis", train.loc), f"class_axis {axis} is not an axis of the "
                          f"output {shape_text(out)}: its axes are 0 … {len(out) - 1} (or −{len(out)} … −1 from the "
                          "last)", code="bad-train", hint="class_axis: 0 for class scores first (a segmentation's "
                          "[C, H, W]), -1 for last (a language model's [T, V])" if len(out) > 1 else
                          "drop class_axis: an output of one axis holds the class scores on it")
        error.partial, error.whole = graph, True  # the model built: the linter's rules all read it
        raise error


def check_ties(graph: Graph) -> None:
    """Every ``tie`` names another layer whose weight has the same shape, and one that owns it (a tie
    to a layer that ties in turn would leave no owner to count): else a located error at the tie."""
    layers = {node.path: node for node in graph.layers()}
    for node in layers.values():
        path = getattr(node.layer, "tie", None)
        if path is None:
            continue
        target = layers.get(path)
        if target is None or target is node:
            what = "itself" if target is node else f"'{path}', which names no layer"
            weighted = [p for p, n in layers.items() if hasattr(n.layer, "weight_shape") and n is not node]
            raise node.layer.error(f"ties its weight to {what}", arg="tie", code="bad-tie",
                                   hint=did_you_mean(path, weighted) or "give the path of a layer with a weight "
                                   "(a name with its blocks' names, as the parameter reports show it)")
        if not hasattr(target.layer, "weight_shape"):
            raise node.layer.error(f"ties its weight to '{path}', a {target.kind} layer, which has no weight",
                                   arg="tie", code="bad-tie", hint="tie to an embedding or linear layer")
        if getattr(target.layer, "reparam", None) is not None:
            raise node.layer.error(f"ties its weight to '{path}', whose weight is reparametrised by "
                                   f"{target.layer.reparam.kind}: a tie shares a parameter, and it has none "
                                   "named weight", arg="tie", code="bad-tie", hint=f"drop the tie, or "
                                   f"{target.layer.reparam.kind} on '{path}'")
        if getattr(target.layer, "tie", None) is not None:
            raise node.layer.error(f"ties its weight to '{path}', which ties its own to '{target.layer.tie}'",
                                   arg="tie", code="bad-tie", hint=f"tie to '{target.layer.tie}' directly")
        if node.frozen != target.frozen:
            which = ("frozen", "trainable") if node.frozen else ("trainable", "frozen")
            raise node.layer.error(f"ties its weight to '{path}', but this layer is {which[0]} and '{path}' is "
                                   f"{which[1]}: a tied weight is one tensor, which learns or does not",
                                   arg="tie", code="bad-tie", hint="give both layers the same trainable: setting")
        mine, theirs = node.layer.weight_shape(node.in_shape), target.layer.weight_shape(target.in_shape)
        if len(mine) != len(theirs) or not all(symbolic.equal(a, b) for a, b in zip(mine, theirs)):
            raise node.layer.error(f"ties its weight {shape_text(mine)} to '{path}', whose weight is "
                                   f"{shape_text(theirs)}", arg="tie", code="bad-tie",
                                   hint="a shared weight needs one shape: fix the sizes, or drop the tie")


@dataclass(slots=True)
class _Names:
    """The names given in one module's namespace, and how many nodes have taken a place in it (an
    unnamed node is named by its position). Inline constructs share their container's."""

    taken: set[str] = field(default_factory=set)
    count: int = 0


@dataclass(slots=True)
class _Box:
    """The children of one container while it is being filled (names must be unique within it)."""

    nodes: list[Node]
    names: _Names = field(default_factory=_Names)

    def next_name(self, name: str | None) -> str:
        return name if name is not None else str(self.names.count)

    def add(self, node: Node) -> None:
        self.reserve(node.name, node.loc)
        self.nodes.append(node)

    def reserve(self, name: str, loc: Loc) -> None:
        """Take ``name`` in the namespace before the node is complete (an inline construct, whose
        children are named after it in the same namespace)."""
        if name in self.names.taken:
            raise SpecError(loc, f"name '{name}' is used twice in the same block", code="bad-name",
                            hint="names make paths such as layer4.1.conv2, so they must differ within a block")
        self.names.taken.add(name)
        self.names.count += 1

    def inner(self, inline: bool) -> _Box:
        """The box of a construct's children: their own namespace, or this one's when ``inline``."""
        return _Box([], self.names) if inline else _Box([])


def _own_input_hint(error: SpecError, item: Merge) -> SpecError:
    """A branch that does not fit the others because a layer in it reads ``in_channels`` as the block's
    input (a squeeze-and-excitation gate's last ``out: in_channels`` gets the squeezed width, which is that
    layer's own input): the error says so, with the two ways to name the block's width."""
    if error.code not in ("broadcast-mismatch", "concat-mismatch"):
        return error
    for branch, loc in zip(item.branches, item.branch_locs):
        if loc != error.loc:
            continue
        culprit = next((layer for layer in reversed(list(_layer_items(branch))) if isinstance(layer.args.get("out"),
                        Expr) and "in_channels" in layer.args["out"].names), None)  # the last sets the width
        if culprit is not None:
            at = culprit.args["out"].loc
            error.hint = (f"{error.hint}; `out: {culprit.args['out'].text}` at line {at.line} reads in_channels of "
                          "that layer's own input, not the block's: give the block its width as a parameter "
                          "(se(c, r = 4) … out: c), or as a default that reads the use's input (se(r = 4, "
                          "c = in_channels))")
    return error


def _layer_items(items: list) -> Iterator[LayerItem]:
    """The layers written in ``items`` and in the groups, repeats and branches inside them, in order."""
    for item in items:
        if isinstance(item, LayerItem):
            yield item
        for attr in ("body", "then", "orelse", "shortcut"):
            inner = getattr(item, attr, None)
            if isinstance(inner, list):
                yield from _layer_items(inner)
        for branch in getattr(item, "branches", None) or []:
            yield from _layer_items(branch)


def _join(prefix: str, name: str) -> str:
    return f"{prefix}.{name}" if prefix else name


class _Builder:
    def __init__(self, spec: Spec, symbols: dict[str, Dim], limits: Limits):
        self.spec = spec
        self.symbols = symbols
        self.limits = limits
        self.calls: list[str] = []  # the chain of block calls, for cycle errors
        self.depth = 0
        self.count = 0
        self.params = 0  # the concrete parameters and buffers of the layers built so far
        #: path → every node built so far, complete: what a merge branch's ``from:`` may read
        self.done: dict[str, Node] = {}
        self.minimums: dict[str, tuple[int, str, Loc]] = {}  # see Graph.minimums
        self.maximums: dict[str, tuple[int, str, Loc]] = {}  # see Graph.maximums
        self.input_symbols: set[str] = set()  # the free symbols of the input's shape, which may only grow
        #: inside an item whose nearest ``trainable:`` is false, where that is written: the nodes built now are frozen
        self.frozen_at: Loc | None = None

    # -- values -----------------------------------------------------------------------------------

    def resolve(self, value: Value, env: Mapping[str, object]) -> object:
        """Evaluate a spec value: a literal, a list, or an expression over ``env``."""
        if isinstance(value, Lit):
            return value.value
        if isinstance(value, ArgList):
            return tuple(self.resolve(v, env) for v in value.items)
        layers = next((name for name in value.names if isinstance(env.get(name), Layers)), None)
        if layers is not None:
            raise SpecError(value.loc, f"'{layers}' is a layer parameter (its block writes it as a layer), not a "
                            "number", code="bad-argument", hint=f"use it as a layer, - {layers}, or add a "
                            "parameter for the number")
        return evaluate(value, env, self.limits)

    def argument(self, kind: str, arg: Arg, value: Value, env: Mapping[str, object]) -> object:
        """One layer argument, evaluated and normalised. An undefined bare name is a misspelt word
        when the argument takes words (``padding: full``), else an undefined symbol (``out: cc``);
        errors about the value name the kind, as ``conv2d: 'padding' must be …``."""
        word = bare_name(value)
        try:
            if word is not None and word not in env:
                error = arg.word_error(word, value.loc, list(env))
                if error is not None:
                    raise error
            return arg.convert(self.resolve(value, env), value.loc)
        except SpecError as e:
            if e.code != "bad-argument":
                raise
            raise SpecError(e.loc, f"{kind}: {e.message}", code=e.code, hint=e.hint) from None

    def dim(self, value: Value) -> Dim:
        try:
            return _DIM.convert(self.resolve(value, self.symbols), value.loc)
        except SpecError as e:
            e.code = "bad-input-shape" if e.code == "bad-argument" else e.code
            raise

    def count_of(self, value: Value, env: Mapping[str, object]) -> int:
        count = self.resolve(value, env)
        if isinstance(count, tuple):
            raise SpecError(value.loc, f"repeat count must be a concrete integer ≥ 0, got the list "
                            f"[{', '.join(map(symbolic.fmt, count))}]", code="bad-argument",
                            hint="a repeat count is one whole number of copies")
        if not symbolic.is_int(count) or count < 0:
            shown = symbolic.fmt(count) if not isinstance(count, str) else f"'{count}'"
            hint = ("a repeat count is a whole number of copies" if isinstance(count, float) else
                    "repeat counts cannot depend on free symbols; give them values with --set"
                    if not symbolic.is_int(count) and not isinstance(count, str) else "a layer repeats 0 or more times")
            raise SpecError(value.loc, f"repeat count must be a concrete integer ≥ 0, got {shown}",
                            code="bad-argument", hint=hint)
        if count > self.limits.max_layers:
            raise SpecError(value.loc, f"repeat {count:,} exceeds the {self.limits.max_layers:,}-layer limit",
                            code="resource-limit", hint="raise it with --limit max_layers=N if you mean it")
        return count

    # -- size -------------------------------------------------------------------------------------

    def check_size(self, items: list[Item], env: Mapping[str, object]) -> None:
        """Refuse a spec that would expand to more than ``max_layers`` layers before building any:
        nested repeats (1000 × 1000 × 1000) or blocks that use each other twice at every level
        (2⁴⁰) are counted by multiplication, in time proportional to the spec's text."""
        self.sizes: dict[tuple, int] = {}
        self.size(items, unknown_input(env))

    def size(self, items: list[Item], env: Mapping[str, object]) -> int:
        total = 0
        for item in items:
            if isinstance(item, LayerItem):
                n = 1
            elif isinstance(item, Repeat):
                local = {**env, item.index: 0} if item.index else env
                n = self.count_of(item.count, env) * self.size(item.body, local)
            elif isinstance(item, Group):
                n = self.size(item.body, env)
            elif isinstance(item, Residual):
                n = self.size(item.body, env) + self.size(item.then, env) + (
                    self.size(item.shortcut, env) if isinstance(item.shortcut, list) else 2)
            elif isinstance(item, Merge):
                n = sum(self.size(branch, env) for branch in item.branches)
            elif isinstance(item, LayerArg):
                value = self.layers_of(item, env)
                n = self.size(value.items, value.env)
            elif isinstance(item, If):  # a condition on the input's shape is decided when it is built
                n = max(self.size(item.then, env), self.size(item.orelse, env)) \
                    if depends_on_unknown(item.condition, env) \
                    else self.size(item.then if truth(item.condition, env, self.limits) else item.orelse, env)
            else:
                n = self.block_size(item, env)
            total += n
            if total > self.limits.max_layers:
                raise SpecError(item.loc, f"this expands to more than {self.limits.max_layers:,} layers",
                                code="resource-limit", hint="raise it with --limit max_layers=N if you mean it")
        return total

    def block_size(self, call: BlockCall, env: Mapping[str, object]) -> int:
        block = self.spec.blocks[call.block]
        self.check_cycle(block.name, call.loc)
        local = self.bind(call, env, counting=True)
        with _used_at(call):
            key = (block.name, *sorted((k, repr(v)) for k, v in local.items() if k not in self.symbols))
            if key not in self.sizes:
                self.calls.append(block.name)
                try:
                    self.sizes[key] = self.size(block.body, local)
                finally:
                    self.calls.pop()
        return self.sizes[key]

    def check_cycle(self, name: str, loc: Loc) -> None:
        if name in self.calls or len(self.calls) >= self.limits.max_nesting:
            if name not in self.calls:
                raise SpecError(loc, f"blocks nested deeper than {self.limits.max_nesting}", code="resource-limit",
                                hint="raise it with --limit max_nesting=N")
            chain = " → ".join([*self.calls[self.calls.index(name):], name])
            raise SpecError(loc, f"block '{name}' uses itself ({chain})", code="block-cycle",
                            hint="a block cannot contain itself, directly or through other blocks")

    def bind(self, call: BlockCall, env: Mapping[str, object], path: str | None = None,
             counting: bool = False) -> dict[str, object]:
        """The block body's names: the symbols and the input names of the use, then the parameters
        (defaults see earlier parameters and the use's input: ``transition(out = in_channels // 2)``).

        A given argument's error is located at the use; a default's, in the signature, says the use.
        While ``counting`` layers, before any shape is known, a parameter computed from the input's shape
        stays unknown (and is an error only where a count needs it).
        """
        local: dict[str, object] = {**self.symbols, **{k: env[k] for k in INPUT_NAMES if k in env}}
        for param in self.spec.blocks[call.block].params:
            if param.layer:  # layers, built where the body writes the parameter, in the names of the use
                given = call.layer_args.get(param.name)
                local[param.name] = Layers(given, env) if given is not None else Layers(param.layer_default, {})
                continue
            given = param.name in call.args
            value, scope = (call.args[param.name], env) if given else (param.default, local)
            if counting and isinstance(value, Expr) and depends_on_unknown(value, scope):
                local[param.name] = Unknown(param.name)
                continue
            if given:
                local[param.name] = self.parameter(call, param, value, scope)
            else:
                with _used_at(call, path):
                    local[param.name] = self.parameter(call, param, value, scope)
        return local

    def parameter(self, call: BlockCall, param: Param, value: Value, scope: Mapping[str, object]) -> object:
        """A block parameter's value: a number, or a bare word when the body passes the parameter
        to an argument that takes it (``pad: {mode: same}``)."""
        word = bare_name(value)
        if word is None or word in scope or not param.words:
            return self.resolve(value, scope)
        if word not in param.words:
            words = ", ".join(f"'{w}'" for w in sorted(param.words))
            raise SpecError(value.loc, f"block '{call.block}': '{param.name}' must be a number or one of {words}, "
                            f"got '{word}'", code="bad-argument", hint=did_you_mean(word, [*param.words, *scope]))
        return word

    # -- structure --------------------------------------------------------------------------------

    def item(self, item: Item, x: Shape, prefix: str, env: Mapping[str, object], box: _Box,
             name: str | None = None) -> Shape:
        """Build ``item`` on input ``x`` into ``box``; return its output shape.

        ``name`` replaces the item's own (a single-item block body takes its call's name).
        """
        if name is None:
            name = self.name(item.name, env)
        before = len(box.nodes)
        try:
            with self.trainable(item):
                return self.construct(item, x, prefix, env, box, name)
        finally:
            for node in box.nodes[before:]:
                self.done.setdefault(node.path, node)

    @contextmanager
    def trainable(self, item: Item) -> Iterator[None]:
        """Build ``item`` under its own ``trainable:`` when it has one: everything built inside it (a block's
        body, a repeat's copies, the layers given to a layer parameter, an ``auto`` shortcut's projection) is
        frozen or not as the nearest setting says."""
        if item.trainable is None:
            yield
            return
        outer, self.frozen_at = self.frozen_at, None if item.trainable.value else item.trainable.loc
        try:
            yield
        finally:
            self.frozen_at = outer

    def construct(self, item: Item, x: Shape, prefix: str, env: Mapping[str, object], box: _Box,
                  name: str | None) -> Shape:
        if isinstance(item, LayerItem):
            return self.layer(item, x, box.next_name(name), prefix, env, box)
        self.depth += 1
        if self.depth > self.limits.max_nesting:
            raise SpecError(item.loc, f"constructs nested deeper than {self.limits.max_nesting}", code="resource-limit",
                            hint="raise it with --limit max_nesting=N")
        try:
            if isinstance(item, (Repeat, Group)):
                return self.repeat(item, x, prefix, env, box, name)
            if isinstance(item, If):
                return self.choose(item, x, prefix, env, box)
            if isinstance(item, LayerArg):
                return self.layer_arg(item, x, prefix, env, box, name)
            builder = {BlockCall: self.block, Residual: self.residual, Merge: self.merge}[type(item)]
            return builder(item, x, box.next_name(name), prefix, env, box)
        finally:
            self.depth -= 1

    def run(self, items: list[Item], x: Shape, prefix: str, env: Mapping[str, object], box: _Box) -> Shape:
        for item in items:
            x = self.item(item, x, prefix, env, box)
        return x

    def name(self, name: Name | None, env: Mapping[str, object]) -> str | None:
        """A written name, its ``{expression}`` parts computed in ``env`` (whole numbers only)."""
        if not isinstance(name, NameTemplate):
            return name
        out = []
        for part in name.parts:
            if isinstance(part, str):
                out.append(part)
                continue
            value = self.resolve(part, env)
            if not (symbolic.is_int(value) and isinstance(value, int)) or isinstance(value, bool):
                shown = f"'{value}'" if isinstance(value, str) else symbolic.fmt(value)
                raise SpecError(part.loc, f"'{{{part.text}}}' in name '{name.text}' must be a whole number, got "
                                f"{shown}", code="bad-name",
                                hint="a computed name part is a number known where the item is built, such as a "
                                "repeat index (denselayer{i + 1}) or a block parameter; free symbols cannot name")
            out.append(str(value))
        return "".join(out)

    def layers_of(self, item: LayerArg, env: Mapping[str, object]) -> Layers:
        value = env.get(item.param)
        if not isinstance(value, Layers):  # passed through another block's layer argument only: not known as one
            raise SpecError(item.loc, f"'{item.param}' is written as a layer here but its block takes it as a "
                            "number", code="bad-block", hint=f"write - {item.param} in the block's own body too, "
                            "or give the layers to the inner block directly")
        return value

    def layer_arg(self, item: LayerArg, x: Shape, prefix: str, env: Mapping[str, object], box: _Box,
                  name: str | None) -> Shape:
        """The layers a block's use gave its layer parameter, built in the use's names: one layer takes the
        parameter's place (and its name, ``- act: {name: act_fn}``); several take a level when named."""
        value = self.layers_of(item, env)
        if len(value.items) == 1:
            return self.item(value.items[0], x, prefix, value.env, box, name)
        if name is not None:
            return self.repeat(Group(value.items, None, item.loc), x, prefix, value.env, box, name)
        return self.run(value.items, x, prefix, value.env, box)

    def choose(self, item: If, x: Shape, prefix: str, env: Mapping[str, object], box: _Box) -> Shape:
        """The layers of the branch whose condition holds, spliced into ``box``; the other branch's
        expressions are checked for names defined here (its values are never computed)."""
        scope = _with_input(env, x)
        chosen, other = (item.then, item.orelse) if truth(item.condition, scope, self.limits) \
            else (item.orelse, item.then)
        _check_names(other, {*scope, *INPUT_NAMES})
        return self.run(chosen, x, prefix, env, box)

    def layer(self, item: LayerItem, x: Shape, name: str, prefix: str, env: Mapping[str, object],
              box: _Box) -> Shape:
        self.count += 1
        if self.count > self.limits.max_layers:
            raise SpecError(item.loc, f"the network has more than {self.limits.max_layers:,} layers",
                            code="resource-limit", hint="raise it with --limit max_layers=N if you mean it")
        layer = self.instantiate(item, _with_input(env, x))
        if layer.READS_IDS and self.count > 1:  # the input is the only tensor of ids (Model.input_ids)
            raise layer.error("reads token ids, which only the model's input holds, but it comes after other layers, "
                              "which give real numbers", code="bad-input-shape",
                              hint=f"make it the first layer (input: [T] of token ids); for real-valued features, "
                              f"use linear: {layer.config().get('dim', 'D')}")
        out = self.checked(layer, x, layer.output_shape(x))
        box.add(LayerNode(_join(prefix, name), name, item.loc, x, out, layer, frozen_at=self.frozen_at))
        return out

    def instantiate(self, item: LayerItem | Merge, env: Mapping[str, object], **extra: object) -> Layer:
        """The layer of ``item``, its arguments evaluated in ``env`` and normalised."""
        cls = LAYERS[item.kind]
        values, locs = {}, {}
        for key, arg in cls.ARGS.items():
            raw = item.args.get(key)
            if raw is None:
                values[key] = arg.normal_default
                continue
            values[key] = self.argument(cls.kind, arg, raw, env)
            locs[key] = raw.loc
        layer = cls(values, item.loc, locs, **extra)
        layer.init = getattr(item, "init", None)
        layer.reparam = getattr(item, "reparam", None)
        if layer.reparam is not None and values.get("tie") is not None:
            raise SpecError(layer.reparam.loc, f"{cls.kind}: {layer.reparam.kind} on a tied weight, which is "
                            f"{values['tie']}'s", code="bad-argument",
                            hint=f"normalise the weight where it is: {layer.reparam.kind} on {values['tie']}")
        if layer.init is not None and layer.init.bias is not None and not values.get("bias", True):
            raise SpecError(layer.init.bias.loc, f"{cls.kind}: init gives the bias a value, but the layer has "
                            "bias: false", code="bad-argument", hint="drop the bias's init, or set bias: true")
        return layer

    def checked(self, layer: Layer, x: Shape, shape: Shape) -> Shape:
        """A layer's output shape, simplified, refused when a size is not positive or too large."""
        out = tuple(symbolic.simplify(d) for d in shape)
        concrete = all(symbolic.is_int(d) for d in (*x, *out))
        if not concrete:
            self.check_algebra(layer, x, out)  # first: the positivity check below is algebra too
        for d in out:
            if symbolic.positive(d) is False:
                raise layer.error(f"output shape would be {shape_text(out)}", code="non-positive-size",
                                  hint=f"the input {shape_text(x)} is too small for this layer")
            if not concrete:
                self.check_positive(layer, d)
        if concrete:  # a symbolic shape has nothing to compare with max_int (check_algebra bounded it)
            self.check_sizes(layer, x, out)
        return out

    def check_positive(self, layer: Layer, size: Dim) -> None:
        """A symbolic size must be a size for the values of its symbols (docs/symbolic.md). One that is positive
        from some value on (``H - 2``) records that value, which the reports state (:attr:`Graph.minimums`); one
        that falls as a symbol of the input's shape grows (``3 - H``) is an error, since the input may grow; one
        that falls as another symbol grows (a kernel K against a fixed input) records the largest value it allows
        (:attr:`Graph.maximums`); one that is positive for no value at all is an error."""
        if symbolic.is_int(size):
            return  # a number: checked() has refused it if it is not positive
        from archcalc.graph import positive  # here: concrete specs never need it

        verdict = positive.check(size, {name: least for name, (least, _, _) in self.minimums.items()},
                                 {name: most for name, (most, _, _) in self.maximums.items()})
        if verdict is None:
            return
        error = verdict.error
        if verdict.maximum and any(name in self.input_symbols for name in verdict.maximum):
            error = {name: most + 1 for name, most in verdict.maximum.items()}
        if error is not None:
            at = ", ".join(f"{name} = {value:,}" for name, value in error.items())
            value = symbolic.subs(size, error)
            raise layer.error(f"output size {symbolic.fmt(size)} is not positive for every value of "
                              f"{', '.join(error)}: at {at} it is {symbolic.fmt(value)}",
                              code="non-positive-size", hint="a size must be at least 1 for every value of the "
                              "symbols (docs/symbolic.md); write it so that it grows with them, or give them values "
                              "with --set")
        for name, least in verdict.minimum.items():
            if least > self.minimums.get(name, (1, None, None))[0]:
                self.minimums[name] = (least, layer.kind, layer.loc)
        for name, most in (verdict.maximum or {}).items():
            if name not in self.maximums or most < self.maximums[name][0]:
                self.maximums[name] = (most, layer.kind, layer.loc)

    def check_sizes(self, layer: Layer, x: Shape, out: Shape) -> None:
        """Refuse concrete sizes past ``max_int``: an output dimension, the layer's parameters, or the
        running total of the network's. Python's integers would not overflow, but no tensor that size
        exists, and every exporter and report downstream assumes sizes a machine word holds. For concrete
        ``x`` and ``out`` only (:meth:`checked` asks)."""
        limit = self.limits.max_int
        hint = f"sizes are limited to {limit:,} (--limit max_int=N)"
        if max(out, default=0) > limit:
            raise layer.error(f"output dimension {_magnitude(max(out))} is past the integer limit",
                              code="resource-limit", hint=hint)
        count = layer.params(x)
        if all(symbolic.is_int(n) for n in count):
            if max(count) > limit:
                raise layer.error(f"{_magnitude(max(count))} parameters are past the integer limit",
                                  code="resource-limit", hint=hint)
            self.params += count.trainable + count.buffers
            if self.params > limit:
                raise layer.error(f"the network's parameters reach {_magnitude(self.params)} here, past the integer "
                                  "limit", code="resource-limit", hint=hint)
        if math.prod(out) > limit:  # every report multiplies it again (batch, bytes, FLOPs): it must stay printable
            raise layer.error(f"an output of {_magnitude(math.prod(out))} elements is past the integer limit",
                              code="resource-limit", hint=hint)

    @staticmethod
    def check_algebra(layer: Layer, x: Shape, out: Shape) -> None:
        """Refuse a symbolic output size or parameter count past the budget of symbolic work
        (:func:`symbolic.too_complex`): each argument is within it, but a layer multiplies them
        (a linear layer's in × out), and the calculators and reports expand what the layer makes."""
        hint = (f"give the symbols values with --set (or defaults under symbols:); symbolic sizes are kept to degree "
                f"{symbolic.MAX_DEGREE} and {symbolic.MAX_TERMS:,} terms")
        for axis, d in enumerate(out):
            reason = symbolic.too_complex(d)
            if reason is not None:
                raise layer.error(f"output size {axis} (of {len(out)}) is too complex to keep symbolic: {reason}",
                                  code="resource-limit", hint=hint)
        for n in layer.params(x):
            reason = symbolic.too_complex(n)
            if reason is not None:
                raise layer.error(f"the parameter count is too complex to keep symbolic: {reason}",
                                  code="resource-limit", hint=hint)

    def block(self, call: BlockCall, x: Shape, name: str, prefix: str, env: Mapping[str, object],
              box: _Box) -> Shape:
        """A block instance is a container named by the call, or, when the block's body is one
        residual, concat or layer, that item itself (so paths read layer1.0.conv1)."""
        block = self.spec.blocks[call.block]
        self.check_cycle(block.name, call.loc)
        path = _join(prefix, name)
        local = self.bind(call, _with_input(env, x), path)
        arguments = {param.name: local[param.name] for param in block.params if not param.layer}  # numbers
        with _used_at(call, path):
            self.calls.append(block.name)
            try:
                if call.inline:  # spliced: the body's layers take their places in the caller's sequence
                    return self.run(block.body, x, prefix, local, box)
                # one item takes the call's place, unless it is inline: its children would lose the call's level
                if len(block.body) == 1 and not isinstance(block.body[0], (Repeat, Group)) \
                        and not getattr(block.body[0], "inline", False):
                    out = self.item(block.body[0], x, prefix, local, box, name)
                    box.nodes[-1].block, box.nodes[-1].arguments = block.name, arguments
                    return out
                node = SeqNode(path, name, call.loc, x, x, f"block:{block.name}", block=block.name,
                               arguments=arguments, frozen_at=self.frozen_at)
                node.out_shape = self.run(block.body, x, node.path, local, _Box(node.items))
            finally:
                self.calls.pop()
        box.add(node)
        return node.out_shape

    def repeat(self, item: Repeat | Group, x: Shape, prefix: str, env: Mapping[str, object], box: _Box,
               name: str | None) -> Shape:
        """Copies are spliced into the enclosing container, or into one of their own when named."""
        count = self.count_of(item.count, env) if isinstance(item, Repeat) else 1
        target, node = box, None
        if name is not None:
            name = box.next_name(name)
            node = SeqNode(_join(prefix, name), name, item.loc, x, x, "repeat" if isinstance(item, Repeat) else "group",
                           frozen_at=self.frozen_at)
            target, prefix = _Box(node.items), node.path
        local = env
        for i in range(count):
            if isinstance(item, Repeat) and item.index:
                local = {**env, item.index: i}
            x = self.run(item.body, x, prefix, local, target)
        if node is not None:
            node.out_shape = x
            box.add(node)
        return x

    def residual(self, item: Residual, x: Shape, name: str, prefix: str, env: Mapping[str, object],
                 box: _Box) -> Shape:
        path = _join(prefix, name)
        if item.inline:
            box.reserve(name, item.loc)
        inner = box.inner(item.inline)
        scope = prefix if item.inline else path  # where its children's names live
        out = self.run(item.body, x, scope, env, inner)
        body = list(inner.nodes)
        same = _same_shape(x, out)
        mode = item.shortcut if isinstance(item.shortcut, str) else "layers"
        if mode in ("if_same", "auto") and not same and _shapes_differ(x, out) is None:
            free = symbolic.free_names((*x, *out))
            raise SpecError(item.shortcut_loc, f"shortcut: {mode} cannot tell whether the body keeps the shape "
                            f"{shape_text(x)} → {shape_text(out)}: that depends on the values of {', '.join(free)}",
                            code="residual-mismatch", hint="give them values with --set (or defaults under "
                            "symbols:), or write the shortcut out: identity or a list of layers")
        if mode == "if_same":
            mode = "identity" if same else "none"
        elif mode == "auto":
            mode = "identity" if same else "projection"
        shortcut = None
        if mode in ("projection", "layers"):
            items = item.shortcut if mode == "layers" else self.projection(body, x, out, item.shortcut_loc)
            shortcut = SeqNode(_join(scope, item.shortcut_name), item.shortcut_name, item.shortcut_loc, x, x,
                               "shortcut", frozen_at=self.frozen_at)
            shortcut.out_shape = self.run(items, x, shortcut.path, env, _Box(shortcut.items))
            inner.add(shortcut)
            if not _same_shape(shortcut.out_shape, out):
                raise SpecError(item.shortcut_loc, f"residual: the body gives {shape_text(out)} but the shortcut "
                                f"gives {shape_text(shortcut.out_shape)}", code="residual-mismatch",
                                hint="both sides of the addition must have the same shape")
        elif mode == "identity" and not same:
            raise SpecError(item.loc, f"residual: the body changes the shape from {shape_text(x)} to "
                            f"{shape_text(out)}, so it cannot be added to its input", code="residual-mismatch",
                            hint="write residual: {body: [layers], shortcut: auto} for the 1×1 projection (conv + "
                            "batchnorm) the lecture prescribes, or make the body keep the shape")
        after = len(inner.nodes)
        final = self.run(item.then, out, scope, env, inner)
        node = ResidualNode(path, name, item.loc, x, final, body, shortcut, mode, inner.nodes[after:],
                            inline=item.inline, frozen_at=self.frozen_at)
        if item.inline:
            box.nodes.append(node)
        else:
            box.add(node)
        return final

    def projection(self, body: list[Node], x: Shape, out: Shape, loc: Loc) -> list[Item]:
        """The lecture's projection: a 1×1 convolution with the body's stride (a linear layer for
        vectors), then batch norm, in the input's rank."""
        from archcalc.layers.batchnorm import BatchNorm  # here: only 'shortcut: auto' needs these kinds
        from archcalc.layers.batchnorm1d import BatchNorm1d
        from archcalc.layers.conv import Conv
        from archcalc.layers.linear import Linear

        if len(out) == 1 and len(x) == 1:
            return [LayerItem(Linear.kind, {"out": Lit(out[0], loc), "bias": Lit(False, loc)}, None, loc),
                    LayerItem(BatchNorm1d.kind, {}, None, loc)]
        conv, norm = _kind_for(Conv, len(x)), _kind_for(BatchNorm, len(x))
        if len(out) != len(x) or conv is None or norm is None:
            raise SpecError(loc, f"shortcut 'auto' cannot project {shape_text(x)} to {shape_text(out)}",
                            code="residual-mismatch", hint="give the shortcut's layers explicitly")
        strides = _strides(body, len(x) - 1)
        if strides is None:
            raise SpecError(loc, "shortcut 'auto' cannot tell the body's stride (it pools globally or adaptively)",
                            code="residual-mismatch", hint="give the shortcut's layers explicitly")
        stride = ArgList(tuple(Lit(s, loc) for s in strides), loc)
        return [LayerItem(conv.kind, {"out": Lit(out[0], loc), "kernel": Lit(1, loc), "stride": stride,
                                      "bias": Lit(False, loc)}, None, loc),
                LayerItem(norm.kind, {}, None, loc)]

    def merge(self, item: Merge, x: Shape, name: str, prefix: str, env: Mapping[str, object],
              box: _Box) -> Shape:
        """Branches on the input ``x``, their outputs combined by the merge kind. A branch of one
        layer is that layer; of several, a numbered container; a named group is that group; an
        unnamed group ``{layers: [...]}`` adds no level (its layers are named beside the others)."""
        path = _join(prefix, name)
        merge_input = x
        if item.inline:
            box.reserve(name, item.loc)
        scope = prefix if item.inline else path
        branches = box.inner(item.inline)
        sources = [self.source(written, path, loc, env) if written is not None else None
                   for written, loc in zip(item.sources or [None] * len(item.branches),
                                           item.source_locs or item.branch_locs)]
        for branch, loc, source in zip(item.branches, item.branch_locs, sources):
            x = source.out_shape if source is not None else merge_input
            if len(branch) == 1 and not isinstance(branch[0], (Repeat, Group)):
                self.item(branch[0], x, scope, env, branches)  # one item: no wrapper
                continue
            group = branch[0] if len(branch) == 1 and isinstance(branch[0], Group) else None
            group_name = self.name(group.name, env) if group is not None else None
            inline = group is not None and group_name is None
            label = branches.next_name(group_name)
            if inline:
                branches.reserve(label, loc)
            with self.trainable(group) if group is not None else nullcontext():
                seq = SeqNode(_join(scope, label), label, loc, x, x, "branch", inline=inline, frozen_at=self.frozen_at)
                inner = branches.inner(inline)
                seq.out_shape = self.run(group.body if group is not None else branch, x,
                                         scope if inline else seq.path, env, inner)
            seq.items = inner.nodes
            if inline:
                branches.nodes.append(seq)
            else:
                branches.add(seq)
        x = merge_input
        nodes = branches.nodes  # one node per branch
        layer = self.instantiate(item, _with_input(env, x), branch_locs=list(item.branch_locs))
        inputs = [node.out_shape for node in nodes]
        try:
            merged = layer.merge_shape(inputs)
        except SpecError as e:
            raise _own_input_hint(e, item) from None
        out = self.checked(layer, x, merged)
        node = MergeNode(path, name, item.loc, x, out, nodes, layer, inline=item.inline,
                         sources=sources if any(sources) else [], frozen_at=self.frozen_at)
        if item.inline:
            box.nodes.append(node)
        else:
            box.add(node)
        return out


    def source(self, written: Name, here: str, loc: Loc, env: Mapping[str, object]) -> Node:
        """The earlier node a branch's ``from:`` names, by its path from the network's top (``down2``,
        ``encoder.1``); one not built yet (later, or enclosing this merge) or of no node is an error."""
        path = self.name(written, env)
        node = self.done.get(path)
        if node is not None:
            return node
        at = loc
        if here == path or here.startswith(f"{path}."):
            raise SpecError(at, f"'from: {path}' names a node that encloses this merge, so its output does not "
                            "exist yet", code="bad-name", hint="name an earlier layer or block, outside this one")
        hint = did_you_mean(path, list(self.done)) or \
            "give the full path of an earlier layer or block, as reports show it (down2, encoder.1.conv2)"
        raise SpecError(at, f"'from: {path}' names no layer or block built before this merge", code="bad-name",
                        hint=hint)


def _with_input(env: Mapping[str, object], x: Shape) -> dict[str, object]:
    """``env`` and the names that read the input's shape ``x``: in_channels (its first axis, PyTorch's
    word for convolutions), in_features (its last, as for nn.Linear) and in_shape[k]."""
    return {**env, "in_channels": x[0], "in_features": x[-1], "in_shape": tuple(x)} if x else {**env, "in_shape": ()}


def _check_names(items: list[Item], known: set[str]) -> None:
    """Every name the expressions of ``items`` read is defined (``known``, plus repeat indexes inside
    them): the branch of an ``if:`` not taken is checked this far, though its values are not computed."""
    for item in items:
        values: list = []
        inner = known
        if isinstance(item, (LayerItem, BlockCall, Merge)):
            values = list(item.args.values())
        if isinstance(item, Repeat):
            values = [item.count]
            inner = known | ({item.index} if item.index else set())
        if isinstance(item, If):
            values = [item.condition]
        if isinstance(item.name, NameTemplate):
            values += [p for p in item.name.parts if isinstance(p, Expr)]
        for value in values:
            for expr in _exprs(value):
                missing = sorted(expr.names - known)
                if missing:
                    raise SpecError(expr.loc, f"undefined symbol '{missing[0]}'", code="undefined-symbol",
                                    hint=undefined_hint(missing[0], dict.fromkeys(known)))
        if isinstance(item, (Repeat, Group)):
            _check_names(item.body, inner)
        elif isinstance(item, Residual):
            _check_names([*item.body, *(item.shortcut if isinstance(item.shortcut, list) else []), *item.then],
                         known)
        elif isinstance(item, Merge):
            for branch in item.branches:
                _check_names(branch, known)
        elif isinstance(item, If):
            _check_names([*item.then, *item.orelse], known)


def _exprs(value: object) -> list[Expr]:
    if isinstance(value, Expr):
        return [value]
    if isinstance(value, ArgList):
        return [e for v in value.items for e in _exprs(v)]
    return []


@contextmanager
def _used_at(call: BlockCall, path: str | None = None) -> Iterator[None]:
    """Add to an error raised inside a block's body which use of the block it came from."""
    try:
        yield
    except SpecError as e:
        where = f" ({path})" if path else ""
        e.notes.append(f"in block '{call.block}' used at {call.loc}{where}")
        raise


def _magnitude(n: int) -> str:
    """``n`` with thousands separators, or as ``8.51e37`` when that would be longer than 20 digits (computed from
    the leading bits when ``n`` is too long for ``str``, which refuses integers past 4,300 digits)."""
    if n.bit_length() > 3000:
        shift = n.bit_length() - 64
        exponent = math.log10(n >> shift) + shift * math.log10(2)
        return f"{10 ** (exponent % 1):.2f}e{int(exponent)}"
    digits = str(n)
    return f"{n:,}" if len(digits) <= 20 else f"{digits[0]}.{digits[1:3]}e{len(digits) - 1}"


def _same_shape(a: Shape, b: Shape) -> bool:
    return len(a) == len(b) and all(symbolic.equal(p, q) for p, q in zip(a, b))


def _shapes_differ(a: Shape, b: Shape) -> bool | None:
    """True when some axis differs whatever the symbols are (see :func:`symbolic.differ`); None when
    the shapes may or may not be equal, depending on the values."""
    if len(a) != len(b):
        return True
    verdicts = [symbolic.differ(p, q) for p, q in zip(a, b) if not symbolic.equal(p, q)]
    return True if True in verdicts else None


def _kind_for(base: type[Layer], rank: int) -> type[Layer] | None:
    """The registered kind derived from ``base`` that takes inputs of ``rank`` axes (conv2d for [C, H, W]).
    Only the kinds named after the base (``conv…`` for :class:`Conv`) are looked at: looking up a kind
    imports its module, and a ResNet's shortcuts must not import all of them."""
    family = (LAYERS[name] for name in LAYERS if name.startswith(base.__name__.lower()))
    return next((cls for cls in family if issubclass(cls, base) and cls.RANKS and rank in cls.RANKS
                 and (cls.RANK is None or rank - 1 == cls.RANK)), None)


def _strides(nodes: list[Node], rank: int) -> tuple[Dim, ...] | None:
    """Product of the strides along a run of nodes, per spatial axis; None when some layer has no stride."""
    total: tuple[Dim, ...] = (1,) * rank
    for node in nodes:
        part = _node_strides(node, rank)
        if part is None:
            return None
        total = tuple(a * b for a, b in zip(total, part))
    return total


def _node_strides(node: Node, rank: int) -> tuple[Dim, ...] | None:
    if isinstance(node, LayerNode):
        geometry = node.layer.geometry(node.in_shape)
        if geometry in (GLOBAL, VARIES):
            return None
        return (1,) * rank if geometry is None else tuple(axis.stride for axis in geometry)
    if isinstance(node, ResidualNode):
        return _strides([*node.body, *node.then], rank)
    if isinstance(node, MergeNode):
        return _node_strides(node.branches[0], rank)
    return _strides(node.children, rank)
