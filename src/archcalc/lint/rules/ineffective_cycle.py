"""A cyclic learning-rate schedule whose cycle does not do what it is for, or that overrides a setting.

## What it does
Reports a `cosine_restarts` schedule (torch's `CosineAnnealingWarmRestarts`) whose run ends in the first
half of a new cycle, just after a restart raised the rate back towards `lr`; and a `onecycle` schedule
(torch's `OneCycleLR`) whose `div_factor` is 1 or less (the cycle starts at or above `max_lr`, so it never
rises), or under which the optimizer's own `lr`, or its `momentum` or first beta while `cycle_momentum`
is on, is written: the schedule replaces them at every step, so the written values are never used.

## Why is this bad?
Warm restarts (Loshchilov & Hutter's SGDR) anneal the rate to `eta_min` over each cycle and then jump
back to `lr`. A run should end at the end of a cycle, where the rate is lowest and the weights have
settled: the paper takes its results there. Ending one or two epochs after a restart leaves the last
epochs at nearly the full rate, which undoes the annealing just before training stops.

The one-cycle policy (Smith & Topin, "Super-Convergence") starts at `max_lr / div_factor`, rises to
`max_lr` and anneals far below it: torch's `OneCycleLR` computes every step's rate from `max_lr`, and,
with `cycle_momentum` (its default), sets the momentum (or Adam's beta1) between `base_momentum` and
`max_momentum` at every step. The optimizer's `lr` and `momentum` then never reach a single step: a spec
that writes them is probably expecting them to count (often an `lr` meant as the peak). A `div_factor`
of 1 or less removes the rise that gives the policy its name.

## Example
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  epochs: 12
  optimizer: {sgd: {lr: 0.1, momentum: 0.9}}
  scheduler: {cosine_restarts: {T_0: 10}}
```

Use instead:
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  epochs: 20
  optimizer: {sgd: {lr: 0.1, momentum: 0.9}}
  scheduler: {cosine_restarts: {T_0: 10}}
```

## References
- `torch.optim.lr_scheduler.CosineAnnealingWarmRestarts` and `OneCycleLR`.
- Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017.
- Smith & Topin, "Super-Convergence: Very Fast Training of Neural Networks Using Large Learning Rates", 2017.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    rule = train.scheduler if train is not None else None
    if rule is None:
        return
    if rule.name == "cosine_restarts":
        yield from _restarts(train, rule)
    elif rule.name == "onecycle":
        yield from _onecycle(train, rule)


def _restarts(train, rule) -> Iterator[Finding]:
    """The run's last epoch in the first half of a cycle that a restart began."""
    settings, left = rule.settings, train.epochs - rule.warmup_epochs
    t_0, t_mult = settings["T_0"], settings["T_mult"]
    ends, t_i = [t_0], t_0  # the epochs (counted after the warm-up) at which a cycle ends
    while ends[-1] < left:
        t_i *= t_mult
        ends.append(ends[-1] + t_i)
    done = [end for end in ends if end < left]  # cycles the run finishes; the last epoch is in the next
    if not done or left - 1 - done[-1] >= (ends[len(done)] - done[-1]) / 2:
        return
    into, length = left - done[-1], ends[len(done)] - done[-1]
    kept = (1 + math.cos(math.pi * (into - 1) / length)) / 2
    after = f" after the {rule.warmup_epochs}-epoch warm-up" if rule.warmup_epochs else ""
    choices = " or ".join(str(rule.warmup_epochs + end) for end in (done[-1], ends[len(done)]))
    yield Finding(rule.locs.get("T_0", rule.loc), f"the run ends {into} epoch{'s' if into != 1 else ''} into a new "
                  f"{length}-epoch cycle{after}: its last epoch trains at {100 * kept:.0f} % of the way from eta_min "
                  "back up to lr, just after a restart", hint=f"epochs: {choices}, so that the run ends with a cycle")


def _onecycle(train, rule) -> Iterator[Finding]:
    """A cycle that never rises, and the optimizer's settings it replaces at every step."""
    settings, optimizer = rule.settings, train.optimizer
    if settings["div_factor"] <= 1:
        yield Finding(rule.locs["div_factor"], f"div_factor {settings['div_factor']:g} starts the cycle at max_lr / "
                      f"{settings['div_factor']:g}, not below max_lr: the rate never rises",
                      hint="div_factor: 25 (torch's default) starts the cycle at max_lr / 25")
    if "lr" in optimizer.locs:
        yield Finding(optimizer.locs["lr"], f"{optimizer.name}'s lr {optimizer.lr:g} is never used: the onecycle "
                      f"schedule sets every step's rate from max_lr {settings['max_lr']:g}",
                      hint="drop lr; max_lr is the cycle's peak, max_lr / div_factor its start")
    written = next((key for key in ("momentum", "betas") if key in optimizer.locs), None)
    if settings["cycle_momentum"] and written is not None:
        what = "momentum" if written == "momentum" else "first beta"
        yield Finding(optimizer.locs[written], f"{optimizer.name}'s {what} is never used: the onecycle schedule "
                      f"cycles it between base_momentum {settings['base_momentum']:g} and max_momentum "
                      f"{settings['max_momentum']:g} at every step", hint=f"set base_momentum and max_momentum "
                      f"instead{', keep betas for the second' if written == 'betas' else ''}, or cycle_momentum: "
                      "false to keep it")
