"""A block is defined under `blocks:` but never used.

## What it does
Reports a block that no layer list calls, directly or through other blocks that are used.

## Why is this bad?
Block bodies are evaluated only when a block is called, so an unused block is never checked: its
typos and shape errors stay hidden until someone uses it. It is dead text that readers have to
understand, and often the sign of a call that was meant to use it (a renamed block, a call to an
older copy).

## Example
```yaml
input: [3, 8, 8]
blocks:
  down(c):
    - conv2d: {out: c, kernel: 3, padding: 1}
    - relu
    - maxpool2d: 2
  unused_stage(c):
    - conv2d: {out: c, kernel: 3, padding: 1}
layers:
  - down: 16
  - global_avgpool2d
  - linear: 10
```

Use instead:
```yaml
input: [3, 8, 8]
blocks:
  down(c):
    - conv2d: {out: c, kernel: 3, padding: 1}
    - relu
    - maxpool2d: 2
layers:
  - down: 16
  - global_avgpool2d
  - linear: 10
```

## References
- ruff F401/F841 and pylint `unused-variable`: the same lesson for code.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import block_calls

SEVERITY = WARNING


def check(ctx: Context) -> Iterator[Finding]:
    blocks = ctx.spec.blocks
    used: set[str] = set()
    todo = [call.block for call in block_calls(ctx.spec.layers)]
    while todo:
        name = todo.pop()
        if name not in used:
            used.add(name)
            block = blocks[name]
            defaults = [item for param in block.params for item in param.layer_default or []]
            todo += [call.block for call in block_calls([*block.body, *defaults])]  # `act = lrelu` uses lrelu
    for name, block in blocks.items():
        if name not in used:
            yield Finding(block.loc, f"block '{name}' is defined but never used",
                          hint="remove it, or call it under layers: (an unused block's body is never checked)")
