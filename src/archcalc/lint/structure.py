"""How rules see a network: runs of layers that execute one after another, and the spec's items.

Most lessons are about neighbours ("a bias directly followed by batch norm", "two linear layers with
nothing non-linear between them"), so rules look at :func:`chains`: the model's top level with
block instances, repeats and groups opened up, plus each residual body, shortcut, ``then`` and
merge branch as a run of its own. A residual or merge node stays in its parent's run as one step
(whatever is on either side of an addition is not "directly" next to each other).
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from archcalc import symbolic
from archcalc.graph.nodes import Graph, LayerNode, MergeNode, Node, ResidualNode, SeqNode
from archcalc.layers import LAYERS
from archcalc.layers.base import GLOBAL
from archcalc.layers.log_softmax import LogSoftmax
from archcalc.layers.sigmoid import Sigmoid
from archcalc.layers.softmax import Softmax
from archcalc.layers.traits import Trait
from archcalc.spec.ast import BlockCall, Group, If, Item, LayerItem, Merge, Repeat, Residual, Spec
from archcalc.spec.train import LOG_PROBABILITIES, LOGITS, PROBABILITIES, TrainSpec

#: layers whose outputs are probabilities in [0, 1] (what a probability loss wants, a logits loss does not)
PROBABILITY_LAYERS = (Softmax, Sigmoid)
#: layers that turn logits into a distribution: probabilities, or their logarithms (log_softmax)
DISTRIBUTION_LAYERS = (Softmax, Sigmoid, LogSoftmax)


def flatten(nodes: list[Node]) -> list[Node]:
    """``nodes`` with every sequence (block instance, repeat, group, branch) opened up, in order."""
    out: list[Node] = []
    stack = list(reversed(nodes))
    while stack:
        node = stack.pop()
        if isinstance(node, SeqNode):
            stack.extend(reversed(node.items))
        else:
            out.append(node)
    return out


def chains(graph: Graph) -> list[list[Node]]:
    """Every run of nodes executed in sequence; the model's top-level run comes first."""
    runs: list[list[Node]] = []
    pending = [graph.root.items]
    while pending:
        run = flatten(pending.pop(0))
        if not run:
            continue
        runs.append(run)
        for node in run:
            if isinstance(node, ResidualNode):
                pending += [node.body, node.shortcut.items if node.shortcut else [], node.then]
            elif isinstance(node, MergeNode):
                pending += [[branch] for branch in node.branches]
    return runs


def output_run(graph: Graph) -> list[LayerNode]:
    """The layers at the very end of the model, after its last sum or merge, in order."""
    run = flatten(graph.root.items)
    while run and isinstance(run[-1], ResidualNode) and run[-1].then:
        run = flatten(run[-1].then)
    tail: list[LayerNode] = []
    for node in reversed(run):
        if not isinstance(node, LayerNode):
            break
        tail.append(node)
    return tail[::-1]


def dense_input_layer(chains: list[list[Node]]) -> LayerNode | None:
    """The model's first layer when it is fully connected and exactly as wide as the vector input it
    reads: the "input layer" of textbook diagrams, written as a layer with weights (NeuraLint's and
    DeepLocalize's Keras programs often start with ``Dense(n_features, input_shape=(n_features,))``).
    ``chains`` are the model's runs (:func:`chains`), the top-level one first."""
    first = chains[0][0] if chains and chains[0] else None
    if not isinstance(first, LayerNode) or Trait.WEIGHTED not in first.layer.TRAITS or len(first.in_shape) != 1:
        return None
    if first.layer.geometry(first.in_shape) != GLOBAL or len(first.out_shape) != 1:
        return None
    return first if symbolic.equal(first.in_shape[0], first.out_shape[0]) else None


