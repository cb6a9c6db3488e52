"""The structures a spec builds layers into: a sequence, a residual sum, the merges (concat, add,
multiply, attention) and the skip connections between a kept output and a later branch.

Children are ``(name, module)`` pairs, so parameter names join into PyTorch's paths
(``layer1.0.conv1.weight``) and a state dict maps one to one onto the PyTorch export. Like the
layers, this module imports only NumPy and is copied into the standalone export.
"""

from __future__ import annotations

import numpy as np

from archcalc.backends.numpy.layers import Attention, Module


class Sequential(Module):
    """Children in order (``nn.Sequential``); an empty one passes its input through.

    ``ties`` are (path of a layer, path of the layer whose weight it uses) pairs: the first layer's
    weight becomes the second's array, so both uses update one array and their gradients are summed
    into it (:meth:`Module.gradients`), as GPT-2's output projection shares its token embedding.
    ``skips`` are the paths of the nodes whose output a later merge branch reads (``{from: PATH}``):
    the root links each :class:`From` to the :class:`Keep` of its path. ``frozen`` are the paths of the
    modules whose parameters do not learn (the spec's ``trainable: false``): each is ``requires_grad_(False)``.
    """

    def __init__(self, layers: list[tuple[str, Module]], ties: tuple[tuple[str, str], ...] = (),
                 skips: tuple[str, ...] = (), frozen: tuple[str, ...] = ()):
        self.layers = list(layers)
        modules: dict[str, Module] = {}
        for path, module in self.named_modules():  # a container before the inline ones that share its path
            modules.setdefault(path, module)
        for tied, owner in ties:
            modules[tied].weight = modules[owner].weight
        for path in frozen:
            modules[path].requires_grad_(False)
        if skips:  # each branch that reads an earlier output (From) gets the module that keeps it (Keep)
            kept = {m.slot: m for _, m in self.named_modules() if getattr(m, "KEEPS", False)}
            for _, m in self.named_modules():
                if getattr(m, "KEEPS", True) is False:
                    m.source = kept[m.slot]

    def children(self) -> list[tuple[str, Module]]:
        return self.layers

    def forward(self, x: np.ndarray) -> np.ndarray:
        for _, layer in self.layers:
            x = layer.forward(x)
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        """Each child's backward, last first. Without ``input_grad`` the children before the first that learns
        run none at all, and that one computes no input gradient: autograd records nothing for a tensor that
        requires no grad, which the input and what frozen or weightless layers make of it are."""
        start = 0 if input_grad else next((i for i, (_, m) in enumerate(self.layers) if m.learns()), len(self.layers))
        for i in range(len(self.layers) - 1, start - 1, -1):
            dout = self.layers[i][1].backward(dout, input_grad or i > start)
        return dout if input_grad else None


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


