"""A neural network in plain NumPy, written by ``archcalc export --to numpy`` from the spec named
in NAME below: [64] → [10], 17,226 parameters.

It needs only NumPy. Layers keep PyTorch's weight layouts and initialisation; every layer has
its forward and backward pass; losses and optimizers follow torch.nn and torch.optim exactly.

Train from the command line on an .npz file holding arrays ``x`` (samples first) and ``y``::

    python this_file.py DATA.npz --epochs 20 -o weights.npz

The inputs are used as they are in the file: scale them as they were scaled for any weights you
load (``archcalc train --data digits`` divides the digits' 0…16 pixel values by 16).

Or use it as a module::

    model = build_model(seed=0)
    fit(model, build_loss(), build_optimizer(model), x, y, epochs=10, batch_size=32,
        rng=np.random.default_rng(0))
    scores = predict(model, x)
    save_weights(model, "weights.npz")      # PyTorch's state_dict names; load_weights(model, path) reads them

``predict`` returns the network's output: scores (logits, for a classifier), not
probabilities: the spec ends in linear.
"""

from __future__ import annotations

import argparse
import math
import time

import numpy as np

# -- layers ----------------------------------------------------------------------------------------

class Module:
    """Base of layers and structures: parameters are attributes named in ``PARAMS``, gradients in ``grads``."""

    PARAMS: tuple[str, ...] = ()
    BUFFERS: tuple[str, ...] = ()
    #: takes ``rng=`` (initialisation or dropout masks)
    RANDOM = False
    #: its one parameter is stored under the module's own name (``class_token``), not ``class_token.weight``
    BARE = False
    training = True
    #: whether its own parameters learn: torch's ``requires_grad``, per module (a spec freezes whole layers)
    requires_grad = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout

    def children(self) -> list[tuple[str, Module]]:
        return []

    def named_modules(self, prefix: str = ""):
        """Every module with its path; a child named ``""`` (an inline construct) adds no level."""
        yield prefix, self
        for name, child in self.children():
            yield from child.named_modules(".".join(part for part in (prefix, name) if part))

    def parameters(self) -> list[np.ndarray]:
        """Every parameter array, in a fixed order, once (a tied weight is one array held by two
        layers); optimizers update them in place."""
        return list({id(p): p for _, m in self.named_modules() for n in m.PARAMS
                     if (p := getattr(m, n)) is not None}.values())

    def trainable_parameters(self) -> list[np.ndarray]:
        """The parameters that learn, in the order of :meth:`parameters`: what an optimizer holds (torch's
        ``[p for p in model.parameters() if p.requires_grad]``); a frozen module's are left out."""
        return list({id(p): p for _, m in self.named_modules() if m.requires_grad for n in m.PARAMS
                     if (p := getattr(m, n)) is not None}.values())

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Whether the parameters of this module and of every module inside it learn, as torch's method sets
        it: a frozen module is left out of :meth:`trainable_parameters` and :meth:`gradients`, and a backward
        pass stops before modules that neither learn nor lead to one that does."""
        for _, m in self.named_modules():
            m.requires_grad = requires_grad
        return self

    def learns(self) -> bool:
        """Whether a parameter in this module learns, so that a backward pass has to reach it."""
        return any(m.requires_grad and any(getattr(m, n) is not None for n in m.PARAMS)
                   for _, m in self.named_modules())

    def gradients(self) -> list[np.ndarray]:
        """The gradients of the last backward pass, in the order of :meth:`trainable_parameters`: a tied weight's
        is the sum of the gradients of its uses, as autograd sums them into one ``.grad``. A frozen module's
        gradients are not among them (its layer may have computed them, on its way to its input's gradient)."""
        total: dict[int, np.ndarray] = {}
        for _, m in self.named_modules():
            if not m.requires_grad:
                continue
            for n in m.PARAMS:
                if (p := getattr(m, n)) is not None:
                    total[id(p)] = total[id(p)] + m.grads[n] if id(p) in total else m.grads[n]
        return list(total.values())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers under PyTorch's names (``layer1.0.conv1.weight``), in torch's order."""
        state = {}
        for prefix, m in self.named_modules():
            for name in (*m.PARAMS, *m.BUFFERS):
                if getattr(m, name) is not None:
                    state[prefix if m.BARE else f"{prefix}.{name}" if prefix else name] = getattr(m, name)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the arrays in place (so an optimizer built earlier keeps working)."""
        own = self.state_dict()
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(f"weights do not fit this model: missing {missing}, unexpected {unexpected}")
        for name, array in own.items():
            value = np.asarray(state[name])
            if value.shape != array.shape:
                raise ValueError(f"{name}: shape {value.shape} does not fit {array.shape}")
            array[...] = value

    def astype(self, dtype) -> Module:
        """Cast every floating parameter and buffer (float32 trains fast, float64 checks gradients); a
        tied weight stays one array."""
        cast: dict[int, np.ndarray] = {}
        for _, m in self.named_modules():
            for name in (*m.PARAMS, *m.BUFFERS):
                value = getattr(m, name)
                if value is not None and value.dtype.kind == "f":
                    if id(value) not in cast:
                        cast[id(value)] = value.astype(dtype)
                    setattr(m, name, cast[id(value)])
        return self

    def train(self, mode: bool = True) -> Module:
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)