def applied_by_loss(train: TrainSpec, node: LayerNode) -> bool:
    """Whether the spec's loss applies the layer ``node`` to the logits itself (``TrainSpec.fuses``): the
    sigmoid, or a softmax over the classes (axis 0, or the spec's ``class_axis`` when it gives one: a language
    model's ``softmax: {dim: -1}`` under ``class_axis: -1``), unless the spec says what the loss takes. The
    trainers train a network that ends in it on what comes before it (lint reads no data, so a class axis
    that only the targets' shape would tell is not known here)."""
    kind = train.fuses
    if kind is None or not isinstance(node.layer, LAYERS[kind]):
        return False
    axis, rank = node.layer.config().get("dim", 0), len(node.in_shape)
    classes = train.class_axis if train.class_axis is not None and -rank <= train.class_axis < rank else 0
    return isinstance(axis, int) and axis % rank == classes % rank


def bce_on_unit_targets(train: TrainSpec | None) -> bool:
    """Binary cross-entropy on a regression whose declared ``target_range`` lies within [0, 1]: defined there,
    and a Bernoulli decoder's loss, so noted (T114) rather than reported as the wrong loss (T103)."""
    if train is None or train.task != "regression" or train.loss not in ("bce", "bce_with_logits"):
        return False
    low, high = train.target_range or (None, None)
    return low is not None and 0 <= low <= high <= 1


def _keeps_probabilities(node: LayerNode) -> bool:
    """Whether values in [0, 1] stay in [0, 1] through ``node`` (``Trait.KEEPS_RANGE``): a reshape or a selection,
    a mean, a pooling (a maximum, or an average: a multiple-instance network's bag probability) or an
    interpolation (a convex combination: a mask upsampled to the image); dropout's 1/(1 − p) is not."""
    return Trait.KEEPS_RANGE in node.layer.TRAITS


def nonnegative_output(graph: Graph) -> bool:
    """Whether every output of the model is ≥ 0, what a loss that takes a rate needs (poisson_nll with log_input
    false): it ends in a kind whose ``Layer.BOUNDS`` start at 0 or above (relu, softplus, sigmoid, softmax, …),
    looking through the layers after it that keep values in their range (:func:`_keeps_probabilities`)."""
    run = output_run(graph)
    while len(run) > 1 and _keeps_probabilities(run[-1]):
        run = run[:-1]
    bounds = run[-1].layer.BOUNDS if run else None
    return bounds is not None and bounds[0] >= 0


def output_kind(graph: Graph, train: TrainSpec | None) -> str:
    """What the loss receives from the model: ``probabilities`` (a final softmax or sigmoid), ``log_probabilities``
    (a final log_softmax) or ``logits`` (anything else, unbounded), looking through the layers after it that keep
    values in [0, 1] (:func:`_keeps_probabilities`); a final layer the loss applies itself (``TrainSpec.fuses``) is left
    out of training, so the loss receives the logits before it."""
    run = output_run(graph)
    if not run:
        return LOGITS
    last = run[-1]
    if train is not None and applied_by_loss(train, last):
        return LOGITS
    while len(run) > 1 and _keeps_probabilities(last):
        run = run[:-1]
        last = run[-1]
    if isinstance(last.layer, LogSoftmax):
        return LOG_PROBABILITIES
    return PROBABILITIES if isinstance(last.layer, PROBABILITY_LAYERS) else LOGITS


def pairs(run: list[Node]) -> Iterator[tuple[LayerNode, LayerNode]]:
    """Adjacent layers of a run (a residual or merge between two layers separates them)."""
    for a, b in pairwise(run):
        if isinstance(a, LayerNode) and isinstance(b, LayerNode):
            yield a, b


def spec_items(spec: Spec) -> Iterator[Item]:
    """Every item written in the spec, in the layers and in the blocks' bodies, nested ones too."""
    stack: list[Item] = [*spec.layers, *(item for block in spec.blocks.values() for item in block.body)]
    while stack:
        item = stack.pop()
        yield item
        stack.extend(children(item))


