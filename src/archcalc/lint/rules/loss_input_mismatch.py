"""The network's output is not what its loss takes: probabilities, log-probabilities or raw scores.

## What it does
Compares what the model ends in (a `softmax` or `sigmoid`: probabilities; a `log_softmax`:
log-probabilities; anything else: unbounded scores) with what `train: loss` takes (its default, or
the spec's `inputs:`): `nll` and `kl_div` take log-probabilities, `dice` and
`cross_entropy: {inputs: probabilities}` take probabilities. (`bce` is `bce-without-sigmoid`,
T105; a final softmax or sigmoid before a loss that takes logits is `activated-logits`, A103.)

## Why is this bad?
Each loss is a formula of what it expects. `nll` computes −x[t]: on log-probabilities that is the
cross-entropy, but on probabilities it is −p[t], bounded in [−1, 0], whose gradient does not grow as
the prediction gets worse, and on raw scores it has no minimum at all (raising one score lowers it
without end). A loss that takes probabilities computes log p: a raw score below 0 gives NaN, a
log-probability gives NaN too. The usual cause is a model written for one framework's convention
(Keras' `categorical_crossentropy` takes probabilities) trained with another's (PyTorch's `NLLLoss`
takes log-probabilities).

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
  loss: nll
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
  - log_softmax
train:
  task: classification
  classes: 3
  loss: nll
```

## References
- PyTorch `torch.nn.NLLLoss`: "The input given through a forward call is expected to contain log-probabilities";
  `torch.nn.KLDivLoss`: the input is expected in log space.
- NeuraLint (Nikanjam et al., TOSEM 2022), rules f008 (missing softmax before a loss on probabilities), f015 and
  f020 (a loss connected to the wrong side of the last activation).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding
from archcalc.lint.structure import output_kind
from archcalc.spec.train import LOG_PROBABILITIES, LOGITS, PROBABILITIES

SEVERITY = ERROR
#: what a loss does with an output it does not expect, by (what it takes, what it gets)
HARM = {
    (LOG_PROBABILITIES, PROBABILITIES): "computes −p for the true class, bounded in [−1, 0]: its gradient does "
                                        "not grow as the prediction gets worse",
    (LOG_PROBABILITIES, LOGITS): "has no minimum on raw scores: raising the true class's score lowers it without end",
    (PROBABILITIES, LOG_PROBABILITIES): "takes the log of log-probabilities, which are ≤ 0: NaN",
    (PROBABILITIES, LOGITS): "takes the log of raw scores: any score ≤ 0 gives NaN or −inf",
}
#: losses that do something else with what they do not expect than the log-based ones above
HARM_OF = {
    ("dice", LOGITS): "divides by Σp + Σt + s, which raw scores can drive to 0 or below: the loss has no minimum "
                      "and can divide by zero",
    ("dice", LOG_PROBABILITIES): "scores the overlap of values ≤ 0 with the mask: the better the prediction, the "
                                 "more negative its overlap, so training learns the opposite",
}
FIX = {
    LOG_PROBABILITIES: "end the model with - log_softmax",
    PROBABILITIES: "end the model with - softmax (one label per sample) or - sigmoid (independent labels)",
}

FIX_OF = {"dice": "end the model with - sigmoid (a mask per channel, or the one mask of two classes), or with "
                  "- softmax over the classes' channels"}


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or train.loss == "bce":
        return
    takes, gets = train.takes, output_kind(ctx.graph, train)
    harm = HARM_OF.get((train.loss, gets)) or HARM.get((takes, gets))
    if harm is None:
        return
    what = {PROBABILITIES: "probabilities", LOG_PROBABILITIES: "log-probabilities", LOGITS: "unbounded scores"}
    where = f"`{node.path}` ({node.kind})" if node is not None else "an addition or concatenation"
    yield Finding(node.loc if node is not None else ctx.train_loc("loss"),
                  f"{train.loss} takes {what[takes]}, but the model ends in {where}, which gives {what[gets]}: "
                  f"it {harm}", hint=FIX_OF.get(train.loss) or FIX[takes] + (
                      " or use loss: cross_entropy, which takes the scores"
                      if gets == LOGITS and train.task == "classification" else ""))
