"""A layer kind that is neither registered nor a block defined in the spec.

## What it does
Reports the core's `unknown-kind` error, with the closest known kind as a hint.

## Why is this bad?
The kind decides the layer's arguments, shape rule and parameter count; an unknown one (usually a
typo such as `conv2` or `batchnorm`) leaves the network undefined from that layer on.

## Example
```yaml
input: [3, 32, 32]
layers:
  - conv2: {out: 16, kernel: 3}
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3}
```

## References
- `archcalc layers` lists every kind and its arguments.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
