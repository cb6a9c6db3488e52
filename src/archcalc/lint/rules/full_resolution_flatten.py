"""Convolutions flattened into a fully connected layer with no pooling or stride anywhere before it.

## What it does
Reports a convolution whose image or volume (two or three positional axes) reaches a `flatten` and
then a fully connected layer without ever being downsampled: no pooling and no stride on any path
from the input, so the flattened map keeps the input's resolution but for what unpadded windows
trimmed. Maps of fewer than 256 positions (16×16) are left alone: an 8×8 digit needs no pooling.
So are heads that read the map position by position on purpose: one or two channels left by a 1×1
convolution, or as many outputs as positions (AlphaGo Zero's policy and value heads on the 19×19
board, a move per point).
The finding sits on the last convolution before the flatten, where a stride or a pooling goes.

## Why is this bad?
A fully connected layer on a flattened map has one weight per position, channel and unit. Without
downsampling that is the whole input resolution over again: 32 channels at 56×56 give 100,352
features, and a dense layer of 240 units on them holds 24 million weights, nearly all of the
model, which it must learn from position-specific evidence. The convolutions' point, features that
do not care where they are, is lost at the last step, and the model overfits and trains slowly.
Pooling or strided convolutions shrink the map a few times before it is flattened (LeNet flattens
5×5 maps, AlexNet 6×6, VGG 7×7), or global average pooling removes the positions altogether.
A network whose only downsampling is missing has the fault NeuraLint calls a lack of pooling.

## Example
```yaml
input: [1, 64, 64]
layers:
  - conv2d: {out: 16, kernel: 3}
  - relu
  - flatten
  - linear: 10
```

Use instead:
```yaml
input: [1, 64, 64]
layers:
  - conv2d: {out: 16, kernel: 3}
  - relu
  - maxpool2d: 4
  - flatten
  - linear: 10
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f002 (lack of pooling).
- DeepLocalize (Wardat et al., ICSE 2021) GitHub benchmark, hotdog-sandwich: three stride-1 convolutions
  flattened into 100,352 features; the fix strides them by 4, 2 and 2.
- Lin, Chen, Yan, "Network In Network", ICLR 2014: global average pooling instead of fully connected layers.
"""

from __future__ import annotations

from collections.abc import Iterator
from math import prod

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: positions a flattened map needs before its size is worth a warning (16×16)
MIN_POSITIONS = 256


def check(ctx: Context) -> Iterator[Finding]:
    fields, _ = ctx.receptive_fields
    conv: LayerNode | None = None  # the last convolution before the current layer
    for i, node in enumerate(ctx.layers):
        if Trait.WEIGHTED in node.layer.TRAITS and isinstance(node.layer.geometry(node.in_shape), tuple):
            conv = node
        if conv is None or not _flattens(node):
            continue
        field, positions = fields.get(node), node.in_shape[1:]
        if field is None or not field.local or not all(symbolic.is_int(d) for d in positions) \
                or prod(positions) < MIN_POSITIONS or not all(symbolic.equal(s, 1) for s in field.stride):
            continue
        dense = next((later for later in ctx.layers[i + 1:] if Trait.WEIGHTED in later.layer.TRAITS), None)
        if dense is None or len(dense.in_shape) != 1 or not symbolic.equal(dense.in_shape[0], node.out_shape[0]):
            continue
        if _reads_positions(node, dense):
            continue
        weights = ctx.model.counts[dense].params
        size, full = "×".join(map(str, positions)), "×".join(symbolic.fmt(d) for d in ctx.graph.input_shape[1:])
        features = node.out_shape[0]
        yield Finding(conv.loc, f"nothing pools or strides up to `{conv.path}` ({conv.kind}) and its map is flattened "
                      f"at {size} (the input is {full}) into `{dense.path}` ({dense.kind}): {features:,} features"
                      + (f" and {weights:,} weights, one per position" if symbolic.is_int(weights) else ""),
                      hint=_hint(len(positions), dense))


def _reads_positions(flat: LayerNode, dense: LayerNode) -> bool:
    """A head that reads the map position by position on purpose: one or two channels left by a 1×1 reduction
    (AlphaGo Zero's and KataGo's policy and value heads on the 19×19 board), or an output per position (a move
    per point): the board's resolution is the prediction's."""
    channels, positions = flat.in_shape[0], prod(flat.in_shape[1:])
    outputs = dense.out_shape[0] if dense.out_shape else 0
    return (symbolic.is_int(channels) and channels <= 2) or (symbolic.is_int(outputs) and outputs >= positions)


def _flattens(node: LayerNode) -> bool:
    """A view of an image or volume (two or three positional axes) as one vector (`flatten`)."""
    return Trait.ALIASES in node.layer.TRAITS and len(node.in_shape) in (3, 4) and len(node.out_shape) == 1


def _hint(axes: int, dense: LayerNode) -> str:
    return (f"downsample between the convolutions (`- maxpool{axes}d: 2` after one, or `stride: 2`), "
            f"or pool globally (`- global_avgpool{axes}d`) instead of flattening before `{dense.path}`")
