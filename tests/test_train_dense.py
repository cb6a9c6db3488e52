"""``archcalc train`` with a class per position (a language model: output [T, V], targets [T]) or per pixel (a
segmentation: output [C, H, W], targets [H, W]): the class axis found from the shapes or given as
``class_axis:``, located errors when the shapes do not fit, the per-position loss of both backends against
torch's ``nn.CrossEntropyLoss`` on (N, C, d1, …), the mean IoU, and the built-in ``docstrings`` and ``shapes``
data sets (the learning results on them are in tests/test_train_learns.py)."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from archcalc.backends.numpy.losses import CrossEntropyLoss, NLLLoss, PerPosition
from archcalc.cli.train import class_iou
from archcalc.spec.train import class_axes
from tests.conftest import SPECS

pytestmark = pytest.mark.usefixtures("one_thread")
BOTH = pytest.mark.parametrize("backend", ["numpy", "torch"])

#: a language model in miniature: ids 0…4 at 6 positions, each position's target the next id mod 5
LM = """input: [6]
layers:
  - embedding: {vocab: 5, dim: 8}
  - linear: 5
train: {optimizer: {adam: {lr: 0.05}}, epochs: 8, batch_size: 16, seed: 0%s}
"""
#: a segmentation in miniature: a pixel is class 1 where the image is positive
SEG = """input: [1, 6, 6]
layers:
  - conv2d: {out: 2, kernel: 1}
