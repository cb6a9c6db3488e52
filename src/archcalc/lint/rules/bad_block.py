"""A block definition is malformed (unreadable signature, reserved name, misordered parameters).

## What it does
Reports the core's `bad-block` error: a signature that is not `name(param, param = default)`,
a block named like a layer kind or a construct, a block defined twice, a parameter repeated, a
parameter without a default after one with a default, or a block with no layers.

## Why is this bad?
Blocks are called like functions; a signature that cannot be read unambiguously (which argument
goes where?) would instantiate the wrong network.

## Example
```yaml
input: [10]
blocks:
  head(scale = 1, c):
    - linear: {out: scale * c}
layers:
  - head: {c: 3}
```

Use instead:
```yaml
input: [10]
blocks:
  head(c, scale = 1):
    - linear: {out: scale * c}
layers:
  - head: {c: 3}
```

## References
- `docs/spec.md`: blocks with parameters; Python's rule that defaults come last.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
