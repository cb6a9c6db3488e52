"""The number of output units does not match `train: classes`.

## What it does
Reports a classification whose output has a channel count other than the one its loss needs: `classes` logits for
`cross_entropy` (and for `bce`/`bce_with_logits` with more than two classes: one output per label), and 1 output for
`bce`/`bce_with_logits` with two classes, unless `multi_label: true` says each of the two is a label of its own. With
`multi_label: true`, the labels may also fill the whole output, one per value (a 3×3 grid of yes/no cells is 9 labels
on `[1, 3, 3]`): the binary losses compare outputs and targets element by element. It points at the `out:` of the last
affine layer, which sets that count. An output of several axes trained with `cross_entropy` or `nll` and no
`class_axis` may hold a class per position (a language model's `[T, V]`, a segmentation's `[C, H, W]`), and training
finds the class axis from the targets' shape: it is reported only when no axis has `classes` scores. (An unpooled
classifier whose `[64, 7, 7]` output meets `classes: 7` on a spatial axis is therefore not reported: the linter does
not see the targets; `class_axis: 0` makes the rule read the channels.) `dice` takes one probability per class, or one
in all for two classes (a binary mask). The binary losses and dice may also score each position of a `[T, 1]` or `[T,
labels]` output (a frame's yes/no or labels). The hinges and `soft_margin` take one score for two classes or one per
class, `multi_margin` and `categorical_hinge` one per class. Without `classes`, `cross_entropy` over a single output
(Keras' `Dense(1)` under `categorical_crossentropy`) is reported, its loss always 0, as are the two multi-class
margins over one: no other class to compare.

## Why is this bad?
With fewer outputs than classes, PyTorch's cross-entropy fails on the first target ≥ the number of
outputs ("Target 9 is out of bounds"); with more, the extra outputs are trained to never win and
waste parameters, and the evaluation reports a different class set than the data has. Either way
the head was sized for another dataset, typically a pretrained 1000-class ImageNet head. The
softmax of one score is 1: cross-entropy over one output is 0 for every sample, and learns nothing.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 2
train: {task: classification, classes: 3}
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
train: {task: classification, classes: 3}
```

## References
- PyTorch `torch.nn.CrossEntropyLoss`: input (N, C), targets in [0, C).
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "wrong defined output shape".
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.base import numel, shape_text
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding
from archcalc.spec.train import DENSE_LOSSES, SIGN_LOSSES

SEVERITY = ERROR
BINARY_LOSSES = ("bce", "bce_with_logits")
KEEP = {"softmax": "{cross_entropy: {inputs: probabilities}}", "sigmoid": "cross_entropy without the final sigmoid"}
OVERLAP_LOSSES = ("dice",)  # one probability per class, or one in all for two classes (a binary mask)
CLASS_MARGIN_LOSSES = ("multi_margin", "categorical_hinge")  # the true class's lead over the others' scores
UNIT = {"dice": "probability", **dict.fromkeys((*SIGN_LOSSES, *CLASS_MARGIN_LOSSES), "score")}  # else a logit


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.objective
    out = ctx.graph.output_shape
    if train is None or train.task != "classification" or train.loss == "mse" or not out:
        return
    if train.classes is None:
        yield from _one_score(ctx, out)
        return
    if train.class_axis is None and len(out) > 1 and not train.multi_label and train.loss in DENSE_LOSSES:
        yield from _per_position(ctx, out)
        return
    axis = train.class_axis if train.class_axis is not None else 0  # the class scores' (outside: E301)
    if not -len(out) <= axis < len(out) or not symbolic.is_int(units := out[axis]):
        return
    if train.multi_label and len(out) > 1 and symbolic.is_int(total := numel(out)) and total == train.classes:
        return  # one label per output value, wherever it sits: the binary losses are elementwise
    if train.multi_label:
        expected, why = train.classes, f"a multi-label classification of {train.classes} labels needs one output " \
            "per label"
    elif train.loss in BINARY_LOSSES and train.classes == 2:
        expected, why = 1, f"{train.loss} with 2 classes needs 1 output (the probability of the positive class)"
    elif train.loss in BINARY_LOSSES:
        expected, why = train.classes, f"{train.loss} with {train.classes} labels needs one output per label"
    elif train.loss in OVERLAP_LOSSES + SIGN_LOSSES and train.classes == 2 and units == 1:
        return  # one probability (or score) of the positive class, as bce takes it (dice: a binary mask)
    else:  # a margin loss also takes a score per class for two, each against the other
        expected, why = train.classes, f"{train.loss} needs one {UNIT.get(train.loss, 'logit')} per class"
    if units == expected or (train.class_axis is None and train.loss in BINARY_LOSSES + OVERLAP_LOSSES
                             and any(d == expected for d in out)):
        return  # or one per position, as elementwise losses allow (a frame's yes/no, a frame's labels)
    head = next((node for node in reversed(ctx.output_run) if Trait.WEIGHTED in node.layer.TRAITS
                 and symbolic.is_int(node.out_shape[0]) and node.out_shape[0] == units), None)
    where = ctx.arg_loc(head, "out") if head is not None else ctx.train_loc("classes")
    scores = f"{units} value{'s' if units != 1 else ''} per sample" if len(out) == 1 else \
        f"{units} score{'s' if units != 1 else ''} on its class axis (axis {axis} of {shape_text(out)})"
    hint = f"set out: {expected}" + (f" on `{head.path}`" if head is not None else "") + " (or correct classes:)"
    if units == 1 and train.classes == 2 and train.loss in DENSE_LOSSES and not train.multi_label:
        hint += f", or keep the one output for the yes/no answer and use loss: {_binary(ctx)}"
    elif units == 2 == train.classes and train.loss in BINARY_LOSSES and not train.multi_label and head is not None:
        last = ctx.output_layer.kind  # Keras' Dense(2, softmax) under binary_crossentropy, or two sigmoids
        hint = f"keep the two outputs, one per class, and use loss: {KEEP.get(last, 'cross_entropy')}; or set out: " \
               f"1 on `{head.path}`" + (" and end in a sigmoid instead of the softmax" if last == "softmax" else "")
    yield Finding(where, f"the model outputs {scores} but train: says "
                  f"classes: {train.classes}; {why}", hint=hint)


def _one_score(ctx: Context, out: tuple) -> Iterator[Finding]:
    """A class-index loss over a single score, with no ``classes`` to compare it with (Keras' ``Dense(1)`` under
    ``categorical_crossentropy``): the softmax of one value is 1, and a margin over no other class is none."""
    loss, head = ctx.objective.loss, ctx.output_head
    if loss not in ("cross_entropy", *CLASS_MARGIN_LOSSES) or ctx.objective.multi_label or tuple(out) != (1,):
        return
    why = "takes the softmax over it, which is 1: the loss is 0 whatever the model predicts" if loss == \
        "cross_entropy" else "compares the true class's score with the others', of which there are none"
    yield Finding(ctx.arg_loc(head, "out") if head is not None else ctx.train_loc("loss"),
                  f"the model outputs 1 value per sample and {loss} {why}, so nothing learns",
                  hint=f"for a yes/no answer keep the one output and use loss: "
                       f"{_binary(ctx) if loss == 'cross_entropy' else 'hinge'}; for C classes set "
                       + (f"out: C on `{head.path}`" if head is not None else "C outputs") + " and classes: C")


def _per_position(ctx: Context, out: tuple) -> Iterator[Finding]:
    """An output of several axes under a class-index loss with no ``class_axis``: the class scores are on the
    axis training finds from the targets' shape (a language model's [T, V] against [T]: the last), which
    may be any; the spec is wrong only when no axis has ``classes`` scores."""
    classes = ctx.objective.classes
    if any(not symbolic.is_int(d) or d == classes for d in out):
        return
    head = ctx.output_head
    yield Finding(ctx.arg_loc(head, "out") if head is not None else ctx.train_loc("classes"),
                  f"the model outputs {shape_text(out)} per sample, and no axis of it has the {classes} class scores "
                  f"train: says (classes: {classes}); {ctx.objective.loss} needs one logit per class on one axis",
                  hint=f"set out: {classes}" + (f" on `{head.path}`" if head is not None else "") + " (or correct "
                  "classes:)")


def _binary(ctx: Context) -> str:
    last = ctx.output_layer
    return "bce (after the sigmoid)" if last is not None and last.kind == "sigmoid" else "bce_with_logits"
