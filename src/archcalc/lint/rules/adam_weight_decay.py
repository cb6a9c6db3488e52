"""Adam with `weight_decay`: L2 regularisation that Adam's scaling weakens; AdamW decouples it.

## What it does
Reports `optimizer: adam` together with `weight_decay` > 0.

## Why is this bad?
`torch.optim.Adam` adds λw to the gradient (L2 regularisation), and Adam then divides every
gradient component by its running root-mean-square √v. Weights with large or frequent gradients are
therefore decayed much less than λ says, so the regularisation is uneven and weaker than intended.
AdamW applies the decay to the weights directly ("decoupled weight decay"), which generalises
better and makes λ independent of the learning rate schedule.

This rule is informational and off by default; enable it with `--extend-select T106`.

## Example
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {adam: {lr: 0.001}}
  weight_decay: 1.0e-4
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
train:
  task: classification
  classes: 3
  optimizer: {adamw: {lr: 0.001}}
  weight_decay: 1.0e-4
```

## References
- Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019.
- The lecture notes on overfitting and regularisation: L2 / weight decay.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding

SEVERITY = INFO
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is not None and train.optimizer.name == "adam" and train.weight_decay > 0:
        yield Finding(ctx.train_loc("weight_decay"), f"adam with weight_decay {train.weight_decay:g} adds L2 to the "
                      "gradient, which Adam's per-parameter scaling then weakens unevenly",
                      hint="use optimizer: adamw (decoupled weight decay) with the same hyperparameters")
