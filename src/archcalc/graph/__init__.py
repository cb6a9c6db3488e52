"""The network as a tree of typed nodes with paths and shapes (see :mod:`.nodes`, :mod:`.build`)."""

from archcalc.graph.build import build_graph
from archcalc.graph.nodes import ConcatNode, Graph, LayerNode, Node, ResidualNode, SeqNode

__all__ = ["ConcatNode", "Graph", "LayerNode", "Node", "ResidualNode", "SeqNode", "build_graph"]
