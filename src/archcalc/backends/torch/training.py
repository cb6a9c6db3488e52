"""Training a built module with the spec's ``train:`` section: loss, optimizer, L1 term, clipping, the loop.

Each function is small and can be used on its own; :func:`fit` is the one training loop, the
helper for Python callers and what ``archcalc train --backend torch`` runs (:mod:`.trainer`)::

    model = archcalc.load("specs/digits-cnn.yaml")
    module, train = archcalc.to_torch(model), model.spec.train  # a TrainSpec
    loss = build_loss(train, module)                        # loss(x, y) -> scalar tensor
    optimizer = build_optimizer(train, module)              # torch.optim, hyperparameters as named there
    value = loss(x, y) + l1_penalty(train, module)          # L1 is not an optimizer option in torch
    value.backward(); clip_gradients(train, module); optimizer.step()   # clip_grad_norm_ as the spec says
    scheduler = build_scheduler(train, optimizer, epochs, steps_per_epoch)  # torch's; onecycle's per batch
    history = fit(module, train, x, y, validation=(xv, yv)) # or all of the above, with mini-batches

**Softmax and logits.** ``nn.CrossEntropyLoss`` applies log-softmax itself, and
``nn.BCEWithLogitsLoss`` the sigmoid. When a module ends in that very activation (a spec whose last
layer is ``softmax`` over the class scores, trained with ``cross_entropy``), applying the loss to the
module's output would apply softmax twice. :func:`build_loss` then computes the loss from the
*logits*: the module without its last layer, sharing its parameters. The module's own output (the
probabilities the spec describes) is unchanged; accuracy is read from the logits, which name the
same classes. The class scores are at dim 1, or, for a class index per position, on the class axis
(a language model's ``softmax: {dim: -1}`` over [N, T, V]), which the targets tell; a softmax over
another axis is applied to the logits before the loss, as the spec wrote it.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import warnings
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from archcalc.spec.train import TrainSpec, class_axis
from archcalc.training import Epoch, Outcome, early_stopping, needs_validation
from archcalc.training.loop import Loop, batch_count


class ProbabilityCrossEntropyLoss(nn.Module):
    """Cross-entropy of probabilities (cross_entropy with inputs: probabilities in the
    spec): -log p[target] per sample, averaged, each log clamped at -100 as nn.BCELoss
    clamps it. With label_smoothing e the target is (1 - e) * one_hot + e / classes,
    as nn.CrossEntropyLoss smooths it."""

    def __init__(self, label_smoothing: float = 0.0):
        super().__init__()
        self.label_smoothing = label_smoothing

    def forward(self, prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        positive = prob > 0  # log 0 is -100, with no gradient (and no 0/0 in backward)
        log = torch.where(positive, torch.where(positive, prob, 1).log(), -100)
        log = log.clamp_min(-100)
        loss = nn.functional.nll_loss(log, target)
        if self.label_smoothing:  # the class scores are at dim 1
            smooth = -log.mean(1).mean()
            loss = (1 - self.label_smoothing) * loss + self.label_smoothing * smooth
        return loss


class CosineLoss(nn.Module):
    """1 - cos(output, target) per sample, averaged: nn.CosineEmbeddingLoss with
    every label +1."""

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        ones = torch.ones(len(out), dtype=out.dtype)
        return nn.functional.cosine_embedding_loss(
            out.reshape(len(out), -1), target.reshape(len(out), -1), ones
        )


class DiceLoss(nn.Module):
    """1 - (2 sum(p t) + smooth) / (sum(p) + sum(t) + smooth) over each sample's
    elements, averaged over the batch (Milletari et al., V-Net, 2016; torch has no
    built-in Dice loss)."""

    def __init__(self, smooth: float = 1.0):
        super().__init__()
        self.smooth = smooth

    def forward(self, prob: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        p, t = prob.reshape(len(prob), -1), target.reshape(len(prob), -1)
        return (
            1 - (2 * (p * t).sum(1) + self.smooth) / (p.sum(1) + t.sum(1) + self.smooth)
        ).mean()


class HingeLoss(nn.Module):
    """Keras' hinge: mean(max(0, 1 - t * y)) over every output y and its target t
    in {-1, 1}, a 0 read as -1 (Keras converts 0/1 labels so); squared: Keras'
    squared_hinge, the mean of the squares. torch has neither."""

    def __init__(self, squared: bool = False):
        super().__init__()
        self.squared = squared

    def forward(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        sign = torch.where(target == 0, -1.0, target)
        short = torch.relu(1 - sign * scores)
        return (short * short if self.squared else short).mean()


class SignSoftMarginLoss(nn.SoftMarginLoss):
    """nn.SoftMarginLoss, mean(log(1 + exp(-t * x))), on targets t in {-1, 1} with
    a 0 read as -1, as the hinge losses read them."""

    def forward(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return super().forward(scores, torch.where(target == 0, -1.0, target))


class CategoricalHingeLoss(nn.Module):
    """Keras' categorical_hinge: mean(max(0, neg - pos + 1)) over the samples, pos
    the true class's score and neg the largest of (1 - one_hot) * scores: the
    largest other score, or 0 when all of them are below 0. torch has none."""

    def forward(self, scores: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        t = nn.functional.one_hot(target, scores.shape[1]).to(scores.dtype)
        pos = (t * scores).sum(1)
        neg = ((1 - t) * scores).amax(1)
        return torch.relu(neg - pos + 1).mean()


class LogCoshLoss(nn.Module):
    """Keras' log_cosh: mean(log(cosh(y - t))) over every element, computed as
    logaddexp(d, -d) - log(2), which never overflows. torch has none."""

    LOG_2 = 0.6931471805599453

    def forward(self, out: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        d = out - target
        return (torch.logaddexp(d, -d) - self.LOG_2).mean()


#: the losses torch lacks, written here: an exported file that trains with one carries their code (so they
#: are written as ``ruff format`` writes them, in ASCII lines of at most 88 characters)
LOSS_HELPERS = (ProbabilityCrossEntropyLoss, CosineLoss, DiceLoss, HingeLoss, SignSoftMarginLoss,
                CategoricalHingeLoss, LogCoshLoss)
#: loss → its torch criterion; :func:`criterion` passes the spec's hyperparameters (torch's names)
CRITERIA: dict[str, type[nn.Module]] = {
    "cross_entropy": nn.CrossEntropyLoss,
    "nll": nn.NLLLoss,
    "bce": nn.BCELoss,
    "bce_with_logits": nn.BCEWithLogitsLoss,
    "mse": nn.MSELoss,
    "l1": nn.L1Loss,
    "huber": nn.HuberLoss,
    "smooth_l1": nn.SmoothL1Loss,
    "kl_div": nn.KLDivLoss,
    "cosine": CosineLoss,
    "dice": DiceLoss,
    "hinge": HingeLoss,
    "squared_hinge": HingeLoss,
    "soft_margin": SignSoftMarginLoss,
    "multi_margin": nn.MultiMarginLoss,
    "categorical_hinge": CategoricalHingeLoss,
    "poisson_nll": nn.PoissonNLLLoss,
    "log_cosh": LogCoshLoss,
}
#: losses that compare class scores with class indices (the others take float targets shaped like the output)
INDEX_TARGETS = (nn.CrossEntropyLoss, nn.NLLLoss, ProbabilityCrossEntropyLoss, nn.MultiMarginLoss,
                 CategoricalHingeLoss)
#: what a probability loss says of an output outside [0, 1] (``archcalc train`` reports it at the spec's loss)
PROBABILITIES_ONLY = "bce takes probabilities in [0, 1], but the network's outputs left that range"
#: the losses that score each output as a yes/no of its own (rows of labels, or one per position)
BINARY = (nn.BCELoss, nn.BCEWithLogitsLoss, DiceLoss, HingeLoss, SignSoftMarginLoss)


def criterion(train: TrainSpec) -> nn.Module:
    """The spec's loss as a torch module (:func:`criterion_call`)."""
    cls, kwargs = criterion_call(train)
    return cls(**kwargs)


