"""Dropout with p above 0.65 (but below 1).

## What it does
Reports a dropout layer whose probability p of zeroing an activation is greater than 0.65, and a
layer's own `dropout` above 0.65: between a recurrent layer's stacked layers (`lstm`, `gru`, `rnn`),
or on the attention weights (`attention`, `multihead_attention`).

## Why is this bad?
Inverted dropout scales the survivors by 1/(1 − p): at p = 0.8 only one activation in five gets
through, scaled by 5, so the training signal is very noisy and learning slows down or underfits.
Srivastava et al. recommend keeping 50–80 % of hidden units and about 80 % of inputs, i.e. dropping
at most half. Their p is the probability of *keeping* a unit (Keras and PyTorch take the probability
of dropping), and a keep probability written as p is exactly the mix-up this rule catches. Published
recipes go a little past a half, and the rule leaves them alone: Zaremba et al.'s large LSTM
language model drops 0.65 (PyTorch's word_language_model example), graph attention networks 0.6; a
keep probability is usually 0.7 to 0.9.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - dropout: 0.8
  - linear: 3
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - dropout: 0.2
  - linear: 3
```

## References
- Srivastava et al., "Dropout: A Simple Way to Prevent Neural Networks from Overfitting", JMLR 2014, §A.4.
- UMLAUT (Schoop et al., CHI 2021): dropout rate above 0.5 heuristic.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.dropout import ChannelDropout
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: the largest p published recipes use (Zaremba et al.'s 0.65); above it, a keep probability written as p
HIGH = 0.65


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        config = node.layer.config()
        p = config.get("p") if Trait.DROPOUT in node.layer.TRAITS else None
        if p is not None and HIGH < p < 1:
            what = "channels" if isinstance(node.layer, ChannelDropout) else "activations"  # dropout2d: whole ones
            yield Finding(ctx.arg_loc(node, "p"), f"`{node.path}` ({node.kind}) has p = {p:g}: only {1 - p:.0%} of the "
                          f"{what} survive, each scaled by 1/(1−p) = {1 / (1 - p):.3g}",
                          hint="p is the probability of dropping; 0.5 is the usual maximum for hidden layers")
        p = config.get("dropout")  # a layer's own dropout: between an RNN's stacked layers, on attention weights
        layers = config.get("num_layers", 2)
        if isinstance(p, float) and HIGH < p < 1 and not (symbolic.is_int(layers) and layers <= 1):  # one: N109's
            what = "of its attention weights survive" if Trait.ATTENDS in node.layer.TRAITS else \
                "of what each of its stacked layers passes to the next survives"
            yield Finding(ctx.arg_loc(node, "dropout"), f"`{node.path}` ({node.kind}) has dropout {p:g}: only "
                          f"{1 - p:.0%} {what}, each value scaled by 1/(1−p) = {1 / (1 - p):.3g}",
                          hint="dropout is the probability of dropping; 0.5 is the usual maximum")
