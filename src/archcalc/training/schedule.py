"""Learning-rate schedules: the rate of each epoch, as ``torch.optim.lr_scheduler`` sets it.

A schedule is stepped once per epoch, as torch's are in the usual loop (``scheduler.step()`` after each
epoch, ``scheduler.step(val_loss)`` for ``ReduceLROnPlateau``). Both trainers set the rate before each
epoch's first step and step the schedule after the epoch's validation
(:class:`~archcalc.training.loop.Loop`).

:class:`Schedule` holds the schedules whose rate is a function of the epoch alone, so a resumed run needs no
state beyond the epoch. The formulas are torch's closed forms, with lr the optimizer's and e the epochs before:

- ``step``: lr·γ^⌊e / step_size⌋ (``StepLR``);
- ``multistep``: lr·γ^(number of milestones ≤ e) (``MultiStepLR``);
- ``exponential``: lr·γ^e (``ExponentialLR``);
- ``cosine``: η_min + (lr − η_min)·(1 + cos(π·e / T_max))/2 (``CosineAnnealingLR``; T_max defaults to
  the run's epochs after the warm-up);
- ``linear``: lr·(s + (f − s)·min(e, n)/n), s ``start_factor``, f ``end_factor``, n ``total_iters``
  (``LinearLR``);
- ``polynomial``: lr·(1 − min(e, n)/n)^p, n ``total_iters``, p ``power`` (``PolynomialLR``);
- ``cosine_restarts``: η_min + (lr − η_min)·(1 + cos(π·T_cur / T_i))/2, where the cycles last T_0, T_0·T_mult,
  T_0·T_mult², … epochs and T_cur counts the epochs since the last restart (``CosineAnnealingWarmRestarts``).

A warm-up of ``warmup_epochs`` w first raises the rate linearly from lr·f (f = ``warmup_start_factor``)
towards lr: lr·(f + (1 − f)·e / w) for e < w (``LinearLR``); the schedule then starts from its own first
epoch (torch's ``SequentialLR`` with one milestone at w), so its step sizes and milestones count from
the end of the warm-up. torch computes the same rates by multiplying step by step; the two agree to the
last bit or two (a test compares them with torch's own schedulers).

:class:`Plateau` is ``ReduceLROnPlateau``: its rate depends on the validation numbers it has been given, so
it is a state (the best number, the epochs without improvement, the cooldown, the rate), stepped with each
epoch's record, saved in checkpoints, and computed with torch's own operations, so its rates are torch's
exactly for the same numbers.

:class:`OneCycle` is ``OneCycleLR``, the one schedule stepped after every optimizer step rather than every epoch:
its rate (and momentum) is a function of the step alone, counted over the whole run, computed with torch's own
float arithmetic, so its rates are torch's exactly.

Imports only the standard library: ``archcalc export --to numpy`` copies it into the standalone file.
"""

from __future__ import annotations

import bisect
import math


