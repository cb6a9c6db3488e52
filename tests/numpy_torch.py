"""Test support for the NumPy backend: the same network built from ``torch.nn`` (the real peer), and
small specs that together use every layer kind and structure.

The PyTorch side is deliberately independent of archcalc's NumPy code: one row per layer kind
mapping the spec's layer onto the ``torch.nn`` module PyTorch users would write, and three tiny
containers whose child names follow the graph's paths, so a NumPy state dict loads into it as is.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from archcalc.graph import ConcatNode, LayerNode, ResidualNode, SeqNode


class MaskedDropout(nn.Module):
    """Dropout with the mask the NumPy layer drew (torch's generator cannot be reproduced)."""

    def __init__(self, twin):
        super().__init__()
        self.twin = [twin]  # a list, so torch does not register the NumPy object

    def forward(self, x):
        mask = self.twin[0].mask if self.training else None
        return x if mask is None else x * torch.from_numpy(mask)


class Sign(nn.Module):
    def forward(self, x):
        return torch.sign(x)


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


class Seq(nn.Module):
    def __init__(self, items):
        super().__init__()
        self.names = [name for name, _ in items]
        for name, module in items:
            self.add_module(name, module)

    def forward(self, x):
        for name in self.names:
            x = getattr(self, name)(x)
        return x


class Residual(nn.Module):
    def __init__(self, body, shortcut, mode, then):
        super().__init__()
        self.body, self.then, self.mode = [n for n, _ in body], [n for n, _ in then], mode
        self.side = shortcut[0] if shortcut is not None else None
        for name, module in [*body, *([shortcut] if shortcut is not None else []), *then]:
            self.add_module(name, module)

    def forward(self, x):
        y = x
        for name in self.body:
            y = getattr(self, name)(y)
        if self.mode == "identity":
            y = y + x
        elif self.mode in ("projection", "layers"):
            y = y + getattr(self, self.side)(x)
        for name in self.then:
            y = getattr(self, name)(y)
        return y


class Concat(nn.Module):
    def __init__(self, branches):
        super().__init__()
        self.names = [n for n, _ in branches]
        for name, module in branches:
            self.add_module(name, module)

    def forward(self, x):
        return torch.cat([getattr(self, name)(x) for name in self.names], 1)


TORCH = {
    "linear": lambda a, x, t: nn.Linear(x[-1], a.out, bias=a.bias),
    "conv1d": lambda a, x, t: nn.Conv1d(x[0], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups, a.bias),
    "conv2d": lambda a, x, t: nn.Conv2d(x[0], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups, a.bias),
    "maxpool2d": lambda a, x, t: nn.MaxPool2d(a.kernel, a.strides, a.padding, a.dilation, ceil_mode=a.ceil_mode),
    "avgpool2d": lambda a, x, t: nn.AvgPool2d(a.kernel, a.strides, a.padding, a.ceil_mode, a.count_include_pad),
    "adaptive_avgpool2d": lambda a, x, t: nn.AdaptiveAvgPool2d(a.out),
    "global_avgpool2d": lambda a, x, t: GlobalAvgPool(),
    "batchnorm1d": lambda a, x, t: nn.BatchNorm1d(x[0], a.eps, a.momentum, a.affine),
    "batchnorm2d": lambda a, x, t: nn.BatchNorm2d(x[0], a.eps, a.momentum, a.affine),
    "dropout": lambda a, x, t: MaskedDropout(t),
    "flatten": lambda a, x, t: nn.Flatten(),
    "identity": lambda a, x, t: nn.Identity(),
    "relu": lambda a, x, t: nn.ReLU(),
    "relu6": lambda a, x, t: nn.ReLU6(),
    "leaky_relu": lambda a, x, t: nn.LeakyReLU(a.slope),
    "sigmoid": lambda a, x, t: nn.Sigmoid(),
    "tanh": lambda a, x, t: nn.Tanh(),
    "softmax": lambda a, x, t: nn.Softmax(dim=a.dim + 1 if a.dim >= 0 else a.dim),
    "log_softmax": lambda a, x, t: nn.LogSoftmax(dim=a.dim + 1 if a.dim >= 0 else a.dim),
    "gelu": lambda a, x, t: nn.GELU(approximate=a.approximate),
    "step": lambda a, x, t: Sign(),
}


def torch_model(graph, numpy_model) -> nn.Module:
    """``graph`` built from torch.nn, with ``numpy_model``'s weights and buffers loaded (float64)."""
    twins = dict(numpy_model.named_modules())

    def build(node):
        if isinstance(node, LayerNode):
            return TORCH[node.layer.kind](node.layer, node.in_shape, twins.get(node.path))
        if isinstance(node, SeqNode):
            return Seq([(child.name, build(child)) for child in node.items])
        if isinstance(node, ResidualNode):
            side = (node.shortcut.name, build(node.shortcut)) if node.shortcut else None
            return Residual([(c.name, build(c)) for c in node.body], side,
                            node.mode, [(c.name, build(c)) for c in node.then])
        assert isinstance(node, ConcatNode)
        return Concat([(b.name, build(b)) for b in node.branches])

    model = build(graph.root).double()
    model.load_state_dict({k: torch.from_numpy(np.array(v)) for k, v in numpy_model.state_dict().items()})
    return model


def numpy_grads(model) -> dict[str, np.ndarray]:
    """Parameter gradients of the last backward pass under PyTorch's names."""
    return {f"{prefix}.{name}" if prefix else name: m.grads[name]
            for prefix, m in model.named_modules() for name in m.PARAMS if getattr(m, name) is not None}


#: small specs that together use every layer kind, argument family and structure
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

KITCHENS = {"kitchen-cnn": KITCHEN_CNN, "kitchen-pools": KITCHEN_POOLS, "kitchen-seq": KITCHEN_SEQ}
