"""Batch norm in a model trained with batch_size 1.

## What it does
Reports `train: {batch_size: 1}` in a model with a batch norm layer (`BatchNorm`) that sees one
value per channel: `batchnorm1d` after a linear layer, or a 1×1 feature map.

## Why is this bad?
Batch norm normalises each channel with the mean and variance of the current batch. With one sample
per batch and one value per channel the variance is 0 and PyTorch raises "Expected more than 1
value per channel when training". Over a feature map the statistics are those of the one sample's
positions, as instance norm's: pix2pix and the common U-Net recipes train with batches of 1 so, and
the rule leaves them alone.

## Example
```yaml
input: [20]
layers:
  - linear: {out: 16, bias: false}
  - batchnorm1d
  - relu
  - linear: 3
train:
  task: classification
  classes: 3
  batch_size: 1
```

Use instead:
```yaml
input: [20]
layers:
  - linear: {out: 16, bias: false}
  - batchnorm1d
  - relu
  - linear: 3
train:
  task: classification
  classes: 3
  batch_size: 32
```

## References
- Ioffe & Szegedy, "Batch Normalization", ICML 2015: statistics are estimated per mini-batch.
- Wu & He, "Group Normalization", ECCV 2018: batch norm's error grows rapidly as the batch shrinks.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.batchnorm import BatchNorm
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is None or train.batch_size != 1:
        return
    norms = [node for node in ctx.layers if isinstance(node.layer, BatchNorm)]
    if not norms:
        return
    single = [node for node in norms if node.layer.trains_on(node.in_shape, 1) is False]
    if not single:
        return  # over a map, one sample's statistics are its own positions' (pix2pix, U-Net train so)
    why = (f"`{single[0].path}` ({single[0].kind}) sees one value per channel, so PyTorch raises "
           "'Expected more than 1 value per channel when training'")
    yield Finding(ctx.train_loc("batch_size"), f"batch_size 1 with batch norm: {why}",
                  hint="train with batches of 16 or more, or use a normalisation that does not depend on the batch")
