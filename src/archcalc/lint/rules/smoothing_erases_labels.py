"""Label smoothing of 1: every target is uniform, so the labels no longer reach the loss.

## What it does
Reports `cross_entropy` with `label_smoothing: 1`, which PyTorch accepts.

## Why is this bad?
Label smoothing trains towards q = (1 − ε)·one-hot + ε/C over the C classes: the labelled class gets
1 − ε + ε/C and every other class ε/C. At ε = 1 both are 1/C: every example's target is the uniform
distribution whatever its label, so the loss no longer depends on the labels and the network learns
nothing from them (its best output is 1/C everywhere). Below 1 the labelled class keeps the larger
share (at ε = 0.9 over ten classes, 0.19 against 0.09 each), so smoothing is then a matter of degree;
the recipes that smooth use 0.1 (Szegedy et al. 2016) and rarely more than 0.3.

## Example
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  loss: {cross_entropy: {label_smoothing: 1}}
```

Use instead:
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  loss: {cross_entropy: {label_smoothing: 0.1}}
```

## References
- Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016, section 7.
- Müller, Kornblith & Hinton, "When Does Label Smoothing Help?", NeurIPS 2019.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding

SEVERITY = ERROR
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.objective
    if train is None or train.loss != "cross_entropy" or train.loss_params.get("label_smoothing", 0.0) < 1:
        return
    yield Finding(ctx.train_loc("loss"), "label_smoothing 1 makes every target the uniform distribution whatever "
                  "its label: the loss no longer depends on the labels", hint="label_smoothing: 0.1, or leave it out")
