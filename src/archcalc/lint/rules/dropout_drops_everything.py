"""Dropout with p = 1 zeroes every activation in training.

## What it does
Reports a dropout layer with `p: 1`. (Values outside [0, 1] are refused by the core as
`bad-argument`; p = 1 is accepted, as PyTorch accepts it, and reported here.)

## Why is this bad?
Inverted dropout zeroes each activation with probability p and scales the survivors by 1/(1 − p).
With p = 1 there are no survivors (and 1/(1 − p) is undefined, so PyTorch returns zeros): in
training nothing reaches the layers after it and they get no gradient, while in evaluation dropout
is the identity, so the trained network is never the one that is used.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - dropout: 1.0
  - linear: 3
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - dropout: 0.5
  - linear: 3
```

## References
- The lecture notes on overfitting and regularisation: zero each activation with
  probability P and scale survivors by 1/(1−P).
- Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from Overfitting", JMLR 2014.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding

SEVERITY = ERROR
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        if Trait.DROPOUT in node.layer.TRAITS and node.layer.config().get("p") == 1:
            yield Finding(ctx.arg_loc(node, "p"), f"`{node.path}` (dropout) has p = 1: every activation is zeroed "
                          "in training, so no signal or gradient passes it",
                          hint="use p < 1 (0.5 is the usual value for hidden layers), or remove the layer")
