"""Test support for the NumPy backend: the same network built from ``torch.nn`` (the real peer), and
small specs that use the layer kinds in every structure.

The PyTorch side is deliberately independent of archcalc's backends: each layer is the ``torch.nn``
module a PyTorch user would write for it (the ``torch`` reference of its kind's entry in
tests/kinds.py), and a tiny container whose child names follow the graph's paths wires them together,
so a NumPy state dict loads into it as is.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archcalc.graph import LayerNode, MergeNode, ResidualNode, SeqNode
from tests.kinds import REFERENCE, attend


class Box(nn.Module):
    """A container: its children registered under their graph names, ``run`` computing its node."""

    def __init__(self):
        super().__init__()
        self.run = None  # a plain function over the children (set once they are built)

    def forward(self, *x):  # the first layer takes every input of the model
        return self.run(*x)


def register(owner: nn.Module, name: str, module: nn.Module) -> None:
    """``module`` under ``name`` in ``owner``; a dotted name goes into nested holder modules."""
    *parts, last = name.split(".")
    for part in parts:
        if part not in owner._modules:
            owner.add_module(part, nn.Module())
        owner = owner._modules[part]
    owner.add_module(last, module)


def register_parameter(owner: nn.Module, name: str, parameter: nn.Parameter) -> None:
    """``parameter`` under ``name`` in ``owner`` (a bare-parameter kind's), dotted names as in :func:`register`."""
    *parts, last = name.split(".")
    for part in parts:
        if part not in owner._modules:
            owner.add_module(part, nn.Module())
        owner = owner._modules[part]
    owner.register_parameter(last, parameter)


def merge(kind, config, outs, layer=None):
    """What the merge kinds compute: torch.cat along the axis, a sum, a product, or attention on q, k, v."""
    if kind == "attention":
        return attend(*outs, layer)
    if kind == "concat":
        axis = config["axis"]
        return torch.cat(outs, axis + 1 if axis >= 0 else axis)
    y = outs[0]
    for out in outs[1:]:
        y = y + out if kind == "add" else y * out
    return y


def torch_model(graph, numpy_model) -> nn.Module:
    """``graph`` built from torch.nn, with ``numpy_model``'s weights and buffers loaded (float64).

    Every layer and container is registered under its graph name in the nearest container above it;
    an inline construct has no module of its own, so its layers land in its parent's, as the graph's
    paths say. A node whose output a later branch reads (``{from: PATH}``) keeps it in ``saved``, and that
    branch runs on it: autograd sums the gradients of both uses."""
    twins = dict(numpy_model.named_modules())
    kept = {source.path for node, _ in graph.walk() if isinstance(node, MergeNode)
            for source in node.sources if source is not None}
    saved: dict[str, torch.Tensor] = {}

    def build(node, owner, root=False):
        step = make(node, owner, root)
        if node.path not in kept:
            return step

        def keep(*x, step=step, path=node.path):
            saved[path] = step(*x)
            return saved[path]
        return keep

    def make(node, owner, root=False):
        if isinstance(node, LayerNode):
            module = REFERENCE[node.layer.kind](node.layer, node.in_shape, twins.get(node.path))
            if node.layer.BARE:  # its one parameter under the layer's own name, as torchvision stores it
                (parameter,) = module.parameters()
                register_parameter(owner, node.name, parameter)
                return module
            register(owner, node.name, module)
            return module
        box = owner if node.inline else Box()
        if not node.inline and not root:
            register(owner, node.name, box)
        if isinstance(node, SeqNode):
            steps = [build(child, box) for child in node.items]

            def run(*x, steps=steps):  # the first layer takes every input of the model
                for step in steps:
                    x = (step(*x),)
                return x[0]
        elif isinstance(node, ResidualNode):
            body = [build(child, box) for child in node.body]
            side = build(node.shortcut, box) if node.shortcut else None
            then = [build(child, box) for child in node.then]

            def run(x, body=body, side=side, then=then, mode=node.mode):
                y = x
                for step in body:
                    y = step(y)
                if side is not None:
                    y = y + side(x)
                elif mode == "identity":
                    y = y + x
                for step in then:
                    y = step(y)
                return y
        else:
            assert isinstance(node, MergeNode)
            branches, config = [build(branch, box) for branch in node.branches], node.layer.config()
            sources = [node.source(i) for i in range(len(node.branches))]

            def run(x, branches=branches, kind=node.layer.kind, config=config, layer=node.layer, sources=sources):
                return merge(kind, config, [branch(x if source is None else saved[source.path])
                                            for branch, source in zip(branches, sources)], layer)
        if node.inline:
            return run
        box.run = run
        return box

    model = build(graph.root, None, root=True).double()
    layers = {node.path: node for node in graph.layers()}
    for node in layers.values():  # a tied weight: one Parameter under both names, as Hugging Face ties them
        if getattr(node.layer, "tie", None):
            model.get_submodule(node.path).weight = model.get_submodule(layers[node.layer.tie].path).weight
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in numpy_model.state_dict().items()})
    return model


