"""``train: clip_grad_norm`` and ``clip_grad_value``: torch.nn.utils' clipping between backward and the
optimizer's step, in both trainers and both exported files. The NumPy side is held to torch's own
``clip_grad_norm_`` in float64; the torch side is checked to clip what it steps on."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import archcalc
from archcalc.backends.numpy import optim, training
from archcalc.backends.numpy.build import build_model, make_loss, make_optimizer
from archcalc.backends.numpy.source import render
from archcalc.backends.torch import training as torch_training
from archcalc.backends.torch.source import emit
from tests.torch_helpers import import_file

pytestmark = pytest.mark.usefixtures("one_thread")

HEAD = "input: [6]\nlayers: [linear: 8, tanh, linear: 3]\n"


def float64_pair(seed: int = 0) -> tuple[list[np.ndarray], list[torch.Tensor]]:
    rng = np.random.default_rng(seed)
    params = [rng.normal(size=(7, 5)), rng.normal(size=5), rng.normal(size=(3, 2, 2))]
    return params, [torch.tensor(p.copy(), requires_grad=True) for p in params]


@pytest.mark.parametrize(("clip", "torch_clip"), [
    ({"max_norm": 0.25}, lambda ps: torch.nn.utils.clip_grad_norm_(ps, 0.25)),
    ({"clip_value": 0.1}, lambda ps: torch.nn.utils.clip_grad_value_(ps, 0.1)),
])
def test_the_numpy_clipped_step_is_torchs_clip_and_sgd_step_in_float64(clip, torch_clip):
    """20 steps of SGD with Nesterov momentum and weight decay on gradients of every size: the 2-norm of
    the first ones is ten times the bound, of the last ones a tenth of it (the clamp at 1)."""
    params, torch_params = float64_pair()
    sgd = {"lr": 0.1, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}
    mine = optim.ClipGradients(optim.SGD(params, **sgd), **clip)
    reference = torch.optim.SGD(torch_params, **sgd)
    rng = np.random.default_rng(1)
    worst, norms = 0.0, []
    for step in range(20):
        grads = [rng.normal(size=p.shape) for p in params]
        scale = 0.25 * (10 if step < 10 else 0.1) / np.sqrt(sum(float((g * g).sum()) for g in grads))
        grads = [g * scale + 0.01 * p for g, p in zip(grads, params)]  # a term that feeds back any drift
        for g, p in zip(grads, torch_params):
            p.grad = torch.from_numpy(g.copy())
        norms.append(float(torch.nn.utils.get_total_norm([p.grad for p in torch_params])))
        mine.step(grads)
        torch_clip(torch_params)
        reference.step()
        worst = max(worst, *(float(np.abs(p - t.detach().numpy()).max()) for p, t in zip(params, torch_params)))
    assert worst <= 1e-12, worst
    assert max(norms) > 2 and min(norms) < 0.25  # beyond the bound, and within it


def test_a_numpy_training_step_clips_after_the_l1_term_and_before_weight_decay_as_torch_does():
    """The NumPy trainer's own step (forward, backward, L1 subgradient, ClipGradients, SGD) against the same
    network in torch (float64, the same weights): loss + l1·Σ|w|, backward, clip_grad_norm_, SGD's step."""
    model = archcalc.loads(HEAD + "train: {classes: 3, optimizer: {sgd: {lr: 0.5, momentum: 0.9}}, "
                                  "weight_decay: 0.01, l1: 0.001, clip_grad_norm: 0.05}\n")
    train = model.spec.train
    net = build_model(model.graph, 0, "float64")
    loss, optimizer = make_loss(train), make_optimizer(train, net.parameters())
    assert isinstance(optimizer, optim.ClipGradients)
    module = torch.nn.Sequential(torch.nn.Linear(6, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3)).double()
    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in net.state_dict().items()})
    reference = torch.optim.SGD(module.parameters(), lr=0.5, momentum=0.9, weight_decay=0.01)
    rng = np.random.default_rng(2)
    x, y = rng.normal(size=(16, 6)), rng.integers(0, 3, 16)
    norms = []
    for _ in range(5):
        training.step(net, loss, optimizer, x, loss.targets(y, 3, True), l1=0.001)
        reference.zero_grad()
        value = torch.nn.functional.cross_entropy(module(torch.from_numpy(x)), torch.from_numpy(y))
        (value + 0.001 * sum(p.abs().sum() for p in module.parameters())).backward()
        norms.append(float(torch.nn.utils.clip_grad_norm_(module.parameters(), 0.05)))
        reference.step()
    worst = max(float(np.abs(v - module.state_dict()[k].numpy()).max()) for k, v in net.state_dict().items())
    assert worst <= 1e-12, worst
    assert min(norms) > 0.05  # every step was clipped


def test_the_torch_trainer_steps_on_clipped_gradients(monkeypatch):
    """The 2-norm of the gradients the optimizer steps on is at most max_norm, and is max_norm (to torch's
    1e-6) when the raw gradients are larger."""
    model = archcalc.loads(HEAD + "train: {classes: 3, optimizer: {sgd: {lr: 5}}, clip_grad_norm: 0.125, "
                                  "batch_size: 16, epochs: 2}\n")
    module = archcalc.to_torch(model).double()
    norms = []
    step = torch.optim.SGD.step

    def recording(self, *args, **kwargs):
        norms.append(float(torch.nn.utils.get_total_norm([p.grad for p in module.parameters()])))
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.SGD, "step", recording)
    rng = np.random.default_rng(0)
    x = torch.from_numpy(rng.normal(size=(64, 6)) * 20)
    torch_training.fit(module, model.spec.train, x, torch.from_numpy(rng.integers(0, 3, 64)))
    assert len(norms) == 8 and max(norms) <= 0.125
    assert sum(n == pytest.approx(0.125, rel=1e-5) for n in norms) >= 4


