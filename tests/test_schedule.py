"""``train: scheduler``: the learning rate of each epoch is torch.optim.lr_scheduler's, in both trainers
(set before each epoch's first step, also where a resumed run picks up) and in both exported files."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

import archcalc
from archcalc.backends.torch.source import emit
from archcalc.backends.torch.training import Scheduled, build_scheduler
from archcalc.errors import SpecError
from archcalc.spec.train import BATCH_SCHEDULES, METRIC_SCHEDULES, SCHEDULERS
from archcalc.training import lr_schedule
from archcalc.training.loop import Loop
from archcalc.training.schedule import Plateau, Schedule
from tests.torch_helpers import import_file

HEAD = "input: [4]\nlayers: [linear: 3]\n"
EPOCHS = 40

#: a validation loss for each of EPOCHS epochs, fed to plateau schedules (and to torch's ReduceLROnPlateau): falls,
#: stalls within the relative threshold 1e-4, falls by 0.04 (an improvement by 5 % but not by 0.05), rises, falls
#: again, stays exactly flat for 12 epochs, then rises. With the cases below, each of torch's rules decides a rate:
#: a mutation of any (< for ≤, rel for abs, no cooldown, no eps, no min_lr) fails a case
LOSSES = [1.0, 0.8, 0.7, 0.7, 0.69995, 0.66, 0.72, 0.6, 0.6, 0.6, 0.59, 0.61, 0.62, 0.63, 0.64, 0.5, 0.5, 0.49999,
          *[0.5] * 12, 0.45, 0.46, 0.47, 0.48, 0.49, 0.5, 0.51, 0.52, 0.53, 0.54]
#: a validation accuracy for each epoch, for plateau schedules watching val_accuracy (mode max)
ACCURACIES = [1 - loss / 2 for loss in LOSSES]
lr_scheduler = torch.optim.lr_scheduler

#: the spec's schedule → torch's schedulers for a run of EPOCHS epochs (the warm-up chained as torch chains it)
CASES = {
    "step: {step_size: 7}": lambda o: lr_scheduler.StepLR(o, step_size=7),
    "step: {step_size: 3, gamma: 0.5}": lambda o: lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "multistep: {milestones: [10, 25, 30]}": lambda o: lr_scheduler.MultiStepLR(o, [10, 25, 30]),
    "exponential: {gamma: 0.93}": lambda o: lr_scheduler.ExponentialLR(o, gamma=0.93),
    "cosine": lambda o: lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS),
    "cosine: {T_max: 15, eta_min: 0.001}": lambda o: lr_scheduler.CosineAnnealingLR(o, 15, 0.001),
    "cosine: {warmup_epochs: 5}": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, total_iters=5), lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS - 5)],
        milestones=[5]),
    "multistep: {milestones: [10, 20], warmup_epochs: 3, warmup_start_factor: 0.01}":
        lambda o: lr_scheduler.SequentialLR(
            o, [lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=3), lr_scheduler.MultiStepLR(o, [10, 20])],
            milestones=[3]),
    "linear": lambda o: lr_scheduler.LinearLR(o),
    "linear: {start_factor: 1.0, end_factor: 0.0, total_iters: 30}": lambda o: lr_scheduler.LinearLR(o, 1.0, 0.0, 30),
    "linear: {start_factor: 0.5, end_factor: 0.05, total_iters: 17, warmup_epochs: 4, warmup_start_factor: 0.1}":
        lambda o: lr_scheduler.SequentialLR(
            o, [lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4), lr_scheduler.LinearLR(o, 0.5, 0.05, 17)],
            milestones=[4]),
    "polynomial": lambda o: lr_scheduler.PolynomialLR(o),
    "polynomial: {total_iters: 30, power: 2.0}": lambda o: lr_scheduler.PolynomialLR(o, 30, 2.0),
    "polynomial: {total_iters: 25, power: 0.9, warmup_epochs: 5}": lambda o: lr_scheduler.SequentialLR(
        o, [lr_scheduler.LinearLR(o, total_iters=5), lr_scheduler.PolynomialLR(o, 25, 0.9)], milestones=[5]),
    "cosine_restarts: {T_0: 7}": lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 7),
    "cosine_restarts: {T_0: 3, T_mult: 2, eta_min: 0.001}":
        lambda o: lr_scheduler.CosineAnnealingWarmRestarts(o, 3, 2, 0.001),
    "cosine_restarts: {T_0: 6, T_mult: 3, warmup_epochs: 4, warmup_start_factor: 0.1}":
        lambda o: lr_scheduler.SequentialLR(
            o, [lr_scheduler.LinearLR(o, start_factor=0.1, total_iters=4),
                lr_scheduler.CosineAnnealingWarmRestarts(o, 6, 3)], milestones=[4]),
    "plateau": lambda o: lr_scheduler.ReduceLROnPlateau(o),
    "plateau: {patience: 2, factor: 0.5}": lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=2, factor=0.5),
    "plateau: {patience: 1, cooldown: 2, threshold: 0.05, threshold_mode: abs}":
        lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=1, cooldown=2, threshold=0.05, threshold_mode="abs"),
    "plateau: {patience: 0, factor: 0.5, min_lr: 0.02}":
        lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=0, factor=0.5, min_lr=0.02),
    "plateau: {patience: 0, factor: 0.5, threshold: 0.05, threshold_mode: abs}":
        lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=0, factor=0.5, threshold=0.05, threshold_mode="abs"),
    "plateau: {patience: 1, factor: 0.5, threshold: 0}":
        lambda o: lr_scheduler.ReduceLROnPlateau(o, patience=1, factor=0.5, threshold=0),
    "plateau: {monitor: val_accuracy, mode: max, patience: 1, factor: 0.5, threshold: 0.02, threshold_mode: abs}":
        lambda o: lr_scheduler.ReduceLROnPlateau(o, "max", patience=1, factor=0.5, threshold=0.02,
                                                 threshold_mode="abs"),
    "plateau: {monitor: val_accuracy, patience: 0, factor: 0.5, eps: 0.01}":
        lambda o: lr_scheduler.ReduceLROnPlateau(o, "max", patience=0, factor=0.5, eps=0.01),
    "plateau: {monitor: val_accuracy, mode: max, patience: 3, threshold: 0.01}":
        lambda o: lr_scheduler.ReduceLROnPlateau(o, "max", patience=3, threshold=0.01),
}


def spec_train(scheduler: str, epochs: int = EPOCHS, lr: float = 0.1):
    text = f"{HEAD}train: {{optimizer: {{sgd: {{lr: {lr}}}}}, epochs: {epochs}, scheduler: {{{scheduler}}}}}\n"
    if ":" not in scheduler:
        text = text.replace(f"{{{scheduler}}}", scheduler)
    return archcalc.loads(text).spec.train


def torch_rates(make, epochs: int = EPOCHS, lr: float = 0.1, watched: list[float] | None = None) -> list[float]:
    """Each epoch's learning rate under torch's scheduler ``make(optimizer)``, stepped after each epoch as torch's
    documentation steps it: ``ReduceLROnPlateau`` with that epoch's number of ``watched``."""
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make(optimizer)
    plateau = isinstance(scheduler, lr_scheduler.ReduceLROnPlateau)
    rates = []
    for epoch in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step(watched[epoch]) if plateau else scheduler.step()
    return rates


