"""A layer's declared input size (`in:`, `features:`) differs from what reaches it.

## What it does
Reports the core's `channel-mismatch` error: an explicitly written input size that disagrees
with the output of the layer before.

## Why is this bad?
Input sizes are inferred, so a written one is a claim about the network; when it is wrong, the
network is not what its author thinks (often a layer was inserted or resized above it). PyTorch
raises "size mismatch" / "expected input to have N channels" only when data first flows.

## Example
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {in: 1, out: 16, kernel: 3}
```

Use instead:
```yaml
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 3}
```

## References
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "layer dimension mismatch".
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
