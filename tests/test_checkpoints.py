"""``archcalc train --checkpoint-dir/--resume``: runs killed with SIGKILL (between steps, and halfway
through writing a checkpoint) resume to bit-identical weights and metrics on both backends;
damaged and mismatched checkpoints are refused with located errors before anything is loaded."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from archcalc.training.checkpoint import Every, encode, pack, read, unpack
from tests.conftest import ROOT

pytestmark = pytest.mark.usefixtures("one_thread")
BOTH = pytest.mark.parametrize("backend", ["numpy", "torch"])

#: batch norm (buffers), dropout (random masks), Adam (optimizer state), L1, early stopping (best weights), a
#: learning-rate schedule that changes every epoch: everything a resumed run must get back. 84 training
#: samples in batches of 8: 11 steps an epoch
TINY = """name: tiny
input: [8]
layers: [linear: 16, batchnorm1d, relu, dropout: 0.25, linear: 3]
train: {classes: 3, optimizer: {adam: {lr: 0.02}}, batch_size: 8, epochs: 6, l1: 0.001,
        early_stopping: {patience: 3}, scheduler: {exponential: {gamma: 0.8, warmup_epochs: 1}}}
"""
STEPS_PER_EPOCH = 11

#: ``python -c KILLER MODE AT archcalc-args…``: the real command, killed with SIGKILL after its AT-th
#: optimizer step (MODE ``step``) or halfway through writing its AT-th checkpoint (MODE ``write``)
KILLER = """
import os, signal, sys
from archcalc import files
from archcalc.training import checkpoint
mode, at, args = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
count = 0

def die():
    os.kill(os.getpid(), signal.SIGKILL)

if mode == "step":
    if "torch" in args:
        from archcalc.backends.torch.training import Steps
    else:
        from archcalc.backends.numpy.training import Steps
    real_step = Steps.step

    def step(self, index):
        global count
        result = real_step(self, index)
        count += 1
        if count == at:
            die()
        return result

    Steps.step = step