def our_rates(schedule, epochs: int = EPOCHS, optimizer=None) -> list[float]:
    """Each epoch's learning rate under one of our schedules, stepped with each epoch's record as the loop does
    (after the epoch's optimizer steps, when it runs a torch ``optimizer``)."""
    rates = []
    for epoch in range(epochs):
        rates.append(schedule(epoch))
        if optimizer is not None:
            optimizer.step()
        schedule.after_epoch({"epoch": epoch + 1, "val_loss": LOSSES[epoch], "val_accuracy": ACCURACIES[epoch]})
    return rates


def watched(case: str) -> list[float]:
    return ACCURACIES if "val_accuracy" in case else LOSSES


def test_every_schedule_is_checked():
    """Every schedule of the epoch here; the one stepped per batch (onecycle) in tests/test_onecycle.py."""
    assert {case.split(":")[0] for case in CASES} == set(SCHEDULERS) - set(BATCH_SCHEDULES)
    assert all(callable(getattr(Schedule, name)) for name in SCHEDULERS
               if name not in METRIC_SCHEDULES + BATCH_SCHEDULES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_epochs_rate_is_torchs(case):
    """The NumPy side's rates are torch's to 1e-12 (closed forms against torch's step-by-step products) and a
    plateau's exactly (torch's operations); the torch trainer's are torch's own scheduler's, bit for bit."""
    train = spec_train(case)
    theirs = torch_rates(CASES[case], watched=watched(case))
    ours = our_rates(lr_schedule(train, EPOCHS))
    assert ours == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    if train.scheduler.monitor:
        assert ours == theirs and len(set(theirs)) > 1  # exactly, and the numbers do lower the rate
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    trainers = Scheduled(train, optimizer, EPOCHS)
    assert type(trainers.scheduler) is type(CASES[case](torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))])))
    assert our_rates(trainers, optimizer=optimizer) == theirs


