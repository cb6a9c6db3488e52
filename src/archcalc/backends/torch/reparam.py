"""The spec's ``weight_norm:`` and ``spectral_norm:`` in torch: torch's own functions on a built module, and the same
calls as source.

torch's functions, not a re-implementation, so that the parameter and buffer names are torch's (``weight_g``,
``weight_v``; ``parametrizations.weight.original0``/``1``; ``weight_orig``, ``weight_u``, ``weight_v``) and a
published model's state dict loads strictly. Both the runtime builder and the generated ``build_model()`` call
them after ``init:`` (the magnitude ``g`` is the norm of the initialised weight, as when a published model wraps
an initialised layer) and in layer order (spectral norm draws its ``u`` and ``v`` from torch's generator, so
with the same seed both draw the same numbers).
"""

from __future__ import annotations

import warnings

from torch import nn

from archcalc.backends.torch.layout import Brackets, Text, layout
from archcalc.graph import Graph, LayerNode


def call(node: LayerNode) -> tuple[str, dict[str, object]] | None:
    """(the torch function's dotted name under ``nn.utils``, its keyword arguments) for the layer's
    reparametrisation, None for a plain weight."""
    reparam = node.layer.reparam
    if reparam is None:
        return None
    if reparam.weight_norm:
        name = "weight_norm" if reparam.names == "old" else "parametrizations.weight_norm"
        return name, {"dim": reparam.dim}
    return "spectral_norm", {"n_power_iterations": reparam.n_power_iterations, "eps": reparam.eps,
                             "dim": reparam.dim}


def apply(module: nn.Module, graph: Graph, paths: dict) -> None:
    """Reparametrise the layers of ``module`` (built from ``graph``; ``paths`` its module paths) as the spec says,
    in layer order. The old ``torch.nn.utils.weight_norm`` warns that it is deprecated: its names are what
    published checkpoints hold, so the spec asked for it; the warning is not repeated here."""
    for node in graph.layers():
        found = call(node)
        if found is None:
            continue
        function = nn.utils
        for part in found[0].split("."):
            function = getattr(function, part)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            function(module.get_submodule(paths[node]), **found[1])


def source(graph: Graph, paths: dict, access) -> list[str]:
    """The generated ``build_model()``'s lines that reparametrise the layers whose spec says so, laid out as
    ``ruff format`` lays them out; ``access(path)`` is the expression that reaches a module from ``model``."""
    lines = []
    for node in graph.layers():
        found = call(node)
        if found is not None:
            items = [Text(access(paths[node])), *(Text(f"{key}={value!r}") for key, value in found[1].items())]
            lines += layout(Brackets(f"nn.utils.{found[0]}", "(", items, ")"), 4)
    return lines
