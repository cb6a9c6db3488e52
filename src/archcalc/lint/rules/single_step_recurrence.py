"""A recurrent layer over a sequence of one step: nothing recurs, and its hidden-to-hidden weights do nothing.

## What it does
Reports an `lstm`, `gru` or `rnn` whose input has one step (`[1, features]`).

## Why is this bad?
A recurrent layer carries its state from step to step; over one step it starts from the zero state,
reads that step and stops. Its hidden-to-hidden weights multiply the zero state and never change the
output (nor receive a gradient): a quarter to a half of the layer's parameters are dead weight, and
what is left is a gated feed-forward layer. The usual cause is Keras' `X.reshape(samples, 1,
features)` to satisfy the LSTM's three-axis input, which puts the whole series on the feature axis:
the model cannot read it in order. Give the steps as the time axis (`[T, 1]` for a univariate
series, `[T, F]` for F values per step), or use a `linear` layer if the features are not a sequence.

## Example
```yaml
input: [1, 60]
layers:
  - lstm: {hidden: 50, output: last}
  - linear: 1
```

Use instead:
```yaml
input: [60, 1]
layers:
  - lstm: {hidden: 50, output: last}
  - linear: 1
```

## References
- PyTorch `nn.LSTM`: h_0 defaults to zeros; the hidden-to-hidden product W_hh·h_{t−1} then adds
  nothing at the first step.
- Brownlee, "How to Reshape Input Data for Long Short-Term Memory Networks in Keras": samples, time
  steps, features.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.base import shape_text
from archcalc.layers.recurrent import Recurrent
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: looks at one layer at a time, so it runs when a later layer does not build too
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        if isinstance(node.layer, Recurrent) and len(node.in_shape) == 2 and node.in_shape[0] == 1:
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) reads {shape_text(node.in_shape)}, a sequence of "
                          f"one step: nothing recurs, and its hidden-to-hidden weights never change the output",
                          hint=f"lay the steps along the time axis ([{node.in_shape[1]}, 1]: one value per "
                          "step), or use a linear layer if the features are not a sequence")
