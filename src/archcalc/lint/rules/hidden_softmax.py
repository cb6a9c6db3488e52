"""A softmax in the middle of the network feeds a layer with weights.

## What it does
Reports a `softmax` (or `log_softmax`) that is not the model's output and whose very next layer is a
`linear` or a convolution: a hidden layer with `activation='softmax'`, as in Keras'
`Dense(64, activation='softmax')` between two hidden layers. Attention's softmax is inside the
`attention` layer, and a softmax that weights something (`multiply`) or ends the model is left alone,
as is one read by a layer without a bias: a weighted sum of the distribution, as an expectation over
bins (YOLOv8's distribution focal loss head, DEX's age) or a lookup over learned keys, softmax(x·Kᵀ)·V
(a Hopfield layer, a key-value memory).

## Why is this bad?
A softmax forces its outputs to be positive and to sum to 1: the layer's 64 units become one
distribution, so at most a few can be large at once, and each is small when the scores are close.
The next layer then sees inputs squeezed into a simplex whose scale does not grow with the signal,
and the softmax's Jacobian (diag(p) − ppᵀ) shrinks the gradient wherever one unit dominates: the
hidden layer behaves like a soft bottleneck that saturates early. As a hidden activation it has no
advantage over relu, tanh or GELU; the usual cause is an output layer's activation copied into a
hidden one.

## Example
```yaml
input: [30]
layers:
  - linear: 64
  - softmax
  - linear: 64
  - relu
  - linear: 3
```

Use instead:
```yaml
input: [30]
layers:
  - linear: 64
  - relu
  - linear: 64
  - relu
  - linear: 3
```

## References
- Goodfellow, Bengio & Courville, "Deep Learning", §6.2.2.3: softmax units are for outputs that
  represent a probability distribution over n values.
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "wrong type of
  activation function" of a hidden layer.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode
from archcalc.layers.softmax import OverAxis
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        for node, after in itertools.pairwise(run):
            if isinstance(node, LayerNode) and isinstance(node.layer, OverAxis) and isinstance(after, LayerNode) \
                    and Trait.WEIGHTED in after.layer.TRAITS and Trait.ATTENDS not in after.layer.TRAITS \
                    and after.layer.config().get("bias") is not False:  # without: a weighted sum of the distribution
                what = "log-probabilities of one distribution" if node.kind == "log_softmax" else "one distribution"
                yield Finding(node.loc, f"`{node.path}` ({node.kind}) turns a hidden layer's outputs into {what} "
                              f"that `{after.path}` ({after.kind}) reads: they are squeezed to sum to 1 (as "
                              "probabilities), and the gradient through it shrinks wherever one dominates",
                              hint=f"use relu (or tanh, gelu) between the layers; keep {node.kind} for the output")
