"""A fully connected layer applied to a feature map mixes only its last axis.

## What it does
Reports an affine layer that connects all of its inputs (`Layer.geometry` is global: `linear`)
applied to an input with three or more axes, such as the `[C, H, W]` output of a convolution,
with no `flatten` or global pooling before it; and one applied to the `[C, L]` output of a 1-D
convolution or pooling (through activations, dropout and normalisation only). A `[T, D]` sequence
of token vectors, where a linear layer on the last axis is what transformers do, is not reported:
only a window layer's channels-first output says that the last axis is positions. A map the spec
made channels-last itself is left alone: a `permute` or `transpose` before the layer, with only
layers that keep every axis but the last between them, as ConvNeXt's blocks run their MLP on each
position's channels.

## Why is this bad?
A linear layer works on the last axis of its input, as PyTorch's `nn.Linear` does: on a `[64, 7, 7]`
feature map it mixes the 7 values of each row and leaves the 64 × 7 rows apart, giving `[64, 7, D]`.
The classifier that was meant to see the whole feature map sees one row at a time, and the output
is a map instead of a vector of class scores. The usual intent is `flatten` (all C·H·W features)
or global average pooling (C features) first. A 1-D convolution's `[C, L]` output is the same
mistake one axis down: the linear layer mixes the L positions of each channel on its own.

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

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode, Node
from archcalc.layers.base import GLOBAL, shape_text
from archcalc.layers.permute import Reorder
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def channels_last(run: list[Node], i: int) -> bool:
    """Whether walking back from ``run[i]`` reaches a ``permute`` or ``transpose`` through layers that keep
    every axis but the last (norms, activations, other linear layers) or only lay the values out anew (Swin's
    patch merging: a reshape, a permute, a flatten): the last axis was chosen on purpose."""
    for node in reversed(run[:i]):
        if not isinstance(node, LayerNode):
            return False
        if isinstance(node.layer, Reorder):  # permute, transpose: the spec orders its axes itself
            return True
        if tuple(node.in_shape[:-1]) != tuple(node.out_shape[:-1]) and Trait.ALIASES not in node.layer.TRAITS:
            return False
    return False


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        for i, node in enumerate(run):
            if not isinstance(node, LayerNode) or Trait.WEIGHTED not in node.layer.TRAITS \
                    or node.layer.geometry(node.in_shape) != GLOBAL:
                continue
            if len(node.in_shape) >= 3 and not channels_last(run, i):
                yield Finding(node.loc, f"`{node.path}` ({node.kind}) gets a {shape_text(node.in_shape)} feature map "
                              f"and mixes only its last axis, giving {shape_text(node.out_shape)}",
                              hint=f"add `- flatten` before it, or {_pooling(len(node.in_shape))}")
            elif len(node.in_shape) == 2 and (source := _window_source(run[:i])) is not None:
                c, length = (symbolic.fmt(d) for d in node.in_shape)
                yield Finding(node.loc, f"`{node.path}` ({node.kind}) gets the {shape_text(node.in_shape)} output of "
                              f"`{source.path}` ({source.kind}), {c} channels × {length} positions, and mixes the "
                              f"positions of each channel alone, giving {shape_text(node.out_shape)}",
                              hint=f"add `- flatten` before it (all {c}×{length} features), or {_pooling(2)}")


def _pooling(rank: int) -> str:
    """Global average pooling for a channels-first map of ``rank`` axes, as the spec language writes it."""
    if rank == 3:
        return "`- global_avgpool2d`"
    return f"`- mean: {list(range(1, rank))}` (global average pooling)" if rank > 3 else \
        "`- mean: 1` (the average over the positions)"


def _window_source(before: list) -> LayerNode | None:
    """The convolution or pooling whose channels-first ``[C, L]`` output reaches the end of ``before``
    through element-wise layers only (activations, dropout, normalisation); None when anything else
    (a reshape, a permute, a sum, the input itself) is in between."""
    for node in reversed(before):
        if not isinstance(node, LayerNode):
            return None
        traits = node.layer.TRAITS
        if traits & (Trait.WEIGHTED | Trait.POOLS):
            return node if isinstance(node.layer.geometry(node.in_shape), tuple) and len(node.out_shape) == 2 else None
        if not traits & (Trait.ACTIVATION | Trait.DROPOUT | Trait.NORMALIZES):
            return None
    return None
