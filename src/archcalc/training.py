"""Training, independent of the backend: what ``archcalc train`` hands a backend and gets back.

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

if TYPE_CHECKING:
    import numpy as np

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
    """One epoch's numbers: training loss and accuracy (running over its batches), validation ones."""

    epoch: int
    loss: float
    accuracy: float | None
    val_loss: float | None
    val_accuracy: float | None
    seconds: float


@dataclass(slots=True)
class Outcome:
    """The epochs run, the best by the monitored number (``val_loss`` unless the spec's early stopping
    names another; the model has that epoch's weights when early stopping is configured, the last
    epoch's otherwise), and why training ended early if it did."""

    epochs: list[Epoch] = field(default_factory=list)
    best_epoch: int = 0
    stopped_early: bool = False  # by early stopping
    diverged: bool = False  # the loss stopped being a finite number


class Progress(Protocol):
    def batch(self, epoch: int, batch: int, batches: int, loss: float, accuracy: float | None, samples: int) -> None:
        """After each optimizer step: running mean loss and accuracy of the epoch so far, samples seen."""

    def epoch(self, record: Epoch) -> None:
        """After each epoch, with its validation numbers."""


class Trainer(Protocol):
    def fit(self, splits: Splits, epochs: int, progress: Progress) -> Outcome: ...

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float | None]: ...

    def state_dict(self) -> dict[str, np.ndarray]: ...
