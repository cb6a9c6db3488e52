"""A language model whose attention sees the whole sequence.

## What it does
Reports a network that reads token ids (its first layer is an embedding), predicts a token at
every position (its output is `[T, vocab]`, the embedding's vocabulary) and has attention layers
none of which is `causal`. A masked language model's prediction head (a dense layer, its
activation and a layer norm before the vocabulary projection, as BERT, RoBERTa, DistilBERT and
ELECTRA write it) is left alone.

## Why is this bad?
A model that predicts the next token at every position must not let position t read positions
after t: through unmasked attention each position sees the token it is asked to predict, the
training loss falls to almost nothing, and the model has learned to copy, not to predict. It
generates garbage one token at a time. GPT-2 and Llama mask every attention layer (`causal: true`).
A masked language model (BERT's MLM head) predicts hidden tokens from both sides on purpose: the
rule knows its head; a masked model without one can say so with `# archcalc: disable=S109`.

## Example
```yaml
input: [16]
layers:
  - add:
      - embedding: {vocab: 100, dim: 32, name: wte}
      - pos_embedding: {positions: 16, dim: 32, name: wpe}
    inline: true
  - linear: 96
  - attention: 4
  - linear: {out: 100, bias: false, tie: wte}
```

Use instead:
```yaml
input: [16]
layers:
  - add:
      - embedding: {vocab: 100, dim: 32, name: wte}
      - pos_embedding: {positions: 16, dim: 32, name: wpe}
    inline: true
  - linear: 96
  - attention: {heads: 4, causal: true}
  - linear: {out: 100, bias: false, tie: wte}
```

## References
- Radford et al., "Language Models are Unsupervised Multitask Learners", 2019 (GPT-2): masked
  self-attention in every block.
- Vaswani et al., "Attention Is All You Need", NeurIPS 2017, §3.2.3: the decoder masks future positions.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING


def check(ctx: Context) -> Iterator[Finding]:
    graph = ctx.graph
    first = next(iter(graph.layers()), None)
    if first is None or not first.layer.READS_IDS:
        return
    out = graph.output_shape
    if len(out) != 2 or not symbolic.equal(out[0], graph.input_shape[0]) or not symbolic.equal(out[1],
                                                                                                  first.layer.vocab):
        return
    if _masked_lm_head(ctx):
        return
    attends = [node for node, _ in graph.walk() if Trait.ATTENDS in getattr(getattr(node, "layer", None),
                                                                               "TRAITS", Trait(0))]
    if attends and not any(node.layer.causal for node in attends):
        yield Finding(attends[0].loc, f"predicts a token at each of {symbolic.fmt(out[0])} positions, but no "
                      "attention is causal: every position can read the tokens after it",
                      hint="add causal: true to the attention (a masked language model such as BERT's may "
                      "disable it: # archcalc: disable=S109)")


def _masked_lm_head(ctx: Context) -> bool:
    """BERT's prediction head before the vocabulary projection, a dense layer, its activation and a layer norm
    (RoBERTa, DistilBERT and ELECTRA keep it; GPT-2 and Llama project the final norm's output directly): the
    mark of a masked language model, which reads the whole sentence on purpose."""
    run = ctx.output_run
    if len(run) < 4:
        return False
    dense, act, norm = (node.layer.TRAITS for node in run[-4:-1])
    return Trait.WEIGHTED in dense and Trait.ACTIVATION in act and Trait.NORMALIZES in norm
