"""Theoretical receptive fields: which input pixels can reach each node's outputs, per axis.

Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill
2019, in forward form. With a layer of effective kernel k = d(k−1)+1, stride s and left padding p
after a node whose field has size r, effective stride S and effective padding P:

    r' = r + (k − 1)·S        S' = S·s        P' = P + p·S

Output i of the node then sees the input pixels −P + i·S … −P + i·S + r − 1 (zero-indexed, both
ends included; negative indices and those past the edge are padding), centred on
−P + i·S + (r − 1)/2. Layers with ``geometry`` ``None`` (pointwise) leave the field alone; flatten,
linear and global pooling make it :data:`GLOBAL` (every output sees the whole input).

Where paths join (a residual's two sides, a concat's branches) they must agree on S; when they also
agree on the centre offset (r − 1)/2 − P the field is the largest path's (Distill's "aligned" case).
When only the offsets differ the field is the union of the paths' regions, with a warning; when the
strides differ there is no single field (it changes from output to output): :data:`VARIES`, with a
warning. Nothing is ever silently averaged or picked.

The public entry points are :func:`receptive_fields` and :func:`final_field`.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc import symbolic
from archcalc.errors import Loc, printable
from archcalc.graph import ConcatNode, Graph, LayerNode, Node, ResidualNode, SeqNode
from archcalc.layers.base import GLOBAL, VARIES, Axis
from archcalc.symbolic import Dim

#: the field of a node computed entirely from a local window of the input
LOCAL = "local"
#: the field of a node whose input has no spatial axes (an MLP before its first linear layer)
NONE = "none"


@dataclass(frozen=True, slots=True)
class Span:
    """The field along one axis: output i sees input pixels −padding + i·stride … + size − 1."""

    size: Dim
    stride: Dim
    padding: Dim

    @property
    def offset(self) -> Dim:
        """Centre of output 0's region, (size − 1)/2 − padding: paths align when these agree."""
        return _half(self.size - 1) - self.padding

    @property
    def start(self) -> Dim:
        return -self.padding

    @property
    def end(self) -> Dim:
        return self.size - 1 - self.padding

    def through(self, axis: Axis) -> Span:
        """The field after one more layer with this ``axis`` geometry."""
        return Span(symbolic.simplify(self.size + (axis.kernel - 1) * self.stride),
                    symbolic.simplify(self.stride * axis.stride),
                    symbolic.simplify(self.padding + axis.padding * self.stride))


@dataclass(frozen=True, slots=True)
class Field:
    """A node's receptive field: ``status`` LOCAL with a :class:`Span` per spatial axis, or GLOBAL,
    VARIES or NONE without one."""

    status: str
    spans: tuple[Span, ...] = ()

    @property
    def local(self) -> bool:
        return self.status == LOCAL

    @property
    def size(self) -> tuple[Dim, ...]:
        return tuple(s.size for s in self.spans)

    @property
    def stride(self) -> tuple[Dim, ...]:
        return tuple(s.stride for s in self.spans)

    @property
    def padding(self) -> tuple[Dim, ...]:
        return tuple(s.padding for s in self.spans)

    @property
    def center(self) -> tuple[Dim, ...]:
        """Centre of output [0, 0]'s region along each axis, in input pixel indices."""
        return tuple(s.offset for s in self.spans)

    def to_json(self) -> dict[str, object]:
        """``status`` and, for a local field, ``[h, w]`` pairs (``null`` otherwise)."""
        parts = ("size", "stride", "padding", "center")
        return {"status": self.status, **{p: symbolic.to_json(getattr(self, p)) if self.local else None
                                          for p in parts}}


@dataclass(frozen=True, slots=True)
class RFWarning:
    """Paths that join at ``node`` without a common receptive field (``code`` rf-misaligned or rf-varies)."""

    node: Node
    message: str
    code: str

    @property
    def loc(self) -> Loc:
        return self.node.loc

    def render(self) -> str:
        return printable(f"{self.loc}: warning: {self.message}")

    def to_json(self) -> dict[str, str]:
        return {"path": self.node.path, "location": str(self.loc), "code": self.code, "message": self.message}


