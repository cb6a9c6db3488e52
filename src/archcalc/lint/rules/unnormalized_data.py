"""The inputs, or a regression's targets, reach the network unscaled.

## What it does
Reads what the spec declares about its data: `data: {normalized: false}`, or a `data: {range: [low,
high]}` reaching beyond ±10 (raw 8-bit pixels are [0, 255]); and for a regression, a `target_range`
reaching beyond ±1000. The inputs are left alone when the network normalises them itself (batch
norm before its first affine layer), or when a batch or instance norm right after the first layer
cancels their scale exactly.

## Why is this bad?
Initialisations and learning rates are scaled for inputs of order 1: PyTorch's default draws a
layer's weights from U(±1/√fan-in) so that its outputs have the inputs' scale. Inputs in the
hundreds make the first layer's pre-activations hundreds of times too large, which saturates sigmoid
and tanh units (their gradient vanishes) and makes the loss surface so elongated that no single
learning rate fits all weights; features on different scales are learnt at different speeds.
Targets in the thousands make the squared error and its gradients millions of times larger than
the rates assume, and the first steps blow the weights up. Dividing pixels by 255, or standardising
each feature (subtract the mean, divide by the standard deviation), fixes both.

## Example
```yaml
input: [784]
data: {range: [0, 255]}
layers:
  - linear: 128
  - relu
  - linear: 10
```

Use instead:
```yaml
input: [784]
data: {range: [0, 1]}
layers:
  - linear: 128
  - relu
  - linear: 10
```

## References
- LeCun, Bottou, Orr, Müller, "Efficient BackProp" (1998), section 4.3: normalising the inputs.
- Humbatova et al., "Taxonomy of Real Faults in Deep Learning Systems", ICSE 2020: "missing normalisation" of the
  training data, among the most frequent preprocessing faults.
- DeepLocalize (Wardat et al., ICSE 2021) benchmark: Stack Overflow 39525358, 44066044, 52800582.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode
from archcalc.layers.batchnorm import BatchNorm
from archcalc.layers.instancenorm import InstanceNorm
from archcalc.layers.traits import Trait
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding
from archcalc.lint.structure import flatten

SEVERITY = WARNING
#: runs on the layers that built when a later one does not
PREFIX = True
#: the largest magnitude of inputs, and of regression targets, that needs no scaling
INPUT_SCALE, TARGET_SCALE = 10.0, 1000.0


def check(ctx: Context) -> Iterator[Finding]:
    data = getattr(ctx.spec, "data", None)
    if data is not None and not _normalises_itself(ctx):
        if data.normalized is False:
            yield Finding(data.locs["normalized"], "the data say normalized: false, and the network does not "
                          "normalise its inputs itself", hint="standardise each input feature (subtract its mean, "
                          "divide by its standard deviation), or scale it into [0, 1]")
        elif data.range is not None and max(abs(v) for v in data.range) > INPUT_SCALE:
            low, high = data.range
            yield Finding(data.locs["range"], f"the inputs range over [{low:g}, {high:g}]: the first layer's outputs "
                          "are that many times larger than its initialisation assumes", hint=f"divide the inputs by "
                          f"{max(abs(low), abs(high)):g} (or standardise them) and declare the new range")
    train = ctx.train
    if train is not None and train.target_range is not None and max(map(abs, train.target_range)) > TARGET_SCALE:
        low, high = train.target_range
        yield Finding(ctx.train_loc("target_range"), f"the regression's targets range over [{low:g}, {high:g}]: the "
                      "loss and its gradients are that scale squared, far beyond what learning rates assume",
                      hint="standardise the targets (and undo it on the predictions)")


def _normalises_itself(ctx: Context) -> bool:
    """Whether a normalisation layer comes before the first affine layer, or right after it when that makes the
    input's scale cancel exactly: batch or instance norm subtract each channel's mean (the bias with it) and
    divide by its deviation, so norm(W·(s·x) + b) = norm(W·x + b), and the first layer's gradient is the same too
    (fast neural style feeds [0, 255] pixels to a convolution and instance norm); any normalisation does so
    after a layer without a bias."""
    run = flatten(ctx.graph.root.items)
    for i, node in enumerate(run):
        if not isinstance(node, LayerNode):
            return False
        if Trait.NORMALIZES in node.layer.TRAITS:
            return True
        if Trait.WEIGHTED in node.layer.TRAITS:
            after = run[i + 1] if i + 1 < len(run) else None
            if not isinstance(after, LayerNode) or Trait.NORMALIZES not in after.layer.TRAITS:
                return False
            return isinstance(after.layer, (BatchNorm, InstanceNorm)) or not getattr(node.layer, "bias", True)
    return False
