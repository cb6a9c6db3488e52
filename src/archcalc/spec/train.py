"""The ``train:`` section: task, loss, optimizer and regularisation, validated once here.

Values that PyTorch would refuse (a negative learning rate, betas outside [0, 1)) are errors;
values that work but are suspicious (a learning rate of 5) are left to the linter. Optimizer
names and defaults follow ``torch.optim``, so both backends read the same numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.errors import Loc, SpecError, choices_hint
from archcalc.layers.args import yaml11_bool_hint
from archcalc.spec.source import YMap, YNode, YScalar, YSeq, describe

TASKS = ("classification", "regression")

#: what a loss takes from the network: raw scores, probabilities in [0, 1], their logarithms, or any real values
LOGITS, PROBABILITIES, LOG_PROBABILITIES, VALUES = "logits", "probabilities", "log_probabilities", "values"


@dataclass(frozen=True, slots=True)
class LossKind:
    """One loss: what it takes from the network (``inputs``: the first is its default, the others what
    ``inputs:`` may say instead), which task it serves (None: both), its settings with PyTorch's defaults
    (numbers, or torch's booleans and whole numbers where torch takes those), and the final layer a logits
    loss applies itself (``fuses``)."""

    inputs: tuple[str, ...]
    task: str | None
    params: dict[str, float | bool | int] = field(default_factory=dict)
    fuses: str | None = None


#: every loss, by the name ``train: loss`` uses (PyTorch's definitions, or Keras' where torch has none:
#: docs/spec.md#train)
LOSS_KINDS: dict[str, LossKind] = {
    "cross_entropy": LossKind((LOGITS, PROBABILITIES), "classification", {"label_smoothing": 0.0}, fuses="softmax"),
    "nll": LossKind((LOG_PROBABILITIES,), "classification"),
    "bce": LossKind((PROBABILITIES,), "classification"),
    "bce_with_logits": LossKind((LOGITS,), "classification", fuses="sigmoid"),
    "mse": LossKind((VALUES,), None),
    "l1": LossKind((VALUES,), "regression"),
    "huber": LossKind((VALUES,), "regression", {"delta": 1.0}),
    "smooth_l1": LossKind((VALUES,), "regression", {"beta": 1.0}),
    "kl_div": LossKind((LOG_PROBABILITIES,), None),
    "cosine": LossKind((VALUES,), "regression"),
    "dice": LossKind((PROBABILITIES,), None, {"smooth": 1.0}),
    "hinge": LossKind((LOGITS,), "classification"),
    "squared_hinge": LossKind((LOGITS,), "classification"),
    "soft_margin": LossKind((LOGITS,), "classification"),
    "multi_margin": LossKind((LOGITS,), "classification", {"p": 1, "margin": 1.0}),
    "categorical_hinge": LossKind((LOGITS,), "classification"),
    "poisson_nll": LossKind((VALUES,), "regression", {"log_input": True, "full": False, "eps": 1e-8}),
    "log_cosh": LossKind((VALUES,), "regression"),
}
LOSSES = tuple(LOSS_KINDS)
#: losses whose targets are class indices, one per sample (a loader refuses rows of labels for them), and those
#: of them that also take a class index per position (torch's (N, C, d1, …) against (N, d1, …)); losses whose
#: targets are a yes/no (or a probability) per output, which train on rows of labels (multi_label) and on a mask
#: per pixel; and the margin losses that read each output's class 0 as −1 and 1 as +1 (Keras' conversion of 0/1
#: labels): one output for two classes, one per class (one against the rest), or rows of labels. The data
#: loader, both trainers and the exported files decide by these
INDEX_LOSSES = ("cross_entropy", "nll", "multi_margin", "categorical_hinge")
DENSE_LOSSES = ("cross_entropy", "nll")
YES_NO_LOSSES = ("bce", "bce_with_logits", "dice")
SIGN_LOSSES = ("hinge", "squared_hinge", "soft_margin")
#: what each loss setting is, for ``archcalc schema``
LOSS_SETTINGS: dict[str, str] = {
    "label_smoothing": "the share ε of each target spread evenly over the classes: (1 − ε)·one-hot + ε/C",
    "delta": "where the loss turns from squared to absolute error (torch's HuberLoss delta)",
    "beta": "where the loss turns from squared to absolute error (torch's SmoothL1Loss beta; 0 is L1)",
    "smooth": "added to the overlap and to the total, so an empty prediction of an empty mask scores 1",
    "p": "1: each other class's shortfall from the margin counts as it is; 2: squared (torch's MultiMarginLoss p)",
    "margin": "how far the true class's score must lead every other's before the loss is 0 (torch's "
              "MultiMarginLoss margin)",
    "log_input": "true (torch's default): the network outputs log λ and the loss is exp(x) − t·x; false: it outputs "
                 "the rate λ and the loss is x − t·log(x + eps), Keras' poisson",
    "full": "adds Stirling's approximation of log(t!) for targets above 1, the rest of the negative "
            "log-likelihood (torch's full); it changes the value, not the gradient",
    "eps": "added to the rate before its log when log_input is false (torch's 1e-8; Keras' poisson adds 1e-7)",
}
#: other libraries' names for a loss → what the spec writes instead (``poisson`` is refused rather than read:
#: Keras' takes the rate and torch's PoissonNLLLoss its log, so the name alone does not say which)
LOSS_ALIASES: dict[str, str] = {
    "poisson": "say which Poisson loss: {poisson_nll: {log_input: false, eps: 1.0e-7}} is Keras' poisson (the network "
               "outputs the rate λ > 0), poisson_nll alone torch's PoissonNLLLoss (it outputs log λ)",
    "logcosh": "Keras' logcosh is written log_cosh",
}
#: loss that takes logits → the kind of the output layer it applies itself (cross-entropy: log-softmax over
#: the classes; BCE with logits: the sigmoid). Unless the spec says what the loss takes (``inputs:``), both
#: trainers and the exports train a network that ends in that layer on what comes before it, so it is never
#: applied twice (lint rule T102 tells who trains it elsewhere)
LOGIT_LOSSES: dict[str, str] = {name: kind.fuses for name, kind in LOSS_KINDS.items() if kind.fuses}
MONITORS = ("val_loss", "val_accuracy")

#: optimizer → its hyperparameters and torch.optim's defaults, but for SGD's lr (0.01 here, 1e-3 in torch 2.13;
#: docs/spec.md says so)
OPTIMIZERS: dict[str, dict[str, object]] = {
    "sgd": {"lr": 0.01, "momentum": 0.0, "dampening": 0.0, "nesterov": False},
    "adagrad": {"lr": 0.01, "lr_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
    "rmsprop": {"lr": 0.01, "alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False},
    "adam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False},
    "adamw": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "amsgrad": False},
    "adadelta": {"lr": 1.0, "rho": 0.9, "eps": 1e-6},
    "adamax": {"lr": 0.002, "betas": (0.9, 0.999), "eps": 1e-8},
    "nadam": {"lr": 0.002, "betas": (0.9, 0.999), "eps": 1e-8, "momentum_decay": 0.004,
              "decoupled_weight_decay": False},
    "radam": {"lr": 0.001, "betas": (0.9, 0.999), "eps": 1e-8, "decoupled_weight_decay": False},
}
#: the largest float32: a hyperparameter above it overflows when torch converts it to the weights' type
FLOAT32_MAX = 3.4028234663852886e38
#: weight decay when the spec gives none (torch's AdamW decays by default)
DEFAULT_WEIGHT_DECAY = {"adamw": 0.01}

NEEDED = "required"
#: learning-rate schedule → its settings and torch.optim.lr_scheduler's defaults (:data:`NEEDED`: no
#: default; None: derived, cosine's T_max from the run's epochs after the warm-up and plateau's mode from its
#: monitor); formulas in archcalc.training.schedule. The names are torch's classes' without "LR" (StepLR →
#: step, ReduceLROnPlateau → plateau), the settings their arguments, but plateau's ``monitor``: what its
#: ``step(metric)`` is given
SCHEDULERS: dict[str, dict[str, object]] = {
    "step": {"step_size": NEEDED, "gamma": 0.1},
    "multistep": {"milestones": NEEDED, "gamma": 0.1},
    "exponential": {"gamma": NEEDED},
    "cosine": {"T_max": None, "eta_min": 0.0},
    "linear": {"start_factor": 1 / 3, "end_factor": 1.0, "total_iters": 5},
    "polynomial": {"total_iters": 5, "power": 1.0},
    "plateau": {"monitor": "val_loss", "mode": None, "factor": 0.1, "patience": 10, "threshold": 1e-4,
                "threshold_mode": "rel", "cooldown": 0, "min_lr": 0.0, "eps": 1e-8},
    "onecycle": {"max_lr": NEEDED, "pct_start": 0.3, "anneal_strategy": "cos", "cycle_momentum": True,
                 "base_momentum": 0.85, "max_momentum": 0.95, "div_factor": 25.0, "final_div_factor": 1e4,
                 "three_phase": False},
    "cosine_restarts": {"T_0": NEEDED, "T_mult": 1, "eta_min": 0.0},
}
#: the schedules whose rate depends on a validation number rather than on the epoch alone: torch's SequentialLR
#: cannot chain them after a warm-up (their step() takes the metric), and they need validation data
METRIC_SCHEDULES = ("plateau",)
#: the schedules stepped after every optimizer step (every batch) rather than every epoch: torch's OneCycleLR, whose
#: cycle spans the run's epochs × batches per epoch and starts with its own warm-up (so no warmup_epochs)
BATCH_SCHEDULES = ("onecycle",)
#: onecycle's anneal strategies (torch's)
ANNEAL_STRATEGIES = ("cos", "linear")
#: plateau's modes and threshold modes (torch's), and the mode each monitor improves in
PLATEAU_MODES, THRESHOLD_MODES = ("min", "max"), ("rel", "abs")
MONITOR_MODES = {"val_loss": "min", "val_accuracy": "max"}
#: the warm-up every schedule may start with, and its defaults (torch's LinearLR: start_factor 1/3)
WARMUP: dict[str, object] = {"warmup_epochs": 0, "warmup_start_factor": 1 / 3}
#: what each setting is, for ``archcalc schema``
SCHEDULE_SETTINGS: dict[str, str] = {
    "step_size": "epochs between two decays",
    "gamma": "the factor each decay multiplies the learning rate by",
    "milestones": "the epochs (counted after the warm-up) at which the learning rate decays",
    "T_max": "epochs of the half cosine from lr down to eta_min (default: the run's epochs after the warm-up)",
    "eta_min": "the learning rate the cosine ends at (each cycle's, for cosine_restarts)",
    "start_factor": "the first epoch's learning rate, as a fraction of lr (torch's LinearLR: 1/3)",
    "end_factor": "the learning rate after total_iters epochs, as a fraction of lr",
    "total_iters": "epochs over which the rate moves from start_factor·lr to end_factor·lr (linear) or decays to 0 "
                   "(polynomial); it stays there afterwards",
    "power": "the power of the polynomial: lr·(1 − e/total_iters)^power",
    "monitor": "the validation number watched: val_loss, or val_accuracy for classification",
    "mode": "min: reduce when the monitored number stops falling; max: when it stops rising (default: what the "
            "monitor needs, min for val_loss, max for val_accuracy)",
    "factor": "the factor each reduction multiplies the learning rate by, below 1",
    "patience": "epochs without improvement tolerated; the rate is reduced after the next one",
    "threshold": "how much better than the best a number must be to count as an improvement",
    "threshold_mode": "rel: better than best·(1 ∓ threshold); abs: better than best ∓ threshold",
    "cooldown": "epochs after a reduction during which epochs without improvement are not counted",
    "min_lr": "the learning rate is never reduced below it",
    "eps": "a reduction smaller than eps is skipped",
    "max_lr": "the peak of the cycle; the optimizer's lr is not used: the cycle starts at max_lr / div_factor",
    "pct_start": "the share of the run's optimizer steps (epochs × batches per epoch) over which the rate rises "
                 "to max_lr",
    "anneal_strategy": "cos: cosine annealing between the cycle's rates; linear: straight lines",
    "cycle_momentum": "cycle the optimizer's momentum (SGD, RMSprop) or Adam's beta1 inversely to the rate, from "
                      "max_momentum down to base_momentum at the peak and back",
    "base_momentum": "the momentum (or beta1) at the rate's peak",
    "max_momentum": "the momentum (or beta1) at the cycle's start and end",
    "div_factor": "the cycle starts at max_lr / div_factor",
    "final_div_factor": "the cycle ends at max_lr / div_factor / final_div_factor",
    "three_phase": "true: rise for pct_start of the steps, fall back to the start as long, then anneal to the end "
                   "(the paper's); false: rise, then anneal to the end (fastai's, torch's default)",
    "T_0": "epochs of the first cosine cycle, after which the rate restarts at lr",
    "T_mult": "the factor each restart lengthens the next cycle by (1: every cycle T_0 epochs)",
    "warmup_epochs": "epochs over which the learning rate first rises linearly to lr",
    "warmup_start_factor": "the first warm-up epoch's learning rate, as a fraction of lr (torch's default 1/3)",
}


@dataclass(slots=True)
class Scheduler:
    """``scheduler: {cosine: {warmup_epochs: 5}}``: the schedule's name, the settings the spec gives or that
    have a default (cosine's T_max only when given; plateau's mode always, from its monitor when not given),
    and the warm-up."""

    name: str
    settings: dict[str, object]
    warmup_epochs: int
    warmup_start_factor: float
    loc: Loc
    locs: dict[str, Loc] = field(default_factory=dict)  # where each setting's value was written

    @property
    def monitor(self) -> str | None:
        """The validation number a metric schedule (plateau) watches; None for one of the epoch alone."""
        return self.settings["monitor"] if self.name in METRIC_SCHEDULES else None  # type: ignore[return-value]

    @property
    def per_batch(self) -> bool:
        """Whether the schedule is stepped after every optimizer step (onecycle) rather than every epoch."""
        return self.name in BATCH_SCHEDULES

    @property
    def kwargs(self) -> dict[str, object]:
        """The settings as torch's scheduler class takes them: all but plateau's ``monitor``, which says what
        its ``step(metric)`` is given."""
        return {key: value for key, value in self.settings.items() if key != "monitor"}


@dataclass(slots=True)
class Optimizer:
    name: str
    hyper: dict[str, object]
    loc: Loc
    locs: dict[str, Loc] = field(default_factory=dict)

    @property
    def lr(self) -> float:
        return self.hyper["lr"]  # type: ignore[return-value]


@dataclass(slots=True)
class EarlyStopping:
    patience: int
    min_delta: float
    monitor: str
    loc: Loc


@dataclass(slots=True)
class TrainSpec:
    task: str
    classes: int | None
    loss: str
    optimizer: Optimizer
    batch_size: int
    epochs: int
    weight_decay: float
    l1: float
    early_stopping: EarlyStopping | None
    seed: int | None
    loc: Loc
    locs: dict[str, Loc] = field(default_factory=dict)  # where each key's value was written
    #: the loss's hyperparameters (PyTorch's defaults filled in: ``{"delta": 1.0}`` for huber)
    loss_params: dict[str, float] = field(default_factory=dict)
    #: what the spec says the loss takes (``loss: {cross_entropy: {inputs: probabilities}}``), None when it
    #: does not say: then the loss takes its default, and a logits loss fuses its final layer (``fuses``)
    loss_inputs: str | None = None
    #: a classification whose samples may carry several labels at once (targets are 0/1 rows)
    multi_label: bool = False
    #: the range a regression's targets lie in, when the spec says it (``target_range: [0, 100]``)
    target_range: tuple[float, float] | None = None
    #: the axis of a sample's output that holds the class scores, as written (``class_axis: -1``; 0 is the
    #: first axis after the batch); None: found from the shapes (:func:`class_axis`)
    class_axis: int | None = None
    #: the learning-rate schedule, stepped once per epoch; None: a constant learning rate
    scheduler: Scheduler | None = None
    #: the bound on the 2-norm of all gradients together (torch.nn.utils.clip_grad_norm_'s max_norm), or on each
    #: gradient element (clip_grad_value_'s clip_value), applied after backward and before the optimizer's
    #: step; None: no clipping. At most one of them is set (:func:`_clipping`)
    clip_grad_norm: float | None = None
    clip_grad_value: float | None = None

    @property
    def takes(self) -> str:
        """What the loss is applied to: logits, probabilities, log_probabilities or values."""
        return self.loss_inputs or LOSS_KINDS[self.loss].inputs[0]

    @property
    def loss_settings(self) -> dict[str, float]:
        """The loss's settings that differ from PyTorch's defaults: what the trainers pass and the exported
        files write (``nn.HuberLoss(delta=0.5)``, but ``nn.CrossEntropyLoss()`` without smoothing)."""
        defaults = LOSS_KINDS[self.loss].params
        return {key: value for key, value in self.loss_params.items() if value != defaults[key]}

    @property
    def fuses(self) -> str | None:
        """The final layer kind the loss applies itself, and that training therefore leaves out; None when
        the spec says what the loss takes (then the loss sees the network's output exactly)."""
        return None if self.loss_inputs is not None else LOSS_KINDS[self.loss].fuses

    @classmethod
    def defaults(cls, loc: Loc) -> TrainSpec:
        """Every default (torch.optim's), for a spec without a ``train:`` section; errors about the
        settings (a batch size batch norm cannot train on) point at ``loc``."""
        return parse_train(YMap([], loc, loc, False))

    @classmethod
    def of(cls, spec) -> TrainSpec:
        """The ``train:`` section of ``spec`` (a :class:`~archcalc.spec.ast.Spec`), or the defaults
        located at its first line: what the trainers and the NumPy export train with."""
        return spec.train if spec.train is not None else cls.defaults(Loc(spec.path, 1, 1))


#: key → (default, what it sets); the defaults are torch.optim's where it has one. ``archcalc schema``
#: documents the section from this table, and :func:`parse_train` reads its defaults from it
KEYS: dict[str, tuple[object, str]] = {
    "task": ("classification", "classification (integer class targets) or regression (real targets)"),
    "classes": (None, "number of classes; inferred from the output layer when left out"),
    "class_axis": (None, "the output axis that holds the class scores when there is a class per position or "
                   "pixel (0: the first after the batch, as torch's cross-entropy has it; -1: the last, as a "
                   "language model's logits); found from the targets' shape when left out"),
    "multi_label": (False, "classification where each example may belong to several classes at once (one "
                    "sigmoid per class): targets are 0/1 rows"),
    "target_range": (None, "[low, high]: the range regression targets lie in, when it is known"),
    "loss": (None, f"a loss by name ({', '.join(LOSSES)}), or {{name: {{setting: value}}}} (inputs: logits or "
             "probabilities, and the loss's own, such as cross_entropy's label_smoothing); "
             "default cross_entropy for classification, mse for regression"),
    "optimizer": ("sgd", "a torch.optim optimizer by name, or {name: {hyperparameter: value}}"),
    "batch_size": (32, "examples per training step"),
    "epochs": (10, "passes over the training data"),
    "weight_decay": (0.0, "L2 penalty λ as torch.optim applies it (decoupled for adamw, whose default is 0.01, and "
                     "for nadam and radam with decoupled_weight_decay: true)"),
    "l1": (0.0, "λ·Σ|w| added to the loss"),
    "clip_grad_norm": (None, "max_norm of torch.nn.utils.clip_grad_norm_: before each optimizer step, every gradient "
                       "is scaled by min(1, max_norm / (norm + 1e-6)), norm the 2-norm of all gradients together; "
                       "off when left out"),
    "clip_grad_value": (None, "clip_value of torch.nn.utils.clip_grad_value_: before each optimizer step, every "
                        "gradient element is clamped to [-clip_value, clip_value]; off when left out; not with "
                        "clip_grad_norm"),
    "scheduler": (None, "a learning-rate schedule stepped once per epoch (step, multistep, exponential, cosine, "
                  "cosine_restarts, linear, polynomial, or plateau, which watches a validation number) or, for "
                  "onecycle, once per batch, by name or {name: {setting: value}}, each but plateau and onecycle with "
                  "an optional linear warm-up (warmup_epochs, warmup_start_factor); torch.optim.lr_scheduler's "
                  "definitions; a constant rate when left out, null or false"),
    "early_stopping": (None, "stop after `patience` epochs without improvement and restore the best weights: "
                       "a patience, or {patience, min_delta, monitor}; off when left out or false"),
    "seed": (None, "fixes the data split, initial weights, batch order and dropout masks; random when left out"),
}
#: ``early_stopping:`` key → (default, what it sets)
STOPPING_KEYS: dict[str, tuple[object, str]] = {
    "patience": (5, "epochs without an improvement before stopping"),
    "min_delta": (0.0, "the smallest change that counts as an improvement"),
    "monitor": ("val_loss", "the validation metric watched: val_loss, or val_accuracy for classification"),
}


def parse_train(node: YMap) -> TrainSpec:
    locs = {}
    for key, value in node.items:
        if key.text not in KEYS:
            raise SpecError(key.loc, f"unknown key '{key.text}' in 'train:'", code="unknown-key",
                            hint=_elsewhere(key.text) or choices_hint(key.text, list(KEYS), "keys"))
        locs[key.text] = value.loc
    task = _word(node.get("task"), TASKS, "task", KEYS["task"][0])
    classes = _int(node.get("classes"), "classes", None, low=1)
    if task == "classification" and classes == 1:
        raise SpecError(locs["classes"], "classification needs at least 2 classes", code="bad-train",
                        hint="for one output with a yes/no target use 2 classes, or task: regression")
    multi_label = _bool(node.get("multi_label"), "multi_label", False)
    if multi_label and task != "classification":
        raise SpecError(locs["multi_label"], "multi_label is a kind of classification, but the task is a regression",
                        code="bad-train", hint="task: classification, or drop multi_label")
    target_range = _range(node.get("target_range"), "target_range")
    if target_range is not None and task != "regression":
        raise SpecError(locs["target_range"], "target_range describes a regression's targets, but the task is a "
                        "classification", code="bad-train", hint="task: regression, or drop target_range")
    default = ("bce_with_logits" if multi_label else "cross_entropy") if task == "classification" else "mse"
    loss, loss_params, loss_inputs = _loss(node.get("loss"), default)
    optimizer = _optimizer(node.get("optimizer"), node.loc)
    weight_decay = _float(node.get("weight_decay"), "weight_decay",
                          DEFAULT_WEIGHT_DECAY.get(optimizer.name, KEYS["weight_decay"][0]))
    if weight_decay < 0:
        raise SpecError(locs["weight_decay"], f"weight_decay must be ≥ 0, got {weight_decay:g}",
                        code="bad-weight-decay", hint="weight decay shrinks weights; a negative one grows them")
    l1 = _float(node.get("l1"), "l1", KEYS["l1"][0])
    if l1 < 0:
        raise SpecError(locs["l1"], f"l1 must be ≥ 0, got {l1:g}", code="bad-weight-decay")
    for key, value in (("weight_decay", weight_decay), ("l1", l1)):
        if value > FLOAT32_MAX:
            raise SpecError(locs[key], f"{key} {value:g} is beyond float32 (above {FLOAT32_MAX:.3g}), which "
                            "training computes in", code="bad-weight-decay",
                            hint="typical values are 1e-4 to 0.1" if key == "weight_decay" else "typical values "
                            "are 1e-5 to 1e-3")
    stopping = _early_stopping(node.get("early_stopping"))
    if stopping is not None and stopping.monitor == "val_accuracy" and task == "regression":
        raise SpecError(node.get("early_stopping").get("monitor").loc, "a regression has no accuracy to monitor",
                        code="bad-train", hint="monitor: val_loss")
    batch_size = _int(node.get("batch_size"), "batch_size", KEYS["batch_size"][0], low=1)
    epochs = _int(node.get("epochs"), "epochs", KEYS["epochs"][0], low=1)
    axis = _axis(node.get("class_axis"))
    if axis is not None and (task != "classification" or multi_label):
        raise SpecError(locs["class_axis"], "class_axis says where the class scores are, but the task is "
                        f"{'a multi-label classification' if multi_label else 'a regression'}", code="bad-train",
                        hint="task: classification with one class index per position, or drop class_axis")
    scheduler = _scheduler(node.get("scheduler"), epochs, task, optimizer)
    clip_norm, clip_value = _clipping(node)
    return TrainSpec(task, classes, loss, optimizer, batch_size, epochs, weight_decay, l1, stopping,
                     _int(node.get("seed"), "seed", KEYS["seed"][0], low=0), node.loc, locs, loss_params,
                     loss_inputs, multi_label, target_range, axis, scheduler, clip_norm, clip_value)


#: the hint of a bad clipping bound: the values PyTorch's examples use
CLIP_HINTS = {
    "clip_grad_norm": "a bound on the gradients' total 2-norm, such as 0.25 (PyTorch's word_language_model) or 1.0",
    "clip_grad_value": "a bound on each gradient element, such as 1.0 or 0.5",
}


def _clipping(node: YMap) -> tuple[float | None, float | None]:
    """``clip_grad_norm`` and ``clip_grad_value``: each a positive finite number, as torch's
    ``clip_grad_norm_(params, max_norm)`` and ``clip_grad_value_(params, clip_value)`` take them, and not both:
    clamping then rescaling and rescaling then clamping give different steps, and a PyTorch loop calls one of
    them (Keras refuses its clipnorm and clipvalue together for the same reason)."""
    bounds: dict[str, float | None] = {}
    for key in ("clip_grad_norm", "clip_grad_value"):
        value = node.get(key)
        if value is None:
            bounds[key] = None
            continue
        if not isinstance(value, YScalar) or isinstance(value.value, bool) or \
                not isinstance(value.value, (int, float)):
            raise SpecError(value.loc, f"{key} must be a positive number, got {describe(value)}", code="bad-train",
                            hint=CLIP_HINTS[key])
        number = float(value.value)
        if not 0 < number < float("inf"):  # NaN fails too
            raise SpecError(value.loc, f"{key} must be a positive finite number, got {value.text}",
                            code="bad-train", hint=CLIP_HINTS[key])
        if number > FLOAT32_MAX:
            raise SpecError(value.loc, f"{key} {number:g} is beyond float32 (above {FLOAT32_MAX:.3g}), which "
                            "training computes in", code="bad-train", hint=CLIP_HINTS[key])
        bounds[key] = number
    if bounds["clip_grad_norm"] is not None and bounds["clip_grad_value"] is not None:
        second = max(node.get("clip_grad_norm"), node.get("clip_grad_value"), key=lambda n: (n.loc.line, n.loc.col))
        raise SpecError(second.loc, "clip_grad_norm and clip_grad_value are both given, and the order of the two "
                        "clippings changes the step", code="bad-train",
                        hint="keep one: clip_grad_norm bounds the size of the whole step and keeps its direction "
                        "(the usual choice); clip_grad_value clamps each element")
    return bounds["clip_grad_norm"], bounds["clip_grad_value"]


def _scheduler(node: YNode | None, epochs: int, task: str, optimizer: Optimizer) -> Scheduler | None:
    """``scheduler: cosine`` or ``{step: {step_size: 30, gamma: 0.1, warmup_epochs: 5}}``, checked as torch's
    schedulers check their arguments (onecycle's cycle_momentum against the ``optimizer``), and a warm-up that
    leaves the spec's ``epochs`` room to schedule."""
    if node is None or (isinstance(node, YScalar) and node.value in (None, False)):
        return None
    name, items = _named(node, "scheduler", tuple(SCHEDULERS), "settings", "scheduler: {cosine: {warmup_epochs: 5}}",
                         lambda name: f"scheduler: {{{name}: {{{next(iter(SCHEDULERS[name]))}: ...}}}}")
    allowed = {**SCHEDULERS[name], **WARMUP}
    given: dict[str, object] = {}
    locs: dict[str, Loc] = {}
    for key, value in items:
        if key.text not in allowed:
            raise SpecError(key.loc, f"the {name} schedule has no setting '{key.text}'", code="unknown-key",
                            hint=choices_hint(key.text, list(allowed), f"settings of {name}"))
        given[key.text] = _schedule_setting(key.text, value)
        locs[key.text] = value.loc
    missing = [key for key, default in allowed.items() if default == NEEDED and key not in given]
    if missing:
        example = {"step_size": "30", "milestones": "[30, 60]", "gamma": "0.95", "max_lr": "0.1", "T_0": "10"}
        raise SpecError(node.loc, f"the {name} schedule needs {' and '.join(missing)}", code="bad-train",
                        hint=f"scheduler: {{{name}: {{{', '.join(f'{k}: {example[k]}' for k in missing)}}}}}")
    own = next((key for key in WARMUP if key in given), None) if name in BATCH_SCHEDULES else None
    if own is not None:  # OneCycleLR is not chainable, and its first phase is a warm-up already
        raise SpecError(locs[own], f"the {name} schedule has a warm-up of its own: its rate rises from max_lr / "
                        "div_factor to max_lr over the first pct_start of the run's steps, so it takes no "
                        f"{own}", code="bad-train", hint=f"drop {own}; pct_start (torch's default 0.3) sets how "
                        "long the rise is, div_factor (25) where it starts")
    warmup = given.pop("warmup_epochs", WARMUP["warmup_epochs"])
    if warmup and name in METRIC_SCHEDULES:  # torch.optim.lr_scheduler.SequentialLR raises ValueError on it
        raise SpecError(locs["warmup_epochs"], f"the {name} schedule cannot follow a warm-up: torch's SequentialLR "
                        "chains only schedules whose step() takes no metric, and ReduceLROnPlateau's takes one",
                        code="bad-train", hint="drop warmup_epochs, or take a schedule torch chains after a warm-up: "
                        + ", ".join(n for n in SCHEDULERS if n not in METRIC_SCHEDULES))
    if warmup >= epochs:
        raise SpecError(locs["warmup_epochs"], f"a warm-up of {warmup} epochs leaves none of the {epochs} "
                        "epochs to the schedule", code="bad-train", hint="fewer warmup_epochs, or more epochs")
    if "warmup_start_factor" in given and not warmup:
        raise SpecError(locs["warmup_start_factor"], "warmup_start_factor sets where a warm-up starts, but the "
                        "schedule has none", code="bad-train", hint="add warmup_epochs: 5, or drop warmup_start_factor")
    start = given.pop("warmup_start_factor", WARMUP["warmup_start_factor"])
    settings = {k: v for k, v in SCHEDULERS[name].items() if v is not None} | given
    if name == "plateau":
        settings = _plateau(settings, locs, task)
    if name == "onecycle" and settings["cycle_momentum"] and not {"momentum", "betas"} & set(optimizer.hyper):
        cycling = [n for n, hyper in OPTIMIZERS.items() if {"momentum", "betas"} & set(hyper)]
        raise SpecError(locs.get("cycle_momentum", node.loc), f"the onecycle schedule cycles the optimizer's "
                        f"momentum{'' if 'cycle_momentum' in locs else ' (cycle_momentum is true by default)'}, "
                        f"and {optimizer.name} has neither momentum nor betas: torch's OneCycleLR raises on it",
                        code="bad-train", hint=f"cycle_momentum: false, or an optimizer with momentum or betas "
                        f"({', '.join(cycling)})")
    return Scheduler(name, settings, warmup, start, node.loc, locs)


def _plateau(settings: dict[str, object], locs: dict[str, Loc], task: str) -> dict[str, object]:
    """Plateau's monitor and mode, which must agree: val_loss improves by falling (mode min), val_accuracy by
    rising (max); the mode follows the monitor unless written. A regression has no accuracy to watch."""
    monitor = settings["monitor"]
    if monitor == "val_accuracy" and task == "regression":
        raise SpecError(locs["monitor"], "a regression has no accuracy to monitor", code="bad-train",
                        hint="monitor: val_loss")
    needs = MONITOR_MODES[monitor]  # type: ignore[index]
    mode = settings.get("mode", needs)
    if mode != needs:
        improves = "falling" if needs == "min" else "rising"
        raise SpecError(locs["mode"], f"mode {mode} reduces the rate when {monitor} stops "
                        f"{'rising' if mode == 'max' else 'falling'}, but {monitor} improves by {improves}",
                        code="bad-train", hint=f"mode: {needs}, or leave mode out: it follows the monitor")
    ordered = {"monitor": monitor, "mode": mode}
    return ordered | {k: v for k, v in settings.items() if k not in ordered}


#: the hint of a bad whole-epoch setting of a schedule
SETTING_HINTS = {
    "step_size": "the epochs between two decays, a whole number: step_size: 30",
    "T_max": "the epochs of the cosine, a whole number; left out, the run's epochs after the warm-up",
    "warmup_epochs": "a whole number of epochs: warmup_epochs: 5 (0 for none)",
    "total_iters": "the epochs of the change, a whole number: total_iters: 5 (torch's default)",
    "patience": "epochs without improvement before the rate is reduced, a whole number: patience: 10 (0 reduces "
                "after the first bad epoch)",
    "cooldown": "epochs to wait after a reduction, a whole number: cooldown: 0",
    "T_0": "the epochs of the first cycle, a whole number ≥ 1 (torch's CosineAnnealingWarmRestarts): T_0: 10",
    "T_mult": "a whole factor ≥ 1 by which each cycle is longer than the one before: 1 or 2",
}
#: settings that are words → their choices
SETTING_WORDS: dict[str, tuple[str, ...]] = {"monitor": MONITORS, "mode": PLATEAU_MODES,
                                             "threshold_mode": THRESHOLD_MODES, "anneal_strategy": ANNEAL_STRATEGIES}
#: settings that are true or false (onecycle's)
SETTING_SWITCHES = ("cycle_momentum", "three_phase")
#: number settings → (lowest, highest, whether each bound is allowed, the hint when out of them); torch's own
#: bounds where it checks them (LinearLR's factors, ReduceLROnPlateau's factor < 1), else what makes sense of the
#: setting (γ > 0: a rate of 0 or below is no schedule; a negative power makes torch divide by zero)
SETTING_BOUNDS: dict[str, tuple[float, float, bool, bool, str]] = {
    "gamma": (0, float("inf"), False, False,
              "the factor each decay multiplies the learning rate by: 0.1 divides it by 10"),
    "eta_min": (0, float("inf"), True, False,
                "the learning rate the cosine ends at: 0, or a small rate such as 1.0e-6"),
    "warmup_start_factor": (0, 1, False, True,
                            "the first warm-up epoch's rate as a fraction of lr, as torch's LinearLR takes it"),
    "start_factor": (0, 1, False, True, "the first epoch's rate as a fraction of lr, as torch's LinearLR takes it"),
    "end_factor": (0, 1, True, True, "the last epoch's rate as a fraction of lr, as torch's LinearLR takes it: 0 "
                   "decays to nothing"),
    "power": (0, float("inf"), True, False, "the power of the decay: 1 is linear, 2 quadratic, 0.9 as in DeepLab"),
    "factor": (0, 1, False, False, "the factor each reduction multiplies the rate by: 0.1 (torch's default), 0.5"),
    "threshold": (0, float("inf"), True, False, "the least improvement that counts: 1.0e-4 (torch's default)"),
    "min_lr": (0, float("inf"), True, False, "the least learning rate: 0 (torch's default), or such as 1.0e-6"),
    "eps": (0, float("inf"), True, False, "the least reduction applied: 1.0e-8 (torch's default)"),
    "max_lr": (0, FLOAT32_MAX, False, True, "the peak learning rate of the cycle, such as 0.1 for SGD or 0.01 for "
               "Adam (a learning-rate range test finds it)"),
    "pct_start": (0, 1, False, False, "the share of the steps spent rising to max_lr: 0.3 (torch's default), "
                  "0.25 (fastai's)"),
    "base_momentum": (0, 1, True, False, "the momentum at the rate's peak: 0.85 (torch's default)"),
    "max_momentum": (0, 1, True, False, "the momentum at the cycle's ends: 0.95 (torch's default)"),
    "div_factor": (0, float("inf"), False, False, "the cycle starts at max_lr / div_factor: 25 (torch's default)"),
    "final_div_factor": (0, float("inf"), False, False, "the cycle ends at max_lr / div_factor / final_div_factor: "
                         "1.0e+4 (torch's default)"),
}


def _schedule_setting(key: str, node: YNode) -> object:
    """One setting of a schedule, with the bounds torch's schedulers hold it to (:data:`SETTING_BOUNDS`)."""
    if key == "milestones":
        if not isinstance(node, YSeq) or not node.items:
            got = "an empty list" if isinstance(node, YSeq) else describe(node)
            raise SpecError(node.loc, f"milestones must be a list of one or more epochs, got {got}",
                            code="bad-train", hint="milestones: [30, 60, 80]")
        milestones = [_int(item, "a milestone", None, low=1, hint="milestones are epochs: [30, 60, 80]")
                      for item in node.items]
        if milestones != sorted(set(milestones)):
            raise SpecError(node.loc, f"milestones must increase, got {milestones}", code="bad-train",
                            hint=f"milestones: {sorted(set(milestones))}")
        return milestones
    if key in SETTING_HINTS:
        return _int(node, key, None, low=0 if key in ("warmup_epochs", "patience", "cooldown") else 1,
                    hint=SETTING_HINTS[key])
    if key in SETTING_WORDS:
        return _word(node, SETTING_WORDS[key], key, None)
    if key in SETTING_SWITCHES:
        return _bool(node, key, False)
    value = _number(node, key)
    low, high, low_in, high_in, hint = SETTING_BOUNDS[key]
    if not ((low <= value if low_in else low < value) and (value <= high if high_in else value < high)):
        if high == float("inf"):
            bounds = f"{'≥' if low_in else '>'} {low:g}"
        else:
            bounds = f"in {'[' if low_in else '('}{low:g}, {high:g}{']' if high_in else ')'}"
        raise SpecError(node.loc, f"{key} must be {bounds}, got {value:g}", code="bad-train", hint=hint)
    return value


#: other libraries' names for gradient clipping (Keras' optimizer arguments, Lightning's Trainer, Hugging Face's
#: TrainingArguments, torch's own argument names) → the train: key that says it here
CLIP_NAMES = {"clipnorm": "clip_grad_norm", "global_clipnorm": "clip_grad_norm", "max_norm": "clip_grad_norm",
              "max_grad_norm": "clip_grad_norm", "gradient_clip_val": "clip_grad_norm", "grad_clip": "clip_grad_norm",
              "clip": "clip_grad_norm", "clipvalue": "clip_grad_value", "clip_value": "clip_grad_value"}


def _elsewhere(key: str) -> str | None:
    """Where a key written directly under ``train:`` belongs, when it is a setting of its loss, optimizer,
    early stopping or schedule (``lr``, ``label_smoothing``, ``patience``, ``milestones``), or another library's
    name for gradient clipping."""
    if key in CLIP_NAMES:
        return f"gradient clipping is written {CLIP_NAMES[key]}: ... (torch.nn.utils.{CLIP_NAMES[key]}_)"
    optimizer = next((name for name, hyper in OPTIMIZERS.items() if key in hyper), None)
    loss = next((name for name, kind in LOSS_KINDS.items() if key in kind.params), None)
    if optimizer is not None:  # first: eps is Adam's far more often than poisson_nll's
        also = f" (or of the {loss} loss: loss: {{{loss}: {{{key}: ...}}}})" if loss is not None else ""
        return f"{key} is a hyperparameter of the optimizer: optimizer: {{{optimizer}: {{{key}: ...}}}}{also}"
    if loss is not None:
        return f"{key} is a setting of the {loss} loss: loss: {{{loss}: {{{key}: ...}}}}"
    schedule = next((name for name, settings in SCHEDULERS.items() if key in {**settings, **WARMUP}), None)
    if key in STOPPING_KEYS:  # patience, monitor: early stopping's, and the plateau schedule's too
        also = f" (or of the {schedule} schedule: scheduler: {{{schedule}: {{{key}: ...}}}})" if schedule else ""
        return f"{key} is a setting of early_stopping: early_stopping: {{{key}: ...}}{also}"
    if schedule is not None:
        return f"{key} is a setting of the schedule: scheduler: {{{schedule}: {{{key}: ...}}}}"
    return None


def _axis(node: YNode | None) -> int | None:
    """``class_axis``: an integer, negative counting from the last axis (checked against the output at training)."""
    if node is None:
        return None
    if not isinstance(node, YScalar) or type(node.value) is not int:
        raise SpecError(node.loc, f"class_axis must be an integer axis of the output, got {describe(node)}",
                        code="bad-train", hint="class_axis: 0 (channels first, as for segmentation) or -1 (last)")
    return node.value


def class_axes(output: tuple[int, ...], target: tuple[int, ...]) -> list[int]:
    """Every axis of a sample's ``output`` shape whose removal leaves the ``target`` shape: where the class
    scores can be, for targets with a class index per position (``[T, V]`` against ``[T]``: axis 1;
    ``[C, H, W]`` against ``[H, W]``: axis 0). More than one (``[8, 8]`` against ``[8]``) is ambiguous."""
    return [a for a in range(len(output)) if output[:a] + output[a + 1:] == tuple(target)]


def class_axis(train: TrainSpec, output: tuple[int, ...], target: tuple[int, ...]) -> int | None:
    """The axis of a sample's ``output`` (no batch axis) that holds the class scores, counted from 0, for
    class-index ``target`` of a sample's shape: the spec's ``class_axis`` when it gives one and it fits,
    else the one axis whose removal leaves the target shape. None when it cannot be told (no axis fits, or
    several do): :mod:`archcalc.data` reports that, located, before training. Both trainers call it, so
    they move the same axis to where torch's losses want it (dim 1, after the batch)."""
    if train.class_axis is not None:
        axis = train.class_axis + len(output) if train.class_axis < 0 else train.class_axis
        return axis if 0 <= axis < len(output) and axis in class_axes(output, target) else None
    axes = class_axes(output, target)
    return axes[0] if len(axes) == 1 else None


def dense_axes(train: TrainSpec, output: tuple[int, ...]) -> dict[tuple[int, ...], int]:
    """Every shape of per-position targets (a sample's, one axis fewer than ``output``) that a class-index
    loss can train ``output`` against, with the class axis :func:`class_axis` finds for it (``[T, V]``:
    ``{(T,): 1, (V,): 0}``, or only ``{(T,): 1}`` under ``class_axis: -1``). The exported files look their
    data's target shape up in it, so they decide as ``archcalc train`` does; a shape left out (several
    axes fit, or not the spec's ``class_axis``) is one ``archcalc train`` refuses."""
    if train.task != "classification" or train.multi_label or train.loss not in DENSE_LOSSES:
        return {}
    targets = dict.fromkeys(output[:a] + output[a + 1:] for a in range(len(output)) if len(output) > 1)
    found = {target: class_axis(train, output, target) for target in targets}
    return {target: axis for target, axis in found.items() if axis is not None}


def _named(node: YNode, key: str, choices: tuple[str, ...], what: str, example: str,
           example_of) -> tuple[str, list]:
    """``key: name`` or ``key: {name: {setting: value}}`` (a loss, an optimizer, a schedule): the name, checked
    against ``choices``, and its settings' ``(key, value)`` items (none when it has none). ``what`` names the
    settings in messages; ``example`` and ``example_of(name)`` are the hints for a malformed section and
    for settings that are not a mapping."""
    if isinstance(node, YScalar):
        return _word(node, choices, key, None), []
    if isinstance(node, YMap) and not node.items:
        raise SpecError(node.loc, f"{key} is an empty mapping: it takes a name or {{name: {{{what}}}}}",
                        code="bad-train", hint=example)
    if isinstance(node, YMap) and len(node.items) > 1:
        keys = [k.text for k, _ in node.items]
        named = [k for k in keys if k in choices]
        hint = example
        if len(named) == 1:  # {cosine: , warmup_epochs: 2}: settings written beside the name, not under it
            rest = ", ".join(f"{k.text}: {v.text if isinstance(v, YScalar) else '…'}" for k, v in node.items
                             if k.text != named[0])
            hint = f"nest the {what} under the name: {key}: {{{named[0]}: {{{rest}}}}}"
        raise SpecError(node.loc, f"{key} has {len(keys)} keys ({', '.join(keys)}) where it takes one name with its "
                        f"{what} under it", code="bad-train", hint=hint)
    if not isinstance(node, YMap):
        raise SpecError(node.loc, f"{key} must be a name or {{name: {{{what}}}}}, got {describe(node)}",
                        code="bad-train", hint=example)
    name_node, args = node.items[0]
    name = _word(name_node, choices, key, None)
    if args is None or (isinstance(args, YScalar) and args.value is None):
        return name, []
    if not isinstance(args, YMap):
        raise SpecError(args.loc, f"the {what} of {name} must be a mapping, got {describe(args)}", code="bad-train",
                        hint=example_of(name))
    return name, args.items


def _loss(node: YNode | None, default: str) -> tuple[str, dict[str, float | bool | int], str | None]:
    """``loss: mse`` or ``loss: {huber: {delta: 0.5}}`` / ``{cross_entropy: {inputs: probabilities}}``: the
    name, its settings (defaults filled in) and what the spec says it takes (None when unsaid)."""
    if node is None:
        return default, dict(LOSS_KINDS[default].params), None
    name_node = node.items[0][0] if isinstance(node, YMap) and len(node.items) == 1 else node
    if isinstance(name_node, YScalar) and name_node.text in LOSS_ALIASES:
        raise SpecError(name_node.loc, f"loss must be one of {', '.join(LOSSES)}, got {describe(name_node)}",
                        code="bad-train", hint=LOSS_ALIASES[name_node.text])
    name, items = _named(node, "loss", LOSSES, "settings", "loss: {cross_entropy: {inputs: probabilities}}",
                         lambda name: f"{name}: {{inputs: {LOSS_KINDS[name].inputs[0]}}}")
    kind = LOSS_KINDS[name]
    params, inputs = dict(kind.params), None
    allowed = ("inputs", *kind.params)
    locs: dict[str, Loc] = {}
    for k, value in items:
        if k.text not in allowed:
            raise SpecError(k.loc, f"{name} has no setting '{k.text}'", code="unknown-key",
                            hint=choices_hint(k.text, list(allowed), f"settings of {name}"))
        locs[k.text] = value.loc
        if k.text == "inputs":
            inputs = _word(value, kind.inputs, f"inputs of {name}", None)
            continue
        params[k.text] = _loss_setting(name, k.text, value, kind.params[k.text])
    if "eps" in locs and params["log_input"]:
        raise SpecError(locs["eps"], "eps is added to the rate before its log, which only log_input: false takes "
                        "(with log_input: true the loss is exp(x) − t·x, with no log)", code="bad-train",
                        hint="add log_input: false (the network outputs the rate, as for Keras' poisson), or drop eps")
    return name, params, inputs


def _loss_setting(loss: str, key: str, node: YNode, default: float | bool | int) -> float | bool | int:
    """One setting of a loss, held to what torch accepts: a boolean where torch takes one (poisson_nll's
    log_input and full), p 1 or 2 (multi_margin, as torch's MultiMarginLoss raises otherwise), and numbers ≥ 0
    (> 0 where 0 is no loss: huber's delta; a negative margin would leave a wrong class unpunished)."""
    if isinstance(default, bool):
        return _bool(node, key, default)
    if key == "p":
        if not isinstance(node, YScalar) or node.value not in (1, 2) or isinstance(node.value, bool):
            raise SpecError(node.loc, f"p must be 1 or 2, got {describe(node)}", code="bad-train",
                            hint="p: 1 (torch's default) sums the shortfalls, p: 2 their squares; torch's "
                            "MultiMarginLoss supports no other")
        return int(node.value)
    value = _number(node, key)
    if key == "label_smoothing" and not 0 <= value <= 1:  # torch's bounds
        raise SpecError(node.loc, f"label_smoothing must be in [0, 1], got {value:g}", code="bad-train",
                        hint="the share of each target spread over all classes: 0.1 is the usual value")
    # torch: beta 0 makes smooth_l1 the L1 loss; no smoothing is plain cross-entropy; huber's delta > 0; a margin
    # of 0 is the perceptron's criterion; eps 0 takes log λ as it is
    zero_ok = key in ("smooth", "beta", "label_smoothing", "margin", "eps")
    if value < 0 or (value == 0 and not zero_ok):
        raise SpecError(node.loc, f"{key} must be {'≥ 0' if zero_ok else '> 0'}, got {value:g}", code="bad-train",
                        hint=f"PyTorch's default is {default:g}")
    return value


def _bool(node: YNode | None, key: str, default: bool) -> bool:
    if node is None:
        return default
    if not isinstance(node, YScalar) or not isinstance(node.value, bool):
        raise SpecError(node.loc, f"{key} must be true or false, got {describe(node)}", code="bad-train",
                        hint=yaml11_bool_hint(node.value if isinstance(node, YScalar) else None)
                        or f"{key}: true, or {key}: false")
    return node.value


def _range(node: YNode | None, key: str) -> tuple[float, float] | None:
    """``[low, high]``, two numbers with low < high."""
    if node is None:
        return None
    if not isinstance(node, YSeq) or len(node.items) != 2:
        raise SpecError(node.loc, f"{key} must be a list of two numbers [low, high], got {describe(node)}",
                        code="bad-train", hint=f"{key}: [0, 1]")
    low, high = (_number(item, key) for item in node.items)
    if not low < high:
        raise SpecError(node.loc, f"{key} must be [low, high] with low < high, got [{low:g}, {high:g}]",
                        code="bad-train")
    return low, high


def _optimizer(node: YNode | None, loc: Loc) -> Optimizer:
    if node is None:
        name = KEYS["optimizer"][0]
        return Optimizer(name, dict(OPTIMIZERS[name]), loc)
    name, items = _named(node, "optimizer", tuple(OPTIMIZERS), "hyperparameters", "optimizer: {adam: {lr: 0.001}}",
                         lambda name: f"{name}: {{lr: {OPTIMIZERS[name]['lr']}}}")
    hyper = dict(OPTIMIZERS[name])
    locs: dict[str, Loc] = {}
    for key, value in items:
        if key.text not in hyper and key.text in KEYS:  # torch.optim takes weight_decay; the spec, train:
            written = value.text if isinstance(value, YScalar) else "…"
            hint = f"move it beside optimizer: (train: {{{key.text}: {written}, optimizer: ...}})"
            if key.text == "weight_decay":
                hint += "; it is applied as torch.optim applies its weight_decay"
            raise SpecError(key.loc, f"{key.text} is a key of train:, not a hyperparameter of {name}",
                            code="unknown-key", hint=hint)
        if key.text not in hyper and key.text in CLIP_NAMES:  # Keras' optimizers take clipnorm and clipvalue
            raise SpecError(key.loc, f"{name} has no hyperparameter '{key.text}': gradient clipping is a key of "
                            "train:", code="unknown-key", hint=f"train: {{{CLIP_NAMES[key.text]}: ..., optimizer: "
                            "...}, as torch.nn.utils clips between backward and the optimizer's step")
        if key.text not in hyper:
            raise SpecError(key.loc, f"{name} has no hyperparameter '{key.text}'", code="unknown-key",
                            hint=choices_hint(key.text, list(hyper), f"hyperparameters of {name}"))
        hyper[key.text] = _hyper(value, key.text, hyper[key.text])
        locs[key.text] = value.loc
    _check_optimizer(name, hyper, locs, node.loc)
    return Optimizer(name, hyper, node.loc, locs)


def _check_optimizer(name: str, hyper: dict[str, object], locs: dict[str, Loc], loc: Loc) -> None:
    """The conditions under which torch.optim raises, as located errors."""
    def at(key: str) -> Loc:
        return locs.get(key, loc)

    lr_hint = "typical values: 0.1 for SGD, 0.001 for Adam"
    if name == "adadelta":  # its step is Adadelta's own, which lr scales
        lr_hint = "Adadelta's lr scales its own step: torch's default is 1.0"
    if hyper["lr"] <= 0:
        raise SpecError(at("lr"), f"lr must be > 0, got {hyper['lr']:g}", code="bad-learning-rate", hint=lr_hint)
    for key, value in hyper.items():
        if isinstance(value, float) and value > FLOAT32_MAX:
            raise SpecError(at(key), f"{key} {value:g} is beyond float32 (above {FLOAT32_MAX:.3g}), which "
                            "training computes in", code="bad-learning-rate" if key == "lr" else "bad-train",
                            hint=lr_hint if key == "lr" else None)
    for key in ("lr_decay", "initial_accumulator_value", "momentum_decay"):  # Adagrad's and NAdam's, as torch
        if hyper.get(key, 0) < 0:
            raise SpecError(at(key), f"{key} must be ≥ 0, got {hyper[key]:g}", code="bad-train",
                            hint=f"{key}: {OPTIMIZERS[name][key]:g} is torch's default")
    for key in ("momentum", "alpha", "dampening"):
        if key in hyper and not 0 <= hyper[key] < (1.0000001 if key == "dampening" else 1):
            raise SpecError(at(key), f"{key} must be in [0, 1), got {hyper[key]:g}", code="bad-momentum")
    if "rho" in hyper and not 0 <= hyper["rho"] <= 1:  # Adadelta's, whose bounds torch closes at 1
        raise SpecError(at("rho"), f"rho must be in [0, 1], got {hyper['rho']:g}", code="bad-momentum",
                        hint="the decay of Adadelta's running averages: torch's default is 0.9, Zeiler's 0.95")
    if "betas" in hyper:
        for beta in hyper["betas"]:
            if not 0 <= beta < 1:
                raise SpecError(at("betas"), f"betas must be in [0, 1), got {beta:g}", code="bad-momentum",
                                hint="the usual values are [0.9, 0.999]")
    if hyper.get("eps", 0) < 0:
        raise SpecError(at("eps"), "eps must be ≥ 0", code="bad-train")
    if hyper.get("nesterov") and (hyper["momentum"] <= 0 or hyper["dampening"] != 0):
        raise SpecError(at("nesterov"), "nesterov needs momentum > 0 and dampening 0 (as in PyTorch)",
                        code="bad-momentum", hint="add momentum: 0.9")


def _hyper(node: YNode, key: str, default: object) -> object:
    if isinstance(default, bool):
        return _bool(node, key, default)
    if isinstance(default, tuple):
        if not isinstance(node, YSeq) or len(node.items) != 2:
            raise SpecError(node.loc, f"{key} must be a list of two numbers, got {describe(node)}", code="bad-train",
                            hint=f"{key}: [0.9, 0.999]")
        return tuple(_number(item, key) for item in node.items)
    return _number(node, key)


def _number(node: YNode, key: str) -> float:
    if not isinstance(node, YScalar) or isinstance(node.value, bool) or not isinstance(node.value, (int, float)) \
            or node.value != node.value or abs(node.value) == float("inf"):
        raise SpecError(node.loc, f"{key} must be a number, got {describe(node)}", code="bad-train",
                        hint="write exponents with a dot or without: 1e-4 and 1.0e-4 both work")
    return float(node.value)


def _float(node: YNode | None, key: str, default: float) -> float:
    return default if node is None else _number(node, key)


def _int(node: YNode | None, key: str, default: int | None, low: int, hint: str | None = None) -> int | None:
    if node is None:
        return default
    if not isinstance(node, YScalar) or type(node.value) is not int or node.value < low:
        words = isinstance(node, YScalar) and isinstance(node.value, str)
        if words:
            hint = "train: takes numbers as written: symbols and expressions are for the layers"
        if words and key == "classes":
            hint = "leave classes out: it is taken from the output layer; train: takes numbers as written"
        raise SpecError(node.loc, f"{key} must be an integer ≥ {low}, got {describe(node)}", code="bad-train",
                        hint=hint)
    return node.value


def _word(node: YNode | None, choices: tuple[str, ...], key: str, default: str | None) -> str:
    if node is None:
        if default is None:
            raise SpecError(None, f"'{key}' is required", code="bad-train")
        return default
    if not isinstance(node, YScalar) or node.text not in choices:
        text = node.text if isinstance(node, YScalar) else ""
        raise SpecError(node.loc, f"{key} must be one of {', '.join(choices)}, got {describe(node)}",
                        code="bad-train", hint=choices_hint(text, choices, f"{key}s"))
    return node.text


def _early_stopping(node: YNode | None) -> EarlyStopping | None:
    if node is None or (isinstance(node, YScalar) and node.value is False):
        return None
    if isinstance(node, YScalar):
        return EarlyStopping(_int(node, "early_stopping (patience)", None, low=1), 0.0, "val_loss", node.loc)
    if not isinstance(node, YMap):
        raise SpecError(node.loc, "early_stopping must be a patience or a mapping", code="bad-train",
                        hint="early_stopping: {patience: 5, monitor: val_loss}")
    for key, _ in node.items:
        if key.text not in STOPPING_KEYS:
            raise SpecError(key.loc, f"unknown key '{key.text}' in early_stopping", code="unknown-key",
                            hint=choices_hint(key.text, list(STOPPING_KEYS), "keys"))
    min_delta = _float(node.get("min_delta"), "min_delta", STOPPING_KEYS["min_delta"][0])
    if min_delta < 0:
        raise SpecError(node.get("min_delta").loc, "min_delta must be ≥ 0", code="bad-train")
    return EarlyStopping(_int(node.get("patience"), "patience", STOPPING_KEYS["patience"][0], low=1), min_delta,
                         _word(node.get("monitor"), MONITORS, "monitor", STOPPING_KEYS["monitor"][0]), node.loc)
