"""``archcalc train SPEC``: train the network with the spec's ``train:`` section and report test metrics.

Parse, then run: the options and the spec are checked, the data loaded and split, and every output
path checked, before the first epoch, so a mistake never costs a training run. The backend is
looked up in :data:`archcalc.training.BACKENDS`; the progress line is
:class:`archcalc.training.progress.BarProgress`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import importlib
import io
import os
import time

import click

from archcalc.cli.common import (
    check_suffix,
    format_option,
    handle_errors,
    load_model,
    spec_name,
    spec_options,
    terminal,
)
from archcalc.errors import Loc, SpecError
from archcalc.files import check_writable
from archcalc.spec.train import TrainSpec
from archcalc.training import BACKENDS, Epoch, check_cycle, check_schedule
from archcalc.training.loop import batch_count


def _every(ctx: click.Context, param: click.Parameter, value: str | None):
    if value is None:
        return None
    from archcalc.training.checkpoint import Every  # not at the top: it imports NumPy

    try:
        return Every.parse(value)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


@click.command()
@spec_options
@click.option("--backend", type=click.Choice(list(BACKENDS)), default="numpy", show_default=True,
              help="Which implementation trains the network.")
@click.option("--data", "source", default="digits", show_default=True,
              metavar="digits|docstrings|shapes|sign-sum|FILE.npz|FILE.csv",
              help="Training data: scikit-learn's 8×8 digits; the standard library's docstrings in windows of T "
                   "characters (a class per position: the next character); circles and squares on noise (a class "
                   "per pixel); sequences classed by the sign of their sum (sign-sum); arrays x and y in an .npz; "
                   "or a CSV whose last column is the target.")
@click.option("--epochs", type=click.IntRange(min=1), default=None,
              help="Override the spec's epochs (with --resume: the run's).")
@click.option("--seed", type=click.IntRange(min=0, max=2**62), default=None,
              help="Seed for the split, the initial weights, the batch order and dropout (default: the spec's, or 0; "
                   "with --resume: the run's).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="Draw the loss and accuracy curves into a PNG file.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, metavar="FILE.npz",
              help="Save the trained weights (PyTorch's state_dict names) to an .npz file.")
@click.option("--force", is_flag=True,
              help="Overwrite the --plot and -o files if they exist; without --resume, start over in a "
                   "--checkpoint-dir that holds an earlier run's checkpoints (deleting them).")
@click.option("--checkpoint-dir", default=None, metavar="DIR",
              help="Save checkpoints in DIR (created if missing): weights, optimizer, early stopping, random "
                   "generators and the position in the data, to resume from exactly.")
@click.option("--every", callback=_every, default=None, metavar="N[epochs|steps]",
              help="How often to save a checkpoint: every N epochs (2, 2epochs) or N optimizer steps (500steps). "
                   "[default: 1epoch]")
@click.option("--keep", type=click.IntRange(min=1), default=3, show_default=True,
              help="How many of the newest checkpoints to keep.")
@click.option("--resume", is_flag=True, help="Continue the run saved in --checkpoint-dir from its newest checkpoint "
                                             "(or start it, if there is none yet).")
@click.option("--nproc", type=click.IntRange(min=1), default=1, show_default=True,
              help="Train data-parallel in N processes with torchrun (--backend torch).")
@click.option("--device", type=click.Choice(["cpu", "cuda", "mps"]), default="cpu", show_default=True,
              help="Where torch trains (--backend torch).")
@click.option("--precision", type=click.Choice(["fp32", "bf16"]), default="fp32", show_default=True,
              help="bf16: train under torch.autocast to bfloat16, weights in float32 (--backend torch).")
@click.option("--worker", default=None, hidden=True, help="A process of an --nproc run: its job file.")
@format_option("text", "json", default="text")
@handle_errors
def train(spec: str, sets: dict[str, int], symbolic: bool, limits, backend: str, source: str, epochs: int | None,
          seed: int | None, plot: str | None, output: str | None, force: bool, checkpoint_dir: str | None,
          every, keep: int, resume: bool, nproc: int, device: str, precision: str, worker: str | None,
          fmt: str) -> None:
    """Train SPEC on DATA and print the test accuracy and loss.

    The data are split 70/15/15 into training, validation and test sets; training follows the
    spec's train: section (loss, optimizer, batch size, epochs, weight decay, L1, early stopping
    on the validation set, which restores the best weights). The same --seed gives the same run.
    With --checkpoint-dir a killed run continues with --resume exactly as if it had never stopped.
    """
    if worker is not None:
        return work(spec, worker)
    given = click.get_current_context().get_parameter_source("keep") is click.core.ParameterSource.COMMANDLINE
    needs_dir = [name for name, used in (("--every", every is not None), ("--keep", given), ("--resume", resume))
                 if used]
    if checkpoint_dir is None and needs_dir:
        raise click.UsageError(f"{needs_dir[0]} needs --checkpoint-dir DIR")
    torch_only = [f"--{name} {value}" for name, value, default in
                  (("nproc", nproc, 1), ("device", device, "cpu"), ("precision", precision, "fp32"))
                  if value != default]
    if backend != "torch" and torch_only:
        raise click.UsageError(f"{torch_only[0]} needs --backend torch (the NumPy backend trains in float32, on the "
                               "CPU, in one process)")
    if nproc > 1 and spec == "-":
        raise click.UsageError("--nproc needs the spec in a file: its processes cannot share standard input")
    if output is not None:
        check_suffix(output, ".npz", "the weights file")
    if plot is not None:
        check_suffix(plot, ".png", "the plot", option="'--plot'")
    job = Job(spec, sets, symbolic, dataclasses.asdict(limits), backend, source, epochs, seed, plot, output, force,
              checkpoint_dir, str(every) if every else None, keep, resume, nproc, device, precision, fmt)
    emit_result(execute(job), fmt)


@dataclasses.dataclass(slots=True)
class Job:
    """One ``archcalc train``, its options checked: what the processes of an ``--nproc`` run all do."""

    spec: str
    sets: dict[str, int]
    symbolic: bool
    limits: dict[str, int]
    backend: str
    source: str
    epochs: int | None
    seed: int | None
    plot: str | None
    output: str | None
    force: bool
    checkpoint_dir: str | None
    every: str | None
    keep: int
    resume: bool
    nproc: int
    device: str
    precision: str
    fmt: str


def execute(job: Job, rank: int | None = None) -> dict | None:
    """Check everything, then train: in this process, or (``job.nproc`` > 1, ``rank`` None) in
    ``job.nproc`` processes started with torchrun, each calling this with its rank. The result to
    print, or None in the processes other than rank 0."""
    from archcalc.backends.optional import require
    from archcalc.limits import Limits

    main = not rank
    require("numpy")  # the data arrive as NumPy arrays, whichever backend trains
    from archcalc.data import load_data, split

    backend = importlib.import_module(BACKENDS[job.backend])
    if job.backend == "torch":
        backend.check_device(job.device, job.precision)
        if job.nproc > 1:
            from archcalc.backends.torch import distributed

            distributed.check(job.nproc, job.device)
    spec, plot, output, force = job.spec, job.plot, job.output, job.force
    model = load_model(spec, job.sets, job.symbolic, Limits(**job.limits))
    model.require_values("train", cli=True)
    check_trainable(model)
    settings = TrainSpec.of(model.spec)
    check_memory(model, settings)
    if model.spec.train is None and rank is None:
        click.echo(f"note: {spec_name(spec)} has no train: section; training with the defaults ({settings.task}, "
                   f"{settings.loss}, {settings.optimizer.name} lr {settings.optimizer.lr:g}, batch "
                   f"{settings.batch_size}, {settings.epochs} epochs)", err=True)
    check_batch_norm(model, settings)
    checkpoints = saved = None
    if job.checkpoint_dir is not None:
        from archcalc.training.checkpoint import Checkpoints, Every

        checkpoints = Checkpoints(job.checkpoint_dir, Every.parse(job.every) if job.every else None, keep=job.keep,
                                  resume=job.resume, force=force, writer=main)
        saved = checkpoints.saved
        if saved is None and job.resume and rank is None:
            click.echo(f"note: {job.checkpoint_dir} holds no checkpoint yet; starting the run", err=True)
    seed = job.seed if job.seed is not None else saved.run["seed"] if saved else \
        settings.seed if settings.seed is not None else 0
    epochs = job.epochs or (saved.meta["loop"]["epochs"] if saved else settings.epochs)
    rule = settings.scheduler
    if saved and rule is not None and rule.per_batch and epochs != saved.meta["loop"]["epochs"]:
        ran = saved.meta["loop"]["epochs"]  # the cycle spans the run's steps: another length is another cycle
        raise SpecError(Loc(saved.path, 1, 1), f"cannot be resumed for {epochs} epochs: its {rule.name} schedule's "
                        f"cycle spans the run's {ran} epochs, and the steps taken followed that cycle",
                        code="bad-checkpoint", hint=f"resume without --epochs (or with --epochs {ran}); a longer "
                        "cycle is a new run (--force)")
    note = check_schedule(settings, epochs)
    if note and rank is None:
        click.echo(f"note: {note}", err=True)
    if plot and output and os.path.realpath(plot) == os.path.realpath(output):
        raise SpecError(Loc(plot, 1, 1), "--plot and -o name the same file", code="usage",
                        hint="give the curves and the weights different names")
    for path, option in ((output, "-o"), (plot, "--plot")):  # before any training: nothing read is overwritten
        if path and job.checkpoint_dir and os.path.realpath(path) == os.path.realpath(job.checkpoint_dir):
            raise SpecError(Loc(path, 1, 1), f"{option} and --checkpoint-dir name the same path", code="usage",
                            hint="the checkpoints go in a folder of their own; give the file another name")
        if path and os.path.isfile(job.source) and os.path.realpath(path) == os.path.realpath(job.source):
            raise SpecError(Loc(path, 1, 1), f"{option} names the --data file, which it would overwrite",
                            code="usage", hint="write the weights and curves to files of their own")
    for path in filter(None, (plot, output)):
        check_writable(path, force=force)
    data = load_data(job.source, model, settings, Limits(**job.limits))
    splits = split(data, seed)
    check_cycle(settings, epochs, batch_count(len(splits.train[0]), settings.batch_size))
    if job.nproc > 1:
        distributed.check_batches(len(splits.train[0]), settings.batch_size, job.nproc,
                                  settings.locs.get("batch_size", settings.loc))
    if checkpoints is not None:
        from archcalc.training.checkpoint import fingerprint

        checkpoints.begin(fingerprint(model, settings, splits, backend=job.backend, seed=seed, processes=job.nproc,
                                      precision=job.precision))
    if job.nproc > 1 and rank is None:
        return distributed.launch(spec, dataclasses.asdict(dataclasses.replace(job, seed=seed, epochs=epochs)),
                                  job.nproc)
    trainer = backend.make_trainer(model, settings, seed, device=job.device, precision=job.precision)

    from archcalc.training.progress import BarProgress, NoProgress

    started = time.perf_counter()
    with _probabilities(settings), BarProgress(epochs, quiet=job.fmt == "json") if main else NoProgress() as progress:
        outcome = trainer.fit(splits, epochs, progress, checkpoints)
    seconds = time.perf_counter() - started
    if outcome.diverged:
        lr = settings.optimizer.locs.get("lr", settings.optimizer.loc)
        raise SpecError(lr, f"training diverged: the loss was {outcome.epochs[-1].loss} after epoch "
                        f"{outcome.epochs[-1].epoch}", code="diverged",
                        hint="lower the learning rate (or normalise the data)")
    if not main:
        return None
    test_loss, test_accuracy = trainer.evaluate(*splits.test)
    iou = None
    if settings.task == "classification" and splits.test[1].ndim >= 3:  # a class per pixel: a segmentation
        iou = class_iou(trainer.predict_classes(*splits.test), splits.test[1])

    if output:
        import numpy as np

        buffer = io.BytesIO()
        np.savez(buffer, **trainer.state_dict())
        from archcalc.files import write_atomic

        write_atomic(output, buffer.getvalue(), force=force)
    if plot:
        write_plot(plot, outcome.epochs, outcome.best_epoch, force)
    result = {
        "model": model.name, "backend": job.backend, "data": data.name, "seed": seed, "samples": splits.sizes(),
        "test_accuracy": test_accuracy, "test_loss": test_loss,
        "test_mean_iou": None if iou is None else sum(iou.values()) / len(iou), "test_iou": iou,
        "validation_loss": _validation_loss(outcome, settings.early_stopping is not None),
        "epochs_run": len(outcome.epochs),
        "best_epoch": outcome.best_epoch, "stopped_early": outcome.stopped_early, "seconds": round(seconds, 3),
        "weights": output, "plot": plot,
        "checkpoint": checkpoints.written if checkpoints else None,
        "resumed_from": saved.path if saved else None,
        "processes": job.nproc, "device": job.device, "precision": job.precision,
        "history": [{"epoch": e.epoch, "loss": e.loss, "accuracy": e.accuracy, "val_loss": e.val_loss,
                     "val_accuracy": e.val_accuracy, "lr": settings.optimizer.lr if e.lr is None else e.lr}
                    for e in outcome.epochs],
    }
    return result


@contextlib.contextmanager
def _probabilities(settings: TrainSpec):
    """bce on outputs outside [0, 1] (a network that does not end in a sigmoid), which nn.BCELoss refuses and
    NumPy's BCELoss too, as a located error at the spec's loss instead of an internal one."""
    try:
        yield
    except ValueError as e:  # both backends' BCELoss say so of a finite output outside [0, 1]
        if "left that range" not in str(e):
            raise
        raise SpecError(settings.locs.get("loss", settings.loc), f"{settings.loss} takes probabilities in [0, 1], "
                        "but the network's outputs left that range: it does not end in a sigmoid",
                        code="not-probabilities", hint="end the network with a sigmoid, or use loss: "
                        "bce_with_logits on the raw scores (archcalc lint reports it as T105)") from None


def _validation_loss(outcome, restored: bool) -> float | None:
    """The validation loss of the epoch whose weights the model ends with: the best epoch's when early
    stopping keeps and restores them (``restored``), else the last epoch's."""
    chosen = next((e for e in outcome.epochs if e.epoch == outcome.best_epoch), None) if restored else \
        (outcome.epochs[-1] if outcome.epochs else None)
    return None if chosen is None else chosen.val_loss


