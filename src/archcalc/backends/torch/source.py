"""``archcalc export SPEC --to torch``: the model as one readable Python file that needs only torch.

The file holds a class per residual, merge or block *shape* the spec uses (its ``forward`` shows the
addition, the concatenation or the product as code), a class named after the model whose
``forward`` runs the layers in order, and ``build_model()``. Plain sequences (groups, repeats,
shortcuts) are inline ``nn.Sequential``. Both follow the module plan (:mod:`archcalc.backends.plan`),
as :func:`archcalc.to_torch` does, so both give the same ``state_dict`` keys.

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
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

import torch
from torch import nn

from archcalc.backends import check_depth
from archcalc.backends.naming import Namer
from archcalc.backends.plan import Bare, Container, Join, Keep, Step, Sum, frozen_keys, kept
from archcalc.backends.plan import Call as Step_Call
from archcalc.backends.plan import Seq as StepSeq
from archcalc.backends.rope import rotary_frequencies
from archcalc.backends.torch import init
from archcalc.backends.torch.build import layer_call, module_plan, ties, torch_paths
from archcalc.backends.torch.free import Free, FreeSizes, free_sizes, has_free
from archcalc.backends.torch.layers import Call, Exact
from archcalc.backends.torch.layout import WIDTH, Brackets, Doc, Text, flat, layout, string
from archcalc.backends.torch.modules import HELPERS, REQUIRES, Add, Attention, Concat, Multiply, share_kept
from archcalc.backends.torch.training import CRITERIA, absorbs
from archcalc.backends.torch.training_source import NAMES, entry_point, fold_dims, loss_helper
from archcalc.files import write_atomic
from archcalc.graph import LayerNode, MergeNode, ResidualNode
from archcalc.model import Model
from archcalc.spec.train import TrainSpec

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
    text = _Emitter(model, free_sizes(model, layer_call)).module()
    ast.parse(text)  # a SyntaxError here is a bug in the emitter, never a user's problem
    return text


# -- literals and identifiers ----------------------------------------------------------------------


def literal(value: object) -> Doc:
    """A validated value (see :func:`~.layers.call`) as code; ``ast.literal_eval`` gives it back, but for
    a free size, which is its formula of the model's size arguments (:mod:`.free`)."""
    if isinstance(value, Free):
        return Text(value.code)
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
    """Whether ``self.<key>`` reaches the child named ``key``: an ASCII identifier, not a keyword, and
    not starting with ``__``, which Python mangles inside a class body (``self.__w`` would read
    ``self._Model__w``, another child). Any other key is written as a string."""
    return key.isascii() and key.isidentifier() and not keyword.iskeyword(key) and not key.startswith("__")


def _docstring(text: str, indent: int) -> list[str]:
    """A docstring, on one line when it fits in :data:`WIDTH`, else wrapped with the quotes on lines of their own."""
    pad = " " * indent
    if len(pad) + len(text) + 6 <= WIDTH:
        return [f'{pad}"""{text}"""']
    return [f'{pad}"""', *textwrap.wrap(text, WIDTH, initial_indent=pad, subsequent_indent=pad), f'{pad}"""']


def _submodule(path: str) -> str:
    """``model.get_submodule("layer1.0.conv1")``: reaches any module, whatever its names."""
    return f"model.get_submodule({string(path)})"


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


def access(key: str, parameter: bool = False) -> str:
    """How a method of the generated class reaches the child (or bare parameter) registered as ``key``:
    ``self.layer4.conv1`` when every part is :func:`plain`; ``self["0"]`` for a single part that is not
    (the class is then an ``nn.ModuleDict``); else through ``get_submodule`` (or ``get_parameter``)
    with the key as a string."""
    parts = key.split(".")
    if all(plain(part) for part in parts):
        return f"self.{key}"
    if len(parts) == 1 and not parameter:
        return f"self[{string(key)}]"
    return f"self.{'get_parameter' if parameter else 'get_submodule'}({string(key)})"


def _codes(value: object) -> object:
    """The formulas in a value (free sizes differ by formula even at one value)."""
    if isinstance(value, Free):
        return value.code
    if isinstance(value, tuple):
        return tuple(_codes(v) for v in value)
    return None


