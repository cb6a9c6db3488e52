"""The training entry point of ``archcalc export --to torch`` files: the spec's loss and optimizer,
``python FILE.py DATA.npz`` in one process and ``torchrun --nproc-per-node=2 FILE.py DATA.npz`` in two,
which agree when the global batch is the same."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import numpy as np
import pytest
import torch
import torch.nn.functional as F

import archcalc
from archcalc.backends.torch import training
from archcalc.backends.torch.source import emit
from tests.torch_helpers import import_file

pytestmark = pytest.mark.usefixtures("one_thread")

SPEC = """name: small
input: [8]
layers: [linear: 16, tanh, linear: 3, softmax]
train: {classes: 3, optimizer: {sgd: {lr: 0.5, momentum: 0.9, nesterov: true}}, weight_decay: 0.001, l1: 0.0001,
        batch_size: 90, epochs: 4}
"""
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}


@pytest.fixture
def exported(tmp_path):
    """The exported file for SPEC, and 90 samples to train it on."""
    path = tmp_path / "small.py"
    path.write_text(emit(archcalc.loads(SPEC)), encoding="utf-8")
    rng = np.random.default_rng(2)
    x = rng.normal(size=(90, 8)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5))
    return path


def epochs(output: str) -> list[float]:
    """The losses of ``epoch 1/3: loss 1.234567, accuracy 0.5000`` lines."""
    return [float(m) for m in re.findall(r"^epoch \d+/\d+: loss ([0-9.e+-]+)", output, re.MULTILINE)]


def accuracies(output: str) -> list[float]:
    return [float(m) for m in re.findall(r"^epoch \d+/\d+: loss \S+, accuracy ([0-9.]+)$", output, re.MULTILINE)]


@pytest.mark.parametrize("optimizer", [
    None, "{adadelta: {rho: 0.95}}", "{adamax: {lr: 0.01}}",
    "{nadam: {momentum_decay: 0.01, decoupled_weight_decay: true}}", "{radam: {betas: [0.8, 0.99]}}"])
def test_the_file_trains_with_the_specs_loss_and_optimizer(exported, optimizer):
    """The file's build_optimizer is the torch trainer's: the class, every hyperparameter, weight decay (None:
    SPEC's Nesterov SGD)."""
    spec = SPEC if optimizer is None else SPEC.replace("{sgd: {lr: 0.5, momentum: 0.9, nesterov: true}}", optimizer)
    if optimizer is not None:
        exported.write_text(emit(archcalc.loads(spec)), encoding="utf-8")
    module = import_file(exported)
    model = module.build_model()
    train = archcalc.loads(spec).spec.train
    ours, theirs = module.build_optimizer(model), training.build_optimizer(train, model)
    assert type(ours) is type(theirs) and {k: v for k, v in ours.param_groups[0].items() if k != "params"} == \
        {k: v for k, v in theirs.param_groups[0].items() if k != "params"}
    assert type(module.build_loss()) is torch.nn.CrossEntropyLoss
    assert module.TRAINING == {"epochs": 4, "batch_size": 90, "seed": 0, "l1": 0.0001}
    x, y = torch.randn(5, 8), torch.tensor([0, 1, 2, 1, 0])
    out = model(x, logits=True)  # what train() feeds the loss: the logits, not the softmax
    torch.testing.assert_close(module.build_loss()(out, module.targets(y, out)), F.cross_entropy(out, y))


@pytest.mark.parametrize(("loss", "written"), [
    ("{huber: {delta: 0.5}}", "nn.HuberLoss(delta=0.5)"),
    ("{smooth_l1: {beta: 0.25}}", "nn.SmoothL1Loss(beta=0.25)"),
    ("kl_div", 'nn.KLDivLoss(reduction="batchmean")'),
    ("{dice: {smooth: 2}}", "DiceLoss(smooth=2.0)"),
    ("cosine", "CosineLoss()"),
    ("poisson_nll", "nn.PoissonNLLLoss()"),
    ("{poisson_nll: {log_input: false, eps: 1.0e-7, full: true}}",
     "nn.PoissonNLLLoss(log_input=False, full=True, eps=1e-07)"),
    ("log_cosh", "LogCoshLoss()"),
])
def test_the_file_trains_with_the_losss_settings_and_carries_the_losses_torch_lacks(tmp_path, loss, written):
    path = tmp_path / "regress.py"
    text = emit(archcalc.loads(f"name: r\ninput: [8]\nlayers: [linear: 4, sigmoid]\n"
                               f"train: {{task: regression, loss: {loss}}}\n"))
    path.write_text(text, encoding="utf-8")
    assert f"    return {written}\n" in text
    module = import_file(path)
    out, target = torch.rand(6, 4, generator=torch.Generator().manual_seed(0)), torch.rand(6, 4)
    theirs = training.criterion(archcalc.loads(f"input: [8]\nlayers: [linear: 4]\ntrain: {{task: regression, "
                                               f"loss: {loss}}}\n").spec.train)
    torch.testing.assert_close(module.build_loss()(out, target), theirs(out, target), rtol=0, atol=0)


@pytest.mark.parametrize(("loss", "written"), [
    ("{cross_entropy: {label_smoothing: 0.1}}", "nn.CrossEntropyLoss(label_smoothing=0.1)"),
    ("{cross_entropy: {inputs: probabilities}}", "ProbabilityCrossEntropyLoss()"),
    ("{cross_entropy: {inputs: probabilities, label_smoothing: 0.2}}",
     "ProbabilityCrossEntropyLoss(label_smoothing=0.2)"),
])
def test_the_file_trains_a_classifier_with_the_specs_cross_entropy(tmp_path, loss, written):
    spec = f"name: c\ninput: [8]\nlayers: [linear: 3, softmax]\ntrain: {{loss: {loss}, batch_size: 4, epochs: 2}}\n"
    path = tmp_path / "classify.py"
    text = emit(archcalc.loads(spec))
    path.write_text(text, encoding="utf-8")
    assert f"    return {written}\n" in text
    module = import_file(path)
    prob = torch.rand(6, 3, generator=torch.Generator().manual_seed(0)).softmax(1)
    y = torch.tensor([0, 1, 2, 2, 1, 0])
    torch.testing.assert_close(module.build_loss()(prob, y),
                               training.criterion(archcalc.loads(spec).spec.train)(prob, y), rtol=0, atol=0)
    rng = np.random.default_rng(0)
    np.savez(tmp_path / "data.npz", x=rng.normal(size=(16, 8)).astype(np.float32), y=rng.integers(0, 3, 16))
    proc = subprocess.run([sys.executable, str(path), "data.npz"], capture_output=True, text=True, cwd=tmp_path,
                          env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert len(epochs(proc.stdout)) == 2


@pytest.mark.parametrize(("loss", "classes", "written"), [
    ("hinge", 2, "HingeLoss()"),
    ("hinge", 3, "HingeLoss()"),
    ("squared_hinge", 2, "HingeLoss(squared=True)"),
    ("soft_margin", 2, "SignSoftMarginLoss()"),
    ("{multi_margin: {p: 2, margin: 0.5}}", 3, "nn.MultiMarginLoss(p=2, margin=0.5)"),
    ("categorical_hinge", 3, "CategoricalHingeLoss()"),
])
@pytest.mark.parametrize("to", ["torch", "numpy"])
def test_the_files_train_a_classifier_with_a_margin_loss(run, tmp_path, loss, classes, written, to):
    """The margin losses in both exported files: the torch file writes torch's MultiMarginLoss or carries the
    loss torch lacks, and compares what the trainer does (class indices, one-hot rows against an output per
    class, a 0 read as -1 by the loss); the NumPy file carries the runtime's class. Both train on an .npz and
    print the accuracy."""
    width = 1 if classes == 2 else 3
    spec = tmp_path / "m.yaml"
    spec.write_text(f"name: m\ninput: [8]\nlayers: [linear: 8, tanh, linear: {width}]\n"
                    f"train: {{classes: {classes}, loss: {loss}, batch_size: 8, epochs: 2}}\n", encoding="utf-8")
    assert run("export", spec, "--to", to, "-o", tmp_path / "m.py").exit_code == 0
    text = (tmp_path / "m.py").read_text(encoding="utf-8")
    module = import_file(tmp_path / "m.py")
    y = torch.tensor([0, 1, 1, 0, 1, 0]) if classes == 2 else torch.tensor([0, 1, 2, 2, 1, 0])
    scores = 2 * torch.randn(6, width, generator=torch.Generator().manual_seed(0))
    train = archcalc.loads(spec.read_text(encoding="utf-8")).spec.train
    theirs = training.criterion(train)
    expected = theirs(scores, training.targets(theirs, y, scores))
    if to == "torch":
        assert f"    return {written}\n" in text
        torch.testing.assert_close(module.build_loss()(scores, module.targets(y, scores)), expected, rtol=0, atol=0)
    else:
        ours = module.build_loss()
        value = ours.forward(scores.double().numpy(), ours.targets(y.numpy(), width, True))
        assert value == pytest.approx(expected.item(), rel=1e-6)
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 8)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=(x[:, 0] > 0).astype(int) + (classes == 3) * (x[:, 1] > 0))
    proc = subprocess.run([sys.executable, str(tmp_path / "m.py"), "data.npz"], capture_output=True, text=True,
                          cwd=tmp_path, env=ENV, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert len(re.findall(r"^epoch [0-9/]+[:,] loss [0-9.]+, accuracy [0-9.]+", proc.stdout, re.MULTILINE)) == 2, \
        proc.stdout


def test_a_softmax_without_a_train_section_trains_on_its_log(tmp_path):
    path = tmp_path / "probs.py"
    path.write_text(emit(archcalc.loads("name: probs\ninput: [4]\nlayers: [linear: 3, softmax]\n")), encoding="utf-8")
    text = path.read_text()
    assert "out = out.clamp_min(torch.finfo(out.dtype).tiny).log()" in text and "logits" not in text
    module = import_file(path)
    model = module.build_model()
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 2, 1, 0])
    log = model(x).clamp_min(torch.finfo(torch.float32).tiny).log()
    torch.testing.assert_close(module.build_loss()(log, y), F.cross_entropy(model["0"](x), y))


