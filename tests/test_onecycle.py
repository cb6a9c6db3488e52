"""``train: scheduler: onecycle``: torch's OneCycleLR, stepped after every optimizer step over the run's epochs ×
batches per epoch. The NumPy schedule's rate and momentum are torch's at every step (exactly: the same float
arithmetic), the NumPy optimizers follow a cycled momentum or beta1 as torch's do, both trainers step on those
values through a last partial batch, the exported files schedule the same cycle, and what torch refuses (or
divides by zero on) is a located error. (cosine_restarts, a schedule of the epoch, is in tests/test_schedule.py.)"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import archcalc
from archcalc.backends.numpy import optim as numpy_optim
from archcalc.backends.numpy.source import render
from archcalc.backends.torch.source import emit
from archcalc.errors import SpecError
from archcalc.spec.train import BATCH_SCHEDULES, SCHEDULERS
from archcalc.training import lr_schedule
from archcalc.training.loop import batch_count
from archcalc.training.schedule import OneCycle
from tests.torch_helpers import import_file

pytestmark = pytest.mark.usefixtures("one_thread")
lr_scheduler = torch.optim.lr_scheduler
HEAD = "input: [4]\nlayers: [linear: 3]\n"

#: (total steps, settings): torch's defaults, three phases, linear annealing, a rise shorter than one step
#: (pct_start × steps below 1: the first step is already in the fall), a single step, a steep start
CYCLES = [
    (37, {}),
    (37, {"three_phase": True}),
    (40, {"anneal_strategy": "linear", "pct_start": 0.25}),
    (41, {"three_phase": True, "anneal_strategy": "linear", "pct_start": 0.45, "div_factor": 3.0,
          "final_div_factor": 50.0}),
    (5, {"pct_start": 0.1}),
    (1, {}),
    (12, {"base_momentum": 0.8, "max_momentum": 0.99, "cycle_momentum": True}),
]


def torch_cycle(total: int, optimizer: str = "sgd", max_lr: float = 0.5, **settings) -> list[tuple[float, float]]:
    """Each optimizer step's (rate, momentum or beta1) under torch's OneCycleLR, stepped after every step as its
    documentation says, and the pair it sets after the last."""
    params = [torch.nn.Parameter(torch.zeros(1))]
    made = torch.optim.SGD(params, lr=0.1) if optimizer == "sgd" else torch.optim.Adam(params)
    scheduler = lr_scheduler.OneCycleLR(made, max_lr=max_lr, total_steps=total, **settings)
    seen = []
    for _ in range(total + 1):
        group = made.param_groups[0]
        seen.append((group["lr"], group["momentum"] if optimizer == "sgd" else group["betas"][0]))
        made.step()
        if len(seen) <= total:
            scheduler.step()
    return seen


def test_the_schedules_stepped_per_batch_are_checked_here():
    assert set(BATCH_SCHEDULES) == {"onecycle"} <= set(SCHEDULERS)


@pytest.mark.parametrize(("total", "settings"), CYCLES)
@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_each_steps_rate_and_momentum_are_torchs_exactly(total, settings, optimizer):
    theirs = torch_cycle(total, optimizer, **settings)
    cycle = OneCycle(0.5, total, **settings)
    assert [(cycle(k), cycle.momentum(k)) for k in range(total + 1)] == theirs
    assert len({rate for rate, _ in theirs}) > min(total, 2)  # the rate moves


def test_a_schedule_without_cycled_momentum_leaves_it():
    assert OneCycle(0.5, 10, cycle_momentum=False).momentum(3) is None


@pytest.mark.parametrize("total, settings, step", [
    (10, {"pct_start": 0.1}, 0),  # pct_start × steps = 1: the rise is 0 steps long
    (4, {"pct_start": 0.25, "three_phase": True}, 0),
    (2, {"pct_start": 0.75, "three_phase": True}, 2),  # 2·pct·T − 2 = T − 1: the last phase is 0 steps long
])
def test_where_torch_divides_by_zero_the_schedule_refuses(total, settings, step):
    with pytest.raises(ZeroDivisionError):
        torch_cycle(total, **settings)
    with pytest.raises(ValueError, match=f"a phase of no steps at step {step} of {total}"):
        OneCycle(0.5, total, **settings)


#: each optimizer whose momentum (or beta1) a one-cycle schedule cycles, as torch.optim and as the NumPy backend
OPTIMIZERS = {
    "sgd": (lambda p: torch.optim.SGD(p, lr=0.1, weight_decay=0.01), lambda p: numpy_optim.SGD(p, 0.1,
                                                                                               weight_decay=0.01)),
    "sgd_nesterov": (lambda p: torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
                     lambda p: numpy_optim.SGD(p, 0.1, momentum=0.9, nesterov=True)),
    "rmsprop": (lambda p: torch.optim.RMSprop(p, lr=0.01), lambda p: numpy_optim.RMSprop(p, 0.01)),
    "adam": (lambda p: torch.optim.Adam(p, lr=0.01), lambda p: numpy_optim.Adam(p, 0.01)),
    "adamw": (lambda p: torch.optim.AdamW(p, lr=0.01), lambda p: numpy_optim.AdamW(p, 0.01, weight_decay=0.01)),
    "nadam": (lambda p: torch.optim.NAdam(p, lr=0.01), lambda p: numpy_optim.NAdam(p, 0.01)),
    "radam": (lambda p: torch.optim.RAdam(p, lr=0.01), lambda p: numpy_optim.RAdam(p, 0.01)),
    "adamax": (lambda p: torch.optim.Adamax(p, lr=0.01), lambda p: numpy_optim.Adamax(p, 0.01)),
}


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_the_numpy_optimizers_follow_the_cycled_momentum_as_torchs_do(name):
    """float64 weights, the same gradients, 30 steps of a three-phase cycle: the NumPy optimizer, given each step's
    rate and momentum by the loop's calls (Steps.set_lr, set_momentum), ends where torch's does under OneCycleLR."""
    from archcalc.backends.numpy.training import Steps

    rng = np.random.default_rng(1)
    start = [rng.normal(size=(3, 4)), rng.normal(size=4)]
    tensors = [torch.nn.Parameter(torch.tensor(p.copy())) for p in start]
    make_torch, make_numpy = OPTIMIZERS[name]
    theirs = make_torch(tensors)
    scheduler = lr_scheduler.OneCycleLR(theirs, max_lr=0.05, total_steps=30, three_phase=True)
    params = [p.copy() for p in start]
    steps = Steps(None, type("Loss", (), {"FUSES": None})(), make_numpy(params), None, None, batch_size=1, rng=rng)
    cycle = OneCycle(0.05, 30, three_phase=True)
    for k in range(30):
        grads = [rng.normal(size=p.shape) for p in params]
        steps.set_lr(cycle(k))
        steps.set_momentum(cycle.momentum(k))
        steps.optimizer.step(grads)
        for t, g in zip(tensors, grads):
            t.grad = torch.tensor(g)
        theirs.step()
        scheduler.step()
    assert max(float(np.abs(p - t.detach().numpy()).max()) for p, t in zip(params, tensors)) < 1e-12
    assert max(float(np.abs(p - p0).max()) for p, p0 in zip(params, start)) > 1e-3


@pytest.fixture
def data(tmp_path):
    """61 samples: 43 train after archcalc's split, in batches of 16 the last of 11 (a partial batch)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(61, 4)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(int) + (x[:, 1] > 0))
    return tmp_path / "d.npz"


