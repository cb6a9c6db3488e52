"""``archcalc train`` on targets that are a yes/no per output: multi-label data (``multi_label: true``, a row of
0/1 labels per sample, from an ``.npz``, a ``.csv``'s last columns or the built-in digits, ten labels with one
set) and binary masks (a one-channel segmentation under bce, bce_with_logits or dice), on both backends; and
each way such data goes wrong as a located error before training."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

pytestmark = pytest.mark.usefixtures("one_thread")
BOTH = pytest.mark.parametrize("backend", ["numpy", "torch"])
HEAD = "input: [2]\nlayers: [linear: 16, tanh, linear: 3]\n"
TRAIN = "train: {classes: 3, multi_label: true, optimizer: {adam: {lr: 0.05}}, epochs: 30, batch_size: 16}\n"


def points(n: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """Points of the plane and three labels each, any number of them set: a > 0, b > 0, a + b > 0."""
    x = np.random.default_rng(3).normal(size=(n, 2))
    return x, np.stack([x[:, 0] > 0, x[:, 1] > 0, x.sum(1) > 0], axis=1).astype(np.int64)


def train_json(run, *args) -> dict:
    result = run("train", *map(str, args), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@BOTH
@pytest.mark.parametrize("loss", [None, "hinge", "squared_hinge", "soft_margin"])
def test_label_rows_from_npz_and_csv_train(run, write, tmp_path, backend, loss):
    """The default bce_with_logits, and the margin losses, which read each label's 0 as −1."""
    x, y = points()
    np.savez(tmp_path / "p.npz", x=x, y=y)
    (tmp_path / "p.csv").write_text("a,b,right,up,above\n" + "\n".join(
        ",".join([f"{a:.6f}", f"{b:.6f}", *map(str, labels)]) for (a, b), labels in zip(x, y)) + "\n")
    spec = write(HEAD + (TRAIN if loss is None else TRAIN.replace("epochs", f"loss: {loss}, epochs")))
    for data in ("p.npz", "p.csv"):
        result = train_json(run, spec, "--data", tmp_path / data, "--backend", backend)
        assert result["test_accuracy"] > 0.95, (data, result)  # the share of labels right
        assert result["test_loss"] < 0.2


def test_a_margin_loss_refuses_a_label_between_0_and_1(run, write, tmp_path):
    """A probability is a soft label to bce; a margin loss needs a side, −1 or +1."""
    (tmp_path / "p.csv").write_text("0.1,0.2,1,0,1\n0.3,-0.4,0,1,1\n-1.5,2.5,1,0.5,0\n0.7,0.8,0,0,1\n")
    spec = write(HEAD + TRAIN.replace("epochs", "loss: hinge, epochs"))
    assert _refused(run, spec, tmp_path / "p.csv") == (
        f"{tmp_path / 'p.csv'}:3:12: error: y row 2 (line 3) holds 0.5, not a label (1: the sample has it, 0: not, "
        "which hinge reads as −1)\n  hint: multi_label data hold a row of 0s and 1s per sample\n")


@BOTH
def test_digits_give_a_multi_label_spec_ten_labels(run, write, backend):
    spec = write("input: [64]\nlayers: [linear: 32, relu, linear: 10]\n"
                 "train: {multi_label: true, optimizer: {adam: {lr: 0.01}}, epochs: 5}\n")
    result = train_json(run, spec, "--backend", backend)
    # nine labels in ten are 0, so 90 % is what a network that never says yes scores; a trained one does better
    assert result["test_accuracy"] > 0.97 and result["test_loss"] < 0.1, result


def test_a_regression_csv_holds_one_column_per_output(run, write, tmp_path):
    x = np.random.default_rng(0).normal(size=(200, 3))
    y = x @ np.array([[1.0, -1.0], [0.5, 2.0], [-2.0, 0.0]]) + [0.3, -0.1]
    (tmp_path / "two.csv").write_text("\n".join(",".join(f"{v:.8f}" for v in row) for row in np.hstack([x, y])))
    spec = write("input: [3]\nlayers: [linear: 2]\n"
                 "train: {task: regression, loss: mse, optimizer: {sgd: {lr: 0.1}}, epochs: 40}\n")
    assert train_json(run, spec, "--data", tmp_path / "two.csv")["test_loss"] < 1e-4


def _refused(run, spec, data) -> str:
    result = run("train", spec, "--data", data, "-o", data.parent / "w.npz")
    assert result.exit_code == 2, result.output
    assert not (data.parent / "w.npz").exists()
    return result.stderr


