"""A regression's output passes through a ReLU, which stops all learning once its input turns negative.

## What it does
Reports a `task: regression` whose model ends in an activation with a zero derivative for every
negative input (`relu`, `relu6`: `Trait.DIES`) when the spec declares no `target_range`. With a
declared range, `bounded-regression-output` (T108) judges whether the activation can reach the
targets, and a range that starts at 0 says that the clamp is meant.

## Why is this bad?
A hidden layer has many ReLU units and loses little when some of them die; an output has one unit
per target and no spare. Wherever the output unit's input is negative, the prediction is 0 and the
gradient reaching every layer below is exactly 0, so those samples teach the network nothing, and
every negative target is predicted as 0. One large update that pushes the output's bias below the
pre-activations of all samples leaves the whole network without gradient: the loss stays flat from
then on, with no error to show for it (AUTOTRAINER's "dying ReLU"). A regression's output is
usually the last linear layer itself; non-negative targets are better served by `softplus`, whose
derivative is never 0, or by scaled targets and a `sigmoid` or `tanh`.

## Example
```yaml
input: [2]
layers:
  - linear: 4
  - relu
  - linear: 1
  - relu
train:
  task: regression
  loss: mse
```

Use instead:
```yaml
input: [2]
layers:
  - linear: 4
  - relu
  - linear: 1
train:
  task: regression
  loss: mse
```

## References
- Zhang et al., "AUTOTRAINER: An Automatic DNN Training Problem Detection and Repair System", ICSE 2021:
  dying ReLU among the training problems it detects and repairs.
- Lu et al., "Dying ReLU and Initialization: Theory and Numerical Examples", 2019: a ReLU network can
  collapse to a constant function, and deep narrow ones do so with high probability at initialisation.
- DeepLocalize (Wardat et al., ICSE 2021) benchmark: a regression ending in relu (Stack Overflow 48251943).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or train.task != "regression" or train.target_range is not None or node is None:
        return
    if Trait.DIES in node.layer.TRAITS:
        yield Finding(node.loc, f"the regression's output goes through `{node.path}` ({node.kind}): wherever its "
                      "input is negative the prediction is 0 and no gradient flows back, so negative targets "
                      "cannot be fitted and a step that makes every input negative stops training for good",
                      hint="end the model with its last linear layer; for non-negative targets use `- softplus`, or "
                      "declare target_range if the clamp at 0 is meant")