def test_batch_count_is_the_number_of_batches_an_epoch_has():
    from archcalc.backends.numpy.training import batches

    for n in range(1, 70):
        for size in (1, 2, 3, 7, 16, 64, 100):
            assert batch_count(n, size) == len(batches(n, size)), (n, size)


@pytest.mark.parametrize("optimizer", ["sgd: {lr: 0.2}", "adam: {lr: 0.01, betas: [0.9, 0.99]}"])
@pytest.mark.parametrize("batch_size", [16, 21])  # a last batch of 11, and one of a single sample that joins the one
@pytest.mark.parametrize("backend", ["numpy", "torch"])  # before it (43 = 2 × 21 + 1: two batches)
def test_both_trainers_step_on_torchs_cycle_at_every_batch(tmp_path, data, backend, batch_size, optimizer):
    """archcalc's trainers, fed the split archcalc train makes: the rate and momentum (or beta1) each optimizer step
    runs with are torch's OneCycleLR's for epochs × batches per epoch steps, and an epoch's record holds the rate of
    its last step."""
    from archcalc.backends.numpy.trainer import NumpyTrainer
    from archcalc.backends.torch.trainer import TorchTrainer
    from archcalc.data import load_data, split
    from archcalc.training.progress import BarProgress

    spec = tmp_path / "s.yaml"
    spec.write_text(f"{HEAD}train: {{classes: 3, optimizer: {{{optimizer}}}, epochs: 3, batch_size: {batch_size}, "
                    "scheduler: {onecycle: {max_lr: 0.3, three_phase: true, pct_start: 0.4}}}\n")
    model = archcalc.load(str(spec))
    splits = split(load_data(str(data), model, model.spec.train), 0)
    per_epoch = batch_count(len(splits.train[0]), batch_size)
    assert (len(splits.train[0]), per_epoch) == (43, 3 if batch_size == 16 else 2)
    trainer = (NumpyTrainer if backend == "numpy" else TorchTrainer)(model, model.spec.train, 0)
    seen = []
    if backend == "numpy":
        from archcalc.backends.numpy.training import Steps

        def values(steps):
            return steps.optimizer.lr, getattr(steps.optimizer, "momentum", None) or steps.optimizer.betas[0]
    else:
        from archcalc.backends.torch.training import Steps

        def values(steps):
            group = steps.optimizer.param_groups[0]
            return group["lr"], group["momentum"] if "momentum" in group else group["betas"][0]
    real = Steps.step

    def step(self, index):
        seen.append(values(self))
        return real(self, index)

    Steps.step = step
    try:
        outcome = trainer.fit(splits, 3, BarProgress(3, quiet=True))
    finally:
        Steps.step = real
    sgd = optimizer.startswith("sgd")
    theirs = torch_cycle(3 * per_epoch, "sgd" if sgd else "adam", 0.3, three_phase=True, pct_start=0.4)
    reference = lr_schedule(model.spec.train, 3, per_epoch)
    assert seen == [(reference(k), reference.momentum(k)) for k in range(3 * per_epoch)] == theirs[:-1]
    assert [e.lr for e in outcome.epochs] == [seen[per_epoch * e - 1][0] for e in (1, 2, 3)]


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("scheduler", ["onecycle: {max_lr: 0.3, anneal_strategy: linear}",
                                       "cosine_restarts: {T_0: 2, T_mult: 2, eta_min: 0.001}"])
