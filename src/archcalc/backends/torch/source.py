"""``archcalc export SPEC --to torch``: the model as one readable Python file that needs only torch.

The file holds a class per residual or concat *shape* the spec uses (its ``forward`` shows the
addition or the concatenation as code), a class named after the model whose ``forward`` runs the
layers in order, and ``build_model()``. Sequences (blocks, groups, repeats, shortcuts) are inline
``nn.Sequential``. Children are registered under the same names as in :func:`archcalc.to_torch`
(:func:`~.build.child_keys`), so both give the same ``state_dict`` keys.

Instances of one block differ in their numbers (ResNet's bottlenecks in channels and stride). Every
instance with the same structure shares one class; each literal that differs between instances
becomes a constructor parameter, named after the torch argument it fills (``in_channels``), and
literals that always differ together share one parameter.

Safety: the spec's names reach the file only as string keys written by :func:`string` (``repr``
escaping, ASCII) or as identifiers made by :class:`~archcalc.backends.naming.Namer`; numbers come
from validated layer arguments (:func:`~.layers.call`). The text is parsed with :func:`ast.parse`
before it is written, and written atomically.
"""

from __future__ import annotations

import ast
import inspect
import itertools
import keyword
import re
import textwrap
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace

from torch import nn

from archcalc.backends import check_depth
from archcalc.backends.naming import Namer
from archcalc.backends.torch.build import child_keys, layer_call
from archcalc.backends.torch.layers import Call
from archcalc.backends.torch.layout import WIDTH, Brackets, Doc, Text, flat, layout
from archcalc.backends.torch.modules import GlobalAvgPool2d, Sign
from archcalc.backends.torch.training import CRITERIA, absorbs
from archcalc.backends.torch.training_source import NAMES, entry_point
from archcalc.files import write_atomic
from archcalc.graph import ConcatNode, LayerNode, Node, ResidualNode, SeqNode
from archcalc.model import Model
from archcalc.spec.train import TrainSpec

#: modules torch lacks, copied into the files that use them
HELPERS = (Sign, GlobalAvgPool2d)
#: module-level and local names the generated code uses itself; no spec name may become one
EMITTER_NAMES = frozenset({"self", "x", "y", "logits", "torch", "nn", "OrderedDict", "INPUT_SHAPE",
                           "build_model", "forward", *(cls.__name__ for cls in HELPERS), *NAMES})


#: how variants of one block are told apart by their shortcut (``BottleneckProjection``)
SHORTCUT_NAMES = {"identity": "Identity", "projection": "Projection", "layers": "Shortcut", "none": "NoShortcut"}

#: the deepest graph this exporter writes: a named sequence costs 4 nested brackets per level
#: (``nn.Sequential(OrderedDict([("name", …``) and Python parses at most 200
MAX_DEPTH = 45


def export(model: Model, path: str, force: bool = False) -> None:
    """Write ``model`` as Python source to ``path`` (never over an existing file unless ``force``)."""
    write_atomic(path, emit(model), force=force)


def emit(model: Model) -> str:
    """The generated file's text, checked with :func:`ast.parse`."""
    model.require_values("export")
    check_depth(model, MAX_DEPTH, "torch")
    text = _Emitter(model).module()
    ast.parse(text)  # a SyntaxError here is a bug in the emitter, never a user's problem
    return text


# -- literals and identifiers ----------------------------------------------------------------------


def string(text: str) -> str:
    """A string literal for ``text``: ``ascii`` escapes, double quotes unless that needs escaping."""
    literal = ascii(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1] + '"'
    assert ast.literal_eval(literal) == text
    return literal


def literal(value: object) -> Doc:
    """A validated value (see :func:`~.layers.call`) as code; ``ast.literal_eval`` gives it back."""
    if isinstance(value, tuple) and len(value) == 1:
        return Text(f"({flat(literal(value[0]))},)")
    if isinstance(value, tuple):
        return Brackets("", "(", [literal(v) for v in value], ")", explode=True)
    if isinstance(value, str):
        return Text(string(value))
    assert value is None or type(value) in (bool, int, float), value
    return Text(repr(value))


