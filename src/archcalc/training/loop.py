"""The training loop, whichever backend computes the steps: epochs of shuffled mini-batches, running
means, validation, early stopping, divergence, and the points where a run can be saved and resumed.

A backend hands :meth:`Loop.run` an object with five methods (``Steps`` in the NumPy and the torch
backend's ``training`` module):

- ``order()``: the mini-batches of a new epoch, a list of index arrays; it draws the epoch's shuffle;
- ``step(index)``: one optimizer step on those samples, returning the batch's mean loss (with the
  L1 term), how many predictions were right (0 when not classifying) and how many samples it saw;
- ``validate()``: ``(loss, accuracy or None)`` on the validation data in evaluation mode, or None
  without validation data;
- ``snapshot()`` and ``restore(snapshot)``: a copy of the weights and buffers, and putting it back;
- ``set_lr(rate)``: the optimizer's learning rate from now on (called only under a schedule).

A schedule (``Schedule``, ``Plateau`` or ``OneCycle`` of :mod:`.schedule`, or the torch backend's wrapper of
torch's own scheduler) answers ``schedule(e)``, the rate of the epoch after e others, and ``after_epoch(record)``
at the end of each epoch, after its validation (torch's ``scheduler.step()``; ``ReduceLROnPlateau`` reads the
record's validation number). A schedule whose ``per_batch`` is true (``OneCycleLR``) is stepped after every
optimizer step instead: ``schedule(k)`` is then the rate of the step after k others in the whole run (the loop's
``steps``, which a checkpoint keeps, so a resumed run takes up the cycle where it was), ``momentum(k)`` the
momentum or beta1 it cycles (None: the backend's scheduler has set it, or it is not cycled), handed to the
steps' ``set_momentum``, and ``after_step()`` follows each step (torch's ``scheduler.step()`` after
``optimizer.step()``); an epoch's record then holds the rate of its last step.

Everything the loop knows lives on the :class:`Loop` (the epoch, how far into it, its batches, the
running sums, the records, the early-stopping state), so a run saved between two steps and loaded
into a new :class:`Loop` continues exactly where it was (``archcalc train --resume``).

Imports only the standard library: ``archcalc export --to numpy`` copies it into the standalone file.
"""

from __future__ import annotations

import math
import time


class EarlyStopping:
    """The best epoch so far by the monitored number (``val_loss``, ``val_accuracy``, or the training
    ``loss`` when the records have no validation numbers), and the patience rule on it: an epoch
    improves only by more than ``min_delta``; ``patience`` epochs in a row without one stop training.
    While a patience is set, the best epoch's weights and buffers are kept to restore at the end."""

    def __init__(self, monitor: str = "val_loss", patience: int | None = None, min_delta: float = 0.0):
        self.monitor, self.patience, self.min_delta = monitor, patience, min_delta
        self.score = None  # the best monitored value so far; accuracies negated, so lower is better
        self.epoch = 0  # the epoch that reached it
        self.waited = 0  # epochs since then
        self.weights = None  # its snapshot, while a patience is set

    def stops(self, record: dict, steps) -> bool:
        """Take a finished epoch's ``record`` into account; whether training should stop."""
        key = self.monitor if self.monitor in record else "loss"
        score = record[key] if key.endswith("loss") else -record[key]
        if self.score is None or score < self.score - self.min_delta:
            self.score, self.epoch, self.waited = score, record["epoch"], 0
            if self.patience:
                self.weights = steps.snapshot()
            return False
        self.waited += 1
        return bool(self.patience) and self.waited >= self.patience


