"""A key the spec language does not know (at the top level, in `train:` or beside a construct).

## What it does
Reports the core's `unknown-key` error: a top-level key other than `name`, `description`,
`input`, `symbols`, `blocks`, `layers` and `train`; an unknown key in `train:`, in an
optimizer's hyperparameters or in `early_stopping`; or a key that does not belong beside
`repeat`, `residual` or `concat`.

## Why is this bad?
An unknown key is almost always a typo (`layer:` for `layers:`, `weight_decy:`). Ignoring it
would silently train with the default the author meant to override.

## Example
```yaml
input: [10]
layer:
  - linear: 3
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
```

## References
- `docs/spec.md`: the top-level keys and the `train:` section.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