def numpy_grads(model) -> dict[str, np.ndarray]:
    """Parameter gradients of the last backward pass under PyTorch's names; a tied weight once, under its
    first name, its gradient summed over its uses (what ``named_parameters`` and autograd give)."""
    names: dict[int, str] = {}
    grads: dict[str, np.ndarray] = {}
    for prefix, m in model.named_modules():
        for name in m.PARAMS:
            if (p := getattr(m, name)) is not None:
                key = names.setdefault(id(p), prefix if m.BARE else f"{prefix}.{name}" if prefix else name)
                grads[key] = grads[key] + m.grads[name] if key in grads else m.grads[name]
    return grads


#: small specs that use every structure (every residual mode, concat with an empty branch, nesting) with
#: layers of many kinds in it; each kind's own cases are in tests/kinds.py
KITCHEN_CNN = """
name: kitchen-cnn
input: [4, 11, 11]
layers:
  - conv2d: {out: 8, kernel: 3, padding: same, name: stem}
  - batchnorm2d: {name: bn}
  - relu6
  - conv2d: {out: 8, kernel: 3, padding: 2, dilation: 2, groups: 2, name: grouped}
  - leaky_relu: 0.1
  - maxpool2d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true, name: pool}
  - residual:
      body:
        - conv2d: {out: 12, kernel: 3, stride: 2, padding: 1, bias: false, name: conv1}
        - batchnorm2d: {name: bn1, momentum: 0.3}
        - gelu
        - conv2d: {out: 12, kernel: [2, 4], padding: same, name: conv2}
      shortcut: auto
      then: [tanh]
    name: down
  - residual:
      body: [conv2d: {out: 12, kernel: 1}, sigmoid]
    name: same
  - residual:
      body: [conv2d: {out: 6, kernel: 1}]
      shortcut: [conv2d: {out: 6, kernel: 1, bias: false}, {gelu: {approximate: tanh}}]
    name: given
  - residual:
      body: [conv2d: {out: 5, kernel: 1}]
      shortcut: if_same
    name: bodyonly
  - concat:
      - []
      - [conv2d: {out: 3, kernel: 1}, identity]
      - avgpool2d: {kernel: 3, stride: 1, padding: 1, count_include_pad: false}
      - step
    name: mix
  - multiply:
      - []
      - {layers: [adaptive_avgpool2d: 1, {conv2d: {out: 4, kernel: 1}, name: fc1}, relu,
                  {conv2d: {out: 18, kernel: 1}, name: fc2}, sigmoid]}
    name: excite
  - add: [[conv2d: {out: 18, kernel: 1, name: left}], [], [conv2d: {out: 1, kernel: 1, name: right}]]
  - avgpool2d: {kernel: 2, ceil_mode: true, padding: 1}
  - adaptive_avgpool2d: {out: [2, 3]}
  - dropout: 0.3
  - flatten
  - linear: {out: 10, name: fc}
  - batchnorm1d
  - linear: {out: 4, name: head}
  - softmax
"""

