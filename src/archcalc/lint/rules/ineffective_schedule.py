"""A learning-rate schedule that does not do what it is for within the run's epochs.

## What it does
Reports a `train: scheduler` whose decay never happens in the spec's `epochs` (a `step_size`, or
every milestone, at or past the epochs left after the warm-up, or a warm-up that leaves the schedule
one epoch), milestones past the end of the run, a `gamma` of 1 or more (the rate stays or grows at
each "decay"), a cosine whose `eta_min` is not below the learning rate, a cosine whose `T_max` ends
more than one epoch before the run does (`T_max` one short of the run ends exactly at `eta_min`, as
recipes choose), and one so long that the last epoch keeps 90 % of the rate's way down; a `linear`
schedule whose `start_factor` and `end_factor` are equal, a `polynomial` of `power` 0, and either with a
`total_iters` so long that the last epoch has gone less than 10 % of its way, or, where it ends at 0 (a
`polynomial`, a `linear` to `end_factor` 0), so short that epochs train at rate 0 (torch's default
`total_iters` is 5); a `cosine_restarts` whose `eta_min` is not below the learning rate. (A `plateau` that never
lowers the rate is T116's; a `onecycle`, stepped every batch, and the restarts' cycles are T117's.)

## Why is this bad?
A schedule is there to lower the learning rate as training converges: large steps early to move
fast, small ones late to settle into a minimum. torch steps a schedule once per epoch here, and each
of these settings leaves the rate where it was, or moves it the wrong way:

- `step_size` or milestones counted in optimizer steps (or copied from a 90-epoch ImageNet recipe)
  while the run lasts 20 epochs: the rate never decays, and the run trains at the full rate to the end;
- `gamma` ≥ 1 multiplies the rate by at least 1 at each decay: constant, or growing towards divergence;
- cosine with `eta_min` ≥ lr: the "annealing" stays flat or rises;
- cosine with `T_max` shorter than the run: `CosineAnnealingLR` is periodic, so after T_max epochs
  at η_min the rate climbs back up to lr over the next T_max epochs, undoing the annealing just as
  training should settle (set `T_max` to the epochs after the warm-up, which is its default here).

Milestones and step sizes count from the end of the warm-up (torch's `SequentialLR`), which this rule
takes into account.

## Example
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  optimizer: {sgd: {lr: 0.1, momentum: 0.9}}
  epochs: 20
  scheduler: {multistep: {milestones: [30, 60, 80]}}
```

Use instead:
```yaml
input: [64]
layers: [linear: 32, relu, linear: 10]
train:
  optimizer: {sgd: {lr: 0.1, momentum: 0.9}}
  epochs: 20
  scheduler: {multistep: {milestones: [10, 15]}}
```

## References
- `torch.optim.lr_scheduler` (StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR, LinearLR, PolynomialLR,
  SequentialLR).
- Loshchilov & Hutter, "SGDR: Stochastic Gradient Descent with Warm Restarts", ICLR 2017 (the cosine).
- Goyal et al., "Accurate, Large Minibatch SGD", 2017 (warm-up, then step decays at milestones).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: the share of its way down a cosine may keep at its last epoch before "it hardly decays"
KEPT = 0.9
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    rule = train.scheduler if train is not None else None
    if rule is None or rule.per_batch:  # onecycle, stepped every batch, is T117's
        return
    settings, lr = rule.settings, train.optimizer.lr
    left = train.epochs - rule.warmup_epochs  # the epochs the schedule itself runs
    after = f" after the {rule.warmup_epochs}-epoch warm-up" if rule.warmup_epochs else ""

    def at(key: str):
        return rule.locs.get(key, rule.loc)

    gamma = settings.get("gamma")
    if left == 1 and rule.warmup_epochs:  # the schedule's own first epoch runs at lr: nothing decays
        yield Finding(at("warmup_epochs"), f"the {rule.warmup_epochs}-epoch warm-up leaves the schedule one of the "
                      f"{train.epochs} epochs, which runs at the full learning rate: the rate never decays",
                      hint="fewer warmup_epochs (a warm-up is usually 5 % to 10 % of the run), or more epochs")
    elif left == 1:
        yield Finding(rule.loc, "a run of 1 epoch never steps the schedule: it trains at the full learning rate",
                      hint="more epochs, or leave the scheduler out")
    elif gamma is not None and gamma >= 1:
        does = "keeps the learning rate as it is" if gamma == 1 else "multiplies the learning rate up"
        yield Finding(at("gamma"), f"gamma {gamma:g} {does} at every decay", hint="gamma below 1: 0.1 divides it by 10")
    elif rule.name == "step" and settings["step_size"] >= left:
        yield Finding(at("step_size"), f"step_size {settings['step_size']} is never reached: the schedule runs "
                      f"{left} epochs{after}, so the learning rate never decays",
                      hint=f"a step_size below {left} (epochs are counted per schedule step, once per epoch)")
    elif rule.name == "linear" and settings["start_factor"] == settings["end_factor"]:
        yield Finding(at("end_factor" if "end_factor" in rule.locs else "start_factor"), "start_factor and end_factor "
                      f"are both {settings['end_factor']:g}: the rate stays at {settings['end_factor']:g}·lr",
                      hint="an end_factor below start_factor decays the rate (0: down to nothing)")
    elif rule.name == "polynomial" and settings["power"] == 0:
        yield Finding(at("power"), "power 0 keeps the learning rate as it is: (1 − e/total_iters)^0 is 1",
                      hint="power: 1 decays the rate linearly to 0, 2 quadratically")
    elif rule.name in ("linear", "polynomial") and left > settings["total_iters"] and \
            (rule.name == "polynomial" or settings["end_factor"] == 0):  # epoch e runs at the factor of e
        total = settings["total_iters"]
        yield Finding(at("total_iters"), f"total_iters {total} brings the learning rate to 0 after {total} of the "
                      f"schedule's {left} epochs{after}: the last {left - total} train at rate 0 and change nothing",
                      hint=f"total_iters: {left}, so that the rate reaches 0 only after the last epoch")
    elif rule.name in ("linear", "polynomial") and left > 1:  # the share of its way the last epoch has gone
        total = settings["total_iters"]
        moved_to = rule.name == "linear" and settings["end_factor"] != 0  # a rate the last epoch may train at
        done = min(total, left - 1) / total
        moved, way = (done, "start_factor to end_factor") if rule.name == "linear" else \
            (1 - (1 - done) ** settings["power"], "lr to 0")
        if moved < 1 - KEPT:
            yield Finding(at("total_iters"), f"total_iters {total} is so much longer than the schedule's {left} epochs"
                          f"{after} that the last epoch has gone {100 * moved:.0f} % of the way from {way}: the rate "
                          "hardly changes", hint=f"total_iters: {left - 1 if moved_to else left} ends the change "
                          "at the last epoch" + ("" if moved_to else ", before the rate reaches 0"))
    elif rule.name == "multistep":
        late = [m for m in settings["milestones"] if m >= left]
        if late:
            never = len(late) == len(settings["milestones"])
            yield Finding(at("milestones"), f"milestone{'s' if len(late) > 1 else ''} {', '.join(map(str, late))} "
                          f"{'are' if len(late) > 1 else 'is'} at or past the end of the schedule's {left} epochs"
                          f"{after}"
                          + (", so the learning rate never decays" if never else ""),
                          hint=f"milestones below {left}, counted in epochs")
    if rule.name in ("cosine", "cosine_restarts") and left > 1:
        eta_min, t_max = settings.get("eta_min", 0.0), settings.get("T_max")
        if eta_min >= lr:
            yield Finding(at("eta_min"), f"eta_min {eta_min:g} is not below the learning rate {lr:g}: the cosine "
                          f"{'stays flat' if eta_min == lr else 'raises the rate'} instead of annealing it",
                          hint=f"an eta_min below {lr:g}, or 0")
        elif t_max is not None and t_max < left - 1:  # T_max = left − 1 ends the run at eta_min, as recipes do
            yield Finding(at("T_max"), f"T_max {t_max} is shorter than the schedule's {left} epochs{after}: the "
                          f"cosine reaches eta_min after {t_max} epochs and then climbs back towards lr over the "
                          f"last {left - 1 - t_max}", hint=f"T_max: {left}, or leave it out (it defaults to the "
                          "epochs after the warm-up)")
        elif t_max is not None and (kept := (1 + math.cos(math.pi * (left - 1) / t_max)) / 2) > KEPT:
            yield Finding(at("T_max"), f"T_max {t_max} is so much longer than the schedule's {left} epochs{after} "
                          f"that the last epoch still runs at {100 * kept:.0f} % of the way from eta_min to lr: the "
                          "rate hardly decays", hint=f"T_max: {left}, or leave it out (it defaults to the epochs "
                          "after the warm-up)")
