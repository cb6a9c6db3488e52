"""Several sigmoid/tanh layers in a row with no normalisation or skip connection: vanishing gradients.

## What it does
Reports a run of saturating activations (sigmoid, tanh, hardsigmoid: `Trait.SATURATES`) with no
normalisation layer and no residual connection between them, when the run is five or more long, or
when the derivatives of its bounded activations alone scale the gradient by 1/64 or less: three
logistic sigmoids (0.25³), as in a LeNet whose three hidden layers are all sigmoids. Tanh has no
such bound, so four tanh layers, as in the original LeNet-5, are not reported: shallow saturating
networks do train. The model's output activation does not count: its derivative scales the gradient
of every layer alike, so it makes no layer learn slower than another.

## Why is this bad?
Backpropagation multiplies the gradient by each activation's derivative on its way to the first
layers. The sigmoid's derivative s(1 − s) is at most 0.25, so four sigmoid layers scale it by at
most 0.25⁴ ≈ 0.004 before the weights are even counted. Tanh's derivative 1 − tanh² is at most 1
(at 0), so it gives no such bound, but it falls towards 0 once a unit saturates (below 0.08 for
|x| > 2), and every saturated layer then cuts the gradient. The early layers barely learn: the
vanishing-gradient problem. The hard sigmoid's derivative is 1/6 on (−3, 3) and 0 outside, a bound
tighter still. The message gives the bound of the kinds that have one and says what holds for tanh.
ReLU's derivative is 1 for positive inputs; batch norm keeps pre-activations out of the saturated
range; a residual connection gives the gradient a path around the stack.

## Example
```yaml
input: [64]
layers:
  - repeat: 5
    layers: [linear: 64, sigmoid]
  - linear: 10
```

Use instead:
```yaml
input: [64]
layers:
  - repeat: 5
    layers: [linear: 64, relu]
  - linear: 10
```

## References
- LeCun, Bottou, Orr & Müller, "Efficient BackProp", 1998, §4.4: the logistic function's outputs are not
  centred on zero, which slows learning in the layers after it; symmetric sigmoids such as tanh do better.
- The lecture notes on perceptrons and activations: sigmoid' ≤ 0.25; many sigmoid layers multiply
  derivatives ≤ 0.25 and the gradient reaching early layers → 0.
- Glorot & Bengio, "Understanding the difficulty of training deep feedforward neural networks", AISTATS 2010.
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, ResidualNode
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: saturating activations in a row that make a stack "deep" (Glorot & Bengio's saturation study used 5)
THRESHOLD = 5
#: the largest product of the bounded derivatives a run may have: three logistic sigmoids, 0.25³ = 1/64
BOUND = 0.25 ** 3


def check(ctx: Context) -> Iterator[Finding]:
    for run in ctx.chains:
        streak: list[LayerNode] = []
        for node in [*run, None]:
            if node is None or isinstance(node, ResidualNode) or (isinstance(node, LayerNode)
                                                                  and Trait.NORMALIZES in node.layer.TRAITS):
                streak = [n for n in streak if n is not ctx.output_layer]
                if len(streak) >= THRESHOLD or (streak and _bound(streak) <= BOUND):
                    yield _finding(streak)
                streak = []
            elif isinstance(node, LayerNode) and Trait.SATURATES in node.layer.TRAITS:
                streak.append(node)


def _bound(streak: list[LayerNode]) -> float:
    """The product of the largest derivatives of the activations that have one (1 when none has)."""
    return math.prod(node.layer.MAX_SLOPE or 1.0 for node in streak)


def _finding(streak: list[LayerNode]) -> Finding:
    n = len(streak)
    kinds = " and ".join(sorted({node.kind for node in streak}))
    bounded = [node for node in streak if node.layer.MAX_SLOPE]
    free = " and ".join(sorted({node.kind for node in streak if not node.layer.MAX_SLOPE}))
    parts = []
    if bounded:
        slopes = {node.kind: node.layer.MAX_SLOPE for node in bounded}  # kind → its largest derivative
        counts = {kind: sum(node.kind == kind for node in bounded) for kind in slopes}
        limits = " and ".join(f"{kind}' ≤ {slope:.2g}" for kind, slope in slopes.items())
        factors = " × ".join(f"{slope:.2g}^{counts[kind]}" for kind, slope in slopes.items())
        product = math.prod(slope ** counts[kind] for kind, slope in slopes.items())
        which = f"{next(iter(slopes))}s" if len(slopes) == 1 else f"{' and '.join(slopes)} layers"
        over = "" if len(bounded) == n else f" over the {len(bounded)} {which}"
        parts.append(f"{limits}, so by at most {factors} ≈ {product:.2g}{over}")
    if free:
        parts.append(f"{free}' ≤ 1, and it falls towards 0 once a unit saturates (tanh' < 0.08 for |x| > 2)")
    return Finding(streak[0].loc, f"{n} saturating activations ({kinds}) from `{streak[0].path}` to "
                   f"`{streak[-1].path}` with no normalisation or skip connection between them: the gradient "
                   f"reaching the first layers is scaled by each one's derivative: {'; '.join(parts)}",
                   hint="use relu (or gelu) in hidden layers, or add batch norm or residual connections")
