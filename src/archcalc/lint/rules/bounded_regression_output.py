"""A regression ends in an activation whose outputs cannot reach its targets.

## What it does
Reports a `task: regression` whose model ends in a bounded activation: a `softmax` over several
outputs always, and a `sigmoid` (0 … 1), `tanh` (−1 … 1), `relu` (≥ 0), `relu6` (0 … 6),
`log_softmax` (≤ 0) or any other kind with bounded outputs (`Layer.BOUNDS`: `hardsigmoid`,
`softplus`, `elu`, `hardswish`, `step`, `softcap`) when the spec's `target_range` reaches outside
what that activation can give.
Without a declared `target_range`, a sigmoid or tanh is left alone: the targets may have been
scaled to fit it. Under `poisson_nll` with `log_input` (torch's default) the output is the log of the
predicted rate, so the range that must reach the targets is the exponential of the activation's: a
final `relu` predicts rates of 1 and more, a `sigmoid` rates between 1 and e.

## Why is this bad?
A regression predicts real values, and its last layer's range is the range of every prediction.
A softmax makes the outputs positive and sum to 1, which fits only targets that are themselves a
distribution; a sigmoid cannot predict 5, and a relu cannot predict −1, so the loss on those
targets never falls below the distance to the nearest reachable value, and the saturated
activation passes almost no gradient back. The usual cause is a classifier's output layer kept for
a regression.

## Example
```yaml
input: [8]
layers:
  - linear: 32
  - relu
  - linear: 1
  - sigmoid
train:
  task: regression
  target_range: [0, 500]
```

Use instead:
```yaml
input: [8]
layers:
  - linear: 32
  - relu
  - linear: 1
train:
  task: regression
  target_range: [0, 500]
```

## References
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "wrong activation function"
  of the output layer.
- DeepLocalize (Wardat et al., ICSE 2021) benchmark: regressions ending in softmax or sigmoid (Stack Overflow
  33969059, 48221692).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from archcalc import symbolic
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or train.task != "regression" or node is None or node.layer.BOUNDS is None:
        return
    low, high = bounds = node.layer.BOUNDS  # the values the kind can output (Layer.BOUNDS)
    targets = train.target_range
    hint = "end the model with its last linear layer (raw outputs), or scale the targets into the activation's range"
    through = ""
    if train.loss == "poisson_nll" and train.loss_params["log_input"]:  # the loss predicts the rate exp(output)
        low, high = math.exp(low), math.exp(high)
        through = f", whose exp (the rate poisson_nll predicts from its log) lies in [{low:g}, {high:g}]"
        hint = "end the model with its last linear layer: it gives log λ, and poisson_nll applies exp itself"
    size = node.in_shape[node.layer.axis(node.in_shape)] if node.kind == "softmax" and node.in_shape else 1
    if symbolic.is_int(size) and size > 1:  # the outputs along softmax's own axis share one sum
        yield Finding(node.loc, f"`{node.path}` (softmax) makes a regression's {size} outputs positive and "
                      "sum to 1: only targets that are themselves distributions fit", hint=hint)
    elif targets is not None and (targets[0] < low or targets[1] > high):
        yield Finding(node.loc, f"`{node.path}` ({node.kind}) outputs only values in [{bounds[0]:g}, {bounds[1]:g}]"
                      f"{through}, but target_range is [{targets[0]:g}, {targets[1]:g}]: the targets outside cannot "
                      "be predicted", hint=hint)
