"""The training loop: mini-batches with shuffling, L1, evaluation, early stopping, weights as .npz.

One step: forward on a batch, the loss, backward, the L1 subgradient ``l1·sign(p)`` added to each
gradient (weight decay lives in the optimizer, as in PyTorch), one optimizer step. The optimizer
must hold the model's parameters in ``model.parameters()`` order. After every
epoch the model is evaluated on the validation data; early stopping watches ``val_loss`` (or
``val_accuracy``) and, when it has not improved by more than ``min_delta`` for ``patience``
epochs, stops and restores the best weights. Imports only NumPy.
"""

from __future__ import annotations

import time

import numpy as np

from archcalc.backends.numpy.layers import Module
from archcalc.backends.numpy.structures import Sequential


def logits_view(model: Module, loss) -> Module:
    """The part of ``model`` that the loss should see.

    Cross-entropy applies log-softmax itself and BCE-with-logits the sigmoid, so when the network
    ends in that very layer (``loss.FUSES``) training stops before it — softmax is never applied
    twice — while ``predict`` still runs the whole network and returns probabilities.
    """
    if loss.FUSES is None or not isinstance(model, Sequential) or not model.layers:
        return model
    name, last = model.layers[-1]
    if isinstance(last, loss.FUSES) and getattr(last, "dim", 1) == 1:  # over the classes: see Softmax.axis
        return Sequential(model.layers[:-1])
    inner = logits_view(last, loss)
    return model if inner is last else Sequential([*model.layers[:-1], (name, inner)])


def labels(out: np.ndarray, loss) -> np.ndarray:
    """Predicted classes: the largest output, or for a single output whether it exceeds the loss's threshold."""
    if out.ndim == 2 and out.shape[1] > 1:
        return out.argmax(1)
    return (out.reshape(len(out)) > loss.THRESHOLD).astype(np.int64)


def correct(out: np.ndarray, y: np.ndarray, loss) -> int:
    """How many predictions match the targets (class indices, 0/1 values or one-hot rows)."""
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


def fit(model: Module, loss, optimizer, x: np.ndarray, y: np.ndarray, *, epochs: int, batch_size: int,
        rng: np.random.Generator, validation: tuple[np.ndarray, np.ndarray] | None = None, l1: float = 0.0,
        patience: int | None = None, min_delta: float = 0.0, monitor: str = "val_loss", classify: bool = True,
        on_batch=None, on_epoch=None) -> dict:
    """Train ``model`` in place; return ``{"history": [per-epoch dict], "best_epoch", "stopped_early",
    "diverged"}``.

    ``on_batch(epoch, batch, batches, loss, accuracy, samples)`` and ``on_epoch(record)`` report
    progress. Without validation data the training loss is monitored. Training stops when the loss
    stops being a finite number (``diverged``).
    """
    net = logits_view(model, loss)
    history, best, best_epoch, best_state, stale = [], None, 0, None, 0
    model.train()
    for epoch in range(1, epochs + 1):
        start, seen, total, hits = time.perf_counter(), 0, 0.0, 0
        parts = batches(len(x), batch_size, rng)
        for b, index in enumerate(parts, 1):
            value, out = step(net, loss, optimizer, x[index], y[index], l1)
            seen += len(index)
            total += value * len(index)
            if classify:
                hits += correct(out, y[index], loss)
            if on_batch:
                on_batch(epoch, b, len(parts), total / seen, hits / seen if classify else None, seen)
        record = {"epoch": epoch, "loss": total / seen, "accuracy": hits / seen if classify else None}
        if validation is not None:
            record["val_loss"], record["val_accuracy"] = evaluate(model, loss, *validation, classify=classify)
        record["seconds"] = time.perf_counter() - start
        history.append(record)
        if on_epoch:
            on_epoch(record)
        if not np.isfinite(record["loss"]):
            break
        key = monitor if monitor in record else "loss"
        score = record[key] if key.endswith("loss") else -record[key]
        if best is None or score < best - min_delta:
            best, best_epoch, stale = score, epoch, 0
            if patience:
                best_state = {k: v.copy() for k, v in model.state_dict().items()}
        else:
            stale += 1
            if patience and stale >= patience:
                break
    if best_state is not None:
        model.load_state_dict(best_state)
    diverged = not np.isfinite(history[-1]["loss"])
    return {"history": history, "best_epoch": best_epoch if best is not None else 0,
            "stopped_early": len(history) < epochs and not diverged, "diverged": diverged}


def save_weights(model: Module, path: str) -> None:
    """Parameters and buffers under PyTorch's names, in one .npz file."""
    np.savez(path, **model.state_dict())


def load_weights(model: Module, path: str) -> None:
    with np.load(path) as data:
        model.load_state_dict({k: data[k] for k in data.files})
