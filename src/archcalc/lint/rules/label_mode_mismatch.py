"""The output layer or loss treats labels as exclusive when they are not, or as independent when they are exclusive.

## What it does
For a classification, compares how many labels a sample carries (`multi_label: true`: any number;
otherwise exactly one) with what the model and loss assume: a multi-label classification whose
model ends in a softmax over the classes or whose loss is `cross_entropy` or `nll`; a single-label
classification whose model ends in sigmoids (more than one) before a loss on the class distribution
(`cross_entropy` on probabilities), or, of more than two classes, that trains with `bce`,
`bce_with_logits` or a margin loss on each output (`hinge`, `squared_hinge`, `soft_margin`: one
independent yes/no per class). `multi_margin` and `categorical_hinge` take one class per sample.
Two classes with one score per sample, or per position of a map, are the binary form and pass here
(two outputs under a binary loss are T104's).

## Why is this bad?
A softmax makes the classes compete: its outputs sum to 1, so a sample with two true labels can at
best get 0.5 for each, and the loss keeps pushing one down to raise the other. Independent sigmoids
with binary cross-entropy do the opposite for one-label data: they never learn that exactly one class
is true, so several outputs can be near 1 (or none), the outputs are no distribution, and a loss on
the class distribution fed sigmoid outputs takes the log of numbers that do not sum to 1.

## Example
```yaml
input: [20]
layers:
  - linear: 32
  - relu
  - linear: 5
  - softmax
train:
  task: classification
  classes: 5
  multi_label: true
  loss: bce
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 32
  - relu
  - linear: 5
  - sigmoid
train:
  task: classification
  classes: 5
  multi_label: true
  loss: bce
```

## References
- PyTorch `torch.nn.BCEWithLogitsLoss` (multi-label: one binary problem per class) and `torch.nn.CrossEntropyLoss`
  (one class per sample).
- DeepLocalize (Wardat et al., ICSE 2021) benchmark: Stack Overflow 38648195 (softmax on multi-label data),
  51930566 and 59278771 (sigmoid outputs before categorical cross-entropy).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.softmax import OverAxis
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import applied_by_loss
from archcalc.spec.train import PROBABILITIES, SIGN_LOSSES, TrainSpec

SEVERITY = WARNING
EXCLUSIVE_LOSSES = ("cross_entropy", "nll", "multi_margin", "categorical_hinge")
INDEPENDENT_LOSSES = ("bce", "bce_with_logits", *SIGN_LOSSES)
#: the loss with competing classes that takes what each independent loss takes
COMPETING = {"bce": "cross_entropy (one logit per class)", "bce_with_logits": "cross_entropy (one logit per class)",
             **dict.fromkeys(SIGN_LOSSES, "multi_margin (the true class's raw score against each other's)")}


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or train.task != "classification":
        return
    final = node.kind if node is not None and not applied_by_loss(train, node) else None
    if train.multi_label:
        if final is not None and isinstance(node.layer, OverAxis):  # softmax, log_softmax
            yield Finding(node.loc, f"`{node.path}` ({final}) makes the classes compete, but a sample of this "
                          "multi-label classification can carry several labels: two true labels get at most 0.5 each",
                          hint="end with - sigmoid (one yes/no per label) and use loss: bce, or bce_with_logits "
                          "without the sigmoid")
        if train.loss in EXCLUSIVE_LOSSES:  # a second fault of its own line, beside a softmax at the output
            yield Finding(ctx.train_loc("loss"), f"{train.loss} expects exactly one class per sample, but the "
                          "classification is multi-label", hint="use loss: bce_with_logits (one yes/no per label)")
        return
    if train.classes is None or train.classes < 2 or (train.classes == 2 and not _several(train, node)):
        return  # two classes with one score per sample (or per position) is the binary form other rules judge
    if train.loss in INDEPENDENT_LOSSES and train.classes > 2:  # two scores for two classes: T104's to judge
        drop = f"remove the final `{node.path}` (sigmoid) and " if final == "sigmoid" else ""
        yield Finding(ctx.train_loc("loss"), f"{train.loss} treats each of the {train.classes} classes as an "
                      "independent yes/no, but each sample has exactly one: the outputs never learn that the classes "
                      f"exclude each other", hint=f"{drop}use loss: {COMPETING[train.loss]}, or say "
                      "multi_label: true if samples can carry several labels")
    elif final == "sigmoid" and train.loss == "cross_entropy" and train.takes == PROBABILITIES:
        yield Finding(node.loc, f"`{node.path}` (sigmoid) gives {train.classes} independent probabilities that do "
                      f"not sum to 1, but {train.loss} takes a distribution over the classes",
                      hint="end with - softmax, which makes the outputs a distribution over the classes")


def _several(train: TrainSpec, node: LayerNode | None) -> bool:
    """Whether the model gives a sample more than one score on its class axis: two sigmoids for two classes
    do not sum to 1 as a softmax's two outputs do (one sigmoid is the binary form, which other rules judge).
    The class axis is the only one of a flat output, or ``class_axis``; a map of one score per position (a
    segmentation's or a cellular automaton's [1, H, W]) is one binary answer per position."""
    if node is None or not node.out_shape:
        return False
    out = node.out_shape
    if len(out) == 1:
        size = out[0]
    elif train.class_axis is not None and -len(out) <= train.class_axis < len(out):
        size = out[train.class_axis]
    else:
        return False
    return symbolic.is_int(size) and size > 1
