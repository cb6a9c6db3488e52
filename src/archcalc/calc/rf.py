"""Theoretical receptive fields: which input positions can reach each node's outputs, per axis.

Araujo, Norris and Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill
2019, in forward form. With a layer of effective kernel k = d(k−1)+1, stride s and left padding p
after a node whose field has size r, effective stride S and effective padding P:

    r' = r + (k − 1)·S        S' = S·s        P' = P + p·S

Output i of the node then sees the input positions −P + i·S … −P + i·S + r − 1 (zero-indexed, both
ends included; negative indices and those past the edge are padding), centred on
−P + i·S + (r − 1)/2.

**Which axes have a field.** Fields are kept per axis of the network's input, followed through
every layer by what the layer does to each axis (:meth:`~archcalc.layers.base.Layer.axes`): a
convolution mixes the channels and slides a window along H and W; a linear layer on ``[T, D]``
keeps each position of T apart (a field of 1 along T) and mixes D; attention mixes all of T;
flatten, permute and reshape move axes without mixing them. An input axis is *positional* (it
gets a field) when the first layer that reads it structurally reads it by position (a window, or
position by position), and a *feature* axis when that layer mixes it: the channels of an image,
the features of an MLP. The axes after the channels of a 3-D or larger input are positional by
convention (an image's H and W), whatever reads them first. Mixing a positional axis makes its
field :data:`GLOBAL` (every output sees all of it: a linear layer after flatten, global pooling,
attention). A network whose input has
no positional axis (an MLP) has no field: :data:`NONE`.

Where paths join (a residual's two sides, a merge's branches) they must agree on S; when they
also agree on the centre offset (r − 1)/2 − P the field is the largest path's (Distill's
"aligned" case). When only the offsets differ the field is the union of the paths' regions, with
a warning; when the strides differ there is no single field (it changes from output to output):
:data:`VARIES`, with a warning. Nothing is ever silently averaged or picked.

**Upsampling** (transposed convolution, upsample, pixel shuffle): a layer that upsamples by f is a
stride-1 window of k taps over its input with f − 1 zeros inserted between positions (a transposed
convolution's definition, with k = d(F−1)+1 and left padding k − 1 − P); a zero-inserted position is
1/f of an input position, so

    r' = r + (k − 1)·S/f      S' = S/f      P' = P + (k − 1 − p)·S/f

a linear cover of every output's region (outputs between two inputs share a region, which the cover
widens by up to (f − 1)·S/f). Nearest upsampling by f is k = f, p = 0; bilinear is FCN's equivalent
kernel k = 2f − f mod 2, p = ⌈(f − 1)/2⌉. When f does not divide S (upsampling before as much
downsampling) outputs step by a fraction of an input position: :data:`VARIES`.

The public entry points are :func:`receptive_fields` and :func:`final_field`.
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc import symbolic
from archcalc.errors import Loc, printable
from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode, SeqNode
from archcalc.layers.base import GLOBAL, KEEP, MIX, VARIES, WHOLE, Axis, Layer, Shape, Up
from archcalc.layers.spatial import AXIS_NAMES
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim

#: the field of a node computed entirely from a local window of the input
LOCAL = "local"
#: the field of a node whose input has no positional axes (an MLP)
NONE = "none"
#: an input axis no layer has read by position or mixed yet (its role is decided by the first that does)
UNSEEN = "unseen"
#: an input axis read as features (mixed by the first layer that reads it): it has no field
FEATURE = "feature"


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

    def up(self, axis: Up) -> Span | None:
        """The field after an upsampling layer: its window of k taps over the input with f − 1 zeros between
        positions, each zero-inserted position 1/f of an input position, so the effective stride S becomes
        S/f (None when f does not divide S: outputs then step by a fraction of an input position)."""
        if not (symbolic.is_int(self.stride) and symbolic.is_int(axis.factor)) or self.stride % axis.factor:
            return None
        jump = self.stride // axis.factor
        return Span(symbolic.simplify(self.size + (axis.kernel - 1) * jump), jump,
                    symbolic.simplify(self.padding + axis.padding * jump))


@dataclass(frozen=True, slots=True)
class Field:
    """A node's receptive field: ``status`` LOCAL with a :class:`Span` per positional axis of the input
    (named in ``names``: ``H``, ``W``; ``T``), or GLOBAL, VARIES or NONE without spans."""

    status: str
    spans: tuple[Span, ...] = ()
    names: tuple[str, ...] = ()

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
        """Centre of output 0's region along each axis, in input position indices."""
        return tuple(s.offset for s in self.spans)

    def to_json(self) -> dict[str, object]:
        """``status`` and, for a local field, one value per positional axis (``null`` otherwise)."""
        parts = ("size", "stride", "padding", "center")
        return {"status": self.status, **{p: symbolic.to_json(getattr(self, p)) if self.local else None
                                          for p in parts}}


