"""Training a built module with the spec's ``train:`` section: loss, optimizer, L1 term, and a plain loop.

The four functions are what ``archcalc train --backend torch`` calls; each one is small and can be
used on its own::

    model = archcalc.load("specs/digits-cnn.yaml")
    module, train = archcalc.to_torch(model), model.spec.train  # a TrainSpec
    loss = build_loss(train, module)                        # loss(x, y) -> scalar tensor
    optimizer = build_optimizer(train, module)              # torch.optim, hyperparameters as named there
    value = loss(x, y) + l1_penalty(train, module)          # L1 is not an optimizer option in torch
    history = fit(module, train, x, y, validation=(xv, yv)) # or all of the above, with mini-batches

**Softmax and logits.** ``nn.CrossEntropyLoss`` applies log-softmax itself, and
``nn.BCEWithLogitsLoss`` the sigmoid. When a module ends in that very activation (a spec whose last
layer is ``softmax`` over the channels, trained with ``cross_entropy``), applying the loss to the
module's output would apply softmax twice. :func:`build_loss` then computes the loss from the
*logits*: the module without its last layer, sharing its parameters. The module's own output (the
probabilities the spec describes) is unchanged, and is what :func:`evaluate` uses for accuracy.
"""

from __future__ import annotations

import functools
import inspect
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from archcalc.spec.train import TrainSpec

#: loss → its torch criterion
CRITERIA: dict[str, type[nn.Module]] = {
    "cross_entropy": nn.CrossEntropyLoss,
    "bce": nn.BCELoss,
    "bce_with_logits": nn.BCEWithLogitsLoss,
    "mse": nn.MSELoss,
}
#: loss → the output activation it applies itself (so a module ending in it trains on what comes before)
LOGIT_LOSSES: dict[str, type[nn.Module]] = {"cross_entropy": nn.Softmax, "bce_with_logits": nn.Sigmoid}
#: optimizer → its torch.optim class; the spec's hyperparameters carry torch.optim's names
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
}


def absorbs(loss: str, module: nn.Module) -> bool:
    """Whether ``loss`` applies ``module`` itself: softmax over the classes (dim 1) for cross-entropy,
    the sigmoid for BCE with logits."""
    cls = LOGIT_LOSSES.get(loss)
    return cls is not None and type(module) is cls and (cls is not nn.Softmax or module.dim == 1)


@dataclass(slots=True)
class Loss:
    """``criterion(logits(x), target)``: the spec's loss for one module.

    ``logits`` is the module itself, or the module without its final activation when the criterion
    applies that activation itself; ``dropped`` is then that layer's path (``"11"``, or ``"logits"``
    for a generated module called with ``logits=True``), else ``None``.
    """

    criterion: nn.Module
    logits: Callable[[torch.Tensor], torch.Tensor]
    dropped: str | None = None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        out = self.logits(x)
        return self.criterion(out, targets(self.criterion, y, out))


def build_loss(train: TrainSpec, module: nn.Module) -> Loss:
    """The spec's loss for ``module`` (averaged over the batch, as torch's default ``reduction='mean'``).

    A module built by :func:`archcalc.to_torch` (nested ``nn.Sequential``) whose last layer is the
    activation the loss applies itself loses that layer for training; a generated module for such a
    spec is called as ``module(x, logits=True)``, which stops before that layer.
    """
    criterion = CRITERIA[train.loss]()
    if train.loss in LOGIT_LOSSES and "logits" in inspect.signature(module.forward).parameters:
        return Loss(criterion, functools.partial(module, logits=True), "logits")
    logits, dropped = _without_final(module, train.loss)
    return Loss(criterion, logits, dropped)


def _without_final(module: nn.Module, loss: str) -> tuple[nn.Module, str | None]:
    """``module`` minus its last layer when ``loss`` applies that layer, following nested Sequentials."""
    if not isinstance(module, nn.Sequential) or not len(module):
        return module, None
    items = list(module._modules.items())
    key, last = items[-1]
    if absorbs(loss, last):
        return nn.Sequential(OrderedDict(items[:-1])), key
    inner, path = _without_final(last, loss)
    if path is None:
        return module, None
    return nn.Sequential(OrderedDict([*items[:-1], (key, inner)])), f"{key}.{path}"