def test_archcalc_train_runs_each_schedule(tmp_path, data, run, backend, scheduler):
    spec = tmp_path / "s.yaml"
    spec.write_text(f"{HEAD}train: {{classes: 3, optimizer: {{sgd: {{lr: 0.2, momentum: 0.9}}}}, epochs: 5, "
                    f"batch_size: 16, scheduler: {{{scheduler}}}}}\n")
    result = run("train", spec, "--data", data, "--backend", backend, "--format", "json")
    assert result.exit_code == 0, result.output
    rates = [h["lr"] for h in json.loads(result.stdout)["history"]]
    schedule = lr_schedule(archcalc.load(str(spec)).spec.train, 5, 3)
    if scheduler.startswith("onecycle"):  # 3 batches an epoch: each epoch's record, its last step's rate
        assert rates == [schedule(3 * e - 1) for e in range(1, 6)]
    else:
        # cycles of 2 and 4 epochs: the third epoch restarts at lr
        assert rates == [schedule(e) for e in range(5)] == [0.2, schedule(1), 0.2, schedule(3), schedule(4)]
    assert len(set(rates)) >= 3


@pytest.mark.parametrize(("scheduler", "message", "at"), [
    ("{onecycle: {pct_start: 0.3}}", "the onecycle schedule needs max_lr", "{onecycle"),
    ("{onecycle: {max_lr: 0}}", "max_lr must be in (0, 3.40282e+38], got 0", "0}"),
    ("{onecycle: {max_lr: -0.1}}", "max_lr must be in (0, 3.40282e+38], got -0.1", "-0.1"),
    ("{onecycle: {max_lr: 1.0e+39}}", "max_lr must be in (0, 3.40282e+38], got 1e+39", "1.0e+39"),
    ("{onecycle: {max_lr: 0.1, pct_start: 0}}", "pct_start must be in (0, 1), got 0", "0}"),
    ("{onecycle: {max_lr: 0.1, pct_start: 1}}", "pct_start must be in (0, 1), got 1", "1}"),
    ("{onecycle: {max_lr: 0.1, pct_start: 1.5}}", "pct_start must be in (0, 1), got 1.5", "1.5"),
    ("{onecycle: {max_lr: 0.1, anneal_strategy: cosine}}", "anneal_strategy must be one of cos, linear, got 'cosine'",
     "cosine"),
    ("{onecycle: {max_lr: 0.1, three_phase: yes}}", "three_phase must be true or false, got 'yes'", "yes"),
    ("{onecycle: {max_lr: 0.1, div_factor: 0}}", "div_factor must be > 0, got 0", "0}"),
    ("{onecycle: {max_lr: 0.1, final_div_factor: -1}}", "final_div_factor must be > 0, got -1", "-1"),
    ("{onecycle: {max_lr: 0.1, base_momentum: 1}}", "base_momentum must be in [0, 1), got 1", "1}"),
    ("{onecycle: {max_lr: 0.1, warmup_epochs: 2}}", "the onecycle schedule has a warm-up of its own: its rate rises "
     "from max_lr / div_factor to max_lr over the first pct_start of the run's steps, so it takes no warmup_epochs",
     "2}"),
    ("{onecycle: {max_lr: 0.2, warmup_start_factor: 0.1}}", "so it takes no warmup_start_factor", "0.1"),
    ("{onecycle: {max_lr: 0.1}}, optimizer: adagrad", "the onecycle schedule cycles the optimizer's momentum "
     "(cycle_momentum is true by default), and adagrad has neither momentum nor betas: torch's OneCycleLR raises on "
     "it", "{onecycle"),
    ("{onecycle: {max_lr: 0.1, cycle_momentum: true}}, optimizer: {adadelta: {rho: 0.9}}", "the onecycle schedule "
     "cycles the optimizer's momentum, and adadelta has neither momentum nor betas", "true"),
    ("{cosine_restarts: {T_mult: 2}}", "the cosine_restarts schedule needs T_0", "{cosine_restarts"),
    ("{cosine_restarts: {T_0: 0}}", "T_0 must be an integer ≥ 1, got 0", "0}"),
    ("{cosine_restarts: {T_0: 5, T_mult: 1.5}}", "T_mult must be an integer ≥ 1, got 1.5", "1.5"),
    ("{cosine_restarts: {T_0: 5, T_mult: 0}}", "T_mult must be an integer ≥ 1, got 0", "0}"),
    ("{cosine_restarts: {T_0: 5, eta_min: -1}}", "eta_min must be ≥ 0, got -1", "-1"),
])
def test_a_bad_setting_is_located(scheduler, message, at):
    line = f"train: {{epochs: 10, scheduler: {scheduler}}}"
    with pytest.raises(SpecError) as caught:
        archcalc.loads(HEAD + line + "\n")
    assert message in caught.value.message
    assert (caught.value.loc.line, caught.value.loc.col) == (3, line.index(at, line.index("scheduler")) + 1)