@pytest.fixture
def wild(tmp_path):
    """Data on which plain SGD at lr 10 diverges: a linear regression with inputs of size 3."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 4)) * 3
    np.savez(tmp_path / "wild.npz", x=x.astype(np.float32), y=(x @ [1.0, -2.0, 0.5, 3.0]).astype(np.float32))
    return tmp_path / "wild.npz"


def wild_spec(clip: str) -> str:
    return (f"name: wild\ninput: [4]\nlayers: [linear: 1]\ntrain: {{task: regression, optimizer: {{sgd: {{lr: 10}}}}, "
            f"batch_size: 20, epochs: 3{clip}}}\n")


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_sgd_at_lr_10_diverges_and_stays_finite_with_its_gradients_norm_clipped(tmp_path, wild, run, backend):
    spec = tmp_path / "wild.yaml"
    spec.write_text(wild_spec(""))
    result = run("train", spec, "--data", wild, "--backend", backend)
    assert result.exit_code == 2 and ": error: training diverged: the loss was " in result.stderr
    spec.write_text(wild_spec(", clip_grad_norm: 1.0"))
    result = run("train", spec, "--data", wild, "--backend", backend, "--format", "json")
    assert result.exit_code == 0, result.output
    assert all(np.isfinite(h["loss"]) for h in json.loads(result.stdout)["history"])


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_clipped_run_resumed_from_a_checkpoint_is_the_run_in_one_go(tmp_path, wild, run, backend):
    spec = tmp_path / "wild.yaml"
    spec.write_text(wild_spec(", clip_grad_norm: 1.0").replace("epochs: 3", "epochs: 4"))
    common = [spec, "--data", wild, "--backend", backend, "--format", "json"]
    whole = run("train", *common, "-o", tmp_path / "a.npz")
    half = run("train", *common, "--epochs", 2, "--checkpoint-dir", tmp_path / "ck")
    resumed = run("train", *common, "--epochs", 4, "--checkpoint-dir", tmp_path / "ck", "--resume", "-o",
                  tmp_path / "b.npz")
    assert whole.exit_code == half.exit_code == resumed.exit_code == 0, resumed.output
    assert json.loads(whole.stdout)["history"] == json.loads(resumed.stdout)["history"]
    with np.load(tmp_path / "a.npz") as a, np.load(tmp_path / "b.npz") as b:
        assert all(np.array_equal(a[k], b[k]) for k in a.files)


def test_without_clipping_the_exports_carry_none_of_it():
    model = archcalc.loads("name: plain\n" + HEAD + "train: {classes: 3}\n")
    assert "clip_grad" not in emit(model)
    assert "ClipGradients" not in render(model) and "clip_grad" not in render(model)


@pytest.mark.parametrize("clip", ["clip_grad_norm: 1.0", "clip_grad_value: 0.5"])
def test_both_exported_files_clip_as_the_spec_says(tmp_path, wild, clip):
    """Each file trains where the same spec without clipping diverges (a NaN loss), and its torch file
    calls torch.nn.utils itself, laid out as ruff formats it."""
    lines = {}
    for name, text in (("clipped", wild_spec(f", {clip}")), ("unclipped", wild_spec(""))):
        model = archcalc.loads(text)
        for to, write in (("torch", emit), ("numpy", render)):
            path = tmp_path / f"{name}_{to}.py"
            path.write_text(write(model), encoding="utf-8")
            proc = subprocess.run([sys.executable, str(path), str(wild)], capture_output=True, text=True,
                                  cwd=tmp_path)
            assert proc.returncode == 0, proc.stderr
            lines[name, to] = [line for line in proc.stdout.splitlines() if line.startswith("epoch")] or \
                proc.stdout.splitlines()[:3]
    for to in ("torch", "numpy"):
        assert any("nan" in line for line in lines["unclipped", to]), lines["unclipped", to]
        assert not any("nan" in line for line in lines["clipped", to]), lines["clipped", to]
    key, value = clip.split(": ")
    module = import_file(tmp_path / "clipped_torch.py")
    assert module.TRAINING[key] == float(value)
    assert f'nn.utils.{key}_(model.parameters(), TRAINING["{key}"])' in (tmp_path / "clipped_torch.py").read_text()
    numpy_file = import_file(tmp_path / "clipped_numpy.py")
    optimizer = numpy_file.build_optimizer(numpy_file.build_model(0))
    assert (optimizer.max_norm, optimizer.clip_value) == ((float(value), None) if "norm" in key else (None, 0.5))
    ruff = [sys.executable, "-m", "ruff", "format", "--isolated", "--check", str(tmp_path / "clipped_torch.py")]
    proc = subprocess.run(ruff, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.slow  # a torchrun launch of two processes that import torch (about 6 s)
def test_two_processes_clip_the_averaged_gradients_as_one_process_clips(tmp_path, wild, run):
    """Under DDP every process clips the averaged gradients: the run is one process's run (to the order of
    floating-point sums), where without clipping it diverges."""
    spec = tmp_path / "wild.yaml"
    spec.write_text(wild_spec(", clip_grad_norm: 1.0"))
    one, two = (run("train", spec, "--data", wild, "--backend", "torch", *nproc, "--format", "json")
                for nproc in ([], ["--nproc", 2]))
    assert one.exit_code == two.exit_code == 0, two.output
    for a, b in zip(json.loads(one.stdout)["history"], json.loads(two.stdout)["history"], strict=True):
        assert a["loss"] == pytest.approx(b["loss"], rel=1e-5)
