"""A part of the spec has the wrong YAML shape (a mapping where a list belongs, two kinds in one layer).

## What it does
Reports the core's `bad-structure` error: `layers:` (or a block body, a branch, a repeat's
`layers:`) is not a list, a list item is neither a kind name nor a one-key mapping, a construct
lacks its body, or a section that must be a mapping is something else.

## Why is this bad?
The structure decides which layers exist and in which order; guessing what a malformed structure
meant would compute the wrong network. The usual cause is a missing `- ` in front of a layer, or
two layers written in one list item.

## Example
```yaml
input: [10]
layers:
  linear: 3
```

Use instead:
```yaml
input: [10]
layers:
  - linear: 3
```

## References
- `docs/spec.md`: layers are a list; each item is `kind`, `kind: value` or `kind: {args}`.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
