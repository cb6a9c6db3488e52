"""A softmax (or log-softmax) over an axis of size 1, whose output is always 1 (or 0).

## What it does
Reports `softmax` or `log_softmax` whose normalised axis (`dim`, the channels by default) has a
single element.

## Why is this bad?
Softmax divides each element by the sum over its axis: over one element that is x/x, so every
output is exactly 1 (log-softmax: 0), whatever the input, and no gradient reaches the layers
before it. A binary classifier with one output unit and a softmax predicts the positive class for
every sample and never learns. One output with two classes needs a sigmoid (`bce`, or
`bce_with_logits` without it); a softmax needs one output per class.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 1
  - softmax
train:
  task: classification
  classes: 2
  loss: bce
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 1
  - sigmoid
train:
  task: classification
  classes: 2
  loss: bce
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f017: wrong last-layer activation for a binary classifier.
- PyTorch `torch.nn.Softmax`: "rescales them so that the elements of the n-dimensional output Tensor lie in the
  range [0,1] and sum to 1" along `dim`.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.softmax import OverAxis
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding

SEVERITY = ERROR
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        if not isinstance(node.layer, OverAxis):
            continue
        size = node.in_shape[node.layer.axis(node.in_shape)]
        if not symbolic.is_int(size) or size != 1:
            continue
        value = "0 (log 1)" if node.kind == "log_softmax" else "1"
        train = ctx.objective
        binary = train is not None and train.task == "classification" and train.classes == 2
        hint = ("for one output and two classes end with - sigmoid (loss: bce), or drop it and use "
                "loss: bce_with_logits" if binary else "give the layer before it one output per class, or use sigmoid "
                "for independent yes/no outputs")
        yield Finding(node.loc, f"`{node.path}` ({node.kind}) normalises over an axis of size 1: every output is "
                      f"{value} whatever the input, and no gradient flows back through it", hint=hint)
