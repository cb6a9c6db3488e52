"""The branches of an `add` or `multiply` give shapes that do not broadcast together.

## What it does
Reports the core's `broadcast-mismatch` error: an element-wise merge whose branches' outputs
differ along some axis where neither is 1 (aligned from the last axis, as PyTorch aligns them).

## Why is this bad?
An element-wise sum or product pairs up elements position by position. PyTorch stretches an axis
of size 1 to match the other side (a squeeze-and-excitation gate `[C, 1, 1]` scales a `[C, H, W]`
map), but two different sizes have no pairing, and `torch.add` raises. The usual cause is a gate
that lost its singleton axes (a `linear` after global pooling gives `[C]`, not `[C, 1, 1]`) or a
branch with a stride the other lacks.

## Example
```yaml
input: [16, 8, 8]
layers:
  - multiply:
      - []
      - [global_avgpool2d, linear: 16, sigmoid]
```

Use instead:
```yaml
input: [16, 8, 8]
layers:
  - multiply:
      - []
      - [adaptive_avgpool2d: 1, conv2d: {out: 16, kernel: 1}, sigmoid]
```

## References
- PyTorch, "Broadcasting semantics": each pair of axes, from the last, must be equal or 1.
- Hu et al., "Squeeze-and-Excitation Networks", CVPR 2018: the gate is a per-channel scale.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
