"""Weight decay that removes a percent or more of every weight at every step.

## What it does
Reports `weight_decay` λ whose shrink per optimizer step reaches 1 %: lr·λ for `adamw`, and for
`nadam` and `radam` with `decoupled_weight_decay: true` (the decoupled decay multiplies every weight
by 1 − lr·λ), and lr·λ/(1 − momentum) for `sgd` (the coupled decay's gradient λ·w, carried by the
momentum buffer). Adam, RMSprop, Adagrad, Adadelta, Adamax, and NAdam and RAdam with the coupled
decay (torch's default) divide the decay's gradient by their running scale, so a per-step shrink
cannot be read from the numbers; `adam-weight-decay` (T106) speaks of Adam, NAdam and RAdam. Under
a `onecycle` schedule lr is its `max_lr`, the rate at the peak, with SGD's momentum there
(`base_momentum` when it cycles momentum): the optimizer's own lr is never used.

## Why is this bad?
Weight decay pulls every weight towards zero by a fixed fraction each step, and the gradient has to
push it back. The values that regularise shrink a weight by 10⁻⁵ to 10⁻³ of itself per step
(SGD lr 0.1, λ 5·10⁻⁴, momentum 0.9: 5·10⁻⁴; AdamW lr 10⁻³, λ 0.05: 5·10⁻⁵). At 1 % per step a weight
the gradient leaves alone falls to a third in a hundred steps, to nothing in an epoch of a few
thousand: the network is held near zero and underfits. The usual slip is a decay written for another
scale: 0.5 meant as 5e-4, or AdamW's λ (0.01 to 0.3) given to SGD with a large learning rate.

## Example
```yaml
input: [20]
layers: [linear: 64, relu, linear: 2]
train:
  optimizer: {sgd: {lr: 0.1, momentum: 0.9}}
  weight_decay: 0.05
```

Use instead:
```yaml
input: [20]
layers: [linear: 64, relu, linear: 2]
train:
  optimizer: {sgd: {lr: 0.1, momentum: 0.9}}
  weight_decay: 5.0e-4
```

## References
- Loshchilov & Hutter, "Decoupled Weight Decay Regularization", ICLR 2019 (AdamW's lr·λ shrink).
- He et al., "Deep Residual Learning", CVPR 2016: SGD, lr 0.1, momentum 0.9, weight decay 10⁻⁴.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: reads the train: section alone, so it runs when a layer does not build too
PREFIX = True
#: the share of every weight one step may take away before the decay overwhelms the gradient
LIMIT = 0.01


def check(ctx: Context) -> Iterator[Finding]:
    train = ctx.train
    if train is None or not train.weight_decay:
        return
    name = train.optimizer.name
    decoupled = name == "adamw" or bool(train.optimizer.hyper.get("decoupled_weight_decay"))
    if name != "sgd" and not decoupled:
        return
    lr, decay = train.optimizer.lr, train.weight_decay
    momentum = train.optimizer.hyper.get("momentum", 0.0) if train.optimizer.name == "sgd" else 0.0
    rule = train.scheduler
    if rule is not None and rule.per_batch:  # onecycle's peak: max_lr, where its momentum is at base_momentum
        lr = rule.settings["max_lr"]
        if rule.settings["cycle_momentum"] and name == "sgd":
            momentum = rule.settings["base_momentum"]
    shrink = lr * decay / (1 - momentum)
    if shrink >= LIMIT:
        rate = "onecycle's max_lr" if rule is not None and rule.per_batch else "lr"
        how = f"{rate} {lr:g} × weight_decay {decay:g}" + (f" / (1 − momentum {momentum:g})" if momentum else "")
        typical = "1e-4 to 5e-4 for sgd" if name == "sgd" else f"0.01 to 0.1 for {name}'s decoupled decay"
        yield Finding(ctx.train_loc("weight_decay"), f"weight decay takes {100 * shrink:.3g} % of every weight at "
                      f"every step ({how}): the weights are held near zero", hint=f"weight_decay {typical}")
