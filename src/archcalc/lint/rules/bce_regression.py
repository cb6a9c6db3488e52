"""Binary cross-entropy on a regression whose targets lie in [0, 1]: defined, but not the usual regression loss.

## What it does
Reports `loss: bce` or `bce_with_logits` on `task: regression` when the declared `target_range`
lies within [0, 1] (pixel intensities, fractions). Targets declared outside [0, 1] are a fault
that `loss-task-mismatch` (T103) reports.

## Why is this bad?
On a target t strictly between 0 and 1 binary cross-entropy's least value is t's entropy, not 0,
and its gradient (p − t)/(p(1 − p)) weighs an error near 0 or 1 more than the same error at
mid-grey: DeepLocalize's super-resolution program, trained with it on pixel values, is fixed by
mean squared error. But it is also the loss of Bernoulli decoders, and it trains widely used
models well (the Keras blog's autoencoders, PyTorch's VAE example, both on MNIST's intensities),
so this is information, not a warning: a choice worth knowing you made.

This rule is informational and off by default; enable it with `--extend-select T114`.

## Example
```yaml
input: [784]
data: {range: [0, 1]}
layers:
  - linear: 32
  - relu
  - linear: 784
  - sigmoid
train:
  task: regression
  target_range: [0, 1]
  loss: bce
```

Use instead:
```yaml
input: [784]
data: {range: [0, 1]}
layers:
  - linear: 32
  - relu
  - linear: 784
  - sigmoid
train:
  task: regression
  target_range: [0, 1]
  loss: mse
```

## References
- Kingma & Welling, "Auto-Encoding Variational Bayes", ICLR 2014, appendix C (Bernoulli decoders).
- Loaiza-Ganem & Cunningham, "The continuous Bernoulli: fixing a pervasive error in variational
  autoencoders", NeurIPS 2019: binary cross-entropy on intensities in (0, 1) is not a normalised likelihood.
- DeepLocalize (Wardat et al., ICSE 2021), GitHub benchmark: keras-super-resolution, fixed by mse.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding
from archcalc.lint.structure import bce_on_unit_targets

SEVERITY = INFO
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    if bce_on_unit_targets(ctx.objective):
        low, high = ctx.objective.target_range
        yield Finding(ctx.train_loc("loss"), f"{ctx.objective.loss} on a regression whose targets lie in "
                      f"[{low:g}, {high:g}]: it reads them as probabilities, so its least value is their entropy, "
                      "not 0, and it weighs an error near 0 or 1 more than the same error in between",
                      hint="mse, unless the decoder is meant to be Bernoulli (a VAE's on binarised images)")