def test_python_file_data_trains_and_saves_weights_that_load_safely(exported):
    proc = subprocess.run([sys.executable, str(exported), "data.npz", "--epochs", "3", "-o", "w.pt"],
                          capture_output=True, text=True, cwd=exported.parent, env=ENV)
    assert proc.returncode == 0, proc.stderr
    losses = epochs(proc.stdout)
    assert len(losses) == 3 and losses[-1] < losses[0]
    model = import_file(exported).build_model()
    model.load_state_dict(torch.load(exported.parent / "w.pt", weights_only=True))


def test_the_file_prints_the_accuracy_archcalc_counts(exported):
    """One batch of all 90 samples: epoch 1's accuracy is the initial model's (counted before its step),
    as archcalc's own trainer counts it."""
    proc = subprocess.run([sys.executable, str(exported), "data.npz", "--epochs", "1"], capture_output=True,
                          text=True, cwd=exported.parent, env=ENV)
    assert proc.returncode == 0, proc.stderr
    module = import_file(exported)
    torch.manual_seed(0)
    model = module.build_model()
    with np.load(exported.parent / "data.npz") as data:
        x, y = torch.as_tensor(data["x"]), torch.as_tensor(data["y"])
    loss = training.build_loss(archcalc.loads(SPEC).spec.train, model)
    with torch.no_grad():
        right = loss.correct(loss.logits(x), y)
    assert 0 < right < 90
    assert accuracies(proc.stdout) == [round(right / 90, 4)]
    assert module.correct(model(x, logits=True), y) == right


