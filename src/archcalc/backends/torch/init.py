"""The spec's ``init:`` in torch: ``torch.nn.init`` calls on a built module, and the same calls as source.

Both the runtime builder and the generated file's ``build_model()`` make the calls after the whole
model is built, in the order of the layers, so with the same seed they draw the same numbers.
"""

from __future__ import annotations

from torch import nn

from archcalc.backends.torch.layout import Brackets, Text, layout
from archcalc.graph import Graph, LayerNode
from archcalc.spec.init import Init

#: the spec's setting names that torch.nn.init spells differently
RENAMED = {"value": "val"}


def arguments(init: Init) -> dict[str, object]:
    """The keyword arguments of ``torch.nn.init.<name>_`` for ``init``."""
    return {RENAMED.get(key, key): value for key, value in init.params}


def parts(node: LayerNode) -> list[tuple[str, Init]]:
    """``(tensor name, init)`` for each of the layer's tensors that its spec initialises."""
    init = node.layer.init
    if init is None:
        return []
    return [(tensor, part) for tensor, part in (("weight", init.weight), ("bias", init.bias)) if part is not None]


def apply(module: nn.Module, graph: Graph, paths: dict) -> None:
    """Initialise the layers of ``module`` (built from ``graph``; ``paths`` its module paths) as the spec says,
    in the graph's layer order, after every layer was built: the order the generated file uses, so that with
    the same seed both draw the same numbers."""
    for node in graph.layers():
        for tensor, part in parts(node):
            getattr(nn.init, f"{part.name}_")(getattr(module.get_submodule(paths[node]), tensor), **arguments(part))


def source(graph: Graph, paths: dict, access) -> list[str]:
    """The generated ``build_model()``'s lines that initialise the layers whose spec says ``init:``, laid out
    as ``ruff format`` lays them out; ``access(path)`` is the expression that reaches a module from ``model``."""
    lines = []
    for node in graph.layers():
        for tensor, part in parts(node):
            items = [Text(f"{access(paths[node])}.{tensor}"),
                     *(Text(f"{key}={_literal(value)}") for key, value in arguments(part).items())]
            lines += layout(Brackets(f"nn.init.{part.name}_", "(", items, ")"), 4)
    return lines


def _literal(value: object) -> str:
    """A setting as code: a float, or one of the fixed words torch takes (``"fan_in"``, ``"relu"``)."""
    return f'"{value}"' if isinstance(value, str) else repr(value)
