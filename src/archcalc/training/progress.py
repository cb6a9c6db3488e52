"""The progress of ``archcalc train``: one rich progress line on standard error, and a line per epoch.

Imported only when training starts, so ``archcalc train --help`` and the other commands never load rich.
"""

from __future__ import annotations

import time

from archcalc.training import Epoch


class BarProgress:
    """A rich progress bar on standard error: epoch, batch, running loss and accuracy, samples per second,
    and one line per finished epoch. Nothing animated when standard error is not a terminal."""

    def __init__(self, epochs: int, quiet: bool = False, console=None):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

        self.console = console or Console(stderr=True)
        self.epochs, self.quiet, self.current, self.started = epochs, quiet, 0, 0.0
        self.bar = Progress(TextColumn("epoch {task.fields[epoch]}/" + str(epochs)), BarColumn(),
                            TextColumn("batch"), MofNCompleteColumn(), TextColumn("{task.fields[stats]}"),
                            TimeElapsedColumn(), console=self.console, transient=True,
                            disable=not self.console.is_terminal)
        self.task = self.bar.add_task("train", total=None, epoch=0, stats="")

    def __enter__(self) -> BarProgress:
        self.bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()

    def batch(self, epoch: int, batch: int, batches: int, loss: float, accuracy: float | None, samples: int) -> None:
        if epoch != self.current:
            self.current, self.started = epoch, time.perf_counter()
            self.bar.reset(self.task, total=batches, epoch=epoch, stats="")
        rate = samples / max(time.perf_counter() - self.started, 1e-9)
        acc = f"  acc {100 * accuracy:5.1f} %" if accuracy is not None else ""
        self.bar.update(self.task, completed=batch, stats=f"loss {loss:.4f}{acc}  {rate:,.0f} samples/s")

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
        parts.append(f"{record.seconds:.2f} s")
        self.console.print("  ".join(parts), highlight=False)