def test_a_regression_file_prints_no_accuracy(tmp_path):
    path = tmp_path / "reg.py"
    spec = "input: [2]\nlayers: [linear: 1]\ntrain: {task: regression, loss: mse, batch_size: 4, epochs: 1}\n"
    path.write_text(emit(archcalc.loads(spec)), encoding="utf-8")
    np.savez(tmp_path / "data.npz", x=np.ones((8, 2), np.float32), y=np.ones(8, np.float32))
    proc = subprocess.run([sys.executable, str(path), "data.npz"], capture_output=True, text=True, cwd=tmp_path,
                          env=ENV)
    assert proc.returncode == 0, proc.stderr
    assert len(epochs(proc.stdout)) == 1 and "accuracy" not in proc.stdout and "def correct" not in path.read_text()


@pytest.mark.slow  # torchrun starts two processes that import torch
def test_torchrun_two_processes_train_what_one_does_with_the_same_global_batch(exported):
    """One batch of all 90 samples an epoch: each process takes 45 (DistributedSampler), DDP averages
    their gradients, and the weights are the single process's to float32 rounding (measured 8.9e-8)."""
    one = subprocess.run([sys.executable, str(exported), "data.npz", "-o", "one.pt"], capture_output=True,
                         text=True, cwd=exported.parent, env=ENV)
    assert one.returncode == 0, one.stderr
    two = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node=2",
                          str(exported), "data.npz", "-o", "two.pt"], capture_output=True, text=True,
                         cwd=exported.parent, env=ENV)
    assert two.returncode == 0, two.stderr
    assert len(epochs(two.stdout)) == 4  # printed by rank 0 alone
    assert epochs(two.stdout) == pytest.approx(epochs(one.stdout), abs=1e-4)
    # the processes' hits added up: the same, but for a sample the weights' float32 rounding moves across a tie
    assert accuracies(two.stdout) == pytest.approx(accuracies(one.stdout), abs=1.5 / 90)
    a = torch.load(exported.parent / "one.pt", weights_only=True)
    b = torch.load(exported.parent / "two.pt", weights_only=True)
    assert a.keys() == b.keys()
    for key in a:
        torch.testing.assert_close(a[key], b[key], rtol=0, atol=1e-5)


