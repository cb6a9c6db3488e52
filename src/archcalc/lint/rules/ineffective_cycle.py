"""A cyclic learning-rate schedule whose cycle does not do what it is for.

## What it does
Reports a `cosine_restarts` schedule (torch's `CosineAnnealingWarmRestarts`) whose run ends in the first
half of a new cycle, just after a restart raised the rate back towards `lr`; and a `onecycle` schedule
(torch's `OneCycleLR`) whose `div_factor` is 1 or less (the cycle starts at or above `max_lr`, so it never
rises). An optimizer `lr` or `momentum` written beside `onecycle` is not reported: the schedule replaces
them at every step, but a PyTorch program must still give its optimizer an `lr`, and a faithful
translation writes it.

## Why is this bad?
Warm restarts (Loshchilov & Hutter's SGDR) anneal the rate to `eta_min` over each cycle and then jump
back to `lr`. A run should end at the end of a cycle, where the rate is lowest and the weights have
settled: the paper takes its results there. Ending one or two epochs after a restart leaves the last
epochs at nearly the full rate, which undoes the annealing just before training stops.

The one-cycle policy (Smith & Topin, "Super-Convergence") starts at `max_lr / div_factor`, rises to
`max_lr` and anneals far below it: torch's `OneCycleLR` computes every step's rate from `max_lr`. A
`div_factor` of 1 or less removes the rise that gives the policy its name.

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
    """A cycle that never rises."""
    settings = rule.settings
    if settings["div_factor"] <= 1:
        yield Finding(rule.locs["div_factor"], f"div_factor {settings['div_factor']:g} starts the cycle at max_lr / "
                      f"{settings['div_factor']:g}, not below max_lr: the rate never rises",
                      hint="div_factor: 25 (torch's default) starts the cycle at max_lr / 25")