def criterion_call(train: TrainSpec) -> tuple[type[nn.Module], dict[str, object]]:
    """The torch class of the spec's loss and its keyword arguments, which the exported file writes too:
    cross-entropy on probabilities when the spec says so, KL divergence averaged per sample
    (``reduction="batchmean"``, the true KL; torch's "mean" divides by every element), the spec's
    settings under torch's names (``delta=0.5`` for huber)."""
    kwargs: dict[str, object] = dict(train.loss_settings)
    if train.loss == "cross_entropy" and train.takes == "probabilities":
        return ProbabilityCrossEntropyLoss, kwargs
    if train.loss == "kl_div":
        kwargs["reduction"] = "batchmean"
    if train.loss == "squared_hinge":
        kwargs["squared"] = True
    return CRITERIA[train.loss], kwargs


#: the torch module of each output kind that a loss applies itself (:data:`archcalc.spec.train.LOGIT_LOSSES`)
FINAL_MODULES: dict[str, type[nn.Module]] = {"softmax": nn.Softmax, "sigmoid": nn.Sigmoid}
#: optimizer → its torch.optim class; the spec's hyperparameters carry torch.optim's names
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "sgd": torch.optim.SGD,
    "adagrad": torch.optim.Adagrad,
    "rmsprop": torch.optim.RMSprop,
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "adadelta": torch.optim.Adadelta,
    "adamax": torch.optim.Adamax,
    "nadam": torch.optim.NAdam,
    "radam": torch.optim.RAdam,
}


