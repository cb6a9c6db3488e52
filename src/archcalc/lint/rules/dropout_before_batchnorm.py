"""Dropout directly before batch norm.

## What it does
Reports a dropout layer (`dropout`, channel dropout such as `dropout2d`, any kind with `Trait.DROPOUT`)
whose output goes straight into a batch norm layer, or into an instance norm that keeps running
statistics (`track_running_stats: true`); one without them normalises each example with its own
statistics at test time too, and is not reported.

## Why is this bad?
Dropout changes the variance of what it passes on: in training the survivors are scaled by
1/(1 − p), in evaluation it is the identity. The batch norm after it learns its running variance
from the training-time variance and then applies it to the different evaluation-time one, so the
normalised activations are off at test time ("variance shift"), which costs accuracy.

## Example
```yaml
input: [20]
layers:
  - linear: {out: 16, bias: false}
  - dropout: 0.5
  - batchnorm1d
  - relu
  - linear: 3
```

Use instead:
```yaml
input: [20]
layers:
  - linear: {out: 16, bias: false}
  - batchnorm1d
  - relu
  - dropout: 0.5
  - linear: 3
```

## References
- Li, Chen, Hu, Yang, "Understanding the Disharmony between Dropout and Batch Normalization by Variance
  Shift", CVPR 2019.
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f006.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.batchnorm import BatchNorm
from archcalc.layers.instancenorm import InstanceNorm
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import pairs

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        for a, b in pairs(run):
            if Trait.DROPOUT in a.layer.TRAITS and _keeps_running_statistics(b.layer):
                norm = "instance norm" if isinstance(b.layer, InstanceNorm) else "batch norm"
                yield Finding(a.loc, f"`{a.path}` ({a.kind}) feeds `{b.path}` ({b.kind}) directly: the {norm}'s "
                              "running variance, learnt from dropout's training-time output, is wrong at test time",
                              hint=f"put the dropout after the {norm} and activation, or remove it")


def _keeps_running_statistics(layer: object) -> bool:
    """Batch norm, and instance norm with ``track_running_stats``: both normalise at test time with statistics
    learnt from training-time outputs (an instance norm without them uses each example's own, in both modes)."""
    return isinstance(layer, BatchNorm) or (isinstance(layer, InstanceNorm) and layer.track_running_stats)