def test_class_indices_for_a_multi_label_spec(run, write, tmp_path):
    x, y = points()
    np.savez(tmp_path / "d.npz", x=x, y=y.argmax(1))
    assert _refused(run, write(HEAD + TRAIN), tmp_path / "d.npz").startswith(
        f"{tmp_path / 'd.npz'}:1:1: error: a sample has 1 label but the network outputs [3]\n"
        "  hint: give each sample a row of 3 labels (1: it has the label, 0: not); a class index per sample is "
        "single-label data: drop multi_label")


def test_a_label_outside_0_and_1_is_located_at_its_csv_line(run, write, tmp_path):
    (tmp_path / "d.csv").write_text("a,b,l1,l2,l3\n0.5,0.1,1,0,1\n0.2,0.3,0,2,1\n")
    assert _refused(run, write(HEAD + TRAIN), tmp_path / "d.csv").startswith(
        f"{tmp_path / 'd.csv'}:3:11: error: y row 1 (line 3) holds 2, not a label (1: the sample has it, 0: not; "
        "a probability between)\n  hint: multi_label data hold a row of 0s and 1s per sample")


def test_a_csv_too_narrow_for_the_labels(run, write, tmp_path):
    (tmp_path / "d.csv").write_text("1,0,1\n0,1,1\n")
    assert _refused(run, write(HEAD + TRAIN), tmp_path / "d.csv").startswith(
        f"{tmp_path / 'd.csv'}:1:1: error: needs at least one feature and the 3 target columns (the network's "
        "outputs)")


def test_cross_entropy_on_label_rows_is_refused_at_the_loss(run, write, tmp_path):
    x, y = points()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    spec = write(HEAD + TRAIN.replace("epochs: 30", "loss: cross_entropy, epochs: 30"))
    stderr = _refused(run, spec, tmp_path / "d.npz")
    assert stderr.startswith(f"{spec}:3:77: error: cross_entropy picks one class per sample, but multi_label data "
                             "hold a row of labels per sample"), stderr


SEGMENT = """input: [1, 8, 8]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1}
  - relu
  - conv2d: {out: 1, kernel: 3, padding: 1}
LAST
train: {classes: 2, loss: LOSS, optimizer: {adam: {lr: 0.02}}, epochs: 8}
"""


def masks(channel: bool) -> tuple[np.ndarray, np.ndarray]:
    """Noise images and the mask of their positive pixels, [N, 8, 8] (or [N, 1, 8, 8] with ``channel``)."""
    x = np.random.default_rng(0).normal(size=(300, 1, 8, 8))
    y = (x[:, 0] > 0).astype(np.int64)
    return x, (y[:, None] if channel else y)


@BOTH
@pytest.mark.parametrize("loss, last", [("bce_with_logits", ""), ("bce", "  - sigmoid"), ("dice", "  - sigmoid")])
def test_a_binary_mask_trains_a_one_channel_segmentation(run, write, tmp_path, backend, loss, last):
    spec = write(SEGMENT.replace("LOSS", loss).replace("LAST\n", last + "\n" if last else ""))
    for channel in (False, True):
        x, y = masks(channel)
        np.savez(tmp_path / "m.npz", x=x, y=y)
        result = train_json(run, spec, "--data", tmp_path / "m.npz", "--backend", backend)
        # the share of pixels right, and the IoU of "no" and "yes" pixels (one channel: not an argmax)
        assert result["test_accuracy"] > 0.8 and set(result["test_iou"]) == {"0", "1"}, result
        assert min(result["test_iou"].values()) > 0.5, result


def test_a_mask_value_that_is_no_yes_or_no(run, write, tmp_path):
    x, y = masks(False)
    y[4, 2, 3] = 3
    np.savez(tmp_path / "m.npz", x=x, y=y)
    stderr = _refused(run, write(SEGMENT.replace("LOSS", "bce_with_logits").replace("LAST\n", "")),
                      tmp_path / "m.npz")
    assert stderr.startswith(f"{tmp_path / 'm.npz'}:1:1: error: y row 4 holds 3, not a yes/no per position (1 or 0; "
                             "a probability between)\n  hint: a binary mask holds 0s and 1s"), stderr


@BOTH
def test_bce_on_raw_scores_is_located_at_the_loss(run, write, tmp_path, backend):
    """nn.BCELoss refuses outputs outside [0, 1] (an internal error under torch, a 'diverged' run under NumPy
    before): a network without a final sigmoid is reported at the spec's loss, with the two ways out."""
    x = np.random.default_rng(0).normal(size=(40, 6))
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    spec = write("input: [6]\nlayers: [linear: 8, relu, linear: 1]\ntrain: {classes: 2, loss: bce}\n")
    stderr = _refused(run, spec, tmp_path / "d.npz") if backend == "numpy" else \
        run("train", spec, "--data", tmp_path / "d.npz", "--backend", backend).stderr
    assert stderr.startswith(f"{spec}:3:27: error: bce takes probabilities in [0, 1], but the network's outputs left "
                             "that range: it does not end in a sigmoid\n  hint: end the network with a sigmoid, or "
                             "use loss: bce_with_logits"), stderr