class Recorder:
    """Loop's steps: two batches an epoch, the learning rates it is given, and validation losses from ``losses``
    (none without)."""

    def __init__(self, losses: list[float] | None = None):
        self.rates: list[float] = []
        self.losses = iter(losses) if losses is not None else None

    def order(self):
        return [[0], [1]]

    def step(self, index):
        return 1.0, 0, 1

    def validate(self):
        return None if self.losses is None else (next(self.losses), None)

    def set_lr(self, rate):
        self.rates.append(rate)


def test_the_loop_sets_the_rate_before_each_epoch_and_where_a_resumed_run_picks_up():
    schedule = Schedule("step", 1.0, 5, {"step_size": 1, "gamma": 0.5})
    steps = Recorder()
    run = Loop(5, schedule=schedule).run(steps)
    assert steps.rates == [1.0, 0.5, 0.25, 0.125, 0.0625]
    assert [record["lr"] for record in run.history] == steps.rates
    resumed, steps = Loop(5, schedule=schedule), Recorder()
    resumed.epoch, resumed.order, resumed.batch = 3, [[0], [1]], 1  # as a checkpoint in epoch 3 leaves it
    resumed.run(steps)
    assert steps.rates == [0.25, 0.125, 0.0625]
    assert "lr" not in Loop(1).run(Recorder()).history[0]


def test_the_loop_steps_a_plateau_with_each_epochs_validation_loss_after_validating_it():
    steps = Recorder(LOSSES)
    run = Loop(EPOCHS, schedule=Plateau(0.1, patience=2, factor=0.5)).run(steps)
    assert steps.rates == [r["lr"] for r in run.history] == torch_rates(CASES["plateau: {patience: 2, factor: 0.5}"],
                                                                        watched=LOSSES)
    with pytest.raises(ValueError, match="the plateau schedule watches val_loss, and this run has no validation data"):
        Loop(3, schedule=Plateau(0.1)).run(Recorder())


@pytest.fixture
def digits(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(int) + (x[:, 1] > 0))
    return tmp_path / "d.npz"


#: schedules ``archcalc train`` runs for EPOCHS epochs in the tests below, one of each kind
TRAINED = ("cosine: {warmup_epochs: 5}",
           "cosine_restarts: {T_0: 3, T_mult: 2, eta_min: 0.001}",
           "plateau: {monitor: val_accuracy, patience: 0, factor: 0.5, eps: 0.01}",
           "linear: {start_factor: 0.5, end_factor: 0.05, total_iters: 17, warmup_epochs: 4, warmup_start_factor: 0.1}",
           "polynomial: {total_iters: 30, power: 2.0}")


@pytest.mark.parametrize("case", TRAINED)
@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_both_trainers_step_with_the_scheduled_rate(tmp_path, digits, run, backend, case):
    """``archcalc train``: the torch trainer's rates are torch's own scheduler's, bit for bit (stepped with the
    run's validation losses for a plateau); the NumPy trainer's are the closed forms, and a plateau's torch's."""
    spec = tmp_path / "s.yaml"
    spec.write_text(f"{HEAD}train: {{classes: 3, optimizer: {{sgd: {{lr: 0.2}}}}, epochs: {EPOCHS}, batch_size: 16, "
                    f"scheduler: {{{case}}}}}\n")
    result = run("train", str(spec), "--data", str(digits), "--backend", backend, "--format", "json")
    assert result.exit_code == 0, result.output
    history = json.loads(result.stdout)["history"]
    rates = [h["lr"] for h in history]
    monitor = "val_accuracy" if "val_accuracy" in case else "val_loss"
    theirs = torch_rates(CASES[case], lr=0.2, watched=[h[monitor] for h in history])
    if backend == "torch" or case.startswith("plateau"):
        assert rates == theirs
    else:
        schedule = lr_schedule(archcalc.load(str(spec)).spec.train, EPOCHS)
        assert rates == [schedule(e) for e in range(EPOCHS)] == pytest.approx(theirs, rel=1e-12, abs=1e-15)
    assert len(set(rates)) > 1  # the rate moves, a plateau's too


