"""The model ends in the activation its loss applies itself, which a hand-written PyTorch training loop applies twice.

## What it does
Reports a model whose output layer is the very activation that its `train: loss` applies to
the logits itself: a softmax over the classes with `cross_entropy` (log-softmax), a sigmoid with
`bce_with_logits`. It is informational (off by default): the spec is right for archcalc. (A
different squashing layer before such a loss, such as a sigmoid before `cross_entropy`, is a
real mistake everywhere: `activated-logits`, A103, reports it.)

## Why is this bad?
It is not, inside archcalc: `archcalc train` (NumPy and PyTorch) and the exported training code
train such a network on the logits before its last layer, so nothing is applied twice, and the
model's own output stays a probability. The danger is the module taken elsewhere: the exported
PyTorch module (`archcalc export --to torch`, `archcalc.to_torch`) returns probabilities from
`module(x)`, and a training loop written the usual way, `nn.CrossEntropyLoss()(module(x), y)`,
applies softmax a second time. The loss then sees scores confined to [0, 1], so it can never be
confident (at most e/(e + K − 1) on the right class of K), the gradients shrink, and training
stalls at a high loss, while the model looks right at inference. The generated module's
`module(x, logits=True)` gives the logits for such a loop.

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

(apply softmax to the outputs at inference time, when probabilities are wanted), or keep the
softmax and train the exported module on `module(x, logits=True)`.

## References
- PyTorch `torch.nn.CrossEntropyLoss`: "The input is expected to contain the unnormalized logits for each class".
- PyTorch `torch.nn.BCEWithLogitsLoss`: combines a sigmoid layer and BCELoss in one class.
- UMLAUT (Schoop et al., CHI 2021): softmax computed before a `from_logits` loss.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding
from archcalc.lint.structure import applied_by_loss

SEVERITY = INFO


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or node is None or not applied_by_loss(train, node):
        return
    yield Finding(node.loc, f"the model ends in `{node.path}` ({node.kind}), which {train.loss} applies itself: "
                  f"archcalc trains on the logits before it, but a training loop that gives the module's output to a "
                  f"{train.loss} loss applies the {node.kind} twice",
                  hint=f"train the exported module on module(x, logits=True), or remove the final {node.kind} "
                  "and apply it at inference time")
