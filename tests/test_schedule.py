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
from archcalc.errors import SpecError
from archcalc.spec.train import SCHEDULERS
from archcalc.training import lr_schedule
from archcalc.training.loop import Loop
from archcalc.training.schedule import Schedule
from tests.torch_helpers import import_file

HEAD = "input: [4]\nlayers: [linear: 3]\n"
EPOCHS = 40

#: the spec's schedule → torch's schedulers for a run of EPOCHS epochs (the warm-up chained as torch chains it)
CASES = {
    "step: {step_size: 7}": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=7),
    "step: {step_size: 3, gamma: 0.5}": lambda o: torch.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5),
    "multistep: {milestones: [10, 25, 30]}": lambda o: torch.optim.lr_scheduler.MultiStepLR(o, [10, 25, 30]),
    "exponential: {gamma: 0.93}": lambda o: torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.93),
    "cosine": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS),
    "cosine: {T_max: 15, eta_min: 0.001}": lambda o: torch.optim.lr_scheduler.CosineAnnealingLR(o, 15, 0.001),
    "cosine: {warmup_epochs: 5}": lambda o: torch.optim.lr_scheduler.SequentialLR(
        o, [torch.optim.lr_scheduler.LinearLR(o, total_iters=5),
            torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=EPOCHS - 5)], milestones=[5]),
    "multistep: {milestones: [10, 20], warmup_epochs: 3, warmup_start_factor: 0.01}":
        lambda o: torch.optim.lr_scheduler.SequentialLR(
            o, [torch.optim.lr_scheduler.LinearLR(o, start_factor=0.01, total_iters=3),
                torch.optim.lr_scheduler.MultiStepLR(o, [10, 20])], milestones=[3]),
}


def spec_train(scheduler: str, epochs: int = EPOCHS, lr: float = 0.1):
    text = f"{HEAD}train: {{optimizer: {{sgd: {{lr: {lr}}}}}, epochs: {epochs}, scheduler: {{{scheduler}}}}}\n"
    if ":" not in scheduler:
        text = text.replace(f"{{{scheduler}}}", scheduler)
    return archcalc.loads(text).spec.train


def torch_rates(make, epochs: int = EPOCHS, lr: float = 0.1) -> list[float]:
    optimizer = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = make(optimizer)
    rates = []
    for _ in range(epochs):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    return rates


def test_every_schedule_is_checked():
    assert {case.split(":")[0] for case in CASES} == set(SCHEDULERS)
    assert all(callable(getattr(Schedule, name)) for name in SCHEDULERS)


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_epochs_rate_is_torchs(case):
    schedule = lr_schedule(spec_train(case), EPOCHS)
    assert [schedule(e) for e in range(EPOCHS)] == pytest.approx(torch_rates(CASES[case]), rel=1e-12, abs=1e-15)


class Recorder:
    """Loop's steps: one batch an epoch, the learning rates it is given."""

    def __init__(self):
        self.rates: list[float] = []

    def order(self):
        return [[0], [1]]

    def step(self, index):
        return 1.0, 0, 1

    def validate(self):
        return None

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


@pytest.fixture
def digits(tmp_path):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(60, 4)).astype(np.float32)
    np.savez(tmp_path / "d.npz", x=x, y=(x[:, 0] > 0).astype(int) + (x[:, 1] > 0))
    return tmp_path / "d.npz"


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_both_trainers_step_with_the_scheduled_rate(tmp_path, digits, run, backend):
    spec = tmp_path / "s.yaml"
    spec.write_text(f"{HEAD}train: {{classes: 3, optimizer: {{sgd: {{lr: 0.2}}}}, epochs: 6, batch_size: 16, "
                    "scheduler: {cosine: {warmup_epochs: 2, eta_min: 0.01}}}\n")
    result = run("train", str(spec), "--data", str(digits), "--backend", backend, "--format", "json")
    assert result.exit_code == 0, result.output
    schedule = Schedule("cosine", 0.2, 6, {"eta_min": 0.01}, 2)
    assert [h["lr"] for h in json.loads(result.stdout)["history"]] == [schedule(e) for e in range(6)]


def test_the_trainers_optimizers_end_at_the_last_epochs_rate(digits):
    from archcalc.backends.numpy.trainer import NumpyTrainer
    from archcalc.backends.torch.trainer import TorchTrainer
    from archcalc.training import Splits
    from archcalc.training.progress import BarProgress

    model = archcalc.loads(f"{HEAD}train: {{classes: 3, epochs: 4, "
                           "scheduler: {step: {step_size: 1, gamma: 0.5}}}\n")
    with np.load(digits) as data:
        x, y = data["x"], data["y"]
    splits = Splits((x, y), (x[:8], y[:8]), (x[:8], y[:8]))
    for make, rate in ((NumpyTrainer, lambda t: t.optimizer.lr),
                       (TorchTrainer, lambda t: t.steps.optimizer.param_groups[0]["lr"])):
        trainer = make(model, model.spec.train, 0)
        trainer.fit(splits, 4, BarProgress(4, quiet=True))
        assert rate(trainer) == 0.01 * 0.5**3  # sgd's default lr, halved after each of the first three epochs


@pytest.mark.parametrize(("scheduler", "message", "at"), [
    ("steps", "scheduler must be one of step, multistep, exponential, cosine", "steps"),
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
])
def test_a_bad_schedule_is_located(scheduler, message, at):
    line = f"train: {{epochs: 10, scheduler: {scheduler}}}"
    with pytest.raises(SpecError) as caught:
        archcalc.loads(HEAD + line + "\n")
    assert message in caught.value.message
    assert (caught.value.loc.line, caught.value.loc.col) == (3, line.index(at, line.index("scheduler")) + 1)


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
        rates = torch_rates(lambda o, n=epochs: module.build_scheduler(o, n), epochs)
        schedule = lr_schedule(spec_train(case), epochs)
        assert rates == pytest.approx([schedule(e) for e in range(epochs)], rel=1e-12, abs=1e-15)


def test_both_exported_files_train_on_the_schedule(tmp_path, digits):
    spec = (f"name: s\n{HEAD}train: {{classes: 3, optimizer: {{sgd: {{lr: 0.2, momentum: 0.9}}}}, epochs: 4, "
            "batch_size: 16, scheduler: {multistep: {milestones: [1, 2], gamma: 0.5, warmup_epochs: 1}}}\n")
    model = archcalc.loads(spec)
    torch_file, numpy_file = tmp_path / "t.py", tmp_path / "n.py"
    torch_file.write_text(emit(model), encoding="utf-8")
    from archcalc.backends.numpy.source import render

    numpy_file.write_text(render(model), encoding="utf-8")
    for path in (torch_file, numpy_file):
        proc = subprocess.run([sys.executable, str(path), str(digits)], capture_output=True, text=True, cwd=tmp_path)
        assert proc.returncode == 0, proc.stderr
    printed = subprocess.run([sys.executable, str(numpy_file), str(digits)], capture_output=True, text=True,
                             cwd=tmp_path).stdout
    schedule = lr_schedule(model.spec.train, 4)
    assert [f"lr {schedule(e):.6g}" in line for e, line in enumerate(printed.splitlines()[:4])] == [True] * 4


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
