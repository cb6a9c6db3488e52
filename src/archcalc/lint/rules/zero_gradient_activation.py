"""A model trained by gradient descent passes its signal through `step` (sign), whose gradient is zero.

## What it does
Reports a `step` (`sign`) layer in a model that has a `train:` section when layers with
parameters come before it in its run of layers: their only way to the output goes through the
step, so the gradient that reaches them is zero. (Layers after the step, and layers whose output
also reaches the output around it through a shortcut, still learn.)

## Why is this bad?
The perceptron's threshold unit sign(h) is flat everywhere except at 0, where it jumps: its
derivative is 0 wherever it exists (PyTorch's `torch.sign` backpropagates 0). Every optimizer
archcalc trains with (SGD, AdaGrad, RMSProp, Adadelta, Adam, AdamW, Adamax, NAdam, RAdam) follows
the gradient, so the weights
before the step never change: training runs, reports a loss, and learns nothing there. Rosenblatt's
perceptron learns with its own rule, w ← w + η(y − ŷ)x, which is not gradient descent on this
network; trained by gradients, the same neuron needs a differentiable activation, such as the
sigmoid of logistic regression.

## Example
```yaml
input: [2]
layers:
  - linear: 1
  - step
train:
  task: regression
  loss: mse
```

Use instead:
```yaml
input: [2]
layers:
  - linear: 1
  - sigmoid
train:
  task: classification
  classes: 2
  loss: bce
```

## References
- The lecture notes on perceptrons and activations: the neuron h = wᵀx + b, ŷ = σ(h), and the
  update w ← w − η·∇w L, which needs σ to have a useful derivative.
- Rosenblatt, "The Perceptron: A Probabilistic Model for Information Storage and Organization in the Brain",
  Psychological Review 65(6), 1958 (the perceptron learning rule).
- PyTorch `torch.sign`: its gradient is zero.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.step import Step
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding

SEVERITY = ERROR
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is None:
        return
    for run in ctx.chains:
        start = 0  # the layers before an earlier step are that step's finding
        for i, node in enumerate(run):
            if not (isinstance(node, LayerNode) and isinstance(node.layer, Step)):
                continue
            frozen = [before for before in run[start:i] if ctx.model.counts[before].trainable != 0]
            start = i + 1
            if not frozen:
                continue
            count = sum(ctx.model.counts[before].trainable for before in frozen)
            what = f"`{frozen[0].path}`" if len(frozen) == 1 else f"`{frozen[0].path}` … `{frozen[-1].path}`"
            every = "" if not symbolic.equal(count, ctx.model.trainable_params) else \
                " (every parameter of the model)" if symbolic.equal(ctx.model.non_trainable_params, 0) else \
                " (every trainable parameter of the model)"
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) has a zero gradient everywhere, so training with "
                          f"{train.optimizer.name} never changes the {_number(count)} parameters of {what} before it"
                          f"{every}",
                          hint="use a differentiable activation (sigmoid with loss: bce, as logistic regression "
                          "does), or remove the train: section")


def _number(value: object) -> str:
    return f"{value:,}" if symbolic.is_int(value) else symbolic.fmt(value)
