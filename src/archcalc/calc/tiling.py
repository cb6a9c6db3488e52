"""For which free H and W do the sliding windows tile their inputs exactly?

Every convolution and pooling computes ⌊(n + 2P − F)/S⌋ + 1 output rows. The division is *exact*
when (n + 2P − F) is a multiple of S: the last window ends on the last padded row. When it is not,
the floor drops the rows past the last window; that is harmless while they are padding and loses
pixels when they are not (lint rule G101 reports the concrete case). With ``input: [3, H, W]``
free, the question a designer asks is "which H are safe?".

The answer is periodic: every size in the network is built from H with +, − and floors of
divisions by strides, so whether a layer's division is exact depends on H only modulo the
network's total stride L (the product of the strides on a path, the receptive field's ``jump``),
once H is large enough that no size is clipped. So the network is built once for each residue
r = 0 … L−1 at a large H ≡ r (mod L), with plain integers, and every window is checked. That is
L builds of the concrete spec: 32 for ResNet-50, about 0.3 s; sympy is not needed.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from archcalc.calc.rf import receptive_fields
from archcalc.errors import SpecError
from archcalc.graph import Graph
from archcalc.graph.build import build_graph
from archcalc.symbolic import is_int

#: residues are tried at H = r + L·m with H at least this, so no size in the network is clipped
LARGE = 256
#: a network whose total stride is larger is not analysed (each residue costs one build)
MAX_PERIOD = 256
#: at most this many layers built in all (period × layers): ResNet-50 needs 32 × 175
MAX_WORK = 50_000
#: examples are the values nearest this (ImageNet's 224)
TYPICAL = 224


@dataclass(frozen=True, slots=True)
class Tiling:
    """For one free input size: its period and the residues for which windows tile exactly
    (``exact``) or at least drop no real row, only padding (``lossless``)."""

    symbol: str
    axis: str  # "H", "W" or "HW": which spatial axes of the input the symbol is
    period: int
    exact: tuple[int, ...]
    lossless: tuple[int, ...]

    def describe(self, residues: tuple[int, ...]) -> str:
        """``is a multiple of 32``, ``≡ 1 (mod 32), e.g. 225`` or ``≡ 0, 1 (mod 4), e.g. 224``."""
        if residues == (0,):
            return f"is a multiple of {self.period}"
        r = residues[0]
        example = r + self.period * max(1, round((TYPICAL - r) / self.period))
        listed = ", ".join(map(str, residues[:8])) + (", …" if len(residues) > 8 else "")
        return f"≡ {listed} (mod {self.period}), e.g. {example}"

    def sentence(self) -> str:
        """What a designer wants to know, in one line."""
        s = self.symbol
        row, rows = {"H": ("row", "rows"), "W": ("column", "columns")}.get(self.axis, ("row or column", "rows"))
        if len(self.exact) == self.period:
            return f"every window tiles {s} exactly, whatever {s} is"
        first = (f"every window tiles {s} exactly when {s} {self.describe(self.exact)}" if self.exact
                 else f"no {s} makes every window tile exactly")
        others, drop = ("other values", "drop") if self.exact else (f"every {s}", "drops")
        if len(self.lossless) == self.period:
            return f"{first}; {others} {drop} only padding"
        if self.lossless == self.exact:
            return f"{first}; {others} {drop} input {rows}"
        return f"{first}; no input {row} is dropped when {s} {self.describe(self.lossless)}"

    def to_json(self) -> dict[str, object]:
        return {"symbol": self.symbol, "axis": self.axis, "period": self.period, "exact": list(self.exact),
                "lossless": list(self.lossless)}


def tilings(graph: Graph) -> list[Tiling]:
    """One :class:`Tiling` per free symbol that is the input's H or W by itself (``[3, H, W]``).

    Returns nothing when the input is not an image, no spatial size is free, the network does not
    stride, or its total stride exceeds :data:`MAX_PERIOD`, or the builds would pass :data:`MAX_WORK`
    layers (a note must not cost more than the report).
    """
    shape = graph.input_shape
    if len(shape) != 3:
        return []
    axes: dict[str, list[int]] = {}
    for index, dim in enumerate(shape[1:]):
        if str(dim) in graph.free:
            axes.setdefault(str(dim), []).append(index)
    periods = _periods(graph) if axes else (1, 1)
    layers = sum(1 for _ in graph.layers())
    out = []
    for symbol, indices in axes.items():
        period = math.lcm(*(periods[i] for i in indices))
        if period <= 1 or period > MAX_PERIOD or period * layers > MAX_WORK:
            continue
        exact, lossless = [], []
        for r in range(period):
            value = r + period * math.ceil(LARGE / period)
            fits = _check(graph, {symbol: value}, indices)
            if fits is None:
                break  # the spec does not build at this size: no claim
            if fits[0]:
                exact.append(r)
            if fits[1]:
                lossless.append(r)
        else:
            axis = "".join("HW"[i] for i in indices)
            out.append(Tiling(symbol, axis, period, tuple(exact), tuple(lossless)))
    return out


def _periods(graph: Graph) -> tuple[int, int]:
    """The least common multiple of every node's total stride per axis (1 where it is not a number)."""
    fields, _ = receptive_fields(graph)
    h = w = 1
    for field in fields.values():
        if field.local:
            sh, sw = field.stride
            h = math.lcm(h, int(sh)) if is_int(sh) else h
            w = math.lcm(w, int(sw)) if is_int(sw) else w
    return h, w


def _check(graph: Graph, values: dict[str, int], indices: list[int]) -> tuple[bool, bool] | None:
    """Build the spec with ``values`` (other free symbols at :data:`LARGE`) and check every window
    along the spatial axes ``indices`` (0 = H, 1 = W): (all divisions exact, no real row dropped)."""
    settings = {name: LARGE for name in graph.free} | values
    try:
        concrete = build_graph(graph.spec, {**_given(graph), **settings})
    except SpecError:
        return None
    exact = lossless = True
    for node in concrete.layers():
        geometry = node.layer.geometry(node.in_shape)
        if not isinstance(geometry, tuple) or len(geometry) != 2:
            continue
        same = node.layer.config().get("padding") == "same"
        for index in indices:
            axis = geometry[index]
            n, out = node.in_shape[1 + index], node.out_shape[1 + index]
            k, s, p = axis.kernel, axis.stride, axis.padding
            if k < s:
                continue  # skips inputs everywhere by design (as G101 sees it)
            if same:  # the padding is chosen to cover the input: nothing is lost
                exact = exact and n % s == 0
                continue
            rest = n + 2 * p - ((out - 1) * s + k)  # rows past the last window, padding included
            exact = exact and rest == 0
            lossless = lossless and rest <= p
    return exact, lossless


def _given(graph: Graph) -> dict[str, int]:
    """The symbols that have values in ``graph`` (from --set or the spec's defaults)."""
    return {name: int(value) for name, value in graph.symbols.items() if name not in graph.free and is_int(value)}