def class_iou(predicted, truth) -> dict[str, float]:
    """Intersection over union of each class, over every pixel of the test set: |P ∩ T| / |P ∪ T| where P are
    the pixels predicted as the class and T those that are. A class that is neither predicted nor present
    anywhere has no IoU and is left out: the mean IoU is over the classes that occur. Float targets are a
    yes/no per position (a binary mask): 1 above one half."""
    import numpy as np

    if truth.dtype.kind == "f":
        truth = truth > 0.5
    predicted, truth = predicted.reshape(-1).astype(np.int64), truth.reshape(-1).astype(np.int64)
    k = int(max(predicted.max(), truth.max())) + 1
    confusion = np.bincount(truth * k + predicted, minlength=k * k).reshape(k, k)
    hits = np.diag(confusion)
    union = confusion.sum(0) + confusion.sum(1) - hits
    return {str(c): float(hits[c] / union[c]) for c in range(k) if union[c]}


def work(spec: str, job_file: str) -> None:
    """A process of an ``--nproc`` run (``archcalc train SPEC --worker JOB``, started by torchrun): join
    the process group, train, and leave the outcome (rank 0's result, or the error that ended the run)
    for the launching process, which prints it."""
    import json

    if "TORCHELASTIC_RUN_ID" not in os.environ:
        raise click.UsageError("--worker is for the processes that --nproc starts with torchrun")
    from archcalc.backends.torch import distributed

    distributed.die_with_parent()  # torchrun's agent: if it is killed, so is this worker
    with open(job_file, encoding="utf-8") as f:
        job = Job(**json.load(f))
    group = distributed.join(job.device)
    try:
        result, error = execute(job, group.rank), None
    except SpecError as e:
        result, error = None, e
    finally:
        distributed.leave()
    if group.main:
        distributed.report(result, error)
    distributed.finish()


