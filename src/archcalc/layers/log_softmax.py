"""Log-softmax: x_i − log Σ exp(x_j) along the channel axis; outputs are log-probabilities."""

from __future__ import annotations

import math

from archcalc.layers.base import layer
from archcalc.layers.softmax import OverAxis


@layer("log_softmax")
class LogSoftmax(OverAxis):
    """The logarithm of softmax over one axis, the channels by default (PyTorch ``nn.LogSoftmax(dim=1)``),
    computed stably as x − logsumexp(x).

    Its outputs are log-probabilities (all ≤ 0): what ``loss: nll`` and ``loss: kl_div`` take.

    Example: ``- log_softmax``
    """

    BOUNDS = (-math.inf, 0.0)
