"""Sizes a spec leaves free, kept free in the generated PyTorch file.

A spec's symbols (``input: [3, H, W]`` with ``H: 128``) are sizes the user may change; a module
written with ``AdaptiveAvgPool2d(64)`` where the spec says ``[H / 2, W / 2]`` would silently fix
them. So the generated model takes every symbol that sizes a module as a constructor argument
(``Model(H=128, W=128)``, defaults the values exported with) and writes each size that depends on
one as the expression it is (``AdaptiveAvgPool2d((H // 2, W // 2))``, ``nn.Linear(8 * (H // 2) *
(W // 2), 10)``).

Which constructor arguments depend on the symbols, and how, is found without asking each kind's
table entry to handle symbols: the network is built again at other values of the symbols, and an
argument that changes between the two builds is matched to the formula, among the symbolic build's
values at that layer (its arguments and the sizes of its input and output), that gives both
values. An argument no formula explains, or a network whose structure changes with the sizes,
keeps the values exported with, and the file's docstring says so.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from archcalc import symbolic
from archcalc.backends.torch.layers import Call
from archcalc.errors import SpecError
from archcalc.graph import Graph, LayerNode
from archcalc.graph.build import build_graph
from archcalc.model import Model


class Free(int):
    """A size at the exported value that is the formula ``code`` of the model's size arguments."""

    code: str
    names: frozenset[str]

    def __new__(cls, value: int, code: str, names: frozenset[str]) -> Free:
        self = super().__new__(cls, value)
        self.code, self.names = code, names
        return self

    def __repr__(self) -> str:
        return f"Free({int(self)}, {self.code!r})"


@dataclass(slots=True)
class FreeSizes:
    """The layer calls with free sizes (by path), the symbols they use with their exported values, and
    why some sizes stayed fixed (empty when none did)."""

    calls: dict[str, Call]
    symbols: dict[str, int]
    fixed: str = ""


def free_sizes(model: Model, call_of) -> FreeSizes:
    """The free sizes of ``model`` (built at values of its symbols); ``call_of(node)`` is the torch
    call of a layer node (:func:`archcalc.backends.torch.build.layer_call`)."""
    graph = model.graph
    spec = graph.spec
    values = {name: value for name, value in graph.symbols.items() if symbolic.is_int(value)}
    if not values:
        return FreeSizes({}, {})
    # each symbol scaled by its own factor, so that H and W (equal when exported) are told apart
    other = {name: value * (2 + i) for i, (name, value) in enumerate(values.items())}
    try:
        moved = build_graph(spec, other)
        formulas = build_graph(spec, free=True)
    except SpecError:
        return FreeSizes({}, {}, "the spec does not build at other sizes with its symbols free")
    if _structure(graph) != _structure(moved) or _structure(graph) != _structure(formulas):
        return FreeSizes({}, {}, "the network's structure changes with the sizes")
    here, there, symbolic_nodes = _layers(graph), _layers(moved), _layers(formulas)
    calls: dict[str, Call] = {}
    used: set[str] = set()
    for path, node in here.items():
        try:
            a, b = call_of(node), call_of(there[path])
        except SpecError:
            return FreeSizes({}, {}, f"layer {path} cannot be exported at other sizes")
        if a == b:
            continue
        if a.cls is not b.cls or len(a.args) != len(b.args) or [k.name for k in a.kwargs] != [k.name for k in b.kwargs]:
            return FreeSizes({}, {}, f"the arguments of layer {path} change form with the sizes")
        candidates = _candidates(symbolic_nodes[path])
        args, kwargs = [], []
        for out, pairs in ((args, zip(a.args, b.args)), (kwargs, zip(a.kwargs, b.kwargs))):
            for x, y in pairs:
                value = _free(x.value, y.value, candidates, values, other)
                if value is None:
                    return FreeSizes({}, {}, f"no formula of the symbols gives the sizes of layer {path}")
                used |= _names(value)
                out.append(replace(x, value=value) if value is not x.value else x)
        calls[path] = Call(a.cls, tuple(args), tuple(kwargs))
    return FreeSizes(calls, {name: values[name] for name in values if name in used})


def _structure(graph: Graph) -> list[tuple]:
    """Every node's path, type and residual mode (an ``if_same`` shortcut is there at some sizes only)."""
    return [(node.path, type(node).__name__, getattr(node, "mode", None)) for node, _ in graph.walk()]


def _layers(graph: Graph) -> dict[str, LayerNode]:
    return {node.path: node for node in graph.layers()}


def _candidates(node: LayerNode) -> list:
    """The symbolic values at a layer a size argument may be: its arguments and its input's and output's sizes."""
    found: list = []
    for value in (*node.layer.config().values(), *node.in_shape, *node.out_shape):
        for item in value if isinstance(value, tuple) else (value,):
            if symbolic.is_symbolic(item) and item not in found:
                found.append(item)
    return found


def _free(a: object, b: object, candidates: list, here: dict[str, int], there: dict[str, int]) -> object | None:
    """``a`` (the value exported) as a :class:`Free` when it changes to ``b`` at the other sizes and a
    candidate formula gives both; ``a`` itself when it does not change; None when nothing explains it."""
    if a == b and type(a) is type(b):
        return a
    if isinstance(a, tuple) or isinstance(b, tuple):
        length = len(a) if isinstance(a, tuple) else len(b)  # (k, k) is written k: widen it back
        a = a if isinstance(a, tuple) else (a,) * length
        b = b if isinstance(b, tuple) else (b,) * length
        if len(a) != len(b):
            return None
        items = tuple(_free(x, y, candidates, here, there) for x, y in zip(a, b))
        return None if any(item is None for item in items) else items
    if type(a) is not int or type(b) is not int:
        return None
    for formula in candidates:
        if symbolic.subs(formula, here) == a and symbolic.subs(formula, there) == b:
            try:
                text = symbolic.python_source(formula)
            except ValueError:
                continue
            return Free(a, text, frozenset(str(s) for s in formula.free_symbols))
    return None


def _names(value: object) -> set[str]:
    if isinstance(value, Free):
        return set(value.names)
    if isinstance(value, tuple):
        return {name for item in value for name in _names(item)}
    return set()


def has_free(value: object) -> bool:
    return bool(_names(value))