def test_a_mask_laid_out_otherwise_than_the_output_is_refused(run, write, tmp_path):
    """As many values as the output is not enough: a [W, H] mask for an [1, H, W] output would train on
    scrambled labels. Axes of size 1 aside, an array's targets are laid out as the output."""
    x = np.random.default_rng(0).normal(size=(40, 1, 8, 6))
    spec = write("input: [1, 8, 6]\nlayers: [conv2d: {out: 1, kernel: 3, padding: 1}]\n"
                 "train: {loss: bce_with_logits}\n")
    np.savez(tmp_path / "m.npz", x=x, y=(x[:, 0] > 0).transpose(0, 2, 1))
    assert _refused(run, spec, tmp_path / "m.npz").startswith(
        f"{tmp_path / 'm.npz'}:1:1: error: a sample's targets are [6, 8], but bce_with_logits compares a yes/no "
        "with each output: [1, 8, 6]\n  hint: give each sample a mask of the output's shape [1, 8, 6] (or [8, 6] "
        "for one channel)")
    np.savez(tmp_path / "m.npz", x=x, y=(x[:, 0] > 0)[:, :, :, None])  # [8, 6, 1]: the same layout
    assert train_json(run, spec, "--data", tmp_path / "m.npz", "--epochs", "1")["test_iou"] is not None


def test_classes_that_disagree_with_a_yes_no_output_are_refused(run, write, tmp_path):
    x, y = points()
    np.savez(tmp_path / "d.npz", x=x, y=y)
    stderr = _refused(run, write(HEAD + TRAIN.replace("classes: 3", "classes: 5")), tmp_path / "d.npz")
    assert "error: classes: 5, but a multi-label network has one output per label and this one has 3" in stderr
    x, y = masks(False)
    np.savez(tmp_path / "m.npz", x=x, y=y)
    spec = write(SEGMENT.replace("LOSS", "bce_with_logits").replace("LAST\n", "").replace("classes: 2", "classes: 5"))
    assert "error: classes: 5, but a yes/no per position (bce_with_logits on a mask) has 2" in \
        _refused(run, spec, tmp_path / "m.npz")


def test_a_diverging_bce_run_on_torch_is_divergence_not_a_missing_sigmoid(run, write, tmp_path):
    """nn.BCELoss raises on a NaN output with the words it uses for an output outside [0, 1]: a network that
    ends in a sigmoid and diverges is reported as diverged, at the learning rate, as on NumPy."""
    x = np.random.default_rng(0).normal(size=(60, 5)) * 1e3
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    spec = write("input: [5]\nlayers: [linear: 8, relu, linear: 1, sigmoid]\n"
                 "train: {loss: bce, classes: 2, epochs: 3, optimizer: {sgd: {lr: 1.0e+30}}}\n")
    result = run("train", spec, "--data", tmp_path / "d.npz", "--backend", "torch")
    assert result.exit_code == 2 and "error: training diverged: the loss was nan" in result.stderr, result.stderr


def test_bce_on_one_output_tells_two_classes_apart(run, write, tmp_path):
    x = np.random.default_rng(0).normal(size=(40, 6))
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(np.int64))
    spec = write("input: [6]\nlayers: [linear: 1, sigmoid]\ntrain: {loss: bce, classes: 3}\n")
    assert _refused(run, spec, tmp_path / "d.npz").startswith(
        f"{spec}:3:29: error: classes: 3, but bce on one output tells two classes apart (a yes/no)")


@pytest.mark.parametrize("to", ["torch", "numpy"])
def test_the_exported_files_refuse_a_mask_laid_out_otherwise(run, write, tmp_path, to):
    """The files check what archcalc train checks: a flattened mask is not read into [1, H, W]."""
    x, y = masks(False)
    np.savez(tmp_path / "m.npz", x=x, y=y.reshape(len(y), -1))
    spec = write(SEGMENT.replace("LOSS", "bce_with_logits").replace("LAST\n", ""))
    assert run("export", spec, "--to", to, "-o", tmp_path / "m.py").exit_code == 0
    proc = subprocess.run([sys.executable, str(tmp_path / "m.py"), "m.npz", "--epochs", "1"], capture_output=True,
                          text=True, cwd=tmp_path, timeout=300)
    assert proc.returncode == 2 and proc.stderr.endswith("error: m.npz: y holds [64] per sample, not [1, 8, 8]\n")