def _annotation(values: list[object]) -> str:
    names = {bool: "bool", int: "int", float: "float", str: "str", tuple: "tuple[int, int]", type(None): "None",
             Free: "int", Exact: "tuple[int, ...]"}  # Exact: a shape (layer_scale's [C, 1, 1] per ConvNeXt stage)
    return " | ".join(dict.fromkeys(names[type(v)] for v in values))


# -- what a class body is made of ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaf:
    call: Call


@dataclass(frozen=True, slots=True)
class Param:
    """A bare parameter: registered as ``self.key = Helper.parameter(...)``, applied by ``Helper.apply``."""

    call: Call


@dataclass(frozen=True, slots=True)
class Seq:
    items: tuple[tuple[str, Tree], ...]


@dataclass(frozen=True, slots=True)
class Inst:
    """A container that is not a plain sequence: an instance of a generated class."""

    box: Container


Tree = Leaf | Param | Seq | Inst


@dataclass(frozen=True, slots=True)
class Value:
    """One literal in a class body: the child path it sits under and the argument it fills."""

    path: tuple[str, ...]
    name: str
    value: object
    kind: str = ""  # the module class it is an argument of (``Conv2d``)

    @property
    def key(self) -> tuple[str, object]:
        return type(self.value).__name__, self.value, _codes(self.value)


@dataclass(slots=True)
class _Class:
    """One generated class and the containers that are its instances."""

    name: str
    boxes: list[Container]
    #: position of a literal in the body → the parameter that holds it (other literals are constants)
    param_at: dict[int, str] = field(default_factory=dict)
    params: list[tuple[str, str]] = field(default_factory=list)  # (name, annotation)
    arguments: dict[Container, list[tuple[str, object]]] = field(default_factory=dict)


