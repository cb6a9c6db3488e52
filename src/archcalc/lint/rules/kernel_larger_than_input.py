"""A convolution or pooling kernel is larger than the (unpadded) input it slides over.

## What it does
Reports a sliding-window layer whose effective kernel d(F − 1) + 1 is larger than its input's
height or width. (When the kernel does not even fit the padded input, the core refuses the spec:
`non-positive-size`, E203.)

## Why is this bad?
Every window then overhangs the input, so the kernel's outer taps multiply only zero padding
(or, for `ceil_mode` pooling, nothing): those weights are trained and stored but never see data.
It typically happens deep in a network that has downsampled more than its input allows, such as an
ImageNet ResNet on 32×32 images, whose last stage works on 1×1 maps with 3×3 kernels (8 of 9 taps
only see padding).

## Example
```yaml
input: [64, 2, 2]
layers:
  - conv2d: {out: 64, kernel: 3, padding: 1}
```

Use instead:
```yaml
input: [64, 2, 2]
layers:
  - conv2d: {out: 64, kernel: 1}
```

## References
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f013: kernel larger than the input.
- Lecture notes digest (`shared/seed/DIGEST.md`), "Counting and shapes": the window slides over H + 2P.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
AXES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        geometry = node.layer.geometry(node.in_shape)
        if not isinstance(geometry, tuple):
            continue
        over = [(name, n, axis.kernel) for name, n, axis in zip(AXES.get(len(geometry), ()), node.in_shape[1:],
                                                                  geometry)
                if symbolic.is_int(n) and symbolic.is_int(axis.kernel) and axis.kernel > n]
        if over:
            text = " and ".join(f"{k} > {name} = {n}" for name, n, k in over)
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) has a kernel larger than its input ({text}): "
                          "its outer taps only ever see padding",
                          hint="use a smaller kernel here, or downsample less before this layer")
