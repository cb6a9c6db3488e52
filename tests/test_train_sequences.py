"""An LSTM really learns a sequence task: specs/lstm-sign.yaml on the generated ``sign-sum`` data
(archcalc.data_sign_sum), trained by ``archcalc train`` with the NumPy and the PyTorch backends from
the same seed, each above the stated accuracy and the two within the stated tolerance of each other."""

from __future__ import annotations

import json

import numpy as np
import pytest

from archcalc.data_sign_sum import make as sign_sum
from tests.conftest import SPECS

pytestmark = pytest.mark.usefixtures("one_thread")  # torch on one thread: a small network on a busy machine

#: the accuracy README states for specs/lstm-sign.yaml with seed 0 (the issue asks 95 %), and how far apart
#: the two backends may land (their float32 arithmetic differs in rounding, so their runs drift apart)
STATED, TOLERANCE = 0.97, 0.02


def test_sign_sum_is_generated_the_same_every_time():
    x, y = sign_sum()
    again, labels = sign_sum()
    assert np.array_equal(x, again) and np.array_equal(y, labels)
    assert x.shape == (4000, 20, 1) and x.dtype == np.float32 and y.dtype == np.int64
    assert -1 <= x.min() < -0.99 and 0.99 < x.max() <= 1
    assert np.array_equal(y, (x.sum(axis=(1, 2), dtype=np.float64) > 0).astype(np.int64))
    assert 0.45 < y.mean() < 0.55  # about even classes: always guessing one class gets about half right
    # no single step predicts the class well: the answer needs the whole sequence
    assert max(((x[:, t, 0] > 0) == y).mean() for t in range(20)) < 0.65


def test_lstm_learns_the_sign_of_a_sum_with_both_backends(run):
    results = {}
    for backend in ("numpy", "torch"):
        result = run("train", SPECS / "lstm-sign.yaml", "--data", "sign-sum", "--backend", backend, "--format", "json")
        assert result.exit_code == 0, result.output
        results[backend] = data = json.loads(result.stdout)
        assert data["samples"] == {"train": 2800, "validation": 600, "test": 600}
        assert data["seed"] == 0 and data["model"] == "lstm-sign"
        assert data["test_accuracy"] >= STATED, (backend, data["test_accuracy"])
    assert abs(results["numpy"]["test_accuracy"] - results["torch"]["test_accuracy"]) <= TOLERANCE


def test_a_spec_that_does_not_fit_the_generated_data_is_a_located_error(run):
    result = run("train", SPECS / "digits-mlp.yaml", "--data", "sign-sum")
    assert result.exit_code == 2
    assert ("digits-mlp.yaml:5:8: error: --data sign-sum: the sequences are [T, F], but the input is [64]\n"
            "  hint: a sequence model takes [T, F]: T steps of F features, e.g. input: [20, 1]") in result.output
    assert "Traceback" not in result.output
