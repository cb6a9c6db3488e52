"""Training in NumPy: one optimizer step, mini-batches, evaluation, prediction, weights as .npz, and
:func:`fit`, which runs them in the one training loop (:class:`~archcalc.training.loop.Loop`).

One step: forward on a batch, the loss, backward, the L1 subgradient ``l1·sign(p)`` added to each
gradient (weight decay lives in the optimizer, as in PyTorch), one optimizer step. The optimizer
must hold the model's parameters that learn in ``model.trainable_parameters()`` order (every parameter, in
``parameters()`` order, unless the spec freezes some). After every epoch the model is
evaluated on the validation data; early stopping watches ``val_loss`` (or ``val_accuracy``) and,
when it has not improved by more than ``min_delta`` for ``patience`` epochs, stops and restores
the best weights. Imports only NumPy and the loop (which imports only the standard library):
``archcalc export --to numpy`` copies what a network needs into the standalone file.
"""

from __future__ import annotations

import numpy as np

from archcalc.backends.numpy.layers import Module
from archcalc.backends.numpy.structures import Sequential
from archcalc.training.loop import EarlyStopping, Loop, batch_count


def logits_view(model: Module, loss) -> Module:
    """The part of ``model`` that the loss should see.

    Cross-entropy applies log-softmax itself and BCE-with-logits the sigmoid, so when the network
    ends in that very layer (``loss.FUSES``) training stops before it — softmax is never applied
    twice — while ``predict`` still runs the whole network and returns probabilities. A softmax is
    the loss's own only over the class scores (``loss.CLASS_DIM``: dim 1, or a per-position loss's
    class axis); over another axis it stays, as the spec wrote it.
    """
    if loss.FUSES is None or not isinstance(model, Sequential) or not model.layers:
        return model
    name, last = model.layers[-1]
    if isinstance(last, loss.FUSES) and getattr(last, "dim", loss.CLASS_DIM) == loss.CLASS_DIM:
        return Sequential(model.layers[:-1])
    inner = logits_view(last, loss)
    return model if inner is last else Sequential([*model.layers[:-1], (name, inner)])


def labels(out: np.ndarray, loss) -> np.ndarray:
    """Predicted classes: the largest output, or for a single output whether it exceeds the loss's threshold."""
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(1)
    return (out.reshape(len(out)) > loss.THRESHOLD).astype(np.int64)


def correct(out: np.ndarray, y: np.ndarray, loss) -> int | float:
    """How many predictions match the targets (class indices, 0/1 values or one-hot rows); a loss with a
    class per position counts its own (each sample the share of its positions that are right), and binary
    cross-entropy on rows of labels (multi-label) or on a yes/no per position each sample's share of those right
    (Keras' binary accuracy)."""
    own = getattr(loss, "correct", None)
    if own is not None:
        return own(out, y)
    if loss.BINARY and y.size == out.size and (loss.multi_label or out.ndim > 2):  # labels, or a yes/no per position
        right = (out > loss.THRESHOLD) == (y.reshape(out.shape) > 0.5)
        return float(right.reshape(len(out), -1).mean(1).sum())
    truth = y.argmax(1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y))
    return int((labels(out, loss) == truth).sum())


def batches(n: int, batch_size: int, rng: np.random.Generator | None = None):
    """Index arrays of consecutive mini-batches, over a fresh permutation when ``rng`` is given.

    A last batch of a single sample joins the one before it: batch norm cannot train on one sample.
    """
    order = rng.permutation(n) if rng is not None else np.arange(n)
    parts = [order[i:i + batch_size] for i in range(0, n, batch_size)]
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [np.concatenate(parts[-2:])]
    return parts


def evaluate(model: Module, loss, x: np.ndarray, y: np.ndarray, batch_size: int = 256,
             classify: bool = True) -> tuple[float, float | None]:
    """Mean loss and accuracy (None when not classifying) over ``x``, in evaluation mode."""
    net = logits_view(model, loss)
    model.eval()
    total, hits = 0.0, 0
    for index in batches(len(x), batch_size):
        out = net.forward(x[index])
        total += loss.forward(out, y[index]) * len(index)
        if classify:
            hits += correct(out, y[index], loss)
    model.train()
    return total / len(x), (hits / len(x) if classify else None)


def predict(model: Module, x: np.ndarray, batch_size: int = 256) -> np.ndarray:
    """The whole network's output in evaluation mode (probabilities when it ends in softmax)."""
    model.eval()
    out = np.concatenate([model.forward(x[index]) for index in batches(len(x), batch_size)])
    model.train()
    return out


