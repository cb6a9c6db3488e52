"""The three structures a spec builds layers into: a sequence, a residual sum and a channel concat.

Children are ``(name, module)`` pairs, so parameter names join into PyTorch's paths
(``layer1.0.conv1.weight``) and a state dict maps one to one onto the PyTorch export. Like the
layers, this module imports only NumPy and is copied into the standalone export.
"""

from __future__ import annotations

import numpy as np

from archcalc.backends.numpy.layers import Module


class Sequential(Module):
    """Children in order (``nn.Sequential``); an empty one passes its input through."""

    def __init__(self, layers: list[tuple[str, Module]]):
        self.layers = list(layers)

    def children(self) -> list[tuple[str, Module]]:
        return self.layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for _, layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        for i in range(len(self.layers) - 1, -1, -1):
            dout = self.layers[i][1].backward(dout, input_grad or i > 0)
        return dout


class Residual(Module):
    """``then(body(x) + shortcut(x))``.

    ``shortcut`` is ``"identity"`` (add the input), a module (a projection or given layers, named
    ``shortcut_name``), or None (no addition: a residual whose shapes differ under ``if_same``). The
    gradient of the sum flows into both sides and meets again at the input.
    """

    def __init__(self, body: list[tuple[str, Module]], shortcut: Module | str | None = "identity",
                 then: list[tuple[str, Module]] = (), shortcut_name: str = "shortcut"):
        self.body, self.shortcut, self.then = Sequential(body), shortcut, Sequential(then)
        self.shortcut_name = shortcut_name

    def children(self) -> list[tuple[str, Module]]:
        side = [(self.shortcut_name, self.shortcut)] if isinstance(self.shortcut, Module) else []
        return [*self.body.layers, *side, *self.then.layers]

    def forward(self, x: np.ndarray) -> np.ndarray:
        y = self.body.forward(x)
        if self.shortcut == "identity":
            y = y + x
        elif isinstance(self.shortcut, Module):
            y = y + self.shortcut.forward(x)
        return self.then.forward(y)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        d = self.then.backward(dout)
        dx = self.body.backward(d, input_grad)
        if self.shortcut == "identity":
            return dx + d if input_grad else None
        if isinstance(self.shortcut, Module):
            ds = self.shortcut.backward(d, input_grad)
            return dx + ds if input_grad else None
        return dx


class Concat(Module):
    """Branches on the same input joined along the channels (axis 1); an empty branch is the input."""

    def __init__(self, branches: list[tuple[str, Module]]):
        self.branches = list(branches)

    def children(self) -> list[tuple[str, Module]]:
        return self.branches

    def forward(self, x: np.ndarray) -> np.ndarray:
        outs = [branch.forward(x) for _, branch in self.branches]
        self.sizes = [out.shape[1] for out in outs]
        return np.concatenate(outs, axis=1)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        parts = np.split(dout, np.cumsum(self.sizes)[:-1], axis=1)
        grads = [branch.backward(part, input_grad) for (_, branch), part in zip(self.branches, parts)]
        return sum(grads[1:], grads[0]) if input_grad else None
