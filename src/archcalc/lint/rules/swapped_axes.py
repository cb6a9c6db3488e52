"""A layer reads the wrong axis as time or as channels: a sequence in channels-first order, or the reverse.

## What it does
Follows what the first axis of each tensor holds along the layers: channels after a convolution or
pooling (`[C, L]`, `[C, H, W]`, and `[C, H·W]` after `flatten: {start: 1}`), positions after an
embedding, a recurrent layer or attention (`[T, D]`). It reports a recurrent layer or an attention
that reads channels as its positions, and a 1-D convolution, pooling, `batchnorm1d`,
`instancenorm1d` or `dropout1d` that reads positions as its channels, when no `transpose` or
`permute` swapped them in between. Layers that keep the first axis (activations, normalisation,
dropout, `linear` on the last axis, `class_token`) carry what it holds; a reshape, a merge
(`concat`, `add`) or the spec's own input leave it unknown, and nothing is reported there, nor on a
pooled `[C, 1]` vector, which is one axis laid either way.

## Why is this bad?
PyTorch's convolutions, pools, `nn.BatchNorm1d`, `nn.InstanceNorm1d` and `nn.Dropout1d` take
channels first (`[N, C, L]`); its recurrent layers (with `batch_first`) and attention take positions
first (`[N, T, D]`). Between the two, the axes must be swapped (`x.transpose(1, 2)`); without it the
shapes often still fit, so nothing fails: an LSTM after a `conv1d` steps over the 64 channels as 64
time steps, each of which sees every position at once; a ViT whose patch grid is flattened without
the transpose attends among channels; a `batchnorm1d` after an embedding normalises each position
instead of each feature, and a `dropout1d` drops whole tokens instead of whole features; a `conv1d`
after an embedding slides along the embedding's dimensions. The model trains on the wrong structure.

## Example
```yaml
input: [3, 200]
layers:
  - conv1d: {out: 64, kernel: 5, padding: 2}
  - relu
  - lstm: {hidden: 32, output: hidden}
  - linear: 5
```

Use instead:
```yaml
input: [3, 200]
layers:
  - conv1d: {out: 64, kernel: 5, padding: 2}
  - relu
  - transpose: {dim0: 0, dim1: 1}
  - lstm: {hidden: 32, output: hidden}
  - linear: 5
```

## References
- PyTorch `nn.Conv1d` (input `(N, C, L)`), `nn.LSTM` with `batch_first=True` (input `(N, L, H_in)`)
  and `nn.MultiheadAttention` with `batch_first=True` (input `(N, L, E)`).
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "wrong tensor
  shape" and "wrong input format" among the model faults.
- Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021: patches flattened into a sequence
  of `H·W/P²` tokens of the embedding's width.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, MergeNode, Node
from archcalc.layers.base import shape_text
from archcalc.layers.batchnorm import BatchNorm
from archcalc.layers.dropout import ChannelDropout
from archcalc.layers.instancenorm import InstanceNorm
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
PREFIX = True
CHANNELS, POSITIONS = "channels", "positions"
SWAP = {CHANNELS: POSITIONS, POSITIONS: CHANNELS}


def reads(node: LayerNode) -> str | None:
    """What ``node`` takes its input's first axis to be, for a ``[A, B]`` input of which neither axis is 1 (a
    pooled vector laid either way, as ECA-Net slides a conv1d along its channels on purpose)."""
    cls = type(node.layer)
    if len(node.in_shape) != 2 or any(d == 1 for d in node.in_shape):
        return None
    if Trait.RECURRENT in cls.TRAITS or Trait.ATTENDS in cls.TRAITS:
        return POSITIONS
    if getattr(cls, "RANK", None) == 1 or isinstance(node.layer, (BatchNorm, InstanceNorm, ChannelDropout)):
        return CHANNELS  # of the norms and channel dropouts, those that take [C, L]: batchnorm1d, instancenorm1d, …
    return None


def gives(node: LayerNode, held: str | None) -> str | None:
    """What the first axis of ``node``'s output holds, when its input's holds ``held``: set by the kinds that
    lay out channels or positions, else read from the layer's own axis map (:meth:`Layer.axes`): kept when
    output axis 0 is input axis 0 (an activation, a flatten from axis 1, a class token), swapped when it is
    the other axis of a ``[A, B]`` input (a transpose or permute), unknown when it joins or drops axes."""
    cls, x, y = type(node.layer), node.in_shape, node.out_shape
    if cls.READS_IDS or Trait.ATTENDS in cls.TRAITS or (Trait.RECURRENT in cls.TRAITS and len(y) == 2):
        return POSITIONS
    if getattr(cls, "RANK", None) is not None:  # convolutions and pools keep channels first, or pool them away
        return CHANNELS if len(y) == len(x) else None
    if not x or not y:
        return None
    sources = {axis for axis, _ in node.layer.axes(x)[0]}
    if sources == {0}:
        return held
    return SWAP.get(held) if sources == {1} and len(x) == len(y) == 2 else None


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        held, source = None, None
        for node in run:
            if isinstance(node, MergeNode):  # its branches are runs of their own, and may lay axes out anyhow
                held, source = None, None
            if not isinstance(node, LayerNode):
                continue  # a residual's sum has its input's layout
            wants = reads(node)
            if wants is not None and held is not None and wants != held:
                yield _finding(node, wants, held, source)  # once: what the axis holds is unchanged by the misreading
            after = gives(node, held)
            if after != held or (after is not None and source is None):
                source = node
            held = after


def _finding(node: LayerNode, wants: str, held: str, source: Node) -> Finding:
    a, b = node.in_shape
    what = f"`{source.path}` ({source.kind}) gives {held} first"
    if wants == POSITIONS:
        message = (f"`{node.path}` ({node.kind}) reads its input {shape_text(node.in_shape)} as {a} positions of {b} "
                   f"features, but {what}: it steps over the {a} channels and reads the {b} positions as features")
    else:
        message = (f"`{node.path}` ({node.kind}) reads its input {shape_text(node.in_shape)} as {a} channels of {b} "
                   f"values, but {what}: it takes the {a} positions as channels and runs along the {b} features")
    return Finding(node.loc, message, hint=f"swap the axes first: `- transpose: {{dim0: 0, dim1: 1}}` before "
                   f"`{node.path}` gives [{b}, {a}]")
