"""A convolution or linear layer has a bias although batch norm follows it, directly or through pooling.

## What it does
Reports an affine layer (`linear`, `conv2d`, `conv_transpose2d`) with `bias: true` (the default) whose
output goes into a batch norm or instance norm layer, straight or through layers that carry a
per-channel shift through unchanged: max pooling, average pooling without padded zeros in its mean,
adaptive and global average pooling, a pad that copies the input (reflect, replicate, circular), and a
flatten to a vector. It offers to set `bias: false`. A `linear` layer counts only on a vector input: on
a sequence `[T, D]` its bias runs along D while `batchnorm1d` normalises each of the T positions (axis
0), so the bias is not cancelled. An activation or a dropout between them ends the search: relu(x + b)
depends on b, and dropout scales the bias with its random mask in training, so batch norm no longer
removes it exactly.

## Why is this bad?
Batch norm subtracts the per-channel mean (of the batch in training, the running mean in
evaluation), and a per-channel bias shifts exactly that mean: it is subtracted again, and
batch norm's own shift β does its job. Instance norm subtracts each example's own per-channel mean
over the positions, which the bias shifts just the same (with `affine: false` too: the bias is then
removed, not replaced). The maximum or mean of a window of x + b is that of x, plus b, and a
reflection of x + b is that of x, plus b, so pooling or copying padding between them changes nothing
(zeros padded in would not carry b). The bias is C wasted parameters that are still trained, stored and
exported (PyTorch's performance guide says `bias=False`, as torchvision's ResNets do). A waste, not a
fault (Keras keeps `use_bias=True` before batch norm in many published models): informational.

## Example
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1}
  - batchnorm2d
  - relu
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu
```

## Fix safety
Safe: the network computes the same function (the batch norm cancels the bias in training and in
evaluation); only the parameter count drops by C per layer. Checkpoints saved with the bias will no
longer load with `strict=True`. The fix is offered only when every place built from the line is
followed by batch norm (a layer inside a block may be followed by different layers at each call),
when `bias` is written as a literal (not an expression), and never in YAML that an anchor shares
with other layers (`conv2d: *conv`, `conv2d: {<<: *conv}`): that edit would change them too.

## References
- PyTorch Performance Tuning Guide, "Disable bias for convolutions directly followed by a batch norm".
- Ioffe & Szegedy, "Batch Normalization", ICML 2015, §3.2: the bias "can be ignored" since its effect is
  cancelled by the subsequent mean subtraction.
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f005 (which looks up to three layers on, whatever
  lies between).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode, Node
from archcalc.layers.base import Layer
from archcalc.layers.batchnorm import BatchNorm
from archcalc.layers.conv_transpose import ConvTranspose
from archcalc.layers.flatten import Flatten
from archcalc.layers.instancenorm import InstanceNorm
from archcalc.layers.pad import Pad
from archcalc.layers.pool import AdaptiveAvgPool, AvgPool, GlobalAvgPool, MaxPool
from archcalc.layers.traits import Trait
from archcalc.lint import fixes
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding

SEVERITY = INFO
#: runs on the layers that built when a later one does not
PREFIX = True
FIXABLE = True


def check(ctx: Context) -> Iterator[Finding]:
    followed: dict[LayerNode, LayerNode] = {}
    for run in ctx.chains:
        for i, a in enumerate(run):
            if isinstance(a, LayerNode) and Trait.WEIGHTED in a.layer.TRAITS and a.layer.config().get("bias") is True \
                    and _bias_per_channel(a):
                b = next((node for node in run[i + 1:] if not _keeps_shift(node)), None)
                if isinstance(b, LayerNode) and isinstance(b.layer, (BatchNorm, InstanceNorm)):
                    followed[a] = b
    if not followed:
        return
    written: dict[tuple[int, int], list[LayerNode]] = {}
    for node in ctx.layers:
        written.setdefault((node.loc.line, node.loc.col), []).append(node)
    for a, b in followed.items():
        channels, between = a.out_shape[0], _between(ctx.chains, a, b)
        count = f"{channels:,}" if symbolic.is_int(channels) else symbolic.fmt(channels)
        norm = "instance norm" if isinstance(b.layer, InstanceNorm) else "batch norm"
        hint = (f"set bias: false (the {norm}'s shift β takes its place)" if b.layer.config().get("affine", True)
                else f"set bias: false (the {norm} subtracts the mean, and with it any constant shift)")
        fix = None
        item = ctx.item(a)
        if not all(n in followed for n in written[(a.loc.line, a.loc.col)]):
            hint += f"; not fixed automatically: another layer built from this line is not followed by {norm}"
        elif item is not None:
            edits = ctx.set_argument(item, "bias", "false")
            fix = fixes.fix("set bias: false", *edits) if edits else None
            if fix is None and ctx.shares(item):
                hint += "; not fixed automatically: its arguments are shared with other places through a YAML " \
                        "anchor or merge key"
        yield Finding(ctx.arg_loc(a, "bias"), f"`{a.path}` ({a.kind}) has a bias that `{b.path}` ({b.kind}) "
                      f"{between} cancels: {count} wasted parameters", hint=hint, fix=fix)


def _bias_per_channel(node: LayerNode) -> bool:
    """Whether the layer's bias is one value per channel (axis 0), the axis batch norm normalises.

    A convolution (a layer with a sliding-window geometry, or a transposed one) adds its bias per output channel;
    any other
    affine layer (linear) along its last axis, which is the channel axis only for a vector: on a
    sequence [T, D] batch norm normalises each of the T positions while the bias runs along D.
    """
    return isinstance(node.layer.geometry(node.in_shape), tuple) or isinstance(node.layer, ConvTranspose) \
        or len(node.out_shape) == 1


def _keeps_shift(node: Node) -> bool:
    """Whether a per-channel constant added to the layer's input comes out of it unchanged (max or mean of windows
    without padded zeros in the mean, a pad of copies, a flatten to a vector): a batch norm after it removes it."""
    layer = node.layer if isinstance(node, LayerNode) else None
    if isinstance(layer, Pad):
        return layer.mode != "constant"
    if isinstance(layer, AvgPool):
        return not layer.config().get("count_include_pad", True) or all(p == 0 for p in _pads(layer))
    return isinstance(layer, (MaxPool, AdaptiveAvgPool, GlobalAvgPool)) \
        or (isinstance(layer, Flatten) and len(node.out_shape) == 1)


def _pads(layer: Layer) -> list[object]:
    padding = layer.config().get("padding", 0)
    return list(padding) if isinstance(padding, (list, tuple)) else [padding]


def _between(chains: list[list[Node]], a: LayerNode, b: LayerNode) -> str:
    """How the finding says where the batch norm is: right after the layer, or after the pooling between."""
    run = next(run for run in chains if a in run)
    via = run[run.index(a) + 1:run.index(b)]
    return "right after it" if not via else "after " + ", ".join(f"`{n.path}` ({n.kind})" for n in via)
