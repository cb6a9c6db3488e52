"""``archcalc train --backend torch`` across processes (``--nproc``, torchrun, gloo on the CPU), on a
device, in bfloat16, and its progress line: two processes give the single-process run's weights and
metrics to float32 rounding, resume the same way, and what the machine lacks is a clear error."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import torch

from tests.test_checkpoints import same_weights, train_json

pytestmark = pytest.mark.usefixtures("one_thread")

#: no batch norm and no dropout: those differ between processes by design (docs/training.md)
SMALL = """name: small
input: [8]
layers: [linear: 16, tanh, linear: 3]
train: {classes: 3, optimizer: {adam: {lr: 0.02}}, batch_size: 8, epochs: 3, l1: 0.001}
"""
#: how far two processes may drift from one: float32 sums in another order (measured: 1.2e-7)
TOLERANCE = 1e-5


@pytest.fixture
def small(tmp_path):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(130, 8))  # 90 training samples: batches of 8 and a last one of 2, one per process
    np.savez(tmp_path / "small.npz", x=x, y=(x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5))
    (tmp_path / "small.yaml").write_text(SMALL)
    return [tmp_path / "small.yaml", "--data", tmp_path / "small.npz", "--backend", "torch"]


def close_runs(a: dict, b: dict, tolerance: float) -> None:
    for key in ("epochs_run", "best_epoch", "stopped_early", "samples", "seed"):
        assert a[key] == b[key], key
    for x, y in zip(a["history"], b["history"]):
        for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
            assert x[key] == pytest.approx(y[key], abs=tolerance), key
    assert a["test_loss"] == pytest.approx(b["test_loss"], abs=tolerance)
    assert a["test_accuracy"] == pytest.approx(b["test_accuracy"], abs=0.06)  # 18 samples: one may flip


def worst(a, b) -> float:
    with np.load(a) as x, np.load(b) as y:
        assert x.files == y.files
        return max(float(np.abs(x[k].astype(np.float64) - y[k]).max()) for k in x.files)


@pytest.mark.slow  # three torchrun launches, each starting two processes that import torch
def test_two_processes_train_what_one_does_and_resume_alike(small, tmp_path, run):
    one = train_json(run, *small, "-o", tmp_path / "one.npz")
    two = train_json(run, *small, "--nproc", 2, "-o", tmp_path / "two.npz")
    assert two["processes"] == 2 and one["processes"] == 1
    close_runs(one, two, TOLERANCE)
    assert worst(tmp_path / "one.npz", tmp_path / "two.npz") < TOLERANCE

    # killed after epoch 2 in effect: resumed in two processes, the same run bit for bit
    first = train_json(run, *small, "--nproc", 2, "--epochs", 2, "--checkpoint-dir", tmp_path / "ck")
    assert sorted(p.name for p in (tmp_path / "ck").iterdir()) == ["step-000000012.npz", "step-000000024.npz"]
    assert first["checkpoint"] == str(tmp_path / "ck" / "step-000000024.npz")
    resumed = train_json(run, *small, "--nproc", 2, "--epochs", 3, "--checkpoint-dir", tmp_path / "ck", "--resume",
                         "-o", tmp_path / "resumed.npz")
    assert resumed["resumed_from"] == first["checkpoint"]
    assert {k: v for k, v in resumed.items() if k not in ("seconds", "weights", "checkpoint", "resumed_from")} == \
        {k: v for k, v in two.items() if k not in ("seconds", "weights", "checkpoint", "resumed_from")}
    same_weights(tmp_path / "two.npz", tmp_path / "resumed.npz")
    with np.load(first["checkpoint"]) as npz:  # every process's generators, from rank 0's file
        meta = json.loads(npz["__checkpoint__"].tobytes())
    assert meta["run"]["processes"] == 2 and len(meta["backend"]["rng"]["list"]) == 2


def test_one_process_checkpoints_refuse_two(small, tmp_path, run):
    train_json(run, *small, "--epochs", 1, "--checkpoint-dir", tmp_path / "ck")
    result = run("train", *map(str, small), "--nproc", "2", "--checkpoint-dir", tmp_path / "ck", "--resume")
    assert result.exit_code == 2
    assert "belongs to another run: it was written by 1 process, this run has 2" in result.stderr
    assert "resume with --nproc 1" in result.stderr


@pytest.mark.parametrize("args, says", [
    (["--device", "cuda"], "error: --device cuda: this machine has no CUDA GPU that PyTorch can use"),
    (["--nproc", "2", "--device", "cuda"], "error: --device cuda: this machine has no CUDA GPU"),
    (["--nproc", "12"], "a step has 2 samples for 12 processes: each process needs one"),
    (["--nproc", "2", "-"], "--nproc needs the spec in a file"),
])
def test_what_the_machine_or_the_data_cannot_do_is_a_clear_error(small, run, args, says):
    if "cuda" in args and torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    spec = [*small]
    if "-" in args:
        spec[0], args = "-", [a for a in args if a != "-"]
    result = run("train", *map(str, spec), *args, input=SMALL)
    assert result.exit_code == 2 and says in result.stderr and "Traceback" not in result.stderr


def test_mps_where_there_is_none_is_a_clear_error(small, run):
    if torch.backends.mps.is_available():
        pytest.skip("this machine has an Apple GPU")
    result = run("train", *map(str, small), "--device", "mps")
    assert result.exit_code == 2
    assert "error: --device mps: Apple's Metal GPU is not available on this machine" in result.stderr


def test_bf16_trains_under_autocast_and_resumes_exactly(small, tmp_path, run):
    fp32 = train_json(run, *small)
    bf16 = train_json(run, *small, "--precision", "bf16", "-o", tmp_path / "bf16.npz")
    assert bf16["precision"] == "bf16" and bf16["history"][-1]["loss"] < bf16["history"][0]["loss"]
    assert bf16["history"] != fp32["history"]  # bfloat16 arithmetic, not float32
    assert bf16["test_loss"] == pytest.approx(fp32["test_loss"], abs=0.05)
    with np.load(tmp_path / "bf16.npz") as saved:
        assert saved["0.weight"].dtype == np.float32  # autocast: the weights stay float32
    train_json(run, *small, "--precision", "bf16", "--epochs", 2, "--checkpoint-dir", tmp_path / "ck")
    refused = run("train", *map(str, small), "--checkpoint-dir", tmp_path / "ck", "--resume")
    assert refused.exit_code == 2 and "it was trained in bf16, this run asks for fp32" in refused.stderr
    resumed = train_json(run, *small, "--precision", "bf16", "--epochs", 3, "--checkpoint-dir", tmp_path / "ck",
                         "--resume", "-o", tmp_path / "resumed.npz")
    assert resumed["history"] == bf16["history"] and resumed["test_loss"] == bf16["test_loss"]
    same_weights(tmp_path / "bf16.npz", tmp_path / "resumed.npz")


def test_the_progress_line_covers_the_run_with_steps_per_second_and_eta():
    from rich.console import Console

    from archcalc.training import Epoch
    from archcalc.training.progress import BarProgress

    screen = io.StringIO()
    with BarProgress(4, console=Console(file=screen, force_terminal=True, width=160)) as progress:
        for batch in (1, 2, 3, 4, 5):  # a run resumed in epoch 3 of 4, 5 batches an epoch
            progress.batch(3, batch, 5, 0.25, 0.5, 10 * batch)
        task = progress.bar.tasks[0]
        assert (task.total, task.completed) == (20, 15)  # one bar: the run's steps
        progress.epoch(Epoch(3, 0.25, 0.5, 0.3, 0.4, 0.01))
        progress.bar.refresh()
    drawn = screen.getvalue()
    assert "epoch 3/4" in drawn and "batch 5/5" in drawn and "steps/s" in drawn and "samples/s" in drawn
    assert "ETA 0:00:00" in drawn and "epoch   3  loss 0.2500" in drawn


@pytest.mark.slow  # starts torchrun and two processes that import torch, twice
@pytest.mark.parametrize("signal_name", ["SIGKILL", "SIGINT"])
def test_a_killed_or_interrupted_launcher_leaves_no_worker_training(small, tmp_path, signal_name):
    """The workers die with the command: after a SIGKILL nothing writes checkpoints or weights for a run
    nobody waits for (a resume then shares the folder with no one); a Ctrl-C prints 'interrupted', no
    torchrun traceback."""
    import os
    import signal
    import subprocess
    import sys
    import time

    spec, _, data, *_ = small
    spec.write_text(SMALL.replace("epochs: 3", "epochs: 400"))
    folder, weights = tmp_path / "ck", tmp_path / "w.npz"
    command = [sys.executable, "-m", "archcalc", "train", str(spec), "--data", str(data), "--backend", "torch",
               "--nproc", "2", "--checkpoint-dir", str(folder), "--every", "20steps", "-o", str(weights)]
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               env={**os.environ, "OMP_NUM_THREADS": "1"})
    deadline = time.monotonic() + 120
    while not (folder.is_dir() and any(folder.glob("step-*.npz"))) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert any(folder.glob("step-*.npz")), "the run wrote no checkpoint in 2 minutes"
    process.send_signal(getattr(signal, signal_name))
    stderr = process.communicate(timeout=60)[1]
    time.sleep(3)  # a worker that outlived the command would write its next checkpoint by now
    written = sorted(folder.glob("step-*.npz"))
    time.sleep(3)
    assert sorted(folder.glob("step-*.npz")) == written and not weights.exists()
    if signal_name == "SIGINT":
        assert process.returncode == 130 and stderr.strip().splitlines()[-1] == "interrupted"
        assert "Traceback" not in stderr


def test_the_folders_of_killed_launchers_are_swept_at_the_next_launch(tmp_path, monkeypatch):
    """A SIGKILLed launcher cannot delete its job folder; the next launch deletes the folders whose
    launcher no longer runs, and leaves a running launcher's alone."""
    import os
    import subprocess
    import sys
    import tempfile

    from archcalc.backends.torch import distributed

    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                              text=True, check=True)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = tmp_path / f"archcalc-train-{int(finished.stdout)}-abc"
    alive = tmp_path / f"archcalc-train-{os.getpid()}-def"
    other = tmp_path / "archcalc-train-notapid"
    for folder in (dead, alive, other):
        folder.mkdir()
        (folder / "job.json").write_text("{}")
    distributed.sweep_stale_folders()
    assert not dead.exists() and alive.exists() and other.exists()
