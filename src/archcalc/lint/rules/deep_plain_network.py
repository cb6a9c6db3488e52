"""A network 20 or more weight layers deep with no residual connection.

## What it does
Reports a model without any skip connection (a `residual`, or a merge with a branch that passes
its input on, as DenseNet's concatenations do) whose longest path holds at least 20 weight layers
(`Trait.WEIGHTED`: linear and convolution layers; the deepest branch of a merge counts).

## Why is this bad?
Deeper plain networks train *worse*, not better, beyond a certain depth: He et al. found a plain
34-layer network with a higher training error than a plain 18-layer one (and plain-56 worse than
plain-20 on CIFAR-10), even with batch norm. This "degradation" is an optimisation problem, not
overfitting. Residual connections (y = f(x) + x) let each block learn a correction to the identity
and fix it. (VGG-19, with 19 weight layers, is about as deep as plain networks go.)

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
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, MergeNode, Node, ResidualNode, SeqNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import flatten

SEVERITY = WARNING
#: weight layers on the longest path from which a plain network counts as deep
THRESHOLD = 20


def check(ctx: Context) -> Iterator[Finding]:
    if any(isinstance(node, ResidualNode) or _skips(node) for node, _ in ctx.graph.walk()):
        return
    depth = _depth(ctx.graph.root.items)
    if depth >= THRESHOLD:
        yield Finding(ctx.spec.layers_loc, f"the network is {depth} weight layers deep and has no residual "
                      "connection: plain networks this deep train worse than shallower ones (degradation)",
                      hint="add residual connections (- residual: {body: [...]}) around blocks of 2–3 layers")


def _depth(nodes: list[Node]) -> int:
    depth = 0
    for node in flatten(nodes):
        if isinstance(node, LayerNode):
            depth += Trait.WEIGHTED in node.layer.TRAITS
        elif isinstance(node, MergeNode):
            depth += max(_depth([branch]) for branch in node.branches)
    return depth


def _skips(node: Node) -> bool:
    """A merge with a branch that passes its input on (DenseNet's concat of earlier features, an add
    of x): a skip connection as much as a residual is."""
    if not isinstance(node, MergeNode):
        return False
    return any((isinstance(b, SeqNode) and not b.items) or (isinstance(b, LayerNode) and b.kind == "identity")
               for b in node.branches)
