"""A softmax over a multi-axis input relies on the default axis.

## What it does
Reports a `softmax` whose input has more than one axis (batch excluded) and that does not say
which axis it normalises (`dim:`). archcalc's default is axis 0, the channels.

## Why is this bad?
On a `[C, H, W]` or `[T, D]` input a softmax can normalise any axis, and each choice is a
different model: per-pixel class probabilities over C, or attention weights over T. PyTorch
deprecated `nn.Softmax()` without `dim` for this reason (its implicit choice depends on the
input's rank). Writing the axis makes the spec say what it means, and the export match it.

This rule is informational and off by default; enable it with `--extend-select A104`.

## Example
```yaml
input: [8, 16, 16]
layers:
  - conv2d: {out: 4, kernel: 1}
  - softmax
```

Use instead:
```yaml
input: [8, 16, 16]
layers:
  - conv2d: {out: 4, kernel: 1}
  - softmax: {dim: 0}
```

## References
- PyTorch `torch.nn.functional.softmax`: "Implicit dimension choice for softmax has been deprecated".
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.base import shape_text
from archcalc.layers.softmax import Softmax
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding

SEVERITY = INFO
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        if isinstance(node.layer, Softmax) and "dim" not in node.layer.arg_locs and len(node.in_shape) > 1:
            axis = ctx.train.class_axis if ctx.train is not None else None
            hint = f"say which axis: `- softmax: {{dim: {axis}}}` for the class scores (train: class_axis: {axis})" \
                if axis is not None and node is ctx.output_layer else \
                "say which axis: `- softmax: {dim: 0}` for the channels, `{dim: -1}` for the last (a language " \
                "model's vocabulary)"
            yield Finding(node.loc, f"`{node.path}` (softmax) normalises axis 0 (the channels) of its "
                          f"{shape_text(node.in_shape)} input by default", hint=hint)
