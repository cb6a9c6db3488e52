"""A layer gets an input of the wrong rank, or `input:` is not a list of positive sizes.

## What it does
Reports the core's `bad-input-shape` error: a convolution or pooling layer fed a flat vector, a
batch norm fed the wrong rank, or an `input:` that is empty or holds a size below 1.

## Why is this bad?
A `[C, H, W]` layer needs H and W; after `flatten` (or with a 1-D `input:`) there are none.
PyTorch fails the same way at the first forward pass, after the model has been built and maybe
exported; here the mistake is found at its line.

## Example
```yaml
input: [3, 32]
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
- `docs/spec.md`: `input:` is channels first, batch excluded.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
