"""How each node's output shape comes about, as a student checks it by hand.

A layer derives its own size (``Layer.explain_shape``: ⌊(H+2P−F)/S⌋+1); the structure nodes derive
theirs from their parts: a merge combines its branches (a concat sums their channels), a residual
adds its body's and its shortcut's outputs (the shortcut being the input itself, a projection, or
layers of its own).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode
from archcalc.layers.base import Derivation
from archcalc.notation import math_shape

#: residual mode → what its shortcut is (after the shortcut's layers, when it has any)
SHORTCUTS = {
    "identity": "the input itself (identity)",
    "projection": "(projection: 'auto', and the body changes the shape)",
    "layers": "(the spec's shortcut layers)",
    "none": "none ('if_same', and the body changes the shape: the body alone)",
}


def explained(graph: Graph) -> Iterator[tuple[Node, list[str]]]:
    """Every layer (with its derivation lines, if any), concat and residual, in the order a hand
    calculation goes: a node's parts before the node that joins them."""
    def visit(node: Node) -> Iterator[tuple[Node, list[str]]]:
        for child in node.children:
            yield from visit(child)
        lines = explain_shape(node)
        if lines or isinstance(node, LayerNode):
            yield node, lines

    for node in graph.root.items:
        yield from visit(node)


def explain_shape(node: Node) -> list[str]:
    """The derivation of ``node``'s output shape; empty for a plain sequence (its last item's shape)."""
    if isinstance(node, LayerNode):
        return [str(d) for d in node.layer.explain_shape(node.in_shape)]
    if isinstance(node, MergeNode):
        return _merge(node)
    if isinstance(node, ResidualNode):
        return _residual(node)
    return []


def _merge(node: MergeNode) -> list[str]:
    """The merge kind's derivation (``C_o = ΣC = 64 + 128 + 32 + 32 = 256``, and the axes every
    branch shares), saying which branches pass the input."""
    lines = node.layer.explain_merge(node.inputs, node.out_shape)
    passed = [str(i) for i, branch in enumerate(node.branches) if not branch.children and branch.kind == "branch"]
    if passed and lines:
        which = f"branch {passed[0]} passes" if len(passed) == 1 else f"branches {', '.join(passed)} pass"
        first = lines[0]
        lines[0] = replace(first, note=f"{first.note}; {which} the input") if isinstance(first, Derivation) \
            else f"{first} ({which} the input)"
    return [str(line) for line in lines]


def _residual(node: ResidualNode) -> list[str]:
    """The body's and the shortcut's shapes, their sum, and what runs after it."""
    x, total = math_shape(node.in_shape), math_shape(node.sum_shape)
    lines = [f"body      {x} → {total}" if node.body else f"body      empty: the input {x}"]
    shortcut = node.shortcut
    how = SHORTCUTS[node.mode]
    if shortcut is not None:
        kinds = " + ".join(item.kind for item in shortcut.items)
        how = f"{shortcut.path} = {kinds}: {x} → {math_shape(shortcut.out_shape)} {how}"
    lines.append(f"shortcut  {how}")
    if node.mode != "none":
        side = math_shape(shortcut.out_shape) if shortcut is not None else x
        lines.append(f"sum       {total} + {side} = {total}")
    if node.then:
        kinds = " + ".join(item.kind for item in node.then)
        lines.append(f"then      {kinds}: {total} → {math_shape(node.out_shape)}")
    return lines