def camel(raw: str) -> str:
    """``vgg16_bn`` → ``Vgg16Bn``: the CamelCase of a name, for a class (still to be made safe)."""
    parts = re.split(r"[^0-9A-Za-z]+", unicodedata.normalize("NFKC", raw))
    return "".join(part[:1].upper() + part[1:] for part in parts)


def plain(key: str) -> bool:
    """Whether ``self.<key>`` reaches the child named ``key`` (else the file writes ``self["key"]``)."""
    return key.isascii() and key.isidentifier() and not keyword.iskeyword(key)


def _safe_text(text: str) -> bool:
    """Text that may appear in a docstring as it is."""
    return re.fullmatch(r"[A-Za-z0-9_.\-]{1,64}", text) is not None


def _keyword(name: str, doc: Doc) -> Doc:
    if isinstance(doc, Text):
        return Text(f"{name}={doc.text}")
    return replace(doc, head=f"{name}={doc.head}")


def _label(value: Value) -> str:
    """The innermost named step of a child path (``("2", "grouped")`` → ``grouped``), else the module
    and its position (``conv2d_0``), for parameter names."""
    named = next((key for key in reversed(value.path) if plain(key)), None)
    positions = value.kind and all(key.isdigit() for key in value.path)
    return named or "_".join((value.kind.lower(), *value.path) if positions else value.path)


def _without_last(expr: str, depth: int) -> str:
    """The nn.Sequential ``expr`` without the layer ``depth`` sequences down at its end:
    ``self.head[:-1]``, or ``nn.Sequential(*self.head[:-1], self.head[-1][:-1])`` one level deeper."""
    if depth == 1:
        return f"{expr}[:-1]"
    return f"nn.Sequential(*{expr}[:-1], {_without_last(f'{expr}[-1]', depth - 1)})"


def _annotation(values: list[object]) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", tuple: "tuple[int, int]", type(None): "None"}
    return " | ".join(dict.fromkeys(names[type(v)] for v in values))


# -- what a class body is made of ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    call: Call


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[tuple[str, Tree], ...]


@dataclass(frozen=True, slots=True)
class Inst:
    """A residual or concat node: an instance of a generated class."""

    node: Node


Tree = Leaf | Seq | Inst


@dataclass(frozen=True, slots=True)
class Value:
    """One literal in a class body: the child path it sits under and the argument it fills."""

    path: tuple[str, ...]
    name: str
    value: object
    kind: str = ""  # the module class it is an argument of (``Conv2d``)

    @property
    def key(self) -> tuple[str, object]:
        return type(self.value).__name__, self.value


@dataclass(slots=True)
class _Class:
    """One generated class and the graph nodes that are its instances."""

    name: str
    nodes: list[Node]
    #: position of a literal in the body → the parameter that holds it (other literals are constants)
    param_at: dict[int, str] = field(default_factory=dict)
    params: list[tuple[str, str]] = field(default_factory=list)  # (name, annotation)
    arguments: dict[Node, list[tuple[str, object]]] = field(default_factory=dict)


