"""A kernel does not fit its (padded) input, so an output size would be 0 or less.

## What it does
Reports the core's `non-positive-size` error: for a convolution or pooling layer
⌊(H + 2P − F)/S⌋ + 1 ≤ 0 on some axis, i.e. the (dilated) kernel is larger than the padded input;
or any layer whose output shape has a size below 1.

## Why is this bad?
The layer has no output position at all. It usually means the network downsamples more often than
its input size allows (five 2×2 poolings need at least 32×32), or the input size is wrong.

## Example
```yaml
input: [3, 4, 4]
layers:
  - conv2d: {out: 16, kernel: 5}
```

Use instead:
```yaml
input: [3, 4, 4]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1}
```

## References
- The lecture notes on counting parameters and shapes: output size (H + 2P − F)/S + 1.
- NeuraLint (Nikanjam et al., TOSEM 2022), rule f013: kernel larger than the input, or output size ≤ 0.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
