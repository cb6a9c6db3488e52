"""`loss: bce` on a model whose output is not a probability.

## What it does
Reports `train: {loss: bce}` when the model does not end in a sigmoid (or softmax), so its
outputs are not confined to [0, 1]. Layers that keep values in [0, 1] may follow it: a reshape or a
selection (DCGAN's discriminator ends `output.view(-1, 1).squeeze(1)`), a mean, a pooling (a
multiple-instance network's bag probability, the maximum or average of its patches') or an
upsampling (a mask interpolated to the image); not dropout, which scales the survivors past 1.

## Why is this bad?
`bce` (PyTorch `BCELoss`) computes −[y·log p + (1 − y)·log(1 − p)] and needs p in [0, 1]:
PyTorch raises "all elements of input should be between 0 and 1" on the first batch that has a
value outside, and a raw linear output has them from the start. `bce_with_logits` takes the raw
outputs and applies the sigmoid itself, in a numerically stable form.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 1
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
train:
  task: classification
  classes: 2
  loss: bce_with_logits
```

## References
- PyTorch `torch.nn.BCELoss` and `torch.nn.BCEWithLogitsLoss` ("more numerically stable than using a plain
  Sigmoid followed by a BCELoss").
- NeuraLint (Nikanjam et al., TOSEM 2022), rules f008/f012: missing probability activation on the output.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding
from archcalc.lint.structure import output_kind
from archcalc.spec.train import PROBABILITIES

SEVERITY = ERROR


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or train.loss != "bce" or output_kind(ctx.graph, train) == PROBABILITIES:
        return
    what = f"`{node.path}` ({node.kind})" if node is not None else "an addition or concatenation"
    yield Finding(node.loc if node is not None else ctx.train_loc("loss"),
                  f"bce takes probabilities in [0, 1], but the model ends in {what}, whose outputs are not confined "
                  "to [0, 1]: PyTorch's BCELoss raises on the first value outside",
                  hint="use loss: bce_with_logits (it applies the sigmoid itself, stably), or end with - sigmoid")
