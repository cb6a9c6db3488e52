"""A deep stack of attention layers with no normalisation anywhere.

## What it does
Reports a network with four or more attention layers and no layer that normalises
(`layernorm`, `rmsnorm`, batch norm, …).

## Why is this bad?
A transformer's residual stream grows with every block it adds to it; without a normalisation
in each block (before each half, as GPT-2 and Llama do, or after each addition, as BERT does) the
attention logits and the gradients grow with depth, and training diverges or needs a tiny
learning rate with a long warm-up. Every published deep transformer normalises in each block.

## Example
```yaml
input: [16, 64]
blocks:
  block(d):
    - residual: [linear: {out: 3 * d}, attention: {heads: 4, causal: true}, linear: d]
    - residual: [linear: 4 * d, gelu, linear: d]
layers:
  - repeat: 4
    layers: [block: 64]
```

Use instead:
```yaml
input: [16, 64]
blocks:
  block(d):
    - residual: [layernorm, linear: {out: 3 * d}, attention: {heads: 4, causal: true}, linear: d]
    - residual: [layernorm, linear: 4 * d, gelu, linear: d]
layers:
  - repeat: 4
    layers: [block: 64]
  - layernorm
```

## References
- Xiong et al., "On Layer Normalization in the Transformer Architecture", ICML 2020: where the
  normalisation sits decides whether deep transformers train without warm-up.
- Ba, Kiros, Hinton, "Layer Normalization", 2016.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: attention layers from which a stack without normalisation counts as deep
THRESHOLD = 4


def check(ctx: Context) -> Iterator[Finding]:
    attends = [node for node, _ in ctx.graph.walk() if Trait.ATTENDS in getattr(getattr(node, "layer", None),
                                                                                   "TRAITS", Trait(0))]
    if len(attends) < THRESHOLD:
        return
    if any(Trait.NORMALIZES in node.layer.TRAITS for node in ctx.graph.layers()):
        return
    yield Finding(attends[THRESHOLD - 1].loc, f"{len(attends)} attention layers and no normalisation: a transformer "
                  "this deep diverges or crawls without a norm in each block",
                  hint="add a layernorm (or rmsnorm) before each attention and MLP, and one at the end")
