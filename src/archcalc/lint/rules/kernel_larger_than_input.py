"""A convolution or pooling kernel overhangs its input so far that some of its taps never read it.

## What it does
Reports a sliding-window layer whose effective kernel d(F − 1) + 1 is larger than its input's
height or width, when some tap of the kernel reads only padding (or, for `ceil_mode` pooling,
nothing) at every output position: tap j at output i reads input row i·S − P + j·d, and the tap
is dead when no output puts that row inside the input. A kernel larger than its input whose taps
all read the input somewhere (a 3×3 convolution with padding 1 on a 2×2 map) is not reported, nor
is a convolution whose `padding_mode` fills the padding with copies of the input (reflect,
replicate, circular): there every tap reads data. (When the kernel does not even fit the padded
input, the core refuses the spec: `non-positive-size`, E203.)

## Why is this bad?
A dead tap multiplies zero padding at every position: its weights are trained and stored but
never see data, and the layer is effectively a smaller kernel that costs the full one. It
typically happens deep in a network that has downsampled more than its input allows, such as an
ImageNet ResNet on 32×32 images, whose last stage works on 1×1 maps with 3×3 kernels (8 of the 9
taps only ever read padding).

## Example
```yaml
input: [64, 1, 1]
layers:
  - conv2d: {out: 64, kernel: 3, padding: 1}
```

Use instead:
```yaml
input: [64, 1, 1]
layers:
  - conv2d: {out: 64, kernel: 1}
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f013: kernel larger than the input.
- The lecture notes on counting and shapes: the window slides over the padded input, H + 2P.
- Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016, §2 (padding and strides).
"""

from __future__ import annotations

import math
from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.spatial import AXIS_NAMES
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: taps per axis beyond which the taps are not counted one by one (no real kernel comes near)
MAX_TAPS = 4096
UNITS = {"H": "rows", "W": "columns"}


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        geometry = node.layer.geometry(node.in_shape)
        if not isinstance(geometry, tuple) or node.layer.config().get("padding_mode", "zeros") != "zeros":
            continue  # a padding of copies: a tap in it reads the input too
        names = AXIS_NAMES.get(len(geometry), ())
        over = [f"{axis.kernel} > {name} = {n}" for name, n, axis in zip(names, node.in_shape[1:], geometry)
                if symbolic.is_int(n) and symbolic.is_int(axis.kernel) and axis.kernel > n]
        if not over:
            continue
        config = node.layer.config()
        kernels = _pair(config.get("kernel"), len(geometry))
        dilations = _pair(config.get("dilation", 1), len(geometry))
        alive, dead_axes = [], []
        for name, n, out, axis, taps, d in zip(names, node.in_shape[1:], node.out_shape[1:], geometry, kernels,
                                               dilations):
            if not all(symbolic.is_int(v) for v in (n, out, axis.kernel, axis.stride, axis.padding, taps, d)) \
                    or taps > MAX_TAPS:
                alive.append(None)
                continue
            live = sum(_reads_input(j * d, n, out, axis.stride, axis.padding) for j in range(taps))
            alive.append(live)
            if live < taps:
                dead_axes.append(f"{taps - live} of its {taps} kernel {UNITS.get(name, 'positions')} along {name}")
        if not dead_axes:
            continue
        if None in alive:
            what = " and ".join(dead_axes) + " never read the input"
        else:
            total = math.prod(kernels)
            what = f"{total - math.prod(alive)} of its {total} taps never read the input"
        yield Finding(node.loc, f"`{node.path}` ({node.kind}) has a kernel larger than its input ({' and '.join(over)})"
                      f": {what}, at any output position",
                      hint="use a smaller kernel here, or downsample less before this layer")


def _reads_input(offset: int, n: int, out: int, stride: int, padding: int) -> bool:
    """Whether the tap at ``offset`` reads a real input row for some output i: 0 ≤ i·S − P + offset < n."""
    first = max(0, -((offset - padding) // stride))  # the smallest i with i·S ≥ P − offset
    return first < out and first * stride - padding + offset < n


def _pair(value: object, rank: int) -> tuple:
    return value if isinstance(value, tuple) else (value,) * rank
