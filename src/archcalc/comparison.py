"""Two versions of a network compared node by node: ``archcalc diff OLD NEW``.

Nodes are matched by path (``layer4.1.conv2``), the name PyTorch gives the module, so a layer keeps
its identity across versions as a ``state_dict`` does. The two trees are merged in order (a removed
node stays where it was), and every node gets a status: added, removed, changed (its kind, an
argument or its output shape differs) or unchanged, and the change in its parameters, MACs and
activation memory and its receptive field on both sides. Containers carry the sums of their parts,
so a block row says what the change does to the block. Nothing here knows a kind or a node type:
what is compared is what every node has.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from difflib import SequenceMatcher

from archcalc import symbolic
from archcalc.analysis import Analysis
from archcalc.graph import LayerNode, Node

ADDED, REMOVED, CHANGED, SAME = "added", "removed", "changed", ""
#: the measures compared per node: trainable parameters, MACs and bytes of new activations (at the batch and dtype)
MEASURES = ("params", "macs", "activations")


@dataclass(slots=True)
class Entry:
    """One path, on either side or both: what changed and by how much."""

    path: str
    name: str
    depth: int
    old: Node | None
    new: Node | None
    status: str = SAME
    details: list[str] = field(default_factory=list)
    values: dict[str, tuple[object, object]] = field(default_factory=dict)  # measure → (old, new), 0 when absent
    rf: tuple[str, str] = ("", "")

    @property
    def node(self) -> Node:
        return self.new if self.new is not None else self.old  # type: ignore[return-value]

    @property
    def kind(self) -> str:
        if self.old is not None and self.new is not None and self.old.kind != self.new.kind:
            return f"{self.old.kind} → {self.new.kind}"
        return self.node.kind

    def delta(self, measure: str) -> object:
        old, new = self.values[measure]
        return symbolic.simplify(new - old)

    @property
    def moved(self) -> bool:
        """Whether it changed, or a measure of it did. A receptive field that grows because a layer before
        it changed does not count: the change is at that layer, and the total says what it does."""
        return self.status != SAME or any(not _zero(self.delta(m)) for m in MEASURES)


@dataclass(slots=True)
class Comparison:
    old: Analysis
    new: Analysis
    entries: list[Entry]

    @property
    def differs(self) -> bool:
        """Whether anything differs: a node, or a total no node shows (the input shape, the training memory
        when only ``train.batch_size`` changed)."""
        old, new = self.old, self.new
        return any(e.moved for e in self.entries) or str(old.graph.input_shape) != str(new.graph.input_shape) \
            or old.memory(old.train_batch).training != new.memory(new.train_batch).training

    def counts(self) -> dict[str, int]:
        """How many layers were added, removed and changed."""
        layers = [e for e in self.entries if isinstance(e.node, LayerNode)]
        return {status: sum(e.status == status for e in layers) for status in (ADDED, REMOVED, CHANGED)}


def compare(old: Analysis, new: Analysis) -> Comparison:
    """``old`` and ``new`` (analysed at the same batch and dtype), node by node."""
    before = list(old.graph.walk())
    after = list(new.graph.walk())
    old_keys, new_keys = [_key(n) for n, _ in before], [_key(n) for n, _ in after]
    matcher = SequenceMatcher(None, old_keys, new_keys, autojunk=False)
    present, by_key = set(new_keys), {key: node for key, (node, _) in zip(old_keys, before)}
    entries: list[Entry] = []
    for _, i1, i2, j1, j2 in matcher.get_opcodes():
        # a node on both sides but out of order is matched by its key, where the new one is
        for key, (node, depth) in zip(old_keys[i1:i2], before[i1:i2]):
            if key not in present:
                entries.append(Entry(node.path, node.name, depth, node, None))
        for key, (node, depth) in zip(new_keys[j1:j2], after[j1:j2]):
            entries.append(Entry(node.path, node.name, depth, by_key.get(key), node))
    for entry in entries:
        _measure(entry, old, new)
    _containers(entries)
    return Comparison(old, new, entries)


def _containers(entries: list[Entry]) -> None:
    """A block whose layers changed is changed, and says how (``2 layers added, 1 changed``), so a folded
    row (``--depth``) still tells what happened inside it."""
    for entry in entries:
        if entry.status != SAME or not entry.node.children:
            continue
        inside = [e for e in entries if e.path.startswith(entry.path + ".") and isinstance(e.node, LayerNode)]
        counts = {status: sum(e.status == status for e in inside) for status in (ADDED, REMOVED, CHANGED)}
        if any(counts.values()):
            entry.status, entry.details = CHANGED, [_layers_text(counts)]


def _layers_text(counts: dict[str, int]) -> str:
    """``2 layers added, 1 removed``."""
    parts = [(n, status) for status, n in counts.items() if n]
    first_n, first = parts[0]
    text = f"{first_n} layer{'s' if first_n != 1 else ''} {first}"
    return ", ".join([text, *(f"{n} {status}" for n, status in parts[1:])])


def _key(node: Node) -> tuple[str, str]:
    """What identifies a node across versions: its path when the spec names it (``fc`` stays ``fc``, whatever
    its kind becomes); for a node named by its position (``6``), its path and kind, so that a layer
    inserted before it shows as added, not as every later layer changing kind."""
    return (node.path, "") if not node.name.isdigit() else (node.path, node.kind)


def _measure(entry: Entry, old: Analysis, new: Analysis) -> None:
    if entry.old is None:
        entry.status = ADDED
    elif entry.new is None:
        entry.status = REMOVED
    else:
        entry.details = _differences(entry.old, entry.new)
        if entry.details:
            entry.status = CHANGED
    entry.values = {m: (_value(old, entry.old, m), _value(new, entry.new, m)) for m in MEASURES}
    entry.rf = (_rf(old, entry.old), _rf(new, entry.new))


def _differences(old: Node, new: Node) -> list[str]:
    """What differs between two nodes of one path: the kind, each argument of a layer, the output shape."""
    from archcalc.notation import math_shape

    out = []
    if old.kind != new.kind:
        out.append(f"kind {old.kind} → {new.kind}")
    elif isinstance(old, LayerNode) and isinstance(new, LayerNode):
        before, after = old.layer.config(), new.layer.config()
        for arg in dict.fromkeys([*before, *after]):
            a, b = before.get(arg), after.get(arg)
            if _text(a) != _text(b):
                out.append(f"{arg} {_text(a)} → {_text(b)}")
    if isinstance(old, LayerNode) or isinstance(new, LayerNode):
        if math_shape(old.in_shape) != math_shape(new.in_shape):
            out.append(f"input {math_shape(old.in_shape)} → {math_shape(new.in_shape)}")
        if math_shape(old.out_shape) != math_shape(new.out_shape):
            out.append(f"output {math_shape(old.out_shape)} → {math_shape(new.out_shape)}")
        if old.frozen != new.frozen and (_holds(old) or _holds(new)):
            out.append("trainable → frozen" if new.frozen else "frozen → trainable")
    return out


def _holds(node: Node) -> bool:
    """Whether a layer has parameters of its own, which ``trainable:`` concerns (freezing a ReLU changes nothing)."""
    return isinstance(node, LayerNode) and not symbolic.equal(node.layer.params(node.in_shape).trainable, 0)


def _value(analysis: Analysis, node: Node | None, measure: str) -> object:
    if node is None:
        return 0
    if measure == "params":
        return symbolic.total(analysis.model.counts[node].params)
    if measure == "macs":
        return analysis.work[node].macs * analysis.batch
    from archcalc.calc.memory import DTYPES

    return analysis.activations[node] * analysis.batch * DTYPES[analysis.dtype]


def _rf(analysis: Analysis, node: Node | None) -> str:
    if node is None:
        return ""
    from archcalc.report.columns import field_cell

    return field_cell(analysis.fields[node], "size")


def _text(value: object) -> str:
    from archcalc.layers.args import yaml_text

    return "–" if value is None else yaml_text(value)


def _zero(value: object) -> bool:
    return symbolic.is_int(value) and value == 0
