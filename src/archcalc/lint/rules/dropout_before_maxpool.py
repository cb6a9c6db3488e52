"""Dropout directly before max pooling: training sees larger activations than inference.

## What it does
Reports a dropout layer whose output reaches a max pooling layer (`Trait.POOLS` without
`Trait.LINEAR`) through nothing but activations. Average pooling is linear and is not reported,
nor is channel dropout (`dropout2d`) or stochastic depth: they keep or drop a channel's (a sample's)
whole window together, so the window's maximum keeps its expected size.

## Why is this bad?
Inverted dropout scales each surviving value by 1/(1 − p) so that every value keeps its expected
size, which is what a following linear layer or average needs. A maximum is not linear: in training
the pool returns the largest *surviving* value, scaled up, and at inference the plain largest value.
For a window of k equal values the training output is (1 − pᵏ)/(1 − p) times the inference one
(1.52× for p = 0.35 and a 2×2 window), and with unequal values training also picks a random member
of the window instead of its maximum. Everything after the pool is trained on one distribution and
run on another. Dropout after the pooling (or before a linear layer) keeps them equal.

## Example
```yaml
input: [1, 28, 28]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1}
  - relu
  - dropout: 0.35
  - maxpool2d: 2
  - flatten
  - linear: 10
```

Use instead:
```yaml
input: [1, 28, 28]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1}
  - relu
  - maxpool2d: 2
  - dropout: 0.35
  - flatten
  - linear: 10
```

## References
- Wu & Gu, "Towards dropout training for convolutional neural networks", Neural Networks 71, 2015: dropout
  before max pooling samples a random activation of each window in training, which plain max pooling
  at test time does not match.
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f018: dropout after pooling, not before it.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.dropout import ChannelDropout
from archcalc.layers.stochastic_depth import StochasticDepth
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        for i, node in enumerate(run):
            if not isinstance(node, LayerNode) or Trait.DROPOUT not in node.layer.TRAITS \
                    or isinstance(node.layer, (ChannelDropout, StochasticDepth)):  # one mask value per channel
                continue  # (or per sample): max(s·x) = s·max(x)
            pool = _next_pool(run[i + 1:])
            if pool is None:
                continue
            p = node.layer.config().get("p", 0.5)
            factor = _factor(pool, p)
            larger = f", so a window of equal values comes out {factor:.2f}× larger in training" if factor else ""
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) feeds `{pool.path}` ({pool.kind}): in training the "
                          "pool takes the largest surviving value scaled by 1/(1 − p), at inference the plain maximum"
                          + larger,
                          hint=f"put the dropout after `{pool.path}`")


def _next_pool(after: list) -> LayerNode | None:
    """The max pooling that the start of ``after`` reaches through activations only, if any."""
    for node in after:
        if not isinstance(node, LayerNode):
            return None
        traits = node.layer.TRAITS
        if Trait.POOLS in traits:
            return node if Trait.LINEAR not in traits else None
        if Trait.ACTIVATION not in traits:
            return None
    return None


def _factor(pool: LayerNode, p: object) -> float | None:
    """(1 − pᵏ)/(1 − p) for the pool's k-value window, when p and the window are numbers."""
    geometry = pool.layer.geometry(pool.in_shape)
    sizes = [axis.kernel for axis in geometry] if isinstance(geometry, tuple) else []
    if not sizes or not all(symbolic.is_int(k) for k in sizes) or not isinstance(p, (int, float)) or not 0 < p < 1:
        return None
    k = 1
    for size in sizes:
        k *= int(size)
    return (1 - p ** k) / (1 - p)
