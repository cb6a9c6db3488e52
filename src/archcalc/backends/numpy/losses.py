"""Losses with PyTorch's definitions and ``reduction='mean'``: ``forward(output, target)`` → a float,
``backward()`` → the gradient of that mean with respect to ``output``.

Cross-entropy and BCE-with-logits take *logits* and apply the (log-)softmax or sigmoid themselves,
stably; ``FUSES`` names the final layer they replace, so a network that ends in that layer is
trained on the logits before it (see ``training.logits_view``; a test binds it to the one table,
``archcalc.spec.train.LOGIT_LOSSES``, which this NumPy-only file cannot import). A single output counts as class 1 when
it exceeds ``THRESHOLD``. Imports only NumPy.
"""

from __future__ import annotations

import numpy as np

from archcalc.backends.numpy.layers import Sigmoid, Softmax


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


class MSELoss(Loss):
    """mean((y − t)²) over every element (``nn.MSELoss``); gradient 2(y − t)/size. Class labels
    become one-hot rows when it trains a classifier with several outputs."""

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        self.diff = out - target.reshape(out.shape)
        return float(np.mean(self.diff * self.diff))

    def backward(self) -> np.ndarray:
        return 2 * self.diff / self.diff.size


def _one_hot(y: np.ndarray, width: int, classify: bool) -> np.ndarray:
    """Class labels as one-hot rows when a classifier has several outputs (labels already in rows, as a
    multi-label classification gives them, stay as they are); other targets as floats."""
    if classify and width > 1 and (y.ndim == 1 or (y.ndim == 2 and y.shape[1] == 1)):
        return np.eye(width)[y.astype(np.int64).reshape(-1)]
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


class NLLLoss(Loss):
    """−mean_i x_i[t_i] over log-probabilities x and class indices t (``nn.NLLLoss``): the loss for a
    network that ends in log_softmax. Gradient −onehot(t)/N."""

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return y.astype(np.int64).reshape(-1)

    def forward(self, log_prob: np.ndarray, target: np.ndarray) -> float:
        self.shape, self.target = log_prob.shape, target
        return float(-log_prob[np.arange(len(target)), target].mean())

    def backward(self) -> np.ndarray:
        grad = np.zeros(self.shape)
        grad[np.arange(len(self.target)), self.target] = -1 / len(self.target)
        return grad


class L1Loss(Loss):
    """mean(|y − t|) over every element (``nn.L1Loss``); gradient sign(y − t)/size (0 where y = t, as torch)."""

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        self.diff = out - target.reshape(out.shape)
        return float(np.mean(np.abs(self.diff)))

    def backward(self) -> np.ndarray:
        return np.sign(self.diff) / self.diff.size


class HuberLoss(Loss):
    """mean of ½d² where |d| < δ, else δ(|d| − ½δ), over d = y − t (``nn.HuberLoss(delta=δ)``);
    gradient d inside, δ·sign(d) outside, over the size."""

    def __init__(self, delta: float = 1.0):
        self.delta = delta

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        d = self.diff = out - target.reshape(out.shape)
        a = np.abs(d)
        return float(np.mean(np.where(a < self.delta, 0.5 * d * d, self.delta * (a - 0.5 * self.delta))))

    def backward(self) -> np.ndarray:
        d = self.diff
        return np.where(np.abs(d) < self.delta, d, self.delta * np.sign(d)) / d.size


class SmoothL1Loss(Loss):
    """mean of ½d²/β where |d| < β, else |d| − ½β (``nn.SmoothL1Loss(beta=β)``; β = 0 is L1); gradient
    d/β inside, sign(d) outside, over the size. It is Huber's loss divided by β."""

    def __init__(self, beta: float = 1.0):
        self.beta = beta

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        d = self.diff = out - target.reshape(out.shape)
        a = np.abs(d)
        if self.beta == 0:
            return float(np.mean(a))
        return float(np.mean(np.where(a < self.beta, 0.5 * d * d / self.beta, a - 0.5 * self.beta)))

    def backward(self) -> np.ndarray:
        d = self.diff
        if self.beta == 0:
            return np.sign(d) / d.size
        return np.where(np.abs(d) < self.beta, d / self.beta, np.sign(d)) / d.size


class KLDivLoss(Loss):
    """Σ t·(log t − x) / N over log-probabilities x and target probabilities t, with 0·log 0 = 0
    (``nn.KLDivLoss(reduction="batchmean")``, the true KL divergence per sample; class labels become
    one-hot rows). Gradient −t/N."""

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, log_prob: np.ndarray, target: np.ndarray) -> float:
        t = self.target = target.reshape(log_prob.shape).astype(log_prob.dtype)
        with np.errstate(divide="ignore", invalid="ignore"):
            t_log_t = np.where(t > 0, t * np.log(np.where(t > 0, t, 1)), 0)
        return float((t_log_t - t * log_prob).sum() / len(log_prob))

    def backward(self) -> np.ndarray:
        return -self.target / len(self.target)


