"""Ten or more convolutions run at the full input resolution, with no pooling or stride before them.

## What it does
Reports the tenth convolution (an affine layer with a window wider than 1) that takes and gives the
model's full input height and width, i.e. nothing before it reduced the resolution. 1×1 convolutions
(bottlenecks, projections) and the strided convolution that downsamples do not count, and inputs of
at most 32 along every axis are left alone: the CIFAR ResNets (He et al. 2016, §4.2) and DenseNets
keep 32×32 through their first stage by design. Two kinds of network keep the full resolution on
purpose and are left alone too: image-to-image networks, whose output is as large as the input
(denoising as DnCNN, super-resolution as VDSR and EDSR), and dilated stacks whose receptive field
already covers the whole input (WaveNet, temporal convolutional networks). Nor are series
classifiers that pool globally at the end (a 1-D input: Wang et al.'s FCN and ResNet, InceptionTime),
whose full-resolution stack costs only linearly in the length.

## Why is this bad?
Pooling and strided convolutions downsample: they cut the computation of every later layer by the
square of the factor, and they let the receptive field grow multiplicatively instead of by k − 1
per layer. Ten full-resolution convolutions cost ten times the first one and still see only a
21×21 window of a 3×3 stack; VGG downsamples after every 2–3 convolutions, ResNet in its first two
layers.

## Example
```yaml
input: [3, 64, 64]
layers:
  - repeat: 10
    layers: [conv2d: {out: 16, kernel: 3, padding: 1}, relu]
  - global_avgpool2d
  - linear: 10
```

Use instead:
```yaml
input: [3, 64, 64]
layers:
  - repeat: 5
    layers:
      - conv2d: {out: 16, kernel: 3, padding: 1}
      - relu
      - conv2d: {out: 16, kernel: 3, padding: 1}
      - relu
      - maxpool2d: 2
  - global_avgpool2d
  - linear: 10
```

## References
- The lecture notes on counting parameters and shapes: pooling downsamples and cuts computation.
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f002 (lack of pooling), with its threshold of 10 layers.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.base import GLOBAL
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: convolutions at full resolution that make a stack deep
THRESHOLD = 10
#: inputs this small (CIFAR's 32×32) are meant to be kept: the CIFAR ResNets run a third of their
#: convolutions at 32×32 (He et al. 2016, §4.2), DenseNet-BC its first dense block
SMALL = 32


def _windowed(node) -> bool:
    """A convolution whose window is wider than 1 along some axis: a 1×1 one (a bottleneck, a projection)
    neither costs like a 3×3 nor grows the receptive field, so it does not make a stack deep here."""
    geometry = node.layer.geometry(node.in_shape)
    return isinstance(geometry, tuple) and any(not symbolic.is_int(a.kernel) or a.kernel > 1 for a in geometry)


def _dense_output(ctx: Context, full: tuple) -> bool:
    """An image-to-image network (denoising, super-resolution, a segmentation that never downsamples): its
    output has the input's resolution or more, so full-resolution convolutions are its design."""
    out = ctx.graph.output_shape
    return len(out) == len(full) + 1 and all(symbolic.is_int(a) and symbolic.is_int(b) and a >= b
                                              for a, b in zip(out[1:], full))


def _sees_everything(ctx: Context, at_full: list, full: tuple) -> bool:
    """Dilated stacks (WaveNet, TCNs) grow the receptive field exponentially without downsampling: once the
    last full-resolution convolution sees the whole input, the cost argument of this rule is their design.
    Only a dilated stack: a plain one deep enough to see everything is exactly what the rule is about."""
    if not any(d != 1 for node in at_full for d in getattr(node.layer, "dilation", (1,))):
        return False
    field = ctx.receptive_fields[0].get(at_full[-1])
    return field is not None and field.local and len(field.size) == len(full) and all(
        symbolic.is_int(s) and symbolic.is_int(d) and s >= d for s, d in zip(field.size, full))


def check(ctx: Context) -> Iterator[Finding]:
    full = ctx.graph.input_shape[1:]
    if len(full) < 1 or all(symbolic.is_int(d) and d <= SMALL for d in full):
        return
    at_full = [node for node in ctx.layers if Trait.WEIGHTED in node.layer.TRAITS and _windowed(node)
               and len(node.in_shape) == len(full) + 1 and len(node.out_shape) == len(full) + 1
               and all(symbolic.equal(a, b) for a, b in zip(node.in_shape[1:], full))
               and all(symbolic.equal(a, b) for a, b in zip(node.out_shape[1:], full))]
    if len(at_full) < THRESHOLD or _dense_output(ctx, full) or _sees_everything(ctx, at_full, full) \
            or (len(full) == 1 and _pools_globally(ctx, at_full[-1])):
        return
    if len(at_full) >= THRESHOLD:
        node = at_full[THRESHOLD - 1]
        size = "×".join(symbolic.fmt(d) for d in full)
        yield Finding(node.loc, f"{len(at_full)} convolutions, `{at_full[0].path}` to `{at_full[-1].path}`, run at the "
                      f"full input resolution {size}: nothing before them pools or strides",
                      hint="downsample every few convolutions (" + ("maxpool2d: 2, or stride: 2" if len(full) == 2
                                                                     else "stride: 2") + ")")


def _pools_globally(ctx: Context, last: LayerNode) -> bool:
    """Whether a layer after ``last`` without weights takes in the whole map (a global pooling, a mean): a
    series classifier (Wang et al.'s FCN and ResNet, InceptionTime) reads every step at full resolution by
    design, at a cost linear in the length, and pools it once at the end."""
    after = ctx.layers[ctx.layers.index(last) + 1:]
    return any(Trait.POOLS in node.layer.TRAITS and node.layer.geometry(node.in_shape) == GLOBAL for node in after)