@dataclass(frozen=True, slots=True)
class RFWarning:
    """Paths that join at ``node`` without a common receptive field (``code`` rf-misaligned or rf-varies)."""

    node: Node
    message: str
    code: str
    #: rf-misaligned: how far apart the centres are, in steps of the joined grid (its stride), at most over the
    #: axes; None where a size is a symbol
    shift: float | None = None

    @property
    def loc(self) -> Loc:
        return self.node.loc

    def render(self) -> str:
        return printable(f"{self.loc}: warning: {self.message}")

    def to_json(self) -> dict[str, str]:
        return {"path": self.node.path, "location": str(self.loc), "code": self.code, "message": self.message}


#: what the tracer knows of one input axis ("origin") in one tensor axis: a Span or a word above
Status = object
#: per axis of a tensor, the input axes it holds and what is known of each
State = tuple[dict[int, Status], ...]


def receptive_fields(graph: Graph) -> tuple[dict[Node, Field], list[RFWarning]]:
    """The field of every node's output (the network's under ``graph.root``) and the warnings of
    joins whose paths do not align, in execution order."""
    shape = graph.input_shape
    tracer = _Tracer(shape)
    start: State = tuple({i: UNSEEN} for i in range(len(shape)))
    tracer.visit(graph.root, start)
    positional = sorted(origin for origin, role in tracer.roles.items() if role == LOCAL)
    names = tuple(tracer.name(origin) for origin in positional)
    fields = {node: _field(state, positional, names) for node, state in tracer.states.items()}
    return fields, tracer.warnings


def final_field(graph: Graph, fields: dict[Node, Field]) -> Node:
    """The node whose field a network is quoted by: the last top-level node that still has positions
    (``layer4`` of a ResNet, ``pool5`` of a VGG computed with free H and W), else the last one.
    A layer that only reshapes (flatten) is passed over: its field is the one before it, and so are
    the global ones after the positions are gone (global pooling, the classifier). A node whose field
    varies (paths of different fields joined: a U-Net's skips) ends the search: the output's field
    varies, and no earlier layer's field stands for it. A node that keeps positions but sees the
    whole input (a RegNet-Y trunk, whose squeeze-and-excitation gates scale every position by a
    summary of the whole image) is quoted as global: no earlier layer's field stands for it either."""
    items = graph.root.items
    for node in reversed(items):
        field = fields[node]
        if field.status == VARIES:
            return node
        if isinstance(node, LayerNode) and Trait.ALIASES in node.layer.TRAITS:
            continue
        if field.local or (field.status == GLOBAL and _has_positions(node.out_shape)):
            return node
    return items[-1]


def _shift(a: dict[int, Span], b: dict[int, Span]) -> float | None:
    """How far apart two paths' centres are, in steps of their (common) stride, at most over the axes."""
    values = [(a[o].offset, b[o].offset, a[o].stride) for o in a.keys() & b.keys()]
    if any(symbolic.is_symbolic(v) for triple in values for v in triple):
        return None
    return max((abs(x - y) / stride for x, y, stride in values), default=0.0)


def _has_positions(shape: Shape) -> bool:
    """Whether a tensor still spreads over positions: two or more axes longer than 1 (an image's
    [C, 7, 7], a sequence's [T, D]; not the [C, 1, 1] of global pooling nor a classifier's [classes])."""
    return sum(not (symbolic.is_int(d) and d == 1) for d in shape) >= 2