def step(net: Module, loss, optimizer, x: np.ndarray, y: np.ndarray, l1: float = 0.0) -> tuple[float, np.ndarray]:
    """One optimizer step on one batch; returns the loss (with the L1 penalty) and the network's output.

    ``net`` is what the loss sees (:func:`logits_view`); the first layer skips its input gradient.
    """
    out = net.forward(x)
    value = loss.forward(out, y)
    net.backward(loss.backward(), input_grad=False)
    grads = net.gradients()
    if l1:
        value += l1 * sum(float(np.abs(p).sum()) for p in optimizer.params)
        grads = [g + l1 * np.sign(p) for g, p in zip(grads, optimizer.params)]
    optimizer.step(grads)
    return value, out


class Steps:
    """The NumPy side of :class:`~archcalc.training.loop.Loop`: mini-batches drawn from ``rng``, one
    :func:`step` per batch on what the loss sees (:func:`logits_view`), :func:`evaluate` on the
    validation data, and copies of the state dict as snapshots."""

    def __init__(self, model: Module, loss, optimizer, x: np.ndarray, y: np.ndarray, *, batch_size: int,
                 rng: np.random.Generator, validation: tuple[np.ndarray, np.ndarray] | None = None, l1: float = 0.0,
                 classify: bool = True):
        self.model, self.net, self.loss, self.optimizer = model, logits_view(model, loss), loss, optimizer
        self.x, self.y, self.batch_size, self.rng = x, y, batch_size, rng
        self.validation, self.l1, self.classify = validation, l1, classify

    def order(self) -> list[np.ndarray]:
        return batches(len(self.x), self.batch_size, self.rng)

    def step(self, index: np.ndarray) -> tuple[float, int, int]:
        value, out = step(self.net, self.loss, self.optimizer, self.x[index], self.y[index], self.l1)
        return value, correct(out, self.y[index], self.loss) if self.classify else 0, len(index)

    def validate(self) -> tuple[float, float | None] | None:
        if self.validation is None:
            return None
        return evaluate(self.model, self.loss, *self.validation, classify=self.classify)

    def snapshot(self) -> dict[str, np.ndarray]:
        return {k: v.copy() for k, v in self.model.state_dict().items()}

    def set_lr(self, rate: float) -> None:
        self.optimizer.lr = rate

    def set_momentum(self, momentum: float) -> None:
        """The momentum a one-cycle schedule sets: SGD's and RMSprop's ``momentum``, or the first of Adam's
        ``betas`` (torch's OneCycleLR sets the one the optimizer has; a clipping wrapper passes it on)."""
        inner = getattr(self.optimizer, "optimizer", self.optimizer)
        if hasattr(inner, "momentum"):
            inner.momentum = momentum
        else:
            inner.betas = (momentum, *inner.betas[1:])

    def restore(self, state: dict[str, np.ndarray]) -> None:
        self.model.load_state_dict(state)


def fit(model: Module, loss, optimizer, x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int,
        rng: np.random.Generator, validation: tuple[np.ndarray, np.ndarray] | None = None, l1: float = 0.0,
        patience: int | None = None, min_delta: float = 0.0, monitor: str = "val_loss", classify: bool = True,
        schedule=None, on_batch=None, on_epoch=None) -> dict:
    """Train ``model`` in place; return ``{"history": [per-epoch dict], "best_epoch", "stopped_early",
    "diverged"}``.

    ``on_batch(epoch, batch, batches, loss, accuracy, samples)`` and ``on_epoch(record)`` report
    progress. Without validation data the training loss is monitored. Training stops when the loss
    stops being a finite number (``diverged``). ``schedule``, when given, sets each epoch's learning rate
    (a ``Schedule`` of the epoch, or a ``Plateau``, which watches a validation number and so needs
    ``validation``), or each step's (a ``OneCycle`` over ``epochs`` × ``batch_count(len(x), batch_size)`` steps,
    which also cycles the optimizer's momentum or beta1).
    """
    if getattr(schedule, "monitor", None) is not None and validation is None:
        raise ValueError(f"the plateau schedule watches {schedule.monitor}, and this run has no validation data "
                         "to measure it on")
    if getattr(schedule, "per_batch", False) and schedule.total_steps != epochs * batch_count(len(x), batch_size):
        raise ValueError(f"the onecycle schedule spans {schedule.total_steps} steps, and this run takes {epochs} × "
                         f"{batch_count(len(x), batch_size)}")
    model.train()
    steps = Steps(model, loss, optimizer, x, y, batch_size=batch_size, rng=rng, validation=validation, l1=l1,
                  classify=classify)
    run = Loop(epochs, EarlyStopping(monitor, patience, min_delta), classify, schedule)
    run.run(steps, on_batch, on_epoch)
    return {"history": run.history, "best_epoch": run.best_epoch, "stopped_early": run.stopped_early,
            "diverged": run.diverged}


def save_weights(model: Module, path: str) -> None:
    """Parameters and buffers under PyTorch's names, in one .npz file."""
    np.savez(path, **model.state_dict())


def load_weights(model: Module, path: str) -> None:
    with np.load(path) as data:
        model.load_state_dict({k: data[k] for k in data.files})
