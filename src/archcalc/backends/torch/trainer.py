"""``archcalc train --backend torch``: :func:`archcalc.to_torch` and the torch steps of :mod:`.training`,
run by the one training loop (:class:`~archcalc.training.loop.Loop`) behind the backend-neutral
trainer interface (:mod:`archcalc.training`)."""

from __future__ import annotations

import numpy as np
import torch

from archcalc.backends.torch import to_torch, training
from archcalc.model import Model
from archcalc.spec.train import TrainSpec
from archcalc.training import Outcome, Progress, Splits


class TorchTrainer:
    """The spec's module in float32 with torch's own initialisation, loss and optimizer.

    The seed seeds torch's generator before the module is built (the initial weights) and again
    when training starts (dropout masks; the batch order comes from a generator of the loop's own
    seeded alike), so a seed fixes the whole run.
    """

    def __init__(self, model: Model, train: TrainSpec, seed: int):
        self.train, self.seed = train, seed
        torch.manual_seed(seed)
        self.module = to_torch(model)

    def fit(self, splits: Splits, epochs: int, progress: Progress) -> Outcome:
        return training.fit(self.module, self.train, *splits.train, validation=splits.validation, epochs=epochs,
                            seed=self.seed, on_batch=progress.batch, on_epoch=progress.epoch)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        return training.evaluate(self.module, self.train, x, y)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: value.detach().numpy().copy() for name, value in self.module.state_dict().items()}


make_trainer = TorchTrainer
