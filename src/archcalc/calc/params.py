"""Parameter counts: trainable and frozen parameters and buffers per node, summed up the tree.

A layer's count comes from its kind's ``params``; a container's is the sum of its children (and a
merge's own, when its kind has parameters), so a block row in a report shows what the block holds.
"""

from __future__ import annotations

from archcalc import symbolic
from archcalc.graph import Graph, LayerNode, MergeNode, Node
from archcalc.layers import Count, Derivation


def param_counts(graph: Graph) -> dict[Node, Count]:
    """Every node's :class:`Count` (the root's under ``graph.root``): a frozen layer's parameters (``trainable:
    false``) are counted as ``frozen``, not ``trainable``, so a container holds how many of its parameters learn."""
    counts: dict[Node, Count] = {}

    def visit(node: Node) -> Count:
        if isinstance(node, LayerNode):
            count = _own(node, node.layer.params(node.in_shape))
        else:
            own = _own(node, node.layer.merge_params(node.inputs)) if isinstance(node, MergeNode) else Count()
            parts = [own, *(visit(child) for child in node.children)]
            count = Count(*(symbolic.add(c[i] for c in parts) for i in range(len(Count._fields))))
        counts[node] = Count(*(symbolic.total(n) for n in count))
        return counts[node]

    visit(graph.root)
    return counts


def _own(node: Node, count: Count) -> Count:
    """A layer's (or merge's) own parameters as its node holds them: all frozen under ``trainable: false``."""
    return Count(0, count.buffers, count.trainable) if node.frozen else count


def explain_params(graph: Graph) -> list[tuple[LayerNode, Derivation]]:
    """The derivation of every layer that has parameters, in order."""
    return [(node, d) for node in graph.layers() if (d := node.layer.explain_params(node.in_shape)) is not None
            and node.layer.params(node.in_shape) != Count()]


def total_derivation(parts: list[object], total: object) -> str:
    """``1530 + 93 = 2213``: the sum a student writes under the per-layer lines."""
    from archcalc.notation import math_text

    terms = [math_text(p) for p in parts]
    if not terms:
        return "0"
    text = " + ".join(terms)
    return text if len(terms) == 1 else f"{text} = {math_text(total)}"
