"""A layer, block or symbol name is not usable (it contains `.`, is empty, or repeats in one block).

## What it does
Reports the core's `bad-name` error: a `name:` containing `.` or nothing but spaces, a layer
named twice, two items with the same name in one container, or a symbol or repeat index that is
not a plain identifier.

## Why is this bad?
Names make PyTorch-style paths (`layer4.1.conv2`): `.` separates path parts, so a name with a
dot would make two different layers share a path, and duplicate names inside one container would
make exported `state_dict` keys collide.

## Example
```yaml
input: [10]
layers:
  - linear: {out: 3, name: head.fc}
```

Use instead:
```yaml
input: [10]
layers:
  - linear: {out: 3, name: head_fc}
```

## References
- PyTorch, `torch.nn.Module.add_module`: a module name cannot contain `.`.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
