"""Graph → ``torch.nn.Module``: the runtime builder behind :func:`archcalc.to_torch`.

Every graph node becomes one module registered under the node's name, so module paths are the
graph's paths (``module.get_submodule("layer4.1.conv2")``) and ``state_dict`` keys read
``layer4.1.conv2.weight``. Sequences (blocks, groups, repeats, shortcuts, branches and the model
itself) are ``nn.Sequential``; residuals and concats are :class:`~.modules.Residual` and
:class:`~.modules.Concat`; layers come from the per-kind table in :mod:`.layers`.

The one exception to "paths are the graph's paths": a name torch cannot take as a child name
because a container already has an attribute of that name (``forward``, ``training``, ``append``)
gets ``_`` appended, the same way here and in generated source. :func:`torch_paths` gives the map.
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Iterable
from functools import cache

from torch import nn

from archcalc.backends.torch import init
from archcalc.backends.torch.layers import MODULES, Call
from archcalc.backends.torch.modules import ATTRIBUTES, Concat, Residual
from archcalc.graph import ConcatNode, Graph, LayerNode, Node, ResidualNode, SeqNode, build_graph
from archcalc.model import Model, load
from archcalc.spec.ast import Spec


def to_torch(spec: Model | Spec | str | os.PathLike, **symbols: int) -> nn.Sequential:
    """Build the spec as a module: a :class:`Model`, a parsed :class:`Spec`, or a spec's path.

    Keyword arguments set symbols (``to_torch("specs/resnet50.yaml", H=64, W=64)``). The module is in
    training mode, initialised the way torch initialises each layer.
    """
    return build_module(as_model(spec, symbols).graph)


def as_model(spec: Model | Spec | str | os.PathLike, symbols: dict[str, int] | None = None) -> Model:
    """The concrete :class:`Model` for what :func:`to_torch` accepts; free symbols are an error."""
    if isinstance(spec, Model):
        if symbols:
            raise TypeError("symbols go to archcalc.load(path, H=...) when passing a Model")
        model = spec
    elif isinstance(spec, Spec):
        model = Model(build_graph(spec, symbols))
    else:
        model = load(os.fspath(spec), **(symbols or {}))
    model.require_values("build a module")
    return model


def build_module(graph: Graph) -> nn.Sequential:
    """The module, then the spec's ``init:`` applied layer by layer in order, as the generated file does."""
    module = nn.Sequential(OrderedDict(_children(graph.root.items)))
    if any(node.layer.init is not None for node in graph.layers()):
        init.apply(module, graph, torch_paths(graph))
    return module


def layer_call(node: LayerNode) -> Call:
    """The constructor call of a layer node, from its kind's table entry."""
    return MODULES[node.kind](node.layer, node.in_shape)


def _children(nodes: list[Node]) -> list[tuple[str, nn.Module]]:
    return [(key, _module(node)) for key, node in zip(child_keys(nodes), nodes)]


def _module(node: Node) -> nn.Module:
    return _BUILDERS[type(node)](node)


def _layer(node: LayerNode) -> nn.Module:
    return layer_call(node).build()


def _sequence(node: SeqNode) -> nn.Module:
    return nn.Sequential(OrderedDict(_children(node.items)))


def _residual(node: ResidualNode) -> nn.Module:
    pairs = _children(node.children)
    body, rest = pairs[:len(node.body)], pairs[len(node.body):]
    shortcut = rest.pop(0) if node.shortcut is not None else None
    return Residual(body, shortcut, node.mode, rest)


def _concat(node: ConcatNode) -> nn.Module:
    return Concat(_children(node.branches))


_BUILDERS = {LayerNode: _layer, SeqNode: _sequence, ResidualNode: _residual, ConcatNode: _concat}


# -- names -----------------------------------------------------------------------------------------


@cache
def _taken_by_torch() -> frozenset[str]:
    """Names a container already uses: nn.Module's attributes and methods, Sequential's and ours."""
    names = set(dir(nn.Sequential())) | set(dir(nn.ModuleDict())) | set(dir(Residual([], None, "none")))
    return frozenset(names | set(dir(Concat([]))) | ATTRIBUTES)


def child_keys(nodes: Iterable[Node]) -> list[str]:
    """The names the children of one container get in torch: the graph's, unless torch holds the name.

    A held name (``forward``, ``training``, ``append``) gets ``_`` appended until it is free. Used by
    the runtime builder and the source emitter alike, so their ``state_dict`` keys agree.
    """
    keys: list[str] = []
    used: set[str] = set()  # a set, not the list: a 100,000-layer container must stay linear
    for node in nodes:
        key = node.name
        while key in _taken_by_torch() or key in used:
            key += "_"
        keys.append(key)
        used.add(key)
    return keys


def torch_paths(graph: Graph) -> dict[Node, str]:
    """Graph node → its module's path in the built module (the node's own path unless renamed)."""
    paths: dict[Node, str] = {}

    def visit(nodes: list[Node], prefix: str) -> None:
        for key, node in zip(child_keys(nodes), nodes):
            paths[node] = f"{prefix}.{key}" if prefix else key
            visit(node.children, paths[node])

    visit(graph.root.items, "")
    return paths
