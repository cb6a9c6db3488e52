"""Training, independent of the backend: what ``archcalc train`` hands a backend and gets back.

This package holds what every backend shares: this interface, the one training loop with its
early stopping (:mod:`.loop`), checkpoints (:mod:`.checkpoint`) and the progress line
(:mod:`.progress`). A backend contributes its step (``backends/<name>/training.py``: what one
optimizer step, an evaluation and a snapshot of the weights are) and its trainer
(``backends/<name>/trainer.py``: the spec's network, loss and optimizer on that backend, behind
:class:`Trainer`).

The command loads and splits the data (:mod:`archcalc.data`), asks the chosen backend for a
:class:`Trainer` and reports what it returns. A backend plugs in with one line in :data:`BACKENDS`
naming a module that defines ``make_trainer(model, train, seed) -> Trainer``:

- ``model`` is the built :class:`archcalc.Model`, ``train`` its :class:`~archcalc.spec.train.TrainSpec`
  (loss, optimizer and hyperparameters, batch size, L1, weight decay, early stopping), ``seed`` the
  run's seed: the trainer initialises, shuffles and drops out from it alone.
- Data arrive as NumPy arrays: ``x`` float32 shaped ``(N, *model.input_shape)``; ``y`` class
  indices (int64) for classification, float targets for regression. The trainer converts them to
  what its loss needs.
- ``fit`` trains for up to ``epochs`` epochs, reporting through :class:`Progress`, and applies the
  spec's early stopping (restoring the best weights); ``evaluate`` gives mean loss and accuracy
  (None for regression); ``state_dict`` gives the weights as arrays under PyTorch's names, which
  the command saves as ``.npz``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

from archcalc.spec.train import FLOAT32_MAX

if TYPE_CHECKING:
    import numpy as np

    from archcalc.spec.train import TrainSpec
    from archcalc.training.loop import EarlyStopping, Loop
    from archcalc.training.schedule import OneCycle, Plateau, Schedule

#: backend name → module defining ``make_trainer(model, train, seed)``
BACKENDS: dict[str, str] = {
    "numpy": "archcalc.backends.numpy.trainer",
    "torch": "archcalc.backends.torch.trainer",
}


@dataclass(slots=True)
class Splits:
    """Training, validation and test data, each ``(x, y)``."""

    train: tuple[np.ndarray, np.ndarray]
    validation: tuple[np.ndarray, np.ndarray]
    test: tuple[np.ndarray, np.ndarray]

    def sizes(self) -> dict[str, int]:
        return {"train": len(self.train[0]), "validation": len(self.validation[0]), "test": len(self.test[0])}


@dataclass(slots=True)
class Epoch:
    """One epoch's numbers: training loss and accuracy (running over its batches), validation ones, and
    the learning rate it trained with when the spec schedules it."""

    epoch: int
    loss: float
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float
    lr: float | None = None  # the epoch's learning rate, under a schedule

    @classmethod
    def of(cls, record: dict) -> Epoch:
        """The loop's record of an epoch (:class:`~archcalc.training.loop.Loop`), as an Epoch."""
        return cls(record["epoch"], record["loss"], record["accuracy"], record.get("val_loss"),
                   record.get("val_accuracy"), record["seconds"], record.get("lr"))


@dataclass(slots=True)
class Outcome:
    """The epochs run, the best by the monitored number (``val_loss`` unless the spec's early stopping
    names another; the model has that epoch's weights when early stopping is configured, the last
    epoch's otherwise), and why training ended early if it did."""

    epochs: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False  # by early stopping
    diverged: bool = False  # the loss stopped being a finite number

    @classmethod
    def of(cls, loop: Loop) -> Outcome:
        """What a finished :class:`~archcalc.training.loop.Loop` comes to."""
        return cls([Epoch.of(r) for r in loop.history], loop.best_epoch, loop.stopped_early, loop.diverged)


def early_stopping(train: TrainSpec, validating: bool = True) -> EarlyStopping:
    """The spec's ``early_stopping`` on the number it monitors; with no validation data to watch, none
    (the best epoch is then the one with the lowest training loss)."""
    from archcalc.training.loop import EarlyStopping

    rule = train.early_stopping if validating else None
    return EarlyStopping(rule.monitor, rule.patience, rule.min_delta) if rule else EarlyStopping()


def lr_schedule(train: TrainSpec, epochs: int, steps_per_epoch: int | None = None) -> Schedule | Plateau | \
        OneCycle | None:
    """The spec's learning-rate schedule for a run of ``epochs`` epochs (cosine's T_max defaults to them) of
    ``steps_per_epoch`` optimizer steps each (onecycle's cycle spans their product), from its optimizer's
    learning rate; None without one (the rate stays constant). The NumPy trainer runs it; the torch trainer runs
    torch's own scheduler (:func:`archcalc.backends.torch.training.build_scheduler`)."""
    from archcalc.training.schedule import OneCycle, Plateau, Schedule

    rule = train.scheduler
    if rule is None:
        return None
    if rule.name == "plateau":
        return Plateau(train.optimizer.lr, **rule.settings)
    if rule.per_batch:
        if steps_per_epoch is None:
            raise ValueError(f"the {rule.name} schedule is stepped per batch: it needs the batches per epoch")
        return OneCycle(total_steps=epochs * steps_per_epoch, **rule.settings)
    return Schedule(rule.name, train.optimizer.lr, epochs, rule.settings, rule.warmup_epochs, rule.warmup_start_factor)