MULTI_LABEL = """name: tags
input: [8]
layers: [linear: 16, relu, linear: 4]
train: {classes: 4, multi_label: true, optimizer: {adam: {lr: 0.01}}, batch_size: 64, epochs: 1}
"""


def multi_label_data(folder) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(64, 8)).astype(np.float32)
    y = (x[:, :4] > 0).astype(np.float32)  # four independent labels per sample
    np.savez(folder / "tags.npz", x=x, y=y)
    return x, y


def test_a_multi_label_file_trains_on_label_rows_and_counts_the_labels_right(tmp_path):
    """Rows of 0/1 labels are the targets as they are (no one-hot of each), and the accuracy is the share
    of labels right, the same in the file, in archcalc's torch trainer and in the NumPy file."""
    x, y = multi_label_data(tmp_path)
    path = tmp_path / "tags.py"
    path.write_text(emit(archcalc.loads(MULTI_LABEL)), encoding="utf-8")
    proc = subprocess.run([sys.executable, str(path), "tags.npz"], capture_output=True, text=True, cwd=tmp_path,
                          env=ENV)
    assert proc.returncode == 0, proc.stderr
    module = import_file(path)
    torch.manual_seed(0)
    model = module.build_model()
    scores = model(torch.as_tensor(x)).detach()  # no final sigmoid: the output is the logits
    labels = torch.as_tensor(y)
    expected = ((scores > 0) == (labels > 0.5)).double().mean(1).sum().item()
    assert accuracies(proc.stdout) == [round(expected / 64, 4)]
    assert module.correct(scores, labels) == pytest.approx(expected)
    loss = training.build_loss(archcalc.loads(MULTI_LABEL).spec.train, model)
    assert loss.correct(scores, labels) == pytest.approx(expected)
    assert module.targets(labels, scores).shape == (64, 4)


def test_a_multi_label_numpy_file_counts_the_labels_right(run, tmp_path):
    from archcalc.backends.numpy import losses
    from archcalc.backends.numpy.training import correct

    _, y = multi_label_data(tmp_path)
    out = np.random.default_rng(4).normal(size=y.shape)
    assert correct(out, y, losses.BCEWithLogitsLoss(multi_label=True)) == \
        pytest.approx(((out > 0) == (y > 0.5)).mean(1).sum())
    # one-hot rows of a single-label classification: still the largest output against the class
    assert correct(out, y, losses.BCEWithLogitsLoss()) == (out.argmax(1) == y.argmax(1)).sum()
    spec = tmp_path / "tags.yaml"
    spec.write_text(MULTI_LABEL.replace("epochs: 1", "epochs: 30"), encoding="utf-8")
    assert run("export", spec, "--to", "numpy", "-o", tmp_path / "tags_np.py").exit_code == 0
    proc = subprocess.run([sys.executable, "-I", str(tmp_path / "tags_np.py"), "tags.npz"], capture_output=True,
                          text=True, cwd=tmp_path, env=ENV)
    assert proc.returncode == 0, proc.stderr
    final = re.findall(r"^epoch 30, .*?, accuracy ([0-9.]+)", proc.stdout, re.MULTILINE)
    assert final and float(final[0]) > 0.9, proc.stdout


