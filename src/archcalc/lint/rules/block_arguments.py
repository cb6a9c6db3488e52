"""A block is called with too many arguments or without a required one.

## What it does
Reports the core's `block-arguments` error, with the block's signature and where it is defined.

## Why is this bad?
Each block parameter feeds shapes and counts inside the block; a missing one has no value, and an
extra positional argument means the call and the definition disagree about the order.

## Example
```yaml
input: [10]
blocks:
  head(c, scale = 1):
    - linear: {out: scale * c}
layers:
  - head: {scale: 2}
```

Use instead:
```yaml
input: [10]
blocks:
  head(c, scale = 1):
    - linear: {out: scale * c}
layers:
  - head: {c: 3, scale: 2}
```

## References
- `docs/spec.md`: calling a block by keyword (`head: {c: 3}`) or by position (`head: [3, 2]`).
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
