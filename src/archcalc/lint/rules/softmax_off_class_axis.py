"""The model's final softmax normalises another axis than the one that holds the class scores.

## What it does
Reports a `softmax` or `log_softmax` that ends a classifier whose output has several axes, when it
normalises an axis other than the class axis: the one `train: class_axis` names, or else the only
axis of the output as long as `train: classes` (`[50, 17]` with `classes: 17`: axis 1). When no
axis, or more than one, has that size and `class_axis` is not given, the rule cannot tell and says
nothing.

## Why is this bad?
A softmax makes the values along one axis positive and sum to 1. A tagger whose output is `[T, C]`
needs a distribution over the C classes at each of the T positions (`dim: -1`); a softmax over
axis 0 instead makes each class's scores sum to 1 over the positions, so a position's "probabilities"
do not sum to 1 and compete with the other positions' rather than with the other classes. The loss
then trains the wrong distribution (a probability loss), or a second softmax over the classes is
applied on top of the first (a logits loss, which the trainers only fold into itself when it is over
the class axis). Keras' `Softmax()` takes the last axis; archcalc's and `nn.Softmax(dim=1)` the
first after the batch: the mix-up this rule catches.

## Example
```yaml
input: [50]
layers:
  - embedding: {vocab: 8000, dim: 64}
  - lstm: {hidden: 32}
  - linear: 17
  - softmax: {dim: 0}
train:
  classes: 17
  loss: {cross_entropy: {inputs: probabilities}}
```

Use instead:
```yaml
input: [50]
layers:
  - embedding: {vocab: 8000, dim: 64}
  - lstm: {hidden: 32}
  - linear: 17
  - softmax: {dim: -1}
train:
  classes: 17
  loss: {cross_entropy: {inputs: probabilities}}
```

## References
- PyTorch `nn.Softmax(dim)`: "a dimension along which Softmax will be computed (so every slice along
  dim will sum to 1)"; Keras `Softmax(axis=-1)`.
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: wrong activation of
  the output layer.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.base import shape_text
from archcalc.layers.softmax import OverAxis
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding

SEVERITY = ERROR


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or train.task != "classification" or node is None or not isinstance(node.layer, OverAxis):
        return
    shape = node.in_shape
    if len(shape) < 2:
        return
    if train.class_axis is not None:
        if not -len(shape) <= train.class_axis < len(shape):
            return  # a core error (E301)
        classes = train.class_axis % len(shape)
    else:
        matches = [i for i, d in enumerate(shape) if symbolic.is_int(d) and d == train.classes]
        if len(matches) != 1 or not all(symbolic.is_int(d) for d in shape):
            return
        classes = matches[0]
    axis = node.layer.axis(shape)
    if axis == classes:
        return
    why = f"train: class_axis: {train.class_axis}" if train.class_axis is not None else \
        f"the only axis of size {train.classes}, as train: classes says"
    yield Finding(ctx.arg_loc(node, "dim"), f"`{node.path}` ({node.kind}) normalises axis {axis} of its "
                  f"{shape_text(shape)} input, but the class scores are on axis {classes} ({why}): each class's "
                  f"scores sum to 1 over the {symbolic.fmt(shape[axis])} values of axis {axis}, not each position's "
                  "over the classes", hint=f"dim: {classes}" + (" (or -1)" if classes == len(shape) - 1 else ""))
