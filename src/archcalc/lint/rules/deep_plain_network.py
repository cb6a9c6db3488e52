"""A network whose every path from input to output crosses 20 or more weight layers (32 if it normalises).

## What it does
Counts the weight layers (`Trait.WEIGHTED`: linear and convolution layers) on the *shortest* path
from the input to the output, and reports the model when there are 20 or more. A `residual` adds
a path around its body (through the shortcut's layers, if it has any); a merge offers the path of
its shallowest branch: DenseNet's and ShuffleNet's concatenations pass part of their input on
untouched, an Inception module's 1×1 branch crosses one layer where its 5×5 branch crosses three,
and a `{from: …}` branch starts from the depth of the layer it reads. So a plain stack is reported
at its full depth, while a network with any short way through it is judged by that way. A network
that normalises between its layers (at least one normalisation layer for every two weight layers)
is reported from 32 layers on that way, as deep as He et al.'s batch-normalised plain networks
were when they began to train worse than shallower ones; MobileNet-v2 and EfficientNet, whose
stage-opening blocks have no shortcut, cross 23.

## Why is this bad?
Deeper plain networks train *worse*, not better, beyond a certain depth: He et al. found a plain
34-layer network with a higher training error than a plain 18-layer one (and plain-56 worse than
plain-20 on CIFAR-10). This "degradation" is an optimisation problem, not overfitting, and batch
norm does not prevent it: their batch-normalised plain-32 and plain-34 trained worse than plain-20
and plain-18; without normalisation, depth hurts sooner. Residual connections (y = f(x) + x) let
each block learn a correction to the identity and fix it: the gradient reaches the early layers
along the shortcuts, through few layers. Short branches do the same (Veit et al.: a residual
network behaves like an ensemble of its shorter paths; Inception's 22 to 48 layers train because
each module also offers a one-layer branch). (VGG-19, with 19 weight layers, is about as deep as
plain networks go.)

## Example
```yaml
input: [16]
layers:
  - repeat: 20
    layers: [linear: 16, relu]
  - linear: 4
```

Use instead:
```yaml
input: [16]
layers:
  - repeat: 10
    layers:
      - residual:
          body: [linear: 16, relu, linear: 16]
          then: [relu]
  - linear: 4
```

## References
- The lecture notes on architectures (VGG, ResNet): deeper plain nets train worse
  (degradation); a residual block learns f(x) − x.
- He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, §4.1 and Table 2.
- Veit, Wilber & Belongie, "Residual Networks Behave Like Ensembles of Relatively Shallow Networks",
  NeurIPS 2016: the gradient that trains a deep residual network flows mostly along its short paths.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, MergeNode, Node, ResidualNode, SeqNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: weight layers on the shortest path from which a network counts as deep and plain: VGG-19's 19 is as
#: deep as plain networks go; with normalisation, He et al.'s plain-32 and plain-34 already train worse
THRESHOLD, NORMALISED_THRESHOLD = 20, 32


def check(ctx: Context) -> Iterator[Finding]:
    depth = _shortest(ctx.graph.root.items, 0, {})
    if depth >= (NORMALISED_THRESHOLD if _normalises(ctx) else THRESHOLD):
        yield Finding(ctx.spec.layers_loc, f"every path from the input to the output crosses at least {depth} weight "
                      "layers, with no residual connection or shorter branch around them: plain networks this deep "
                      "train worse than shallower ones (degradation)",
                      hint="add residual connections (- residual: {body: [...]}) around blocks of 2–3 layers")


def _shortest(nodes: list[Node], depth: int, at: dict[Node, int]) -> int:
    """The fewest weight layers on a path through ``nodes``, entered ``depth`` layers deep; ``at``
    records the depth after every node, for the branches that read an earlier node's output."""
    for node in nodes:
        if isinstance(node, SeqNode):
            depth = _shortest(node.items, depth, at)
        elif isinstance(node, LayerNode):
            depth += Trait.WEIGHTED in node.layer.TRAITS
        elif isinstance(node, ResidualNode):
            body = _shortest(node.body, depth, at)
            if node.mode != "none":  # the shapes differ under if_same: the body alone
                body = min(body, _shortest([node.shortcut] if node.shortcut else [], depth, at))
            depth = _shortest(node.then, body, at)
        elif isinstance(node, MergeNode):
            starts = [depth if node.source(i) is None else at.get(node.source(i), depth)
                      for i in range(len(node.branches))]
            depth = min(_shortest([branch], start, at) for branch, start in zip(node.branches, starts))
        at[node] = depth
    return depth


def _normalises(ctx: Context) -> bool:
    """Whether the network normalises between its layers: a normalisation layer for every two weight layers."""
    traits = [node.layer.TRAITS for node in ctx.layers]
    return 2 * sum(Trait.NORMALIZES in t for t in traits) >= sum(Trait.WEIGHTED in t for t in traits)
