"""A normalisation layer's `eps` or `momentum` holds a value meant for another setting or convention.

## What it does
Reports a normalisation layer (`Trait.NORMALIZES`: batch, instance, group, layer and RMS norms)
whose `eps` is 0.1 or more, and a batch or instance norm whose `momentum` is above 0.5.

## Why is this bad?
`eps` is added to the variance before its square root divides: a channel of variance v comes out
scaled by √(v / (v + eps)), so with eps 0.8 a channel of variance 0.1 keeps a third of unit scale and
the layer no longer normalises. The usual cause is PyTorch's positional arguments:
`nn.BatchNorm2d(c, 0.8)` sets eps, not momentum (PyTorch-GAN's models carry it, ported from Keras'
`BatchNormalization(momentum=0.8)`).
`momentum` here is PyTorch's: the weight of the new batch in the running statistics. Keras' is the
weight of the old ones, so Keras' 0.99 written here makes the running statistics follow the last batch
almost alone, and evaluation normalises with one batch's noise.

## Example
```yaml
input: [100]
layers:
  - linear: {out: 256, bias: false}
  - batchnorm1d: {eps: 0.8}
  - relu
  - linear: 784
```

Use instead:
```yaml
input: [100]
layers:
  - linear: {out: 256, bias: false}
  - batchnorm1d: {momentum: 0.2}
  - relu
  - linear: 784
```

## References
- PyTorch `torch.nn.BatchNorm2d(num_features, eps=1e-05, momentum=0.1)`: x̂ = (x − E[x]) / √(Var[x] + eps);
  running = (1 − momentum)·running + momentum·batch.
- Keras `BatchNormalization(momentum=0.99, epsilon=0.001)`: moving = moving·momentum + batch·(1 − momentum).
- eriklindernoren/PyTorch-GAN issue 116, "Infogan batchnorm2d layers have eps=0.8?": Keras-GAN's momentum 0.8
  passed as PyTorch's eps.
- pytorch/vision pull request 8312: MaxViT's BatchNorm2d momentum fixed from 0.99 to 0.01; kazuto1011/deeplab-pytorch
  issue 79: momentum 0.999 meant as 0.001.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: eps from here on is no longer small beside the variance of normalised features (about 1)
LARGE_EPS = 0.1
#: momentum above this keeps more of the new batch than of all the batches before it
LARGE_MOMENTUM = 0.5


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        if Trait.NORMALIZES not in node.layer.TRAITS:
            continue
        eps, momentum = getattr(node.layer, "eps", None), getattr(node.layer, "momentum", None)
        batch = momentum is not None  # a norm that keeps running statistics: PyTorch's eps-or-momentum slip
        if isinstance(eps, float) and eps >= LARGE_EPS:
            keeps = (0.1 / (0.1 + eps)) ** 0.5
            yield Finding(ctx.arg_loc(node, "eps"), f"`{node.path}` ({node.kind}) adds eps {eps:g} to each variance "
                          f"before dividing by its square root: a feature of variance 0.1 comes out at {keeps:.2f} of "
                          "unit scale, so the layer no longer normalises",
                          hint="set eps to a small value (PyTorch's 1e-5, Keras' 1e-3)" + (
                              f"; if {eps:g} was Keras' momentum (PyTorch's second positional argument is eps, not "
                              f"momentum), write momentum: {1 - eps:g}" if batch and eps < 1 else ""))
        if isinstance(momentum, float) and momentum > LARGE_MOMENTUM:
            yield Finding(ctx.arg_loc(node, "momentum"), f"`{node.path}` ({node.kind}) momentum {momentum:g} is "
                          "PyTorch's weight of the new batch in the running statistics: they follow the last batches "
                          "almost alone, and evaluation normalises with their noise",
                          hint=f"write momentum: {1 - momentum:g} if {momentum:g} was Keras' momentum (the weight of "
                          "the old statistics), or drop it for PyTorch's 0.1")
