"""Graph → report rows: the visible part of the tree, with each row's tree position."""

from __future__ import annotations

from collections.abc import Callable

from archcalc.graph import Graph, Node
from archcalc.report import Row


def graph_rows(graph: Graph, cells: Callable[[Node], dict[str, str]], depth: int | None = None,
               values: Callable[[Node], dict[str, object]] | None = None) -> list[Row]:
    """One :class:`Row` per node down to ``depth`` (None = all); a folded block shows its totals.
    ``values`` gives a row's exact values for CSV."""
    rows: list[Row] = []

    def visit(nodes: list[Node], level: int) -> None:
        for i, node in enumerate(nodes):
            children = node.children
            rows.append(Row(node.name, level, {"path": node.path, **cells(node)}, last=i == len(nodes) - 1,
                            container=bool(children), values=values(node) if values else {}))
            if children and (depth is None or level < depth):
                visit(children, level + 1)

    visit(graph.root.items, 1)
    return rows
