"""The first layer is a fully connected layer as wide as the input, with no activation after it.

## What it does
Reports a model whose first layer is fully connected (`linear`), reads the vector input directly,
has exactly as many outputs as the input has features, and reaches the next affine layer through
nothing non-linear. This is the "input layer" of textbook diagrams written as a layer with weights,
as in Keras programs that start with `Dense(n_features, input_shape=(n_features,))`. It is info,
not a warning: the network computes what it would without it, and programs labelled correct in the
public fault benchmarks keep it. Any other pair of affine layers with nothing non-linear between
them is `linear-collapse` (A101).

## Why is this bad?
The input needs no layer of its own: `input:` declares its size. A layer W₁ as wide as the input,
followed directly by W₂, computes W₂(W₁x + b₁) + b₂, one affine map of x that W₂ alone can learn,
so the first layer adds n² + n parameters (615,440 for a 784-pixel image) and their computation, and
slows training a little, for no extra power. If a hidden layer was meant, it lacks its activation.

## Example
```yaml
input: [784]
layers:
  - linear: 784
  - linear: 50
  - relu
  - linear: 10
```

Use instead:
```yaml
input: [784]
layers:
  - linear: 50
  - relu
  - linear: 10
```

## References
- The lecture notes on perceptrons and activations: without a non-linear activation two layers collapse
  to one linear map.
- DeepLocalize (Wardat et al., ICSE 2021) benchmark: Stack Overflow 55328966, whose fixed program keeps
  `Dense(784, input_shape=(784,))` before its hidden layer.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding
from archcalc.lint.structure import dense_input_layer

SEVERITY = INFO
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    first = dense_input_layer(ctx.chains)
    if first is None or not ctx.chains:
        return
    run = ctx.chains[0]
    for node in run[run.index(first) + 1:]:
        if not isinstance(node, LayerNode) or Trait.LINEAR not in node.layer.TRAITS or Trait.POOLS in node.layer.TRAITS:
            return  # something non-linear (or a sum) comes first: a hidden layer, not an input layer
        if Trait.WEIGHTED in node.layer.TRAITS:
            n = first.in_shape[0]
            extra = first.layer.params(first.in_shape).trainable
            yield Finding(first.loc, f"`{first.path}` ({first.kind}) maps the {n} input features to {n} and "
                          f"`{node.path}` ({node.kind}) follows with no activation between them: the input needs "
                          f"no layer of its own, and `{node.path}` alone can learn what both compute"
                          + (f" ({extra:,} parameters for nothing)" if symbolic.is_int(extra) else ""),
                          hint=f"remove `{first.path}` (input: declares the input), or add an activation after "
                          "it if a hidden layer was meant")
            return
