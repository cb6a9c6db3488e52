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
    """What every loss shares: no fused layer, probabilities thresholded at 0.5, float targets."""

    FUSES = None
    THRESHOLD = 0.5

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        """The data's ``y`` in the form this loss compares with an output ``width`` wide."""
        return y.astype(np.float64)


class MSELoss(Loss):
    """mean((y − t)²) over every element (``nn.MSELoss``); gradient 2(y − t)/size. Class labels
    become one-hot rows when it trains a classifier with several outputs."""

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        if classify and width > 1:
            return np.eye(width)[y.astype(np.int64).reshape(-1)]
        return y.astype(np.float64)

    def forward(self, out: np.ndarray, target: np.ndarray) -> float:
        self.diff = out - target.reshape(out.shape)
        return float(np.mean(self.diff * self.diff))

    def backward(self) -> np.ndarray:
        return 2 * self.diff / self.diff.size


class CrossEntropyLoss(Loss):
    """mean_i(logsumexp(x_i) − x_i[t_i]) over logits x and class indices t (``nn.CrossEntropyLoss``);
    the log-softmax is shifted by each row's maximum. Gradient (softmax(x) − onehot(t))/N."""

    FUSES = Softmax

    def targets(self, y: np.ndarray, width: int, classify: bool) -> np.ndarray:
        return y.astype(np.int64).reshape(-1)

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        shifted = logits - logits.max(1, keepdims=True)
        log_prob = shifted - np.log(np.exp(shifted).sum(1, keepdims=True))
        self.prob, self.target = np.exp(log_prob), target
        return float(-log_prob[np.arange(len(target)), target].mean())

    def backward(self) -> np.ndarray:
        grad = self.prob.copy()
        grad[np.arange(len(self.target)), self.target] -= 1
        return grad / len(self.target)


class BCELoss(Loss):
    """−mean(t·log p + (1 − t)·log(1 − p)) over probabilities p (``nn.BCELoss``), each log clamped
    at −100 and the gradient's denominator p(1 − p) at 1e-12, as PyTorch does."""

    def forward(self, prob: np.ndarray, target: np.ndarray) -> float:
        self.prob, self.target = prob, target.reshape(prob.shape).astype(prob.dtype)
        with np.errstate(divide="ignore"):  # log 0 = −∞, clamped to −100 below
            log_p, log_q = np.maximum(np.log(prob), -100), np.maximum(np.log(1 - prob), -100)
        return float(-np.mean(self.target * log_p + (1 - self.target) * log_q))

    def backward(self) -> np.ndarray:
        p, t = self.prob, self.target
        return (p - t) / np.maximum((1 - p) * p, 1e-12) / p.size


class BCEWithLogitsLoss(Loss):
    """mean(max(x, 0) − x·t + log(1 + e^−|x|)) over logits x (``nn.BCEWithLogitsLoss``), which never
    overflows; gradient (sigmoid(x) − t)/size."""

    FUSES = Sigmoid
    THRESHOLD = 0.0

    def forward(self, logits: np.ndarray, target: np.ndarray) -> float:
        self.logits, self.target = logits, target.reshape(logits.shape).astype(logits.dtype)
        x = logits
        return float(np.mean(np.maximum(x, 0) - x * self.target + np.log1p(np.exp(-np.abs(x)))))

    def backward(self) -> np.ndarray:
        return (0.5 * (1 + np.tanh(0.5 * self.logits)) - self.target) / self.logits.size
