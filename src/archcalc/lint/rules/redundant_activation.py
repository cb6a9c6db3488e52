"""An activation applied directly to the output of another activation.

## What it does
Reports an activation (`Trait.ACTIVATION`) whose input comes straight from another activation, with
nothing in between but layers that leave values alone (dropout, identity, flatten). Activations
after the model's last affine layer are left to `activated-logits` (A103) when that rule applies.

## Why is this bad?
An activation belongs after a layer with weights. Stacked on another activation it either does
nothing (`relu` after `relu`: max(max(x, 0), 0) = max(x, 0)) or distorts what the first one made
without adding capacity: a `sigmoid` after `relu` maps every output into [0.5, 1), a `tanh` after
`sigmoid` into (0, 0.76), and every extra squashing multiplies the gradient by another derivative
below 1. In translated code it is usually an activation written twice, once as a layer's
`activation=` argument and once as a layer of its own.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - sigmoid
  - linear: 3
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f003: multiple and redundant connected activations.
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "redundant activation function".
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import DISTRIBUTION_LAYERS

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: layers an activation's output passes through unchanged (values, not shape)
TRANSPARENT = Trait.DROPOUT | Trait.ALIASES


def check(ctx: Context) -> Iterator[Finding]:
    skip = _left_to_activated_logits(ctx)
    for run in ctx.chains:
        previous: LayerNode | None = None
        for node in run:
            if not isinstance(node, LayerNode):
                previous = None
                continue
            traits = node.layer.TRAITS
            if Trait.ACTIVATION in traits:
                if previous is not None and node not in skip:
                    yield _finding(previous, node)
                previous = node
            elif not traits & TRANSPARENT:
                previous = None


def _finding(first: LayerNode, second: LayerNode) -> Finding:
    if first.kind == second.kind and Trait.IDEMPOTENT in second.layer.TRAITS:  # the second one does nothing
        what = f"applying {second.kind} twice changes nothing"
    else:
        what = f"{second.kind} squashes what {first.kind} already made, adding no capacity and shrinking the gradient"
    return Finding(second.loc, f"`{second.path}` ({second.kind}) follows the activation `{first.path}` "
                   f"({first.kind}) directly: {what}",
                   hint=f"remove one of them: keep the activation you meant after the layer before `{first.path}`")


def _left_to_activated_logits(ctx: Context) -> set[LayerNode]:
    """The layers after the last affine layer that `activated-logits` (A103) judges, when it applies."""
    tail = ctx.output_run
    affine = [i for i, node in enumerate(tail) if Trait.WEIGHTED in node.layer.TRAITS]
    if not affine or ctx.partial:
        return set()
    after = tail[affine[-1] + 1:]
    final = after and isinstance(after[-1].layer, DISTRIBUTION_LAYERS)
    train = ctx.objective
    return set(after) if final or (train is not None and train.task == "classification") else set()
