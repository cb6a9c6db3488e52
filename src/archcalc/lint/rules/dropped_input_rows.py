"""A convolution or pooling window sweep leaves the last rows or columns of its input unread.

## What it does
Reports a sliding-window layer (`Layer.geometry` gives a kernel, stride and padding per axis)
for which (H + 2P − F) is not a multiple of S and the remainder is larger than the padding, so the
last input rows (or columns) are never covered by any window. Layers whose kernel is smaller than
their stride skip inputs everywhere by design and are not reported; `padding: same` covers
everything. Pooling layers are left alone: what a pool drops is the last partial window of features
that the layers before it computed from overlapping windows, less than one stride at one edge, and
PyTorch's and Keras' pools drop it by design (`ceil_mode` keeps it); every textbook network that
pools an odd-sized map does it.

## Why is this bad?
The output size is ⌊(H + 2P − F)/S⌋ + 1: the floor silently drops what does not fit a whole
stride. When the remainder falls inside the padding nothing is lost (ResNet's 7×7, stride 2,
padding 3 convolution on 224 drops one row of padding; the copies a reflect, replicate or circular
padding adds hold nothing the input does not either), but beyond it real pixels are ignored,
usually at the bottom and right edges only, and the downsampled grid is no longer centred on the
input. The lecture's formula assumes the division is exact.

It is information, not a warning: what is lost is always less than one stride at one edge (one row
and column of 32 for a 5×5, stride-2 convolution, as Keras' default `valid` padding gives in countless
working programs, and AlexNet's 11×11, stride-4 layer on the paper's 224 pixels), and the network
trains as well. It matters where positions must line up exactly: tiling a large image, outputs
aligned with per-pixel labels, a decoder that must give the input's size back.

## Example
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3, stride: 2}
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3, stride: 2, padding: 1}
```

## References
- The lecture notes on counting parameters and shapes: output size (H + 2P − F)/S + 1.
- CS231n, "Convolutional Networks": the hyperparameters must make (W − F + 2P)/S + 1 an integer.
"""

from __future__ import annotations

from collections.abc import Iterator
from itertools import pairwise

from archcalc import symbolic
from archcalc.graph.nodes import LayerNode
from archcalc.layers.spatial import AXIS_NAMES
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding

SEVERITY = INFO
#: runs on the layers that built when a later one does not
PREFIX = True
UNITS = {"H": "row", "W": "column"}


def check(ctx: Context) -> Iterator[Finding]:
    fed = {b: a for run in ctx.chains for a, b in pairwise(run)}  # each node's producer in its chain
    for node in ctx.layers:
        geometry = node.layer.geometry(node.in_shape)
        if not isinstance(geometry, tuple) or node.layer.config().get("padding") == "same" \
                or Trait.POOLS in node.layer.TRAITS:
            continue
        parts, hints = [], []
        names = AXIS_NAMES.get(len(geometry), ())
        producer = fed.get(node)
        added = _padded_after(producer, len(geometry))
        for name, n, out, axis, after in zip(names, node.in_shape[1:], node.out_shape[1:], geometry, added):
            k, s, p = axis.kernel, axis.stride, axis.padding
            if not all(symbolic.is_int(v) for v in (n, out, k, s, p, after)) or k < s:
                continue
            # past the last window, minus the right padding and the zeros a `pad` just before added at the end
            lost = n + p - ((out - 1) * s + k) - max(after, 0)
            if lost > 0:
                unit = UNITS.get(name, "position")
                plural = "s" if lost > 1 else ""
                if after > 0:
                    them = "them" if after > 1 else "it"
                    tail = (f"the {after} {unit}{'s' if after > 1 else ''} `{producer.path}` (pad) added at the end of "
                            f"{name} = {n} and the {lost} {unit}{plural} before {them} are never read")
                else:
                    tail = f"the last {lost} {unit}{plural} of {name} = {n} {'are' if lost > 1 else 'is'} never read"
                parts.append(f"({name}+2P−F) mod S = ({n}+2×{p}−{k}) mod {s} = {(n + 2 * p - k) % s}, so {tail}")
                hints.append(_padding_hint(name, n, k, s, p))
        if parts:
            yield Finding(node.loc, f"`{node.path}` ({node.kind}): " + "; ".join(parts),
                          hint=next((h for h in hints if h), None) or
                          "make (H+2P−F) a multiple of S: change the input size, the padding or the kernel")


def _padded_after(producer: object, rank: int) -> list[object]:
    """Per spatial axis, the positions a ``pad`` layer right before added after the input's end (0 without one):
    a window sweep that leaves those unread drops only padding, as it would its own, in any mode (a reflect
    pad's copies are of positions the sweep reads, or reports)."""
    if not isinstance(producer, LayerNode) or producer.kind != "pad":
        return [0] * rank
    return [after for _, after in producer.layer.pairs(producer.in_shape)[-rank:]]


def _padding_hint(name: str, n: int, k: int, s: int, p: int) -> str | None:
    """The smallest larger padding (at most k // 2) that leaves no input unread."""
    for q in range(p + 1, k // 2 + 1):
        if (n + 2 * q - k) % s <= q:
            return f"padding {q} on {name} reads every input (or make {name}+2P−F a multiple of S)"
    return None
