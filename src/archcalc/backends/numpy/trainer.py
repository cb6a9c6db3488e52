"""``archcalc train --backend numpy``: the spec's network, loss and optimizer in NumPy, run by the one
training loop (:class:`~archcalc.training.loop.Loop`) behind the backend-neutral trainer interface
(:mod:`archcalc.training`)."""

from __future__ import annotations

import numpy as np

from archcalc.backends.numpy.build import build_model, make_loss, make_optimizer
from archcalc.backends.numpy.training import Steps, evaluate
from archcalc.model import Model
from archcalc.spec.train import TrainSpec
from archcalc.training import Epoch, Outcome, Progress, Splits, early_stopping
from archcalc.training.loop import Loop


class NumpyTrainer:
    """A float32 NumPy network with the spec's loss and optimizer; one generator, seeded once, draws
    the initial weights, the batch order and the dropout masks, so a seed fixes the whole run."""

    def __init__(self, model: Model, train: TrainSpec, seed: int):
        self.train = train
        self.rng = np.random.default_rng(seed)
        self.net = build_model(model.graph, self.rng)
        self.loss = make_loss(train)
        self.optimizer = make_optimizer(train, self.net.parameters())
        self.classify = train.task == "classification"
        self.width = int(model.output_shape[-1])

    def _targets(self, y: np.ndarray) -> np.ndarray:
        return self.loss.targets(y, self.width, self.classify)

    def fit(self, splits: Splits, epochs: int, progress: Progress) -> Outcome:
        (x, y), (vx, vy) = splits.train, splits.validation
        self.net.train()
        steps = Steps(self.net, self.loss, self.optimizer, x, self._targets(y), batch_size=self.train.batch_size,
                      rng=self.rng, validation=(vx, self._targets(vy)), l1=self.train.l1, classify=self.classify)
        run = Loop(epochs, early_stopping(self.train), self.classify)
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not warned about
            run.run(steps, progress.batch, lambda record: progress.epoch(Epoch.of(record)))
        return Outcome.of(run)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        return evaluate(self.net, self.loss, x, self._targets(y), classify=self.classify)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: np.array(value) for name, value in self.net.state_dict().items()}


make_trainer = NumpyTrainer
