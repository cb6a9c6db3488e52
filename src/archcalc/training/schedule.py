"""Learning-rate schedules: the rate of each epoch, as ``torch.optim.lr_scheduler`` sets it.

A schedule is stepped once per epoch, as torch's are in the usual loop (``scheduler.step()`` after each
epoch), so the rate of an epoch is a function of how many epochs came before it. Both trainers set
that rate before each epoch's first step (:class:`~archcalc.training.loop.Loop`); a resumed run needs
no state beyond the epoch, so a checkpoint holds none. The formulas are torch's closed forms:

- ``step``: lr·γ^⌊e / step_size⌋ (``StepLR``);
- ``multistep``: lr·γ^(number of milestones ≤ e) (``MultiStepLR``);
- ``exponential``: lr·γ^e (``ExponentialLR``);
- ``cosine``: η_min + (lr − η_min)·(1 + cos(π·e / T_max))/2 (``CosineAnnealingLR``; T_max defaults to
  the run's epochs after the warm-up).

A warm-up of ``warmup_epochs`` w first raises the rate linearly from lr·f (f = ``warmup_start_factor``)
towards lr: lr·(f + (1 − f)·e / w) for e < w (``LinearLR``); the schedule then starts from its own first
epoch (torch's ``SequentialLR`` with one milestone at w), so its step sizes and milestones count from
the end of the warm-up. torch computes the same rates by multiplying step by step; the two agree to the
last bit or two (a test compares them with torch's own schedulers).

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
