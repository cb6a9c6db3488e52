"""Two affine layers (linear or convolution) with no non-linearity between them.

## What it does
Reports an affine layer (`linear`, `conv2d`) whose output reaches another affine layer through
nothing but layers that are linear at inference: batch norm, dropout, flatten, identity. The
finding sits on the first of the two, the layer whose activation is missing, where the fix goes
(as `missing-activation`, A108, and `dense-input-layer`, A110, place theirs); in a framework that
is the line of the layer written without its `activation=`. It follows into a sum or concatenation
whose every branch starts with an affine layer. A deliberate factorisation is not reported:

- a low-rank bottleneck: fewer values between the two layers (channels, features, or a code vector:
  a convolutional autoencoder's `[64, 1, 1]` between `[32, 7, 7]` maps) than the first's input
  and the second's output, as in MobileNet-v2's linear bottleneck (a 1×1 projection to few channels,
  batch norm, the next block's 1×1 expansion). Between two 1×1 convolutions the middle may also
  equal the first's input (MobileNet-v3-small's first block: 16 channels to 16, then 72);
- a depthwise-separable convolution: a depthwise convolution (`groups` equal to its input channels)
  and a 1×1 convolution, either way round. One mixes positions only, the other channels only: a
  full convolution factorised into far fewer weights, with no activation between them on purpose;
- a spatially separable convolution: a k×1 window then a 1×k one (each windowing one axis, a different
  one), the low-rank large kernel of Peng et al.'s global convolutional network. A video network's
  1×k×k then t×1×1 is not exempt: (2+1)-D, P3D and S3D put an activation between the two.

## Why is this bad?
W₂(W₁x + b₁) + b₂ = (W₂W₁)x + (W₂b₁ + b₂): without a non-linear activation between them, the two
layers compute one linear map. The second adds parameters and computation but no expressive power; a
stack of such layers is one linear model, whatever its depth. For two fully connected layers the
message gives the size of the one layer they equal.

A narrow middle is different: W₂W₁ then has rank at most the middle width, fewer parameters than
one full layer and no more power than intended. MobileNet-v2 removes the activation there on purpose,
since a ReLU in a narrow bottleneck destroys information (Sandler et al., §3.2); so does Xception
between the halves of a separable convolution, which trained better without one (Chollet, §4.7).

A first layer as wide as the vector input it reads is left to `dense-input-layer` (A110, info): the
diagrams' "input layer" written with weights, a change of basis the next layer absorbs.

## Example
```yaml
input: [50]
layers:
  - linear: 30
  - linear: 3
```

Use instead:
```yaml
input: [50]
layers:
  - linear: 30
  - relu
  - linear: 3
```

## Known problems
Every pooling layer is treated as a possible non-linearity (max pooling is one): A108 judges them.

## References
- The lecture notes on perceptrons and activations: without a non-linear activation a stack of
  layers collapses to one linear model.
- NeuraLint (Nikanjam et al., TOSEM 2022), f009 (missing ReLU); UMLAUT (Schoop et al., CHI 2021).
- Sandler et al., "MobileNetV2: Inverted Residuals and Linear Bottlenecks", CVPR 2018, §3.2.
- Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017, §4.7.
- Ma et al., "ShuffleNet V2: Practical Guidelines for Efficient CNN Architecture Design", ECCV 2018.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode, MergeNode
from archcalc.layers.base import numel
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import branch_heads, dense_input_layer, factorised, pointwise

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    first = dense_input_layer(ctx.chains)  # an input-sized first layer is dense-input-layer's (A110)
    for run in ctx.chains:
        previous: LayerNode | None = None  # the last affine layer, while only linear layers follow it
        for node in run:
            if isinstance(node, MergeNode) and previous is not None and previous is not first:
                yield from _into_branches(previous, node)
            if not isinstance(node, LayerNode) or _separates(node):
                previous = None
                continue
            if Trait.WEIGHTED not in node.layer.TRAITS:
                continue
            if previous is not None and previous is not first and not _bottleneck(previous, node) \
                    and not factorised(previous, node):
                yield Finding(previous.loc, f"`{previous.path}` ({previous.kind}) feeds `{node.path}` ({node.kind}) "
                              f"with no activation between them: together they compute one linear map"
                              f"{_equivalent(previous, node)}",
                              hint=f"add an activation after `{previous.path}`, such as `- relu`")
            previous = node


def _into_branches(previous: LayerNode, merge: MergeNode) -> Iterator[Finding]:
    """Every branch of a linear merge passes ``previous``'s output straight to an affine layer of its own."""
    heads = branch_heads(merge)
    if not heads or any(pooled or _bottleneck(previous, head) or factorised(previous, head) for head, pooled in heads):
        return
    yield Finding(previous.loc, f"`{previous.path}` ({previous.kind}) feeds the {len(heads)} branches of "
                  f"`{merge.path}` ({merge.kind}), each starting with an affine layer "
                  f"({', '.join(f'`{head.path}`' for head, _ in heads)}), with no activation between them: each "
                  "branch computes one linear map with it", hint=f"add an activation after `{previous.path}`, "
                  "such as `- relu`")


def _separates(node: LayerNode) -> bool:
    """Whether a layer may be non-linear at inference: not linear, or a pool (see Known problems)."""
    return Trait.LINEAR not in node.layer.TRAITS or Trait.POOLS in node.layer.TRAITS


def _bottleneck(first: LayerNode, second: LayerNode) -> bool:
    """Whether fewer values, or a narrower width, lie between the two layers than the first reads and the second
    gives (or, between two 1×1 convolutions, a width no wider than the first's input and smaller than the rest)."""
    sizes = [numel(first.out_shape), numel(first.in_shape), numel(second.out_shape)]
    if all(symbolic.is_int(s) for s in sizes) and sizes[0] < min(sizes[1:]) and set(first.out_shape[1:]) == {1}:
        return True  # an autoencoder's code vector: [32, 7, 7] to [64, 1, 1] and back
    inner, before, after = (_width(first, first.out_shape), _width(first, first.in_shape),
                            _width(second, second.out_shape))
    if not all(symbolic.is_int(w) for w in (inner, before, after)) or not inner < after:
        return False
    return inner < before or (inner == before and pointwise(first) and pointwise(second))


def _width(node: LayerNode, shape: tuple) -> object:
    """The axis an affine layer mixes: the channels (axis 0) of a convolution (a layer with a window
    geometry), the last axis of a linear layer."""
    return shape[0] if isinstance(node.layer.geometry(node.in_shape), tuple) else shape[-1]


def _equivalent(first: LayerNode, second: LayerNode) -> str:
    """For two fully connected layers on vectors: the size of the one layer they amount to."""
    d_in, d_out = first.in_shape, second.out_shape
    if len(d_in) != 1 or len(d_out) != 1 or not (symbolic.is_int(d_in[0]) and symbolic.is_int(d_out[0])):
        return ""
    both = first.layer.params(first.in_shape).trainable + second.layer.params(second.in_shape).trainable
    if not symbolic.is_int(both):
        return ""
    one = d_in[0] * d_out[0] + d_out[0]
    return f" ({d_in[0]}→{d_out[0]}: one layer of ({d_in[0]}×{d_out[0]})+{d_out[0]} = {one:,} parameters " \
           f"does what these {both:,} do)"
