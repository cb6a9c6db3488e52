"""The spec uses a YAML tag such as `!!python/tuple`.

## What it does
Reports the core's `forbidden-tag` error: a node carries an explicit tag other than the plain
YAML 1.2 core ones (`!!str`, `!!int`, `!!float`, `!!bool`, `!!null`, `!!seq`, `!!map`).

## Why is this bad?
Tags ask a YAML loader to construct objects. With a permissive loader `!!python/object/apply`
runs code, which is the classic YAML attack; a spec is plain data, so archcalc refuses every such
tag before anything is constructed, and a linter that runs in pre-commit on files anyone can
write must never do otherwise.

## Example
```yaml
input: !!python/tuple [3, 32, 32]
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
- PyYAML documentation, "Loading YAML": `yaml.load` with an unsafe loader can call any Python function.
- CWE-502, Deserialization of Untrusted Data.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