def needs_validation(train: TrainSpec, validating: bool) -> None:
    """Refuse, located at the schedule, a run without validation data under a schedule that watches a validation
    number (plateau): the Python ``fit`` of either backend called without ``validation``."""
    from archcalc.errors import SpecError

    rule = train.scheduler
    if rule is not None and rule.monitor is not None and not validating:
        raise SpecError(rule.loc, f"the {rule.name} schedule watches {rule.monitor}, and this run has no validation "
                        "data to measure it on", code="bad-train",
                        hint="pass validation=(x, y) to fit, or take a schedule of the epochs (step, cosine, …)")


#: the largest learning rate a float32 optimizer step can take (torch converts the rate to the tensors' type)
MAX_RATE = FLOAT32_MAX


def check_schedule(train: TrainSpec, epochs: int) -> str | None:
    """Before a run of ``epochs`` epochs (``--epochs`` may differ from the spec's): a rate that leaves float32
    (``exponential: {gamma: 1.0e+100}``) is a located error; a run that ends inside the warm-up (a quick
    ``--epochs 1``, or the first part of a run resumed with more) is said in the note returned."""
    from archcalc.errors import SpecError

    rule = train.scheduler
    # plateau only ever lowers lr, which the spec's check bounds; onecycle's highest rate is max_lr, bounded too
    if rule is None or rule.monitor is not None or rule.per_batch:
        return None
    schedule = lr_schedule(train, epochs)

    def fits(epoch: int) -> bool:
        try:
            return max(schedule(epoch), rule.settings.get("eta_min", 0.0)) <= MAX_RATE
        except OverflowError:
            return False

    # the largest rate is lr (or a cosine's eta_min) unless a gamma above 1 grows it every step of the decay:
    # then the last epoch's; a search finds where it outgrows float32, however long the run (--epochs 10**20)
    if not (fits(0) and fits(epochs - 1)):
        low, high = min(rule.warmup_epochs, epochs - 1), epochs - 1  # fits(low) unless lr itself is too large
        while low < high:
            middle = (low + high) // 2
            low, high = (middle + 1, high) if fits(middle) else (low, middle)
        raise SpecError(rule.locs.get("gamma", rule.loc), f"the {rule.name} schedule's learning rate outgrows "
                        f"float32 (above {MAX_RATE:.3g}) at epoch {low + 1}", code="bad-train",
                        hint="a gamma below 1 decays the rate; above 1 it grows every epoch")
    if rule.warmup_epochs >= epochs:
        return f"this run's {epochs} epoch{'s end' if epochs != 1 else ' ends'} inside the schedule's " \
            f"{rule.warmup_epochs}-epoch warm-up: the learning rate stays below lr"
    return None


def check_cycle(train: TrainSpec, epochs: int, steps_per_epoch: int) -> None:
    """Once the data say how many batches an epoch has: a one-cycle schedule whose phases leave one of no steps
    where a step falls (pct_start × total steps of 1, or with three_phase a last phase of none), over which torch's
    OneCycleLR divides by zero, is a located error at pct_start."""
    from archcalc.errors import SpecError
    from archcalc.training.schedule import OneCycle

    rule = train.scheduler
    if rule is None or not rule.per_batch:
        return
    total = epochs * steps_per_epoch
    try:
        OneCycle(total_steps=total, **rule.settings)
    except ValueError:
        pct = rule.settings["pct_start"]
        phase = "the rise to max_lr" if float(pct * total) - 1 == 0 else "the last phase"
        raise SpecError(rule.locs.get("pct_start", rule.loc), f"pct_start {pct:g} of this run's {total} optimizer "
                        f"steps ({epochs} epoch{'s' if epochs != 1 else ''} × {steps_per_epoch} batch"
                        f"{'es' if steps_per_epoch != 1 else ''}) makes {phase} 0 steps long, and torch's OneCycleLR "
                        "divides by its length", code="bad-train", hint="another pct_start, or other epochs or "
                        "batch_size (their steps make the cycle)") from None


class Progress(Protocol):
    def batch(self, epoch: int, batch: int, batches: int, loss: float, accuracy: float | None, samples: int) -> None:
        """After each optimizer step: running mean loss and accuracy of the epoch so far, samples seen."""

    def epoch(self, record: Epoch) -> None:
        """After each epoch, with its validation numbers."""


class Trainer(Protocol):
    def fit(self, splits: Splits, epochs: int, progress: Progress) -> Outcome: ...

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float | None]: ...

    def state_dict(self) -> dict[str, np.ndarray]: ...