class CosineLoss(Loss):
    """mean_i(1 − cos(y_i, t_i)) over each sample's outputs y_i and targets t_i, cos = y·t / √((|y|² + ε)(|t|² + ε))
    with ε = 1e-12 (``nn.CosineEmbeddingLoss`` with every label +1: pull each output towards its target's
    direction, whatever its length)."""

    EPS = 1e-12

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        y = self.out = out.reshape(len(out), -1)
        t = self.target = target.reshape(y.shape).astype(y.dtype)
        self.dot = (y * t).sum(1)
        self.yy, self.tt = (y * y).sum(1) + self.EPS, (t * t).sum(1) + self.EPS
        self.cos = self.dot / np.sqrt(self.yy * self.tt)
        return float(np.mean(1 - self.cos))

    def backward(self) -> np.ndarray:
        denominator = np.sqrt(self.yy * self.tt)[:, None]
        grad = -(self.target / denominator - (self.cos / self.yy)[:, None] * self.out) / len(self.out)
        return grad.reshape(self.out.shape)


class DiceLoss(Loss):
    """mean_i(1 − (2·Σ p·t + s) / (Σ p + Σ t + s)) over each sample's probabilities p and 0/1 targets t, with
    smoothing s (``smooth``, 1 by default, which keeps an empty target and prediction at loss 0): the overlap
    loss of segmentation (Milletari et al., V-Net, 2016), summed over every element of a sample. Each output is
    a yes/no (``BINARY``): a mask's pixel, or with ``multi_label`` a label."""

    BINARY = True

    def __init__(self, smooth: float = 1.0, multi_label: bool = False):
        self.smooth, self.multi_label = smooth, multi_label

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, prob: np.ndarray, target: np.ndarray) -> float:
        p = self.prob = prob.reshape(len(prob), -1)
        t = self.target = target.reshape(p.shape).astype(p.dtype)
        self.shape = prob.shape
        self.num = 2 * (p * t).sum(1) + self.smooth
        self.den = p.sum(1) + t.sum(1) + self.smooth
        return float(np.mean(1 - self.num / self.den))

    def backward(self) -> np.ndarray:
        num, den = self.num[:, None], self.den[:, None]
        grad = -(2 * self.target / den - num / (den * den)) / len(self.prob)
        return grad.reshape(self.shape)


class BCELoss(Loss):
    """−mean(t·log p + (1 − t)·log(1 − p)) over probabilities p (``nn.BCELoss``), each log clamped
    at −100 and the gradient's denominator p(1 − p) at 1e-12, as PyTorch does. ``multi_label``: the
    spec's, for the accuracy."""

    BINARY = True

    def __init__(self, multi_label: bool = False):
        self.multi_label = multi_label

    def forward(self, prob: np.ndarray, target: np.ndarray) -> float:
        if prob.size and (prob.min() < 0 or prob.max() > 1):  # as nn.BCELoss refuses them (NaN passes: diverged)
            raise ValueError("bce takes probabilities in [0, 1], but the network's outputs left that range")
        self.prob, self.target = prob, target.reshape(prob.shape).astype(prob.dtype)
        with np.errstate(divide="ignore"):  # log 0 = −∞, clamped to −100 below
            log_p, log_q = np.maximum(np.log(prob), -100), np.maximum(np.log(1 - prob), -100)
        return float(-np.mean(self.target * log_p + (1 - self.target) * log_q))

    def backward(self) -> np.ndarray:
        p, t = self.prob, self.target
        return (p - t) / np.maximum((1 - p) * p, 1e-12) / p.size


class BCEWithLogitsLoss(Loss):
    """mean(max(x, 0) − x·t + log(1 + e^−|x|)) over logits x (``nn.BCEWithLogitsLoss``), which never
    overflows; gradient (sigmoid(x) − t)/size. ``fuse=False`` (the spec said what the loss takes) keeps
    a final sigmoid in training."""

    FUSES = Sigmoid
    THRESHOLD = 0.0
    BINARY = True

    def __init__(self, fuse: bool = True, multi_label: bool = False):
        self.multi_label = multi_label
        if not fuse:
            self.FUSES = None

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        self.logits, self.target = logits, target.reshape(logits.shape).astype(logits.dtype)
        x = logits
        return float(np.mean(np.maximum(x, 0) - x * self.target + np.log1p(np.exp(-np.abs(x)))))

    def backward(self) -> np.ndarray:
        return (0.5 * (1 + np.tanh(0.5 * self.logits)) - self.target) / self.logits.size


