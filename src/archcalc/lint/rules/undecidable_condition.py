"""An `if:` condition holds for some values of a free symbol and not for others.

## What it does
Reports the core's `undecidable-condition` error: the condition of an `if:` compares sizes that
depend on a symbol left free (`H > 3` with `H` free), so which layers the network has depends on a
value the spec does not give.

## Why is this bad?
archcalc answers for every value of a free symbol at once (a shape is a formula in `H`); a network
whose very layers change with `H` has no single answer. Give the symbol a value (`--set H=224`, or
a default under `symbols:`), or decide on a block parameter, which is always a number.

## Example
```yaml
input: [3, H, W]
layers:
  - if: H > 64
    then: [maxpool2d: 2]
  - conv2d: {out: 8, kernel: 3}
```

Use instead:
```yaml
input: [3, H, W]
symbols: {H: 224, W: 224}
layers:
  - if: H > 64
    then: [maxpool2d: 2]
  - conv2d: {out: 8, kernel: 3}
```

## References
- `docs/spec.md`, *`if:`: layers chosen by a condition*.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
