"""The standalone files of ``archcalc export --to torch`` and ``--to numpy`` train a class per position (a
language model's [T, V] against [T]) or per pixel (a segmentation's [C, H, W] against [H, W]) as
``archcalc train`` does: each file's own entry point, run in a subprocess on an .npz, gives on its first step
(one batch of every sample) the loss archcalc's own training code computes for the same weights and batch,
and the loss falls. A final softmax is the loss's own only over the class axis, in the files as in the
trainers; the numbers are checked against ``F.cross_entropy`` of the logits (or of the probabilities)."""

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
from archcalc.backends.numpy import build as numpy_build
from archcalc.backends.numpy import to_numpy
from archcalc.backends.numpy import training as numpy_training
from archcalc.backends.numpy.losses import per_position_loss
from archcalc.backends.torch import training as torch_training
from archcalc.spec.train import dense_axes
from tests.conftest import SPECS

pytestmark = pytest.mark.usefixtures("one_thread")
ENV = {**os.environ, "OMP_NUM_THREADS": "1"}
BOTH = pytest.mark.parametrize("to", ["torch", "numpy"])
#: the torch file's variants start a torch process each (7 s here): slow, but for the main case above them
BOTH_TORCH_SLOW = pytest.mark.parametrize("to", [pytest.param("torch", marks=pytest.mark.slow), "numpy"])

#: the shipped specs at small sizes, each with one batch of all its samples (the numpy file takes the spec's
#: batch_size: char-gpt's 32, unet-shapes' 16)
SHIPPED = {
    "char-gpt": {"T": 8, "V": 12, "D": 16, "heads": 2, "depth": 1},
    "unet-shapes": {"H": 8, "W": 8},
}
#: a language model in miniature ending in %s, trained with plain SGD on 40 samples in one batch
LM = """input: [6]
layers:
  - embedding: {vocab: 5, dim: 8}
  - linear: 5
  - %s
train: {optimizer: {sgd: {lr: 0.5}}, batch_size: 40, epochs: 3, seed: 0%s}
"""


def lm_data(path, samples: int, length: int, vocab: int) -> tuple[np.ndarray, np.ndarray]:
    """Ids and their successors (mod the vocabulary): each position's target is the next id."""
    x = np.random.default_rng(0).integers(0, vocab, (samples, length))
    y = (x + 1) % vocab
    np.savez(path, x=x, y=y)
    return x, y


def data_for(name: str, path) -> tuple[np.ndarray, np.ndarray]:
    if name == "char-gpt":
        return lm_data(path, 32, 8, 12)
    from archcalc import data_shapes

    x, y = data_shapes.make((1, 8, 8), samples=16)
    np.savez(path, x=x, y=y)
    return x, y


def export(run, spec, to: str, path, sizes: dict[str, int] | None = None) -> None:
    sets = [arg for k, v in (sizes or {}).items() for arg in ("--set", f"{k}={v}")]
    result = run("export", str(spec), *sets, "--to", to, "-o", str(path))
    assert result.exit_code == 0, result.output


def train_file(to: str, path, data, samples: int, *args: str) -> subprocess.CompletedProcess:
    """The file's own entry point in a fresh process: one batch of every sample per epoch, no validation."""
    batch = ["--batch-size", str(samples)] if to == "torch" else ["--validation", "0"]
    return subprocess.run([sys.executable, str(path), str(data), *batch, *args], capture_output=True, text=True,
                          cwd=path.parent, env=ENV, timeout=600)


def losses(output: str) -> list[float]:
    """The per-epoch losses a file prints (torch: ``epoch 1/3: loss 1.234567``; numpy: ``epoch 1, loss 1.23457``)."""
    return [float(m) for m in re.findall(r"^epoch \d+\S*:? loss ([0-9.e+-]+)", output, re.MULTILINE)]