def _signs(target: np.ndarray) -> np.ndarray:
    """Targets of a margin loss as −1 and +1: a 0 (the class 0, or a label the sample lacks) is −1, as Keras
    converts 0/1 labels for its hinge losses; −1 and 1 stay."""
    return np.where(target == 0, -1, target).astype(target.dtype)


class HingeLoss(Loss):
    """Keras' hinge: mean(max(0, 1 − t·y)) over every output y and its target t in {−1, 1} (a 0 read as −1,
    :func:`_signs`); ``squared``: Keras' squared_hinge, the mean of the squares. Gradient −t where the margin
    falls short (−2t·max(0, 1 − t·y) squared) over the size, and none where it is met exactly, as torch's relu
    gives none at 0. Class labels become one-hot rows when the network has an output per class (each class
    against the rest, as Keras' hinge on one-hot labels); each output is a yes/no read at 0 (``THRESHOLD``)."""

    THRESHOLD = 0.0
    BINARY = True

    def __init__(self, squared: bool = False, multi_label: bool = False):
        self.squared, self.multi_label = squared, multi_label

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        self.sign = _signs(target.reshape(out.shape).astype(out.dtype))
        self.short = np.maximum(1 - self.sign * out, 0)
        return float(np.mean(self.short * self.short if self.squared else self.short))

    def backward(self) -> np.ndarray:
        t, short = self.sign, self.short
        grad = -2 * t * short if self.squared else np.where(short > 0, -t, 0)
        return grad / short.size


class SoftMarginLoss(Loss):
    """mean(log(1 + e^(−t·x))) over every output x and its target t in {−1, 1} (``nn.SoftMarginLoss``; a 0 read
    as −1, :func:`_signs`): the logistic loss on raw scores, computed as logaddexp(0, −t·x), which never
    overflows; gradient −t·sigmoid(−t·x)/size (torch's e^z/(1 + e^z) turns NaN past z ≈ 709 in float64)."""

    THRESHOLD = 0.0
    BINARY = True

    def __init__(self, multi_label: bool = False):
        self.multi_label = multi_label

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        self.sign = _signs(target.reshape(out.shape).astype(out.dtype))
        self.z = -self.sign * out
        return float(np.mean(np.logaddexp(0, self.z)))

    def backward(self) -> np.ndarray:
        return -self.sign * 0.5 * (1 + np.tanh(0.5 * self.z)) / self.z.size


class MultiMarginLoss(Loss):
    """Σ_{j≠t} max(0, margin − x_t + x_j)^p / C per sample, averaged (``nn.MultiMarginLoss(p, margin)``), over
    the C scores x of a sample and its class index t: every other class whose score comes within ``margin`` of
    the true one's adds its shortfall (p = 1) or its square (p = 2). Gradient, where a shortfall z is positive,
    1 (or 2z) over C·N at that class and its negative summed at the true class; none where z = 0, as torch."""

    THRESHOLD = 0.0

    def __init__(self, p: int = 1, margin: float = 1.0):
        self.p, self.margin = p, margin

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return y.astype(np.int64).reshape(-1)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        rows = self.rows = np.arange(len(target))
        short = np.maximum(self.margin - out[rows, target][:, None] + out, 0)
        short[rows, target] = 0  # the true class is no other class
        self.short, self.target = short, target
        terms = short if self.p == 1 else short * short
        return float(terms.sum(1).mean() / out.shape[1])

    def backward(self) -> np.ndarray:
        short = self.short
        grad = (short > 0).astype(short.dtype) if self.p == 1 else 2 * short
        grad[self.rows, self.target] = -grad.sum(1)
        return grad / short.size


class CategoricalHingeLoss(Loss):
    """Keras' categorical_hinge: mean(max(0, neg − pos + 1)) over the samples, pos = x_t the true class's score and
    neg = max_j((1 − onehot(t)_j)·x_j), the largest other score or 0 when all of them are below 0 (the true
    class's term is 0·x_t: Keras' definition, kept). Gradient −1/N at the true class and +1/N at the largest
    other score where the margin falls short, shared among ties as torch's amax and TensorFlow's reduce_max
    share it."""

    THRESHOLD = 0.0

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return y.astype(np.int64).reshape(-1)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        rows = self.rows = np.arange(len(target))
        others = out.copy()
        others[rows, target] = 0
        neg = others.max(1)
        self.top = (others == neg[:, None]).astype(out.dtype)
        self.top /= self.top.sum(1, keepdims=True)  # the true class's share is overwritten in backward
        self.short = neg - out[rows, target] + 1 > 0
        self.target, self.shape = target, out.shape
        return float(np.maximum(neg - out[rows, target] + 1, 0).mean())

    def backward(self) -> np.ndarray:
        grad = self.top * self.short[:, None]
        # the true class: −1 from pos; from neg nothing, its term being 0·x_t
        grad[self.rows, self.target] = -self.short.astype(grad.dtype)
        return grad / self.shape[0]


