"""A layer whose weights start at zero feeds a relu: its units' inputs do not depend on the example.

## What it does
Reports a layer with weights whose `init:` sets every weight to 0 when the next layer (dropout
aside) is a relu or relu6, unless its bias starts at one positive value. A constant of another
value, or two constant layers in a row, are `symmetric-init` (N108).

## Why is this bad?
With every weight 0 a unit's input is its bias alone, the same for every example, and the gradient
that reaches its weights is the input times relu's derivative at that bias. Relu's derivative at 0
and below is 0 (PyTorch's and Keras' alike), so a unit whose bias starts at 0 or below never
receives a gradient, in its weights or its bias: it outputs the same value for ever. With zero
biases (Keras' default, or `bias: zeros`) that is every unit, and the network's output cannot depend
on its input; with PyTorch's default biases, drawn around 0, about half the units. Random weights
(PyTorch's default, or `kaiming_normal` for relu networks) give each unit an input that varies
with the example.

## Example
```yaml
input: [10]
layers:
  - linear: {out: 64, init: {weight: zeros, bias: zeros}}
  - relu
  - linear: 1
```

Use instead:
```yaml
input: [10]
layers:
  - linear: {out: 64, init: {weight: kaiming_normal, bias: zeros}}
  - relu
  - linear: 1
```

## References
- He, Zhang, Ren and Sun, "Delving Deep into Rectifiers", ICCV 2015: the initialisation for relu networks.
- NeuraLint (Nikanjam et al., TOSEM 2022), f004: weights should not start constant.
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: wrong weight initialisation.
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
        for i, node in enumerate(run):
            init = node.layer.init if isinstance(node, LayerNode) and Trait.WEIGHTED in node.layer.TRAITS else None
            if init is None or init.weight is None or init.weight.constant != 0:
                continue
            then = next((n for n in run[i + 1:] if not (isinstance(n, LayerNode)
                                                        and Trait.DROPOUT in n.layer.TRAITS)), None)
            if not isinstance(then, LayerNode) or Trait.DIES not in then.layer.TRAITS:
                continue
            bias = init.bias.constant if init.bias is not None else None
            if bias is not None and bias > 0:
                continue
            if bias is not None or not getattr(node.layer, "bias", True):
                why = f"every unit's input is {bias or 0:g} for every example, where relu's derivative is 0: none " \
                      "of its units ever receives a gradient"
            else:
                why = "each unit's input is its bias alone, the same for every example, and relu's derivative " \
                      "below 0 is 0: the units whose bias starts below 0, about half, never receive a gradient"
            yield Finding(init.weight.loc, f"`{node.path}` ({node.kind}) starts with every weight 0 and feeds "
                          f"`{then.path}` ({then.kind}): {why}",
                          hint="use a random init (drop init:, or init: kaiming_normal for relu networks)")
