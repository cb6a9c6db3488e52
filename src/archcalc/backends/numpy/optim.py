"""torch.optim's update rules, line for line (the single-tensor code paths PyTorch runs on the CPU).

An optimizer holds the parameter arrays and updates them in place; ``step(grads)`` takes the
gradients in the same order. Weight decay is L2 added to the gradient (``g + λ·p``), except in
AdamW (and NAdam and RAdam with ``decoupled_weight_decay``), which shrinks the weights directly
(``p·(1 − lr·λ)``) before the moment updates. The quirks that make results agree to ~1e-15 in
float64: SGD's first momentum buffer is the gradient itself (no dampening); Adagrad's sum starts at
``initial_accumulator_value``; RMSprop adds ``eps`` after the square root; AMSGrad keeps the maximum
of the *raw* second moment; Adadelta adds ``eps`` inside both square roots; Adamax adds ``eps`` to
|g| before the maximum; NAdam divides by the bias correction inside the square root and keeps its
momentum product in float32; RAdam takes plain momentum steps until ρ_t exceeds 5. Imports only
NumPy.
"""

from __future__ import annotations

import math

import numpy as np


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


class SGD(Optimizer):
    """p ← p − lr·g; with momentum μ the buffer b ← μb + (1 − dampening)g (b = g on the first step),
    and the step uses b, or g + μb with Nesterov."""

    def __init__(self, params, lr: float = 1e-3, momentum: float = 0.0, dampening: float = 0.0,
                 nesterov: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.momentum, self.dampening, self.nesterov = momentum, dampening, nesterov

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if self.momentum:
            buf = state.get("momentum_buffer")
            if buf is None:
                buf = state["momentum_buffer"] = g.copy()
            else:
                buf *= self.momentum
                buf += (1 - self.dampening) * g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g


class Adagrad(Optimizer):
    """s ← s + g²; p ← p − lr_t·g/(√s + eps) with lr_t = lr/(1 + (t − 1)·lr_decay)."""

    def __init__(self, params, lr: float = 1e-2, lr_decay: float = 0.0, initial_accumulator_value: float = 0.0,
                 eps: float = 1e-10, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.lr_decay, self.eps = lr_decay, eps
        self.state = [{"step": 0, "sum": np.full_like(p, initial_accumulator_value)} for p in self.params]

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        state["step"] += 1
        clr = self.lr / (1 + (state["step"] - 1) * self.lr_decay)
        state["sum"] += g * g
        p -= clr * (g / (np.sqrt(state["sum"]) + self.eps))


class RMSprop(Optimizer):
    """v ← αv + (1 − α)g²; centered subtracts the squared running mean of g; p moves by g/(√v + eps),
    through a momentum buffer when momentum > 0."""

    def __init__(self, params, lr: float = 1e-2, alpha: float = 0.99, eps: float = 1e-8, momentum: float = 0.0,
                 centered: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.alpha, self.eps, self.momentum, self.centered = alpha, eps, momentum, centered

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if not state:
            state.update(square_avg=np.zeros_like(p), grad_avg=np.zeros_like(p), momentum_buffer=np.zeros_like(p))
        v = state["square_avg"]
        v *= self.alpha
        v += (1 - self.alpha) * g * g
        if self.centered:
            mean = state["grad_avg"]
            mean += (1 - self.alpha) * (g - mean)
            avg = np.sqrt(v - mean * mean) + self.eps
        else:
            avg = np.sqrt(v) + self.eps
        if self.momentum > 0:
            buf = state["momentum_buffer"]
            buf *= self.momentum
            buf += g / avg
            p -= self.lr * buf
        else:
            p -= self.lr * (g / avg)


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


class Adadelta(Optimizer):
    """v ← ρv + (1 − ρ)g²; Δ ← √(u + eps)/√(v + eps)·g; u ← ρu + (1 − ρ)Δ²; p ← p − lr·Δ (Zeiler 2012,
    whose step needs no learning rate: torch's lr 1.0 scales it). ``eps`` sits inside both roots, and on
    the first steps, while u is 0, it sets the step's size: about √eps."""

    def __init__(self, params, lr: float = 1.0, rho: float = 0.9, eps: float = 1e-6, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.rho, self.eps = rho, eps

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if not state:
            state.update(step=0, square_avg=np.zeros_like(p), acc_delta=np.zeros_like(p))
        v, u = state["square_avg"], state["acc_delta"]
        state["step"] += 1
        v *= self.rho
        v += (1 - self.rho) * g * g
        delta = np.sqrt(u + self.eps) / np.sqrt(v + self.eps) * g
        u *= self.rho
        u += (1 - self.rho) * delta * delta
        p -= self.lr * delta


class Adamax(Optimizer):
    """Adam with the infinity norm (Kingma & Ba, section 7.1): m ← β₁m + (1 − β₁)g,
    u ← max(β₂u, |g| + eps); p ← p − (lr/(1 − β₁ᵗ))·m/u. u needs no bias correction; eps is added to
    |g| before the maximum, so u is never 0."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps = betas, eps

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_inf=np.zeros_like(p))
        (b1, b2), m, u = self.betas, state["exp_avg"], state["exp_inf"]
        state["step"] += 1
        m += (1 - b1) * (g - m)
        u *= b2
        np.maximum(u, np.abs(g) + self.eps, out=u)
        clr = self.lr / (1 - b1 ** state["step"])
        p += -clr * m / u


class NAdam(Optimizer):
    """Adam with Nesterov momentum (Dozat 2016), as torch.optim.NAdam: the momentum coefficient
    μ_t = β₁(1 − ½·0.96^(t·momentum_decay)) warms up towards β₁, μ̄_t = μ_1·…·μ_t, and with
    d = √(v/(1 − β₂ᵗ)) + eps, p ← p − lr(1 − μ_t)/(1 − μ̄_t)·g/d − lr·μ_{t+1}/(1 − μ̄_t·μ_{t+1})·m/d.
    torch keeps μ̄_t in a float32 tensor whatever the weights' type (its default scalar type) and
    multiplies it in float32, so it is a float rounded to float32 here too."""

    def __init__(self, params, lr: float = 2e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 momentum_decay: float = 4e-3, decoupled_weight_decay: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps, self.momentum_decay, self.decoupled = betas, eps, momentum_decay, decoupled_weight_decay

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if not state:
            state.update(step=0, mu_product=1.0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        (b1, b2), m, v = self.betas, state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        t = state["step"]
        mu = b1 * (1.0 - 0.5 * (0.96 ** (t * self.momentum_decay)))
        mu_next = b1 * (1.0 - 0.5 * (0.96 ** ((t + 1) * self.momentum_decay)))
        mu_product = state["mu_product"] = float(np.float32(state["mu_product"]) * np.float32(mu))
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * g * g
        denom = np.sqrt(v / (1 - b2 ** t)) + self.eps
        p += -self.lr * (1.0 - mu) / (1.0 - mu_product) * g / denom
        p += -self.lr * mu_next / (1.0 - mu_product * mu_next) * m / denom


class RAdam(Optimizer):
    """Adam with the variance of its adaptive rate rectified (Liu et al. 2020), as torch.optim.RAdam:
    with ρ_∞ = 2/(1 − β₂) − 1 and ρ_t = ρ_∞ − 2tβ₂ᵗ/(1 − β₂ᵗ), a step while ρ_t ≤ 5 is momentum SGD on the
    bias-corrected m̂ (lr·m̂), and after it lr·m̂·r_t·√(1 − β₂ᵗ)/(√v + eps), where
    r_t = √((ρ_t − 4)(ρ_t − 2)ρ_∞/((ρ_∞ − 4)(ρ_∞ − 2)ρ_t)). With β₂ 0.999 the first 5 steps are SGD's."""

    def __init__(self, params, lr: float = 1e-3, betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 decoupled_weight_decay: bool = False, weight_decay: float = 0.0):
        super().__init__(params, lr, weight_decay)
        self.betas, self.eps, self.decoupled = betas, eps, decoupled_weight_decay

    def update(self, p: np.ndarray, g: np.ndarray, state: dict) -> None:
        if not state:
            state.update(step=0, exp_avg=np.zeros_like(p), exp_avg_sq=np.zeros_like(p))
        (b1, b2), m, v = self.betas, state["exp_avg"], state["exp_avg_sq"]
        state["step"] += 1
        t = state["step"]
        m += (1 - b1) * (g - m)
        v *= b2
        v += (1 - b2) * g * g
        corrected = m / (1 - b1 ** t)
        rho_inf = 2 / (1 - b2) - 1
        rho_t = rho_inf - 2 * t * (b2 ** t) / (1 - b2 ** t)
        if rho_t > 5.0:
            rect = ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5
            p -= corrected * self.lr * ((1 - b2 ** t) ** 0.5 / (np.sqrt(v) + self.eps)) * rect
        else:
            p -= corrected * self.lr


def clip_grad_norm(grads: list[np.ndarray], max_norm: float) -> list[np.ndarray]:
    """torch.nn.utils.clip_grad_norm_ (norm_type 2): every gradient times min(max_norm / (norm + 1e-6), 1),
    where norm is the 2-norm of all of them together (the 2-norm of their 2-norms, as torch computes it).

    The arithmetic is in the gradients' own dtype, as torch's is; the 1e-6 keeps a zero norm from dividing
    by zero, and the clamp at 1 means gradients within the bound are multiplied by exactly 1 (torch
    multiplies them too, rather than branch). A NaN norm gives NaN gradients, as in torch, so a diverging
    run still shows as one."""
    if not grads:
        return grads
    dtype = np.result_type(*grads)
    norm = np.linalg.norm(np.array([np.linalg.norm(g) for g in grads], dtype=dtype))
    scale = np.minimum(dtype.type(max_norm) / (norm + dtype.type(1e-6)), dtype.type(1))
    return [g * scale for g in grads]


def clip_grad_value(grads: list[np.ndarray], clip_value: float) -> list[np.ndarray]:
    """torch.nn.utils.clip_grad_value_: every gradient element clamped to [−clip_value, clip_value]."""
    return [np.clip(g, -clip_value, clip_value) for g in grads]


class ClipGradients:
    """An optimizer whose gradients are clipped before each step, as a PyTorch loop calls
    ``clip_grad_norm_(model.parameters(), max_norm)`` (or ``clip_grad_value_``) between ``loss.backward()``
    and ``optimizer.step()``: after the L1 term is in the gradients, before weight decay is added to them.

    A wrapper rather than an option of :class:`Optimizer`, so that an exported file without clipping
    carries none of it. ``lr`` and ``state`` are the wrapped optimizer's (schedules and checkpoints
    set them); exactly one of ``max_norm`` and ``clip_value`` is given."""

    def __init__(self, optimizer: Optimizer, max_norm: float | None = None, clip_value: float | None = None):
        if (max_norm is None) == (clip_value is None):
            raise ValueError("give one of max_norm and clip_value")
        self.optimizer, self.max_norm, self.clip_value = optimizer, max_norm, clip_value
        self.params = optimizer.params

    @property
    def lr(self) -> float:
        return self.optimizer.lr

    @lr.setter
    def lr(self, value: float) -> None:
        self.optimizer.lr = value

    @property
    def state(self) -> list[dict[str, object]]:
        return self.optimizer.state

    @state.setter
    def state(self, value: list[dict[str, object]]) -> None:
        self.optimizer.state = value

    def step(self, grads: list[np.ndarray]) -> None:
        if self.max_norm is not None:
            grads = clip_grad_norm(grads, self.max_norm)
        else:
            grads = clip_grad_value(grads, self.clip_value)
        self.optimizer.step(grads)
