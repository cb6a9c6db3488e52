"""The paths joined by a residual addition or a concat see the input on different grids.

## What it does
Reports a residual or concat whose paths do not share one receptive-field grid, as
`archcalc rf` computes it (the warnings it prints): paths with different effective strides
(`rf-varies`: the joined output is computed on two grids, so its field changes from one output
to the next) or with the same stride but centres at least half a step of that stride apart
(`rf-misaligned`: output 0 of one path is then as near to output 1 of the other as to its own
output 0). Same-shaped paths can still disagree this way, so the core accepts them. A smaller
shift, such as ResNet-D's shortcut (2×2 average pooling of stride 2, then a 1×1 convolution,
beside a 3×3 stride-2 body: centres half an input pixel, a quarter of a step, apart), pairs every
position with its nearest neighbour on the other path and is left alone; `archcalc rf` still
notes it. So is a misalignment a path brings by enlarging its map (`upsample`, `pixel_shuffle`, a
transposed convolution): nearest upsampling puts each coarse value at the corner of its block, and
feature pyramids (torchvision's FeaturePyramidNetwork) add such maps by design.

## Why is this bad?
An addition or concat treats position (i, j) of every path as the same place in the image. When
the paths downsample differently, or pad so that their kernels are centred differently, it adds
features of different places: a shifted, blurred sum that the next layers must undo. Residual
networks line the shortcut up with the body (a 1×1 stride-2 projection next to a 3×3 stride-2
convolution with padding 1), and the receptive-field literature uses misaligned joins as the
case where no single receptive field exists.

## Example
```yaml
input: [1, 8, 8]
layers:
  - residual:
      body: [conv2d: {out: 1, kernel: 5, stride: 2, padding: 2}]
      shortcut: [conv2d: {out: 1, kernel: 3}, relu, conv2d: {out: 1, kernel: 3}]
  - relu
```

Use instead:
```yaml
input: [1, 8, 8]
layers:
  - residual:
      body: [conv2d: {out: 1, kernel: 5, stride: 2, padding: 2}]
      shortcut: [conv2d: {out: 1, kernel: 1, stride: 2}]
  - relu
```

Once one join varies, so does every field after it, so only the first such join is reported.

## References
- Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019,
  "Handling misaligned paths" (the google-research `receptive_field` library's unaligned test network).
- The lecture notes on ResNet: the shortcut must give the body's output shape, a 1×1 convolution
  when it changes; and on convolution: each output sees a local region of the input.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, MergeNode, Node, ResidualNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import flatten

SEVERITY = WARNING
#: centres closer than this, in steps of the joined grid, pair each position with its nearest neighbour
HALF_STEP = 0.5
#: archcalc rf's warning code → what to do about it
HINTS = {
    "rf-varies": "downsample every path by the same factor (a stride-2 1×1 convolution on the shortcut where the "
                 "body strides by 2, as ResNet does)",
    "rf-misaligned": "centre the kernels alike: odd kernels with padding (kernel − 1)/2 on every path, or a 1×1 "
                     "shortcut with the body's stride",
}


def check(ctx: Context) -> Iterator[Finding]:
    if len(ctx.graph.input_shape) != 3:
        return
    for warning in ctx.receptive_fields[1]:
        if warning.shift is not None and warning.shift < HALF_STEP:
            continue
        if warning.code == "rf-misaligned" and _upsampled(warning.node):
            continue
        # archcalc rf's own words, less their last clause, which is about the table it prints
        yield Finding(warning.loc, warning.message.split("; ", 1)[0], hint=HINTS.get(warning.code))


def _upsampled(join: Node) -> bool:
    """Whether a path into ``join`` enlarges its map (a feature pyramid's top-down path, a U-Net's decoder):
    nearest upsampling by s puts each coarse value at the top-left of its s×s block, half a coarse step from
    the centre, and FPN, U-Net and their descendants add or concatenate such maps by design. A layer that
    enlarges a map (``Trait.ENLARGES``) leaves that offset as the convention of upsampling, not a mistake."""
    paths = join.branches if isinstance(join, MergeNode) else \
        [*join.body, *(join.shortcut.items if join.shortcut else [])] if isinstance(join, ResidualNode) else []
    return any(isinstance(node, LayerNode) and Trait.ENLARGES in node.layer.TRAITS for node in flatten(paths))
