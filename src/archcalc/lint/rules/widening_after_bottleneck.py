"""A classifier's fully connected hidden layer widens again after an earlier one narrowed.

## What it does
Looks at the fully connected layers on vectors that follow each other on a classification model's
main path (`train: {task: classification}`; activations, dropout and normalisation may sit between
them, a sum or a branch ends the stack). It reports a hidden layer that is wider than its input when
an earlier hidden layer of the same stack was narrower than *its* input: widths that shrink and
then grow again before the output, such as 3136 → 128 → 256 → 512 → 10.

A stack that widens from a small input (a tabular model's 10 → 64 → 128 → 2), the widening inside a
transformer's feed-forward block (a residual body) and an autoencoder's decoder (not a
classification) are left alone.

## Why is this bad?
Everything after the narrow layer is computed from its few numbers: the wider layers that follow
cannot recover what it dropped, they only add parameters to fit (and to overfit with). Classifier
heads therefore narrow toward the output (VGG's 4096, 4096, 1000; LeNet's 120, 84, 10), which puts
the width where the input still has information to carry. This is a matter of efficiency rather
than correctness: such a network still trains, hence the info severity.

## Example
```yaml
input: [256]
layers:
  - linear: 64
  - relu
  - linear: 128
  - relu
  - linear: 10
train:
  task: classification
  classes: 10
```

Use instead:
```yaml
input: [256]
layers:
  - linear: 128
  - relu
  - linear: 64
  - relu
  - linear: 10
train:
  task: classification
  classes: 10
```

## References
- The lecture notes on multi-layer perceptrons: hidden layers narrow from the input toward the classes.
- Szegedy et al., "Rethinking the Inception Architecture for Computer Vision", CVPR 2016, §2 (the
  representation's size should decrease gently from the input to the output).
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f019: the width of fully connected layers should
  decrease progressively.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode, Node
from archcalc.layers.base import GLOBAL
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding
from archcalc.lint.structure import flatten

SEVERITY = INFO


def check(ctx: Context) -> Iterator[Finding]:
    if ctx.objective is None or ctx.objective.task != "classification":
        return
    for stack in _stacks(flatten(ctx.graph.root.items)):
        narrow: LayerNode | None = None  # the first hidden layer of the stack that narrowed its input
        for node in stack[:-1]:  # the last layer of a stack is the output layer or feeds what follows
            d_in, d_out = int(node.in_shape[0]), int(node.out_shape[0])
            if narrow is not None and d_out > d_in:
                extra, width = node.layer.params(node.in_shape).trainable, int(narrow.out_shape[0])
                yield Finding(node.loc, f"`{node.path}` ({node.kind}) widens {d_in} → {d_out} after `{narrow.path}` "
                              f"narrowed to {width}: all it computes is a function of those {width} numbers, so its "
                              f"{extra:,} parameters cannot restore what the narrow layer dropped",
                              hint="let the hidden widths shrink toward the output (widen the earlier layer, or "
                              f"give `{node.path}` at most {d_in} units)")
            elif narrow is None and d_out < d_in:
                narrow = node


def _stacks(run: list[Node]) -> Iterator[list[LayerNode]]:
    """The runs of fully connected layers on vectors with only weightless layers between them."""
    stack: list[LayerNode] = []
    for node in run:
        if isinstance(node, LayerNode) and Trait.WEIGHTED not in node.layer.TRAITS:
            continue
        if isinstance(node, LayerNode) and _dense(node):
            stack.append(node)
            continue
        if stack:
            yield stack
        stack = []
    if stack:
        yield stack


def _dense(node: LayerNode) -> bool:
    """A fully connected layer from a vector to a vector, of known widths."""
    return len(node.in_shape) == 1 and len(node.out_shape) == 1 and node.layer.geometry(node.in_shape) == GLOBAL \
        and symbolic.is_int(node.in_shape[0]) and symbolic.is_int(node.out_shape[0])