class PoissonNLLLoss(Loss):
    """The negative log-likelihood of counts t under Poisson rates, averaged over every element
    (``nn.PoissonNLLLoss``): with ``log_input`` (torch's default) the output x is log λ and the loss exp(x) − t·x,
    gradient exp(x) − t; without, x is λ itself and the loss x − t·log(x + eps), gradient 1 − t/(x + eps) (Keras'
    poisson with eps 1e-7). ``full`` adds Stirling's t·log t − t + ½·log(2πt) where t > 1, as torch (no gradient)."""

    def __init__(self, log_input: bool = True, full: bool = False, eps: float = 1e-8):
        self.log_input, self.full, self.eps = log_input, full, eps

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        t = self.target = target.reshape(out.shape).astype(out.dtype)
        self.out = out
        with np.errstate(divide="ignore", invalid="ignore"):  # a rate ≤ −eps is NaN, as in torch
            loss = np.exp(out) - t * out if self.log_input else out - t * np.log(out + self.eps)
        if self.full:
            big = np.where(t > 1, t, 1)
            loss = loss + np.where(t > 1, big * np.log(big) - big + 0.5 * np.log(2 * np.pi * big), 0)
        return float(np.mean(loss))

    def backward(self) -> np.ndarray:
        x, t = self.out, self.target
        with np.errstate(divide="ignore", invalid="ignore"):
            grad = np.exp(x) - t if self.log_input else 1 - t / (x + self.eps)
        return grad / x.size


class LogCoshLoss(Loss):
    """Keras' log_cosh: mean(log(cosh(y − t))) over every element, computed as logaddexp(d, −d) − log 2, which never
    overflows: about d²/2 for small errors and |d| − log 2 for large ones. Gradient tanh(d)/size."""

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return _one_hot(y, width, classify)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        d = self.diff = out - target.reshape(out.shape)
        return float(np.mean(np.logaddexp(d, -d) - np.log(2)))

    def backward(self) -> np.ndarray:
        return np.tanh(self.diff) / self.diff.size


class PerPosition(Loss):
    """A class-index loss (cross-entropy, NLL) applied at every position of a dense output: a language
    model's [N, T, V] against targets [N, T], a segmentation's [N, C, H, W] against [N, H, W].

    The class axis (``axis``, counted after the batch) is moved last and every position becomes a row,
    so the mean runs over every position of every sample, as ``nn.CrossEntropyLoss`` averages over
    (N, d1, …); the gradient is the inner loss's, put back in the output's layout. Accuracy
    (:meth:`correct`) counts each sample's share of right positions. A final softmax over the class axis
    (``CLASS_DIM``, a language model's ``softmax: {dim: -1}``) is the loss's own, as it is for one class per sample.
    """

    def __init__(self, inner: Loss, axis: int):
        self.inner, self.axis = inner, axis
        self.FUSES, self.THRESHOLD, self.CLASS_DIM = inner.FUSES, inner.THRESHOLD, 1 + axis

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return y.astype(np.int64)

    def rows(self, out: np.ndarray) -> np.ndarray:
        """[N, …, C, …] → [positions, C]: the class axis last, one row per position."""
        moved = np.moveaxis(out, 1 + self.axis, -1)
        return moved.reshape(-1, moved.shape[-1])

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        self.moved = np.moveaxis(out, 1 + self.axis, -1).shape
        return self.inner.forward(self.rows(out), target.reshape(-1))

    def backward(self) -> np.ndarray:
        grad = self.inner.backward().reshape(self.moved)
        return np.ascontiguousarray(np.moveaxis(grad, -1, 1 + self.axis))

    def predict(self, out: np.ndarray) -> np.ndarray:
        """The predicted class at every position: [N, …] without the class axis."""
        return out.argmax(1 + self.axis)

    def correct(self, out: np.ndarray, y: np.ndarray) -> float:
        """The right positions of the batch, each sample counting the share of its positions that are right."""
        positions = y.size // len(y) if len(y) else 1
        return float((self.predict(out) == y).sum()) / positions


def per_position_loss(loss: Loss, y: np.ndarray, axes: dict) -> Loss:
    """``loss`` for the targets ``y``: a class-index loss (cross-entropy, NLL) wrapped in :class:`PerPosition`
    when ``y`` holds a class index per position, on the class axis ``axes`` gives for their shape (after the
    batch; ``archcalc.spec.train.dense_axes`` makes the table from the spec), else ``loss`` itself."""
    axis = axes.get(tuple(y.shape[1:])) if y.ndim > 1 and isinstance(loss, (CrossEntropyLoss, NLLLoss)) else None
    return loss if axis is None else PerPosition(loss, axis)