train: {optimizer: {adam: {lr: 0.05}}, epochs: 8, batch_size: 16, seed: 0}
"""


def train_json(run, *args: object) -> dict:
    result = run("train", *map(str, args), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def lm_data(tmp_path):
    x = np.random.default_rng(0).integers(0, 5, (200, 6))
    np.savez(tmp_path / "lm.npz", x=x, y=(x + 1) % 5)
    return tmp_path / "lm.npz"


@pytest.fixture
def seg_data(tmp_path):
    x = np.random.default_rng(0).normal(size=(200, 1, 6, 6))
    np.savez(tmp_path / "seg.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    return tmp_path / "seg.npz"


def test_class_axes_are_the_axes_whose_removal_leaves_the_target_shape():
    assert class_axes((64, 128), (64,)) == [1]
    assert class_axes((3, 32, 32), (32, 32)) == [0]
    assert class_axes((8, 8), (8,)) == [0, 1]
    assert class_axes((10,), ()) == [0]
    assert class_axes((6, 5), (7,)) == []


@BOTH
def test_a_language_model_learns_next_ids(run, write, lm_data, backend):
    data = train_json(run, write(LM % ""), "--data", lm_data, "--backend", backend)
    assert data["test_accuracy"] >= 0.95  # the share of positions right, over every position
    assert data["test_mean_iou"] is None  # a sequence is not a segmentation
    assert data["validation_loss"] == data["history"][-1]["val_loss"] < data["history"][0]["val_loss"]


def test_the_backends_agree_on_a_language_model(run, write, lm_data):
    spec = write(LM % "")
    runs = [train_json(run, spec, "--data", lm_data, "--backend", b, "--epochs", 2) for b in ("numpy", "torch")]
    # the same loss definition; the weights are drawn differently (each backend's own generator)
    assert max(r["validation_loss"] for r in runs) < 0.1  # from log 5 = 1.61 nats at the start
    assert abs(runs[0]["validation_loss"] - runs[1]["validation_loss"]) < 0.05


@BOTH
def test_a_segmentation_reports_mean_iou(run, write, seg_data, backend):
    spec = write(SEG)
    data = train_json(run, spec, "--data", seg_data, "--backend", backend)
    assert data["test_accuracy"] >= 0.95 and data["test_mean_iou"] >= 0.9
    assert set(data["test_iou"]) == {"0", "1"}
    assert data["test_mean_iou"] == pytest.approx(sum(data["test_iou"].values()) / 2)
    result = run("train", spec, "--data", seg_data, "--backend", backend, "--epochs", "1")
    assert result.exit_code == 0 and "test mean IoU" in result.stdout and "val loss" in result.stdout


def test_the_class_axis_may_be_given(run, write, tmp_path):
    # output [4, 4] against targets [4]: either axis could hold the classes
    x = np.random.default_rng(0).normal(size=(60, 4, 4))
    np.savez(tmp_path / "square.npz", x=x, y=x.argmax(-1))
    spec = "input: [4, 4]\nlayers: [linear: 4]\ntrain: {epochs: 1%s}\n"
    result = run("train", write(spec % ""), "--data", tmp_path / "square.npz")
    assert result.exit_code == 2
    assert ":2:10: error: the class axis is ambiguous: the output [4, 4] without axis 0 or 1 is square.npz's target " \
           "shape [4]" in result.stderr
    assert "class_axis: 0" in result.stderr
    for backend in ("numpy", "torch"):
        assert train_json(run, write(spec % ", class_axis: -1"), "--data", tmp_path / "square.npz",
                          "--backend", backend)["test_accuracy"] is not None


def test_a_class_axis_that_does_not_fit_is_located(run, write, lm_data):
    spec = write(LM % ", class_axis: 0")
    result = run("train", spec, "--data", lm_data)
    assert result.exit_code == 2
    column = spec.read_text().splitlines()[4].index("class_axis: 0") + len("class_axis: ") + 1  # at its value
    assert f"{spec}:5:{column}: error: class_axis 0: the output [6, 5] without that axis is not the shape of " \
           "lm.npz's targets [6]" in result.stderr
    assert "class_axis: 1" in result.stderr


def test_targets_that_fit_no_axis_are_located(run, write, tmp_path):
    np.savez(tmp_path / "long.npz", x=np.zeros((20, 6)), y=np.zeros((20, 7)))
    spec = write(LM % "")
    result = run("train", spec, "--data", tmp_path / "long.npz")
    assert result.exit_code == 2
    assert f"{spec}:4:5: error: long.npz has targets of shape [7] per sample, but the output [6, 5] has no axis " \
           "whose removal leaves that shape" in result.stderr


def test_dense_targets_need_a_class_index_loss(run, write, lm_data):
    spec = write(LM.replace("seed: 0", "seed: 0, loss: mse") % "")
    result = run("train", spec, "--data", lm_data)
    assert result.exit_code == 2 and "which mse cannot compare with the output [6, 5]" in result.stderr
    assert f"{spec}:5:" in result.stderr


def test_a_label_past_the_classes_is_located(run, write, tmp_path):
    y = np.zeros((20, 6))
    y[3, 2] = 5
    np.savez(tmp_path / "lm.npz", x=np.zeros((20, 6)), y=y)
    result = run("train", write(LM % ""), "--data", tmp_path / "lm.npz")
    assert result.exit_code == 2
    assert "lm.npz:1:1: error: y row 3 holds 5, not a class index 0 … 4 (the output has 5 on its class axis " \
           "1)" in result.stderr
    assert "give the class axis 6 scores (the largest label is 5)" in result.stderr


@pytest.mark.parametrize(("train", "message"), [
    ("class_axis: first", "class_axis must be an integer axis of the output, got 'first'"),
    ("{task: regression, class_axis: 0}", "class_axis says where the class scores are, but the task is a regression"),
])
def test_bad_class_axis_settings(run, write, train, message):
    text = f"input: [6]\nlayers: [linear: 2]\ntrain: {train}\n" if train.startswith("{") else \
        f"input: [6]\nlayers: [linear: 2]\ntrain:\n  {train}\n"
    result = run("train", write(text))
    assert result.exit_code == 2 and message in result.stderr, result.stderr


@pytest.mark.parametrize(("shape", "axis"), [((2, 3, 4, 5), 1), ((2, 4, 3, 5), 0), ((3, 5, 4), 1)])
@pytest.mark.parametrize("inner", ["cross_entropy", "nll"])
def test_the_per_position_loss_is_torchs(shape, axis, inner):
    """Value and gradient against nn.CrossEntropyLoss / nn.NLLLoss on the class axis moved to dim 1, in float64."""
    rng = np.random.default_rng(0)
    out = rng.normal(size=shape)
    classes = shape[1 + axis]
    target = rng.integers(0, classes, tuple(d for i, d in enumerate(shape) if i != 1 + axis))
    loss = PerPosition(CrossEntropyLoss() if inner == "cross_entropy" else NLLLoss(), axis)
    value, grad = loss.forward(out, target), loss.backward()
    out_t = torch.tensor(out, requires_grad=True)
    criterion = torch.nn.CrossEntropyLoss() if inner == "cross_entropy" else torch.nn.NLLLoss()
    expected = criterion(out_t.movedim(1 + axis, 1).contiguous(), torch.from_numpy(target))
    expected.backward()
    assert abs(value - expected.item()) < 1e-12
    assert np.abs(grad - out_t.grad.numpy()).max() < 1e-12
    assert loss.correct(out, target) == pytest.approx(
        (out.argmax(1 + axis) == target).reshape(len(out), -1).mean(1).sum())


def test_class_iou_counts_every_pixel():
    truth = np.array([[0, 0, 1, 1], [2, 2, 0, 0]])
    predicted = np.array([[0, 1, 1, 1], [2, 0, 0, 0]])
    # class 0: 3 right of 5 pixels predicted or true; class 1: 2 of 3; class 2: 1 of 2
    assert class_iou(predicted, truth) == {"0": 3 / 5, "1": 2 / 3, "2": 1 / 2}
    # a class in neither has no IoU
    assert class_iou(np.array([0, 2]), np.array([0, 2])) == {"0": 1.0, "2": 1.0}


def test_the_docstrings_are_read_not_imported():
    code = ("import sys; from archcalc import data_docstrings as d; x, y = d.make((32,)); "
            "print(len(d.text()), x.shape[0], sorted({'antigravity', 'this', 'tkinter', 'turtle'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out[-1] == "[]" and int(out[1]) == (int(out[0]) - 1) // 32


def test_the_docstrings_windows_predict_the_next_character():
    from archcalc import data_docstrings as d

    text = d.text()
    vocabulary = d.vocabulary(text)
    assert list(vocabulary) == sorted(set(text)) and "\n" in vocabulary and "e" in vocabulary
    x, y = d.windows(text, 16)
    assert x.dtype == y.dtype == np.int64 and x.shape == y.shape == ((len(text) - 1) // 16, 16)
    assert "".join(vocabulary[i] for i in x[0]) == text[:16] and "".join(vocabulary[i] for i in y[0]) == text[1:17]
    assert (x[1:, 0] == y[:-1, -1]).all()
    counts = np.bincount([vocabulary.index(c) for c in text])
    p = counts[counts > 0] / len(text)
    assert d.unigram_entropy(text) == pytest.approx(float(-(p * np.log(p)).sum()), abs=1e-12)
    assert d.docstrings.__doc__ and "source order" in d.docstrings.__doc__


def test_the_shapes_are_the_same_every_time():
    from archcalc import data_shapes as s

    x, y = s.make((1, 32, 32), samples=20)
    x2, y2 = s.make((1, 32, 32), samples=20)
    assert np.array_equal(x, x2) and np.array_equal(y, y2)
    assert x.shape == (20, 1, 32, 32) and x.dtype == np.float32 and y.shape == (20, 32, 32)
    assert set(np.unique(y)) == {0, 1, 2}
    # shapes are brighter than the background: their pixels' mean is well above the noise's
    assert x[:, 0][y > 0].mean() > 0.6 and abs(x[:, 0][y == 0].mean()) < 0.05
    assert not np.array_equal(s.make((1, 32, 32), samples=20, seed=1)[1], y)


@pytest.mark.parametrize(("source", "spec", "message"), [
    ("docstrings", "unet-shapes", "--data docstrings: the text comes in windows of T character ids, but the input is "
                                  "[1, 32, 32]"),
    ("shapes", "char-gpt", "--data shapes: the images are [C, H, W], but the input is [64]"),
])
def test_a_built_in_data_set_refuses_an_input_it_cannot_fill(run, source, spec, message):
    result = run("train", SPECS / f"{spec}.yaml", "--data", source)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert f"{spec}.yaml:" in result.stderr


def test_a_vocabulary_too_small_for_the_text_is_located(run):
    spec = SPECS / "char-gpt.yaml"
    result = run("train", spec, "--data", "docstrings", "--set", "V=64")
    assert result.exit_code == 2
    # ids are the characters' places in code-point order: lower-case letters come after the 64th
    assert f"{spec}:33:5: error: docstrings: y row " in result.stderr
    assert "not a class index 0 … 63 (the output has 64 on its class axis 1)" in result.stderr
    from archcalc import data_docstrings

    size = len(data_docstrings.vocabulary(data_docstrings.text()))  # 102 on CPython 3.11.7
    assert f"hint: give the class axis {size} scores (the largest label is {size - 1})" in result.stderr


#: the language model ending in a softmax (or a log_softmax, trained with NLL) over its class axis, V
LM_SOFTMAX = LM.replace("  - linear: 5\n", "  - linear: 5\n  - %s\n")


@BOTH
@pytest.mark.parametrize("final", ["softmax: {dim: -1}", "softmax: {dim: 1}", "log_softmax: {dim: -1}"])
def test_a_final_softmax_over_the_class_axis_is_the_losss_own(run, write, lm_data, backend, final):
    """The softmax over V (the class axis of [T, V]) is left to cross-entropy, so the model learns as the one
    without it does (cross-entropy of probabilities would barely move); log_softmax with NLL is the same loss."""
    loss = ", loss: nll" if final.startswith("log_softmax") else ""
    data = train_json(run, write(LM_SOFTMAX % (final, loss)), "--data", lm_data, "--backend", backend)
    plain = train_json(run, write(LM % ""), "--data", lm_data, "--backend", backend)
    assert data["test_accuracy"] >= 0.95
    assert abs(data["validation_loss"] - plain["validation_loss"]) < 1e-4


@BOTH
def test_a_final_softmax_over_another_axis_stays_and_trains(run, write, lm_data, backend):
    """A softmax over T (not the classes) is the spec's modelling error: it stays in the network, and the loss
    is cross-entropy of its probabilities over V, which trains without a crash."""
    data = train_json(run, write(LM_SOFTMAX % ("softmax: {dim: 0}", "")), "--data", lm_data, "--backend", backend,
                      "--epochs", 1)
    assert data["validation_loss"] > 1.0  # log_softmax of probabilities in [0, 1] stays near log 5 = 1.61
