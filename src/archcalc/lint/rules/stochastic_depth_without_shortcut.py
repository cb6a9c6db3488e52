"""Stochastic depth where no shortcut carries the input past it: whole examples lose their activation.

## What it does
Reports a `stochastic_depth` (`drop_path`) layer with p > 0 that is not inside the body of a residual
block whose shortcut adds the input back, nor on a branch of an `add` or `concat` beside other
branches (which carry the examples it drops, as in FractalNet's and NASNet's drop path). A
residual block with `shortcut: if_same` whose body changes the shape (a stride-2 or widening block)
has no shortcut, so a `stochastic_depth` in it is reported too, at the layer's line, naming the block.

## Why is this bad?
Stochastic depth (Huang et al., 2016) drops a residual *branch*: in training, for a fraction p of the
examples, the branch's output is zeroed and the block passes on its input through the shortcut
alone, so the network is, for those examples, one block shallower. Without a shortcut nothing is
left: the whole activation of those examples becomes zero, every layer after it sees zeros, and the
loss of a fraction p of each batch carries no signal about the input (or, with `mode: batch`, of the
whole batch in a fraction p of the steps). torchvision's and timm's EfficientNet, ConvNeXt, Swin and
ViT apply it only where a block adds its input back, and leave it out of the blocks that downsample
or change the width (no shortcut there).

## Example
```yaml
input: [16, 6, 6]
layers:
  - conv2d: {out: 32, kernel: 3, stride: 2, padding: 1}
  - relu
  - stochastic_depth: 0.2
  - conv2d: {out: 32, kernel: 3, padding: 1}
  - relu
  - global_avgpool2d
  - linear: 10
```

Use instead:
```yaml
input: [16, 6, 6]
layers:
  - conv2d: {out: 32, kernel: 3, stride: 2, padding: 1}
  - relu
  - residual:
      - conv2d: {out: 32, kernel: 3, padding: 1}
      - relu
      - stochastic_depth: 0.2
  - global_avgpool2d
  - linear: 10
```

## References
- Huang et al., "Deep Networks with Stochastic Depth", ECCV 2016.
- torchvision `ops.StochasticDepth` and its use in `models/efficientnet.py` (only when
  `use_res_connect`); timm `layers.DropPath`.
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc.graph.nodes import LayerNode, MergeNode, Node, ResidualNode
from archcalc.layers.base import shape_text
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import WARNING, Finding

SEVERITY = WARNING
KINDS = ("stochastic_depth",)
#: merges whose other branches carry an example one branch drops (FractalNet's and NASNet's drop path)
JOINS = ("add", "concat")
HINT = "put it last in the body of a residual block that adds its input back (torchvision applies it only where " \
    "a block has a shortcut), or use dropout"
HINT_BLOCK = "apply it only where the block keeps the shape, as efficientnet_b0.yaml does: - if: stride == 1 and " \
    "c == out, then: [stochastic_depth: 0.2]"


def check(ctx: Context) -> Iterator[Finding]:
    seen = set()
    for node, block in _unprotected(ctx.graph.root.items, None):
        if node.loc in seen or not node.layer.p:
            continue
        seen.add(node.loc)
        where = f" in `{block.path}`, a residual block whose body changes the shape {_shapes(block)} and so has " \
            "no shortcut (if_same)" if block is not None else ""
        whom = "the whole batch in a fraction" if node.layer.mode == "batch" else "a fraction"
        yield Finding(node.loc, f"`{node.path}` (stochastic_depth) drops its input with no shortcut beside it"
                      f"{where}: in training {whom} p = {node.layer.p:g} of the examples reach the layers after it "
                      "as zeros", hint=HINT_BLOCK if block is not None else HINT)


def _unprotected(nodes: list[Node], block: ResidualNode | None) -> Iterator[tuple[LayerNode, ResidualNode | None]]:
    """The stochastic_depth layers among ``nodes`` (and below them) that no shortcut passes by; ``block``
    is the shortcut-less residual block they are in, if any."""
    for node in nodes:
        if isinstance(node, LayerNode):
            if node.kind in KINDS:
                yield node, block
        elif isinstance(node, ResidualNode):
            if node.mode == "none":
                yield from _unprotected(node.body, node)
            yield from _unprotected(node.then, block)
        elif isinstance(node, MergeNode) and node.layer.kind in JOINS and len(node.branches) > 1:
            continue  # each branch is summed or stacked with the others, which carry the examples it drops
        else:
            yield from _unprotected(node.children, block)


def _shapes(block: ResidualNode) -> str:
    return f"{shape_text(block.in_shape)} → {shape_text(block.sum_shape)}"