def test_the_trainers_optimizers_end_at_the_scheduled_rate(digits):
    from archcalc.backends.numpy.trainer import NumpyTrainer
    from archcalc.backends.torch.trainer import TorchTrainer
    from archcalc.training import Splits
    from archcalc.training.progress import BarProgress

    model = archcalc.loads(f"{HEAD}train: {{classes: 3, epochs: 4, "
                           "scheduler: {step: {step_size: 1, gamma: 0.5}}}\n")
    with np.load(digits) as data:
        x, y = data["x"], data["y"]
    splits = Splits((x, y), (x[:8], y[:8]), (x[:8], y[:8]))
    # sgd's default lr, halved after each of the first three epochs; torch's own scheduler is stepped after the
    # last epoch too, as in a PyTorch loop, so its optimizer holds the rate of the epoch that would come next
    for make, rate, last in ((NumpyTrainer, lambda t: t.optimizer.lr, 0.01 * 0.5**3),
                             (TorchTrainer, lambda t: t.steps.optimizer.param_groups[0]["lr"], 0.01 * 0.5**4)):
        trainer = make(model, model.spec.train, 0)
        trainer.fit(splits, 4, BarProgress(4, quiet=True))
        assert rate(trainer) == last


@pytest.mark.parametrize(("scheduler", "message", "at"), [
    ("steps", "scheduler must be one of step, multistep, exponential, cosine, linear, polynomial, plateau, "
              "onecycle, cosine_restarts", "steps"),
    ("{step: {gamma: 0.5}}", "the step schedule needs step_size", "{step"),
    ("{multistep: {milestones: [30, 10]}}", "milestones must increase, got [30, 10]", "[30, 10]"),
    ("{multistep: {milestones: []}}", "milestones must be a list of one or more epochs, got an empty list", "[]"),
    ("{exponential: {gamma: 0}}", "gamma must be > 0", "0}"),
    ("{cosine: {T_max: 0}}", "T_max must be an integer ≥ 1", "0}"),
    ("{cosine: {t_max: 10}}", "the cosine schedule has no setting 't_max'", "t_max"),
    ("{cosine: {eta_min: -1}}", "eta_min must be ≥ 0", "-1"),
    ("{cosine: {warmup_epochs: 10}}", "a warm-up of 10 epochs leaves none of the 10 epochs", "10}"),
    ("{cosine: {warmup_start_factor: 0}}", "warmup_start_factor must be in (0, 1]", "0}"),
    ("[cosine]", "scheduler must be a name or {name: {settings}}", "[cosine]"),
    ("{}", "scheduler is an empty mapping: it takes a name or {name: {settings}}", "{}"),
    ("{cosine: null, warmup_epochs: 2}", "scheduler has 2 keys (cosine, warmup_epochs) where it takes one name with "
                                         "its settings under it", "{cosine"),
    ("{cosine: {warmup_start_factor: 0.1}}", "warmup_start_factor sets where a warm-up starts, but the schedule has "
                                             "none", "0.1"),
    ("{step: {step_size: 2.0}}", "step_size must be an integer ≥ 1, got 2.0", "2.0"),
    ("{linear: {start_factor: 0}}", "start_factor must be in (0, 1], got 0", "0}"),
    ("{linear: {end_factor: 1.5}}", "end_factor must be in [0, 1], got 1.5", "1.5"),
    ("{linear: {total_iters: 0}}", "total_iters must be an integer ≥ 1, got 0", "0}"),
    ("{polynomial: {power: -1}}", "power must be ≥ 0, got -1", "-1"),
    ("{polynomial: {total_iters: 5.5}}", "total_iters must be an integer ≥ 1, got 5.5", "5.5"),
    ("{polynomial: {gamma: 0.5}}", "the polynomial schedule has no setting 'gamma'", "gamma"),
    ("{plateau: {factor: 1}}", "factor must be in (0, 1), got 1", "1}"),
    ("{plateau: {factor: 0}}", "factor must be in (0, 1), got 0", "0}"),
    ("{plateau: {patience: -1}}", "patience must be an integer ≥ 0, got -1", "-1"),
    ("{plateau: {cooldown: 1.5}}", "cooldown must be an integer ≥ 0, got 1.5", "1.5"),
    ("{plateau: {threshold: -0.1}}", "threshold must be ≥ 0, got -0.1", "-0.1"),
    ("{plateau: {min_lr: -1}}", "min_lr must be ≥ 0, got -1", "-1"),
    ("{plateau: {eps: -1}}", "eps must be ≥ 0, got -1", "-1"),
    ("{plateau: {threshold_mode: relative}}", "threshold_mode must be one of rel, abs, got 'relative'", "relative"),
    ("{plateau: {mode: maximum}}", "mode must be one of min, max, got 'maximum'", "maximum"),
    ("{plateau: {monitor: val_acc}}", "monitor must be one of val_loss, val_accuracy, got 'val_acc'", "val_acc"),
    ("{plateau: {mode: max}}", "mode max reduces the rate when val_loss stops rising, but val_loss improves by "
                               "falling", "max"),
    ("{plateau: {monitor: val_accuracy, mode: min}}", "mode min reduces the rate when val_accuracy stops falling, "
                                                      "but val_accuracy improves by rising", "min}"),
    ("{plateau: {monitor: val_accuracy}}, task: regression", "a regression has no accuracy to monitor",
     "val_accuracy"),
    ("{plateau: {warmup_epochs: 2}}", "the plateau schedule cannot follow a warm-up: torch's SequentialLR chains "
                                      "only schedules whose step() takes no metric, and ReduceLROnPlateau's takes one",
     "2}"),
])
def test_a_bad_schedule_is_located(scheduler, message, at):
    line = f"train: {{epochs: 10, scheduler: {scheduler}}}"
    with pytest.raises(SpecError) as caught:
        archcalc.loads(HEAD + line + "\n")
    assert message in caught.value.message
    assert (caught.value.loc.line, caught.value.loc.col) == (3, line.index(at, line.index("scheduler")) + 1)