class _Emitter:
    def __init__(self, model: Model):
        self.model = model
        self.graph = model.graph
        self.names = Namer(EMITTER_NAMES)
        self.model_class = self.names.name(camel(model.name), fallback="Model")
        self.logits = False  # whether the model's forward takes logits=True (set by model_forward)
        self.fused = False  # whether the loss that trains it applies its last layer (set by model_forward)
        self.classes: dict[tuple, _Class] = {}
        self.class_of: dict[Node, _Class] = {}
        self.trees: dict[Node, Tree] = {}
        self.signatures: dict[Node, tuple] = {}
        self.helpers: list[type] = []
        self.ordered_dict = False
        for node in self.graph.root.items:
            self.register(node)
        self.name_classes()
        self.root = _Class(self.model_class, [self.graph.root])
        for cls in sorted(self.classes.values(), key=self.height):
            self.finalize(cls)
        self.finalize(self.root)

    # -- structure -------------------------------------------------------------------------------

    def tree(self, node: Node) -> Tree:
        if node not in self.trees:
            if isinstance(node, LayerNode):
                self.trees[node] = Leaf(layer_call(node))
            elif isinstance(node, SeqNode):
                self.trees[node] = Seq(tuple(self.children(node.items)))
            else:
                self.trees[node] = Inst(node)
        return self.trees[node]

    def children(self, nodes: list[Node]) -> list[tuple[str, Tree]]:
        return list(zip(child_keys(nodes), map(self.tree, nodes)))

    def kids(self, node: Node) -> list[Node]:
        return node.items if node is self.graph.root else node.children

    def signature(self, node: Node) -> tuple:
        """What instances of one class share: structure, names, kinds, argument names; not values."""
        if node not in self.signatures:
            if isinstance(node, ResidualNode):
                extra = (node.mode, len(node.body), len(node.then))
            else:
                extra = tuple(isinstance(b, SeqNode) and not b.items for b in node.branches)
            items = self.children(node.children)
            self.signatures[node] = (type(node).__name__, node.block, extra, self.shape(Seq(tuple(items))))
        return self.signatures[node]

    def shape(self, tree: Tree) -> tuple:
        if isinstance(tree, Leaf):
            return "leaf", tree.call.cls, tuple(a.name for a in (*tree.call.args, *tree.call.kwargs))
        if isinstance(tree, Seq):
            return "seq", tuple((key, self.shape(item)) for key, item in tree.items)
        return "inst", self.signature(tree.node)

    def register(self, node: Node) -> None:
        """Post-order, so inner classes come first in the file."""
        for child in node.children:
            self.register(child)
        if isinstance(node, (ResidualNode, ConcatNode)):
            key = self.signature(node)
            if key not in self.classes:
                self.classes[key] = _Class("", [])
            self.classes[key].nodes.append(node)
            self.class_of[node] = self.classes[key]

    def name_classes(self) -> None:
        """A class is named after its block (or Residual, Concat). Variants of one block are told apart
        by their shortcut (``BottleneckProjection``, ``BottleneckIdentity``) when that differs, else numbered."""
        bases: dict[str, list[_Class]] = {}
        for cls in self.classes.values():
            node = cls.nodes[0]
            base = camel(node.block) if node.block else "Residual" if isinstance(node, ResidualNode) else "Concat"
            bases.setdefault(base, []).append(cls)
        for base, variants in bases.items():
            modes = [getattr(cls.nodes[0], "mode", None) for cls in variants]
            by_mode = len(variants) > 1 and None not in modes and len(set(modes)) == len(modes)
            for i, (cls, mode) in enumerate(zip(variants, modes), 1):
                wanted = base + SHORTCUT_NAMES[mode] if by_mode else base if i == 1 else f"{base}{i}"
                cls.name = self.names.name(wanted, fallback="Block")

    def height(self, cls: _Class) -> int:
        """1 + the height of the classes inside it: classes are finalised inside out."""
        body = Seq(tuple(self.children(self.kids(cls.nodes[0]))))
        return 1 + max((self.height(self.class_of[inst.node]) for inst in self.walk(body)), default=0)

    def walk(self, tree: Tree) -> Iterator[Inst]:
        if isinstance(tree, Inst):
            yield tree
        elif isinstance(tree, Seq):
            for _, item in tree.items:
                yield from self.walk(item)

    # -- values and parameters --------------------------------------------------------------------

    def values(self, items: tuple[tuple[str, Tree], ...], path: tuple[str, ...] = ()) -> list[Value]:
        out: list[Value] = []
        for key, tree in items:
            where = (*path, key)
            if isinstance(tree, Leaf):
                kind = tree.call.cls.__name__
                out += [Value(where, a.name, a.value, kind) for a in (*tree.call.args, *tree.call.kwargs)]
            elif isinstance(tree, Seq):
                out += self.values(tree.items, where)
            else:
                out += [Value(where, name, value) for name, value in self.class_of[tree.node].arguments[tree.node]]
        return out

    def finalize(self, cls: _Class) -> None:
        """Decide the class's parameters: the literals that differ between its instances."""
        rows = [self.values(tuple(self.children(self.kids(node)))) for node in cls.nodes]
        groups: dict[tuple, list[int]] = {}
        for j in range(len(rows[0])):
            vector = tuple(row[j].key for row in rows)
            if len(set(vector)) > 1:
                groups.setdefault(vector, []).append(j)
        firsts = [rows[0][positions[0]] for positions in groups.values()]
        repeated = Counter(value.name for value in firsts)
        names = Namer(EMITTER_NAMES | self.names.used)
        arguments = self.block_arguments(cls)
        for (vector, positions), first in zip(groups.items(), firsts):
            wanted = arguments.get(vector) or (first.name if repeated[first.name] == 1
                                               else f"{_label(first)}_{first.name}")
            name = names.name(wanted, fallback="arg")
            cls.param_at.update(dict.fromkeys(positions, name))
            cls.params.append((name, _annotation([row[positions[0]].value for row in rows])))
        for node, row in zip(cls.nodes, rows):
            cls.arguments[node] = [(name, row[positions[0]].value)
                                   for (name, _), positions in zip(cls.params, groups.values())]

    @staticmethod
    def block_arguments(cls: _Class) -> dict[tuple, str]:
        """A literal that varies between instances exactly as one of the block's own arguments does
        is named after it: ``Inverted(in_channels=16, c=24)``, not ``conv2d_6_out_channels=24``."""
        out: dict[tuple, str] = {}
        for name in cls.nodes[0].arguments:
            vector = tuple(Value((), name, node.arguments.get(name)).key for node in cls.nodes)
            out.setdefault(vector, name)
        return out

    # -- code ---------------------------------------------------------------------------------------

    def doc(self, tree: Tree, cls: _Class, row: list[Value], counter: Iterator[int]) -> Doc:
        """``tree`` as an expression in ``cls``'s ``__init__``: parameters by name, other literals inline."""

        def value(j: int) -> Doc:
            return Text(cls.param_at[j]) if j in cls.param_at else literal(row[j].value)

        if isinstance(tree, Leaf):
            items = [value(next(counter)) for _ in tree.call.args]
            for arg in tree.call.kwargs:
                j = next(counter)
                if j in cls.param_at or not arg.is_default:
                    items.append(_keyword(arg.name, value(j)))
            return Brackets(self.function(tree.call.cls), "(", items, ")")
        if isinstance(tree, Inst):
            inner = self.class_of[tree.node]
            return Brackets(inner.name, "(", [_keyword(name, value(next(counter))) for name, _ in inner.params], ")")
        docs = [self.doc(item, cls, row, counter) for _, item in tree.items]
        keys = [key for key, _ in tree.items]
        if keys == [str(i) for i in range(len(keys))]:
            return Brackets("nn.Sequential", "(", docs, ")")
        self.ordered_dict = True
        pairs = [Brackets("", "(", [Text(string(key)), doc], ")", explode=True) for key, doc in zip(keys, docs)]
        return Brackets("nn.Sequential", "(", [Brackets("OrderedDict", "(", [Brackets("", "[", pairs, "]",
                                                                                     explode=True)], ")")], ")")

    def function(self, cls: type) -> str:
        if getattr(nn, cls.__name__, None) is cls:
            return f"nn.{cls.__name__}"
        assert cls in HELPERS, cls
        if cls not in self.helpers:
            self.helpers.append(cls)
        return cls.__name__

    def class_lines(self, cls: _Class) -> list[str]:
        node = cls.nodes[0]
        kids = self.kids(node)
        keys = child_keys(kids)
        row = self.values(tuple(self.children(kids)))
        counter = itertools.count()
        init = []
        for key, kid in zip(keys, kids):
            expr = self.doc(self.tree(kid), cls, row, counter)
            if isinstance(kid, SeqNode) and not kid.items and isinstance(node, ConcatNode):
                continue  # an empty branch is the input itself: forward writes x
            init += layout(expr, 8, f"{self.access(key)} = ")
        base = "nn.Module" if all(map(plain, keys)) else "nn.ModuleDict"
        params = [Text("self"), *(Text(f"{name}: {annotation}") for name, annotation in cls.params)]
        lines = [f"class {cls.name}({base}):", f'    """{self.docstring(cls)}"""', "",
                 *layout(Brackets("def __init__", "(", params, ") -> None:", explode=True), 4),
                 "        super().__init__()", *init, ""]
        return lines + self.forward(node, keys)

    @staticmethod
    def access(key: str) -> str:
        return f"self.{key}" if plain(key) else f"self[{string(key)}]"

    def call_child(self, key: str, argument: str) -> Doc:
        return Brackets(self.access(key), "(", [Text(argument)], ")")

    def forward(self, node: Node, keys: list[str]) -> list[str]:
        signature = "    def forward(self, x: torch.Tensor) -> torch.Tensor:"
        if isinstance(node, ConcatNode):
            parts = [Text("x") if isinstance(b, SeqNode) and not b.items else self.call_child(k, "x")
                     for k, b in zip(keys, node.branches)]
            cat = Brackets("torch.cat", "(", [Brackets("", "[", parts, "]", explode=True), Text("dim=1")], ")")
            return [signature, *layout(cat, 8, "return ")]
        if isinstance(node, ResidualNode):
            return [signature, *self.residual_body(node, keys)]
        return self.model_forward(node, keys, signature)

    def residual_body(self, node: ResidualNode, keys: list[str]) -> list[str]:
        body, rest = keys[:len(node.body)], keys[len(node.body):]
        shortcut = rest.pop(0) if node.shortcut is not None else None
        steps: list[tuple[str, Doc]] = []
        value = "x"
        for key in body:
            steps.append(("y = ", self.call_child(key, value)))
            value = "y"
        lines: list[str] = []
        if shortcut is not None:  # ``value`` is still x when the body is empty (repeat: 0)
            steps.append(("y = ", Text(f"{value} + {self.access(shortcut)}(x)")))
        elif node.mode == "identity":
            steps.append(("y = ", Text(f"{value} + x")))
        if not steps:
            steps.append(("y = ", Text("x")))
        steps += [("y = ", self.call_child(key, "y")) for key in rest]
        for prefix, doc in steps[:-1]:
            lines += layout(doc, 8, prefix)
        if node.mode == "none":
            lines.append("        # no shortcut: the body changes the shape (shortcut: if_same)")
        return lines + layout(steps[-1][1], 8, "return ")

    def model_forward(self, node: SeqNode, keys: list[str], signature: str) -> list[str]:
        """The layers in order. When the spec trains with a loss that applies the final activation
        itself, ``forward(x, logits=True)`` stops before it (a keyword, so no layer name can clash)."""
        last = node.items[-1] if node.items else None
        depth = 0  # how many sequences down the final layer sits (a group named head: 1)
        while isinstance(last, SeqNode) and last.items:
            last, depth = last.items[-1], depth + 1
        train = getattr(self.model.spec, "train", None)
        final = layer_call(last).build() if isinstance(last, LayerNode) else None
        self.fused = final is not None and absorbs(TrainSpec.of(self.model.spec).loss, final)
        if train is None or final is None or not absorbs(train.loss, final):
            if not keys:
                return [signature, "        return x"]
            lines = [signature]
            for key in keys[:-1]:
                lines += layout(self.call_child(key, "x"), 8, "x = ")
            return lines + layout(self.call_child(keys[-1], "x"), 8, "return ")
        self.logits = True
        activation, criterion = type(final).__name__.lower(), CRITERIA[train.loss].__name__
        lines = ["    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:",
                 f'        """With ``logits=True``, the output before the final {activation}: what',
                 f'        nn.{criterion} takes (the spec trains with {train.loss})."""']
        for key in keys[:-1]:
            lines += layout(self.call_child(key, "x"), 8, "x = ")
        if depth == 0:
            return lines + layout(self.call_child(keys[-1], "x"), 8, "return x if logits else ")
        before = Text(f"{_without_last(self.access(keys[-1]), depth)}(x)")
        lines += ["        if logits:", *layout(before, 12, "return ")]
        return lines + layout(self.call_child(keys[-1], "x"), 8, "return ")

    def docstring(self, cls: _Class) -> str:
        node = cls.nodes[0]
        label = f"Block ``{node.block}``" if node.block and _safe_text(node.block) else None
        if isinstance(node, ConcatNode):
            return f"{label or 'Concat'}: its {len(node.branches)} branches joined along the channels."
        if isinstance(node, ResidualNode):
            formula = {"identity": "body(x) + x", "none": "body(x)"}.get(node.mode, "body(x) + shortcut(x)")
            for after in node.then:
                formula = f"{after.kind if isinstance(after, LayerNode) else 'then'}({formula})"
            note = " (shortcut: auto)" if node.mode == "projection" else ""
            return f"{label or 'Residual'}: {formula}{note}."
        name = f"``{self.model.name}``" if _safe_text(self.model.name) else "from the spec"
        return f"The network {name}, layer by layer."

    def module(self) -> str:
        classes = [line for cls in self.classes.values() for line in ["", "", *self.class_lines(cls)]]
        root = self.class_lines(self.root)
        shape = self.graph.input_shape
        header = self.header()
        imports = ["from collections import OrderedDict", ""] if self.ordered_dict else []
        imports += ["import torch", "from torch import nn", "", f"INPUT_SHAPE = {flat(literal(shape))}"]
        helpers = [line for cls in self.helpers for line in ["", "", *inspect.getsource(cls).rstrip().splitlines()]]
        build = ["", "", f"def build_model() -> {self.model_class}:",
                 f'    """A new {self.model_class}, initialised as PyTorch initialises each layer."""',
                 f"    return {self.model_class}()"]
        entry = entry_point(self.model, self.logits, self.fused and not self.logits)
        return "\n".join([*header, "", *imports, *helpers, *classes, "", "", *root, *build, *entry]) + "\n"

    def header(self) -> list[str]:
        model = self.model
        origin = f"The spec ``{model.name}``: input" if _safe_text(model.name) else "Input"
        shape_in = ", ".join(map(str, ("N", *self.graph.input_shape)))
        shape_out = ", ".join(map(str, ("N", *self.graph.output_shape)))
        counts = f"{model.trainable_params:,} trainable parameters"
        if model.buffers:
            counts += f" and {model.buffers:,} buffer values"
        text = f"{origin} [{shape_in}] -> output [{shape_out}]; {counts}, as ``archcalc params`` counts them."
        nested = next((n.path for n in model.layers if "." in n.path and _safe_text(n.path)), None)
        if nested:
            text += (f" Module names are the spec's paths (``{nested}``), as in ``archcalc.to_torch``, so both"
                     " have the same state_dict keys.")
        return [f'"""{self.model_class} in PyTorch, written by ``archcalc export --to torch``.', "",
                *textwrap.wrap(text + " Needs only torch (and NumPy to train on an .npz file:"
                               " python FILE.py DATA.npz, or torchrun --nproc-per-node=N FILE.py DATA.npz;"
                               " see train()).", WIDTH), '"""']
