"""A layer or block is given an argument it does not take.

## What it does
Reports the core's `unknown-argument` error, with the closest valid argument as a hint.

## Why is this bad?
A misspelt argument (`kernal`, `strides`) would otherwise be ignored and the layer built with
the default: a 1-wide stride where 2 was meant changes every shape after it.

## Example
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernal: 3}
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3}
```

## References
- `archcalc layers conv2d` lists the arguments of a kind.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
