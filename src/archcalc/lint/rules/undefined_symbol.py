"""An expression names a symbol that is not declared.

## What it does
Reports the core's `undefined-symbol` error: a name in an argument is neither a symbol under
`symbols:` (or in `input:`), nor a parameter of the enclosing block, nor a repeat index.

## Why is this bad?
An undeclared name is a typo or a forgotten declaration; treating it as a free symbol would turn
every count after it into a formula in a variable nobody meant to have.

## Example
```yaml
input: [10]
layers:
  - linear: {out: classes}
```

Use instead:
```yaml
input: [10]
symbols: {classes: 3}
layers:
  - linear: {out: classes}
```

## References
- `docs/spec.md`: symbols, block parameters and repeat indexes.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
