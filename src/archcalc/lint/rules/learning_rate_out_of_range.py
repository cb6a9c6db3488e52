"""The learning rate is outside [1e-7, 1].

## What it does
Reports an optimizer `lr` below 1e-7 or above 1. (An `lr` of 0 or less is refused by the core:
`bad-learning-rate`, E302.)

## Why is this bad?
The update is w ← w − η·∇w L. Above 1, steps are larger than the weights themselves for almost
any network and loss, and training diverges or oscillates. Below 1e-7, η·g is smaller than half
of float32's spacing at 1 (2⁻²⁴ ≈ 6e-8) for every gradient component g below about 0.6, so on
weights of size 1 those updates round away and nothing learns. Typical rates are 0.1–0.01 for SGD
and 1e-3 for Adam.

## Example
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {sgd: {lr: 5}}
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {sgd: {lr: 0.05}}
```

## References
- The lecture notes on backpropagation and optimisation: too small is slow,
  too large diverges or oscillates.
- UMLAUT (Schoop et al., CHI 2021): learning-rate range heuristics (a static check below 1e-7).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
LOW, HIGH = 1e-7, 1.0


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is None:
        return
    optimizer = train.optimizer
    lr = optimizer.lr
    if LOW <= lr <= HIGH:
        return
    why = "steps this large make training diverge or oscillate" if lr > HIGH \
        else "updates this small are lost in float32 rounding, so nothing learns"
    yield Finding(optimizer.locs.get("lr", optimizer.loc), f"learning rate {lr:g} is outside [1e-07, 1]: {why}",
                  hint="typical values: 0.1 to 0.01 for SGD, 0.001 for Adam")
