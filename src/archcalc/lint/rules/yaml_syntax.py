"""The file is not valid YAML.

## What it does
Reports the core's `yaml-syntax` error: the text cannot be read as one YAML document (a bracket
left open, a tab used for indentation, a duplicate key, a second `---` document, an alias to an
anchor that is not defined before it).

## Why is this bad?
Nothing in the file can be checked, counted or exported until it reads as YAML. A duplicate key is
an error rather than "the last one wins" (PyYAML's default) because the one silently dropped is
usually the one the author meant.

## Example
```yaml
input: [3, 32, 32
layers:
  - conv2d: {out: 16, kernel: 3}
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3}
```

## References
- YAML 1.2.2 specification, chapters 6–7 (indentation, flow collections).
- `docs/spec.md`: a spec is one YAML document.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
