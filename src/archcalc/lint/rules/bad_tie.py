"""A layer ties its weight to a layer that does not exist, has no weight, or has one of another shape.

## What it does
Reports the core's `bad-tie` error: `tie:` names a path that is no layer of the network (or the
layer itself), a layer without a weight, a layer that ties its own weight in turn, or a weight
whose shape differs (a `linear` of `out` × `in` against an embedding of `vocab` × `dim`).

## Why is this bad?
A tied weight is one tensor used in two places (GPT-2's output projection is its token embedding),
so both places need the same shape, and one of them must own it. PyTorch would raise at the first
forward pass; archcalc says so before anything is built.

## Example
```yaml
input: [16]
layers:
  - embedding: {vocab: 1000, dim: 64, name: wte}
  - linear: {out: 999, bias: false, tie: wte}
```

Use instead:
```yaml
input: [16]
layers:
  - embedding: {vocab: 1000, dim: 64, name: wte}
  - linear: {out: 1000, bias: false, tie: wte}
```

## References
- Press and Wolf, "Using the Output Embedding to Improve Language Models", EACL 2017.
- Hugging Face `PreTrainedModel.tie_weights`: the output embedding shares the input embedding's weight.
"""

from archcalc.lint.diagnostic import ERROR

SEVERITY = ERROR
