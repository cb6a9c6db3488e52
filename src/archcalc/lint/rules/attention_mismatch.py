"""An attention layer whose heads do not fit its inputs.

## What it does
Reports the core's `attention-mismatch` error: the query's features (or a fused q, k, v input's)
do not split into `heads` equal heads; `kv_heads` does not divide `heads`; the k or v projection
does not give `kv_heads × head_dim` features; a rotary embedding over an odd number of dimensions;
a causal mask between sequences of different lengths.

## Why is this bad?
Multi-head attention reshapes `[T, D]` into `heads` slices of `D / heads` dimensions, so `D` must be
a multiple of `heads` (PyTorch's `nn.MultiheadAttention` raises "embed_dim must be divisible by
num_heads"). Grouped-query attention shares each key/value head among `heads / kv_heads` query
heads, so that must be whole too. Rotary embedding rotates pairs of dimensions.

## Example
```yaml
input: [16, 768]
layers:
  - linear: 2304
  - attention: {heads: 10, causal: true}
```

Use instead:
```yaml
input: [16, 768]
layers:
  - linear: 2304
  - attention: {heads: 12, causal: true}
```

## References
- Vaswani et al., "Attention Is All You Need", NeurIPS 2017: d_k = d_model / h.
- Ainslie et al., "GQA: Training Generalized Multi-Query Transformer Models from Multi-Head
  Checkpoints", EMNLP 2023: query heads are split into groups sharing one key/value head.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
