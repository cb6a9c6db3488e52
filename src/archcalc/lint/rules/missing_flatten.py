"""A fully connected layer applied to a feature map mixes only its last axis.

## What it does
Reports an affine layer that connects all of its inputs (`Layer.geometry` is global: `linear`)
applied to an input with three or more axes, such as the `[C, H, W]` output of a convolution,
with no `flatten` or global pooling before it. A map the spec made channels-last itself is left
alone: a `permute` or `transpose` before the layer, with only layers that keep every axis but the
last between them, as ConvNeXt's blocks run their MLP on each position's channels.

## Why is this bad?
A linear layer works on the last axis of its input, as PyTorch's `nn.Linear` does: on a `[64, 7, 7]`
feature map it mixes the 7 values of each row and leaves the 64 × 7 rows apart, giving `[64, 7, D]`.
The classifier that was meant to see the whole feature map sees one row at a time, and the output
is a map instead of a vector of class scores. The usual intent is `flatten` (all C·H·W features)
or global average pooling (C features) first.

## Example
```yaml
input: [3, 28, 28]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - linear: 10
```

Use instead:
```yaml
input: [3, 28, 28]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - flatten
  - linear: 10
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f011: a dense layer receiving an N-D input (missing flatten).
- The lecture notes on architectures (VGG, ResNet): VGG flattens before its fully connected layers.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, Node
from archcalc.layers.base import GLOBAL, shape_text
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


#: the kinds by which a spec orders its axes itself
REORDER = frozenset({"permute", "transpose"})


def channels_last(run: list[Node], i: int) -> bool:
    """Whether walking back from ``run[i]`` reaches a ``permute`` or ``transpose`` through layers that keep
    every axis but the last (norms, activations, other linear layers): the last axis was chosen on purpose."""
    for node in reversed(run[:i]):
        if not isinstance(node, LayerNode):
            return False
        if node.kind in REORDER:
            return True
        if tuple(node.in_shape[:-1]) != tuple(node.out_shape[:-1]):
            return False
    return False


def check(ctx: Context) -> Iterator[Finding]:
    chosen = {run[i] for run in ctx.chains for i in range(len(run)) if channels_last(run, i)}
    for node in ctx.layers:
        weighted = Trait.WEIGHTED in node.layer.TRAITS
        if weighted and node not in chosen and len(node.in_shape) >= 3 and node.layer.geometry(node.in_shape) == GLOBAL:
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) gets a {shape_text(node.in_shape)} feature map and "
                          f"mixes only its last axis, giving {shape_text(node.out_shape)}",
                          hint="add `- flatten` (or `- global_avgpool2d`) before it")
