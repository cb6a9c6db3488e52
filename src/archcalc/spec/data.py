"""The ``data:`` section: what the network's inputs are, as the user declares them.

A spec describes a network; whether its inputs were normalised is a property of the data it will be
fed, which no shape reveals. Declaring it lets the linter tell a network trained on raw pixel values
(0 … 255) from one trained on scaled ones, and lets ``archcalc train`` check the data it loads
against the declaration.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from archcalc.errors import Loc, SpecError, choices_hint
from archcalc.layers.args import yaml11_bool_hint
from archcalc.spec.source import YMap, YNode, YScalar, YSeq, describe

KEYS = ("range", "normalized")


@dataclass(frozen=True, slots=True)
class DataSpec:
    """``range``: the smallest and largest value an input element takes, as fed to the network;
    ``normalized``: whether preprocessing scales or standardises the inputs (None: not said)."""

    range: tuple[float, float] | None
    normalized: bool | None
    loc: Loc
    locs: dict[str, Loc] = field(default_factory=dict)


def parse_data(node: YNode) -> DataSpec:
    if not isinstance(node, YMap):
        raise SpecError(node.loc, f"'data:' must be a mapping, got {describe(node)}", code="bad-structure",
                        hint="data: {range: [0, 1], normalized: true}")
    locs = {}
    for key, value in node.items:
        if key.text not in KEYS:
            raise SpecError(key.loc, f"unknown key '{key.text}' in 'data:'", code="unknown-key",
                            hint=choices_hint(key.text, KEYS, "keys"))
        locs[key.text] = value.loc
    span = node.get("range")
    low_high = None
    if span is not None:
        if not isinstance(span, YSeq) or len(span.items) != 2 or not all(_is_number(i) for i in span.items):
            raise SpecError(span.loc, f"range must be [low, high], two numbers, got {describe(span)}",
                            code="bad-argument",
                            hint="range: [0, 255] for raw 8-bit pixels, [0, 1] once divided by 255")
        low, high = (float(i.value) for i in span.items)
        if not low < high:
            raise SpecError(span.loc, f"range must be [low, high] with low < high, got [{low:g}, {high:g}]",
                            code="bad-argument")
        low_high = (low, high)
    flag = node.get("normalized")
    if flag is not None and not (isinstance(flag, YScalar) and isinstance(flag.value, bool)):
        raise SpecError(flag.loc, f"normalized must be true or false, got {describe(flag)}", code="bad-argument",
                        hint=yaml11_bool_hint(flag.value if isinstance(flag, YScalar) else None))
    return DataSpec(low_high, flag.value if flag is not None else None, node.loc, locs)


def _is_number(node: YNode) -> bool:
    value = getattr(node, "value", None)
    return isinstance(node, YScalar) and isinstance(value, (int, float)) and not isinstance(value, bool) \
        and value == value and abs(value) != float("inf")
