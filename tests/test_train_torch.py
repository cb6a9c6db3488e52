"""``archcalc train --backend torch``: the shipped digits CNN past 90 %, determinism, saved weights that
load into ``archcalc.to_torch``, early stopping that restores the best epoch, regression, the curves,
a clear error without torch, and the torch loop against the NumPy one step for step."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import archcalc
from archcalc.backends.numpy import to_numpy
from archcalc.backends.numpy import training as numpy_training
from archcalc.backends.numpy.build import make_loss, make_optimizer
from archcalc.backends.torch import training as T
from archcalc.cli import main
from archcalc.data import load_data, split
from tests.conftest import ROOT, SPECS

pytestmark = pytest.mark.usefixtures("one_thread")


def train_json(run, *args: object) -> dict:
    result = run("train", *map(str, args), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def saved_module(model: archcalc.Model, path) -> torch.nn.Module:
    """``archcalc.to_torch(model)`` with the weights of an ``-o`` file, in evaluation mode."""
    module = archcalc.to_torch(model)
    with np.load(path) as saved:
        module.load_state_dict({key: torch.from_numpy(saved[key]) for key in saved.files})
    return module.eval()


@pytest.fixture(scope="module")
def digits_cnn(tmp_path_factory, one_thread):
    """One full run of the shipped digits CNN, with its weights and curves saved."""
    folder = tmp_path_factory.mktemp("digits-cnn")
    args = ["train", str(SPECS / "digits-cnn.yaml"), "--backend", "torch", "-o", str(folder / "w.npz"),
            "--plot", str(folder / "curves.png"), "--format", "json"]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout), folder


def test_the_digits_cnn_passes_90_percent(digits_cnn, run):
    data, _ = digits_cnn
    assert data["test_accuracy"] >= 0.9
    assert data["model"] == "digits-cnn" and data["backend"] == "torch" and data["seed"] == 0
    assert data["samples"] == {"train": 1257, "validation": 270, "test": 270}
    assert data["epochs_run"] == len(data["history"]) == 10 and not data["stopped_early"]
    assert data["history"][-1]["loss"] < data["history"][0]["loss"] / 5
    assert all(0 < h["accuracy"] <= 1 and 0 < h["val_accuracy"] <= 1 for h in data["history"])
    val_losses = [h["val_loss"] for h in data["history"]]
    assert data["best_epoch"] == 1 + val_losses.index(min(val_losses))
    numpy = train_json(run, SPECS / "digits-cnn.yaml", "--epochs", "1")
    assert list(data) == list(numpy) and list(data["history"][0]) == list(numpy["history"][0])


def test_saved_weights_load_into_to_torch_and_give_the_reported_accuracy(digits_cnn):
    data, folder = digits_cnn
    model = archcalc.load(str(SPECS / "digits-cnn.yaml"))
    module = saved_module(model, folder / "w.npz")
    with np.load(folder / "w.npz") as saved:
        assert list(module.state_dict()) == saved.files
    x, y = split(load_data("digits", model, model.spec.train), 0).test
    loss, accuracy = T.evaluate(module, model.spec.train, x, y)
    assert (accuracy, loss) == (data["test_accuracy"], data["test_loss"])
    with torch.no_grad():  # the module's own output, softmax-free here, names the same classes
        assert (module(torch.from_numpy(x)).argmax(1).numpy() == y).mean() == data["test_accuracy"]


def test_the_curves_are_a_png(digits_cnn):
    data, folder = digits_cnn
    assert data["plot"] == str(folder / "curves.png")
    assert (folder / "curves.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_the_same_seed_gives_the_same_run(run):
    """The digits CNN has dropout and batch norm: initial weights, batch order and masks all repeat."""
    runs = [train_json(run, SPECS / "digits-cnn.yaml", "--backend", "torch", "--epochs", "2", "--seed", seed)
            for seed in (3, 3, 4)]
    for r in runs:
        r.pop("seconds")
    assert runs[0] == runs[1]
    assert runs[0]["history"] != runs[2]["history"]


def test_early_stopping_restores_the_best_epochs_weights(run, write, tmp_path):
    rng = np.random.default_rng(0)  # labels that are noise: the validation loss soon rises
    np.savez(tmp_path / "noise.npz", x=rng.normal(size=(300, 8)), y=rng.integers(0, 3, size=300))
    spec = write("input: [8]\nlayers: [linear: 64, relu, linear: 3]\n"
                 "train: {classes: 3, optimizer: {adam: {lr: 0.05}}, epochs: 100, early_stopping: {patience: 3}}\n")
    data = train_json(run, spec, "--backend", "torch", "--data", tmp_path / "noise.npz", "-o", tmp_path / "w.npz")
    best, history = data["best_epoch"], data["history"]
    assert data["stopped_early"] and data["epochs_run"] == best + 3 < 100
    assert history[best - 1]["val_loss"] == min(h["val_loss"] for h in history) < history[-1]["val_loss"]
    model = archcalc.load(str(spec))
    x, y = split(load_data(str(tmp_path / "noise.npz"), model, model.spec.train), 0).validation
    module = saved_module(model, tmp_path / "w.npz")
    assert T.evaluate(module, model.spec.train, x, y) == (history[best - 1]["val_loss"],
                                                         history[best - 1]["val_accuracy"])


def test_regression_on_a_line_converges(run, write, tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    np.savez(tmp_path / "line.npz", x=x, y=x @ [1.5, -2.0, 0.5] + 0.3)
    spec = write("input: [3]\nlayers: [linear: 1]\n"
                 "train: {task: regression, loss: mse, optimizer: {sgd: {lr: 0.1}}, epochs: 30}\n")
    data = train_json(run, spec, "--backend", "torch", "--data", tmp_path / "line.npz", "-o", tmp_path / "w.npz")
    assert data["test_accuracy"] is None and all(h["accuracy"] is None for h in data["history"])
    assert data["test_loss"] < 1e-4
    layer = saved_module(archcalc.load(str(spec)), tmp_path / "w.npz").get_submodule("0")
    torch.testing.assert_close(layer.weight, torch.tensor([[1.5, -2.0, 0.5]]), atol=1e-2, rtol=0)
    torch.testing.assert_close(layer.bias, torch.tensor([0.3]), atol=1e-2, rtol=0)


def test_text_output_names_the_backend(run):
    result = run("train", SPECS / "digits-mlp.yaml", "--backend", "torch", "--epochs", "1")
    assert result.exit_code == 0, result.output
    assert "torch backend, seed 0" in result.stdout and "test accuracy" in result.stdout
    assert "epoch   1" in result.stderr


#: torch made uninstallable; not ``sys.modules['torch'] = None``, which scipy's array-API checks trip over
NO_TORCH = """
import sys
class NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] == "torch":
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, NoTorch())
"""


def test_without_torch_the_backend_says_how_to_install_it(tmp_path):
    code = (NO_TORCH + "from archcalc.cli import main\n"
            f"main(['train', 'specs/digits-mlp.yaml', '--backend', 'torch', '-o', {str(tmp_path / 'w.npz')!r}])")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 2
    assert "error: this needs PyTorch, which is not installed" in proc.stderr
    assert "pip install torch==2.13.0" in proc.stderr
    assert "Traceback" not in proc.stderr and not (tmp_path / "w.npz").exists()


class TorchOrder:
    """Stands in for the NumPy loop's generator, which it asks only for ``permutation(n)``: the
    permutations torch's loop draws from a generator seeded alike."""

    def __init__(self, seed: int):
        self.generator = torch.Generator().manual_seed(seed)

    def permutation(self, n: int) -> np.ndarray:
        return torch.randperm(n, generator=self.generator).numpy()


