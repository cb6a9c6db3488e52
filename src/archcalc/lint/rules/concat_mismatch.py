"""The branches of a concat disagree on a size other than the channels.

## What it does
Reports the core's `concat-mismatch` error: branches joined along the channel axis whose
heights, widths (or ranks) differ.

## Why is this bad?
Concatenation stacks feature maps channel by channel, so every other dimension must agree. The
usual cause is a branch with a kernel that is not "same"-padded (an Inception 3×3 without
`padding: 1`) or with a stride the other branches lack.

## Example
```yaml
input: [16, 32, 32]
layers:
  - concat:
      - conv2d: {out: 8, kernel: 1}
      - conv2d: {out: 8, kernel: 3}
```

Use instead:
```yaml
input: [16, 32, 32]
layers:
  - concat:
      - conv2d: {out: 8, kernel: 1}
      - conv2d: {out: 8, kernel: 3, padding: 1}
```

## References
- Szegedy et al., "Going Deeper with Convolutions", CVPR 2015: Inception branches are padded to a common size.
- Darknet `[route]` layers require routed inputs to share width and height.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
