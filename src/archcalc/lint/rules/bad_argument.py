"""An argument has a value its layer cannot take (wrong type or out of range).

## What it does
Reports the core's `bad-argument` error: a kernel of 0, a negative padding, `bias: maybe`, a
dropout probability above 1, `groups` that do not divide the channels, padding larger than
half a pooling window, an expression that is not always an integer.

## Why is this bad?
PyTorch would refuse the same values when building the module, or (worse) accept them and compute
something else; every such value is refused here with the argument named and the value echoed.

## Example
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 0}
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3}
```

## References
- PyTorch `torch.nn.Conv2d`: kernel sizes and strides must be positive; `groups` must divide both channel counts.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