def receptive_fields(graph: Graph) -> tuple[dict[Node, Field], list[RFWarning]]:
    """The field of every node's output (the network's under ``graph.root``) and the warnings of
    joins whose paths do not align, in execution order."""
    fields: dict[Node, Field] = {}
    warnings: list[RFWarning] = []

    def chain(nodes: list[Node], f: Field) -> Field:
        for node in nodes:
            f = visit(node, f)
        return f

    def visit(node: Node, f: Field) -> Field:
        if isinstance(node, LayerNode):
            out = _apply(node.layer.geometry(node.in_shape), f)
        elif isinstance(node, ResidualNode):
            body = chain(node.body, f)
            if node.mode == "none":
                out = body
            else:
                other = visit(node.shortcut, f) if node.shortcut is not None else f
                side = "projection shortcut" if node.mode == "projection" else \
                    "shortcut" if node.shortcut is not None else "identity shortcut"
                out = _join(node, [("body", body), (side, other)], warnings)
            out = chain(node.then, out)
        elif isinstance(node, ConcatNode):
            out = _join(node, [(f"branch {b.name}", visit(b, f)) for b in node.branches], warnings)
        else:
            assert isinstance(node, SeqNode)
            out = chain(node.items, f)
        fields[node] = out
        return out

    spatial = len(graph.input_shape) == 3
    start = Field(LOCAL, (Span(1, 1, 0),) * (len(graph.input_shape) - 1)) if spatial else Field(NONE)
    visit(graph.root, start)
    return fields, warnings


def final_field(graph: Graph, fields: dict[Node, Field]) -> Node:
    """The node whose field a network is quoted by: the last top-level node with a local field
    (``layer4`` of a ResNet, ``pool5`` of a VGG computed with free H and W), else the last one."""
    items = graph.root.items
    local = [node for node in items if fields[node].local]
    return local[-1] if local else items[-1]


def _apply(geometry: tuple[Axis, ...] | str | None, f: Field) -> Field:
    if f.status == GLOBAL or geometry == GLOBAL:
        return Field(GLOBAL)
    if geometry is None or f.status == NONE:  # pointwise, or no spatial axes to speak of
        return f
    if f.status == VARIES or geometry == VARIES:
        return Field(VARIES)
    return Field(LOCAL, tuple(span.through(axis) for span, axis in zip(f.spans, geometry)))


def _join(node: Node, paths: list[tuple[str, Field]], warnings: list[RFWarning]) -> Field:
    """The field where ``paths`` meet (a residual's sum or a concat), warning when they disagree."""
    fields = [f for _, f in paths]
    for status in (GLOBAL, VARIES, NONE):
        if any(f.status == status for f in fields):
            return Field(status)
    what = f"{'residual' if isinstance(node, ResidualNode) else 'concat'} '{node.path}'"
    (name0, first), rest = paths[0], paths[1:]
    for name, f in rest:
        if differ := _differ(f, first, "stride"):
            warnings.append(RFWarning(node, f"{what}: the {name} and the {name0} have different effective strides "
                                      f"({differ}), so the receptive field changes from one output to the next; "
                                      "it is reported as 'varies'", "rf-varies"))
            return Field(VARIES)
    for name, f in rest:
        if differ := _differ(f, first, "offset"):
            warnings.append(RFWarning(node, f"{what}: the {name} and the {name0} are not aligned (centres of output "
                                      f"0 at {differ}); the receptive field reported is the union of their regions",
                                      "rf-misaligned"))
    spans = []
    for axis in range(len(first.spans)):
        padding = symbolic.largest([f.spans[axis].padding for f in fields])  # the leftmost start
        end = symbolic.largest([f.spans[axis].end for f in fields])
        spans.append(Span(symbolic.simplify(end + padding + 1), first.spans[axis].stride, padding))
    return Field(LOCAL, tuple(spans))


def _differ(f: Field, ref: Field, part: str) -> str:
    """``h: 1 vs 2, w: 1 vs 2`` for the axes along which ``part`` of the two fields differs."""
    return ", ".join(f"{axis}: {symbolic.fmt(getattr(a, part))} vs {symbolic.fmt(getattr(b, part))}"
                     for axis, a, b in zip("hw", f.spans, ref.spans)
                     if not _same(getattr(a, part), getattr(b, part)))


def _same(a: Dim, b: Dim) -> bool:
    """Equality that asks sympy only about formulas (centres of concrete fields can be floats like 15.5)."""
    if symbolic.is_symbolic(a) or symbolic.is_symbolic(b):
        return symbolic.equal(a, b)
    return a == b


def _half(value: Dim) -> Dim:
    """value/2 exactly: an int when even, a float .5 when odd, a sympy Rational expression when symbolic."""
    if symbolic.is_int(value):
        return value // 2 if value % 2 == 0 else value / 2
    return value / 2