def test_the_command_refuses_a_bad_plateau_at_its_line_and_column(tmp_path, digits, run):
    spec, line = tmp_path / "p.yaml", "  scheduler: {plateau: {patience: 3, monitor: val_accuracy}}"
    spec.write_text(f"{HEAD}train:\n  task: regression\n{line}\n")
    result = run("train", str(spec), "--data", str(digits))
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert result.stderr == f"{spec}:5:{line.index('val_accuracy') + 1}: error: a regression has no accuracy to " \
                            "monitor\n  hint: monitor: val_loss\n"
    line = "  scheduler: {plateau: {mode: max}}"
    spec.write_text(f"{HEAD}train:\n{line}\n")
    result = run("train", str(spec), "--data", str(digits), "--backend", "torch")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:4:{line.index('max') + 1}: error: mode max reduces the rate when "
                                    "val_loss stops rising, but val_loss improves by falling\n")


def test_fit_without_validation_data_refuses_a_plateau():
    """The Python ``fit`` of either backend: the torch one at the schedule, located; the NumPy one (which the
    exported file carries, without archcalc) with a ValueError before the first step."""
    from archcalc.backends.numpy import training as numpy_training
    from archcalc.backends.torch import to_torch
    from archcalc.backends.torch.training import fit

    model = archcalc.loads(f"{HEAD}train:\n  scheduler: {{plateau: {{patience: 1}}}}\n")
    x, y = np.zeros((8, 4), np.float32), np.zeros(8, np.int64)
    with pytest.raises(SpecError) as caught:
        fit(to_torch(model), model.spec.train, x, y)
    assert caught.value.message == "the plateau schedule watches val_loss, and this run has no validation data to " \
                                   "measure it on" and (caught.value.loc.line, caught.value.loc.col) == (4, 14)
    with pytest.raises(ValueError, match=r"^the plateau schedule watches val_loss, and this run has no validation"):
        numpy_training.fit(None, None, None, x, y, epochs=1, batch_size=4, rng=np.random.default_rng(0),
                           schedule=lr_schedule(model.spec.train, 1))