class _Tracer:
    """Follows every input axis through the graph: which tensor axis holds it, and its field there."""

    def __init__(self, shape: Shape) -> None:
        self.shape = shape
        self.states: dict[Node, State] = {}
        self.warnings: list[RFWarning] = []
        #: input axis → LOCAL (positional) or FEATURE, from the first layer that reads it structurally
        #: (an image's axes after the channels are positional from the start)
        self.roles: dict[int, str] = dict.fromkeys(range(1, len(shape)), LOCAL) if len(shape) >= 3 else {}

    def name(self, origin: int) -> str:
        """``H``, ``W`` for an image's spatial axes, ``L`` for a 1-D signal's, ``T`` for a sequence of tokens;
        a symbol's own name when the input writes one there (``[3, H, W]``, ``[T]``)."""
        dim = self.shape[origin]
        if symbolic.is_symbolic(dim) and getattr(dim, "is_Symbol", False):
            return str(dim)
        if origin == 0:
            return "T"
        return (AXIS_NAMES.get(len(self.shape) - 1, ())[origin - 1:origin] and \
            AXIS_NAMES[len(self.shape) - 1][origin - 1]) or f"axis {origin}"

    def chain(self, nodes: list[Node], state: State) -> State:
        for node in nodes:
            state = self.visit(node, state)
        return state

    def visit(self, node: Node, state: State) -> State:
        if isinstance(node, LayerNode):
            out = self.apply(node.layer, node.in_shape, state)
        elif isinstance(node, ResidualNode):
            body = self.chain(node.body, state)
            if node.mode == "none":
                out = body
            else:
                other = self.visit(node.shortcut, state) if node.shortcut is not None else state
                side = "projection shortcut" if node.mode == "projection" else \
                    "shortcut" if node.shortcut is not None else "identity shortcut"
                out = self.join(node, [("body", body), (side, other)])
            out = self.chain(node.then, out)
        elif isinstance(node, MergeNode):
            joined = self.join(node, [(f"branch {b.name}", self.visit(b, self.states[source] if source else state))
                                      for b, source in zip(node.branches, node.sources or [None] * len(node.branches))])
            out = self.apply(node.layer, node.out_shape, joined) if len(joined) == len(node.out_shape) else joined
        else:
            assert isinstance(node, SeqNode)
            out = self.chain(node.items, state)
        self.states[node] = out
        return out

    # -- one layer ----------------------------------------------------------------------------------

    def apply(self, layer: Layer, x: Shape, state: State) -> State:
        out = []
        for sources in layer.axes(x):
            held: dict[int, Status] = {}
            for axis, how in sources:
                for origin, status in state[axis].items():
                    held[origin] = _worst(held.get(origin), self.read(origin, status, how))
            out.append(held)
        return tuple(out)

    def read(self, origin: int, status: Status, how: Axis | str) -> Status:
        """What is known of ``origin`` after a layer reads its axis ``how``."""
        if how == KEEP or status in (FEATURE, GLOBAL, VARIES):
            return status
        if status == UNSEEN:
            role = self.roles.setdefault(origin, FEATURE if how == MIX else LOCAL)
            if role == FEATURE:
                return FEATURE
            status = Span(1, 1, 0)
        if how in (MIX, WHOLE):
            return GLOBAL
        if how == VARIES:
            return VARIES
        if isinstance(how, Up):
            return status.up(how) or VARIES
        return status.through(how)

    # -- joins --------------------------------------------------------------------------------------

    def join(self, node: Node, paths: list[tuple[str, State]]) -> State:
        """The state where ``paths`` meet (a residual's sum or a merge), aligned from the last axis as
        broadcasting aligns them, warning when their fields disagree."""
        rank = max(len(state) for _, state in paths)
        flat = [(name, _flatten(state)) for name, state in paths]
        joined = self.join_fields(node, flat)
        out: list[dict[int, Status]] = [{} for _ in range(rank)]
        for _, state in paths:
            for axis, held in enumerate(state, rank - len(state)):
                for origin in held:
                    out[axis][origin] = joined[origin]
        return tuple(out)

    def join_fields(self, node: Node, paths: list[tuple[str, dict[int, Status]]]) -> dict[int, Status]:
        origins = sorted({origin for _, held in paths for origin in held})
        result: dict[int, Status] = {}
        spans: dict[int, list[tuple[str, Span]]] = {}
        for origin in origins:
            statuses = [(name, held[origin]) for name, held in paths if origin in held]
            words = {s for _, s in statuses if not isinstance(s, Span)}
            for word in (GLOBAL, VARIES, FEATURE):
                if word in words:
                    result[origin] = word
                    break
            else:
                if all(s == UNSEEN for _, s in statuses):
                    result[origin] = UNSEEN
                else:
                    spans[origin] = [(name, s if isinstance(s, Span) else Span(1, 1, 0)) for name, s in statuses]
        if spans:
            result.update(self.align(node, spans))
        return result

    def align(self, node: Node, spans: dict[int, list[tuple[str, Span]]]) -> dict[int, Status]:
        """Distill's join of aligned paths, per input axis; a warning when the strides or centres differ."""
        what = f"{'residual' if isinstance(node, ResidualNode) else node.kind} '{node.path}'"
        by_path: dict[str, dict[int, Span]] = {}
        for origin, pairs in spans.items():
            for name, span in pairs:
                by_path.setdefault(name, {})[origin] = span
        (name0, first), rest = next(iter(by_path.items())), list(by_path.items())[1:]
        for name, other in rest:
            if differ := self.differ(other, first, "stride"):
                self.warnings.append(RFWarning(node, f"{what}: the {name} and the {name0} have different effective "
                                               f"strides ({differ}), so the receptive field changes from one output "
                                               "to the next; it is reported as 'varies'", "rf-varies"))
                return dict.fromkeys(spans, VARIES)
        for name, other in rest:
            # an axis along which both paths end at the output's own position is aligned by its ends (a TCN's
            # block and its identity), whatever the centres; the others must agree on their centres
            other = {o: span for o, span in other.items() if not (_causal(span) and _causal(first.get(o)))}
            if differ := self.differ(other, first, "offset"):
                self.warnings.append(RFWarning(node, f"{what}: the {name} and the {name0} are not aligned (centres "
                                               f"of output 0 at {differ}); the receptive field reported is the union "
                                               "of their regions", "rf-misaligned", _shift(other, first)))
        out: dict[int, Status] = {}
        for origin, pairs in spans.items():
            fields = [s for _, s in pairs]
            padding = symbolic.largest([f.padding for f in fields])  # the leftmost start
            end = symbolic.largest([f.end for f in fields])
            out[origin] = Span(symbolic.simplify(end + padding + 1), fields[0].stride, padding)
        return out

    def differ(self, a: dict[int, Span], b: dict[int, Span], part: str) -> str:
        """``h: 1 vs 2, w: 1 vs 2`` for the input axes along which ``part`` of two paths' fields differ."""
        return ", ".join(f"{self.name(origin).lower()}: {symbolic.fmt(getattr(a[origin], part))} vs "
                         f"{symbolic.fmt(getattr(b[origin], part))}" for origin in sorted(a.keys() & b.keys())
                         if not _same(getattr(a[origin], part), getattr(b[origin], part)))


