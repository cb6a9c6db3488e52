"""The network as a tree of typed nodes with paths and shapes (see :mod:`.nodes`, :mod:`.build`)."""

from archcalc.graph.build import build_graph
from archcalc.graph.nodes import Graph, LayerNode, MergeNode, Node, ResidualNode, SeqNode

__all__ = ["Graph", "LayerNode", "MergeNode", "Node", "ResidualNode", "SeqNode", "build_graph"]
