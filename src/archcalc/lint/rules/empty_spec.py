"""The spec, or its `layers:`, is empty.

## What it does
Reports the core's `empty-spec` error: the file holds no YAML at all, or `layers:` lists no
layer.

## Why is this bad?
An empty network has no shapes or parameters to compute; an empty file in a folder of specs is
usually a file that was meant to be filled in (or truncated by accident).

## Example
```yaml
input: [10]
layers: []
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
```

## References
- `docs/spec.md`: a spec needs `input:` and at least one layer under `layers:`.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
