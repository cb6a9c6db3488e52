"""The model ends in softmax or sigmoid but trains with a loss that takes logits.

## What it does
Reports a model whose output layer is a softmax or sigmoid while `train: loss` is
`cross_entropy` (which applies log-softmax itself) or `bce_with_logits` (which applies the
sigmoid itself).

## Why is this bad?
The loss then squashes values that are already probabilities: softmax (or sigmoid) is applied
twice. The loss sees inputs confined to [0, 1], so the predicted distribution can never be
confident (cross-entropy over scores in [0, 1] puts at most e¹/(e¹ + (K−1)e⁰) on the right class),
the gradients shrink, and training slows or stalls at a high loss. The model looks right at
inference, which is why this mistake survives.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
  - softmax
train:
  task: classification
  classes: 3
  loss: cross_entropy
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
train:
  task: classification
  classes: 3
  loss: cross_entropy
```

(apply softmax to the outputs at inference time, when probabilities are wanted).

## References
- PyTorch `torch.nn.CrossEntropyLoss`: "The input is expected to contain the unnormalized logits for each class".
- PyTorch `torch.nn.BCEWithLogitsLoss`: combines a sigmoid layer and BCELoss in one class.
- UMLAUT (Schoop et al., CHI 2021): softmax computed before a `from_logits` loss.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import PROBABILITY_LAYERS

SEVERITY = WARNING
#: losses that take logits → what they apply to them first
LOGITS_LOSSES = {"cross_entropy": "log-softmax", "bce_with_logits": "a sigmoid"}


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.train, ctx.output_layer
    if train is None or node is None or train.loss not in LOGITS_LOSSES:
        return
    if isinstance(node.layer, PROBABILITY_LAYERS):
        yield Finding(node.loc, f"the model ends in `{node.path}` ({node.kind}) but trains with {train.loss}, which "
                      f"applies {LOGITS_LOSSES[train.loss]} itself: the loss gets probabilities instead of logits",
                      hint=f"remove the final {node.kind} (apply it at inference time)")