def absorbs(train: TrainSpec, module: nn.Module, dim: int | None = 1) -> bool:
    """Whether the spec's loss applies ``module`` itself: softmax over ``dim``, the class scores (batch
    included: 1, or a per-position class axis plus one; None: whatever dim it normalises), for cross-entropy,
    the sigmoid for BCE with logits; never when the spec says what the loss takes (``inputs:``)."""
    cls = FINAL_MODULES.get(train.fuses or "")
    return cls is not None and type(module) is cls and (cls is not nn.Softmax or dim is None or module.dim == dim)


@dataclass(slots=True)
class Loss:
    """``criterion(logits(x), target)``: the spec's loss for one module.

    ``logits`` is the module itself, or the module without its final activation (``final``) when the
    criterion may apply that activation itself; ``dropped`` is then that layer's path (``"11"``, or
    ``"logits"`` for a generated module called with ``logits=True``), else ``None``. Whether it does
    is told per batch, from the targets' shape (:meth:`scores`): a softmax over the class scores is the
    criterion's own; over another axis it is applied to the logits first. A single output of
    ``logits`` above ``threshold`` is class 1: 0 for logits (``bce_with_logits``), 0.5 for
    probabilities.
    """

    criterion: nn.Module
    logits: Callable[[torch.Tensor], torch.Tensor]
    dropped: str | None = None
    threshold: float = 0.5
    #: the spec's train: section, whose ``class_axis`` (or the shapes) says where a dense output's class
    #: scores are (:meth:`class_dim`)
    train: TrainSpec | None = None
    #: the final activation :attr:`logits` stops before, or None (:attr:`logits` is the whole module)
    final: nn.Module | None = None

    def __call__(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.compare(self.logits(x), y)

    def compare(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """The loss of ``out`` (what :attr:`logits` gave) against the targets ``y``. nn.BCELoss raises on an
        output outside [0, 1]: a NaN one (a diverging run) gives the loss NaN instead, as every other loss
        does, and a finite one the ValueError that ``archcalc train`` reports at the spec's loss."""
        out = self.scores(out, y)
        if isinstance(self.criterion, nn.BCELoss):
            if not torch.isfinite(out).all():
                return out.sum() * float("nan")
            if out.numel() and (out.min() < 0 or out.max() > 1):
                raise ValueError(PROBABILITIES_ONLY)
        return self.criterion(out, targets(self.criterion, y, out))

    def class_dim(self, out: torch.Tensor, y: torch.Tensor) -> int:
        """The dim of ``out`` that holds the class scores for the targets ``y``: 1, or for a class index per
        position or pixel (``y`` one axis fewer than ``out``) the spec's or the found class axis plus one."""
        if not isinstance(self.criterion, INDEX_TARGETS) or out.ndim != y.ndim + 1 or out.ndim < 3 \
                or self.train is None:
            return 1
        axis = class_axis(self.train, tuple(out.shape[1:]), tuple(y.shape[1:]))
        return 1 if axis is None else 1 + axis

    def scores(self, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        """What the criterion compares with ``y``: ``out`` (what :attr:`logits` gave), through the dropped
        final softmax when that normalises another dim than the class scores, with the class scores at dim 1,
        where ``nn.CrossEntropyLoss`` and ``nn.NLLLoss`` read them from (N, C, d1, …) against targets (N, d1, …).
        A language model's logits [N, T, V] have them last: moved to [N, V, T]."""
        dim = self.class_dim(out, y)
        if self.final is not None and getattr(self.final, "dim", dim) != dim:
            out = self.final(out)
        # contiguous: nn.NLLLoss's backward on (N, C, d1, …) refuses a moved (strided) input
        return out if dim == 1 else out.movedim(dim, 1).contiguous()

    def correct(self, out: torch.Tensor, y: torch.Tensor) -> int | float:
        """How many rows of ``out`` name their sample's class: the largest output, or for a single
        output whether it exceeds :attr:`threshold`; ``y`` holds class indices or one-hot rows. With a
        class per position (dense targets) each sample counts the share of its positions that are right, and
        under binary cross-entropy with rows of labels (multi-label) or a yes/no per position, the share of those."""
        out = self.scores(out, y)
        multi_label = self.train is not None and self.train.multi_label
        if isinstance(self.criterion, BINARY) and y.numel() == out.numel() and (out.ndim > 2 or multi_label):
            right = (out > self.threshold) == (y.reshape(out.shape) > 0.5)
            return float(right.flatten(1).double().mean(dim=1).sum())
        if out.ndim > 2 and out.ndim == y.ndim + 1 and isinstance(self.criterion, INDEX_TARGETS):
            right = int((out.argmax(dim=1) == y.long()).sum())
            return right / (y.numel() // len(y)) if y.numel() else 0
        if out.ndim > 1 and out.shape[1] > 1:
            predicted = out.argmax(dim=1)
        else:
            predicted = (out.reshape(len(out)) > self.threshold).long()
        truth = y.argmax(dim=1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y))
        return int((predicted == truth.long()).sum())


def token_ids(model: object) -> bool:
    """Whether the input of ``model`` (an :class:`archcalc.model.Model`) is token ids: its first layer is an
    embedding, and ``nn.Embedding`` indexes with integers (data arrive as float32 arrays otherwise)."""
    layers = model.layers
    return bool(layers) and layers[0].kind == "embedding"


def build_loss(train: TrainSpec, module: nn.Module) -> Loss:
    """The spec's loss for ``module`` (averaged over the batch, as torch's default ``reduction='mean'``).

    A module built by :func:`archcalc.to_torch` whose last layer is the
    activation the loss applies itself loses that layer for training; a generated module for such a
    spec is called as ``module(x, logits=True)``, which stops before that layer (its last registered
    layer, :func:`_last_layer`). :meth:`Loss.scores` applies it again where it is not the loss's own.
    """
    loss = criterion(train)
    threshold = 0.0 if train.takes == "logits" else 0.5
    if train.fuses and "logits" in inspect.signature(module.forward).parameters:
        final = _last_layer(module)
        if absorbs(train, final, None):
            return Loss(loss, functools.partial(module, logits=True), "logits", threshold, train, final)
    logits, dropped, final = _without_final(module, train)
    return Loss(loss, logits, dropped, threshold, train, final)


def _last_layer(module: nn.Module) -> nn.Module:
    """The module registered last, in the last container registered last: a generated module's final layer
    when its ``forward`` takes ``logits`` (children are registered in the spec's order)."""
    children = list(module.children())
    return _last_layer(children[-1]) if children else module


def _without_final(module: nn.Module, loss: TrainSpec) -> tuple[nn.Module, str | None, nn.Module | None]:
    """``module`` minus its last layer when ``loss`` may apply that layer (a softmax over any dim:
    :meth:`Loss.scores` tells from the targets whether it does), following nested containers of
    :func:`archcalc.to_torch` whose programs end in a call (a group or block that ends the model), with the
    path and the module of the layer left out. The result shares the module's parameters."""
    program = getattr(module, "_program", None)
    if program is None or program[0] != "seq" or not program[1] or program[1][-1][0] != "call":
        return module, None, None
    key = program[1][-1][1]
    last = module._calls[key]
    if absorbs(loss, last, None):
        return module.with_program(("seq", program[1][:-1])), key, last
    inner, path, final = _without_final(last, loss)
    if path is None:
        return module, None, None
    return module.with_program(program, {key: inner}), f"{key}.{path}", final


def targets(criterion: nn.Module, y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Class indices for cross-entropy; otherwise floats shaped like the output (``[N]`` → ``[N, 1]``),
    class indices becoming one-hot rows when the output has a column per class (MSE on a classifier)."""
    if isinstance(criterion, INDEX_TARGETS):
        return y.long()
    if not y.is_floating_point() and y.ndim == 1 and out.ndim == 2 and out.shape[1] > 1:
        y = nn.functional.one_hot(y.long(), out.shape[1])
    y = y.to(out.dtype)
    return y.reshape(out.shape) if y.numel() == out.numel() else y


def build_optimizer(train: TrainSpec, module: nn.Module) -> torch.optim.Optimizer:
    """The spec's optimizer over every parameter of ``module`` that requires grad: those under ``trainable:
    false`` are frozen, so they are never stepped, never decayed and hold no optimizer state.

    Hyperparameters keep torch.optim's names (``lr``, ``momentum``, ``dampening``, ``nesterov``,
    ``betas``, ``rho``, ``momentum_decay``, ...); ``weight_decay`` is torch's (L2 through the gradient,
    decoupled for AdamW, and for NAdam and RAdam with ``decoupled_weight_decay``) and, as in torch, applies
    to every parameter it steps, biases and BatchNorm's scale and shift included.
    """
    optimizer = train.optimizer
    return OPTIMIZERS[optimizer.name](trainable(module), weight_decay=train.weight_decay, **optimizer.hyper)


def trainable(module: nn.Module) -> list[nn.Parameter]:
    """The parameters of ``module`` that learn (``requires_grad``), in ``parameters()`` order: the optimizer's."""
    return [p for p in module.parameters() if p.requires_grad]


def clip_gradients(train: TrainSpec, module: nn.Module) -> None:
    """The spec's gradient clipping, on the gradients ``backward`` left in ``module``'s parameters, before the
    optimizer's step: ``torch.nn.utils.clip_grad_norm_`` (every gradient scaled by min(1, max_norm / (norm +
    1e-6)), norm the 2-norm of all of them) or ``clip_grad_value_``; nothing when the spec clips nothing.

    Called where a PyTorch loop calls it: after the L1 term's gradient is in (it is part of the loss) and
    before weight decay (the optimizer adds it inside ``step``). In a distributed run DDP has averaged the
    gradients by then, so every process clips the same gradients alike. bfloat16 autocast keeps float32
    gradients and needs no ``GradScaler``, so there is nothing to unscale first."""
    if train.clip_grad_norm is not None:
        nn.utils.clip_grad_norm_(module.parameters(), train.clip_grad_norm)
    elif train.clip_grad_value is not None:
        nn.utils.clip_grad_value_(module.parameters(), train.clip_grad_value)


def l1_penalty(train: TrainSpec, module: nn.Module) -> torch.Tensor:
    """``l1 · Σ|w|`` over every parameter that learns, to add to the loss (torch's optimizers have no L1 option);
    frozen ones, whose penalty could only be a constant, are left out as weight decay leaves them out."""
    if not train.l1:
        return torch.zeros(())
    return train.l1 * sum(p.abs().sum() for p in trainable(module))


#: schedule → its torch.optim.lr_scheduler class (archcalc.training.schedule computes the same rates for NumPy)
SCHEDULER_CLASSES = {"step": "StepLR", "multistep": "MultiStepLR", "exponential": "ExponentialLR",
                     "cosine": "CosineAnnealingLR", "linear": "LinearLR", "polynomial": "PolynomialLR",
                     "plateau": "ReduceLROnPlateau", "onecycle": "OneCycleLR",
                     "cosine_restarts": "CosineAnnealingWarmRestarts"}


def scheduler_settings(train: TrainSpec, epochs: int | None) -> dict[str, object]:
    """The spec's schedule's arguments as its torch class takes them; cosine's T_max, unless the spec gives it,
    the run's ``epochs`` after the warm-up (left out when ``epochs`` is None: the exported file writes it)."""
    rule = train.scheduler
    settings = rule.kwargs
    if rule.name == "cosine" and "T_max" not in settings and epochs is not None:
        settings = {"T_max": max(1, epochs - rule.warmup_epochs), **settings}
    return settings


def build_scheduler(train: TrainSpec, optimizer: torch.optim.Optimizer, epochs: int,
                    steps_per_epoch: int | None = None) -> torch.optim.lr_scheduler.LRScheduler:
    """The spec's schedule for a run of ``epochs`` epochs as torch's own scheduler over ``optimizer``: the class of
    :data:`SCHEDULER_CLASSES`, after a warm-up a ``LinearLR`` chained to it by ``SequentialLR`` (as the exported
    file writes it). Stepped once per epoch, ``ReduceLROnPlateau`` with the validation number it watches;
    ``OneCycleLR`` once per optimizer step, over ``epochs`` × ``steps_per_epoch`` steps."""
    rule = train.scheduler
    lr_scheduler = torch.optim.lr_scheduler
    schedule = getattr(lr_scheduler, SCHEDULER_CLASSES[rule.name])
    if rule.per_batch:
        return schedule(optimizer, epochs=epochs, steps_per_epoch=steps_per_epoch, **rule.kwargs)
    if not rule.warmup_epochs:
        return schedule(optimizer, **scheduler_settings(train, epochs))
    warmup = lr_scheduler.LinearLR(optimizer, total_iters=rule.warmup_epochs, start_factor=rule.warmup_start_factor)
    decay = schedule(optimizer, **scheduler_settings(train, epochs))
    return lr_scheduler.SequentialLR(optimizer, [warmup, decay], milestones=[rule.warmup_epochs])


class Scheduled:
    """The loop's learning-rate schedule (:class:`~archcalc.training.loop.Loop`) on the torch backend: torch's
    own scheduler (:func:`build_scheduler`) over the optimizer, stepped after each epoch's validation, so the rate
    of each epoch is torch's to the last bit. ``epoch`` counts the steps taken.

    ``OneCycleLR`` is stepped after every optimizer step instead (:meth:`after_step`; ``per_batch``), and
    ``epoch`` then counts optimizer steps; it sets the optimizer's momentum or beta1 itself.

    A resumed run builds a fresh scheduler: one of the epoch (or step) alone is stepped up to the epoch (or step)
    the run is in (the rates an unbroken run of this length has); ``ReduceLROnPlateau``'s state comes from the
    checkpoint (:meth:`load_state_dict`), since it depends on the validation numbers it was given."""

    def __init__(self, train: TrainSpec, optimizer: torch.optim.Optimizer, epochs: int,
                 steps_per_epoch: int | None = None):
        self.optimizer, self.monitor = optimizer, train.scheduler.monitor
        self.per_batch = train.scheduler.per_batch
        self.scheduler = build_scheduler(train, optimizer, epochs, steps_per_epoch)
        self.epoch = 0
        self.before: tuple[int, float] | None = None  # the step before the last after_step and its rate

    def __call__(self, epoch: int) -> float:
        """The learning rate torch's scheduler has set for the epoch (or, per batch, the step) after ``epoch``
        others; per batch also the step before the last (an epoch's record holds its last step's rate)."""
        if self.before is not None and epoch == self.before[0]:
            return self.before[1]
        if self.monitor is None and self.epoch < epoch:
            with warnings.catch_warnings():  # stepped before any optimizer step, which torch warns about
                warnings.filterwarnings("ignore", r"Detected call of `lr_scheduler\.step\(\)`", UserWarning)
                while self.epoch < epoch:
                    self.scheduler.step()
                    self.epoch += 1
        if self.epoch != epoch:
            raise ValueError(f"the schedule has seen {self.epoch} epochs, not {epoch}")
        return self.optimizer.param_groups[0]["lr"]

    def momentum(self, step: int) -> None:
        """Nothing for the loop to set: torch's ``OneCycleLR`` has set the optimizer's momentum (or beta1)."""
        return None

    def after_step(self) -> None:
        """After each optimizer step, under a per-batch schedule: ``scheduler.step()``."""
        self.before = (self.epoch, self.optimizer.param_groups[0]["lr"])
        self.scheduler.step()
        self.epoch += 1

    def after_epoch(self, record: dict) -> None:
        """The end of an epoch: ``scheduler.step()``, or ``scheduler.step(record[monitor])`` for a plateau;
        nothing for a per-batch schedule, stepped after each step."""
        if self.per_batch:
            return
        if self.monitor is None:
            self.scheduler.step()
        elif record.get(self.monitor) is None:
            raise ValueError(f"the plateau schedule watches {self.monitor}, and this run has no validation data "
                             "to measure it on")
        else:
            self.scheduler.step(record[self.monitor])
        self.epoch += 1

    def state_dict(self) -> dict | None:
        """What a checkpoint keeps: ``ReduceLROnPlateau``'s rate and counters (the NumPy ``Plateau``'s names);
        None for a schedule of the epoch alone."""
        if self.monitor is None:
            return None
        plateau = self.scheduler
        return {"lr": float(self.optimizer.param_groups[0]["lr"]), "best": float(plateau.best),
                "num_bad_epochs": plateau.num_bad_epochs, "cooldown_counter": plateau.cooldown_counter,
                "last_epoch": plateau.last_epoch}

    def load_state_dict(self, state: dict) -> None:
        plateau = self.scheduler
        plateau.best, plateau.num_bad_epochs = state["best"], state["num_bad_epochs"]
        plateau.cooldown_counter, plateau.last_epoch = state["cooldown_counter"], state["last_epoch"]
        for group in self.optimizer.param_groups:
            group["lr"] = state["lr"]
        plateau._last_lr = [state["lr"]] * len(self.optimizer.param_groups)
        self.epoch = state["last_epoch"]


@dataclass(slots=True)
class History(Outcome):
    """What :func:`fit` returns: the :class:`~archcalc.training.Outcome` that ``archcalc train``
    reports (``epochs`` as :class:`~archcalc.training.Epoch` records, ``best_epoch``,
    ``stopped_early``, ``diverged``), with the training losses at hand."""

    @property
    def losses(self) -> list[float]:
        return [e.loss for e in self.epochs]


class Steps:
    """The torch side of :class:`~archcalc.training.loop.Loop`: mini-batches drawn from ``generator``,
    one optimizer step per batch on the spec's loss (plus the L1 term), its gradients clipped as the spec
    says (:func:`clip_gradients`), :func:`evaluate` on the
    validation data, and clones of the state dict as snapshots."""

    def __init__(self, module: nn.Module, train: TrainSpec, x: torch.Tensor, y: torch.Tensor, *, batch_size: int,
                 generator: torch.Generator, validation: tuple[torch.Tensor, torch.Tensor] | None = None,
                 precision: torch.dtype | None = None):
        self.module, self.train, self.x, self.y = module, train, x, y
        self.batch_size, self.generator, self.validation = batch_size, generator, validation
        self.precision = precision
        self.loss = build_loss(train, module)
        self.optimizer = build_optimizer(train, module)
        self.classify = train.task == "classification"

    def order(self) -> list[torch.Tensor]:
        return batches(len(self.x), self.batch_size, self.generator)

    def step(self, index: torch.Tensor) -> tuple[float, int, int]:
        self.optimizer.zero_grad()
        with autocast(self.x, self.precision):
            out = self.loss.logits(self.x[index])
            value = self.loss.compare(out, self.y[index]) + l1_penalty(self.train, self.module)
        value.backward()
        clip_gradients(self.train, self.module)
        self.optimizer.step()
        return value.item(), self.loss.correct(out.detach(), self.y[index]) if self.classify else 0, len(index)

    def validate(self) -> tuple[float, float | None] | None:
        if self.validation is None:
            return None
        return evaluate(self.module, self.train, *self.validation, precision=self.precision)

    def snapshot(self) -> dict[str, torch.Tensor]:
        return {k: v.detach().clone() for k, v in self.module.state_dict().items()}

    def restore(self, state: dict[str, torch.Tensor]) -> None:
        self.module.load_state_dict(state)

    def set_lr(self, rate: float) -> None:
        for group in self.optimizer.param_groups:
            group["lr"] = rate


def fit(module: nn.Module, train: TrainSpec, x: object, y: object, *,
        validation: tuple[object, object] | None = None, epochs: int | None = None,
        batch_size: int | None = None, seed: int | None = None,
        on_batch: Callable[[int, int, int, float, float | None, int], None] | None = None,
        on_epoch: Callable[[Epoch], None] | None = None) -> History:
    """Train ``module`` in place on ``(x, y)`` (arrays or tensors; ``x`` shaped ``[N, *input]``).

    Every epoch reshuffles the samples and steps the optimizer once per mini-batch of
    ``batch_size`` (see :func:`batches`). ``epochs``, ``batch_size`` and ``seed`` default to the
    spec's. A seed seeds torch's generator too (dropout masks), so runs repeat exactly.

    An epoch's :class:`~archcalc.training.Epoch` holds the mean training loss (with the L1 term)
    and accuracy over its batches and, given ``validation`` data, the validation loss (without it)
    and accuracy (classification only). ``best_epoch`` is the best by the spec's
    ``early_stopping.monitor`` (``val_loss`` without one; the training loss without validation
    data). The spec's ``scheduler`` sets each epoch's learning rate, as torch's own scheduler
    (:func:`build_scheduler`; a plateau schedule needs ``validation``). With validation data the spec's
    ``early_stopping`` applies: after ``patience`` epochs
    without an improvement of more than ``min_delta`` training stops, and the best epoch's weights
    and buffers are restored. A loss that stops being a finite number ends training (``diverged``).
    The loop is the one both backends run (:class:`~archcalc.training.loop.Loop`).

    ``on_batch(epoch, batch, batches, loss, accuracy, samples)`` sees the running means after each
    optimizer step, ``on_epoch`` each finished epoch.
    """
    needs_validation(train, validation is not None)
    seed = train.seed if seed is None else seed
    generator = torch.Generator()
    if seed is not None:
        torch.manual_seed(seed)
        generator.manual_seed(seed)
    x, y = _tensor(x), _tensor(y)
    if validation is not None:
        validation = _tensor(validation[0]), _tensor(validation[1])
    steps = Steps(module, train, x, y, batch_size=batch_size or train.batch_size, generator=generator,
                  validation=validation)
    module.train()
    epochs = epochs or train.epochs
    schedule = Scheduled(train, steps.optimizer, epochs, batch_count(len(x), steps.batch_size)) \
        if train.scheduler else None
    run = Loop(epochs, early_stopping(train, validation is not None), steps.classify, schedule)
    run.run(steps, on_batch, on_epoch and (lambda record: on_epoch(Epoch.of(record))))
    return History.of(run)


def batches(n: int, batch_size: int, generator: torch.Generator) -> list[torch.Tensor]:
    """Index tensors of one epoch's mini-batches over a fresh permutation of ``n`` samples.

    A last batch of a single sample joins the one before it: batch norm cannot train on one
    sample (the NumPy backend's loop does the same).
    """
    parts = list(torch.randperm(n, generator=generator).split(batch_size))
    if len(parts) > 1 and len(parts[-1]) == 1:
        parts[-2:] = [torch.cat(parts[-2:])]
    return parts


def evaluate(module: nn.Module, train: TrainSpec, x: object, y: object, batch_size: int = 256, *,
             precision: torch.dtype | None = None) -> tuple[float, float | None]:
    """(loss, accuracy) in evaluation mode; accuracy is ``None`` unless the task is classification.

    The samples go through in batches of ``batch_size`` (the memory of one batch, the numbers of the
    whole set). A class is the argmax of the output over dim 1, or, for a single output, the
    output above 0.5 (above 0 when the loss takes logits: the same classes when it drops a final
    sigmoid). ``precision`` (``torch.bfloat16``) runs the module under autocast, as training did.
    """
    x, y = _tensor(x), _tensor(y)
    total, hits, count = totals(module, train, x, y, batch_size, precision)
    return total / count, (hits / count if train.task == "classification" else None)


@torch.no_grad()
def totals(module: nn.Module, train: TrainSpec, x: torch.Tensor, y: torch.Tensor, batch_size: int = 256,
           precision: torch.dtype | None = None) -> tuple[float, int, int]:
    """What :func:`evaluate` averages: the loss summed over the samples, the right answers, the samples
    (processes of a distributed run add theirs up before dividing)."""
    was_training = module.training
    module.eval()
    try:
        loss = build_loss(train, module)
        classify = train.task == "classification"
        total, hits = 0.0, 0
        for xs, ys in zip(x.split(batch_size), y.split(batch_size)):
            with autocast(xs, precision):
                out = loss.logits(xs)
                total += loss.compare(out, ys).item() * len(xs)
            if classify:
                hits += loss.correct(out, ys)
        return total, hits, len(x)
    finally:
        module.train(was_training)


def autocast(x: torch.Tensor, precision: torch.dtype | None):
    """``torch.autocast`` to ``precision`` on ``x``'s device, or nothing (float32) when it is None."""
    if precision is None:
        return contextlib.nullcontext()
    return torch.autocast(x.device.type, dtype=precision)


def _tensor(data: object) -> torch.Tensor:
    if isinstance(data, torch.Tensor):
        return data
    tensor = torch.as_tensor(data)
    return tensor.float() if tensor.is_floating_point() else tensor
