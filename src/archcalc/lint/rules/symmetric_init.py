"""Two layers with weights in a row both start from a constant: the first one's units can never differ.

## What it does
Reports a layer with weights whose `init:` sets every weight to one value (`zeros`, `ones`,
`constant`) when the next layer with weights on its path starts constant too.

## Why is this bad?
Units of a layer differ only because their weights differ. When all of a layer's weights are equal,
every unit computes the same sum of its inputs; when the next layer's weights are equal too, every
unit also receives the same gradient, so gradient descent changes them all alike and they stay
copies of each other for ever: a layer of 512 units learns what one unit learns. (A random bias, as
PyTorch draws by default, separates them only by that small offset.) One constant layer followed by
a random one recovers, because the random weights send each unit a different gradient; that is why
this rule looks at pairs. Random initialisation breaks the symmetry: keep PyTorch's default, or
choose `kaiming_normal` for relu networks and `xavier_uniform` for tanh ones.

## Example
```yaml
input: [64]
layers:
  - linear: {out: 32, init: zeros}
  - relu
  - linear: {out: 32, init: {constant: 0.1}}
  - relu
  - linear: 10
```

Use instead:
```yaml
input: [64]
layers:
  - linear: {out: 32, init: kaiming_normal}
  - relu
  - linear: {out: 32, init: kaiming_normal}
  - relu
  - linear: 10
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f004: weights must not be initialised to a constant, to break
  the symmetry between neurons.
- Goodfellow, Bengio, Courville, "Deep Learning" (2016), section 8.4: "the initial parameters need to break
  symmetry between different units".
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "wrong weights initialisation".
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        previous: LayerNode | None = None  # the last layer with weights in this run
        for node in run:
            if not isinstance(node, LayerNode):
                previous = None
                continue
            if Trait.WEIGHTED not in node.layer.TRAITS:
                continue
            if previous is not None and _constant(previous) is not None and _constant(node) is not None:
                init = previous.layer.init.weight
                units = previous.out_shape[0] if previous.layer.geometry(previous.in_shape) != "global" \
                    else previous.out_shape[-1]
                yield Finding(init.loc, f"`{previous.path}` ({previous.kind}) starts with every weight "
                              f"{_constant(previous):g}, and `{node.path}` after it does too: its {units} units "
                              "get the same gradient and stay copies of one another",
                              hint="use a random init (drop init:, or init: kaiming_normal for relu networks)")
            previous = node


def _constant(node: LayerNode) -> float | None:
    init = node.layer.init
    return init.weight.constant if init is not None and init.weight is not None else None
