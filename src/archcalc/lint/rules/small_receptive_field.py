"""The features that global pooling averages each see less than half of the input image.

## What it does
For a network that ends its convolutional part with global pooling (`global_avgpool2d`, or
`adaptive_avgpool2d: 1`), computes the theoretical receptive field of the features being pooled
(the field `archcalc rf` quotes, e.g. `layer4` of a ResNet) and reports it when it covers less
than half of the input's height or width.

## Why is this bad?
A convolution is local: each output sees only the window of input pixels its receptive field
spans (Araujo et al. 2019). Global average pooling then averages these local views and forgets
where each came from, so no feature the classifier gets ever relates pixels further apart than the
field: a small field on a large input can recognise textures, not objects whose parts lie far
apart. It usually means the network is too shallow or downsamples too little for its input size —
add stages, strides or dilation, or train at a lower resolution. (A network that flattens instead,
like LeNet or VGG, keeps positions, and its linear layer can combine distant regions: this rule
leaves it alone. Half the input is a generous bound: torchvision's ResNets cover more than the
whole image.)

## Example
```yaml
input: [3, 128, 128]
layers:
  - conv2d: {out: 32, kernel: 3, padding: 1}
  - relu
  - conv2d: {out: 64, kernel: 3, padding: 1}
  - relu
  - global_avgpool2d
  - linear: 10
```

Use instead:
```yaml
input: [3, 128, 128]
blocks:
  down(c):
    - conv2d: {out: c, kernel: 3, padding: 1}
    - relu
    - maxpool2d: {kernel: 2}
layers:
  - repeat: 5
    index: i
    layers: [down: 16 * 2**i]
  - global_avgpool2d
  - linear: 10
```

## References
- Araujo, Norris & Sim, "Computing Receptive Fields of Convolutional Neural Networks", Distill 2019.
- Luo et al., "Understanding the Effective Receptive Field in Deep CNNs", NIPS 2016: the effective
  field is a fraction of the theoretical one, so a theoretical field below the input is worse still.
- The lecture notes on convolution: locality — each output sees a local region of the input.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.calc.rf import final_field
from archcalc.layers import GLOBAL
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: the share of the input's height and width the final field must cover
MIN_COVERAGE = 0.5


def check(ctx: Context) -> Iterator[Finding]:
    graph = ctx.graph
    if len(graph.input_shape) != 3 or not _pools_globally(ctx):
        return
    fields, _ = ctx.receptive_fields
    node = final_field(graph, fields)
    field = fields[node]
    if not field.local:
        return
    short = [(axis, size, n) for axis, size, n in zip("HW", field.size, graph.input_shape[1:])
             if symbolic.is_int(size) and symbolic.is_int(n) and size < MIN_COVERAGE * n]
    if short:
        seen = " × ".join(symbolic.fmt(s) for s in field.size)
        image = " × ".join(symbolic.fmt(n) for n in graph.input_shape[1:])
        yield Finding(node.loc, f"the features after `{node.path}` each see only {seen} pixels of the {image} "
                      "input: no layer relates parts of the image further apart than that",
                      hint="add downsampling stages, strides or dilation before the classifier "
                      "(`archcalc rf` shows the field layer by layer)")


def _pools_globally(ctx: Context) -> bool:
    """Whether the first layer that sees the whole input is a pooling layer (not flatten or linear)."""
    for node in ctx.layers:
        if node.layer.geometry(node.in_shape) == GLOBAL:
            return Trait.POOLS in node.layer.TRAITS
    return False