def _uniform(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
    """PyTorch's default for weights and biases: kaiming_uniform_(a=√5) comes to U(±1/√fan_in)."""
    bound = 1 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape)


def _initial(rng: np.random.Generator, shape: tuple[int, ...], init, default_fan_in: int) -> np.ndarray:
    """A parameter of ``shape`` drawn as ``torch.nn.init`` draws it for the spec's ``init:`` ``(name, ((key,
    value), …))``; PyTorch's layer default U(±1/√fan_in) when ``init`` is None.

    Fans follow torch: fan_in = shape[1]·k, fan_out = shape[0]·k with k the product of the kernel's sizes.
    Orthogonal is torch's construction: the QR factor of a normal matrix, its columns' signs fixed by R's
    diagonal, scaled by the gain.
    """
    if init is None:
        return _uniform(rng, default_fan_in, shape)
    name, params = init
    p = dict(params)
    receptive = math.prod(shape[2:])
    fan_in, fan_out = (shape[1] * receptive, shape[0] * receptive) if len(shape) > 1 else (0, 0)
    if name in ("zeros", "ones", "constant"):
        return np.full(shape, {"zeros": 0.0, "ones": 1.0}.get(name, p.get("value")))
    if name == "uniform":
        return rng.uniform(p["a"], p["b"], shape)
    if name == "normal":
        return rng.normal(p["mean"], p["std"], shape)
    if name.startswith("xavier"):
        std = p["gain"] * math.sqrt(2.0 / (fan_in + fan_out))
        return rng.uniform(-math.sqrt(3) * std, math.sqrt(3) * std, shape) if name.endswith("uniform") \
            else rng.normal(0.0, std, shape)
    if name.startswith("kaiming"):  # torch.nn.init.calculate_gain (leaky_relu's uses ``a``)
        gains = {"tanh": 5 / 3, "relu": math.sqrt(2.0), "selu": 3 / 4, "leaky_relu": math.sqrt(2.0 / (1 + p["a"] ** 2))}
        gain = gains.get(p["nonlinearity"], 1.0)
        std = gain / math.sqrt(fan_in if p["mode"] == "fan_in" else fan_out)
        return rng.uniform(-math.sqrt(3) * std, math.sqrt(3) * std, shape) if name.endswith("uniform") \
            else rng.normal(0.0, std, shape)
    if name == "orthogonal":
        rows, cols = shape[0], math.prod(shape[1:])
        flat = rng.normal(0.0, 1.0, (rows, cols))
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return p["gain"] * q.reshape(shape)
    raise ValueError(f"unknown init {name!r}")


class Linear(Module):
    """y = x Wᵀ + b on the last axis (``nn.Linear``); W is (out, in).

    ``transposed`` stores W as (in, out), y = x W + b, as Hugging Face's GPT-2 ``Conv1D`` does, with
    its initialisation (W from N(0, 0.02²), b zero).
    """

    PARAMS = ("weight", "bias")
    RANDOM = True

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None, init=None, bias_init=None,
                 transposed: bool = False):
        rng = np.random.default_rng(rng)
        self.transposed = transposed
        if transposed:
            shape = (in_features, out_features)
            self.weight = rng.normal(0.0, 0.02, shape) if init is None else _initial(rng, shape, init, in_features)
            self.bias = (np.zeros(out_features) if bias_init is None else
                         _initial(rng, (out_features,), bias_init, in_features)) if bias else None
            return
        self.weight = _initial(rng, (out_features, in_features), init, in_features)
        self.bias = _initial(rng, (out_features,), bias_init, in_features) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        # as one 2-D product: numpy multiplies a 3-D array by a transposed matrix without BLAS, ~50× slower
        x2 = x.reshape(-1, x.shape[-1])
        out = (x2 @ self.weight if self.transposed else x2 @ self.weight.T).reshape(*x.shape[:-1], -1)
        return out + self.bias if self.bias is not None else out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        d2 = dout.reshape(-1, dout.shape[-1])
        grad = d2.T @ self.x.reshape(-1, self.x.shape[-1])
        self.grads = {"weight": grad.T if self.transposed else grad}
        if self.bias is not None:
            self.grads["bias"] = d2.sum(0)
        if not input_grad:
            return None
        return (d2 @ self.weight.T if self.transposed else d2 @ self.weight).reshape(*dout.shape[:-1], -1)


