"""Built-in synthetic data for ``archcalc train --data NAME``: generated, never downloaded, and the same on
every machine (each set comes from its own fixed generator seed), so a result stated for one holds anywhere.

``sign-sum``: 4,000 sequences of 20 numbers drawn uniformly from [−1, 1], shape ``[20, 1]`` (T = 20 steps of
one feature); the class is 1 when the sequence's sum is positive, else 0 (the classes come out about even).
Every element counts equally, wherever it sits, so a model must carry a running total through all 20 steps:
a sequence task that an LSTM learns in seconds, and that no single position predicts (an element alone
says the class right only about 60 % of the time).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def sign_sum(samples: int = 4000, steps: int = 20, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` sequences ``[steps, 1]`` of U(−1, 1) values (float32) and whether each one's sum is positive."""
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(samples, steps, 1)).astype(np.float32)
    return x, (x.sum(axis=(1, 2), dtype=np.float64) > 0).astype(np.int64)


#: ``--data`` name → the function that makes its samples and targets (x, y)
SOURCES: dict[str, Callable[[], tuple[np.ndarray, np.ndarray]]] = {"sign-sum": sign_sum}
