"""A plateau schedule that cannot lower the learning rate before the run ends.

## What it does
Reports a `train: scheduler: plateau` (torch's `ReduceLROnPlateau`) whose `patience` does not fit in the
spec's `epochs`, whose `min_lr` is not below the learning rate, whose `eps` is not below the first
reduction's size, or that early stopping, watching the same number, ends before the lowered rate has
trained a single epoch.

## Why is this bad?
A plateau schedule lowers the rate once the watched number (`val_loss`, `val_accuracy`) has failed to
improve for more than `patience` epochs in a row: the first epoch sets the best, `patience + 1` more
without improvement trigger the reduction, and the lower rate applies from the epoch after. The earliest
epoch that can train at a lowered rate is therefore epoch `patience + 3`; a shorter run never sees one,
and torch's default patience of 10 needs more than the 10 epochs a spec trains by default.

Early stopping on the same number stops `patience` epochs after the best one. Unless its patience is at
least the plateau's plus 2, the run stops before any epoch at the lowered rate, so the plateau schedule
never acts: the usual pairing (Keras' documentation, torchvision's recipes) gives the schedule the shorter
patience, for instance 5 against early stopping's 10. A `min_lr` at or above the learning rate makes
every reduction `max(lr · factor, min_lr)` a rise, which torch skips; torch also skips a reduction no
larger than `eps` (meant to ignore changes too small to matter, 1e-8 by default).

## Example
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  epochs: 30
  scheduler: {plateau: {patience: 10}}
  early_stopping: {patience: 5}
```

Use instead:
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  epochs: 30
  scheduler: {plateau: {patience: 3}}
  early_stopping: {patience: 8}
```

## References
- `torch.optim.lr_scheduler.ReduceLROnPlateau` (patience, cooldown, min_lr).
- Keras, `ReduceLROnPlateau` and `EarlyStopping` callbacks.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    rule = train.scheduler if train is not None else None
    if rule is None or rule.monitor is None:
        return
    settings, lr = rule.settings, train.optimizer.lr
    patience, first = settings["patience"], settings["patience"] + 3  # the first epoch that can run lower
    at = rule.locs.get("patience", rule.loc)
    stopping = train.early_stopping
    if settings["min_lr"] >= lr:
        yield Finding(rule.locs["min_lr"], f"min_lr {settings['min_lr']:g} is not below the learning rate {lr:g}: "
                      "the plateau schedule never lowers it", hint=f"a min_lr below {lr:g}, or 0")
    elif lr - max(lr * settings["factor"], settings["min_lr"]) <= settings["eps"]:
        yield Finding(rule.locs.get("eps", rule.loc), f"eps {settings['eps']:g} is not below the change the plateau "
                      f"schedule would make ({lr:g} to {max(lr * settings['factor'], settings['min_lr']):g}): torch "
                      "skips a change that small, so the rate never changes", hint=f"an eps below "
                      f"{lr - max(lr * settings['factor'], settings['min_lr']):g} (torch's default is 1e-8)")
    elif train.epochs < first:
        yield Finding(at, f"patience {patience} lets the plateau schedule lower the rate at the earliest for epoch "
                      f"{first} (one epoch sets the best, {patience + 1} more without improvement), but the run has "
                      f"{train.epochs}: the rate never changes", hint=f"a patience below {train.epochs - 2}, or more "
                      "epochs" if train.epochs > 2 else "more epochs")
    elif stopping is not None and stopping.monitor == rule.monitor and stopping.patience < patience + 2:
        lower = f", or a plateau patience below {stopping.patience - 1}" if stopping.patience > 1 else ""
        epochs = f"{stopping.patience} epoch{'s' if stopping.patience > 1 else ''}"
        yield Finding(at, f"early stopping ends the run {epochs} after the best {rule.monitor}, and the plateau "
                      f"schedule (patience {patience}) lowers the rate "
                      f"only after {patience + 1} without improvement: no epoch trains at the lowered rate",
                      hint=f"an early_stopping patience of at least {patience + 2}{lower}")
