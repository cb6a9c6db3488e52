"""A value in `budget:` is not a limit archcalc can read.

## What it does
Reports the core's `bad-budget` error: a limit that is not a count (`30M`) or a size in bytes
(`2GB`, `512MiB`), a count written with a byte unit, a value that is not a whole number, a
budget `batch_size` below 1, an unknown `dtype`, or a budget that sets no limit at all.

## Why is this bad?
A budget that cannot be read checks nothing; refusing it at its line keeps a typo from passing
every model silently.

## Example
```yaml
input: [10]
budget: {params: 30 parameters}
layers:
  - linear: 3
```

Use instead:
```yaml
input: [10]
budget: {params: 30K}
layers:
  - linear: 3
```

## References
- The `budget:` section of the spec language (docs/spec.md).
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
