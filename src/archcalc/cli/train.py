"""``archcalc train SPEC``: train the network with the spec's ``train:`` section and report test metrics.

Parse, then run: the options and the spec are checked, the data loaded and split, and every output
path checked, before the first epoch, so a mistake never costs a training run. The backend is
looked up in :data:`archcalc.training.BACKENDS`; the progress line is
:class:`archcalc.training.progress.BarProgress`.
"""

from __future__ import annotations

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
from archcalc.training import BACKENDS, Epoch


@click.command()
@spec_options
@click.option("--backend", type=click.Choice(list(BACKENDS)), default="numpy", show_default=True,
              help="Which implementation trains the network.")
@click.option("--data", "source", default="digits", show_default=True, metavar="digits|FILE.npz|FILE.csv",
              help="Training data: scikit-learn's 8×8 digits, arrays x and y in an .npz, or a CSV whose last "
                   "column is the target.")
@click.option("--epochs", type=click.IntRange(min=1), default=None, help="Override the spec's epochs.")
@click.option("--seed", type=click.IntRange(min=0), default=None,
              help="Seed for the split, the initial weights, the batch order and dropout (default: the spec's, or 0).")
@click.option("--plot", type=click.Path(dir_okay=False), default=None, metavar="FILE.png",
              help="Draw the loss and accuracy curves into a PNG file.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None, metavar="FILE.npz",
              help="Save the trained weights (PyTorch's state_dict names) to an .npz file.")
@click.option("--force", is_flag=True, help="Overwrite the --plot and -o files if they exist.")
@format_option("text", "json", default="text")
@handle_errors
def train(spec: str, sets: dict[str, int], symbolic: bool, limits, backend: str, source: str, epochs: int | None,
          seed: int | None, plot: str | None, output: str | None, force: bool, fmt: str) -> None:
    """Train SPEC on DATA and print the test accuracy and loss.

    The data are split 70/15/15 into training, validation and test sets; training follows the
    spec's train: section (loss, optimizer, batch size, epochs, weight decay, L1, early stopping
    on the validation set, which restores the best weights). The same --seed gives the same run.
    """
    from archcalc.backends.optional import require

    if output is not None:
        check_suffix(output, ".npz", "the weights file")
    if plot is not None:
        check_suffix(plot, ".png", "the plot", option="'--plot'")
    require("numpy")  # the data arrive as NumPy arrays, whichever backend trains
    from archcalc.data import load_data, split

    model = load_model(spec, sets, symbolic, limits)
    model.require_values("train", cli=True)
    check_trainable(model)
    settings = TrainSpec.of(model.spec)
    if model.spec.train is None:
        click.echo(f"note: {spec_name(spec)} has no train: section; training with the defaults ({settings.task}, "
                   f"{settings.loss}, {settings.optimizer.name} lr {settings.optimizer.lr:g}, batch "
                   f"{settings.batch_size}, {settings.epochs} epochs)", err=True)
    check_batch_norm(model, settings)
    seed = seed if seed is not None else settings.seed if settings.seed is not None else 0
    epochs = epochs or settings.epochs
    if plot and output and os.path.realpath(plot) == os.path.realpath(output):
        raise SpecError(Loc(plot, 1, 1), "--plot and -o name the same file", code="usage",
                        hint="give the curves and the weights different names")
    for path in filter(None, (plot, output)):
        check_writable(path, force=force)
    data = load_data(source, model, settings)
    splits = split(data, seed)
    trainer = importlib.import_module(BACKENDS[backend]).make_trainer(model, settings, seed)

    from archcalc.training.progress import BarProgress

    started = time.perf_counter()
    with BarProgress(epochs, quiet=fmt == "json") as progress:
        outcome = trainer.fit(splits, epochs, progress)
    seconds = time.perf_counter() - started
    if outcome.diverged:
        lr = settings.optimizer.locs.get("lr", settings.optimizer.loc)
        raise SpecError(lr, f"training diverged: the loss was {outcome.epochs[-1].loss} after epoch "
                        f"{outcome.epochs[-1].epoch}", code="diverged",
                        hint="lower the learning rate (or normalise the data)")
    test_loss, test_accuracy = trainer.evaluate(*splits.test)

    if output:
        import numpy as np

        buffer = io.BytesIO()
        np.savez(buffer, **trainer.state_dict())
        from archcalc.files import write_atomic

        write_atomic(output, buffer.getvalue(), force=force)
    if plot:
        write_plot(plot, outcome.epochs, outcome.best_epoch, force)
    result = {
        "model": model.name, "backend": backend, "data": data.name, "seed": seed, "samples": splits.sizes(),
        "test_accuracy": test_accuracy, "test_loss": test_loss, "epochs_run": len(outcome.epochs),
        "best_epoch": outcome.best_epoch, "stopped_early": outcome.stopped_early, "seconds": round(seconds, 3),
        "weights": output, "plot": plot,
        "history": [{"epoch": e.epoch, "loss": e.loss, "accuracy": e.accuracy, "val_loss": e.val_loss,
                     "val_accuracy": e.val_accuracy} for e in outcome.epochs],
    }
    emit_result(result, fmt)


def check_trainable(model) -> None:
    """A network without trainable parameters has nothing to learn (and torch's optimizers refuse it)."""
    if model.trainable_params == 0:
        raise SpecError(model.spec.layers_loc, "the network has no trainable parameters: there is nothing to train",
                        code="bad-train", hint="add a layer with weights, e.g. linear or conv2d")


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
    lines = [f"{result['model']} on {result['data']} ({sizes['train']} training, {sizes['validation']} validation, "
             f"{sizes['test']} test samples), {result['backend']} backend, seed {result['seed']}"]
    stop = " (early stopping restored it)" if result["stopped_early"] else ""
    lines.append(f"epochs run      {result['epochs_run']}, best {result['best_epoch']}{stop}")
    if result["test_accuracy"] is not None:
        lines.append(f"test accuracy   {100 * result['test_accuracy']:.2f} %")
    lines.append(f"test loss       {result['test_loss']:.4f}")
    lines.append(f"time            {result['seconds']:.2f} s")
    for key, label in (("weights", "weights saved"), ("plot", "curves drawn")):
        if result[key]:
            lines.append(f"{label:<15} {result[key]}")
    out.write("\n".join(lines) + "\n")
