"""The learning rate is 0 or negative.

## What it does
Reports the core's `bad-learning-rate` error: `lr` ≤ 0 (`torch.optim` raises "Invalid
learning rate"). Positive but implausible rates are `learning-rate-out-of-range` (T101).

## Why is this bad?
The update is w ← w − η·∇w L: with η = 0 nothing learns, with η < 0 the optimizer climbs the loss.

## Example
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {sgd: {lr: 0}}
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {sgd: {lr: 0.01}}
```

## References
- The lecture notes on backpropagation and optimisation: w ← w − η·∇w L.
- Goodfellow, Bengio & Courville, *Deep Learning*, MIT Press 2016, §4.3 (gradient descent) and §8.3.1 (SGD).
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
