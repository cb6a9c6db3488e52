"""The loss does not fit the task: a regression loss for class labels, a classification loss for real values.

## What it does
Reports `train:` with `task: classification` and a loss made for real-valued targets (`l1`, `huber`,
`smooth_l1`, `cosine`, `log_cosh`, `poisson_nll`, and `mse` on several class scores), or `task:
regression` and a loss made for class labels (`cross_entropy`, `nll`, `bce`, `bce_with_logits`, and
the margin losses `hinge`, `squared_hinge`, `soft_margin`, `multi_margin`, `categorical_hinge`).
Binary cross-entropy on a regression whose `target_range` lies within [0, 1] (pixel intensities) is
defined, and the loss of Bernoulli decoders: `bce-regression` (T114, info) notes it. Squared error
on a single output is left alone: on one probability it is the Brier score, which trains a binary
classifier, if more slowly than cross-entropy (fixed versions of real programs use it); `kl_div`
and `dice` serve both tasks.

## Why is this bad?
Cross-entropy is the maximum-likelihood loss for class labels: its gradient stays large while the
prediction is wrong. The absolute error on class probabilities has a gradient of constant size
whatever the error, so a confidently wrong prediction is corrected no faster than an almost right
one, and the optimum of the mean absolute error is the median, which for 0/1 labels is 0 or 1 with
nothing between: the outputs stop being probabilities. Squared error on K class scores fits each
score to its 0/1 target as a separate regression: nothing makes the classes compete, and behind a
softmax or sigmoid its gradient vanishes exactly when a prediction is confidently wrong. The other
way round, a classification loss treats a regression's real-valued targets as class indices or
probabilities, which they are not; a margin loss reads each target as a side, −1 or +1. The Poisson
likelihood is that of counts: on 0/1 labels it fits each output's rate on its own, and nothing makes
the classes compete.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 1
  - sigmoid
train:
  task: classification
  classes: 2
  loss: l1
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 1
  - sigmoid
train:
  task: classification
  classes: 2
  loss: bce
```

## References
- The lecture notes on backpropagation and optimisation: squared error for regression,
  cross-entropy for classification.
- Golik, Doetsch, Ney, "Cross-Entropy vs. Squared Error Training", Interspeech 2013.
- DeepFD (Cao et al., ICSE 2022): a wrong loss function is one of its five fault types (its benchmark's
  Stack Overflow 31556268 trains XOR with the mean absolute error).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import bce_on_unit_targets
from archcalc.spec.train import LOSS_KINDS

SEVERITY = WARNING
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True
#: what a loss that serves one task does to the other's targets
WHY = {
    "classification": "it treats the targets as class labels or probabilities, not real values",
    "regression": "its gradient has the same size however wrong a prediction is, and its optimum for 0/1 labels "
                  "is 0 or 1, not a probability",
}
#: losses whose harm to the other task's targets is their own
WHY_OF = {
    "poisson_nll": "it is the likelihood of counts: it fits each output's rate to its 0/1 targets on its own, and "
                   "nothing makes the classes compete",
    "log_cosh": "it fits each output to its 0/1 target as a separate regression (squared error near it, absolute "
                "farther away): nothing makes the classes compete",
}


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.objective
    if train is None:
        return
    serves = LOSS_KINDS[train.loss].task
    if train.loss == "mse":
        out = ctx.graph.output_shape
        if train.task != "classification" or not out or not symbolic.is_int(out[0]) or out[0] < 2:
            return
        yield Finding(ctx.train_loc("loss"), f"mse on a classification with {out[0]} class scores: it fits each score "
                      "to 0 or 1 as a separate regression, and its gradient vanishes when a prediction is confidently "
                      "wrong", hint="use loss: cross_entropy (one label per sample) or bce_with_logits (several)")
        return
    if serves is None or serves == train.task:
        return
    if train.task == "regression":
        if bce_on_unit_targets(train):  # defined there: T114 notes it
            return
        hint = "use loss: mse (or l1, huber), or task: classification if the targets are classes"
    else:
        hint = "use loss: cross_entropy (one output per class) or bce_with_logits (one output for two classes)"
    why = WHY_OF.get(train.loss) if train.task == "classification" else None
    yield Finding(ctx.train_loc("loss"), f"{train.loss} on a {train.task}: {why or WHY[serves]}", hint=hint)