def test_a_yes_no_per_position_trains_and_counts_the_positions_right(run, tmp_path):
    """Voice activity detection: a GRU's [T, 1] output under bce_with_logits against a 0/1 per frame; the
    files take the targets [N, T] or [N, T, 1] and count the share of frames right."""
    spec = tmp_path / "vad.yaml"
    spec.write_text("name: vad\ninput: [10, 8]\nlayers: [gru: {hidden: 16}, linear: 1]\ntrain: {classes: 2, "
                    "loss: bce_with_logits, optimizer: {adam: {lr: 0.01}}, batch_size: 32, epochs: 20}\n",
                    encoding="utf-8")
    rng = np.random.default_rng(5)
    x = rng.normal(size=(200, 10, 8)).astype(np.float32)
    np.savez(tmp_path / "vad.npz", x=x, y=(x[:, :, 0] > 0).astype(np.float32))
    for target, out in (("torch", "vad_t.py"), ("numpy", "vad_n.py")):
        assert run("export", spec, "--to", target, "-o", tmp_path / out).exit_code == 0
        proc = subprocess.run([sys.executable, "-I", str(tmp_path / out), "vad.npz"], capture_output=True, text=True,
                              cwd=tmp_path, env=ENV)
        assert proc.returncode == 0, proc.stderr
        last = re.findall(r"accuracy ([0-9.]+)", proc.stdout)
        assert last and float(last[-1]) > 0.9, proc.stdout


@pytest.mark.parametrize("to", ["torch", "numpy"])
@pytest.mark.parametrize(("spec", "y", "says"), [
    (SPEC, np.r_[np.arange(89) % 3, np.nan], "y row 89 holds NaN or an infinity"),
    (SPEC, np.r_[np.arange(89) % 3, 3], "y holds 3, not a class index 0 ... 2"),
    (SPEC, np.r_[np.arange(89) % 3, -1], "y holds -1, not a class index 0 ... 2"),
    (SPEC, np.arange(80) % 3, "x has 90 rows, y 80: one target per sample"),
    (SPEC, np.array(["a"] * 90), "y must hold numbers, not <U1"),
    ("input: [8]\nlayers: [linear: 2]\ntrain: {classes: 2, multi_label: true}\n",
     np.tile([0, 2], (90, 1)), "y holds 2, not a 0 or 1 (a probability between)"),
    ("input: [8]\nlayers: [linear: 2]\ntrain: {classes: 2, multi_label: true, loss: hinge}\n",
     np.tile([0, 0.5], (90, 1)), "y holds 0.5, not a 0 or 1 (hinge reads 0 as -1)"),
    ("input: [8]\nlayers: [linear: 1]\ntrain: {task: regression, loss: poisson_nll}\n",
     np.r_[np.arange(89) % 4, -2], "y holds -2, not a count (poisson_nll: at least 0)"),
])
def test_the_exported_files_refuse_data_they_cannot_train_on(run, tmp_path, to, spec, y, says):
    """Each file checks its data before the first step, as archcalc train does, and says what is wrong through
    argparse (exit 2) instead of a traceback mid-epoch or a loss of NaN."""
    path = tmp_path / "spec.yaml"
    path.write_text(spec, encoding="utf-8")
    assert run("export", path, "--to", to, "-o", tmp_path / "m.py").exit_code == 0
    np.savez(tmp_path / "data.npz", x=np.random.default_rng(0).normal(size=(90, 8)), y=y)
    proc = subprocess.run([sys.executable, str(tmp_path / "m.py"), "data.npz", "--epochs", "1"], capture_output=True,
                          text=True, cwd=tmp_path, env=ENV, timeout=300)
    assert proc.returncode == 2 and proc.stderr.endswith(f"m.py: error: data.npz: {says}\n"), proc.stderr
    (tmp_path / "data.npz").write_bytes(b"not a zip")
    proc = subprocess.run([sys.executable, str(tmp_path / "m.py"), "data.npz"], capture_output=True, text=True,
                          cwd=tmp_path, env=ENV, timeout=300)
    assert proc.returncode == 2 and "m.py: error: data.npz: " in proc.stderr and "Traceback" not in proc.stderr
