"""The model's last layer is a dropout, or only an activation follows it.

## What it does
Reports a model whose output passes through dropout last (a layer with `Trait.DROPOUT`), also when
only weight-free activations and reshapes follow it (Keras' `Dense(10)`, `Dropout(0.5)`,
`Activation('softmax')`): the dropout still acts on the output's scores. A backbone with no
`train:` section that ends in a normalisation and dropout (T5's encoder stack) gives features, not
predictions, and is left alone.

## Why is this bad?
Dropout regularises hidden units. On the output it zeroes random predictions in training and
scales the rest by 1/(1 − p), so the loss is computed on corrupted outputs (a zeroed logit, a
regression target compared with 0), while evaluation sees the untouched outputs: training and use
disagree about what the network produces.

## Example
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - linear: 3
  - dropout: 0.5
```

Use instead:
```yaml
input: [20]
layers:
  - linear: 16
  - relu
  - dropout: 0.5
  - linear: 3
```

## References
- The lecture notes on overfitting and regularisation: dropout after the output layer.
- AUTOTRAINER (Zhang et al., ICSE 2021): its repairs never place dropout after the last layer.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING


#: what may follow the dropout and leave it acting on the output: an activation or a reshape, no weights
PASSES = Trait.ACTIVATION | Trait.ALIASES


def check(ctx: Context) -> Iterator[Finding]:
    run = ctx.output_run
    after = 0
    while after < len(run) and run[-1 - after].layer.TRAITS & PASSES \
            and Trait.WEIGHTED not in run[-1 - after].layer.TRAITS:
        after += 1
    if after == len(run) or Trait.DROPOUT not in run[-1 - after].layer.TRAITS:
        return
    node, then = run[-1 - after], run[len(run) - after:]
    before = run[-2 - after] if len(run) > after + 1 else None
    if ctx.train is None and before is not None and Trait.NORMALIZES in before.layer.TRAITS:
        return  # a backbone's features (T5's encoder: its final norm, then dropout), not predictions
    last = "last" if not then else f"with only {', '.join(f'`{n.path}` ({n.kind})' for n in then)} after it"
    yield Finding(node.loc, f"the model's output passes through `{node.path}` (dropout) {last}: in training it "
                  "zeroes random outputs, so the loss sees corrupted predictions",
                  hint="move the dropout before the last affine layer, or remove it")