def children(item: Item) -> list[Item]:
    """The items nested in ``item`` (a residual's body, shortcut and then; a merge's branches; both
    branches of an ``if:``; the layers a block use passes)."""
    if isinstance(item, (Repeat, Group)):
        return list(item.body)
    if isinstance(item, Residual):
        shortcut = item.shortcut if isinstance(item.shortcut, list) else []
        return [*item.body, *shortcut, *item.then]
    if isinstance(item, Merge):
        return [child for branch in item.branches for child in branch]
    if isinstance(item, If):
        return [*item.then, *item.orelse]
    if isinstance(item, BlockCall):  # the layers given to its layer parameters
        return [child for layers in item.layer_args.values() for child in layers]
    return []


def layer_items(spec: Spec) -> dict[tuple[int, int], LayerItem]:
    """Every layer written in the spec by its (line, column): the graph's layer nodes carry that location."""
    return {(item.loc.line, item.loc.col): item for item in spec_items(spec) if isinstance(item, LayerItem)}


def block_calls(items: list[Item]) -> Iterator[BlockCall]:
    """The block calls among ``items`` and everything nested in them."""
    stack = list(items)
    while stack:
        item = stack.pop()
        if isinstance(item, BlockCall):
            yield item
        stack.extend(children(item))


def factorised(first: LayerNode, second: LayerNode) -> bool:
    """A factorised convolution: depthwise then pointwise (or back), or spatially separable, a k×1 window then
    a 1×k one (the Large Kernel Matters global convolution, Inception-v3's 7×1 and 1×7): a low-rank large
    kernel on purpose, cheaper than the k×k it stands for."""
    return (depthwise(first) and pointwise(second)) or (pointwise(first) and depthwise(second)) \
        or spatially_separable(first, second)


def spatially_separable(first: LayerNode, second: LayerNode) -> bool:
    """Each of two convolutions windows one axis, a different one (15×1 then 1×15). A video network's
    spatial then temporal pair (1×k×k then t×1×1) is not one: (2+1)-D, P3D and S3D factorise a 3-D
    convolution that way to put an activation between the two (Tran et al., CVPR 2018), not to leave it out."""
    a, b = getattr(first.layer, "kernel", None), getattr(second.layer, "kernel", None)
    if a is None or b is None or len(a) != len(b) or len(a) < 2 \
            or not all(symbolic.is_int(k) for k in (*a, *b)):
        return False
    windowed = [[i for i, k in enumerate(kernel) if k > 1] for kernel in (a, b)]
    return all(len(axes) == 1 for axes in windowed) and windowed[0] != windowed[1]


def branch_heads(merge: MergeNode) -> list[tuple[LayerNode, bool]] | None:
    """The first affine layer of every branch of a linear merge (a sum, a concatenation) on its own input, each with
    whether pooling comes before it, when every branch reaches one through layers that are linear at
    inference and pooling alone (an Inception block's 1×1, 3×3, 5×5 and pool-then-1×1 paths); None when a
    branch is empty (it passes the input on), starts with anything else, or reads another node."""
    if Trait.LINEAR not in merge.layer.TRAITS or len(merge.branches) < 2:  # a product of two branches is not
        return None
    heads: list[tuple[LayerNode, bool]] = []
    for i, branch in enumerate(merge.branches):
        if merge.source(i) is not None:
            return None
        pooled = False
        for node in flatten([branch]):
            traits = node.layer.TRAITS if isinstance(node, LayerNode) else None
            if traits is None or Trait.ACTIVATION in traits or not traits & (Trait.LINEAR | Trait.POOLS):
                return None
            if Trait.WEIGHTED in traits:
                heads.append((node, pooled))
                break
            pooled = pooled or Trait.POOLS in traits
        else:
            return None
    return heads


def depthwise(node: LayerNode) -> bool:
    """A convolution with one group per input channel: it filters each channel alone."""
    groups = getattr(node.layer, "groups", 1)
    return symbolic.is_int(groups) and groups > 1 and groups == node.in_shape[0]


def pointwise(node: LayerNode) -> bool:
    """A 1×1 (×1) convolution of one group: it mixes channels at each position alone."""
    kernel, groups = getattr(node.layer, "kernel", None), getattr(node.layer, "groups", None)
    return kernel is not None and groups == 1 and all(symbolic.is_int(k) and k == 1 for k in kernel)
