"""An image input written height, width, channels, where archcalc (and PyTorch) read channels first.

## What it does
Reports an `input:` of three sizes whose last is 1, 3 or 4 (grey, RGB, RGBA) and whose first two are
at least 8, when the first layer slides a 2-D window over it (a `conv2d`, a pooling): `[28, 28, 1]`,
`[224, 224, 3]`. It runs when a later layer fails too, since such an input often makes one fail.

## Why is this bad?
A spec's shapes are PyTorch's: channels first, `[C, H, W]`. Keras, TensorFlow, NumPy image arrays
and PIL give images as height, width, channels, and `[28, 28, 1]` copied from them reads here as 28
channels of 28 × 1 pixels: the convolution slides over a strip one pixel wide (a 3 × 3 kernel does not
fit it, a padded one sees mostly zeros), every count is of another network, and the exported module
expects `x.permute(0, 3, 1, 2)` of the images. A real input with 3 channels last and a height and
width of 3 or 4 is not a shape any image network is written for.

## Example
```yaml
input: [32, 32, 3]
layers:
  - repeat: 3
    layers: [conv2d: {out: 16, kernel: 3, padding: 1}, relu, maxpool2d: 2]
  - global_avgpool2d
  - linear: 10
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - repeat: 3
    layers: [conv2d: {out: 16, kernel: 3, padding: 1}, relu, maxpool2d: 2]
  - global_avgpool2d
  - linear: 10
```

## References
- PyTorch `nn.Conv2d`: input (N, C_in, H, W). Keras `Conv2D` with `data_format="channels_last"`
  (its default): (batch, height, width, channels).
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: wrong input format.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: reads the input and the first layer as written, so it runs when a layer does not build too
PREFIX = True
#: the channel counts of grey, RGB and RGBA images
CHANNELS = (1, 3, 4)


def check(ctx: Context) -> Iterator[Finding]:
    shape = ctx.graph.input_shape
    if len(shape) != 3 or not all(symbolic.is_int(d) for d in shape):
        return
    height, width, channels = shape
    first = next(ctx.graph.layers(), None)  # the first layer, inside a block or a repeat too
    window = first is not None and hasattr(type(first.layer), "kernel") and type(first.layer).RANKS == (3,)
    if window and channels in CHANNELS and height >= 8 and width >= 8:
        yield Finding(ctx.spec.input_loc, f"input [{height}, {width}, {channels}] reads as {height} channels of "
                      f"{width} × {channels} pixels: it looks like an image given height, width, channels, where "
                      f"`{first.kind}` takes channels first", hint=f"input: [{channels}, {height}, {width}] "
                      "(and x.permute(0, 3, 1, 2) on channels-last image arrays)")
