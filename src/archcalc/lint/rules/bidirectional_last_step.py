"""A bidirectional recurrent layer whose output is its last step: the backward half has read one step.

## What it does
Reports an `lstm`, `gru` or `rnn` with `bidirectional: true` and `output: last`, and the same slip
written out: a bidirectional layer's whole sequence, then `select` of its last (or first) step along
the time axis, with only dropout, activations or normalisation between (PyTorch's
`out, _ = self.lstm(x)` then `self.fc(out[:, -1])`).

## Why is this bad?
`output: last` is PyTorch's `output[:, -1]`: the last step's output of each direction, side by side.
The forward direction's has read the whole sequence, but the backward direction reads the sequence
from its end, so at the last step it has seen that one step and nothing else: half of the features
the classifier gets say almost nothing about the sequence. The summary of both directions is the
final hidden state, `h_n` (`output: hidden`): the forward direction's after the last step and the
backward direction's after the first. It is a well-known slip when a unidirectional model is made
bidirectional by a flag (docs/spec.md: "a bidirectional classifier usually wants `hidden`").

## Example
```yaml
input: [50, 16]
layers:
  - lstm: {hidden: 32, bidirectional: true, output: last}
  - linear: 2
```

Use instead:
```yaml
input: [50, 16]
layers:
  - lstm: {hidden: 32, bidirectional: true, output: hidden}
  - linear: 2
```

## References
- PyTorch `nn.LSTM`: `output` holds each step's output of both directions; `h_n` the final hidden
  state of each direction (the backward one's after reading the first step).
- Schuster & Paliwal, "Bidirectional Recurrent Neural Networks", IEEE Trans. Signal Processing, 1997.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode, Node
from archcalc.layers.recurrent import Recurrent
from archcalc.layers.select import Select
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: looks at one layer at a time, so it runs when a later layer does not build too
PREFIX = True


#: what may stand between the recurrent layer and the select and keep each step where it was
PASSES = Trait.DROPOUT | Trait.ACTIVATION | Trait.NORMALIZES
HINT = "output: hidden (each direction's summary of the whole sequence, h_n)"


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        layer = node.layer
        if isinstance(layer, Recurrent) and layer.bidirectional and layer.output == "last":
            yield Finding(ctx.arg_loc(node, "output"), f"`{node.path}` ({node.kind}) is bidirectional and gives its "
                          "last step: the backward direction's half of it has read only that step", hint=HINT)
    for run in ctx.chains:
        for i, node in enumerate(run):
            if isinstance(node, LayerNode) and isinstance(node.layer, Recurrent) and node.layer.bidirectional \
                    and node.layer.output == "sequence":
                yield from _selected_end(ctx, node, run[i + 1:])


def _selected_end(ctx: Context, recurrent: LayerNode, after: list[Node]) -> Iterator[Finding]:
    """A select of the first or last step of the bidirectional layer's sequence, through layers in PASSES."""
    for node in after:
        if not isinstance(node, LayerNode):
            return
        if isinstance(node.layer, Select):
            steps, index = node.in_shape[0], node.layer.index
            ends = {0: "first", -1: "last"}
            if symbolic.is_int(steps):
                ends[steps - 1] = "last"
            if node.layer.axis_of("axis", node.layer.axis, node.in_shape) == 0 and index in ends:
                half = "backward" if ends[index] == "last" else "forward"
                yield Finding(ctx.arg_loc(node, "index"), f"`{node.path}` takes the {ends[index]} step of "
                              f"`{recurrent.path}` ({recurrent.kind}), which is bidirectional: the {half} "
                              "direction's half of it has read only that step", hint=f"give `{recurrent.path}` {HINT}")
            return
        if not node.layer.TRAITS & PASSES or Trait.WEIGHTED in node.layer.TRAITS:
            return
