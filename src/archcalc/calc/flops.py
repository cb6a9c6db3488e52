"""MACs, FLOPs and element-wise work per node, summed up the tree.

A layer's :class:`~archcalc.layers.base.Work` comes from its kind's ``work`` method (the formula
lives with the kind). What no single layer does is counted here from the graph's structure: a
residual adds its two sides, one addition per element of the sum. A merge's own work comes from its
kind (a concat only copies, so it costs no arithmetic; an add of n branches is n − 1 additions per
element). Containers hold the sum of their children, so a folded block shows its total.

Everything is per example; :meth:`Work.times` scales to a batch.

    >>> import archcalc
    >>> model = archcalc.loads("input: [3, 32, 32]\\nlayers: [conv2d: {out: 8, kernel: 3}, relu]")
    >>> work(model.graph)[model.graph.root].macs     # 8·30·30 outputs × 3·3·3 taps
    194400
"""

from __future__ import annotations

from archcalc import symbolic
from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode
from archcalc.layers.base import Work, numel

#: column key → (title, what it counts), in the order reports show them
KINDS: dict[str, tuple[str, str]] = {
    "macs": ("MACs", "multiply-accumulates of convolutions and linear layers"),
    "bias": ("Bias", "bias additions"),
    "norm": ("Norm", "normalised elements (every norm layer)"),
    "act": ("Act", "activation evaluations"),
    "pool": ("Pool", "elements read by pooling windows"),
    "add": ("Add", "residual and branch additions"),
}

CONVENTION = ("MACs count the multiply-accumulates of convolutions and linear layers (the torchvision "
              "convention); FLOPs = 2 × MACs. Bias, norm, activation, pooling and residual work is "
              "counted apart, one operation per element.")


#: added to the convention for a network with attention
ATTENTION = ("Attention's q·kᵀ and weights·v products are MACs too, 2×heads×T_q×T_k×head_dim per layer (and per "
             "sequence of the axes before [T, D], as Swin's windows) over the full T_q×T_k even under a causal mask, "
             "as torch.utils.flop_counter counts them.")


#: added to the convention for a network with a mixture of experts: its parameters and MACs count different things
EXPERTS = ("A mixture of experts (moe) counts every expert's parameters but the MACs of the top_k experts each "
           "token runs (the active work, as fvcore and DeepSpeed report it).")


def conventions(graph: Graph) -> list[str]:
    """The notes a report of ``graph``'s work needs: :data:`CONVENTION`, :data:`ATTENTION` with attention and
    :data:`EXPERTS` with a mixture of experts."""
    kinds = {node.kind for node, _ in graph.walk() if isinstance(node, LayerNode)}
    attends = any(hasattr(getattr(node, "layer", None), "kv_cache") for node, _ in graph.walk())
    return [CONVENTION, *([ATTENTION] if attends else []), *([EXPERTS] if "moe" in kinds else [])]


def work(graph: Graph) -> dict[Node, Work]:
    """Every node's :class:`Work` for one example (the whole network's under ``graph.root``)."""
    out: dict[Node, Work] = {}

    def visit(node: Node) -> Work:
        if isinstance(node, LayerNode):
            total = node.layer.work(node.in_shape, node.out_shape)
        else:
            if isinstance(node, ResidualNode):
                total = Work(add=numel(node.sum_shape)) if node.mode != "none" else Work()
            elif isinstance(node, MergeNode):
                total = node.layer.merge_work(node.inputs, node.out_shape)
            else:
                total = Work()
            parts = [total, *(visit(child) for child in node.children)]  # summed at once: see symbolic.add
            total = Work(*(symbolic.add(column) for column in zip(*parts)))
        out[node] = Work(*(symbolic.exact(symbolic.simplify(v)) for v in total))
        return out[node]

    visit(graph.root)
    return out


def flops(w: Work) -> object:
    """FLOPs of the multiply-accumulates: one multiplication and one addition each."""
    return 2 * w.macs