#: global pooling, avg pool without padding, max pool with dilation, 1-d batch norm on [C, L], softmax on a middle axis
KITCHEN_POOLS = """
name: kitchen-pools
input: [3, 10, 9]
layers:
  - maxpool2d: {kernel: 2, stride: 1, dilation: 2, name: dil}
  - avgpool2d: {kernel: 2, stride: 2}
  - softmax: {dim: 1}
  - adaptive_avgpool2d: {out: 3}
  - global_avgpool2d
  - linear: {out: 6}
  - relu
  - linear: {out: 2}
"""

KITCHEN_SEQ = """
name: kitchen-seq
input: [3, 5]
layers:
  - conv1d: {out: 4, kernel: 3, padding: same, dilation: 2, name: temporal}
  - conv1d: {out: 3, kernel: 2, stride: 2, padding: 1, groups: 1, bias: false}
  - linear: {out: 4}
  - batchnorm1d: {affine: false}
  - softmax: {dim: -1}
  - residual:
      body: [linear: {out: 6}, relu]
      shortcut: [linear: {out: 6, bias: false}]
  - flatten
  - log_softmax
  - linear: 2
"""

#: a small U-Net: pools down, pixel shuffle, a transposed convolution and bilinear upsampling up, skip
#: connections from a block, from a pool and through layers, one source read twice
KITCHEN_UNET = """
name: kitchen-unet
input: [2, 8, 8]
blocks:
  double(c):
    - conv2d: {out: c, kernel: 3, padding: 1, bias: false}
    - batchnorm2d
    - relu
layers:
  - double: {c: 4, name: enc0}
  - maxpool2d: {kernel: 2, name: pool}
  - double: {c: 6, name: enc1}
  - avgpool2d: 2
  - conv2d: {out: 8, kernel: 1}
  - pixel_shuffle: 2
  - concat: [{from: enc1}, []]
  - conv_transpose2d: {out: 4, kernel: 2, stride: 2, name: up}
  - concat: [{from: enc0}, [], {from: pool, layers: [upsample: {scale: 2, mode: bilinear}]}]
  - add: [[], {from: enc0, layers: [conv2d: {out: 12, kernel: 1}]}]
  - conv2d: {out: 2, kernel: 1, name: head}
"""


#: specs/convnext_tiny.yaml's construction at a small size: a patch stem and layernorm2d, CNBlocks (depthwise
#: convolution, channels-last layer norm and MLP, layer scale, stochastic depth in a residual), a downsample
KITCHEN_CONVNEXT = """
name: kitchen-convnext
input: [3, 16, 16]
blocks:
  cnblock(p, c = in_channels):
    - residual:
        - name: block
          layers:
            - conv2d: {out: c, kernel: 7, padding: 3, groups: c}
            - permute: [1, 2, 0]
            - layernorm: {eps: 1.0e-6}
            - linear: 4 * c
            - gelu
            - linear: c
            - permute: [2, 0, 1]
        - layer_scale: {value: 0.5, name: layer_scale}
        - stochastic_depth: {p: p, name: stochastic_depth}
layers:
  - conv2d: {out: 8, kernel: 4, stride: 4}
  - layernorm2d: 1.0e-6
  - cnblock: 0.0
  - cnblock: 0.5
  - layernorm2d: {eps: 1.0e-6, bias: false}
  - conv2d: {out: 12, kernel: 2, stride: 2}
  - cnblock: 0.25
  - adaptive_avgpool2d: 1
  - layernorm2d: 1.0e-6
  - flatten
  - linear: 5
"""

KITCHENS = {"kitchen-cnn": KITCHEN_CNN, "kitchen-pools": KITCHEN_POOLS, "kitchen-seq": KITCHEN_SEQ,
            "kitchen-convnext": KITCHEN_CONVNEXT}
