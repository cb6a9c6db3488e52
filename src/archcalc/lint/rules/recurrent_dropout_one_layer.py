"""`dropout` on a recurrent layer with one layer, where it does nothing.

## What it does
Reports an `lstm`, `gru` or `rnn` with `dropout` above 0 and `num_layers: 1`, as torch warns
when it builds one ("dropout option adds dropout after all but last recurrent layer, so non-zero
dropout expects num_layers greater than 1").

## Why is this bad?
torch's recurrent layers apply their `dropout` between the stacked layers, to the output of every
layer but the last. With one layer there is no such place: the argument is silently ignored, and
the network is trained without the regularisation its author asked for.

## Example
```yaml
input: [20, 8]
layers:
  - lstm: {hidden: 32, dropout: 0.3, output: last}
  - linear: 2
```

Use instead:
```yaml
input: [20, 8]
layers:
  - lstm: {hidden: 32, output: last}
  - dropout: 0.3
  - linear: 2
```

## References
- PyTorch, `torch.nn.LSTM`: "dropout – If non-zero, introduces a Dropout layer on the outputs of
  each LSTM layer except the last layer".
- Zaremba, Sutskever, Vinyals, "Recurrent Neural Network Regularization", 2014: dropout between
  stacked layers, not on the recurrent connections.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        layer = node.layer
        if Trait.RECURRENT in layer.TRAITS and layer.dropout > 0 and layer.num_layers == 1:
            yield Finding(ctx.arg_loc(node, "dropout"), f"`{node.path}` ({node.kind}) has dropout {layer.dropout:g} "
                          "but one layer: torch drops only between stacked layers, so it does nothing here",
                          hint="put a dropout layer after it, or stack num_layers: 2 or more")
