"""One layer holds more than 80 % of the model's parameters.

## What it does
Reports a layer whose parameters are more than 80 % of the model's, in a model with at least
three weight layers (linear, convolution). Frozen parameters (`trainable: false`) count: they are
the model's size whether or not they learn.

## Why is this bad?
Such a layer is usually a fully connected layer on a flattened feature map: its size grows with
the input resolution (C·H·W × D), it dominates memory and overfitting, and it ties the network to
one input size. VGG-16's first classifier layer alone holds 102,764,544 of its 138,357,544
parameters (74 %). Global average pooling before the classifier (as in ResNet) makes it C × D.

This rule is informational and off by default; enable it with `--extend-select S103`.

## Example
```yaml
input: [3, 6, 6]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1}
  - relu
  - flatten
  - linear: 512
  - relu
  - linear: 10
```

Use instead:
```yaml
input: [3, 6, 6]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1}
  - relu
  - global_avgpool2d
  - linear: 512
  - relu
  - linear: 10
```

## References
- Lin, Chen, Yan, "Network In Network", ICLR 2014: global average pooling instead of fully connected layers.
- Simonyan & Zisserman, "Very Deep Convolutional Networks", ICLR 2015: VGG's parameters are mostly in fc6.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding

SEVERITY = INFO
#: share of all parameters above which one layer is a hotspot
THRESHOLD = 0.8
#: weight layers a model needs before the rule applies (in a 2-layer MLP one layer is most of it)
MIN_LAYERS = 3


def check(ctx: Context) -> Iterator[Finding]:
    counts = ctx.model.counts
    total = symbolic.total(counts[ctx.graph.root].params)
    if not symbolic.is_int(total) or total == 0:
        return
    if sum(Trait.WEIGHTED in node.layer.TRAITS for node in ctx.layers) < MIN_LAYERS:
        return
    for node in ctx.layers:
        count = counts[node].params
        if symbolic.is_int(count) and count > THRESHOLD * total:
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) holds {count:,} of the model's {total:,} "
                          f"parameters ({count / total:.2%})",
                          hint=_hint(ctx, node))


def _hint(ctx: Context, node: LayerNode) -> str:
    """Global pooling for a classifier on a flattened image map; the vocabulary for an embedding table;
    otherwise the layer's own size."""
    if node.layer.READS_IDS:
        size = f"{symbolic.fmt(node.layer.vocab)} × {symbolic.fmt(node.layer.dim)}"
        return (f"a vocab × dim table ({size}) this large is usual for a text model; a smaller vocabulary (rare "
                "tokens as one unknown token, or subwords) or dim shrinks it")
    for run in ctx.chains:
        if node in run and (i := run.index(node)) > 0:
            before = run[i - 1]
            if isinstance(before, LayerNode) and Trait.ALIASES in before.layer.TRAITS and len(before.in_shape) == 3:
                return "pool globally (global_avgpool2d) before a wide linear layer instead of flattening"
    return "check that its size is the one you meant: fewer units, or a narrower input to it"