def test_adagrad_trains_on_a_cycle_without_momentum():
    train = archcalc.loads(HEAD + "train: {optimizer: adagrad, scheduler: {onecycle: {max_lr: 0.1, "
                                  "cycle_momentum: false}}}\n").spec.train
    params = [torch.nn.Parameter(torch.zeros(1))]
    lr_scheduler.OneCycleLR(torch.optim.Adagrad(params), epochs=10, steps_per_epoch=3, **train.scheduler.kwargs)
    with pytest.raises(ValueError, match="optimizer must support momentum or beta1"):  # what the spec refuses
        lr_scheduler.OneCycleLR(torch.optim.Adagrad(params), max_lr=0.1, total_steps=30)


def test_the_command_refuses_bad_settings_at_their_line_and_column(tmp_path, data, run):
    spec = tmp_path / "p.yaml"
    line = "  scheduler: {onecycle: {max_lr: 0.1, pct_start: 1.5}}"
    spec.write_text(f"{HEAD}train:\n{line}\n")
    result = run("train", spec, "--data", data)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr == (f"{spec}:4:{line.index('1.5') + 1}: error: pct_start must be in (0, 1), got 1.5\n"
                             "  hint: the share of the steps spent rising to max_lr: 0.3 (torch's default), 0.25 "
                             "(fastai's)\n")
    line = "  scheduler: {cosine_restarts: {T_0: 0}}"
    spec.write_text(f"{HEAD}train:\n{line}\n")
    result = run("train", spec, "--data", data, "--backend", "torch")
    assert result.exit_code == 2
    assert result.stderr == (f"{spec}:4:{line.index('0}') + 1}: error: T_0 must be an integer ≥ 1, got 0\n"
                             "  hint: the epochs of the first cycle, a whole number ≥ 1 (torch's "
                             "CosineAnnealingWarmRestarts): T_0: 10\n")


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_a_cycle_with_a_phase_of_no_steps_is_refused_once_the_data_give_its_steps(tmp_path, data, run, backend):
    """43 training samples in batches of 11: 4 steps an epoch, 10 epochs, 40 steps; pct_start 0.025 makes the rise
    0 steps long, over which torch divides by zero (its own ZeroDivisionError, checked above)."""
    spec = tmp_path / "z.yaml"
    line = "  scheduler: {onecycle: {max_lr: 0.1, pct_start: 0.025}}"
    spec.write_text(f"{HEAD}train:\n  classes: 3\n  epochs: 10\n  batch_size: 11\n{line}\n")
    result = run("train", spec, "--data", data, "--backend", backend)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr == (f"{spec}:7:{line.index('0.025') + 1}: error: pct_start 0.025 of this run's 40 optimizer "
                             "steps (10 epochs × 4 batches) makes the rise to max_lr 0 steps long, and torch's "
                             "OneCycleLR divides by its length\n  hint: another pct_start, or other epochs or "
                             "batch_size (their steps make the cycle)\n")
    result = run("train", spec, "--data", data, "--backend", backend, "--epochs", "9")  # 36 steps: 0.9 of one
    assert result.exit_code == 0, result.output


