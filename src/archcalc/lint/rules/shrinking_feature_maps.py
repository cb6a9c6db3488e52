"""A classifier's convolutional trunk has fewer feature maps after a downsampling than before it.

## What it does
Follows the main path of a classification model (`train: {task: classification}`) whose first
weight layer is a convolution, from resolution to resolution: a *stage* is the run of layers at one
spatial size, and it ends where pooling or a stride makes the size smaller. The rule compares the
number of channels each stage hands to the downsampling that ends it, and reports the layer that
leaves a stage with fewer channels than the stage before it had.

The last stage that convolves is left alone: there a classifier may map its features to one
channel per class (SqueezeNet, Network in Network) or narrow them for its fully connected head. So
is any layer inside a residual block or a branch (a bottleneck's 1×1 reduction and a MobileNet
block's projection narrow the channels *inside* a stage whose output is wide). Where the resolution
grows again (a decoder), the comparison starts over. Autoencoders and segmentation models, whose
encoders may narrow on purpose, are not classifications and are not checked.

## Why is this bad?
Each downsampling keeps a quarter of the positions (2×2 pooling); a stage that also has fewer
channels than the one before passes on an eighth of the numbers or less, although deeper layers
detect more kinds of features (parts and objects, not edges) and need more maps, not fewer. So
every standard classifier, from LeNet (6, 16) and VGG (64 … 512) to ResNet (256 … 2048), widens as
it downsamples: Szegedy et al.'s first design principle, avoid representational bottlenecks.

## Example
```yaml
input: [1, 28, 28]
data: {range: [0, 1]}
layers:
  - conv2d: {out: 32, kernel: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - conv2d: {out: 16, kernel: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - conv2d: {out: 8, kernel: 3, padding: 1}
  - relu
  - flatten
  - linear: 10
train:
  task: classification
  classes: 10
```

Use instead:
```yaml
input: [1, 28, 28]
data: {range: [0, 1]}
layers:
  - conv2d: {out: 32, kernel: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - conv2d: {out: 64, kernel: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - conv2d: {out: 128, kernel: 3, padding: 1}
  - relu
  - flatten
  - linear: 10
train:
  task: classification
  classes: 10
```

## References
- The lecture notes on convolutional architectures: the number of filters grows as the feature maps shrink.
- Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016, §2, principle 1
  (avoid representational bottlenecks).
- Simonyan & Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition", ICLR 2015:
  the width doubles after each max pooling.
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f023: the number of feature maps should grow while
  their area shrinks.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from itertools import pairwise
from math import prod

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode, Node
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import flatten

SEVERITY = WARNING


@dataclass
class Stage:
    """The layers of the main path at one spatial size: the channels they end with, the node that set those
    (the last one that changed the channel count), and whether a layer with weights (or a block) works there."""

    size: int
    channels: int
    setter: Node
    convolves: bool


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.objective is None or ctx.objective.task != "classification" or not _convolutional(ctx):
        return
    for stages in _stages(flatten(ctx.graph.root.items), len(ctx.graph.input_shape)):
        last = max((i for i, stage in enumerate(stages) if stage.convolves), default=0)
        yield from _report([(a, b) for a, b in pairwise(stages[:last]) if b.channels < a.channels])


def _stages(nodes: list[Node], rank: int) -> Iterator[list[Stage]]:
    """The stages of the main path, from each start or upsampling (a decoder's) to the next."""
    stages: list[Stage] = []
    for node in nodes:
        shape = node.out_shape
        if len(shape) != rank or not all(symbolic.is_int(d) for d in shape):
            break  # flattened, pooled to a vector, or of a size that depends on a free symbol
        channels, size = int(shape[0]), prod(int(d) for d in shape[1:])
        if size <= 1:
            break  # global pooling
        convolves = not isinstance(node, LayerNode) or Trait.WEIGHTED in node.layer.TRAITS
        if stages and size > stages[-1].size:
            yield stages
            stages = []
        if not stages or size < stages[-1].size:
            stages.append(Stage(size, channels, node, convolves))
            continue
        stage = stages[-1]
        stage.convolves |= convolves
        if channels != stage.channels:
            stage.channels, stage.setter = channels, node
    yield stages


def _report(pairs: list[tuple[Stage, Stage]]) -> Iterator[Finding]:
    for before, after in pairs:
        node, (was, now) = after.setter, ("×".join(map(str, s.setter.out_shape[1:])) for s in (before, after))
        yield Finding(node.loc, f"`{node.path}` leaves the stage at {now} with {after.channels} channels, "
                      f"fewer than the {before.channels} of the stage at {was} before it: the "
                      f"feature maps shrink from {before.channels * before.size:,} to {after.channels * after.size:,} "
                      "numbers where deeper layers need more kinds of features",
                      hint=f"give the stage at least {before.channels} channels (classifiers usually double the "
                      f"channels where they halve the resolution: {2 * before.channels})")


def _convolutional(ctx: Context) -> bool:
    """Whether the model's first weight layer slides a window (a convolution): its trunk is made of feature maps."""
    for node in flatten(ctx.graph.root.items):
        if isinstance(node, LayerNode) and Trait.WEIGHTED in node.layer.TRAITS:
            return isinstance(node.layer.geometry(node.in_shape), tuple)
    return False