else:
    real_write, real_fdopen = checkpoint.write_atomic, os.fdopen

    def write(path, data, **kwargs):
        global count
        count += 1
        if count == at:
            def fdopen(fd, mode):  # the temporary file gets half the bytes, then the process dies
                f = real_fdopen(fd, mode)
                f.write(data[:len(data) // 2])
                f.flush()
                die()
            files.os.fdopen = fdopen
        return real_write(path, data, **kwargs)

    checkpoint.write_atomic = write
from archcalc.cli import main
main(args)
"""


@pytest.fixture
def tiny(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 8))
    y = (x[:, 0] > 0).astype(int) + (x[:, 1] > 0.5) * (rng.random(120) > 0.2)  # a little noise: early stopping
    np.savez(tmp_path / "tiny.npz", x=x, y=y)
    (tmp_path / "tiny.yaml").write_text(TINY)
    return tmp_path / "tiny.yaml", tmp_path / "tiny.npz"


def train_json(run, *args: object) -> dict:
    result = run("train", *map(str, args), "--format", "json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def killed(mode: str, at: int, *args: object) -> subprocess.CompletedProcess:
    env = {**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    return subprocess.run([sys.executable, "-c", KILLER, mode, str(at), "train", *map(str, args), "--format", "json"],
                          capture_output=True, text=True, cwd=ROOT, env=env)


def same_run(a: dict, b: dict) -> None:
    """Equal in every figure but the time and the files named."""
    skip = {"seconds", "weights", "checkpoint", "resumed_from"}
    assert {k: v for k, v in a.items() if k not in skip} == {k: v for k, v in b.items() if k not in skip}


def same_weights(a, b) -> None:
    with np.load(a) as x, np.load(b) as y:
        assert x.files == y.files
        for key in x.files:
            assert x[key].dtype == y[key].dtype and np.array_equal(x[key], y[key]), key  # bit for bit


@pytest.mark.parametrize("backend", ["numpy", pytest.param("torch", marks=pytest.mark.slow)])  # torch: 5 imports
def test_a_killed_run_resumes_to_the_same_weights_and_metrics(backend, tiny, tmp_path, run):
    """SIGKILL at random steps (checkpoints every 4 steps, or every epoch), and halfway through writing
    a checkpoint; each run resumed once or twice, then compared with the run that was never killed."""
    spec, data = tiny
    args = [spec, "--data", data, "--backend", backend]
    full = train_json(run, *args, "-o", tmp_path / "full.npz")
    steps = full["epochs_run"] * STEPS_PER_EPOCH
    assert full["stopped_early"] or full["epochs_run"] == 6
    pick = random.Random(f"kill-{backend}")
    cases = [(("step", pick.randrange(2, steps)),), (("step", pick.randrange(2, steps - 1)), ("step", 1)),
             (("write", 3),), (("step", pick.randrange(STEPS_PER_EPOCH + 1, steps)),)]
    for number, kills in enumerate(cases):
        every = "1epoch" if number == 3 else "4steps"
        folder = tmp_path / f"run{number}"
        for mode, at in kills:
            resume = ["--resume"] if folder.exists() else []
            proc = killed(mode, at, *args, "--checkpoint-dir", folder, "--every", every, *resume)
            assert proc.returncode == -signal.SIGKILL, proc.stderr
        if kills[0][0] == "write":  # the third write died: the two before it are whole, the half file is ignored
            names = sorted(os.listdir(folder))
            assert [n for n in names if n.endswith(".npz")] == ["step-000000004.npz", "step-000000008.npz"]
            assert any(n.endswith(".tmp") for n in names)
            assert read(str(folder / "step-000000008.npz")).meta["loop"]["steps"] == 8
        resumed = train_json(run, *args, "--checkpoint-dir", folder, "--every", every, "--resume",
                             "-o", tmp_path / f"run{number}.npz")
        same_run(full, resumed)
        same_weights(tmp_path / "full.npz", tmp_path / f"run{number}.npz")
        assert resumed["resumed_from"] and resumed["checkpoint"] == str(folder / f"step-{steps:09d}.npz")
        assert not any(n.endswith(".tmp") for n in os.listdir(folder))


@BOTH
@pytest.mark.parametrize("optimizer", ["adam: {lr: 0.02}", "adadelta: {rho: 0.95}", "adamax: {lr: 0.02}",
                                       "nadam: {lr: 0.02, decoupled_weight_decay: true}", "radam: {lr: 0.02}"])
def test_a_finished_run_resumed_with_more_epochs_is_the_longer_run(tiny, tmp_path, run, backend, optimizer):
    """Every optimizer's state comes back whole: steps, moments, Adamax's infinity norm, NAdam's float32
    momentum product, RAdam past its rectification threshold (the 33 steps of 3 epochs)."""
    spec, data = tiny
    spec.write_text(TINY.replace("early_stopping: {patience: 3}", "early_stopping: {patience: 30}")
                    .replace("adam: {lr: 0.02}", optimizer).replace("l1: 0.001,", "l1: 0.001, weight_decay: 0.01,"))
    args = [spec, "--data", data, "--backend", backend]
    longer = train_json(run, *args, "--epochs", 5, "-o", tmp_path / "longer.npz")
    train_json(run, *args, "--epochs", 3, "--checkpoint-dir", tmp_path / "ck")
    resumed = train_json(run, *args, "--epochs", 5, "--checkpoint-dir", tmp_path / "ck", "--resume",
                         "-o", tmp_path / "resumed.npz")
    same_run(longer, resumed)
    same_weights(tmp_path / "longer.npz", tmp_path / "resumed.npz")
    again = train_json(run, *args, "--checkpoint-dir", tmp_path / "ck", "--resume")  # epochs: the run's own (5)
    same_run(longer, again)


#: a plateau schedule (its state, the best number and the counters, is what a checkpoint must give back) in place
#: of TINY's exponential one
PLATEAU = ("scheduler: {exponential: {gamma: 0.8, warmup_epochs: 1}}",
           "scheduler: {plateau: {patience: 0, cooldown: 1, factor: 0.5, threshold: 0.1, threshold_mode: abs}}")


@BOTH
def test_a_plateau_run_resumes_with_its_state_at_an_epochs_end_and_in_its_middle(tiny, tmp_path, run, backend):
    spec, data = tiny
    spec.write_text(TINY.replace("early_stopping: {patience: 3}", "early_stopping: {patience: 30}").replace(*PLATEAU))
    args = [spec, "--data", data, "--backend", backend]
    longer = train_json(run, *args, "--epochs", 5, "-o", tmp_path / "longer.npz")
    rates = [epoch["lr"] for epoch in longer["history"]]
    assert rates[3] == rates[2] / 2  # lowered at the end of epoch 3: a decision only the checkpoint's state holds
    train_json(run, *args, "--epochs", 3, "--checkpoint-dir", tmp_path / "ck")
    resumed = train_json(run, *args, "--epochs", 5, "--checkpoint-dir", tmp_path / "ck", "--resume",
                         "-o", tmp_path / "resumed.npz")
    same_run(longer, resumed)
    same_weights(tmp_path / "longer.npz", tmp_path / "resumed.npz")
    train_json(run, *args, "--epochs", 3, "--checkpoint-dir", tmp_path / "mid", "--every", "4steps")
    for later in ("step-000000032.npz", "step-000000033.npz"):
        os.unlink(tmp_path / "mid" / later)  # step 28: epoch 3, 6 of its 11 steps done, the state before its end
    resumed = train_json(run, *args, "--epochs", 5, "--checkpoint-dir", tmp_path / "mid", "--resume")
    same_run(longer, resumed)


#: a one-cycle schedule (stepped after every optimizer step, cycling Adam's beta1) in place of TINY's exponential one
ONECYCLE = ("scheduler: {exponential: {gamma: 0.8, warmup_epochs: 1}}",
            "scheduler: {onecycle: {max_lr: 0.05, three_phase: true, pct_start: 0.35}}")


@BOTH
def test_a_onecycle_run_resumes_in_the_middle_of_its_cycle_and_not_for_other_epochs(tiny, tmp_path, run, backend):
    """The cycle's step is the loop's step count, which the checkpoint keeps: a run resumed at step 17 (epoch 2, 6
    of its 11 steps done) takes up the cycle's rate and beta1 there; resumed for more epochs it would follow
    another cycle (its length is the run's steps), which is refused."""
    spec, data = tiny
    spec.write_text(TINY.replace("early_stopping: {patience: 3}", "early_stopping: {patience: 30}")
                    .replace(*ONECYCLE))
    args = [spec, "--data", data, "--backend", backend]
    full = train_json(run, *args, "--epochs", 3, "-o", tmp_path / "full.npz")
    assert len({epoch["lr"] for epoch in full["history"]}) == 3
    train_json(run, *args, "--epochs", 3, "--checkpoint-dir", tmp_path / "mid", "--every", "17steps")
    for later in ("step-000000033.npz",):
        os.unlink(tmp_path / "mid" / later)
    resumed = train_json(run, *args, "--checkpoint-dir", tmp_path / "mid", "--resume", "-o", tmp_path / "res.npz")
    assert resumed["resumed_from"] == str(tmp_path / "mid" / "step-000000017.npz")
    same_run(full, resumed)
    same_weights(tmp_path / "full.npz", tmp_path / "res.npz")
    result = run("train", *map(str, args), "--epochs", "5", "--checkpoint-dir", tmp_path / "mid", "--resume")
    assert result.exit_code == 2 and result.stderr == (  # the finished run's checkpoint, written by the resumed run
        f"{tmp_path / 'mid' / 'step-000000033.npz'}:1:1: error: cannot be resumed for 5 epochs: its onecycle "
        "schedule's cycle spans the run's 3 epochs, and the steps taken followed that cycle\n"
        "  hint: resume without --epochs (or with --epochs 3); a longer cycle is a new run (--force)\n")


def test_a_checkpoint_without_the_plateaus_state_is_refused(tiny, tmp_path, run):
    spec, data = tiny
    spec.write_text(TINY.replace(*PLATEAU))
    train_json(run, spec, "--data", data, "--epochs", 2, "--checkpoint-dir", tmp_path / "ck")
    newest = tmp_path / "ck" / "step-000000022.npz"
    saved = read(str(newest))
    assert saved.meta["backend"]["scheduler"]["last_epoch"] == 2
    for state, says in (({**saved.meta["backend"]["scheduler"], "num_bad_epochs": -1}, "it holds no state of the "
                         "plateau schedule (its rate, best number and counters)"),
                        ({**saved.meta["backend"]["scheduler"], "last_epoch": 1}, "its plateau schedule has seen 1 "
                         "epochs, but the run is in epoch 3")):
        meta = {**saved.meta, "backend": {**saved.meta["backend"], "scheduler": state}}
        newest.write_bytes(encode(meta, saved.arrays))
        error = refused(run, [spec, "--data", data, "--checkpoint-dir", tmp_path / "ck", "--resume"], tmp_path)
        assert f"{newest}:1:1: error: cannot be resumed: {says}\n" in error


def test_resume_takes_the_runs_seed_and_epochs(tiny, tmp_path, run):
    spec, data = tiny
    first = train_json(run, spec, "--data", data, "--seed", 7, "--epochs", 2, "--checkpoint-dir", tmp_path / "ck")
    again = train_json(run, spec, "--data", data, "--checkpoint-dir", tmp_path / "ck", "--resume")
    assert again["seed"] == 7 and again["epochs_run"] == 2
    same_run(first, again)


# -- what the folder and the files hold ------------------------------------------------------------------------


@BOTH
def test_the_run_ends_with_its_last_state_when_its_last_step_was_due_a_checkpoint(backend, tiny, tmp_path, run):
    """22 steps every 11: the checkpoint of step 22, written before the last epoch's validation, is written
    again at the end, so the folder ends with the finished run (a resume then has nothing to redo)."""
    spec, data = tiny
    result = train_json(run, spec, "--data", data, "--backend", backend, "--epochs", 2, "--checkpoint-dir",
                        tmp_path / "ck", "--every", "11steps")
    assert result["checkpoint"] == str(tmp_path / "ck" / "step-000000022.npz")
    with np.load(result["checkpoint"], allow_pickle=False) as npz:
        meta = json.loads(npz["__checkpoint__"].tobytes())
    assert meta["loop"]["ended"] == "done" and [r["epoch"] for r in meta["loop"]["history"]] == [1, 2]


@BOTH
def test_a_checkpoint_holds_the_whole_state_and_no_pickle(backend, tiny, tmp_path, run):
    spec, data = tiny
    result = train_json(run, spec, "--data", data, "--backend", backend, "--epochs", 2, "--checkpoint-dir",
                        tmp_path / "ck", "--every", "5steps", "--keep", 2)
    assert sorted(os.listdir(tmp_path / "ck")) == ["step-000000020.npz", "step-000000022.npz"]  # the newest 2
    assert result["checkpoint"] == str(tmp_path / "ck" / "step-000000022.npz")
    with np.load(result["checkpoint"], allow_pickle=False) as npz:  # plain arrays only
        files = set(npz.files)
        meta = json.loads(npz["__checkpoint__"].tobytes())
    assert {"model/0.weight", "model/1.running_mean", "model/1.num_batches_tracked"} <= files
    assert any(f.startswith("best/") for f in files) and any(f.startswith("optimizer/") for f in files)
    assert meta["format"] == 1 and meta["run"]["backend"] == backend and meta["run"]["seed"] == 0
    assert meta["loop"]["steps"] == 22 and meta["loop"]["epoch"] == 3 and meta["loop"]["ended"] == "done"
    assert [r["epoch"] for r in meta["loop"]["history"]] == [1, 2]
    assert set(meta["backend"]) == {"optimizer", "scheduler", "rng"}
    with zipfile.ZipFile(result["checkpoint"]) as archive:
        assert all(info.compress_type == zipfile.ZIP_STORED for info in archive.infolist())
    saved = read(result["checkpoint"])
    generators = unpack(saved.meta["backend"]["rng"], saved.arrays, lambda tag, a: (tag, a))[0]
    assert {"numpy", "python"} <= set(generators) and ({"torch", "order"} if backend == "torch" else {"run"}) <= \
        set(generators)


def test_mid_epoch_checkpoints_hold_the_epochs_batches(tiny, tmp_path, run):
    spec, data = tiny
    train_json(run, spec, "--data", data, "--epochs", 1, "--checkpoint-dir", tmp_path / "ck", "--every", "3steps")
    saved = read(str(tmp_path / "ck" / "step-000000009.npz"))
    assert saved.meta["loop"]["batch"] == 9 and saved.meta["loop"]["epoch"] == 1
    assert sorted(saved.arrays["order/indices"].tolist()) == list(range(84))
    assert saved.arrays["order/sizes"].tolist() == [8] * 10 + [4]


def test_pack_and_unpack_keep_types():
    value = {0: {"step": 3, "buf": np.arange(3.0), "none": None}, "t": (1, [2.5, "x"]), "big": 2**100}
    arrays: dict = {}
    packed = pack(value, arrays, "p")
    text = json.dumps(packed)
    back = unpack(json.loads(text), arrays)
    assert back.keys() == value.keys() and back["t"] == (1, [2.5, "x"]) and back["big"] == 2**100
    assert np.array_equal(back[0]["buf"], value[0]["buf"]) and back[0]["none"] is None


def test_every_reads_epochs_and_steps():
    assert Every.parse("3") == Every(3, "epochs") == Every.parse("3epochs") == Every.parse("3 epochs")
    assert Every.parse("500steps") == Every(500, "steps") == Every.parse("500 STEP")
    for bad in ("0", "x", "5 weeks", "-1steps", ""):
        with pytest.raises(ValueError, match=r"e\.g\. 1epoch"):
            Every.parse(bad)


# -- refusals --------------------------------------------------------------------------------------------------


@pytest.fixture
def saved_run(tiny, tmp_path, run):
    """A folder holding a numpy run's checkpoints (2 epochs), and the arguments that resume it."""
    spec, data = tiny
    train_json(run, spec, "--data", data, "--epochs", 2, "--checkpoint-dir", tmp_path / "ck")
    return tmp_path / "ck", [spec, "--data", data, "--checkpoint-dir", tmp_path / "ck", "--resume"]


def refused(run, args, tmp_path) -> str:
    """Resume with ``args``: exit 2, a located error, no weights written, the checkpoints untouched."""
    before = {p.name: p.read_bytes() for p in (tmp_path / "ck").iterdir()}
    result = run("train", *map(str, args), "-o", tmp_path / "w.npz")
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.stderr and not (tmp_path / "w.npz").exists()
    assert {p.name: p.read_bytes() for p in (tmp_path / "ck").iterdir()} == before
    return result.stderr


def test_a_truncated_checkpoint_is_refused(saved_run, tmp_path, run):
    folder, args = saved_run
    newest = folder / "step-000000022.npz"
    newest.write_bytes(newest.read_bytes()[:-5000])
    error = refused(run, args, tmp_path)
    assert f"{newest}:1:1: error: is not a readable checkpoint" in error
    assert "delete it to resume from the one before it" in error


def test_a_checkpoint_with_a_changed_byte_is_refused(saved_run, tmp_path, run):
    folder, args = saved_run
    newest = folder / "step-000000022.npz"
    data = bytearray(newest.read_bytes())
    with zipfile.ZipFile(newest) as archive:
        info = archive.getinfo("model/0.weight.npy")
    local = info.header_offset  # the member's local header: 30 bytes, its name, its extra field, then the data
    start = local + 30 + int.from_bytes(data[local + 26:local + 28], "little") + \
        int.from_bytes(data[local + 28:local + 30], "little")
    data[start + info.file_size - 1] ^= 1  # the last byte of the weights
    newest.write_bytes(bytes(data))
    assert f"{newest}:1:1: error: is not a readable checkpoint" in refused(run, args, tmp_path)


def test_files_that_are_not_checkpoints_are_refused(saved_run, tmp_path, run):
    folder, args = saved_run
    newest = folder / "step-000000022.npz"
    newest.write_bytes(b"not a zip")
    assert "is not a readable checkpoint: it is not a zip archive of arrays" in refused(run, args, tmp_path)
    np.savez(newest, x=np.zeros(3))
    assert "it has no __checkpoint__ member" in refused(run, args, tmp_path)
    np.savez(newest, __checkpoint__=np.array([{"format": 1}], dtype=object))  # a pickle inside
    assert "is not a readable checkpoint" in refused(run, args, tmp_path)


@pytest.mark.parametrize("change, says", [
    (("linear: 16", "linear: 17"), "the network differs at `0`: it was 0 linear {out: 16, bias: true, in: null, "
                                   "transposed: false, tie: null} [8] → [16], the spec now has 0 linear {out: 17,"),
    # a frozen layer (trainable: false) is out of the optimizer, whose state the checkpoint holds
    (("[linear: 16,", "[{linear: 16, trainable: false},"),
     "the network differs at `0`: it was 0 linear {out: 16, bias: true, in: null, transposed: false, tie: null} "
     "[8] → [16], the spec now has 0 linear {out: 16, bias: true, in: null, transposed: false, tie: null} [8] → "
     "[16] frozen"),
    (("adam: {lr: 0.02}", "sgd: {lr: 0.02}"), "the train: section's optimizer was adam {lr: 0.02, betas: [0.9, "
                                              "0.999], eps: 1e-08, amsgrad: false} and is now sgd {lr: 0.02"),
    (("batch_size: 8", "batch_size: 9"), "the train: section's batch_size was 8 and is now 9"),
    (("gamma: 0.8", "gamma: 0.9"), "the train: section's scheduler was exponential {gamma: 0.8, warmup_epochs: 1, "
                                   "warmup_start_factor: 0.3333333333333333} and is now exponential {gamma: 0.9,"),
    (("batch_size: 8", "batch_size: 8, clip_grad_norm: 1.0"),
     "the train: section's clip_grad_norm was not set and is now 1.0"),
    ((", scheduler: {exponential: {gamma: 0.8, warmup_epochs: 1}}", ""),
     "the train: section's scheduler was exponential {gamma: 0.8, warmup_epochs: 1, warmup_start_factor: "
     "0.3333333333333333} and is now not set"),
])
def test_a_checkpoint_of_another_spec_is_refused(saved_run, tmp_path, run, tiny, change, says):
    spec, _ = tiny
    spec.write_text(TINY.replace(*change))
    error = refused(run, saved_run[1], tmp_path)
    assert f"{saved_run[0] / 'step-000000022.npz'}:1:1: error: belongs to another run: {says}" in error
    assert "start over with --force" in error


@pytest.mark.parametrize("option, says", [
    (["--seed", "3"], "it was written by a run with seed 0, this one has seed 3"),
    (["--backend", "torch"], "it was written by the numpy backend, not torch"),
])
def test_a_checkpoint_of_another_run_is_refused(saved_run, tmp_path, run, option, says):
    error = refused(run, [*saved_run[1], *option], tmp_path)
    assert f"belongs to another run: {says}" in error


def test_other_data_is_refused(saved_run, tmp_path, run):
    np.savez(tmp_path / "other.npz", x=np.ones((120, 8)), y=np.zeros(120, dtype=int))
    args = saved_run[1]
    args[args.index("--data") + 1] = tmp_path / "other.npz"
    assert "it was trained on other data" in refused(run, args, tmp_path)


def test_a_folder_with_checkpoints_needs_resume_or_force(saved_run, tmp_path, run, tiny):
    folder, args = saved_run
    fresh = args[:-1]  # without --resume
    result = run("train", *map(str, fresh))
    assert result.exit_code == 2
    assert f"{folder}:1:1: error: holds the checkpoints of an earlier run (the newest is step-000000022.npz)" \
        in result.stderr and "--resume" in result.stderr and "--force" in result.stderr
    assert train_json(run, *fresh, "--epochs", 1, "--force")["checkpoint"] == str(folder / "step-000000011.npz")
    assert sorted(os.listdir(folder)) == ["step-000000011.npz"]  # the earlier run's are gone


def test_resume_in_an_empty_folder_starts_the_run(tiny, tmp_path, run):
    spec, data = tiny
    result = run("train", spec, "--data", data, "--epochs", 1, "--checkpoint-dir", tmp_path / "new", "--resume")
    assert result.exit_code == 0, result.output
    assert "holds no checkpoint yet; starting the run" in result.stderr
    assert os.listdir(tmp_path / "new") == ["step-000000011.npz"]


@pytest.mark.parametrize("args, says", [
    (["--every", "2"], "--every needs --checkpoint-dir DIR"),
    (["--resume"], "--resume needs --checkpoint-dir DIR"),
    (["--keep", "2"], "--keep needs --checkpoint-dir DIR"),
    (["--checkpoint-dir", "ck", "--every", "2 weeks"], "Invalid value for '--every': '2 weeks': give a whole number"),
    (["--nproc", "2"], "--nproc 2 needs --backend torch"),
    (["--precision", "bf16"], "--precision bf16 needs --backend torch"),
    (["--device", "cuda"], "--device cuda needs --backend torch"),
])
def test_option_errors(tiny, run, args, says):
    result = run("train", tiny[0], *args)
    assert result.exit_code == 2 and says in result.stderr


def test_a_checkpoint_dir_that_is_a_file_is_refused(tiny, tmp_path, run):
    (tmp_path / "file").write_text("x")
    result = run("train", tiny[0], "--checkpoint-dir", tmp_path / "file")
    assert result.exit_code == 2 and f"{tmp_path / 'file'}:1:1: error: is not a folder" in result.stderr


def test_a_run_refused_before_training_creates_no_folder(tiny, tmp_path, run):
    result = run("train", tiny[0], "--data", tmp_path / "missing.npz", "--checkpoint-dir", tmp_path / "a" / "b")
    assert result.exit_code == 2 and "no such file" in result.stderr
    assert not (tmp_path / "a").exists()
    (tmp_path / "file").write_text("x")
    result = run("train", tiny[0], "--checkpoint-dir", tmp_path / "file" / "ck")
    assert result.exit_code == 2 and f"{tmp_path / 'file' / 'ck'}:1:1: error: cannot be created" in result.stderr


@BOTH
def test_a_well_formed_checkpoint_that_does_not_fit_is_refused_before_loading(backend, tiny, tmp_path, run):
    """A file with a valid digest (anyone can compute one) whose batches point past the data, or whose
    optimizer state has the wrong shapes: refused whole, with a located error."""
    from archcalc.training.checkpoint import encode

    spec, data = tiny
    train_json(run, spec, "--data", data, "--backend", backend, "--epochs", 1, "--checkpoint-dir", tmp_path / "ck",
               "--every", "5steps")
    path = tmp_path / "ck" / "step-000000011.npz"
    path.unlink()  # resume from step 10, in the middle of the epoch
    newest = tmp_path / "ck" / "step-000000010.npz"
    original = read(str(newest))
    args = [spec, "--data", data, "--backend", backend, "--checkpoint-dir", tmp_path / "ck", "--resume"]
    for key, change in (("order/indices", lambda a: np.where(a == a.max(), 10**6, a)),
                        (next(k for k in original.arrays if k.startswith("optimizer/") and original.arrays[k].ndim),
                         lambda a: np.zeros((*a.shape[:-1], a.shape[-1] + 1), a.dtype))):
        arrays = {**original.arrays, key: change(original.arrays[key])}
        newest.write_bytes(encode(original.meta, arrays))
        error = refused(run, args, tmp_path)
        assert f"{newest}:1:1: error: cannot be resumed: " in error
        assert "not batches of the 84 training samples" in error or "optimizer's state does not fit" in error


def test_outputs_that_clash_with_the_checkpoints_or_the_data_are_refused_before_training(tiny, tmp_path, run):
    spec, data = tiny
    before = data.read_bytes()
    clash = run("train", spec, "--data", data, "-o", tmp_path / "ck.npz", "--checkpoint-dir", tmp_path / "ck.npz")
    assert clash.exit_code == 2 and "-o and --checkpoint-dir name the same path" in clash.stderr
    assert not (tmp_path / "ck.npz").exists()
    over = run("train", spec, "--data", data, "-o", data, "--force")
    assert over.exit_code == 2 and "-o names the --data file, which it would overwrite" in over.stderr
    assert data.read_bytes() == before
