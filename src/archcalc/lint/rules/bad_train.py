"""A value in `train:` is not one archcalc (or PyTorch) accepts.

## What it does
Reports the core's `bad-train` error: an unknown task, loss or optimizer, a batch size or epoch
count below 1, a classification with one class, hyperparameters of the wrong type, a negative
`eps`, `lr_decay`, `momentum_decay` or `min_delta`.

## Why is this bad?
The training setup is exported with the network; a value PyTorch would refuse (or misread) fails
the training run only after the model has been built. It is refused here, at its line.

## Example
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: adamm
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: adamw
```

## References
- `torch.optim`: the optimizers and their hyperparameters.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
