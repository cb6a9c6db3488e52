"""Diagrams of a built network: ``archcalc diagram SPEC --format mermaid|dot|svg``.

:func:`drawing` turns the graph into a format-free :class:`Drawing`: boxes (a layer, a block folded
by ``--depth``, the ``+`` of a residual, the join of a merge (concat, add, multiply), the input),
clusters (blocks, named groups and repeats, residuals, merges, nested as they are in the spec) and
edges (a shortcut's dashed). Residual and merge paths are drawn as the graph they are: the shortcut
leaves the block's input and meets the body at the addition; every branch leaves the same input and meets the others
at the join. Every box says its output shape and, when it has any, its parameters. The formats
(:mod:`.mermaid`, :mod:`.dot`) only print a drawing.

Each kind of graph node has its drawer in :data:`DRAWERS` (a test checks that every node type has
one), so a new structure draws as what it is, not as a guess.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from archcalc import symbolic
from archcalc.graph import LayerNode, MergeNode, Node, ResidualNode, SeqNode
from archcalc.model import Model
from archcalc.notation import math_shape

#: box shapes: a layer, a container folded into one box, an addition, a join of branches, the input
LAYER, FOLDED, ADD, JOIN, INPUT = "layer", "folded", "add", "join", "input"


@dataclass(slots=True)
class Box:
    id: str
    lines: list[str]
    shape: str = LAYER


@dataclass(slots=True)
class Cluster:
    id: str
    lines: list[str]
    members: list[Box | Cluster] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    shortcut: bool = False  # a residual's shortcut (drawn dashed)


@dataclass(slots=True)
class Drawing:
    title: str
    members: list[Box | Cluster]
    edges: list[Edge]

    def boxes(self) -> list[Box]:
        """Every box, clusters opened, in drawing order."""
        out: list[Box] = []
        stack = list(reversed(self.members))
        while stack:
            member = stack.pop()
            if isinstance(member, Box):
                out.append(member)
            else:
                stack.extend(reversed(member.members))
        return out


def drawing(model: Model, depth: int | None = None) -> Drawing:
    """The drawing of ``model``, containers deeper than ``depth`` (1 = the top level) folded into one box."""
    return _Builder(model, depth).build()


class _Builder:
    def __init__(self, model: Model, depth: int | None):
        self.model = model
        self.depth = depth
        self.edges: list[Edge] = []
        self.count = 0
        self.within: dict[int, str] = {}  # a cluster's member list (by id) → the path of its node
        self.outputs: dict[str, str] = {}  # node path → the box that holds its output, for a branch's from:

    def build(self) -> Drawing:
        graph = self.model.graph
        members: list[Box | Cluster] = []
        source = self.box(members, ["input", math_shape(graph.input_shape)], INPUT)
        self.sequence(graph.root.items, source, 1, members)
        return Drawing(graph.name, members, self.edges)

    # -- helpers ----------------------------------------------------------------------------------

    def new_id(self, prefix: str) -> str:
        self.count += 1
        return f"{prefix}{self.count}"

    def box(self, into: list, lines: list[str], shape: str = LAYER) -> str:
        box = Box(self.new_id("n"), lines, shape)
        into.append(box)
        return box.id

    def edge(self, source: str, target: str, shortcut: bool = False) -> None:
        self.edges.append(Edge(source, target, shortcut))

    def params(self, node: Node) -> list[str]:
        counts = self.model.counts[node]
        count = symbolic.total(counts.params)
        if symbolic.is_int(count) and count == 0:
            return []
        text = f"{symbolic.fmt(count, commas=True) if symbolic.is_int(count) else _math(count)} params"
        if symbolic.equal(counts.frozen, 0):
            return [text]
        if symbolic.equal(counts.trainable, 0):
            return [f"{text}, frozen"]
        frozen = counts.frozen
        return [f"{text} ({symbolic.fmt(frozen, commas=True) if symbolic.is_int(frozen) else _math(frozen)} frozen)"]

    def cluster(self, node: Node, into: list) -> Cluster:
        """A cluster for ``node``; the boxes drawn into it name their layers relative to its path."""
        kind = node.block or node.kind
        title = f"{node.path} · {kind}" if kind != node.name else node.path
        cluster = Cluster(self.new_id("c"), [title, f"→ {math_shape(node.out_shape)}", *self.params(node)])
        into.append(cluster)
        self.within[id(cluster.members)] = node.path
        return cluster

    def name(self, node: Node, into: list) -> str:
        """``node``'s path relative to the cluster it is drawn in (``shortcut.0`` in a residual, ``conv1``)."""
        base = self.within.get(id(into), "")
        return node.path[len(base) + 1:] if base and node.path.startswith(base + ".") else node.path

    # -- nodes ------------------------------------------------------------------------------------

    def node(self, node: Node, source: str, depth: int, into: list) -> str:
        """Draw ``node`` fed by box ``source`` into ``into``; the id of the box that holds its output."""
        if node.children and self.depth is not None and depth >= self.depth:
            out = self.folded(node, source, into)
        else:
            draw = DRAWERS.get(type(node))
            # a structure without a drawer: one box is right, if not detailed
            out = self.folded(node, source, into) if draw is None else draw(self, node, source, depth, into)
        self.outputs[node.path] = out
        return out

    def output_of(self, node: Node) -> str:
        """The box holding ``node``'s output: its own, or its nearest drawn container's when folded away."""
        path = node.path
        while path not in self.outputs and "." in path:
            path = path.rsplit(".", 1)[0]
        return self.outputs[path]

    def sequence(self, items: list[Node], source: str, depth: int, into: list) -> str:
        for item in items:
            source = self.node(item, source, depth, into)
        return source

    def folded(self, node: Node, source: str, into: list) -> str:
        kind = node.block or node.kind
        lines = [f"{self.name(node, into)} · {kind}", math_shape(node.out_shape), *self.params(node)]
        target = self.box(into, lines, FOLDED)
        self.edge(source, target)
        for skip in _skips_into(node):  # a skip connection into the folded structure still shows, dashed
            self.edge(self.output_of(skip), target, shortcut=True)
        return target

    def layer(self, node: LayerNode, source: str, depth: int, into: list) -> str:
        name = self.name(node, into)
        title = node.kind if name == node.kind else f"{name} · {node.kind}"
        target = self.box(into, [title, math_shape(node.out_shape), *self.params(node)])
        self.edge(source, target)
        return target

    def seq(self, node: SeqNode, source: str, depth: int, into: list) -> str:
        if not node.items:  # repeat: 0, an empty group: the input passes
            return source
        return self.sequence(node.items, source, depth + 1, self.cluster(node, into).members)

    def residual(self, node: ResidualNode, source: str, depth: int, into: list) -> str:
        members = self.cluster(node, into).members
        body = self.sequence(node.body, source, depth + 1, members)
        if node.mode == "none":  # if_same where the shapes differ: the body alone
            out = body
        else:
            out = self.box(members, ["+", math_shape(node.sum_shape)], ADD)
            first = len(self.edges)
            end = source if node.shortcut is None else self.path(node.shortcut, source, depth + 1, members)
            self.edge(end, out)
            self.edges[first:] = [Edge(e.source, e.target, True) for e in self.edges[first:]]  # the shortcut's
            self.edge(body, out)
        return self.sequence(node.then, out, depth + 1, members)

    def path(self, node: SeqNode, source: str, depth: int, members: list) -> str:
        """A shortcut's or a branch's layers, drawn in the structure's own cluster (or folded, as a
        container at ``depth``)."""
        if node.items and self.depth is not None and depth >= self.depth:
            return self.folded(node, source, members)
        return self.sequence(node.items, source, depth + 1, members)

    def merge(self, node: MergeNode, source: str, depth: int, into: list) -> str:
        """Branches drawn side by side, meeting at a box of the merge kind (concat, add, multiply, …)."""
        members = self.cluster(node, into).members
        ends = []
        for i, branch in enumerate(node.branches):
            start = source if node.source(i) is None else self.output_of(node.source(i))
            first = len(self.edges)
            if isinstance(branch, SeqNode) and branch.kind == "branch":
                ends.append(self.path(branch, start, depth + 1, members))
            else:
                ends.append(self.node(branch, start, depth + 1, members))
            if node.source(i) is not None:  # a skip connection, drawn as a shortcut is
                skip = [e for e in self.edges[first:] if e.source == start] or []
                self.edges[first:] = [Edge(e.source, e.target, True) if e in skip else e for e in self.edges[first:]]
        out = self.box(members, [node.layer.kind, math_shape(node.out_shape)], JOIN)
        for i, end in enumerate(ends):
            self.edge(end, out, shortcut=node.source(i) is not None and end == self.output_of(node.source(i)))
        return out


def _skips_into(node: Node) -> list[Node]:
    """The nodes outside ``node`` whose output a merge inside it reads (``from:``), in order, once each."""
    found: list[Node] = []
    stack = [node]
    while stack:
        inner = stack.pop(0)
        if isinstance(inner, MergeNode):
            found += [s for s in inner.sources if s is not None and s not in found
                      and not s.path.startswith(f"{node.path}.")]
        stack.extend(inner.children)
    return found


def _math(value: object) -> str:
    from archcalc.notation import math_text

    return math_text(value)


#: node type → how it is drawn (every type of :mod:`archcalc.graph.nodes`; tests check none is missing)
DRAWERS: dict[type, Callable[..., str]] = {
    LayerNode: _Builder.layer,
    SeqNode: _Builder.seq,
    ResidualNode: _Builder.residual,
    MergeNode: _Builder.merge,
}