def check_trainable(model) -> None:
    """A network without trainable parameters has nothing to learn (and torch's optimizers refuse it): none at
    all, or every one frozen (at the first ``trainable: false`` that freezes some; lint rule T115 says the same)."""
    if model.trainable_params != 0:
        return
    if model.non_trainable_params:
        first = next(node for node, _ in model.graph.walk() if node.frozen and model.counts[node].frozen)
        raise SpecError(first.frozen_at, f"every parameter of the network ({model.non_trainable_params:,}) is frozen "
                        "by trainable: false: there is nothing to train", code="bad-train",
                        hint="set trainable: true on the part to train, such as the new head (the nearest setting "
                        "wins)")
    raise SpecError(model.spec.layers_loc, "the network has no trainable parameters: there is nothing to train",
                    code="bad-train", hint="add a layer with weights, e.g. linear or conv2d")


def physical_memory() -> int | None:
    """This machine's memory in bytes, or None where the system does not say (Windows)."""
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(model, settings, memory: int | None = None) -> None:
    """Refuse, before a weight is built, a network whose weights, gradients and optimizer state alone (float32,
    as ``archcalc plan`` counts them) exceed this machine's memory: Llama 3 8B with Adam needs 128 GB and was
    killed by the system minutes into building it, with no word on why."""
    from archcalc.calc.plan import optimizer_bytes, optimizer_from_spec, param_tensors

    memory = memory if memory is not None else physical_memory()
    if memory is None:
        return
    tensors = param_tensors(model.graph)
    optimizer = optimizer_from_spec(settings)
    needed = 4 * (model.weights() + model.trainable_params) + optimizer_bytes(optimizer, tensors)  # gradients: trained
    if needed <= memory:
        return
    largest = model.heaviest_layer()
    raise SpecError(largest.loc, f"training needs {needed / 2**30:,.1f} GiB for the weights, their gradients and "
                    f"{optimizer}'s state alone (float32, before any activation), and this machine has "
                    f"{memory / 2**30:,.1f} GiB; this layer holds {model.weights(largest):,} of the "
                    f"{int(model.total_params):,} parameters", code="resource-limit",
                    hint="train a smaller configuration with --set (fewer layers, a smaller vocabulary or width); "
                         "`archcalc plan` shows the memory of a run on GPUs")


