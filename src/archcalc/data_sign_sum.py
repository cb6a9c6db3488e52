"""``--data sign-sum``: generated sequences whose class is the sign of their sum, for a sequence model.

4,000 sequences of T steps of F features (the spec's input ``[T, F]``; ``specs/lstm-sign.yaml`` takes
``[20, 1]``), every value drawn uniformly from [−1, 1]; the class is 1 when the sequence's sum is positive,
else 0 (the classes come out about even). Every element counts equally, wherever it sits, so a model must
carry a running total through all T steps: a task an LSTM learns in seconds, and that no single position
predicts (at T = 20, one element alone says the class right only about 60 % of the time). Generated, never
downloaded, from a fixed seed, so a result stated for it holds on every machine.
"""

from __future__ import annotations

import numpy as np

SAMPLES, SEED = 4000, 0
#: the inputs this data set fills (the hint of the error when a spec's input is another)
FITS = "a sequence model takes [T, F]: T steps of F features, e.g. input: [20, 1]"


def unfit(input_shape: tuple[int, ...]) -> str | None:
    """Why a network taking ``input_shape`` cannot train on this data set, or None when it can."""
    if len(input_shape) != 2:
        return f"the sequences are [T, F], but the input is {list(input_shape)}"
    return None


def make(input_shape: tuple[int, ...] = (20, 1), samples: int = SAMPLES, seed: int = SEED
         ) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` sequences ``[T, F]`` of U(−1, 1) values (float32) and whether each one's sum is positive."""
    steps, features = (int(d) for d in input_shape)
    x = np.random.default_rng(seed).uniform(-1.0, 1.0, size=(samples, steps, features)).astype(np.float32)
    return x, (x.sum(axis=(1, 2), dtype=np.float64) > 0).astype(np.int64)