def targets(criterion: nn.Module, y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Class indices for cross-entropy; otherwise floats shaped like the output (``[N]`` → ``[N, 1]``)."""
    if isinstance(criterion, nn.CrossEntropyLoss):
        return y.long()
    y = y.to(out.dtype)
    return y.reshape(out.shape) if y.numel() == out.numel() else y


def build_optimizer(train: TrainSpec, module: nn.Module) -> torch.optim.Optimizer:
    """The spec's optimizer over every parameter of ``module``.

    Hyperparameters keep torch.optim's names (``lr``, ``momentum``, ``dampening``, ``nesterov``,
    ``betas``, ...); ``weight_decay`` is torch's (L2 through the gradient, decoupled for AdamW) and,
    as in torch, applies to every parameter, biases and BatchNorm's scale and shift included.
    """
    optimizer = train.optimizer
    return OPTIMIZERS[optimizer.name](module.parameters(), weight_decay=train.weight_decay, **optimizer.hyper)


def l1_penalty(train: TrainSpec, module: nn.Module) -> torch.Tensor:
    """``l1 · Σ|w|`` over every parameter, to add to the loss (torch's optimizers have no L1 option)."""
    if not train.l1:
        return torch.zeros(())
    return train.l1 * sum(p.abs().sum() for p in module.parameters())


@dataclass(slots=True)
class Epoch:
    """One epoch of :func:`fit`: the mean training loss (with the L1 term) and, given validation data,
    the validation loss (without it) and accuracy (classification only)."""

    epoch: int
    loss: float
    val_loss: float | None = None
    val_accuracy: float | None = None


@dataclass(slots=True)
class History:
    epochs: list[Epoch] = field(default_factory=list)
    #: set when early stopping ended training before the last epoch
    stopped_early: bool = False

    @property
    def losses(self) -> list[float]:
        return [e.loss for e in self.epochs]


def fit(module: nn.Module, train: TrainSpec, x: object, y: object, *,
        validation: tuple[object, object] | None = None, epochs: int | None = None,
        batch_size: int | None = None, seed: int | None = None,
        on_epoch: Callable[[Epoch], None] | None = None) -> History:
    """Train ``module`` in place on ``(x, y)`` (arrays or tensors; ``x`` shaped ``[N, *input]``).

    Every epoch reshuffles the samples and steps the optimizer once per mini-batch of
    ``batch_size`` (the last batch may be smaller). ``epochs``, ``batch_size`` and ``seed`` default to
    the spec's. A seed seeds torch's generator too (dropout masks), so runs repeat exactly. With
    ``validation`` data, the spec's ``early_stopping`` applies. ``on_epoch`` sees each :class:`Epoch`.
    """
    seed = train.seed if seed is None else seed
    generator = torch.Generator()
    if seed is not None:
        torch.manual_seed(seed)
        generator.manual_seed(seed)
    x, y = _tensor(x), _tensor(y)
    epochs = epochs or train.epochs
    batch_size = batch_size or train.batch_size
    loss = build_loss(train, module)
    optimizer = build_optimizer(train, module)
    history = History()
    stop = _EarlyStopping(train) if validation is not None and train.early_stopping else None
    for epoch in range(1, epochs + 1):
        module.train()
        total = 0.0
        for batch in torch.randperm(len(x), generator=generator).split(batch_size):
            optimizer.zero_grad()
            value = loss(x[batch], y[batch]) + l1_penalty(train, module)
            value.backward()
            optimizer.step()
            total += value.item() * len(batch)
        record = Epoch(epoch, total / len(x))
        if validation is not None:
            record.val_loss, record.val_accuracy = evaluate(module, train, *validation)
        history.epochs.append(record)
        if on_epoch is not None:
            on_epoch(record)
        if stop is not None and stop.done(record):
            history.stopped_early = epoch < epochs
            break
    return history


@torch.no_grad()
def evaluate(module: nn.Module, train: TrainSpec, x: object, y: object) -> tuple[float, float | None]:
    """(loss, accuracy) in evaluation mode; accuracy is ``None`` unless the task is classification.

    A class is the argmax of the output over dim 1, or, for a single output, the output above 0.5
    (or above 0 when the loss takes logits and the module does not end in the sigmoid).
    """
    was_training = module.training
    module.eval()
    try:
        x, y = _tensor(x), _tensor(y)
        loss = build_loss(train, module)
        value = loss(x, y).item()
        if train.task != "classification":
            return value, None
        out = module(x)
        if out.ndim > 1 and out.shape[1] > 1:
            predicted = out.argmax(dim=1)
        else:
            threshold = 0.0 if train.loss == "bce_with_logits" and loss.dropped is None else 0.5
            predicted = (out.reshape(len(x)) > threshold).long()
        return value, (predicted == y.reshape(predicted.shape).long()).float().mean().item()
    finally:
        module.train(was_training)


class _EarlyStopping:
    """The spec's ``early_stopping``: stop after ``patience`` epochs without an improvement of ``min_delta``."""

    def __init__(self, train: TrainSpec):
        self.rule = train.early_stopping
        self.best: float | None = None
        self.waited = 0

    def done(self, record: Epoch) -> bool:
        value = record.val_loss if self.rule.monitor == "val_loss" else -(record.val_accuracy or 0.0)
        if self.best is None or value < self.best - self.rule.min_delta:
            self.best, self.waited = value, 0
            return False
        self.waited += 1
        return self.waited >= self.rule.patience


def _tensor(data: object) -> torch.Tensor:
    if isinstance(data, torch.Tensor):
        return data
    tensor = torch.as_tensor(data)
    return tensor.float() if tensor.is_floating_point() else tensor
