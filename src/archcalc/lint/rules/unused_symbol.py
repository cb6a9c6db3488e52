"""A symbol is declared under `symbols:` but no expression uses it.

## What it does
Reports a symbol from `symbols:` that appears neither in `input:` nor in any argument, repeat
count or block-parameter default (a block parameter or repeat index of the same name hides it).

## Why is this bad?
A declared symbol promises that the network depends on it: `--set` accepts it, and reports list
it, yet changing it changes nothing. It is usually left over from an edit, or a sign that an
argument was meant to use it but has a number written instead.

## Example
```yaml
input: [D_i]
symbols: {D_i: 50, D: 30, classes: 3}
layers:
  - linear: D
  - relu
  - linear: 3
```

Use instead:
```yaml
input: [D_i]
symbols: {D_i: 50, D: 30, classes: 3}
layers:
  - linear: D
  - relu
  - linear: classes
```

## References
- ruff F841 (unused-variable): the same lesson for code.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import children
from archcalc.spec.ast import ArgList, BlockCall, If, Item, LayerItem, Merge, NameTemplate, Repeat, Value

SEVERITY = WARNING


def check(ctx: Context) -> Iterator[Finding]:
    spec = ctx.spec
    used: set[str] = set()
    for dim in spec.input:
        used |= _names(dim)
    for block in spec.blocks.values():
        params = {p.name for p in block.params}
        for param in block.params:
            if param.default is not None:
                used |= _names(param.default) - params
        used |= _used(block.body, params)
    used |= _used(spec.layers, set())
    for name, symbol in spec.symbols.items():
        if name not in used:
            yield Finding(symbol.loc, f"symbol '{name}' is declared but no expression uses it",
                          hint=f"remove '{name}' from symbols:, or use it where a number is written instead")


def _used(items: list[Item], local: set[str]) -> set[str]:
    """Names the items' values use, minus ``local`` ones (block parameters, repeat indexes)."""
    names: set[str] = set()
    for item in items:
        inner = local
        values: list[Value] = []
        if isinstance(item, (LayerItem, BlockCall, Merge)):
            values = list(item.args.values())
        if isinstance(item, Merge):  # a branch's `from: "enc{L}"` reads L
            values += [part for source in item.sources if isinstance(source, NameTemplate)
                       for part in source.parts if not isinstance(part, str)]
        elif isinstance(item, Repeat):
            values = [item.count]
            inner = local | ({item.index} if item.index else set())
        elif isinstance(item, If):
            values = [item.condition]
        if isinstance(item.name, NameTemplate):  # a repeat's own name is computed outside its copies
            values += [part for part in item.name.parts if not isinstance(part, str)]
        for value in values:
            names |= _names(value) - local
        names |= _used(children(item), inner)
    return names


def _names(value: Value) -> set[str]:
    if isinstance(value, ArgList):
        return set().union(*(_names(v) for v in value.items))
    return set(getattr(value, "names", ()))