def test_both_exported_files_train_on_the_cycle(tmp_path, data, monkeypatch):
    """The torch file builds torch's OneCycleLR for epochs × len(loader) steps and steps it after every optimizer
    step; the NumPy file's build_schedule is the same cycle, and both files train from the command line."""
    # the torch file's loader does not join a last batch of one sample: 61 samples in batches of 16, 4 of them
    spec = (f"name: s\n{HEAD}train: {{classes: 3, optimizer: {{adam: {{lr: 0.01}}}}, epochs: 3, batch_size: 16, "
            "scheduler: {onecycle: {max_lr: 0.05, three_phase: true, anneal_strategy: linear}}}\n")
    model = archcalc.loads(spec)
    torch_file, numpy_file = tmp_path / "t.py", tmp_path / "n.py"
    torch_file.write_text(emit(model), encoding="utf-8")
    numpy_file.write_text(render(model), encoding="utf-8")
    for path in (torch_file, numpy_file):
        proc = subprocess.run([sys.executable, str(path), str(data)], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert proc.stdout.count("epoch") >= 3
    torch_module, numpy_module = import_file(torch_file), import_file(numpy_file)
    optimizer = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=0.01)
    scheduler = torch_module.build_scheduler(optimizer, 3, 4)
    assert isinstance(scheduler, lr_scheduler.OneCycleLR) and scheduler.total_steps == 12
    cycle = numpy_module.build_schedule(3, 4)
    for k in range(12):
        assert (cycle(k), cycle.momentum(k)) == (optimizer.param_groups[0]["lr"], optimizer.param_groups[0]["betas"][0])
        optimizer.step()
        scheduler.step()
    seen = []  # the torch file's loop steps its scheduler once per batch: 4 batches of 16, 13, 3 epochs
    build = torch_module.build_scheduler

    def recording(optimizer, epochs, steps_per_epoch):
        seen.append((epochs, steps_per_epoch))
        made = build(optimizer, epochs, steps_per_epoch)
        step = made.step
        made.step = lambda: (seen.append(optimizer.param_groups[0]["lr"]), step())
        return made

    monkeypatch.setattr(torch_module, "build_scheduler", recording)
    with np.load(data) as arrays:
        x, y = torch.as_tensor(arrays["x"][:61]), torch.as_tensor(arrays["y"][:61])
    torch_module.train(x, y, 3, 16, 0)
    assert seen[0] == (3, 4) and seen[1:] == [numpy_module.build_schedule(3, 4)(k) for k in range(12)]