@pytest.mark.parametrize("optimizer", [
    "{sgd: {lr: 0.1, momentum: 0.9, nesterov: true}}", "adadelta", "{adamax: {lr: 0.02}}",
    "{nadam: {lr: 0.02}}", "{nadam: {lr: 0.02, decoupled_weight_decay: true}}", "{radam: {lr: 0.02}}",
    "{radam: {lr: 0.02, betas: [0.9, 0.9], decoupled_weight_decay: true}}"])
def test_the_torch_and_numpy_loops_give_the_same_weights(optimizer):
    """The same initial weights, batches and spec (the optimizer, weight decay, L1, batch norm, a final
    softmax the loss must skip, 41 samples in batches of 8 so the sample left over joins the last
    batch): after two epochs both backends hold the same weights and running statistics."""
    model = archcalc.loads("input: [6]\nlayers: [linear: 5, tanh, batchnorm1d, linear: 3, softmax]\n"
                           f"train: {{classes: 3, optimizer: {optimizer}, "
                           "weight_decay: 0.01, l1: 0.003, batch_size: 8, epochs: 2}\n")
    train = model.spec.train
    net = to_numpy(model, seed=0, dtype="float64")
    module = archcalc.to_torch(model).double()
    module.load_state_dict({k: torch.from_numpy(np.asarray(v)) for k, v in net.state_dict().items()})
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(41, 6)), rng.integers(0, 3, size=41)
    T.fit(module, train, torch.from_numpy(x), torch.from_numpy(y), seed=5)
    numpy_training.fit(net, make_loss(train), make_optimizer(train, net.parameters()), x, y, epochs=2, batch_size=8,
                       rng=TorchOrder(5), l1=train.l1)
    state = module.state_dict()
    assert list(state) == list(net.state_dict())
    worst = max(float(np.abs(np.asarray(v, dtype=np.float64) - state[k].double().numpy()).max())
                for k, v in net.state_dict().items())
    assert worst < 1e-12  # float64: they agree to a few units of 1e-16
    assert int(state["2.num_batches_tracked"]) == 10  # five batches an epoch, not six
