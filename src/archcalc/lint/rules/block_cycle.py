"""A block uses itself, directly or through other blocks.

## What it does
Reports the core's `block-cycle` error, with the chain of calls (`a → b → a`).

## Why is this bad?
A network is a finite graph with no cycles (ONNX requires its nodes to be topologically sorted); a
block that contains itself would expand forever.

## Example
```yaml
input: [10]
blocks:
  a:
    - linear: 10
    - b
  b:
    - relu
    - a
layers:
  - a
```

Use instead:
```yaml
input: [10]
blocks:
  a:
    - linear: 10
    - b
  b:
    - relu
layers:
  - a
```

## References
- ONNX IR specification: the graph's nodes "MUST be ordered topologically" and "MUST NOT create cycles".
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
