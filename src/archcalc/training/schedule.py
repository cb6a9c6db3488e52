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
- ``polynomial``: lr·(1 − min(e, n)/n)^p, n ``total_iters``, p ``power`` (``PolynomialLR``).

A warm-up of ``warmup_epochs`` w first raises the rate linearly from lr·f (f = ``warmup_start_factor``)
towards lr: lr·(f + (1 − f)·e / w) for e < w (``LinearLR``); the schedule then starts from its own first
epoch (torch's ``SequentialLR`` with one milestone at w), so its step sizes and milestones count from
the end of the warm-up. torch computes the same rates by multiplying step by step; the two agree to the
last bit or two (a test compares them with torch's own schedulers).

:class:`Plateau` is ``ReduceLROnPlateau``: its rate depends on the validation numbers it has been given, so
it is a state (the best number, the epochs without improvement, the cooldown, the rate), stepped with each
epoch's record, saved in checkpoints, and computed with torch's own operations, so its rates are torch's
exactly for the same numbers.

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

    def after_epoch(self, record: dict) -> None:
        """The end of an epoch (``record``, the loop's): nothing to remember, the rate follows the epoch."""


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
