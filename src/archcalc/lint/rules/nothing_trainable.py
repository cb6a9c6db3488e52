"""A spec with a `train:` section in which no parameter is trainable: training would change nothing.

## What it does
Reports a spec with a `train:` section whose network has no trainable parameter: every parameter
is under `trainable: false` (the finding is at the first `trainable: false` that freezes some), or
the network has none at all (the finding is at `train:`).

## Why is this bad?
An optimizer steps the parameters that require a gradient, and here there are none: PyTorch's
optimizers refuse an empty parameter list (`optimizer got an empty parameter list`), and a loop
that skipped the step would run every epoch, report the same loss and return the weights it
started with. A frozen layer keeps its weights through training (torch's `requires_grad_(False)`,
Keras' `trainable = False`): freezing is for part of a network, such as a pretrained backbone
under a new head, which then has to be trainable. `archcalc train` refuses such a spec before it
builds anything; this rule says so when the spec is written.

## Example
```yaml
input: [64]
layers:
  - name: backbone
    trainable: false
    layers: [linear: 32, relu]
  - {linear: 10, trainable: false}
train:
  task: classification
  classes: 10
```

Use instead:
```yaml
input: [64]
layers:
  - name: backbone
    trainable: false
    layers: [linear: 32, relu]
  - linear: 10                # the new head learns
train:
  task: classification
  classes: 10
```

## References
- PyTorch, "Finetuning Torchvision Models" / "Transfer learning for computer vision": freeze the
  backbone with `requires_grad = False` and optimise only the new layer's parameters.
- Keras, "Transfer learning & fine-tuning" (keras.io/guides/transfer_learning): `trainable = False`
  moves a layer's weights to the non-trainable ones; at least the new head stays trainable.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding

SEVERITY = ERROR


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    model = ctx.model
    if train is None or not symbolic.equal(model.trainable_params, 0):
        return
    frozen = model.non_trainable_params
    if symbolic.equal(frozen, 0):
        yield Finding(train.loc, f"the network has no parameters, so training with {train.optimizer.name} has "
                      "nothing to change", hint="add a layer with weights (linear, conv2d), or remove the train: "
                      "section")
        return
    first = next(node for node, _ in ctx.graph.walk() if node.frozen and not symbolic.equal(
        model.counts[node].frozen, 0))
    amount = f"{frozen:,}" if symbolic.is_int(frozen) else symbolic.fmt(frozen)
    yield Finding(first.frozen_at, f"every parameter of the network ({amount}) is frozen by trainable: false, so "
                  f"training with {train.optimizer.name} has nothing to change",
                  hint="set trainable: true on the part to train, such as the new head (the nearest setting "
                  "wins), or remove the train: section")