class Keep(Module):
    """A node whose output a later merge branch reads (``{from: PATH}``, a U-Net's skip connection): its
    ``module`` run as usual, the output kept under ``slot``. Backward adds the gradient those branches
    sent back (``pending``) to the one arriving from the layers after it, then runs the module's
    backward once on the sum: the gradients of both uses of the output meet, as autograd's do.

    It adds no level to the names (its one child is named ``""``), so the state dict keeps torch's keys.
    """

    KEEPS = True

    def __init__(self, module: Module, slot: str):
        self.module, self.slot, self.pending = module, slot, None

    def children(self) -> list[tuple[str, Module]]:
        return [("", self.module)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.pending = None
        self.out = self.module.forward(x)
        return self.out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if self.pending is not None:
            dout, self.pending = dout + self.pending, None
        return self.module.backward(dout, input_grad)


class From(Module):
    """A merge branch that runs on an earlier node's kept output (``source``, a :class:`Keep`) instead of
    the merge's input. Its backward hands the branch's input gradient to that node (added to
    ``source.pending``, which the backward reaches later) and gives the merge's input none (zeros)."""

    KEEPS = False

    def __init__(self, branch: Module, slot: str):
        self.branch, self.slot, self.source = branch, slot, None

    def children(self) -> list[tuple[str, Module]]:
        return [("", self.branch)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape, self.dtype = x.shape, x.dtype
        return self.branch.forward(self.source.out)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        d = self.branch.backward(dout)
        self.source.pending = d if self.source.pending is None else self.source.pending + d
        return np.zeros(self.shape, self.dtype) if input_grad else None


class Concat(Module):
    """Branches on the same input joined along ``axis`` (1, the channels, by default); an empty branch is
    the input."""

    def __init__(self, branches: list[tuple[str, Module]], axis: int = 1):
        self.branches = list(branches)
        self.axis = axis

    def children(self) -> list[tuple[str, Module]]:
        return self.branches

    def forward(self, x: np.ndarray) -> np.ndarray:
        outs = [branch.forward(x) for _, branch in self.branches]
        self.sizes = [out.shape[self.axis] for out in outs]
        return np.concatenate(outs, axis=self.axis)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        parts = np.split(dout, np.cumsum(self.sizes)[:-1], axis=self.axis)
        grads = [branch.backward(part, input_grad) for (_, branch), part in zip(self.branches, parts)]
        return _total(grads) if input_grad else None


def _total(grads: list[np.ndarray | None]) -> np.ndarray | None:
    """The sum of the branches' input gradients; None when no branch has one (every branch reads token ids)."""
    real = [g for g in grads if g is not None]
    return sum(real[1:], real[0]) if real else None


def _unbroadcast(grad: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The gradient of a broadcast input: ``grad`` summed over the axes broadcasting stretched."""
    while grad.ndim > len(shape):
        grad = grad.sum(0)
    axes = tuple(i for i, n in enumerate(shape) if n == 1 and grad.shape[i] != 1)
    return grad.sum(axes, keepdims=True) if axes else grad


class Add(Module):
    """The sum of branches on the same input, broadcast as NumPy (and PyTorch) broadcast."""

    def __init__(self, branches: list[tuple[str, Module]]):
        self.branches = list(branches)

    def children(self) -> list[tuple[str, Module]]:
        return self.branches

    def forward(self, x: np.ndarray) -> np.ndarray:
        outs = [branch.forward(x) for _, branch in self.branches]
        self.shapes = [out.shape for out in outs]
        return sum(outs[1:], outs[0])

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        grads = [branch.backward(_unbroadcast(dout, shape), input_grad)
                 for (_, branch), shape in zip(self.branches, self.shapes)]
        return _total(grads) if input_grad else None


class Multiply(Module):
    """The product of branches on the same input, broadcast: each branch's gradient is the output's times
    the other branches' outputs."""

    def __init__(self, branches: list[tuple[str, Module]]):
        self.branches = list(branches)

    def children(self) -> list[tuple[str, Module]]:
        return self.branches

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.outs = [branch.forward(x) for _, branch in self.branches]
        out = self.outs[0]
        for other in self.outs[1:]:
            out = out * other
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        grads = []
        for i, (_, branch) in enumerate(self.branches):
            d = dout
            for j, other in enumerate(self.outs):
                if j != i:
                    d = d * other
            grads.append(branch.backward(_unbroadcast(d, self.outs[i].shape), input_grad))
        return _total(grads) if input_grad else None


class Attend(Attention):
    """:class:`Attention` on three branches of the same input, which give q, k and v (BERT's ``query``,
    ``key`` and ``value``); the gradients of the three meet again at the input."""

    def __init__(self, branches: list[tuple[str, Module]], heads: int, kv_heads: int, head_dim: int,
                 causal: bool = False, scale: float | None = None, rotary: str = "none", theta: float = 10000.0,
                 rotary_dim: int | None = None, dropout: float = 0.0, rng=None, **options: object):
        # options: the window, soft cap and rope factor the spec sets (Attention's keywords)
        super().__init__(heads, kv_heads, head_dim, causal, scale, rotary, theta, rotary_dim, dropout, rng, **options)
        self.branches = list(branches)

    def children(self) -> list[tuple[str, Module]]:
        return self.branches

    def forward(self, x: np.ndarray) -> np.ndarray:
        return super().forward(*(branch.forward(x) for _, branch in self.branches))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        parts = super().backward(dout)
        grads = [branch.backward(part, input_grad) for (_, branch), part in zip(self.branches, parts)]
        return _total(grads) if input_grad else None
