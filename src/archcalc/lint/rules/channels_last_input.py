"""An input with its channels last (or a clip's frames first), where archcalc and PyTorch read channels first.

## What it does
Reports an `input:` of three sizes whose last is 1, 3 or 4 (grey, RGB, RGBA) and whose first two are
at least 8, when the first layer slides a 2-D window over it (a `conv2d`, a pooling): `[28, 28, 1]`,
`[224, 224, 3]`. Likewise a series given time first before a 1-D window (a `conv1d`, not a
generator's `conv_transpose1d` on a latent vector): 1 to 8 channels last and at least 16 and 4 per
channel steps first, `[16000, 1]`, `[128, 3]` or a Keras `input_shape=(60, 5)` of 60 days of five prices;
and a clip given frames first before a 3-D window
(`conv3d`): 1, 3 or 4 channels second, at least 4 frames (not 1, 3 or 4) first, and frames of at
least 8 × 8, `[16, 3, 112, 112]`. It runs when a layer fails to build too, the first one included,
since such an input often makes one fail.

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
from archcalc.layers import LAYERS
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.spec.ast import BlockCall, LayerItem

SEVERITY = WARNING
#: reads the input and the first layer as written, so it runs when a layer does not build too
PREFIX = True
#: the channel counts of grey, RGB and RGBA images
CHANNELS = (1, 3, 4)


def _first_kind(ctx: Context) -> str | None:
    """The kind of the first layer, inside a block or a repeat too: as built, or as written when the first
    layer is the one that failed (such an input often makes it fail)."""
    first = next(ctx.graph.layers(), None)
    if first is not None:
        return first.kind
    items, entered = ctx.spec.layers, set()
    while items:
        item = items[0]
        if isinstance(item, LayerItem):
            return item.kind
        if isinstance(item, BlockCall):
            if item.block in entered:  # blocks that use each other first: a core error, and no first layer
                return None
            entered.add(item.block)
        items = ctx.spec.blocks[item.block].body if isinstance(item, BlockCall) else getattr(item, "body", [])
    return None


def check(ctx: Context) -> Iterator[Finding]:
    shape = ctx.graph.input_shape
    if not all(symbolic.is_int(d) for d in shape):
        return
    kind = _first_kind(ctx)
    cls = LAYERS.get(kind)
    if cls is None or not hasattr(cls, "kernel") or (len(shape),) != cls.RANKS:
        return
    # a layer that enlarges (a generator's conv_transpose1d) reads a latent vector as channels of few steps
    if len(shape) == 2 and shape[1] <= 8 and shape[0] >= max(16, 4 * shape[1]) and Trait.ENLARGES not in cls.TRAITS:
        steps, channels = shape
        yield Finding(ctx.spec.input_loc, f"input [{steps}, {channels}] reads as {steps} channels of {channels} "
                      f"step{'s' if channels > 1 else ''}: it looks like a series given time first, where "
                      f"`{kind}` takes channels first", hint=f"input: [{channels}, {steps}] (and "
                      "x.transpose(1, 2) on time-first arrays)")
    if len(shape) == 4 and shape[1] in CHANNELS and shape[0] not in CHANNELS and shape[0] >= 4 \
            and min(shape[2:]) >= 8:
        frames, channels, height, width = shape
        yield Finding(ctx.spec.input_loc, f"input [{frames}, {channels}, {height}, {width}] reads as {frames} "
                      f"channels of {channels} frames: it looks like a clip given frames first, where `{kind}` "
                      f"takes channels first", hint=f"input: [{channels}, {frames}, {height}, {width}] (and "
                      "x.transpose(1, 2) on frames-first clips)")
    if len(shape) != 3:
        return
    height, width, channels = shape
    if channels in CHANNELS and height >= 8 and width >= 8:
        yield Finding(ctx.spec.input_loc, f"input [{height}, {width}, {channels}] reads as {height} channels of "
                      f"{width} × {channels} pixels: it looks like an image given height, width, channels, where "
                      f"`{kind}` takes channels first", hint=f"input: [{channels}, {height}, {width}] "
                      "(and x.permute(0, 3, 1, 2) on channels-last image arrays)")