def batch_count(n: int, batch_size: int) -> int:
    """How many mini-batches an epoch of ``n`` samples has in batches of ``batch_size``: the last batch is
    shorter when they do not divide, and a last batch of a single sample joins the one before it (the backends'
    ``batches``), so a one-cycle schedule counts the steps the run takes."""
    count = -(-n // batch_size)
    return count - 1 if count > 1 and n - (count - 1) * batch_size == 1 else count


class Loop:
    """One training run of up to ``epochs`` epochs, and where it stands.

    ``history`` holds a record per finished epoch: ``{"epoch", "loss", "accuracy"}`` (training loss
    with the L1 term and accuracy, averaged over the epoch's samples; accuracy None when not
    classifying), the epoch's ``"lr"`` under a schedule, ``"val_loss"`` and ``"val_accuracy"`` with
    validation data, and ``"seconds"``.
    ``ended`` says why the run is over: ``"diverged"`` (the training loss stopped being a finite
    number), ``"stopped"`` (early stopping) or ``"done"`` (every epoch run); ``""`` while it runs.
    """

    def __init__(self, epochs: int, stopping: EarlyStopping | None = None, classify: bool = True, schedule=None):
        self.epochs, self.classify = epochs, classify
        #: the learning rate of each epoch (``schedule(epochs before it)``, stepped with each epoch's record), or
        #: None: constant
        self.schedule = schedule
        self.stopping = stopping or EarlyStopping()
        self.history: list[dict] = []
        self.epoch = 1  # the epoch under way, or the next one
        self.order = None  # its mini-batches, once drawn
        self.batch = 0  # how many of them are done
        self.seen, self.total, self.hits = 0, 0.0, 0  # samples, loss × samples and right answers so far
        self.steps = 0  # optimizer steps over the whole run
        self.ended = "" if epochs >= 1 else "done"

    def run(self, steps, on_batch=None, on_epoch=None, after=None) -> Loop:
        """Train until the run ends, then restore the best epoch's weights if early stopping kept them.

        ``on_batch(epoch, batch, batches, loss, accuracy, samples)`` sees the running means after
        each step, ``on_epoch(record)`` each finished epoch, and ``after(loop)`` the loop after each
        step and each epoch's end (``loop.order is None`` then): where a checkpoint can be written.
        """
        if self.ended == "done" and self.epoch <= self.epochs:  # a finished run given more epochs
            self.ended = ""
        per_batch = getattr(self.schedule, "per_batch", False)
        while not self.ended:
            started = time.perf_counter()
            if self.schedule is not None and not per_batch:  # at every epoch's start, and where a resumed run is
                steps.set_lr(self.schedule(self.epoch - 1))
            if self.order is None:
                self.order = steps.order()
            while self.batch < len(self.order):
                if per_batch:  # the rate (and momentum) of this step of the whole run
                    steps.set_lr(self.schedule(self.steps))
                    momentum = self.schedule.momentum(self.steps)
                    if momentum is not None:
                        steps.set_momentum(momentum)
                value, hits, count = steps.step(self.order[self.batch])
                if per_batch:
                    self.schedule.after_step()
                self.batch, self.steps = self.batch + 1, self.steps + 1
                self.seen += count
                self.total += value * count
                self.hits += hits
                if on_batch:
                    mean = self.total / self.seen
                    on_batch(self.epoch, self.batch, len(self.order), mean, self.accuracy(), self.seen)
                if after:
                    after(self)
            record = self.finish_epoch(steps, started)
            if on_epoch:
                on_epoch(record)
            if after:
                after(self)
        if self.stopping.weights is not None:
            steps.restore(self.stopping.weights)
        return self

    def accuracy(self) -> float | None:
        return self.hits / self.seen if self.classify else None

    def finish_epoch(self, steps, started: float) -> dict:
        record = {"epoch": self.epoch, "loss": self.total / self.seen, "accuracy": self.accuracy()}
        if self.schedule is not None:  # the epoch's rate; under a per-batch schedule, its last step's
            record["lr"] = self.schedule(self.steps - 1 if getattr(self.schedule, "per_batch", False) else
                                         self.epoch - 1)
        scores = steps.validate()
        if scores is not None:
            record["val_loss"], record["val_accuracy"] = scores
        record["seconds"] = time.perf_counter() - started
        self.history.append(record)
        if self.schedule is not None:  # after validation, as torch's scheduler.step(val_loss) comes after it
            self.schedule.after_epoch(record)
        self.epoch, self.order, self.batch, self.seen, self.total, self.hits = self.epoch + 1, None, 0, 0, 0.0, 0
        if not math.isfinite(record["loss"]):
            self.ended = "diverged"
        elif self.stopping.stops(record, steps) and self.epoch <= self.epochs:
            self.ended = "stopped"
        elif self.epoch > self.epochs:
            self.ended = "done"
        return record

    @property
    def best_epoch(self) -> int:
        """The best epoch by the monitored number (0 before the first epoch ends)."""
        return self.stopping.epoch

    @property
    def stopped_early(self) -> bool:
        return self.ended == "stopped"

    @property
    def diverged(self) -> bool:
        return self.ended == "diverged"
