"""A layer lacks a required argument (a convolution without `kernel`, a linear layer without `out`).

## What it does
Reports the core's `missing-argument` error, naming each missing argument and what it means.

## Why is this bad?
Required arguments have no sensible default: the number of filters and the kernel size decide
the output shape ⌊(H+2P−F)/S⌋+1 and the parameter count C_i×C_o×k_h×k_w + C_o.

## Example
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16}
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3}
```

## References
- The lecture notes on counting parameters and shapes: the formulas that need them.
- PyTorch `torch.nn.Conv2d` and `torch.nn.Linear`: `kernel_size` and `out_features` have no default.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
