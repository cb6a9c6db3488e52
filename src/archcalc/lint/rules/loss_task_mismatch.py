"""The loss does not fit the task: MSE for a classification, cross-entropy for a regression.

## What it does
Reports `train:` with `task: classification` and `loss: mse`, or `task: regression` and a
classification loss (`cross_entropy`, `bce`, `bce_with_logits`).

## Why is this bad?
Cross-entropy is the maximum-likelihood loss for class labels: its gradient stays large while the
prediction is wrong. MSE on class scores penalises the distance to one-hot vectors; combined with a
softmax or sigmoid its gradient vanishes exactly when the prediction is confidently wrong, so
classifiers train slowly and calibrate poorly. The other way round, cross-entropy treats a
regression's real-valued targets as class indices or probabilities, which they are not.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
train:
  task: classification
  classes: 3
  loss: mse
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
train:
  task: classification
  classes: 3
  loss: cross_entropy
```

## References
- The lecture notes on backpropagation and optimisation: MSE for regression,
  cross-entropy for classification.
- Golik, Doetsch, Ney, "Cross-Entropy vs. Squared Error Training", Interspeech 2013.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
CLASSIFICATION_LOSSES = ("cross_entropy", "bce", "bce_with_logits")


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is None:
        return
    if train.task == "classification" and train.loss == "mse":
        yield Finding(ctx.train_loc("loss"), "mse on a classification: squared error on class scores learns slowly "
                      "and its gradient vanishes when a prediction is confidently wrong",
                      hint="use loss: cross_entropy (one logit per class) or bce_with_logits (two classes, one output)")
    elif train.task == "regression" and train.loss in CLASSIFICATION_LOSSES:
        yield Finding(ctx.train_loc("loss"), f"{train.loss} on a regression: it treats the targets as class labels or "
                      "probabilities, not real values",
                      hint="use loss: mse, or task: classification if the targets are classes")
