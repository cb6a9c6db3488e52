"""The Python API: ``archcalc.load(path, H=224)`` → a :class:`Model` with shapes and counts.

It mirrors the JSON that ``archcalc params --format json`` prints, so a script and the CLI agree.
"""

from __future__ import annotations

import os
from functools import cached_property

from archcalc import symbolic
from archcalc.calc.params import param_counts
from archcalc.collector import gc_paused
from archcalc.errors import SpecError, close_match
from archcalc.graph import Graph, LayerNode, Node, build_graph
from archcalc.layers import Count, Shape
from archcalc.limits import Limits
from archcalc.spec import parse_text, read_spec
from archcalc.spec.ast import Spec


class Model:
    """A spec built into a graph, with its parameter counts computed once."""

    def __init__(self, graph: Graph):
        self.graph = graph

    @property
    def name(self) -> str:
        return self.graph.name

    @property
    def spec(self) -> Spec:
        return self.graph.spec  # type: ignore[return-value]

    @property
    def input_shape(self) -> Shape:
        return self.graph.input_shape

    @property
    def output_shape(self) -> Shape:
        return self.graph.output_shape

    @cached_property
    def counts(self) -> dict[Node, Count]:
        return param_counts(self.graph)

    @property
    def trainable_params(self):
        """The parameters that learn: all but those under ``trainable: false`` (torch's ``sum(p.numel() for p in
        module.parameters() if p.requires_grad)``)."""
        return self.counts[self.graph.root].trainable

    @property
    def non_trainable_params(self):
        """The frozen parameters (``trainable: false``): torchinfo's "Non-trainable params", total − trainable.
        Buffers are not parameters and are not among them."""
        return self.counts[self.graph.root].frozen

    @property
    def buffers(self):
        return self.counts[self.graph.root].buffers

    @property
    def total_params(self):
        """All parameters, trainable and frozen, as PyTorch counts them; buffers are not parameters and are counted
        apart."""
        return symbolic.total(self.counts[self.graph.root].params)

    @property
    def layers(self) -> list[LayerNode]:
        return list(self.graph.layers())

    def weights(self, node: Node | None = None) -> int:
        """Parameters and buffers of ``node`` (the whole model by default), as one number: what a backend
        builds. Concrete models only."""
        count = self.counts[node if node is not None else self.graph.root]
        return int(count.params + count.buffers)

    def heaviest_layer(self) -> LayerNode:
        """The layer holding the most weights: where a model too large to build is reported, since it is
        what a smaller ``--set`` has to shrink."""
        return max(self.layers, key=self.weights)

    @property
    def input_ids(self):
        """The number of token ids when the input is a sequence of ids (its first layer is an embedding,
        which reads ids in ``[0, vocab)``), else None: the input is real numbers."""
        first = next(iter(self.graph.layers()), None)
        return first.layer.vocab if first is not None and first.layer.READS_IDS else None

    def require_values(self, purpose: str, cli: bool = False) -> None:
        """Exports and training need numbers: free symbols are an error at the line declaring the first,
        with a hint that gives each one a value that builds (``--set`` on the command line)."""
        free = self.graph.free
        if not free:
            return
        values = self.example_values()
        them = "them" if len(free) > 1 else "it"
        hint = (f"give {them} with --set, e.g. --set " + ",".join(f"{k}={v}" for k, v in values.items())) if cli \
            else f"give {them} values, e.g. archcalc.load(path, " + ", ".join(f"{k}={v}" for k, v in values.items()) \
            + ")"
        must = "must have values" if len(free) > 1 else "must have a value"
        raise SpecError(self.spec.symbols[free[0]].loc, f"{', '.join(free)} {must} to {purpose}", code="usage",
                        hint=hint)

    def example_values(self) -> dict[str, int]:
        """A plausible value for each free symbol, for hints.

        A free spatial input dimension takes the other one's value when that is a number
        (``[3, H, 224]`` → ``H=224``); a symbol takes the value of a bound symbol with a similar name
        (``D_o`` → ``D_i``'s); the rest take 32, or 224, 512, 1024 or 2048, the first the network builds
        with.
        """
        bound = {k: v for k, v in self.graph.symbols.items() if symbolic.is_int(v)}
        spatial = [symbolic.fmt(d) for d in self.input_shape[1:]] if len(self.input_shape) == 3 else []
        sizes = [int(d) for d in spatial if d.isdigit()]
        for fallback in (32, 224, 512, 1024, 2048):
            values = {}
            for name in self.graph.free:
                close = close_match(name, list(bound))
                values[name] = sizes[0] if name in spatial and sizes else bound[close] if close else fallback
            try:
                build_graph(self.spec, {**bound, **values})
            except SpecError:
                continue
            return values
        return values

    def to_dict(self) -> dict:
        """The JSON contract of ``archcalc params --format json``."""
        js = symbolic.to_json
        layers, blocks = [], []
        for node, depth in self.graph.walk():
            count = self.counts[node]
            row = {"path": node.path, "kind": node.kind, "depth": depth, "input_shape": js(node.in_shape),
                   "output_shape": js(node.out_shape), "params": js(symbolic.total(count.params)),
                   "frozen": js(count.frozen), "buffers": js(count.buffers)}
            (layers if isinstance(node, LayerNode) else blocks).append(row)
        return {
            "model": self.name,
            "input_shape": js(self.input_shape),
            "output_shape": js(self.output_shape),
            "total_params": js(self.total_params),
            "trainable_params": js(self.trainable_params),
            "non_trainable_params": js(self.non_trainable_params),
            "buffers": js(self.buffers),
            "free_symbols": self.graph.free,
            "symbols": {k: js(v) for k, v in self.graph.symbols.items()},
            "layers": layers,
            "blocks": blocks,
        }


def load(path: str | os.PathLike, *, symbolic_dims: bool = False, limits: Limits | None = None,
         **symbols: int) -> Model:
    """Read, parse and build the spec at ``path`` (a string or a :class:`pathlib.Path`); keyword arguments
    set symbols (``H=224``)."""
    with gc_paused():
        return Model(build_graph(read_spec(os.fspath(path), limits), symbols, free=symbolic_dims, limits=limits))


def loads(text: str, *, path: str = "<string>", symbolic_dims: bool = False, limits: Limits | None = None,
          **symbols: int) -> Model:
    """Like :func:`load`, for spec text held in memory."""
    with gc_paused():
        return Model(build_graph(parse_text(text, path, limits), symbols, free=symbolic_dims, limits=limits))
