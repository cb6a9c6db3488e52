"""An argument expression uses something other than numbers, names, `+ - * / // **`, `max` and `min`.

## What it does
Reports the core's `bad-expression` error: a function call other than `max(…)` and `min(…)` of two or
more values, attribute access, indexing, `%`,
a comparison or conditional, a string literal, division by zero or a non-integer exponent in an
expression such as `2 * c`.

## Why is this bad?
Spec expressions are read by a whitelisting parser, never `eval`: a spec must not be able to run
code on the machine that lints it. Anything outside the whitelist is refused where it is written.

## Example
```yaml
input: [10]
blocks:
  head(c):
    - linear:
        out: abs(c - 8)
layers:
  - head: 4
```

Use instead:
```yaml
input: [10]
blocks:
  head(c):
    - linear:
        out: max(c, 8) - min(c, 8)
layers:
  - head: 4
```

## References
- `src/archcalc/spec/expr.py`: the whitelist and why there is no `eval`.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
