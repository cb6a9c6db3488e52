"""The spec exceeds one of archcalc's safety limits.

## What it does
Reports the core's `resource-limit` error: the file, its nesting, its alias expansion, its
number of layers, an expression or an integer is larger than the limit set in
`archcalc.limits` (or by `ARCHCALC_LIMITS` / `--limit`).

## Why is this bad?
A linter runs on files anyone can write. A few lines of YAML can ask for unbounded work: aliases
that expand to billions of nodes ("billion laughs"), `repeat: 10**12`, `2 ** 2 ** 40`. Each
bound turns such a file into an ordinary finding instead of a hang or an out-of-memory crash.
A real network that needs more raises the limit explicitly.

## Example
```yaml
input: [10]
layers:
  - linear: 100000000000000000000000
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 1000
```

## References
- `src/archcalc/limits.py`: every limit, its default and how to raise it.
- "Billion laughs attack" (XML entity expansion; YAML aliases allow the same).
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