def check_batch_norm(model, settings) -> None:
    """Batch norm cannot train on a batch of one value per channel (PyTorch raises), so refuse before training
    (lint rule N106 warns of the same, with the same predicate)."""
    from archcalc.layers.batchnorm import BatchNorm

    for node in model.layers:
        if isinstance(node.layer, BatchNorm) and node.layer.trains_on(node.in_shape, settings.batch_size) is False:
            raise SpecError(settings.locs.get("batch_size", settings.loc), f"batch_size 1 cannot train `{node.path}` "
                            f"({node.kind}): it would see one value per channel", code="bad-train",
                            hint="batch norm needs at least 2 values per channel; train with batches of 16 or more")


def write_plot(path: str, epochs: list[Epoch], best: int, force: bool) -> None:
    from archcalc.files import write_atomic
    from archcalc.plot import curves_png

    series = {"loss": {"train": [e.loss for e in epochs], "validation": [e.val_loss for e in epochs]},
              "accuracy": {"train": [e.accuracy for e in epochs], "validation": [e.val_accuracy for e in epochs]}}
    write_atomic(path, curves_png([e.epoch for e in epochs], series, best), force=force)


def emit_result(result: dict, fmt: str) -> None:
    if fmt == "json":
        import json

        click.echo(json.dumps(result, indent=2))
        return
    sizes = result["samples"]
    out = terminal().file
    where = [f"{result['processes']} processes"] if result["processes"] > 1 else []
    where += [result[key] for key, plain in (("device", "cpu"), ("precision", "fp32")) if result[key] != plain]
    lines = [f"{result['model']} on {result['data']} ({sizes['train']} training, {sizes['validation']} validation, "
             f"{sizes['test']} test samples), {result['backend']} backend{', ' if where else ''}{', '.join(where)}, "
             f"seed {result['seed']}"]
    if result["resumed_from"]:
        lines.append(f"resumed from    {result['resumed_from']}")
    stop = " (early stopping restored it)" if result["stopped_early"] else ""
    lines.append(f"epochs run      {result['epochs_run']}, best {result['best_epoch']}{stop}")
    if result["test_accuracy"] is not None:
        lines.append(f"test accuracy   {100 * result['test_accuracy']:.2f} %")
    lines.append(f"test loss       {result['test_loss']:.4f}")
    if result.get("test_mean_iou") is not None:
        per_class = ", ".join(f"{c}: {v:.3f}" for c, v in result["test_iou"].items())
        lines.append(f"test mean IoU   {result['test_mean_iou']:.4f} (class {per_class})")
    if result.get("validation_loss") is not None:
        lines.append(f"val loss        {result['validation_loss']:.4f}")
    lines.append(f"time            {result['seconds']:.2f} s")
    for key, label in (("weights", "weights saved"), ("plot", "curves drawn"), ("checkpoint", "checkpoint")):
        if result[key]:
            lines.append(f"{label:<15} {result[key]}")
    out.write("\n".join(lines) + "\n")