def _causal(span: Span | None) -> bool:
    """Whether output 0 sees nothing after input 0 and reaches it along this axis: a causal path (a causal
    convolution stack, an identity), whose region ends where its output is. Causal paths that join are aligned
    by their ends, as a causal design means them to be, whatever their centres."""
    return span is not None and _same(span.end, 0)


def _flatten(state: State) -> dict[int, Status]:
    """Every input axis a tensor holds, whichever of its axes holds it."""
    held: dict[int, Status] = {}
    for axis in state:
        for origin, status in axis.items():
            held[origin] = _worst(held.get(origin), status)
    return held


def _worst(a: Status | None, b: Status) -> Status:
    """Two things known of one input axis in one place: a global or varying field wins over a local one."""
    if a is None or a == b:
        return b
    for word in (GLOBAL, VARIES):
        if word in (a, b):
            return word
    if isinstance(a, Span) and isinstance(b, Span):
        return VARIES
    return a if isinstance(a, Span) else b


def _field(state: State, positional: list[int], names: tuple[str, ...]) -> Field:
    if not positional:
        return Field(NONE)
    held = _flatten(state)
    statuses = [held.get(origin, GLOBAL) for origin in positional]
    for word in (GLOBAL, VARIES):
        if word in statuses:
            return Field(word, names=names)
    return Field(LOCAL, tuple(s if isinstance(s, Span) else Span(1, 1, 0) for s in statuses), names)


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
