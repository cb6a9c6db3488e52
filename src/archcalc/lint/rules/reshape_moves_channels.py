"""A reshape that lays a convolution's channels last by reshaping, not by moving the axes.

## What it does
Reports a `reshape` of a channels-first feature map `[C, …]`, the output of a convolution or a
pooling reached through element-wise layers only, into a shape that ends in C (`[positions, C]`),
when C is not the size of the map's own trailing axes (so it is not a regrouping of whole axes).

## Why is this bad?
A reshape (PyTorch's `view`) keeps the elements in their order; it does not move axes. The map
`[256, 1, 32]` is 256 runs of 32 positions, and reshaped to `[32, 256]` its rows are not the 32
positions' feature vectors but slices that cut across channels: every position now holds 256
values of eight channels, and the LSTM or attention that follows reads nonsense, with every shape
still fitting. It is the classic slip of `x.view(B, -1, C)` on an NCHW map (a from-scratch ViT's
patch embedding, a CRNN's feature sequence): the fix is to move the axes first, `flatten(2)`
then `transpose(1, 2)`, or `permute`.

## Example
```yaml
input: [1, 32, 128]
layers:
  - conv2d: {out: 64, kernel: 3, padding: 1}
  - relu
  - maxpool2d: {kernel: [32, 4]}
  - reshape: [32, 64]
  - lstm: 128
```

Use instead:
```yaml
input: [1, 32, 128]
layers:
  - conv2d: {out: 64, kernel: 3, padding: 1}
  - relu
  - maxpool2d: {kernel: [32, 4]}
  - flatten: {start: 1}
  - transpose
  - lstm: 128
```

## References
- PyTorch `Tensor.view`: "returns a new tensor with the same data … but of a different shape";
  only `permute` and `transpose` reorder the axes.
- Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021: the patch embedding flattens the
  positions and puts them first (torchvision: `x.reshape(n, C, h * w).permute(0, 2, 1)`).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode, Node
from archcalc.layers.base import numel, shape_text
from archcalc.layers.reshape import Reshape
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: layers that keep a channels-first map's layout
KEEPS = Trait.ACTIVATION | Trait.DROPOUT | Trait.NORMALIZES


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        for i, node in enumerate(run):
            if not isinstance(node, LayerNode) or not isinstance(node.layer, Reshape):
                continue
            x, y = node.in_shape, node.out_shape
            if len(x) < 2 or len(y) < 2 or not all(symbolic.is_int(d) for d in (*x, *y)):
                continue
            channels, positions = x[0], x[1:]
            trailing = {numel(positions[j:]) for j in range(len(positions))}
            if channels > 1 and numel(positions) > 1 and y[-1] == channels and channels not in trailing \
                    and _map_source(run[:i]):  # one position: nothing to scramble
                yield Finding(node.loc, f"`{node.path}` reshapes the channels-first map {shape_text(x)} into "
                              f"{shape_text(y)}: a reshape keeps the elements in order, so its rows are not the "
                              f"positions' {channels} channels but slices across them",
                              hint="move the axes instead: `- flatten: {start: 1}` then `- transpose` "
                              "(PyTorch's x.flatten(2).transpose(1, 2)), or `- permute`")


def _map_source(before: list[Node]) -> bool:
    """Whether a convolution's or a pooling's channels-first output reaches the end of ``before`` through
    element-wise layers only."""
    for node in reversed(before):
        if not isinstance(node, LayerNode):
            return False
        traits = node.layer.TRAITS
        if traits & (Trait.WEIGHTED | Trait.POOLS):
            return isinstance(node.layer.geometry(node.in_shape), tuple)
        if not traits & KEEPS:
            return False
    return False