class _Emitter:
    def __init__(self, model: Model, free: FreeSizes | None = None):
        self.model = model
        self.graph = model.graph
        self.names = Namer(EMITTER_NAMES)
        self.model_class = self.names.name(camel(model.name), fallback="Model")
        self.free = free or FreeSizes({}, {})
        if any(name in EMITTER_NAMES or name == self.model_class for name in self.free.symbols):
            # a symbol named like something the file defines (x, nn, torch) would shadow it
            self.free = FreeSizes({}, {}, "a symbol's name is taken by the generated code")
        for name in self.free.symbols:
            self.names.used.add(name)
        self.root_box = module_plan(self.graph)
        self.logits = False  # whether the model's forward takes logits=True (set by model_forward)
        self.fused = False  # whether the loss that trains it applies its last layer (set by model_forward)
        self.final: int | None = None  # the dim a final softmax normalises (set by model_forward)
        self.classes: dict[tuple, _Class] = {}
        self.class_of: dict[Container, _Class] = {}
        self.trees: dict[Container, Tree] = {}
        self.signatures: dict[Container, tuple] = {}
        self.helpers: list[type] = []
        self.ordered_dict = False
        for child in self.root_box.children.values():
            if isinstance(child, Container):
                self.register(child)
        self.name_classes()
        self.root = _Class(self.model_class, [self.root_box])
        for cls in sorted(self.classes.values(), key=self.height):
            self.finalize(cls)
        self.finalize(self.root)

    # -- structure -------------------------------------------------------------------------------

    def tree(self, child: LayerNode | Container) -> Tree:
        if isinstance(child, LayerNode):
            call = self.free.calls.get(child.path) or layer_call(child)
            return Param(call) if child.layer.BARE else Leaf(call)
        if child not in self.trees:
            self.trees[child] = Seq(tuple(self.children(child))) if child.plain else Inst(child)
        return self.trees[child]

    def children(self, box: Container) -> list[tuple[str, Tree]]:
        return [(key, self.tree(child)) for key, child in box.children.items()]

    def signature(self, box: Container) -> tuple:
        """What instances of one class share: structure, names, kinds, argument names; not values."""
        if box not in self.signatures:
            node = box.node
            extra = (node.mode, len(node.body), len(node.then)) if isinstance(node, ResidualNode) else ()
            self.signatures[box] = (type(node).__name__, node.block, extra, self.program_shape(box.program),
                                    self.shape(Seq(tuple(self.children(box)))))
        return self.signatures[box]

    def program_shape(self, step: Step) -> tuple:
        if isinstance(step, (Step_Call, Bare)):
            return type(step).__name__, step.key
        if isinstance(step, StepSeq):
            return "seq", tuple(self.program_shape(s) for s in step.steps)
        if isinstance(step, Sum):
            shortcut = self.program_shape(step.shortcut) if step.shortcut is not None else None
            return "sum", self.program_shape(step.body), shortcut, step.identity, self.program_shape(step.then)
        if isinstance(step, Keep):
            return "keep", self.program_shape(step.step), step.slot
        op = layer_call(step.node)
        return ("join", op.cls, tuple((a.name, a.value) for a in (*op.args, *op.kwargs)),
                tuple(self.program_shape(b) for b in step.branches), step.sources)

    def shape(self, tree: Tree) -> tuple:
        if isinstance(tree, (Leaf, Param)):
            return type(tree).__name__, tree.call.cls, tuple(a.name for a in (*tree.call.args, *tree.call.kwargs))
        if isinstance(tree, Seq):
            return "seq", tuple((key, self.shape(item)) for key, item in tree.items)
        return "inst", self.signature(tree.box)

    def register(self, box: Container) -> None:
        """Post-order, so inner classes come first in the file."""
        for child in box.children.values():
            if isinstance(child, Container):
                self.register(child)
        if not box.plain:
            key = self.signature(box)
            if key not in self.classes:
                self.classes[key] = _Class("", [])
            self.classes[key].boxes.append(box)
            self.class_of[box] = self.classes[key]

    def name_classes(self) -> None:
        """A class is named after its block (or Residual, Concat, Add, …). Variants of one block are told
        apart by their shortcut (``BottleneckProjection``, ``BottleneckIdentity``) when that differs,
        else numbered."""
        bases: dict[str, list[_Class]] = {}
        for cls in self.classes.values():
            node = cls.boxes[0].node
            base = camel(node.block) if node.block else "Residual" if isinstance(node, ResidualNode) else \
                camel(node.layer.kind) if isinstance(node, MergeNode) else "Block"
            bases.setdefault(base, []).append(cls)
        for base, variants in bases.items():
            modes = [getattr(cls.boxes[0].node, "mode", None) for cls in variants]
            by_mode = len(variants) > 1 and None not in modes and len(set(modes)) == len(modes)
            for i, (cls, mode) in enumerate(zip(variants, modes), 1):
                wanted = base + SHORTCUT_NAMES[mode] if by_mode else base if i == 1 else f"{base}{i}"
                cls.name = self.names.name(wanted, fallback="Block")

    def height(self, cls: _Class) -> int:
        """1 + the height of the classes inside it: classes are finalised inside out."""
        body = Seq(tuple(self.children(cls.boxes[0])))
        return 1 + max((self.height(self.class_of[inst.box]) for inst in self.walk(body)), default=0)

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
            if isinstance(tree, (Leaf, Param)):
                kind = tree.call.cls.__name__
                out += [Value(where, a.name, a.value, kind) for a in (*tree.call.args, *tree.call.kwargs)]
            elif isinstance(tree, Seq):
                out += self.values(tree.items, where)
            else:
                out += [Value(where, name, value) for name, value in self.class_of[tree.box].arguments[tree.box]]
        return out

    def finalize(self, cls: _Class) -> None:
        """Decide the class's parameters: the literals that differ between its instances."""
        rows = [self.values(tuple(self.children(box))) for box in cls.boxes]
        groups: dict[tuple, list[int]] = {}
        for j in range(len(rows[0])):
            vector = tuple(row[j].key for row in rows)
            # a free size is a parameter of every class it sits in, up to the model's, which has the symbols
            if len(set(vector)) > 1 or (cls is not self.root and any(has_free(row[j].value) for row in rows)):
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
        for box, row in zip(cls.boxes, rows):
            cls.arguments[box] = [(name, row[positions[0]].value)
                                  for (name, _), positions in zip(cls.params, groups.values())]

    @staticmethod
    def block_arguments(cls: _Class) -> dict[tuple, str]:
        """A literal that varies between instances exactly as one of the block's own arguments does
        is named after it: ``Inverted(in_channels=16, c=24)``, not ``conv2d_6_out_channels=24``."""
        out: dict[tuple, str] = {}
        for name in cls.boxes[0].node.arguments:
            vector = tuple(Value((), name, box.node.arguments.get(name)).key for box in cls.boxes)
            out.setdefault(vector, name)
        return out

    # -- code ---------------------------------------------------------------------------------------

    def doc(self, tree: Tree, cls: _Class, row: list[Value], counter: Iterator[int]) -> Doc:
        """``tree`` as an expression in ``cls``'s ``__init__``: parameters by name, other literals inline."""

        def value(j: int) -> Doc:
            return Text(cls.param_at[j]) if j in cls.param_at else literal(row[j].value)

        if isinstance(tree, (Leaf, Param)):
            items = [value(next(counter)) for _ in tree.call.args]
            for arg in tree.call.kwargs:
                j = next(counter)
                if j in cls.param_at or not arg.is_default:
                    items.append(_keyword(arg.name, value(j)))
            head = self.function(tree.call.cls)
            return Brackets(f"{head}.parameter" if isinstance(tree, Param) else head, "(", items, ")")
        if isinstance(tree, Inst):
            inner = self.class_of[tree.box]
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
        for needed in (*REQUIRES.get(cls, ()), cls):
            if needed not in self.helpers:
                self.helpers.append(needed)
        return cls.__name__

    def class_lines(self, cls: _Class) -> list[str]:
        box = cls.boxes[0]
        row = self.values(tuple(self.children(box)))
        counter = itertools.count()
        init: list[str] = []
        holders: set[str] = set()
        for key, tree in self.children(box):
            expr = self.doc(tree, cls, row, counter)
            parts = key.split(".")[:-1]
            for i in range(len(parts)):  # the holder modules of a dotted key, each made once
                holder = ".".join(parts[:i + 1])
                if holder not in holders and holder not in box.children:
                    holders.add(holder)
                    init += self.assign(holder, Text("nn.Module()"))
            if isinstance(tree, Seq) and not tree.items and self.passes_input(box, key):
                continue  # an empty branch is the input itself: forward writes x
            init += self.assign(key, expr, parameter=isinstance(tree, Param))
        if cls is self.root:
            for tied, owner in ties(self.graph, box):  # one parameter under both names
                init.append(f"        {access(tied)}.weight = {access(owner)}.weight")
            if kept(self.graph):
                init.append(f"        {self.function(share_kept)}(self)")
        params = [Text("self"), *(Text(f"{name}: {annotation}") for name, annotation in cls.params)]
        if cls is self.root:
            params += [Text(f"{name}: int = {value}") for name, value in self.free.symbols.items()]
        base = "nn.Module" if all(plain(key.split(".")[0]) for key in box.children) else "nn.ModuleDict"
        lines = [f"class {cls.name}({base}):", f'    """{self.docstring(cls)}"""', "",
                 *layout(Brackets("def __init__", "(", params, ") -> None:", explode=True), 4),
                 "        super().__init__()", *init, ""]
        return lines + self.forward(box, cls is self.root)

    @staticmethod
    def assign(key: str, expr: Doc, parameter: bool = False) -> list[str]:
        """The line(s) registering ``expr`` under ``key``: an attribute assignment where the key's last part
        is :func:`plain` and its holder reachable, else ``add_module`` / ``register_parameter``."""
        *parts, last = key.split(".")
        holder = access(".".join(parts)) if parts else "self"
        if plain(last):
            return layout(expr, 8, f"{holder}.{last} = ")
        if not parts and not parameter:
            return layout(expr, 8, f"self[{string(last)}] = ")
        method = "register_parameter" if parameter else "add_module"
        return layout(Brackets(f"{holder}.{method}", "(", [Text(string(last)), expr], ")"), 8)

    @staticmethod
    def passes_input(box: Container, key: str) -> bool:
        """Whether the child ``key`` is an empty branch, which forward writes as the input itself."""
        child = box.children[key]
        return isinstance(child, Container) and not child.children and isinstance(child.program, StepSeq)

    # -- forward ----------------------------------------------------------------------------------

    def forward(self, box: Container, root: bool) -> list[str]:
        signature = "    def forward(self, x: torch.Tensor) -> torch.Tensor:"
        if root:
            special = self.logits_forward(box)
            if special is not None:
                return special
        code = _Forward(self, box)
        result = code.run(box.program, "x", "x")
        return [signature, *code.finish(result)]

    def logits_forward(self, box: Container) -> list[str] | None:
        """When the spec trains with a loss that applies the final activation itself,
        ``forward(x, logits=True)`` stops before it (a keyword, so no layer name can clash)."""
        program = box.program
        if not isinstance(program, StepSeq) or not program.steps or not isinstance(program.steps[-1], Step_Call):
            return None
        train = getattr(self.model.spec, "train", None)
        key = program.steps[-1].key
        last, depth = box.children[key], 0  # how many sequences down the final layer sits (a group named head: 1)
        while isinstance(last, Container) and last.plain and last.children:
            last, depth = list(last.children.values())[-1], depth + 1
        final = None
        if isinstance(last, LayerNode) and not last.layer.BARE:
            with torch.device("meta"):  # only its type and options are read: Llama's head is 2 GB of weights
                final = layer_call(last).build()
        # a softmax over a dim that can hold the class scores (1, or a per-position class axis plus one)
        output = tuple(int(d) for d in self.graph.output_shape)
        dims = fold_dims(TrainSpec.of(self.model.spec), output)
        self.fused = final is not None and any(absorbs(TrainSpec.of(self.model.spec), final, d) for d in dims)
        self.final = getattr(final, "dim", None)
        if train is None or final is None or not any(absorbs(train, final, d) for d in dims):
            return None
        self.logits = True
        activation, criterion = type(final).__name__.lower(), CRITERIA[train.loss].__name__
        lines = ["    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:",
                 f'        """With ``logits=True``, the output before the final {activation}: what',
                 f'        nn.{criterion} takes (the spec trains with {train.loss})."""']
        code = _Forward(self, box)
        x = code.run(StepSeq(program.steps[:-1]), "x", "x")
        lines += code.lines
        if depth == 0:
            return lines + layout(Brackets(access(key), "(", [Text(x)], ")"), 8, f"return {x} if logits else ")
        before = Text(f"{_without_last(access(key), depth)}({x})")
        lines += ["        if logits:", *layout(before, 12, "return ")]
        return lines + layout(Brackets(access(key), "(", [Text(x)], ")"), 8, "return ")

    def docstring(self, cls: _Class) -> str:
        node = cls.boxes[0].node
        label = f"Block ``{node.block}``" if node.block and _safe_text(node.block) else None
        if cls is self.root:
            name = f"``{self.model.name}``" if _safe_text(self.model.name) else "from the spec"
            return f"The network {name}, layer by layer."
        if isinstance(node, MergeNode):
            what = {"concat": "joined along the channels" if node.layer.config().get("axis") == 0 else "joined",
                    "add": "added", "multiply": "multiplied"}.get(node.layer.kind, f"combined by {node.layer.kind}")
            return f"{label or camel(node.layer.kind)}: its {len(node.branches)} branches {what}."
        if isinstance(node, ResidualNode):
            formula = {"identity": "body(x) + x", "none": "body(x)"}.get(node.mode, "body(x) + shortcut(x)")
            for after in node.then:
                formula = f"{after.kind if isinstance(after, LayerNode) else 'then'}({formula})"
            note = " (shortcut: auto)" if node.mode == "projection" else ""
            return f"{label or 'Residual'}: {formula}{note}."
        return f"{label or 'Block'}: its layers in order."

    def module(self) -> str:
        classes = [line for cls in self.classes.values() for line in ["", "", *self.class_lines(cls)]]
        root = self.class_lines(self.root)
        shape = self.graph.input_shape
        header = self.header()
        standard = ["import math"] if rotary_frequencies in self.helpers else []  # the rope helper's import
        standard += ["from collections import OrderedDict"] if self.ordered_dict else []
        imports = [*standard, ""] if standard else []
        imports += ["import torch", "from torch import nn", "", f"INPUT_SHAPE = {flat(literal(shape))}"]
        loss = loss_helper(TrainSpec.of(self.model.spec))
        helpers = [line for cls in [*self.helpers, *([loss] if loss else [])]
                   for line in ["", "", *inspect.getsource(cls).rstrip().splitlines()]]
        inits = init.source(self.graph, torch_paths(self.graph), _submodule)
        frozen = [line for key, bare in frozen_keys(module_plan(self.graph)) for line in layout(
            Brackets(f"model.{'get_parameter' if bare else 'get_submodule'}", "(", [Text(string(key))], ")"), 4,
            suffix=".requires_grad_(False)")]
        doc = (f"A new {self.model_class}, initialised as the spec's init: says where it says it, else as PyTorch"
               " initialises each layer.") if inits else \
            f"A new {self.model_class}, initialised as PyTorch initialises each layer."
        if frozen:
            doc += (" The parameters the spec freezes (trainable: false) require no grad: build_optimizer() takes"
                    " those that do.")
        inits += frozen
        sizes = ", ".join(f"{name}: int = {value}" for name, value in self.free.symbols.items())
        passed = ", ".join(f"{name}={name}" for name in self.free.symbols)
        build = ["", "", f"def build_model({sizes}) -> {self.model_class}:",
                 *_docstring(doc, 4)]
        build += [f"    model = {self.model_class}({passed})", *inits, "    return model"] if inits \
            else [f"    return {self.model_class}({passed})"]
        entry = entry_point(self.model, self.logits, self.fused and not self.logits, self.final)
        return "\n".join([*header, "", *imports, *helpers, *classes, "", "", *root, *build, *entry]) + "\n"

    def header(self) -> list[str]:
        model = self.model
        origin = f"The spec ``{model.name}``: input" if _safe_text(model.name) else "Input"
        shape_in = ", ".join(map(str, ("N", *self.graph.input_shape)))
        shape_out = ", ".join(map(str, ("N", *self.graph.output_shape)))
        counts = f"{model.trainable_params:,} trainable parameters" if not model.non_trainable_params else \
            f"{model.total_params:,} parameters ({model.non_trainable_params:,} of them frozen)"
        if model.buffers:
            counts += f" and {model.buffers:,} buffer values"
        text = f"{origin} [{shape_in}] -> output [{shape_out}]; {counts}, as ``archcalc params`` counts them."
        if self.free.symbols:
            sizes = ", ".join(f"{name}={value}" for name, value in self.free.symbols.items())
            text += (f" Sizes the spec leaves free are arguments (its symbols, in lower case):"
                     f" {self.model_class}({sizes}) is the network at other sizes (counts above at these).")
        elif self.free.fixed:
            text += f" Sizes are fixed at the values exported with: {self.free.fixed}."
        nested = next((n.path for n in model.layers if "." in n.path and _safe_text(n.path)), None)
        if nested:
            text += (f" Module names are the spec's paths (``{nested}``), as in ``archcalc.to_torch``, so both"
                     " have the same state_dict keys.")
        first = f'"""{self.model_class} in PyTorch, written by ``archcalc export --to torch``.'
        return [*textwrap.wrap(first, WIDTH, break_on_hyphens=False), "",
                *textwrap.wrap(text + " Needs only torch (and NumPy to train on an .npz file:"
                               " python FILE.py DATA.npz, or torchrun --nproc-per-node=N FILE.py DATA.npz;"
                               " see train()).", WIDTH), '"""']


