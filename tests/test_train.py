"""``archcalc train`` and the NumPy training loop: accuracy, determinism, data, errors, outputs (the tests
marked ``BOTH`` on the torch backend too), and the whole loop (L1, weight decay, a fused softmax,
shuffled batches) against PyTorch step for step."""

from __future__ import annotations

import json
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
import torch

import archcalc
from archcalc.backends.numpy import losses, optim, to_numpy, training
from archcalc.cli.train import check_memory
from archcalc.errors import SpecError
from archcalc.spec.train import TrainSpec
from tests.conftest import ROOT, SPECS
from tests.numpy_torch import torch_model

pytestmark = pytest.mark.usefixtures("one_thread")  # torch, where it runs, on one thread
#: a test of what both backends must do alike
BOTH = pytest.mark.parametrize("backend", ["numpy", "torch"])


def train_json(run, *args: str) -> dict:
    result = run("train", *map(str, args), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_digits_mlp_reaches_95_percent(run):
    data = train_json(run, SPECS / "digits-mlp.yaml")
    assert data["test_accuracy"] >= 0.95
    assert data["samples"] == {"train": 1257, "validation": 270, "test": 270}
    assert 1 <= data["best_epoch"] <= data["epochs_run"] <= 40
    assert len(data["history"]) == data["epochs_run"]
    assert data["model"] == "digits-mlp" and data["backend"] == "numpy" and data["seed"] == 0
    assert data["history"][-1]["loss"] < data["history"][0]["loss"]


def test_the_same_seed_gives_the_same_run(run):
    runs = [train_json(run, SPECS / "digits-mlp.yaml", "--epochs", "3", "--seed", seed) for seed in (7, 7, 8)]
    for r in runs:
        r.pop("seconds")
    assert runs[0] == runs[1]
    assert runs[0]["history"] != runs[2]["history"]


def test_text_output_and_saved_weights_and_plot(run, tmp_path):
    weights, plot = tmp_path / "w.npz", tmp_path / "curves.png"
    result = run("train", SPECS / "digits-mlp.yaml", "--epochs", "2", "-o", weights, "--plot", plot)
    assert result.exit_code == 0, result.output
    assert "test accuracy" in result.stdout and "epoch   2" in result.stderr
    net = to_numpy(archcalc.load(str(SPECS / "digits-mlp.yaml")))
    with np.load(weights) as saved:
        assert list(saved.files) == list(net.state_dict())
        net.load_state_dict({k: saved[k] for k in saved.files})
    png = plot.read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", png[16:24])
    length = struct.unpack(">I", png[33:37])[0]
    assert len(zlib.decompress(png[41:41 + length])) == height * (3 * width + 1)


def test_outputs_are_checked_before_training(run, tmp_path):
    existing = tmp_path / "w.npz"
    existing.write_bytes(b"keep")
    result = run("train", SPECS / "digits-mlp.yaml", "-o", existing)
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert existing.read_bytes() == b"keep" and "epoch" not in result.stderr
    result = run("train", SPECS / "digits-mlp.yaml", "--plot", tmp_path / "no" / "such" / "c.png")
    assert result.exit_code == 2 and "does not exist" in result.stderr and "epoch" not in result.stderr


@BOTH
def test_digits_as_images_train_a_small_cnn(run, write, backend):
    spec = write("""
name: digits-cnn
input: [1, 8, 8]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1}
  - batchnorm2d
  - relu
  - maxpool2d: 2
  - flatten
  - linear: 10
train: {classes: 10, optimizer: {adam: {lr: 0.01}}, epochs: 4, batch_size: 64}
""")
    assert train_json(run, spec, "--backend", backend)["test_accuracy"] > 0.85


def test_shape_mismatch_is_a_located_error(run, write):
    spec = write("input: [3, 32, 32]\nlayers: [flatten, linear: 10]\ntrain: {classes: 10}\n")
    result = run("train", spec)
    assert result.exit_code == 2
    assert f"{spec}:1:8: error: digits has 64 values per sample but the input [3, 32, 32] needs 3072" in result.stderr
    assert "[1, 8, 8]" in result.stderr


def test_too_few_outputs_for_the_classes(run, write):
    result = run("train", write("input: [64]\nlayers: [linear: 5]\n"))
    assert result.exit_code == 2 and "has class 9 but the spec has 5 classes" in result.stderr


@BOTH
def test_a_network_without_weights_is_refused_before_training(run, write, backend):
    spec = write("input: [64]\nlayers: [relu, softmax]\n")
    result = run("train", spec, "--backend", backend)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == (f"{spec}:2:9: error: the network has no trainable parameters: there is nothing to "
                             "train\n  hint: add a layer with weights, e.g. linear or conv2d\n")


@BOTH
def test_cross_entropy_needs_an_output_per_class(run, write, tmp_path, backend):
    np.savez(tmp_path / "yes-no.npz", x=np.eye(10, 3), y=np.arange(10) % 2)
    result = run("train", write("input: [3]\nlayers: [linear: 1]\ntrain: {classes: 2}\n"), "--data",
                 tmp_path / "yes-no.npz", "--backend", backend)
    assert result.exit_code == 2 and "the network has 1 output for 2 classes" in result.stderr
    assert "cross-entropy wants one output per class" in result.stderr


def test_missing_scikit_learn_is_a_clear_error():
    code = ("import sys; sys.modules['sklearn'] = None\nfrom archcalc.cli import main\n"
            "main(['train', 'specs/digits-mlp.yaml'])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "needs scikit-learn (it ships the digits data), which is not installed" in proc.stderr
    assert "archcalc[train]" in proc.stderr
    assert "Traceback" not in proc.stderr


@BOTH
@pytest.mark.parametrize(("optimizer", "epochs", "bound"), [
    ("{sgd: {lr: 0.1}}", 30, 1e-4),
    ("{adadelta: {lr: 5.0}}", 150, 1e-2),  # Adadelta's steps start near √eps and grow slowly: 1e-5 to 7e-4
    ("{adamax: {lr: 0.05}}", 100, 1e-4),
    ("{nadam: {lr: 0.05}}", 30, 1e-4),
    ("{radam: {lr: 0.05}}", 100, 1e-4),
])
def test_npz_regression(run, write, tmp_path, backend, optimizer, epochs, bound):
    """A line fitted from the command line with each optimizer (targets' variance 6.5)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    np.savez(tmp_path / "line.npz", x=x, y=x @ [1.5, -2.0, 0.5] + 0.3)
    spec = write("input: [3]\nlayers: [linear: 1]\n"
                 f"train: {{task: regression, loss: mse, optimizer: {optimizer}, epochs: {epochs}}}\n")
    data = train_json(run, spec, "--data", tmp_path / "line.npz", "--backend", backend)
    assert data["test_accuracy"] is None
    assert data["test_loss"] < bound


@BOTH
def test_csv_with_header_and_binary_cross_entropy(run, write, tmp_path, backend):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 2))
    rows = "\n".join(f"{a:.5f},{b:.5f},{int(a + b > 0)}" for a, b in x)
    (tmp_path / "points.csv").write_text("a,b,label\n" + rows + "\n")
    spec = write("input: [2]\nlayers: [linear: 8, tanh, linear: 1, sigmoid]\n"
                 "train: {classes: 2, loss: bce_with_logits, optimizer: {adam: {lr: 0.05}}, epochs: 20}\n")
    assert train_json(run, spec, "--data", tmp_path / "points.csv", "--backend", backend)["test_accuracy"] > 0.9


@pytest.mark.parametrize(("content", "message"), [
    ("a,b\n1,2\n3,x\n", ":3:3: error: 'x' is not a number"),
    ("a,b,c\n1,2,3\n4.5,,6\n", ":3:5: error: an empty cell: a missing value"),
    ("a,b\n1,2\n 12 , yes\n", ":3:7: error: 'yes' is not a number"),
    ("1,2,3\n4,5\n", ":2:1: error: 2 columns, but the first row has 3"),
    ("a,b\n", "error: no data rows"),
])
def test_bad_csv_is_located(run, write, tmp_path, content, message):
    (tmp_path / "bad.csv").write_text(content)
    result = run("train", write("input: [1]\nlayers: [linear: 2]\n"), "--data", tmp_path / "bad.csv")
    assert result.exit_code == 2 and message in result.stderr, result.stderr


@pytest.mark.parametrize(("data", "message"), [("nothing.txt", "not a data set archcalc knows"),
                                               ("missing.npz", "no such file")])
def test_unknown_or_missing_data(run, data, message):
    result = run("train", SPECS / "digits-mlp.yaml", "--data", data)
    assert result.exit_code == 2 and message in result.stderr


def test_npz_without_y(run, tmp_path):
    np.savez(tmp_path / "d.npz", features=np.zeros((10, 64)))
    result = run("train", SPECS / "digits-mlp.yaml", "--data", tmp_path / "d.npz")
    assert result.exit_code == 2 and "needs arrays 'x' and 'y', found features" in result.stderr


def test_early_stopping_restores_the_best_weights():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(60, 4)), rng.integers(0, 3, size=60)  # noise: validation loss soon rises
    vx, vy = rng.normal(size=(30, 4)), rng.integers(0, 3, size=30)
    net = to_numpy(archcalc.loads("input: [4]\nlayers: [linear: 64, relu, linear: 3]"), seed=0, dtype="float64")
    loss = losses.CrossEntropyLoss()
    result = training.fit(net, loss, optim.Adam(net.parameters(), lr=0.05), x, y, epochs=100, batch_size=10,
                      rng=rng, validation=(vx, vy), patience=3)
    history, best = result["history"], result["best_epoch"]
    assert result["stopped_early"] and len(history) == best + 3
    assert training.evaluate(net, loss, vx, vy)[0] == pytest.approx(history[best - 1]["val_loss"], abs=1e-12)
    assert min(h["val_loss"] for h in history) == history[best - 1]["val_loss"]


def test_min_delta_counts_small_improvements_as_none():
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 2)), rng.integers(0, 2, size=40)
    net = to_numpy(archcalc.loads("input: [2]\nlayers: [linear: 2]"), seed=0, dtype="float64")
    result = training.fit(net, losses.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=1e-4), x, y, epochs=20,
                      batch_size=40, rng=rng, validation=(x, y), patience=2, min_delta=1.0)
    assert result["best_epoch"] == 1 and len(result["history"]) == 3


def test_the_training_loop_matches_torch(tmp_path):
    """Three epochs of shuffled mini-batches with L1, L2 weight decay, SGD with Nesterov momentum and a
    network that ends in softmax: the weights agree with a PyTorch loop fed the same batches."""
    model = archcalc.loads("input: [6]\nlayers: [linear: 5, tanh, batchnorm1d, linear: 3, softmax]")
    net = to_numpy(model, seed=0, dtype="float64")
    reference = torch_model(model.graph, net)
    head = torch.nn.Sequential(*list(reference.children())[:-1])  # the logits
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(40, 6)), rng.integers(0, 3, size=40)
    kwargs = {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}
    l1 = 0.003
    training.fit(net, losses.CrossEntropyLoss(), optim.SGD(net.parameters(), **kwargs), x, y, epochs=3, batch_size=8,
             rng=np.random.default_rng(5), l1=l1)
    sgd = torch.optim.SGD(reference.parameters(), **kwargs)
    order = np.random.default_rng(5)
    for _ in range(3):
        perm = order.permutation(40)
        for i in range(0, 40, 8):
            index = perm[i:i + 8]
            sgd.zero_grad()
            out = head(torch.from_numpy(x[index]))
            value = torch.nn.functional.cross_entropy(out, torch.from_numpy(y[index]))
            value = value + l1 * sum(p.abs().sum() for p in reference.parameters())
            value.backward()
            sgd.step()
    state = reference.state_dict()
    worst = max(float(np.abs(v - state[k].numpy()).max()) for k, v in net.state_dict().items())
    assert worst < 1e-6


def test_commands_other_than_train_stay_light():
    code = ("import sys\nfrom archcalc.cli import main\n"
            "for args in (['params', 'specs/seed-mlp.yaml'], ['--help'], ['train', '--help']):\n"
            "    try: main(args)\n"
            "    except SystemExit as e: assert e.code == 0\n"
            "print([m for m in ('numpy', 'torch', 'sklearn', 'rich.progress') if m in sys.modules])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip().splitlines()[-1] == "[]"


def test_progress_bar_draws_on_a_terminal():
    import io

    from rich.console import Console

    from archcalc.training import Epoch
    from archcalc.training.progress import BarProgress

    screen = io.StringIO()
    console = Console(file=screen, force_terminal=True, width=120)
    with BarProgress(2, console=console) as progress:
        for epoch in (1, 2):
            for batch in (1, 2, 3):
                progress.batch(epoch, batch, 3, 0.5, 0.75, 32 * batch)
            progress.epoch(Epoch(epoch, 0.5, 0.75, 0.6, 0.7, 0.01))
        progress.bar.refresh()
        drawn = screen.getvalue()
    assert "epoch 2/2" in drawn and "batch" in drawn and "3/3" in drawn
    assert "loss 0.5000" in drawn and "acc  75.0 %" in drawn and "samples/s" in drawn
    assert "val_acc  70.0 %" in drawn


def test_without_rich_training_prints_its_epoch_lines(monkeypatch, capsys):
    """rich is optional (the train extra): without it the run still reports each epoch, on stderr."""
    from archcalc.training import Epoch
    from archcalc.training.progress import BarProgress

    for name in ("rich", "rich.console", "rich.progress"):
        monkeypatch.setitem(sys.modules, name, None)  # import fails as if rich were not installed
    with BarProgress(2) as progress:
        progress.batch(1, 1, 3, 0.5, 0.75, 32)
        progress.epoch(Epoch(1, 0.5, 0.75, 0.6, 0.7, 0.01))
    assert progress.bar is None
    err = capsys.readouterr().err
    assert err == "epoch   1  loss 0.5000  acc  75.0 %  val_loss 0.6000  val_acc  70.0 %  0.01 s\n"


@BOTH
def test_a_diverging_run_is_a_located_error(run, write, tmp_path, backend):
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "big.npz", x=1e3 * rng.normal(size=(100, 4)), y=1e3 * rng.normal(size=100))
    spec = write("input: [4]\nlayers: [linear: 8, linear: 1]\n"
                 "train: {task: regression, optimizer: {sgd: {lr: 10}}, epochs: 50}\n")
    result = run("train", spec, "--data", tmp_path / "big.npz", "--backend", backend)
    assert result.exit_code == 2
    assert f"{spec}:3:49: error: training diverged: the loss was nan" in result.stderr
    assert "lower the learning rate" in result.stderr
    assert "Warning" not in result.stderr


def test_a_last_batch_of_one_sample_joins_the_one_before():
    assert [len(b) for b in training.batches(65, 32)] == [32, 33]
    assert [len(b) for b in training.batches(66, 32)] == [32, 32, 2]
    assert [len(b) for b in training.batches(1, 32)] == [1]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_network_larger_than_the_machine_is_refused_before_it_is_built(run, backend, monkeypatch):
    """Llama 3 8B's weights, gradients and optimizer state (60 GiB with SGD, 128 GiB with Adam) do not fit in
    this machine's memory: ``train`` was killed by the system minutes into building them. It is refused at
    once, at the layer holding the most parameters, with the figures (on a machine of 24 GiB, as this one)."""
    monkeypatch.setattr("archcalc.cli.train.physical_memory", lambda: 24 * 2**30)
    result = run("train", SPECS / "llama-3-8b.yaml", "--set", "T=64", "--backend", backend)
    assert result.exit_code == 2, result.output
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{SPECS / 'llama-3-8b.yaml'}:34:9: error: training needs 59.8 GiB for the weights, "
                            "their gradients and sgd's state alone"), first
    assert "this machine has 24.0 GiB; this layer holds 525,336,576 of the 8,030,261,248 parameters" in first


def test_the_memory_check_counts_the_optimizers_state():
    """Weights and gradients (4 bytes each) and Adam's two moments: 16 bytes per parameter, plus its step."""
    model = archcalc.loads("input: [50]\nlayers: [linear: 30, relu, linear: 3]\ntrain: {optimizer: adam}\n")
    settings = TrainSpec.of(model.spec)
    check_memory(model, settings, memory=16 * 1623 + 4 * 4)  # 1623 parameters, 4 tensors with a step each
    with pytest.raises(SpecError, match=r"training needs 0\.0 GiB .* adam's state"):
        check_memory(model, settings, memory=16 * 1623 + 4 * 4 - 1)


def test_a_seed_beyond_the_spec_integers_is_a_usage_error(run, write):
    """torch's generator takes seeds below 2**64; the option takes what a spec's seed can be (≤ 2**62)."""
    result = run("train", write("input: [64]\nlayers: [linear: 10]\n"), "--seed", str(2**64))
    assert result.exit_code == 2 and "is not in the range 0<=x<=4611686018427387904" in result.stderr


def test_a_class_axis_outside_the_output_is_refused_before_training(run, write):
    result = run("train", write("input: [64]\nlayers: [linear: 10]\ntrain: {classes: 10, class_axis: 5, epochs: 1}\n"))
    assert result.exit_code == 2
    assert ":3:34: error: class_axis 5 is not an axis of the output [10]: its axes are 0 … 0 (or" in result.stderr


def _margin_data(rng: np.random.Generator) -> dict[str, np.ndarray]:
    """Points in the plane with a yes/no label, three classes, Poisson counts of a log-linear rate and a line."""
    x = rng.normal(size=(300, 2))
    return {"x": x, "two": (x[:, 0] + x[:, 1] > 0).astype(int), "three": (x[:, 0] > 0) + (x[:, 1] > 0.5),
            "counts": rng.poisson(np.exp(0.8 * x[:, 0] - 0.5 * x[:, 1])), "line": x @ [1.5, -2.0] + 0.3}


#: loss → (the layers after the input, the targets of _margin_data, classes (None: a regression))
LOSS_RUNS = {
    "hinge": ("[linear: 8, tanh, linear: 1]", "two", 2),
    "{hinge: }": ("[linear: 8, tanh, linear: 3]", "three", 3),  # one output per class, each against the rest
    "squared_hinge": ("[linear: 8, tanh, linear: 1]", "two", 2),
    "soft_margin": ("[linear: 8, tanh, linear: 1]", "two", 2),
    "multi_margin": ("[linear: 8, tanh, linear: 3]", "three", 3),
    "{multi_margin: {p: 2, margin: 0.5}}": ("[linear: 8, tanh, linear: 3]", "three", 3),
    "categorical_hinge": ("[linear: 8, tanh, linear: 3]", "three", 3),
    "poisson_nll": ("[linear: 1]", "counts", None),
    "{poisson_nll: {log_input: false, eps: 1.0e-7}}": ("[linear: 8, tanh, linear: 1, softplus]", "counts", None),
    "log_cosh": ("[linear: 1]", "line", None),
}


@BOTH
@pytest.mark.parametrize("loss", list(LOSS_RUNS))
def test_the_margin_poisson_and_log_cosh_losses_train_from_the_command_line(run, write, tmp_path, backend, loss):
    """Each loss trains a small network from ``archcalc train`` on both backends to what it should reach: the
    classifiers above 90 % (80 % for three classes), the Poisson regressions well below the best constant rate's
    loss (the mean count's: 0.90; they reach about 0.3), log-cosh close to the line."""
    layers, target, classes = LOSS_RUNS[loss]
    data = _margin_data(np.random.default_rng(3))
    np.savez(tmp_path / "d.npz", x=data["x"], y=data[target])
    task = f"classes: {classes}" if classes else "task: regression"
    spec = write(f"input: [2]\nlayers: {layers}\ntrain: {{{task}, loss: {loss}, optimizer: {{adam: {{lr: 0.05}}}}, "
                 "epochs: 30, seed: 0}\n")
    result = train_json(run, spec, "--data", tmp_path / "d.npz", "--backend", backend)
    if classes:
        assert result["test_accuracy"] > (0.9 if classes == 2 else 0.8), result["test_accuracy"]
    elif target == "counts":
        rate = data["counts"].mean()
        constant = rate - data["counts"] * np.log(rate)  # log_input false; with it, exp(log λ) − t·log λ: the same
        assert result["test_loss"] < constant.mean() - 0.4, (result["test_loss"], constant.mean())  # 0.90
    else:
        assert result["test_loss"] < 1e-3


@pytest.mark.parametrize(("spec", "csv", "stderr"), [
    ("input: [2]\nlayers: [linear: 1]\ntrain: {classes: 2, loss: hinge}\n", "0.5,1.5,1\n-2,0.25,-1\n1,1,0\n",
     "d.csv:2:9: error: y row 1 (line 2) is -1, not a class index (0, 1, 2, …)\n"
     "  hint: hinge reads the classes 0 and 1 as −1 and +1 itself, as Keras converts 0/1 labels: write the −1 labels "
     "as 0\n"),
    ("input: [2]\nlayers: [linear: 1]\ntrain: {task: regression, loss: poisson_nll}\n", "0.5,1.5,3\n-2,0.25,-1\n",
     "d.csv:2:9: error: y row 1 (line 2) holds -1, not a count: poisson_nll is the likelihood of counts (0, 1, 2, … "
     "or a mean of them), which are never negative\n"
     "  hint: shift or rescale the targets to be ≥ 0, or use loss: mse\n"),
    ("input: [2]\nlayers: [linear: 3]\ntrain: {task: regression, loss: multi_margin}\n",
     "0.5,1.5,3,1,2\n-2,0.25,1,0,0\n",
     "spec.yaml:3:33: error: multi_margin cannot train a regression: it compares class scores with class indices, "
     "not real values\n"
     "  hint: use loss: mse for real-valued targets, or task: classification\n"),
    ("input: [2]\nlayers: [linear: 1]\ntrain: {classes: 2, loss: multi_margin}\n", "0.5,1.5,1\n-2,0.25,0\n",
     "spec.yaml:2:10: error: the network has 1 output for 2 classes\n"
     "  hint: cross-entropy wants one output per class; binary cross-entropy one output\n"),
])
def test_data_a_loss_cannot_train_on_is_refused_where_it_is_written(run, tmp_path, spec, csv, stderr):
    (tmp_path / "spec.yaml").write_text(spec, encoding="utf-8")
    (tmp_path / "d.csv").write_text(csv)
    result = run("train", tmp_path / "spec.yaml", "--data", tmp_path / "d.csv")
    assert result.exit_code == 2, result.output
    assert result.stderr.replace(f"{tmp_path}/", "") == stderr
