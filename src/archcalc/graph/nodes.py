"""The elaborated network: a tree of typed nodes with paths and shapes, built from a spec.

Blocks are expanded, repeats unrolled and every value evaluated, so calculators and backends see
plain layers inside four kinds of structure: a sequence, a residual ``body(x) + shortcut(x)``, a
merge of branches (concat, add, multiply, attention: a merge kind applied to the branches'
outputs), and the layer itself. Paths follow PyTorch's module naming (``layer4.1.conv2``): a
node's name is its ``name:`` or its position in its container. A name with dots places the
node in nested modules (``attention.output.dense``). An ``inline`` residual or merge has no module
of its own: its children are named in the enclosing container (GPT-2's ``h.0.ln_1``), though the
node itself keeps a positional path for reports.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from archcalc.errors import Loc
from archcalc.layers.base import Layer, Shape
from archcalc.layers.merge import Merge
from archcalc.symbolic import Dim


@dataclass(eq=False, slots=True)
class Node:
    path: str
    name: str
    loc: Loc
    in_shape: Shape
    out_shape: Shape
    #: the block this node instantiates, when a block's body is this single construct
    block: str = field(default="", kw_only=True)
    #: that block's arguments at this instance (``{"c": 24, "stride": 2}``): exporters name what varies by them
    arguments: dict[str, object] = field(default_factory=dict, kw_only=True)
    #: no module of its own: its children's names live in the enclosing container's namespace
    inline: bool = field(default=False, kw_only=True)
    #: where the ``trainable: false`` that freezes it is written (its own or the nearest enclosing item's), None
    #: when it is trainable: a layer's or merge's parameters do not learn (:func:`archcalc.calc.params.param_counts`
    #: counts them as frozen); containers record it too
    frozen_at: Loc | None = field(default=None, kw_only=True)

    @property
    def frozen(self) -> bool:
        """Under ``trainable: false``: its parameters, if it has any, do not learn."""
        return self.frozen_at is not None

    @property
    def kind(self) -> str:
        raise NotImplementedError

    @property
    def children(self) -> list[Node]:
        return []


@dataclass(eq=False, slots=True)
class LayerNode(Node):
    """One layer of a registered kind."""

    layer: Layer

    @property
    def kind(self) -> str:
        return self.layer.kind


@dataclass(eq=False, slots=True)
class SeqNode(Node):
    """Children run in order: a block instance (``block:stage``), a named group or repeat, a branch."""

    what: str
    items: list[Node] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return self.what

    @property
    def children(self) -> list[Node]:
        return self.items


@dataclass(eq=False, slots=True)
class ResidualNode(Node):
    """``then(body(x) + shortcut(x))``. ``mode`` is identity, projection (from ``auto``), layers, or
    none (``if_same`` when the shapes differ: the body alone). ``then`` runs after the addition."""

    body: list[Node]
    shortcut: SeqNode | None
    mode: str
    then: list[Node] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return f"block:{self.block}" if self.block else "residual"

    @property
    def sum_shape(self) -> Shape:
        """The shape at the addition (the body's output; the input when a ``repeat: 0`` left the body empty)."""
        return self.body[-1].out_shape if self.body else self.in_shape

    @property
    def children(self) -> list[Node]:
        return [*self.body, *([self.shortcut] if self.shortcut else []), *self.then]


@dataclass(eq=False, slots=True)
class MergeNode(Node):
    """Branches on the same input, their outputs combined by ``layer`` (a merge kind: concat, add,
    multiply, attention); an empty branch passes the input. A branch whose entry of ``sources`` is a
    node runs on that earlier node's output instead (``{from: PATH}``: a U-Net's skip connection)."""

    branches: list[Node]
    layer: Merge
    #: per branch, the earlier node whose output it reads, or None for the merge's own input
    sources: list[Node | None] = field(default_factory=list, kw_only=True)

    def source(self, i: int) -> Node | None:
        """The node branch ``i`` reads from (None: the merge's input)."""
        return self.sources[i] if i < len(self.sources) else None

    @property
    def kind(self) -> str:
        return f"block:{self.block}" if self.block else self.layer.kind

    @property
    def inputs(self) -> list[Shape]:
        """The shapes the merge combines: each branch's output."""
        return [branch.out_shape for branch in self.branches]

    @property
    def children(self) -> list[Node]:
        return self.branches


@dataclass(eq=False, slots=True)
class Graph:
    """A built model: its root sequence, the symbol values used, and which symbols stayed free."""

    name: str
    root: SeqNode
    symbols: dict[str, Dim]
    free: list[str]
    spec: object  # archcalc.spec.ast.Spec
    #: the least value of each free symbol from which every size is positive, when more than 1, with the
    #: kind and place of the layer that needs it (a 3×3 convolution without padding on [C, H, W] needs H ≥ 3): the
    #: formulas hold from there on
    minimums: dict[str, tuple[int, str, Loc]] = field(default_factory=dict)
    #: the largest value of a free symbol that is not in the input's shape up to which every size is positive,
    #: when some size falls as it grows (a kernel K against a fixed input: K ≤ 64), with the layer that bounds it
    maximums: dict[str, tuple[int, str, Loc]] = field(default_factory=dict)

    @property
    def input_shape(self) -> Shape:
        return self.root.in_shape

    @property
    def output_shape(self) -> Shape:
        return self.root.out_shape

    def walk(self) -> Iterator[tuple[Node, int]]:
        """Every node below the root, parents before children, with its depth (1 = top level)."""
        stack = [(child, 1) for child in reversed(self.root.items)]
        while stack:
            node, depth = stack.pop()
            yield node, depth
            stack.extend((child, depth + 1) for child in reversed(node.children))

    def layers(self) -> Iterator[LayerNode]:
        """The leaves, in execution order."""
        for node, _ in self.walk():
            if isinstance(node, LayerNode):
                yield node

    def find(self, path: str) -> Node | None:
        for node, _ in self.walk():
            if node.path == path:
                return node
        return None