#: how forward writes each merge op (the runtime's modules in :mod:`.modules`) on its branches' expressions
MERGE_CODE: dict[type, Callable[..., Doc]] = {
    Concat: lambda parts, dim: Brackets("torch.cat", "(", [Brackets("", "[", parts, "]", explode=True),
                                                           Text(f"dim={dim}")], ")"),
    # three or more: sum([...]) adds them in the same order (0 + a is exact) and splits over lines
    Add: lambda parts: Text(" + ".join(flat(p) for p in parts)) if len(parts) < 3 else
    Brackets("sum", "(", [Brackets("", "[", parts, "]", explode=True)], ")"),
    Multiply: lambda parts: Text(" * ".join(flat(p) for p in parts)),
    Attention: lambda parts, **options: Brackets("Attention.apply", "(", [
        *parts, *(Text(f"{name}={flat(literal(value))}") for name, value in options.items()),
        Text("training=self.training")], ")"),
}


class _Forward:
    """A program as the statements of a ``forward`` method. :meth:`run` writes the code of one step
    applied to the tensor in variable ``src``, leaving its result in ``dst`` (which may be ``src``
    itself when nothing needs ``src`` afterwards), and returns the variable that holds the result."""

    def __init__(self, emitter: _Emitter, box: Container):
        self.emitter = emitter
        self.box = box
        self.statements: list[tuple[str, Doc | str]] = []  # (target, expression) or ("#", comment)
        self.used = {"x", "self", "logits"}

    @property
    def lines(self) -> list[str]:
        return [line for target, expr in self.statements for line in self.render(target, expr)]

    @staticmethod
    def render(target: str, expr: Doc | str, prefix: str = "") -> list[str]:
        if target == "#":
            return [f"        # {expr}"]
        return layout(expr, 8, prefix or f"{target} = ")

    def fresh(self, base: str) -> str:
        name, n = base, 2
        while name in self.used:
            name, n = f"{base}{n}", n + 1
        self.used.add(name)
        return name

    def emit(self, target: str, expr: Doc) -> None:
        self.statements.append((target, expr))

    def run(self, step: Step, src: str, dst: str) -> str:
        if isinstance(step, Step_Call):
            self.emit(dst, Brackets(access(step.key), "(", [Text(src)], ")"))
            return dst
        if isinstance(step, Bare):  # the helper's apply, given the call's keywords it takes (a flat layer_scale's axis)
            made = layer_call(step.node)
            helper = self.emitter.function(made.cls)
            takes = inspect.signature(made.cls.apply).parameters
            extra = [Text(f"{a.name}={flat(literal(a.value))}") for a in made.kwargs if a.name in takes]
            self.emit(dst, Brackets(f"{helper}.apply", "(", [Text(src), Text(access(step.key, parameter=True)),
                                                            *extra], ")"))
            return dst
        if isinstance(step, StepSeq):
            value = src
            for inner in step.steps:
                value = self.run(inner, value, dst)
            return value
        if isinstance(step, Sum):
            y = self.fresh("y")
            value = self.run(step.body, src, y)
            if step.shortcut is not None:
                self.emit(y, Text(f"{value} + {flat(self.expression(step.shortcut, src))}"))
                value = y
            elif step.identity:
                self.emit(y, Text(f"{value} + {src}"))
                value = y
            else:
                self.statements.append(("#", "no shortcut: the body changes the shape (shortcut: if_same)"))
            return self.run(step.then, value, value if value != src else dst)
        if isinstance(step, Keep):
            value = self.run(step.step, src, dst)
            self.emit(f"self.kept[{string(step.slot)}]", Text(value))
            return value
        assert isinstance(step, Join)
        sources = step.sources or (None,) * len(step.branches)
        parts = [self.expression(branch, f"self.kept[{string(source)}]" if source else src)
                 for branch, source in zip(step.branches, sources)]
        op = layer_call(step.node)
        if op.cls in HELPERS:  # the op's code is the helper's (attention): copied into the file
            self.emitter.function(op.cls)
        self.emit(dst, MERGE_CODE[op.cls](parts, **{a.name: a.value for a in op.kwargs}))
        return dst

    def expression(self, step: Step, src: str) -> Doc:
        """A branch or shortcut as one expression when it is one call (or the input), else its variable."""
        if isinstance(step, Step_Call) and self.emitter.passes_input(self.box, step.key):
            return Text(src)
        if isinstance(step, Step_Call):
            return Brackets(access(step.key), "(", [Text(src)], ")")
        if isinstance(step, StepSeq) and not step.steps:
            return Text(src)
        if isinstance(step, StepSeq) and len(step.steps) == 1:
            return self.expression(step.steps[0], src)
        return Text(self.run(step, src, self.fresh("b")))

    def finish(self, result: str) -> list[str]:
        """The lines, with the last assignment (to ``result``) written as the ``return``."""
        statements = self.statements
        if statements and statements[-1][0] == result:
            *rest, (_, expr) = statements
            return [line for target, e in rest for line in self.render(target, e)] + \
                self.render(result, expr, "return ")
        return [*self.lines, f"        return {result}"]
