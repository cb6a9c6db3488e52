"""An activation between the last affine layer and the output squashes the logits.

## What it does
Reports an activation (`Trait.ACTIVATION`) after the model's last affine layer when
the model ends in a probability layer (softmax, sigmoid) that should see the raw logits, or when
it trains a classification, whose losses expect raw logits or probabilities. The final softmax or
sigmoid itself is reported only when the loss takes logits and applies another layer itself: a
sigmoid before `cross_entropy`, a softmax before `bce_with_logits`, a softmax over another axis
than the classes (axis 0, or the `train:` section's `class_axis`) before `cross_entropy`. (The
final layer that the loss does apply itself is left out of training by archcalc: see
`activation-before-logits-loss`, T102.) A `softcap` is left alone: it bounds the logits on
purpose, and Gemma 2 trains on the capped ones. So is an activation unbounded above (relu) whose
scores are pooled over the positions before a softmax (NiN's and SqueezeNet's heads): softmax
ignores the common shift, and a class is held at 0 only where it is negative at every position.

## Why is this bad?
The last affine layer's outputs are the logits: unbounded scores whose differences become
probabilities. An activation before the probability layer distorts them: after `relu` no logit
is negative, so a final `sigmoid` never outputs less than 0.5 and a softmax cannot tell
negative scores apart; after `tanh` the logits lie in (−1, 1), so softmax can never become
confident (the largest probability ratio is e² ≈ 7.4). A final sigmoid before `cross_entropy`
hands the loss scores in (0, 1) to which it applies its own softmax: it can never be confident.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 1
  - relu
  - sigmoid
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
- UMLAUT (Schoop, Huang, Hartmann, CHI 2021): "final layer has activation" heuristic.
- NeuraLint (Nikanjam et al., TOSEM 2022), f017: wrong activation in the last layer.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import DISTRIBUTION_LAYERS, applied_by_loss
from archcalc.spec.train import LOGIT_LOSSES, LOGITS, LOSS_KINDS, PROBABILITIES

SEVERITY = WARNING


def check(ctx: Context) -> Iterator[Finding]:
    tail = ctx.output_run
    affine = [i for i, node in enumerate(tail) if Trait.WEIGHTED in node.layer.TRAITS]
    if not affine:
        return
    logits, after = tail[affine[-1]], tail[affine[-1] + 1:]
    final = after[-1] if after and isinstance(after[-1].layer, DISTRIBUTION_LAYERS) else None
    train = ctx.objective
    if final is None and (train is None or train.task != "classification" or train.takes != LOGITS):
        return  # a loss that takes probabilities or log-probabilities: loss-input-mismatch (T107) judges the end
    # the layer a logits loss applies itself
    own = LOGIT_LOSSES.get(train.loss) if train is not None and train.takes == LOGITS else None
    softmax = (final.kind if final is not None else own) == "softmax"
    for i, node in enumerate(after):
        absorbed = node is final and (own is None or applied_by_loss(train, node))
        if Trait.ACTIVATION not in node.layer.TRAITS or absorbed or Trait.CAPS in node.layer.TRAITS:
            continue  # a soft cap bounds the logits on purpose (Gemma 2 trains on the capped ones)
        if softmax and _unbounded_above(node) and any(Trait.POOLS in later.layer.TRAITS for later in after[i + 1:]):
            continue  # NiN's and SqueezeNet's heads: relu per position, then the mean over the positions
        if node is final and train.fuses is None:
            why = f"the loss {train.loss} takes the raw logits (the spec says inputs: {train.takes}) and applies its " \
                  f"own {own}, so training applies {'it twice' if node.kind == own else f'{own} to a {node.kind}'}"
        elif node is final:
            which = f"that very {own} over the classes" if node.kind == own else f"a final {own}"
            why = f"the loss {train.loss} takes the raw logits and applies its own {own} (archcalc leaves only " \
                  f"{which} out of training)"
        elif final is not None:
            why = f"the final {final.kind} should see the raw logits"
        else:
            why = f"the classification loss {train.loss} expects raw logits"
        hint = f"remove it: the outputs of `{logits.path}` are the logits"
        dim = node.layer.config().get("dim", 0) if node is final and node.kind == own == "softmax" else None
        if isinstance(dim, int) and train.class_axis is None and len(node.in_shape) > 1 and train.fuses:
            hint += f", or, if that axis holds the classes (a class per position), say so: class_axis: {dim}"
        if node is final and train.fuses is None and PROBABILITIES in LOSS_KINDS[train.loss].inputs \
                and node.kind == own:
            hint += f", or keep it and say the loss takes them: loss: {{{train.loss}: {{inputs: probabilities}}}}"
        yield Finding(node.loc, f"`{node.path}` ({node.kind}) transforms the logits of `{logits.path}` "
                      f"({logits.kind}) before the output: {why}", hint=hint)


def _unbounded_above(node: LayerNode) -> bool:
    """Whether an activation's outputs have no upper bound (relu, gelu, softplus; not tanh or relu6): pooled
    over the positions, such scores still tell the classes apart as well as raw ones, since softmax ignores a
    common shift and a class is held at 0 only where its score is negative at every position."""
    bounds = node.layer.BOUNDS
    return bounds is None or bounds[1] == math.inf
