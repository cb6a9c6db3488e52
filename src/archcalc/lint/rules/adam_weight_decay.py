"""Adam with `weight_decay`: L2 regularisation that Adam's scaling weakens; AdamW decouples it.

## What it does
Reports `optimizer: adam` together with `weight_decay` > 0, and `nadam` or `radam` with
`weight_decay` > 0 and without `decoupled_weight_decay: true`.

## Why is this bad?
`torch.optim.Adam` adds λw to the gradient (L2 regularisation), and Adam then divides every
gradient component by its running root-mean-square √v. Weights with large or frequent gradients are
therefore decayed much less than λ says, so the regularisation is uneven and weaker than intended.
AdamW applies the decay to the weights directly ("decoupled weight decay"), which generalises
better and makes λ independent of the learning rate schedule. NAdam and RAdam are Adam with other
step coefficients and add λw to the gradient the same way unless `decoupled_weight_decay: true`, their
own AdamW form. Adamax and Adadelta also divide the L2 gradient by a running scale, but torch has no
decoupled form of them to offer, so they are not reported.

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
SPELLED = {"adam": "Adam", "nadam": "NAdam", "radam": "RAdam"}


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is None or train.weight_decay <= 0:
        return
    name = train.optimizer.name
    if name == "adam":
        hint = "use optimizer: adamw (decoupled weight decay) with the same hyperparameters"
    elif name in ("nadam", "radam") and not train.optimizer.hyper["decoupled_weight_decay"]:
        hint = f"add decoupled_weight_decay: true to {name}'s hyperparameters (torch's AdamW-style decay)"
    else:
        return
    yield Finding(ctx.train_loc("weight_decay"), f"{name} with weight_decay {train.weight_decay:g} adds L2 to the "
                  f"gradient, which {SPELLED[name]}'s per-parameter scaling then weakens unevenly", hint=hint)
