"""Attention reads tokens or image patches that nothing has told apart by position.

## What it does
Reports the first attention layer (`attention`, `multihead_attention`) of a model that reads token
ids (its first layer is an `embedding`) or an image (`[C, H, W]` or `[C, D, H, W]`) when nothing
before the attention, or in its own branches, gives the positions something of where they are: no
`pos_embedding` (one row per position), no `rotary` angles, no `causal` mask, no recurrent layer,
and no convolution whose windows overlap or pad (a patchify convolution, kernel = stride with no
padding, keeps none). Models that read other sequences of vectors are left alone: their features may
carry the time or the coordinates themselves (a point cloud's x, y, z).

## Why is this bad?
Attention weighs every key by its content alone, and so does everything a transformer block does
around it (linear layers, norms, activations act on each position apart): permute the tokens and
every output is permuted the same way, nothing else changes. Without position information the model
reads a sentence as a bag of words and an image as a bag of patches, so "the dog bit the man" and
"the man bit the dog" get the same representation. The Transformer adds positional encodings for
exactly this reason, and ViT without its position embeddings loses accuracy it never recovers. A
decoder's causal mask is an exception that is allowed here: position t attends to t + 1 keys, and
such models learn positions from that. When the input really is a set (a Set Transformer), suppress
the finding with `# archcalc: disable=S113`.

## Example
```yaml
input: [64]
layers:
  - embedding: {vocab: 100, dim: 32}
  - linear: 96
  - attention: 4
  - linear: 32
  - relu
  - mean: 0
  - linear: 2
train: {task: classification, classes: 2}
```

Use instead:
```yaml
input: [64]
layers:
  - add:
      - embedding: {vocab: 100, dim: 32}
      - pos_embedding: {positions: 64, dim: 32}
  - linear: 96
  - attention: 4
  - linear: 32
  - relu
  - mean: 0
  - linear: 2
train: {task: classification, classes: 2}
```

## References
- Vaswani et al., "Attention Is All You Need", NeurIPS 2017, §3.5: "since our model contains no recurrence
  and no convolution, in order for the model to make use of the order of the sequence, we must inject
  some information about the position of the tokens".
- Dosovitskiy et al., "An Image is Worth 16x16 Words", ICLR 2021, Appendix D.4: ViT without position
  embeddings is clearly worse than with any kind of them.
- Haviv et al., "Transformer Language Models without Positional Encodings Still Learn Positional
  Information", EMNLP Findings 2022: causal attention alone lets a decoder infer positions.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.graph.nodes import Node
from archcalc.layers.base import numel
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING


def tells_positions(node: Node) -> bool:
    layer = getattr(node, "layer", None)
    return layer is not None and layer.tells_positions


def subtree(node: Node) -> Iterator[Node]:
    for child in node.children:
        yield child
        yield from subtree(child)


def check(ctx: Context) -> Iterator[Finding]:
    graph = ctx.graph
    first = next(iter(graph.layers()), None)
    if first is None:
        return
    reads_ids = first.layer.READS_IDS
    if not reads_ids and len(graph.input_shape) < 3:
        return
    for node, _ in graph.walk():
        layer = getattr(node, "layer", None)
        if layer is None:
            continue
        if layer.tells_positions:
            return
        if Trait.ATTENDS in layer.TRAITS and not any(tells_positions(child) for child in subtree(node)):
            what = "tokens" if reads_ids else "patches"
            # [G…, T, D]: T positions in each of G sequences (windows, frames), not G of them
            shape = node.inputs[0] if getattr(node, "inputs", None) else node.in_shape
            subject = f"its {symbolic.fmt(shape[-2])} {what}" if len(shape) >= 2 else f"its {what}"
            if len(shape) > 2:
                subject = f"the {symbolic.fmt(shape[-2])} {what} of each of its " \
                    f"{symbolic.fmt(numel(tuple(shape[:-2])))} sequences"
            hint = "add a `pos_embedding` to the token embedding (`add: [[embedding: …], [pos_embedding: …]]`), " \
                "or `rotary: half` on the attention" if reads_ids else \
                "add the patches' positions, `pos_embedding: {positions: N, add: true}` on the [N, D] patches (as ViT)"
            if len(shape) > 2:
                hint += ", or `relative_bias: [w_h, w_w]` on attention within windows (as Swin)"
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) reads {subject} as a set: nothing before "
                          "it says where each one is (no pos_embedding, rotary, causal mask, recurrence or overlapping "
                          f"convolution), so reordering the {what} only reorders the outputs",
                          hint=hint + "; if the input is a set, # archcalc: disable=S113")
            return
