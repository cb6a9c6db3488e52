"""The Python API: ``archcalc.load(path, H=224)`` → a :class:`Model` with shapes and counts.

It mirrors the JSON that ``archcalc params --format json`` prints, so a script and the CLI agree.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from archcalc import symbolic
from archcalc.calc.params import param_counts
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
        return self.counts[self.graph.root].trainable

    @property
    def buffers(self):
        return self.counts[self.graph.root].buffers

    @property
    def total_params(self):
        """All parameters, as PyTorch counts them; buffers are not parameters and are counted apart.

        Every parameter a spec declares is trainable today, so this equals ``trainable_params``.
        """
        return self.trainable_params

    @property
    def layers(self) -> list[LayerNode]:
        return list(self.graph.layers())

    def to_dict(self) -> dict:
        """The JSON contract of ``archcalc params --format json``."""
        js = symbolic.to_json
        layers, blocks = [], []
        for node, depth in self.graph.walk():
            count = self.counts[node]
            row = {"path": node.path, "kind": node.kind, "depth": depth, "input_shape": js(node.in_shape),
                   "output_shape": js(node.out_shape), "params": js(count.trainable), "buffers": js(count.buffers)}
            (layers if isinstance(node, LayerNode) else blocks).append(row)
        return {
            "model": self.name,
            "input_shape": js(self.input_shape),
            "output_shape": js(self.output_shape),
            "total_params": js(self.total_params),
            "trainable_params": js(self.trainable_params),
            "buffers": js(self.buffers),
            "free_symbols": self.graph.free,
            "symbols": {k: js(v) for k, v in self.graph.symbols.items()},
            "layers": layers,
            "blocks": blocks,
        }


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while a spec is read and built.

    Building allocates many small objects and no cycles; with the collector running, its full
    passes over a growing heap make a 100,000-layer spec cost 3× more than 10 × a 10,000-layer one.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def load(path: str, *, symbolic_dims: bool = False, limits: Limits | None = None, **symbols: int) -> Model:
    """Read, parse and build the spec at ``path``; keyword arguments set symbols (``H=224``)."""
    with gc_paused():
        return Model(build_graph(read_spec(path, limits), symbols, free=symbolic_dims, limits=limits))


def loads(text: str, *, path: str = "<string>", symbolic_dims: bool = False, limits: Limits | None = None,
          **symbols: int) -> Model:
    """Like :func:`load`, for spec text held in memory."""
    with gc_paused():
        return Model(build_graph(parse_text(text, path, limits), symbols, free=symbolic_dims, limits=limits))
