"""The network's output is not what its loss takes: probabilities, log-probabilities or raw scores.

## What it does
Compares what the model ends in (a `softmax` or `sigmoid`: probabilities; a `log_softmax`:
log-probabilities; anything else: unbounded scores) with what `train: loss` takes (its default, or
the spec's `inputs:`): `nll` and `kl_div` take log-probabilities, `dice` and
`cross_entropy: {inputs: probabilities}` take probabilities, and the margin losses (`hinge`,
`squared_hinge`, `soft_margin`, `multi_margin`, `categorical_hinge`) raw scores, so a final
sigmoid or softmax before them is reported (and a `log_softmax` before the three that read each
output's sign). `poisson_nll` with `log_input: false` (Keras' `poisson`) takes the rate λ itself
and needs outputs ≥ 0 (a final `softplus`, `relu`, `sigmoid` or `softmax`). (`bce` is
`bce-without-sigmoid`, T105; a final softmax or sigmoid before a loss that takes logits and
applies its own is `activated-logits`, A103.)

## Why is this bad?
Each loss is a formula of what it expects. `nll` computes −x[t]: on log-probabilities that is the
cross-entropy, but on probabilities it is −p[t], bounded in [−1, 0], whose gradient does not grow as
the prediction gets worse, and on raw scores it has no minimum at all (raising one score lowers it
without end). A loss that takes probabilities computes log p: a raw score below 0 gives NaN, a
log-probability gives NaN too. A margin loss asks a raw score to be above +1 for its class and
below −1 against it (the hinge), or the true class's score to lead the others by a margin: a sigmoid's
output is never below 0, so the class read as −1 is never predicted, and probabilities lead one
another by less than 1. A Poisson rate is positive: `x − t·log(x + eps)` is NaN wherever a linear
output goes below −eps. The usual cause is a model written for one framework's convention (Keras'
`categorical_crossentropy` takes probabilities, its `poisson` the rate) trained with another's
(PyTorch's `NLLLoss` takes log-probabilities, its `PoissonNLLLoss` the log of the rate by default).

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
  `torch.nn.KLDivLoss`: the input is expected in log space; `torch.nn.PoissonNLLLoss`: with `log_input=False`
  the loss is `input - target * log(input + eps)`.
- Keras `keras.losses.hinge`: "`y_true` values are expected to be -1 or 1"; `keras.losses.poisson`:
  `y_pred - y_true * log(y_pred + epsilon)`.
- NeuraLint (Nikanjam et al., TOSEM 2022), rules f008 (missing softmax before a loss on probabilities), f015 and
  f020 (a loss connected to the wrong side of the last activation).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding
from archcalc.lint.structure import nonnegative_output, output_kind
from archcalc.spec.train import LOG_PROBABILITIES, LOGITS, PROBABILITIES, SIGN_LOSSES

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
#: the margin losses on outputs squashed into [0, 1] or below 0: a sign loss reads each output's sign as its class
SIGN_HARM = {PROBABILITIES: "reads the sign of each output as its class, and outputs in [0, 1] are never below 0: the "
                            "class 0 (read as −1) is never predicted, and its loss never falls to 0",
             LOG_PROBABILITIES: "reads the sign of each output as its class, and log-probabilities are never above 0: "
                                "the class 1 (+1) is never predicted, and its loss never falls to 0"}
HARM_OF |= {(loss, kind): harm for loss in SIGN_LOSSES for kind, harm in SIGN_HARM.items()}
#: the margins between classes, which log_softmax keeps (it shifts every score of a sample alike)
CLASS_MARGIN_LOSSES = ("multi_margin", "categorical_hinge")
FIX = {
    LOG_PROBABILITIES: "end the model with - log_softmax",
    PROBABILITIES: "end the model with - softmax (one label per sample) or - sigmoid (independent labels)",
}
FIX_OF = {"dice": "end the model with - sigmoid (a mask per channel, or the one mask of two classes), or with "
                  "- softmax over the classes' channels",
          **dict.fromkeys((*SIGN_LOSSES, *CLASS_MARGIN_LOSSES), "remove the final layer: a margin loss takes the raw "
                          "scores of the last linear layer")}


def check(ctx: Context) -> Iterator[Finding]:
    train, node = ctx.objective, ctx.output_layer
    if train is None or train.loss == "bce":
        return
    if train.loss == "poisson_nll":
        yield from _rate(ctx)
        return
    takes, gets = train.takes, output_kind(ctx.graph, train)
    harm = HARM_OF.get((train.loss, gets)) or HARM.get((takes, gets)) or _class_margin(train, gets)
    if harm is None:
        return
    what = {PROBABILITIES: "probabilities", LOG_PROBABILITIES: "log-probabilities", LOGITS: "unbounded scores"}
    where = f"`{node.path}` ({node.kind})" if node is not None else "an addition or concatenation"
    yield Finding(node.loc if node is not None else ctx.train_loc("loss"),
                  f"{train.loss} takes {what[takes]}, but the model ends in {where}, which gives {what[gets]}: "
                  f"it {harm}", hint=FIX_OF.get(train.loss) or FIX[takes] + (
                      " or use loss: cross_entropy, which takes the scores"
                      if gets == LOGITS and train.task == "classification" else ""))


def _class_margin(train, gets: str) -> str | None:
    """What a loss on the lead of the true class's score over the others does with probabilities (not with
    log-probabilities: log_softmax keeps every difference of scores)."""
    if train.loss not in CLASS_MARGIN_LOSSES or gets != PROBABILITIES:
        return None
    margin = train.loss_params.get("margin", 1.0)
    reach = "can never be met" if margin >= 1 else "takes a saturated softmax, whose gradient vanishes"
    return f"asks the true class's score to lead every other's by {margin:g}, and probabilities lead one another by " \
           f"less than 1: that margin {reach}"


def _rate(ctx: Context) -> Iterator[Finding]:
    """poisson_nll with log_input: false (Keras' poisson) takes the rate, which must not go below 0."""
    train, node = ctx.objective, ctx.output_layer
    if train.loss_params["log_input"] or nonnegative_output(ctx.graph):
        return
    where = f"`{node.path}` ({node.kind})" if node is not None else "an addition or concatenation"
    yield Finding(node.loc if node is not None else ctx.train_loc("loss"),
                  f"poisson_nll with log_input: false takes the rate λ and computes log(λ + eps), but the model ends "
                  f"in {where}, whose outputs go below 0: the log of a negative rate is NaN",
                  hint="end the model with - softplus (a rate above 0), or drop log_input: false: torch's default "
                  "takes log λ from the last linear layer and applies exp itself")