def initial_weights(to: str, path, data, samples: int) -> dict[str, torch.Tensor]:
    """The weights the file starts from: its entry point run for 0 epochs, saved with ``-o``."""
    out = path.parent / ("w0.pt" if to == "torch" else "w0.npz")
    proc = train_file(to, path, data, samples, "--epochs", "0", "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    if to == "torch":
        return torch.load(out, weights_only=True)
    with np.load(out) as saved:
        return {k: torch.from_numpy(saved[k]) for k in saved.files}


def archcalc_first_loss(to: str, model, weights, x: np.ndarray, y: np.ndarray) -> float:
    """The loss of archcalc's own training step (the backend the file was exported for) on every sample at once,
    from ``weights``: torch's ``Steps`` on ``archcalc.to_torch``, or the NumPy trainer's loss and step."""
    train = model.spec.train
    if to == "torch":
        module = archcalc.to_torch(model)
        module.load_state_dict(weights)
        xs = torch.from_numpy(x).long() if torch_training.token_ids(model) else torch.from_numpy(x).float()
        steps = torch_training.Steps(module, train, xs, torch.from_numpy(y), batch_size=len(x),
                                     generator=torch.Generator())
        return steps.step(torch.arange(len(x)))[0]
    net = to_numpy(model)
    net.load_state_dict({k: v.numpy() for k, v in weights.items()})
    output = tuple(int(d) for d in model.output_shape)
    loss = per_position_loss(numpy_build.make_loss(train), y, dense_axes(train, output))
    steps = numpy_training.Steps(net, loss, numpy_build.make_optimizer(train, net.parameters()), x.astype(np.float32),
                                 loss.targets(y, output[-1], True), batch_size=len(x), rng=np.random.default_rng(0))
    return steps.step(np.arange(len(x)))[0]


def train_lm(run, write, tmp_path, to: str, final: str, loss: str):
    """The miniature language model ending in ``final`` exported ``to`` a file and trained by it for 3 epochs
    (the loss must fall): its printed losses, the data and the file's initial weights."""
    path, data = tmp_path / "model.py", tmp_path / "data.npz"
    export(run, write(LM % (final, loss)), to, path)
    x, y = lm_data(data, 40, 6, 5)
    proc = train_file(to, path, data, len(x), "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    values = losses(proc.stdout)
    assert len(values) == 3 and values[2] < values[0]
    return values, x, y, initial_weights(to, path, data, len(x))


@BOTH
@pytest.mark.parametrize("name", sorted(SHIPPED))
def test_the_exported_file_trains_a_class_per_position_as_archcalc_train_does(run, tmp_path, name, to):
    model = archcalc.load(str(SPECS / f"{name}.yaml"), **SHIPPED[name])
    path, data = tmp_path / "model.py", tmp_path / "data.npz"
    export(run, SPECS / f"{name}.yaml", to, path, SHIPPED[name])
    x, y = data_for(name, data)
    expected_axes = {"char-gpt": "{(8,): 1}", "unet-shapes": "{(8, 8): 0}"}[name]
    assert f"CLASS_AXES = {expected_axes}" in path.read_text()  # [3, 8] fits two axes of [3, 8, 8]: left out
    proc = train_file(to, path, data, len(x), "--epochs", "3")
    assert proc.returncode == 0, proc.stderr
    values = losses(proc.stdout)
    assert len(values) == 3 and values[2] < values[1] < values[0]
    first = archcalc_first_loss(to, model, initial_weights(to, path, data, len(x)), x, y)
    assert values[0] == pytest.approx(first, rel=1e-5)  # printed to 6 digits; float32 sums in another order


@BOTH_TORCH_SLOW
@pytest.mark.parametrize(("final", "loss", "folded"), [
    ("softmax: {dim: -1}", "", True),  # over V, the class axis of [T, V]: cross-entropy's own
    ("log_softmax: {dim: -1}", ", loss: nll", True),  # NLL of its output: cross-entropy of the logits
    ("softmax: {dim: 0}", "", False),  # over T: a modelling error that stays in, and trains without a crash
])
def test_a_final_softmax_over_the_class_axis_is_the_losss_own_in_the_file(run, write, tmp_path, to, final, loss,
                                                                         folded):
    values, x, y, weights = train_lm(run, write, tmp_path, to, final, loss)
    # the same weights in the network without its final layer give the logits
    logits_model = archcalc.to_torch(archcalc.loads(LM.replace("  - %s\n", "") % loss))
    logits_model.load_state_dict(weights)
    whole = archcalc.to_torch(archcalc.loads(LM % (final, loss)))
    whole.load_state_dict(weights)
    with torch.no_grad():
        ids = torch.from_numpy(x)
        scores = logits_model(ids) if folded else whole(ids)
        expected = F.cross_entropy(scores.movedim(2, 1), torch.from_numpy(y)).item()
        probabilities = F.cross_entropy(whole(ids).movedim(2, 1), torch.from_numpy(y)).item()
    assert values[0] == pytest.approx(expected, rel=1e-5)
    # the two differ by far more than the tolerance (at initialisation by 0.014), so the check tells them apart
    assert (abs(values[0] - probabilities) > 1e-3) is (folded and final.startswith("softmax"))
    model = archcalc.loads(LM % (final, loss))
    assert archcalc_first_loss(to, model, weights, x, y) == pytest.approx(expected, rel=1e-5)


@BOTH_TORCH_SLOW
def test_targets_that_fit_no_class_axis_are_refused_by_the_file(run, write, tmp_path, to):
    path, data = tmp_path / "model.py", tmp_path / "data.npz"
    export(run, write(LM % ("softmax: {dim: -1}", "")), to, path)
    np.savez(data, x=np.zeros((8, 6)), y=np.zeros((8, 7)))
    proc = train_file(to, path, data, 8, "--epochs", "1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "y holds targets of shape [7] per sample; a class index per position needs one of [[5], [6]] (the output " \
           "[6, 5] without its class axis" in proc.stderr


def test_files_of_one_class_per_sample_have_no_class_axes(tmp_path):
    """A classifier of [N, C] outputs keeps its file as it was: no table, no moved axis."""
    from archcalc.backends.numpy.source import render
    from archcalc.backends.torch.source import emit

    model = archcalc.loads("input: [4]\nlayers: [linear: 3, softmax]\ntrain: {classes: 3}\n")
    for text in (render(model), emit(model)):
        assert "CLASS_AXES" not in text and "movedim" not in text
    assert "out = net(xb, logits=True)" in emit(model)


@pytest.mark.parametrize("final", ["softmax: {dim: -1}", "softmax: {dim: 0}"])
def test_archcalcs_loss_of_a_generated_module_is_the_runtimes(tmp_path, final):
    """``build_loss`` on the exported module (``forward(x, logits=True)``, its final softmax found as its last
    layer) gives the runtime module's loss, folded over the class axis and not over T."""
    from archcalc.backends.torch.source import emit
    from tests.torch_helpers import import_file

    model = archcalc.loads(LM % (final, ""))
    (tmp_path / "lm.py").write_text(emit(model), encoding="utf-8")
    generated = import_file(tmp_path / "lm.py").build_model()
    runtime = archcalc.to_torch(model)
    runtime.load_state_dict(generated.state_dict())
    x = torch.from_numpy(np.random.default_rng(0).integers(0, 5, (7, 6)))
    y = (x + 1) % 5
    ours, theirs = torch_training.build_loss(model.spec.train, generated), torch_training.build_loss(
        model.spec.train, runtime)
    assert ours.dropped == "logits" and type(ours.final) is torch.nn.Softmax
    torch.testing.assert_close(ours(x, y), theirs(x, y), rtol=0, atol=0)
    logits = generated(x, logits=True)
    expected = F.cross_entropy((logits if final.endswith("-1}") else logits.softmax(1)).movedim(2, 1), y)
    torch.testing.assert_close(ours(x, y), expected, rtol=0, atol=1e-7)


@BOTH_TORCH_SLOW
def test_cross_entropy_of_probabilities_is_archcalcs_in_the_file(run, write, tmp_path, to):
    """``loss: {cross_entropy: {inputs: probabilities}}`` after a softmax over V: −log p[t] averaged over every
    position (the log clamped at −100), as archcalc's own loss, not log-softmax of the probabilities."""
    loss = ", loss: {cross_entropy: {inputs: probabilities}}"
    values, x, y, weights = train_lm(run, write, tmp_path, to, "softmax: {dim: -1}", loss)
    whole = archcalc.to_torch(archcalc.loads(LM % ("softmax: {dim: -1}", loss)))
    whole.load_state_dict(weights)
    with torch.no_grad():
        p = whole(torch.from_numpy(x))
        expected = -p.gather(2, torch.from_numpy(y)[..., None]).log().mean().item()
    assert values[0] == pytest.approx(expected, rel=1e-5)
    model = archcalc.loads(LM % ("softmax: {dim: -1}", loss))
    assert archcalc_first_loss(to, model, weights, x, y) == pytest.approx(expected, rel=1e-5)