def test_no_schedule_keeps_the_rate_constant_and_writes_no_scheduler():
    from archcalc.backends.numpy.source import render

    assert lr_schedule(archcalc.loads(HEAD + "train: {scheduler: false}\n").spec.train, 5) is None
    model = archcalc.loads(HEAD + "train: {epochs: 3}\n")
    assert "scheduler" not in emit(model)
    assert "build_schedule" not in render(model) and "class Schedule" not in render(model)


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_torch_files_scheduler_is_the_same_schedule(tmp_path, case):
    text = emit(archcalc.loads(f"name: s\n{HEAD}train: {{optimizer: {{sgd: {{lr: 0.1}}}}, epochs: {EPOCHS}, "
                               f"scheduler: {{{case}}}}}\n".replace("{cosine}", "cosine")))
    path = tmp_path / "s.py"
    path.write_text(text, encoding="utf-8")
    module = import_file(path)
    for epochs in (EPOCHS, 25):  # the file's --epochs: cosine's T_max follows it unless the spec gives it
        rates = torch_rates(lambda o, n=epochs: module.build_scheduler(o, n), epochs, watched=watched(case))
        assert rates == torch_rates(CASES[case] if epochs == EPOCHS or "cosine" not in case else
                                    lambda o, n=epochs: build_scheduler(spec_train(case), o, n), epochs,
                                    watched=watched(case))  # the scheduler archcalc train builds, to the bit
        assert rates == pytest.approx(our_rates(lr_schedule(spec_train(case), epochs), epochs), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("scheduler", ["{multistep: {milestones: [1, 2], gamma: 0.5, warmup_epochs: 1}}",
                                       "{plateau: {patience: 0, factor: 0.5}}"])
def test_both_exported_files_train_on_the_schedule(tmp_path, digits, scheduler, capsys, monkeypatch):
    spec = (f"name: s\n{HEAD}train: {{classes: 3, optimizer: {{sgd: {{lr: 0.2, momentum: 0.9}}}}, epochs: 4, "
            f"batch_size: 16, scheduler: {scheduler}}}\n")
    model = archcalc.loads(spec)
    torch_file, numpy_file = tmp_path / "t.py", tmp_path / "n.py"
    torch_file.write_text(emit(model), encoding="utf-8")
    from archcalc.backends.numpy.source import render

    numpy_file.write_text(render(model), encoding="utf-8")
    for path in (torch_file, numpy_file):
        proc = subprocess.run([sys.executable, str(path), str(digits)], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
        assert ("val_loss" in proc.stdout) == ("plateau" in scheduler or path == numpy_file)  # the torch file
        # validates only for the plateau; the NumPy file always does
    printed = proc.stdout
    if "plateau" not in scheduler:
        schedule = lr_schedule(model.spec.train, 4)
        assert [f"lr {schedule(e):.6g}" in line for e, line in enumerate(printed.splitlines()[:4])] == [True] * 4
        return
    # the plateau: each file steps torch's ReduceLROnPlateau (the NumPy one, its copy) with its validation loss
    with np.load(digits) as data:
        x, y = data["x"], data["y"]
    numpy_module, records = import_file(numpy_file), []
    net = numpy_module.build_model(0)
    numpy_module.fit(net, numpy_module.build_loss(), numpy_module.build_optimizer(net), x[:48], y[:48], epochs=8,
                     batch_size=16, rng=np.random.default_rng(0), validation=(x[48:], y[48:]),
                     schedule=numpy_module.build_schedule(8), on_epoch=records.append)
    def plateau(optimizer):
        return lr_scheduler.ReduceLROnPlateau(optimizer, patience=0, factor=0.5)

    assert [r["lr"] for r in records] == torch_rates(plateau, 8, 0.2, [r["val_loss"] for r in records])
    assert len({r["lr"] for r in records}) > 1
    torch_module, seen = import_file(torch_file), []
    build = torch_module.build_scheduler

    def recording(optimizer, epochs):
        scheduler = build(optimizer, epochs)
        step = scheduler.step
        scheduler.step = lambda metric: (seen.append((metric, optimizer.param_groups[0]["lr"])), step(metric))
        return scheduler

    torch_module.build_scheduler = recording
    xt, yt = torch.as_tensor(x), torch.as_tensor(y)
    trained = torch_module.train(xt[:48], yt[:48], 12, 16, 0, None, (xt[48:], yt[48:]))
    assert [lr for _, lr in seen] == torch_rates(plateau, 12, 0.2, [m for m, _ in seen])
    assert len({lr for _, lr in seen}) > 1
    with torch.no_grad():  # the last number it watched is the trained model's validation loss
        out = trained(xt[48:])
        assert seen[-1][0] == pytest.approx(torch_module.build_loss()(out, yt[48:].long()).item(), rel=1e-6)
    capsys.readouterr()
    for module, fraction, held in ((torch_module, "0", 0), (numpy_module, "1", 60)):  # nothing to watch, or to train on
        monkeypatch.setattr(sys, "argv", ["s.py", str(digits), "--validation", fraction])
        with pytest.raises(SystemExit) as exited:
            module.main()
        assert exited.value.code == 2 and capsys.readouterr().err.endswith(
            f"error: the spec's plateau schedule watches val_loss: --validation {fraction} holds out {held} of 60 "
            "samples; give a fraction that holds out some, and leaves some to train on\n")
    for module in (torch_module, numpy_module):  # not a number: no traceback from round()
        monkeypatch.setattr(sys, "argv", ["s.py", str(digits), "--validation", "nan"])
        with pytest.raises(SystemExit) as exited:
            module.main()
        assert exited.value.code == 2 and capsys.readouterr().err.endswith(
            "error: --validation nan: give the fraction to hold out, from 0 to 1\n")


def test_a_setting_written_beside_the_schedule_says_to_nest_it_and_one_under_train_says_where_it_goes():
    with pytest.raises(SpecError) as caught:
        archcalc.loads(HEAD + "train: {scheduler: {cosine: null, warmup_epochs: 2}}\n")
    assert caught.value.hint == "nest the settings under the name: scheduler: {cosine: {warmup_epochs: 2}}"
    for key, hint in (("label_smoothing: 0.1", "label_smoothing is a setting of the cross_entropy loss: loss: "
                                               "{cross_entropy: {label_smoothing: ...}}"),
                      ("milestones: [3]", "milestones is a setting of the schedule: scheduler: {multistep: "
                                          "{milestones: ...}}"),
                      ("lr: 0.1", "lr is a hyperparameter of the optimizer: optimizer: {sgd: {lr: ...}}")):
        with pytest.raises(SpecError) as caught:
            archcalc.loads(HEAD + f"train: {{{key}}}\n")
        assert caught.value.hint == hint


def test_a_rate_beyond_float32_is_refused_before_training_and_a_run_inside_the_warmup_is_noted(tmp_path, digits, run):
    spec = tmp_path / "g.yaml"
    spec.write_text(f"{HEAD}train:\n  classes: 3\n  epochs: 10\n  optimizer: {{sgd: {{lr: 1.0e-300}}}}\n"
                    "  scheduler: {exponential: {gamma: 1.0e+100, warmup_epochs: 2}}\n")
    result = run("train", str(spec), "--data", str(digits))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:7:36: error: the exponential schedule's learning rate outgrows float32 "
                                    "(above 3.4e+38) at epoch 7\n")
    spec.write_text(f"{HEAD}train: {{classes: 3, epochs: 10, scheduler: {{cosine: {{warmup_epochs: 2}}}}}}\n")
    result = run("train", str(spec), "--data", str(digits), "--epochs", "2")
    assert result.exit_code == 0, result.output
    assert "note: this run's 2 epochs end inside the schedule's 2-epoch warm-up: the learning rate stays below lr\n" \
        in result.stderr


def test_the_rate_check_finds_the_first_epoch_beyond_float32_in_a_run_of_any_length():
    from archcalc.training import check_schedule

    train = spec_train("exponential: {gamma: 2.0}", epochs=200, lr=1.0)
    with pytest.raises(SpecError) as caught:
        check_schedule(train, 10**6)
    assert caught.value.message.endswith("at epoch 129")  # 2**127 < 3.4e38 < 2**128
    assert check_schedule(spec_train("exponential: {gamma: 0.5}", epochs=200), 10**18) is None
    assert check_schedule(spec_train("cosine: {warmup_epochs: 5}", epochs=200), 3).startswith(
        "this run's 3 epochs end inside the schedule's 5-epoch warm-up")