class Schedule:
    """The learning rate of each epoch (``schedule(e)``, e counting the epochs before it from 0) for a
    base rate ``lr`` and a run of ``epochs`` epochs: the method named ``name`` (one per schedule, each
    torch's closed form) with the schedule's own ``settings`` (torch's names), after the warm-up."""

    def __init__(self, name: str, lr: float, epochs: int, settings: dict | None = None, warmup_epochs: int = 0,
                 warmup_start_factor: float = 1 / 3):
        self.name, self.lr, self.settings = name, lr, dict(settings or {})
        self.warmup_epochs, self.warmup_start_factor = warmup_epochs, warmup_start_factor
        if name == "cosine" and self.settings.get("T_max") is None:
            self.settings["T_max"] = max(1, epochs - warmup_epochs)

    def __call__(self, epoch: int) -> float:
        """The learning rate of the epoch after ``epoch`` others."""
        if epoch < self.warmup_epochs:
            start = self.warmup_start_factor
            return self.lr * (start + (1 - start) * epoch / self.warmup_epochs)
        return getattr(self, self.name)(epoch - self.warmup_epochs, **self.settings)

    def step(self, epoch: int, step_size: int, gamma: float = 0.1) -> float:
        return self.lr * gamma ** (epoch // step_size)

    def multistep(self, epoch: int, milestones: list, gamma: float = 0.1) -> float:
        return self.lr * gamma ** bisect.bisect_right(sorted(milestones), epoch)

    def exponential(self, epoch: int, gamma: float) -> float:
        return self.lr * gamma**epoch

    def cosine(self, epoch: int, T_max: int, eta_min: float = 0.0) -> float:  # T_max: torch's name
        return eta_min + (self.lr - eta_min) * (1 + math.cos(math.pi * epoch / T_max)) / 2

    def linear(self, epoch: int, start_factor: float = 1 / 3, end_factor: float = 1.0, total_iters: int = 5) -> float:
        return self.lr * (start_factor + (end_factor - start_factor) * min(total_iters, epoch) / total_iters)

    def polynomial(self, epoch: int, total_iters: int = 5, power: float = 1.0) -> float:
        return self.lr * (1.0 - min(total_iters, epoch) / total_iters) ** power

    def cosine_restarts(self, epoch: int, T_0: int, T_mult: int = 1, eta_min: float = 0.0) -> float:
        t_cur, t_i = epoch, T_0  # the epochs into the current cycle, and its length (torch's T_cur and T_i)
        if T_mult == 1:
            t_cur = epoch % T_0
        while t_cur >= t_i:
            t_cur, t_i = t_cur - t_i, t_i * T_mult
        return eta_min + (self.lr - eta_min) * (1 + math.cos(math.pi * t_cur / t_i)) / 2

    def after_epoch(self, record: dict) -> None:
        """The end of an epoch (``record``, the loop's): nothing to remember, the rate follows the epoch."""


class OneCycle:
    """``OneCycleLR``: over ``total_steps`` optimizer steps (the run's epochs × batches per epoch) the rate rises
    from max_lr / ``div_factor`` to ``max_lr`` for the first ``pct_start`` of the steps, then anneals (cosine, or
    straight with ``anneal_strategy`` linear) down to max_lr / div_factor / ``final_div_factor``; with
    ``three_phase`` it first falls back to where it started, as long as it rose, and anneals from there. With
    ``cycle_momentum`` the momentum (or Adam's beta1) moves the other way, from ``max_momentum`` down to
    ``base_momentum`` at the peak and back. ``schedule(k)`` and ``momentum(k)`` are the values of the step after
    k others; torch's phases, names and arithmetic, so the values are torch's to the bit."""

    per_batch = True

    def __init__(self, max_lr: float, total_steps: int, pct_start: float = 0.3, anneal_strategy: str = "cos",
                 cycle_momentum: bool = True, base_momentum: float = 0.85, max_momentum: float = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False):
        self.total_steps, self.anneal_strategy, self.cycle_momentum = total_steps, anneal_strategy, cycle_momentum
        initial = max_lr / div_factor
        self.values = {"initial_lr": initial, "max_lr": max_lr, "min_lr": initial / final_div_factor,
                       "max_momentum": max_momentum, "base_momentum": base_momentum}
        rise = float(pct_start * total_steps) - 1
        # each phase: (its last step, the rate and the momentum it goes from and to)
        self.phases = [(rise, "initial_lr", "max_lr", "max_momentum", "base_momentum")]
        if three_phase:
            self.phases += [(float(2 * pct_start * total_steps) - 2, "max_lr", "initial_lr", "base_momentum",
                             "max_momentum"),
                            (total_steps - 1, "initial_lr", "min_lr", "max_momentum", "max_momentum")]
        else:
            self.phases.append((total_steps - 1, "max_lr", "min_lr", "base_momentum", "max_momentum"))
        for step in (0, total_steps):  # the only steps a phase of no length can fall on
            try:
                self.at(step)
            except ZeroDivisionError:
                raise ValueError(f"the onecycle schedule has a phase of no steps at step {step} of {total_steps} "
                                 f"(pct_start {pct_start:g}), where torch's OneCycleLR divides by zero") from None

    def anneal(self, start: float, end: float, pct: float) -> float:
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2.0 * (math.cos(math.pi * pct) + 1)
        return (end - start) * pct + start

    def at(self, step: int) -> tuple[float, float]:
        """The rate and the momentum of the step after ``step`` others (torch's ``get_lr`` at ``last_epoch`` step)."""
        if step > self.total_steps:
            raise ValueError(f"the onecycle schedule spans {self.total_steps} steps, not {step}")
        start = 0.0
        for i, (end, lr_from, lr_to, m_from, m_to) in enumerate(self.phases):
            if step <= end or i == len(self.phases) - 1:
                pct = (step - start) / (end - start)
                return (self.anneal(self.values[lr_from], self.values[lr_to], pct),
                        self.anneal(self.values[m_from], self.values[m_to], pct))
            start = end
        raise AssertionError("unreachable: the last phase takes every later step")

    def __call__(self, step: int) -> float:
        """The learning rate of the optimizer step after ``step`` others."""
        return self.at(step)[0]

    def momentum(self, step: int) -> float | None:
        """The momentum (or beta1) of the optimizer step after ``step`` others; None when it is not cycled."""
        return self.at(step)[1] if self.cycle_momentum else None

    def after_step(self) -> None:
        """After each optimizer step: nothing to remember, the rate follows the step."""

    def after_epoch(self, record: dict) -> None:
        """The end of an epoch: nothing, the rate follows the step."""


class Plateau:
    """``ReduceLROnPlateau``: the learning rate starts at ``lr`` and is multiplied by ``factor`` (not below
    ``min_lr``; a change smaller than ``eps`` is skipped) once ``patience`` epochs in a row have not improved
    the number ``monitor`` names in the epochs' records (``val_loss``, ``val_accuracy``), then ``cooldown``
    epochs go uncounted. An epoch improves when its number beats the best so far by more than ``threshold``:
    below best·(1 − threshold) (``mode`` min, ``threshold_mode`` rel), best − threshold (min, abs),
    best·(1 + threshold) (max, rel) or best + threshold (max, abs). torch's attribute names and arithmetic."""

    def __init__(self, lr: float, monitor: str = "val_loss", mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel", cooldown: int = 0,
                 min_lr: float = 0.0, eps: float = 1e-8):
        self.lr, self.monitor, self.mode, self.factor, self.patience = lr, monitor, mode, factor, patience
        self.threshold, self.threshold_mode, self.cooldown, self.min_lr, self.eps = (
            threshold, threshold_mode, cooldown, min_lr, eps)
        self.best = math.inf if mode == "min" else -math.inf
        self.num_bad_epochs = 0  # epochs in a row without improvement
        self.cooldown_counter = 0  # epochs of cooldown left
        self.last_epoch = 0  # epochs stepped

    def __call__(self, epoch: int) -> float:
        """The learning rate of the epoch after ``epoch`` others: the state's, which has seen exactly those."""
        if epoch != self.last_epoch:
            raise ValueError(f"the plateau schedule has seen {self.last_epoch} epochs, not {epoch}: its rate "
                             "depends on their numbers")
        return self.lr

    def after_epoch(self, record: dict) -> None:
        """The end of an epoch (``record``, the loop's): torch's ``step(record[monitor])``."""
        if record.get(self.monitor) is None:
            raise ValueError(f"the plateau schedule watches {self.monitor}, and this run has no validation data "
                             "to measure it on")
        current = float(record[self.monitor])
        self.last_epoch += 1
        if self.improves(current):
            self.best, self.num_bad_epochs = current, 0
        else:
            self.num_bad_epochs += 1
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.num_bad_epochs = 0  # epochs in cooldown are not counted
        if self.num_bad_epochs > self.patience:
            lowered = max(self.lr * self.factor, self.min_lr)
            if self.lr - lowered > self.eps:
                self.lr = lowered
            self.cooldown_counter, self.num_bad_epochs = self.cooldown, 0

    def improves(self, value: float) -> bool:
        if self.mode == "min":
            return value < (self.best * (1.0 - self.threshold) if self.threshold_mode == "rel"
                            else self.best - self.threshold)
        return value > (self.best * (self.threshold + 1.0) if self.threshold_mode == "rel"
                        else self.best + self.threshold)

    def state_dict(self) -> dict:
        """What a checkpoint keeps: the rate and the counters (torch's names)."""
        return {"lr": self.lr, "best": self.best, "num_bad_epochs": self.num_bad_epochs,
                "cooldown_counter": self.cooldown_counter, "last_epoch": self.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        for key in self.state_dict():
            setattr(self, key, state[key])
