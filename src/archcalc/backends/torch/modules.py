"""The few modules torch lacks: the structure nodes (residual, concat) and two layer kinds.

:class:`Residual` and :class:`Concat` are what :func:`archcalc.to_torch` builds for the graph's
residual and concat nodes: their children are registered under the graph's names, so paths and
``state_dict`` keys read ``layer2.0.shortcut.0.weight`` as the spec says. Generated source writes a
class per block instead (with the addition in plain sight), registering the same children.

:class:`Sign` and :class:`GlobalAvgPool2d` are copied verbatim into generated files that use them,
so a generated file still needs nothing but torch. Keep their source short and ASCII.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

#: attributes the containers below keep besides their children (child names avoid them)
ATTRIBUTES = frozenset({"_body", "_shortcut", "_identity", "_then", "_mode"})


class Sign(nn.Module):
    """sign(x), the perceptron's threshold unit: -1, 0 or +1 (its gradient is 0)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sign(x)


class GlobalAvgPool2d(nn.Module):
    """The mean of each channel over H and W: [N, C, H, W] -> [N, C]."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.mean(dim=(2, 3))


class Residual(nn.Module):
    """``then(body(x) + shortcut(x))``; ``mode`` is the graph's: identity, projection, layers or none.

    Children are registered in the graph's order (body, shortcut, then) under their graph names.
    """

    def __init__(self, body: Sequence[tuple[str, nn.Module]], shortcut: tuple[str, nn.Module] | None, mode: str,
                 then: Sequence[tuple[str, nn.Module]] = ()):
        super().__init__()
        if (shortcut is not None) != (mode in ("projection", "layers")):
            raise ValueError(f"a residual in mode {mode!r} {'needs' if shortcut is None else 'has no'} shortcut")
        for key, module in (*body, *([shortcut] if shortcut else []), *then):
            self.add_module(key, module)
        self._body = tuple(key for key, _ in body)
        self._shortcut = shortcut[0] if shortcut else None
        self._identity = mode == "identity"
        self._then = tuple(key for key, _ in then)
        self._mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = x
        for key in self._body:
            y = self._modules[key](y)
        if self._shortcut is not None:
            y = y + self._modules[self._shortcut](x)
        elif self._identity:
            y = y + x
        for key in self._then:
            y = self._modules[key](y)
        return y

    def extra_repr(self) -> str:
        return f"shortcut={self._mode}"


class Concat(nn.Module):
    """The branches' outputs on the same input, joined along the channels (dim 1)."""

    def __init__(self, branches: Sequence[tuple[str, nn.Module]]):
        super().__init__()
        for key, module in branches:
            self.add_module(key, module)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([branch(x) for branch in self._modules.values()], dim=1)