class Dropout(Module):
    """Inverted dropout (``nn.Dropout``): in training zero each element with probability p and scale
    the survivors by 1/(1 − p), so the expected output is the input; the identity in evaluation."""

    RANDOM = True

    def __init__(self, p: float = 0.5, rng=None):
        self.p, self.rng = p, np.random.default_rng(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = None
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep * (1 / (1 - self.p)) if self.p < 1 else np.zeros(x.shape)
        self.mask = self.mask.astype(x.dtype)
        return x * self.mask

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout if self.mask is None else dout * self.mask


class ReLU(Module):
    """max(x, 0); gradient 1 where x > 0, else 0 (PyTorch's choice at 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.positive


class Softmax(Module):
    """exp(x_i)/Σ_j exp(x_j) along ``dim`` (batch included, as in ``nn.Softmax(dim=1)``), shifted by
    the maximum so it never overflows."""

    def __init__(self, dim: int = 1):
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(self.dim, keepdims=True))
        self.out = e / e.sum(self.dim, keepdims=True)
        return self.out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return self.out * (dout - (dout * self.out).sum(self.dim, keepdims=True))


# -- structures ------------------------------------------------------------------------------------

class Sequential(Module):
    """Children in order (``nn.Sequential``); an empty one passes its input through.

    ``ties`` are (path of a layer, path of the layer whose weight it uses) pairs: the first layer's
    weight becomes the second's array, so both uses update one array and their gradients are summed
    into it (:meth:`Module.gradients`), as GPT-2's output projection shares its token embedding.
    ``skips`` are the paths of the nodes whose output a later merge branch reads (``{from: PATH}``):
    the root links each :class:`From` to the :class:`Keep` of its path. ``frozen`` are the paths of the
    modules whose parameters do not learn (the spec's ``trainable: false``): each is ``requires_grad_(False)``.
    """

    def __init__(self, layers: list[tuple[str, Module]], ties: tuple[tuple[str, str], ...] = (),
                 skips: tuple[str, ...] = (), frozen: tuple[str, ...] = ()):
        self.layers = list(layers)
        modules: dict[str, Module] = {}
        for path, module in self.named_modules():  # a container before the inline ones that share its path
            modules.setdefault(path, module)
        for tied, owner in ties:
            modules[tied].weight = modules[owner].weight
        for path in frozen:
            modules[path].requires_grad_(False)
        if skips:  # each branch that reads an earlier output (From) gets the module that keeps it (Keep)
            kept = {m.slot: m for _, m in self.named_modules() if getattr(m, "KEEPS", False)}
            for _, m in self.named_modules():
                if getattr(m, "KEEPS", True) is False:
                    m.source = kept[m.slot]

    def children(self) -> list[tuple[str, Module]]:
        return self.layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for _, layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Each child's backward, last first. Without ``input_grad`` the children before the first that learns
        run none at all, and that one computes no input gradient: autograd records nothing for a tensor that
        requires no grad, which the input and what frozen or weightless layers make of it are."""
        start = 0 if input_grad else next((i for i, (_, m) in enumerate(self.layers) if m.learns()), len(self.layers))
        for i in range(len(self.layers) - 1, start - 1, -1):
            dout = self.layers[i][1].backward(dout, input_grad or i > start)
        return dout if input_grad else None


# -- losses ----------------------------------------------------------------------------------------

class Loss:
    """What every loss shares: no fused layer, probabilities thresholded at 0.5, float targets, class scores
    at dim 1 (after the batch)."""

    FUSES = None
    THRESHOLD = 0.5
    #: a multi-label classification's loss (the spec's multi_label): rows of labels are scored label by label
    multi_label = False
    #: whether each output is a yes/no of its own (binary cross-entropy), which may stand at every position
    BINARY = False
    #: the output's dim (batch included) that holds the class scores: a final ``FUSES`` softmax is the loss's
    #: own only when it normalises this dim (``training.logits_view``)
    CLASS_DIM = 1

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        """The data's ``y`` in the form this loss compares with an output ``width`` wide."""
        return y.astype(np.float64)


class CrossEntropyLoss(Loss):
    """mean_i(logsumexp(x_i) − x_i[t_i]) over logits x and class indices t (``nn.CrossEntropyLoss``);
    the log-softmax is shifted by each row's maximum. Gradient (softmax(x) − onehot(t))/N.

    With ``label_smoothing`` ε the target row is q = (1 − ε)·onehot(t) + ε/C over the C classes, as
    torch smooths it: the loss is −mean_i Σ_c q_ic log p_ic and the gradient (softmax(x) − q)/N.

    With ``inputs="probabilities"`` the network's output is taken as probabilities p and the loss is
    −mean_i Σ_c q_ic log p_ic (−mean_i log p_i[t_i] without smoothing), each log clamped at −100 as
    ``nn.BCELoss`` clamps it (the spec's ``loss: {cross_entropy: {inputs: probabilities}}``); its gradient is
    −q/(p·N) where the clamp does not hold the log. Saying what it takes also stops the loss from fusing a
    final softmax (``fuse=False``).
    """

    FUSES = Softmax

    def __init__(self, inputs: str = "logits", fuse: bool = True, label_smoothing: float = 0.0):
        self.inputs, self.smoothing = inputs, label_smoothing
        if not fuse or inputs != "logits":
            self.FUSES = None

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return y.astype(np.int64).reshape(-1)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        self.out, self.target = out, target
        if self.inputs == "probabilities":
            with np.errstate(divide="ignore", invalid="ignore"):  # log 0 is clamped at -100
                log_p = np.maximum(np.log(out), -100)
        else:
            shifted = out - out.max(1, keepdims=True)
            log_p = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        self.log_p = log_p
        nll = -log_p[np.arange(len(target)), target].mean()
        if not self.smoothing:
            return float(nll)
        # Σ_c q_c·(−log p_c) with q = (1 − ε)·onehot + ε/C: the NLL and the mean over the classes, mixed
        return float((1 - self.smoothing) * nll - self.smoothing * log_p.mean(1).mean())

    def backward(self) -> np.ndarray:
        rows, n, eps = np.arange(len(self.target)), len(self.target), self.smoothing
        if self.inputs == "probabilities":  # −q/p, and nothing where the clamp holds the log (or p is not one)
            live = self.log_p > -100
            inverse = np.where(live, 1 / np.where(live, self.out, 1), 0)
            grad = -eps / self.log_p.shape[1] * inverse if eps else np.zeros_like(inverse)
            grad[rows, self.target] -= (1 - eps) * inverse[rows, self.target]
            return grad / n
        grad = np.exp(self.log_p)  # softmax(x) − q
        if eps:
            grad -= eps / grad.shape[1]
        grad[rows, self.target] -= 1 - eps
        return grad / n


# -- optim -----------------------------------------------------------------------------------------

class Optimizer:
    """Parameters, one state dict per parameter, and weight decay: L2 added to the gradient, or, when
    ``decoupled`` (AdamW; NAdam and RAdam with ``decoupled_weight_decay``), the weights shrunk by
    lr·λ before the update, as torch.optim does both."""

    decoupled = False

    def __init__(self, params: list[np.ndarray], lr: float, weight_decay: float = 0.0):
        self.params, self.lr, self.weight_decay = list(params), lr, weight_decay
        self.state: list[dict[str, object]] = [{} for _ in self.params]

    def step(self, grads: list[np.ndarray]) -> None:
        for p, g, state in zip(self.params, grads, self.state):
            if self.weight_decay and self.decoupled:
                p *= 1 - self.lr * self.weight_decay
            elif self.weight_decay:
                g = g + self.weight_decay * p
            self.update(p, g, state)

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        raise NotImplementedError


class Adam(Optimizer):
    """m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g²; p ← p − (lr/(1 − β₁ᵗ))·m/(√v/√(1 − β₂ᵗ) + eps),
    with AMSGrad's v replaced by the running maximum of v."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 amsgrad: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps, self.amsgrad = betas, eps, amsgrad

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p), max_exp_avg_sq=np.zeros_like(p))
        (b1, b2), m, v = self.betas, state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * g * g
        if self.amsgrad:
            np.maximum(state["max_exp_avg_sq"], v, out=state["max_exp_avg_sq"])
            v = state["max_exp_avg_sq"]
        step_size = self.lr / (1 - b1 ** state["step"])
        denom = np.sqrt(v) / math.sqrt(1 - b2 ** state["step"]) + self.eps
        p -= step_size * (m / denom)


class AdamW(Adam):
    """Adam with decoupled weight decay: p ← p·(1 − lr·λ) before each update (PyTorch's default λ = 0.01)."""

    decoupled = True

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 amsgrad: bool = False, weight_decay: float = 1e-2):
        super().__init__(params, lr, betas, eps, amsgrad, weight_decay)


# -- loop ------------------------------------------------------------------------------------------

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


# -- training --------------------------------------------------------------------------------------

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


# -- this network ----------------------------------------------------------------------------------

NAME = 'digits-mlp'
INPUT_SHAPE = (64,)
OUTPUT_SHAPE = (10,)
#: the spec's train: section
TRAINING = {
    'task': 'classification',
    'epochs': 40,
    'batch_size': 32,
    'l1': 0.0,
    'patience': 8,
    'min_delta': 0.0,
    'monitor': 'val_loss',
    'seed': 0,
}


def build_model(seed=None, dtype="float32"):
    """The network, initialised like PyTorch's defaults from ``seed`` (an int, a Generator or None)."""
    rng = np.random.default_rng(seed)
    model = Sequential([
        ('fc1', Linear(in_features=64, out_features=128, rng=rng)),  # → [128]
        ('1', ReLU()),  # → [128]
        ('2', Dropout(p=0.1, rng=rng)),  # → [128]
        ('fc2', Linear(in_features=128, out_features=64, rng=rng)),  # → [64]
        ('4', ReLU()),  # → [64]
        ('out', Linear(in_features=64, out_features=10, rng=rng)),  # → [10]
    ])
    return model.astype(dtype)


def build_loss():
    return CrossEntropyLoss()


def build_optimizer(model):
    return AdamW(model.parameters(), lr=0.001, betas=(0.9, 0.999), eps=1e-08, amsgrad=False, weight_decay=0.0001)


def check_data(x, y) -> None:
    """Refuse, before training, data it cannot train on: a ValueError that names the
    array and the value (archcalc train checks the same)."""
    import numpy as np

    for name, a in (("x", x), ("y", y)):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold numbers, not {a.dtype}")
        if a.ndim == 0 or len(a) == 0:
            raise ValueError(f"{name} holds no samples")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            row = int(np.argmax(~np.isfinite(a.reshape(len(a), -1)).all(1)))
            raise ValueError(f"{name} row {row} holds NaN or an infinity")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows, y {len(y)}: one target per sample")
    wrong = (y < 0) | (y != np.round(y)) | (y >= 10)
    if wrong.any():
        value = y.reshape(-1)[np.argmax(wrong.reshape(-1))]
        raise ValueError(f"y holds {value}, not a class index 0 ... 9")


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the network on DATA.npz (arrays x and y) with NumPy.")
    parser.add_argument("data", help=".npz file with x (samples first) and y")
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--seed", type=int, default=TRAINING["seed"])
    parser.add_argument("--validation", type=float, default=0.15, help="fraction held out for validation")
    parser.add_argument("-o", "--output", help="save the trained weights to this .npz file")
    args = parser.parse_args(argv)
    try:
        with np.load(args.data, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
        check_data(x, y)
    except Exception as error:  # unreadable or unusable: a usage error, not a traceback
        parser.error(f"{args.data}: {error}")
    x = x.astype(np.float32).reshape(len(x), *INPUT_SHAPE)
    classify = TRAINING["task"] == "classification"
    loss = build_loss()
    y = loss.targets(y, OUTPUT_SHAPE[-1], classify)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    if not 0 <= args.validation <= 1:  # nan too
        parser.error(f"--validation {args.validation:g}: give the fraction to hold out, from 0 to 1")
    held = round(len(x) * args.validation)
    val, train = order[:held], order[held:]
    model = build_model(rng)
    result = fit(model, loss, build_optimizer(model), x[train], y[train], epochs=args.epochs,
                 batch_size=TRAINING["batch_size"], rng=rng, validation=(x[val], y[val]) if held else None,
                 l1=TRAINING["l1"], patience=TRAINING["patience"], min_delta=TRAINING["min_delta"],
                 monitor=TRAINING["monitor"], classify=classify,
                 on_epoch=lambda r: print(", ".join(f"{k} {v:.6g}" for k, v in r.items() if v is not None)))
    print(f"best epoch {result['best_epoch']} of {len(result['history'])}")
    if args.output:
        save_weights(model, args.output)


if __name__ == "__main__":
    main()
