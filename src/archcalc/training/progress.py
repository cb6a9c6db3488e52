"""The progress of ``archcalc train``: one rich progress line on standard error, and a line per epoch.

Imported only when training starts, so ``archcalc train --help`` and the other commands never load rich.
rich is optional (the ``train`` extra): without it the run prints the line per epoch and no bar.
"""

from __future__ import annotations

import time

from archcalc.training import Epoch


class BarProgress:
    """One rich progress line for the whole run, on standard error: the epoch and the batch within it,
    a bar over all the run's steps, the epoch's running loss and accuracy, samples and optimizer steps
    per second, and the time left (to the last epoch: early stopping may end the run sooner); and a
    line per finished epoch. Nothing animated when standard error is not a terminal. A resumed run's
    bar starts where the run is, and its rates count only the steps of this process."""

    def __init__(self, epochs: int, quiet: bool = False, console=None):
        self.epochs, self.quiet = epochs, quiet
        self.started = time.perf_counter()
        self.before: int | None = None  # the run's steps done before this process took over
        self.current, self.seen, self.samples = 0, 0, 0  # the epoch, its samples so far, this process's samples
        try:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
        except ImportError:  # no rich: the lines per epoch alone, written by click
            self.console = self.bar = None
            return
        self.console = console or Console(stderr=True)
        self.bar = Progress(TextColumn("epoch {task.fields[epoch]}/" + str(epochs)),
                            TextColumn("batch {task.fields[batch]}"), BarColumn(), TextColumn("{task.fields[stats]}"),
                            TimeElapsedColumn(), console=self.console, transient=True,
                            disable=not self.console.is_terminal)
        self.task = self.bar.add_task("train", total=None, epoch=0, batch="", stats="")

    def __enter__(self) -> BarProgress:
        self.started = time.perf_counter()
        if self.bar is not None:
            self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()

    def batch(self, epoch: int, batch: int, batches: int, loss: float, accuracy: float | None, samples: int) -> None:
        if self.bar is None:
            return
        done, total = (epoch - 1) * batches + batch, self.epochs * batches
        if self.before is None:
            self.before = done - 1
        if epoch != self.current:
            self.current, self.seen = epoch, 0
        self.samples += samples - self.seen
        self.seen = samples
        seconds = max(time.perf_counter() - self.started, 1e-9)
        steps = (done - self.before) / seconds
        left = (total - done) / steps
        acc = f"  acc {100 * accuracy:5.1f} %" if accuracy is not None else ""
        stats = (f"loss {loss:.4f}{acc}  {self.samples / seconds:,.0f} samples/s  {steps:,.1f} steps/s  "
                 f"ETA {int(left) // 3600}:{int(left) // 60 % 60:02d}:{int(left) % 60:02d}")
        self.bar.update(self.task, total=total, completed=done, epoch=epoch, batch=f"{batch}/{batches}", stats=stats)

    def epoch(self, record: Epoch) -> None:
        if self.quiet:
            return
        parts = [f"epoch {record.epoch:>3}", f"loss {record.loss:.4f}"]
        if record.accuracy is not None:
            parts.append(f"acc {100 * record.accuracy:5.1f} %")
        if record.val_loss is not None:
            parts.append(f"val_loss {record.val_loss:.4f}")
        if record.val_accuracy is not None:
            parts.append(f"val_acc {100 * record.val_accuracy:5.1f} %")
        if record.lr is not None:
            parts.append(f"lr {record.lr:.3g}")
        parts.append(f"{record.seconds:.2f} s")
        if self.console is None:
            import click

            click.echo("  ".join(parts), err=True)
        else:
            self.console.print("  ".join(parts), highlight=False, soft_wrap=True)  # one line, however narrow


class NoProgress:
    """The progress of the processes of a distributed run other than rank 0: none (rank 0 draws the line)."""

    def __enter__(self) -> NoProgress:
        return self

    def __exit__(self, *exc: object) -> None:
        pass

    def batch(self, epoch: int, batch: int, batches: int, loss: float, accuracy: float | None, samples: int) -> None:
        pass

    def epoch(self, record: Epoch) -> None:
        pass
