"""Graph → ``torch.nn.Module``: the runtime builder behind :func:`archcalc.to_torch`.

The module plan (:mod:`archcalc.backends.plan`) says which modules exist and under which keys:
every container becomes a :class:`~.modules.Network` that registers its children there and runs
the plan's program, and every layer comes from the per-kind table in :mod:`.layers`. So module
paths are the graph's paths (``module.get_submodule("layer4.1.conv2")``) and ``state_dict`` keys
read ``layer4.1.conv2.weight``.

The one exception to "paths are the graph's paths": a name torch cannot take as a child name
because a container already has an attribute of that name (``forward``, ``training``, ``append``)
gets ``_`` appended, the same way here and in generated source. :func:`torch_paths` gives the map.
"""

from __future__ import annotations

import os
from functools import cache

from torch import nn

from archcalc.backends import plan as planning
from archcalc.backends.plan import Bare, Call, Container, Join, Keep, Seq, Step, Sum
from archcalc.backends.torch import init, reparam
from archcalc.backends.torch.layers import MODULES
from archcalc.backends.torch.layers import Call as ModuleCall
from archcalc.backends.torch.modules import ATTRIBUTES, Network
from archcalc.graph import Graph, LayerNode, MergeNode, Node, build_graph
from archcalc.layers.merge import Merge
from archcalc.model import Model, load
from archcalc.spec.ast import Spec


def to_torch(spec: Model | Spec | str | os.PathLike, **symbols: int) -> Network:
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


def module_plan(graph: Graph) -> Container:
    """The graph's module plan, with keys moved past the names torch containers hold."""
    return planning.plan(graph, taken_by_torch())


def build_module(graph: Graph) -> Network:
    """The module with its tied weights shared, then the spec's ``init:`` applied layer by layer in order,
    as the generated file does, then its ``weight_norm:`` and ``spectral_norm:`` (torch's functions), and the
    parameters under ``trainable: false`` frozen (``requires_grad_(False)``:
    build the optimizer over ``p for p in module.parameters() if p.requires_grad``, as
    :func:`~.training.build_optimizer` does)."""
    box = module_plan(graph)
    module = _network(box)
    if planning.kept(graph):  # one store of kept outputs for every container of the module
        store: dict = {}
        for inner in module.modules():
            if isinstance(inner, Network):
                inner._kept = store
    for tied, owner in ties(graph, box):  # one nn.Parameter, registered under both names (as HF ties them)
        module.get_submodule(tied).weight = module.get_submodule(owner).weight
    if any(node.layer.init is not None for node in graph.layers()):
        init.apply(module, graph, _paths(box))
    if any(node.layer.reparam is not None for node in graph.layers()):
        reparam.apply(module, graph, _paths(box))
    for key, bare in planning.frozen_keys(box):
        (module.get_parameter(key) if bare else module.get_submodule(key)).requires_grad_(False)
    return module


def ties(graph: Graph, box: Container | None = None) -> list[tuple[str, str]]:
    """(module path of a layer that ties its weight, module path of the layer that owns it), in order."""
    paths = _paths(box if box is not None else module_plan(graph))
    layers = {node.path: node for node in graph.layers()}
    return [(paths[node], paths[layers[node.layer.tie]]) for node in layers.values()
            if getattr(node.layer, "tie", None) is not None]


def layer_call(node: LayerNode | MergeNode) -> ModuleCall:
    """The constructor call of a layer (or of a merge's parameter-free op), from its kind's table entry."""
    if isinstance(node, MergeNode):
        return MODULES[node.layer.kind](node.layer, node.inputs)
    if isinstance(node.layer, Merge):  # a merge kind on its own input (attention on a fused q, k, v)
        return MODULES[node.kind](node.layer, [node.in_shape])
    return MODULES[node.kind](node.layer, node.in_shape)


def _network(box: Container) -> Network:
    children: list[tuple[str, nn.Module | nn.Parameter]] = []
    bare: dict[str, nn.Module] = {}
    for key, child in box.children.items():
        if isinstance(child, Container):
            children.append((key, _network(child)))
        elif child.layer.BARE:
            bare[key] = layer_call(child).build()
            children.append((key, next(bare[key].parameters())))
        else:
            children.append((key, layer_call(child).build()))
    ops: list[nn.Module] = []
    return Network(children, _compile(box.program, ops), ops, bare)


def _compile(step: Step, ops: list[nn.Module]) -> tuple:
    """The plan's program as the plain tuples :class:`~.modules.Network` runs."""
    if isinstance(step, (Call, Bare)):
        return ("call", step.key)
    if isinstance(step, Seq):
        return ("seq", tuple(_compile(s, ops) for s in step.steps))
    if isinstance(step, Sum):
        shortcut = _compile(step.shortcut, ops) if step.shortcut is not None else None
        return ("sum", _compile(step.body, ops), shortcut, step.identity, _compile(step.then, ops))
    if isinstance(step, Keep):
        return ("keep", _compile(step.step, ops), step.slot)
    assert isinstance(step, Join)
    ops.append(layer_call(step.node).build())
    branches = tuple(_compile(b, ops) for b in step.branches)
    if any(step.sources):
        return ("join", len(ops) - 1, branches, step.sources)
    return ("join", len(ops) - 1, branches)


# -- names -----------------------------------------------------------------------------------------


@cache
def taken_by_torch() -> frozenset[str]:
    """Names a container already uses: the attributes and methods of nn.Module, of the nn.Sequential
    and nn.ModuleDict that generated source writes, and Network's own."""
    names = set(dir(nn.Sequential())) | set(dir(nn.ModuleDict())) | set(dir(Network([], ("seq", ()))))
    return frozenset(names | ATTRIBUTES)


def torch_paths(graph: Graph) -> dict[Node, str]:
    """Graph node → its module's path in the built module (the node's own path unless renamed). An
    inline node has no module, so no path here."""
    return _paths(module_plan(graph))


def _paths(root: Container) -> dict[Node, str]:
    paths: dict[Node, str] = {}

    def visit(box: Container, prefix: str) -> None:
        for key, child in box.children.items():
            full = f"{prefix}.{key}" if prefix else key
            paths[child.node if isinstance(child, Container) else child] = full
            if isinstance(child, Container):
                visit(child, full)

    visit(root, "")
    return paths
