"""Momentum, Adam's betas, RMSProp's alpha or dampening is outside [0, 1), or Nesterov lacks momentum.

## What it does
Reports the core's `bad-momentum` error: a moving-average coefficient outside [0, 1) (the
conditions under which `torch.optim` raises), Adadelta's `rho` outside [0, 1] (torch accepts 1, with
which Adadelta's averages stay 0 and it takes plain SGD steps), or `nesterov: true` without
momentum > 0 and dampening 0.

## Why is this bad?
Momentum and Adam's moments are exponential moving averages v ← β·v + (1 − β)·g. With β ≥ 1 the
average never forgets (β = 1) or grows without bound (β > 1); with β < 0 it oscillates in sign.
Nesterov's look-ahead step is defined only with momentum.

## Example
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {sgd: {lr: 0.01, momentum: 1.0}}
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {sgd: {lr: 0.01, momentum: 0.9}}
```

## References
- The lecture notes on backpropagation and optimisation: momentum,
  Nesterov, Adam's moments.
- Kingma & Ba, "Adam: A Method for Stochastic Optimization", ICLR 2015: β₁, β₂ ∈ [0, 1).
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
