"""The spec has no `input:` or no `layers:`.

## What it does
Reports the core's `missing-key` error: one of the two keys every spec needs is absent.

## Why is this bad?
Every shape and parameter count starts from the input shape (channels first, batch excluded), and
a network without `layers:` is not a network. Nothing can be computed without both.

## Example
```yaml
layers:
  - linear: 3
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
```

## References
- `docs/spec.md`: `input: [3, 224, 224]` gives channels first, batch excluded.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
