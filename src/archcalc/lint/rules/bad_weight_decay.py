"""`weight_decay` or `l1` is negative.

## What it does
Reports the core's `bad-weight-decay` error: a negative L2 (`weight_decay`) or L1 (`l1`)
coefficient.

## Why is this bad?
Regularisation minimises J(w) = loss + λΩ(w) with λ ≥ 0 to keep weights small; a negative λ
rewards large weights and drives them to infinity.

## Example
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  weight_decay: -1.0e-4
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  weight_decay: 1.0e-4
```

## References
- The lecture notes on overfitting and regularisation: J(w) = loss + λΩ(w).
- Goodfellow, Bengio & Courville, *Deep Learning*, MIT Press 2016, §7.1 (parameter norm penalties).
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
