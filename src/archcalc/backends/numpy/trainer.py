"""``archcalc train --backend numpy``: the spec's network, loss and optimizer in NumPy, run by the one
training loop (:class:`~archcalc.training.loop.Loop`) behind the backend-neutral trainer interface
(:mod:`archcalc.training`), with checkpoints it can resume from exactly."""

from __future__ import annotations

import numpy as np

from archcalc.backends.numpy.build import build_model, make_loss, make_optimizer
from archcalc.backends.numpy.losses import per_position_loss
from archcalc.backends.numpy.training import Steps, batches, evaluate, logits_view
from archcalc.model import Model
from archcalc.spec.train import TrainSpec, dense_axes
from archcalc.training import Epoch, Outcome, Progress, Splits, early_stopping, lr_schedule
from archcalc.training.checkpoint import (
    Checkpoints,
    Saved,
    pack,
    process_rng,
    schedule_state,
    set_process_rng,
    unpack,
)
from archcalc.training.loop import Loop, batch_count
from archcalc.training.schedule import Plateau


class NumpyTrainer:
    """A float32 NumPy network with the spec's loss and optimizer; one generator, seeded once, draws
    the initial weights, the batch order and the dropout masks, so a seed fixes the whole run."""

    def __init__(self, model: Model, train: TrainSpec, seed: int, *, device: str = "cpu", precision: str = "fp32"):
        if (device, precision) != ("cpu", "fp32"):  # the command refuses them first, with its own message
            raise ValueError("the NumPy backend trains in float32 on the CPU")
        self.train = train
        self.rng = np.random.default_rng(seed)
        self.net = build_model(model.graph, self.rng)
        self.loss = make_loss(train)
        self.optimizer = make_optimizer(train, self.net.trainable_parameters())
        self.classify = train.task == "classification"
        self.output = tuple(int(d) for d in model.output_shape)
        self.width = self.output[-1]
        #: per-position target shapes → their class axis (the exported file looks its targets up in the same table)
        self.dense = dense_axes(train, self.output)
        self.schedule = None  # the spec's learning-rate schedule, once fit knows the run's epochs

    def _targets(self, y: np.ndarray) -> np.ndarray:
        """The targets in the loss's form; class indices at every position (``y`` of one axis fewer than the
        output, past the batch) wrap the loss in ``PerPosition`` on the spec's or the found class axis."""
        self.loss = per_position_loss(self.loss, y, self.dense)
        return self.loss.targets(y, self.width, self.classify)

    def fit(self, splits: Splits, epochs: int, progress: Progress, checkpoints: Checkpoints | None = None) -> Outcome:
        (x, y), (vx, vy) = splits.train, splits.validation
        self.net.train()
        y, vy = self._targets(y), self._targets(vy)
        steps = Steps(self.net, self.loss, self.optimizer, x, y, batch_size=self.train.batch_size,
                      rng=self.rng, validation=(vx, vy), l1=self.train.l1, classify=self.classify)
        self.schedule = lr_schedule(self.train, epochs, batch_count(len(x), self.train.batch_size))
        run = Loop(epochs, early_stopping(self.train), self.classify, self.schedule)
        if checkpoints is not None and checkpoints.saved is not None:
            checkpoints.load(run, self, checkpoints.saved)
        after = None if checkpoints is None else (lambda loop: checkpoints.after(loop, self))
        with np.errstate(over="ignore", invalid="ignore"):  # a diverging run is reported, not warned about
            run.run(steps, progress.batch, lambda record: progress.epoch(Epoch.of(record)), after)
        return Outcome.of(run)

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        y = self._targets(y)
        return evaluate(self.net, self.loss, x, y, classify=self.classify)

    def predict_classes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The predicted class at every position of a dense output (class indices shaped like the targets),
        in evaluation mode, for the command's mean IoU; ``y``, the targets, tell the class axis. A binary loss
        on a yes/no per position predicts 1 where the output exceeds its threshold."""
        self._targets(y)
        net = logits_view(self.net, self.loss)
        predict = getattr(self.loss, "predict", None) or (lambda out: (out > self.loss.THRESHOLD).astype(np.int64))
        self.net.eval()
        try:
            return np.concatenate([predict(net.forward(x[index])) for index in batches(len(x), 256)])
        finally:
            self.net.train()

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: np.array(value) for name, value in self.net.state_dict().items()}

    # -- checkpoints (archcalc.training.checkpoint.Resumable) ---------------------------------------

    def to_array(self, value: np.ndarray) -> np.ndarray:
        return np.array(value)

    def from_array(self, array: np.ndarray) -> np.ndarray:
        return np.array(array)

    def capture(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The network's state dict, the optimizer's per-parameter state, a plateau schedule's state and the
        generator that draws the batch order and the dropout masks (with the process's other generators)."""
        arrays = {f"model/{k}": np.array(v) for k, v in self.net.state_dict().items()}
        generators = {"run": self.rng.bit_generator.state, **process_rng()}
        plateau = self.schedule.state_dict() if isinstance(self.schedule, Plateau) else None
        state = {"optimizer": pack(self.optimizer.state, arrays, "optimizer"), "scheduler": plateau,
                 "rng": pack([generators], arrays, "rng")}
        return state, arrays

    def restore(self, saved: Saved) -> None:
        """Load a checkpoint's state; every part is decoded and checked against the network first."""
        state, arrays = saved.meta["backend"], saved.arrays
        weights = {k[6:]: v for k, v in arrays.items() if k.startswith("model/")}
        own = self.net.state_dict()
        if set(weights) != set(own) or any(weights[k].shape != v.shape for k, v in own.items()):
            raise ValueError("its weights do not fit the network")
        optimizer = unpack(state["optimizer"], arrays)
        params = self.optimizer.params
        if not isinstance(optimizer, list) or len(optimizer) != len(params) or any(
                not isinstance(s, dict) or any(isinstance(v, np.ndarray) and v.shape != p.shape for v in s.values())
                for s, p in zip(optimizer, params)):
            raise ValueError("the optimizer's state does not fit the network's parameters")
        (generators,) = unpack(state["rng"], arrays)
        scheduler = schedule_state(saved, self.train)
        self.net.load_state_dict(weights)
        self.optimizer.state = optimizer
        if scheduler is not None:
            self.schedule.load_state_dict(scheduler)
        self.rng.bit_generator.state = generators["run"]
        set_process_rng(generators)


make_trainer = NumpyTrainer
