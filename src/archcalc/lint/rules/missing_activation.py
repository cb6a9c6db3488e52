"""A convolution or linear layer reaches the next one through pooling alone, with no activation.

## What it does
Reports an affine layer (`Trait.WEIGHTED`) whose output passes through pooling (and layers that
leave values alone: dropout, flatten, batch norm) into the next affine layer without any activation.
Chains of purely linear layers are `linear-collapse` (A101); this rule covers the chains that A101
leaves out because a pooling layer sits between them (max pooling is, strictly, non-linear). It
follows into a sum or concatenation whose every branch starts with an affine layer (an Inception
block after a convolution and a max pool, with no ReLU: d2l's GoogLeNet before its pull request 1732).

## Why is this bad?
Average pooling is linear, and max pooling only picks the largest of a window's values: neither adds
a non-linearity to each unit's response, so two convolutions with only pooling between them learn
little more than one, and the network loses most of its depth. In translated code the cause is
almost always an activation forgotten: a layer written without its `activation=` argument.

## Example
```yaml
input: [1, 28, 28]
layers:
  - conv2d: {out: 8, kernel: 5, padding: 2}
  - maxpool2d: 2
  - conv2d: {out: 16, kernel: 5, padding: 2}
  - relu
  - maxpool2d: 2
  - flatten
  - linear: 10
```

Use instead:
```yaml
input: [1, 28, 28]
layers:
  - conv2d: {out: 8, kernel: 5, padding: 2}
  - relu
  - maxpool2d: 2
  - conv2d: {out: 16, kernel: 5, padding: 2}
  - relu
  - maxpool2d: 2
  - flatten
  - linear: 10
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f009: activations of learning layers should be non-linear.
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "missing activation function".
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, MergeNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import branch_heads

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        previous: LayerNode | None = None  # the last affine layer, while nothing non-linear but pooling follows it
        pooled = False
        for node in run:
            traits = node.layer.TRAITS if isinstance(node, LayerNode) else None
            if isinstance(node, MergeNode) and previous is not None and (heads := branch_heads(node)) \
                    and (pooled or any(before for _, before in heads)):
                yield _finding(previous, f"the {len(heads)} branches of `{node.path}` ({node.kind}), each "
                               f"starting with an affine layer ({', '.join(f'`{h.path}`' for h, _ in heads)}),",
                               "each branch learns little more than one layer with it")
            if traits is None or Trait.ACTIVATION in traits or not traits & (Trait.LINEAR | Trait.POOLS):
                previous, pooled = None, False
                continue
            if Trait.WEIGHTED in traits:
                if previous is not None and pooled:
                    yield _finding(previous, f"`{node.path}` ({node.kind})", "the two learn little more than one layer")
                previous, pooled = node, False
            elif Trait.POOLS in traits:
                pooled = True


def _finding(previous: LayerNode, reached: str, why: str) -> Finding:
    return Finding(previous.loc, f"`{previous.path}` ({previous.kind}) reaches {reached} through pooling alone, "
                   f"with no activation: {why}",
                   hint=f"add an activation after `{previous.path}`, such as `- relu`")
