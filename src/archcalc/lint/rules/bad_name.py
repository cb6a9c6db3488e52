"""A layer, block or symbol name is not usable (it is empty, has an empty part, or repeats in one block).

## What it does
Reports the core's `bad-name` error: a `name:` of nothing but spaces or with an empty part
between dots (`head..fc`, `.fc`), a layer named twice, two items with the same name in one
container, a symbol or repeat index that is not a plain identifier, or a merge branch's
`from:` path that names no layer or block built before the merge (a skip connection to a later
or enclosing node, or to a misspelt one).

## Why is this bad?
Names make PyTorch-style paths (`layer4.1.conv2`): a dot places a layer in a nested module
(`attention.output.dense`), so an empty part would make a path torch cannot register, and
duplicate names inside one container would make exported `state_dict` keys collide.

## Example
```yaml
input: [10]
layers:
  - linear: {out: 3, name: head..fc}
```

Use instead:
```yaml
input: [10]
layers:
  - linear: {out: 3, name: head.fc}
```

## References
- PyTorch, `torch.nn.Module.add_module`: a module name cannot be empty or contain `.`; nested
  modules give the dotted paths of `state_dict` keys.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
