"""The two sides of a residual addition have different shapes (an identity shortcut across a shape change).

## What it does
Reports the core's `residual-mismatch` error: a residual whose body changes the shape (more
channels, a stride) while the shortcut is the identity, or whose shortcut layers give a shape other
than the body's.

## Why is this bad?
A residual block computes y = f(x) + x, which needs f(x) and x to have the same shape. When the
body changes the channels or the resolution, the shortcut must change them too: ResNet uses a 1×1
convolution with the body's stride (plus batch norm) on the shortcut, the "projection shortcut".

## Example
```yaml
input: [64, 56, 56]
layers:
  - residual:
      body:
        - conv2d: {out: 128, kernel: 3, stride: 2, padding: 1, bias: false}
        - batchnorm2d
        - relu
        - conv2d: {out: 128, kernel: 3, padding: 1, bias: false}
        - batchnorm2d
      then: [relu]
```

Use instead:
```yaml
input: [64, 56, 56]
layers:
  - residual:
      body:
        - conv2d: {out: 128, kernel: 3, stride: 2, padding: 1, bias: false}
        - batchnorm2d
        - relu
        - conv2d: {out: 128, kernel: 3, padding: 1, bias: false}
        - batchnorm2d
      shortcut: auto
      then: [relu]
```

(`shortcut: auto` adds the 1×1 convolution + batch norm exactly where the shape changes.)

## References
- The lecture notes on architectures (VGG, ResNet): the output must have the
  input's shape, otherwise a 1×1 convolution on the shortcut reshapes x.
- He, Zhang, Ren, Sun, "Deep Residual Learning for Image Recognition", CVPR 2016, §3.3 (option B).
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
