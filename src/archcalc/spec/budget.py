"""The ``budget:`` section: limits the network must stay within, checked by ``archcalc lint`` (rule S107).

``budget: {params: 30M, macs: 5G, activations: 2GB}`` reads counts with decimal SI prefixes
(``30M`` = 30,000,000; ``K``/``k``, ``M``, ``G``, ``T``) and byte sizes with decimal or binary
units (``2GB`` = 2·10⁹ bytes, ``2GiB`` = 2·2³⁰; a plain number is bytes). Memory is measured as
``archcalc summary`` measures it, at the budget's ``batch_size`` (default 1) and ``dtype``
(default fp32). Every mistake is a located error here, so a budget is never silently ignored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from archcalc.errors import Loc, SpecError, choices_hint
from archcalc.spec.source import YMap, YNode, YScalar, describe

#: what a limit measures: a count of parameters or operations, or bytes of memory
COUNT, BYTES = "count", "bytes"

#: budget key → (what it measures, what it limits); the lint rule and ``archcalc schema`` read this table
LIMITS: dict[str, tuple[str, str]] = {
    "params": (COUNT, "trainable parameters, as `archcalc params` counts them (e.g. 30M)"),
    "macs": (COUNT, "multiply-accumulates of one forward pass on one example (e.g. 5G)"),
    "flops": (COUNT, "floating-point operations of one forward pass on one example, 2 × MACs (e.g. 10G)"),
    "activations": (BYTES, "bytes of every tensor a forward pass creates, at the budget's batch_size and dtype "
                    "(e.g. 2GB)"),
    "training": (BYTES, "bytes one training step holds at its peak (weights, gradients, optimizer state, saved "
                 "activations, the input batch), at the budget's batch_size and dtype (e.g. 16GB)"),
}
#: the budget's other keys → (default, what they set)
SETTINGS: dict[str, tuple[object, str]] = {
    "batch_size": (1, "the batch at which activations and training memory are measured"),
    "dtype": ("fp32", "the storage type at which memory is measured, as `archcalc summary --dtype` takes it"),
}
#: the decimal and binary multipliers (``K`` and ``k`` are both 1000, as in "30k parameters")
_PREFIXES = {"": 1, "k": 10**3, "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12, "P": 10**15,
             "Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "Pi": 2**50}
_QUANTITY = re.compile(r"\s*([0-9][0-9_]*(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?)\s*([kKMGTP]i?)?\s*(B?)\s*$")


@dataclass(frozen=True, slots=True)
class Limit:
    """One limit: the measure it bounds (a :data:`LIMITS` key), its value, how the spec wrote it, where."""

    key: str
    value: int
    text: str
    loc: Loc


@dataclass(slots=True)
class Budget:
    limits: list[Limit]
    batch_size: int
    dtype: str
    loc: Loc
    locs: dict[str, Loc] = field(default_factory=dict)


def parse_budget(node: YNode) -> Budget:
    """The ``budget:`` mapping, every value checked; an empty budget is an error (it checks nothing)."""
    from archcalc.calc.memory import DTYPES

    if not isinstance(node, YMap):
        raise SpecError(node.loc, f"'budget:' must be a mapping, got {describe(node)}", code="bad-budget",
                        hint="budget: {params: 30M, macs: 5G, activations: 2GB}")
    keys = [*LIMITS, *SETTINGS]
    limits, locs = [], {}
    settings: dict[str, object] = {key: default for key, (default, _) in SETTINGS.items()}
    for key, value in node.items:
        locs[key.text] = value.loc
        if key.text in LIMITS:
            limits.append(Limit(key.text, quantity(value, key.text), _text(value), value.loc))
        elif key.text == "batch_size":
            if not isinstance(value, YScalar) or type(value.value) is not int or value.value < 1:
                raise SpecError(value.loc, f"budget batch_size must be an integer ≥ 1, got {describe(value)}",
                                code="bad-budget")
            settings["batch_size"] = value.value
        elif key.text == "dtype":
            if not isinstance(value, YScalar) or value.text not in DTYPES:
                raise SpecError(value.loc, f"budget dtype must be one of {', '.join(DTYPES)}, got {describe(value)}",
                                code="bad-budget", hint=choices_hint(getattr(value, "text", ""), list(DTYPES),
                                                                     "dtypes"))
            settings["dtype"] = value.text
        else:
            raise SpecError(key.loc, f"unknown key '{key.text}' in 'budget:'", code="unknown-key",
                            hint=choices_hint(key.text, keys, "keys"))
    if not limits:
        raise SpecError(node.loc, "'budget:' sets no limit", code="bad-budget",
                        hint=f"give at least one of {', '.join(LIMITS)}, e.g. budget: {{params: 30M}}")
    return Budget(limits, settings["batch_size"], settings["dtype"], node.loc, locs)  # type: ignore[arg-type]


def quantity(node: YNode, key: str) -> int:
    """``30M`` → 30,000,000 for a count, ``2GB`` → 2,000,000,000 and ``1GiB`` → 1,073,741,824 for bytes."""
    measure = LIMITS[key][0]
    example = "30M" if measure == COUNT else "2GB"
    if isinstance(node, YScalar) and type(node.value) is int and node.value >= 0:
        return node.value
    if isinstance(node, YScalar) and isinstance(node.value, float) and node.value >= 0:
        if not node.value.is_integer():
            raise SpecError(node.loc, f"budget {key} {describe(node)} is not a whole number of "
                            f"{'units' if measure == COUNT else 'bytes'}", code="bad-budget")
        return int(node.value)
    match = _QUANTITY.match(node.text) if isinstance(node, YScalar) and isinstance(node.value, str) else None
    if match is None or match.group(2) == "":
        shown = describe(node)
        raise SpecError(node.loc, f"budget {key} must be a {'count' if measure == COUNT else 'size in bytes'} "
                        f"such as {example}, got {shown}", code="bad-budget",
                        hint="units: K, M, G, T (powers of 1000)" + (", Ki, Mi, Gi, Ti (powers of 1024), with or "
                                                                     "without B" if measure == BYTES else ""))
    number, prefix, unit = match.groups()
    if measure == COUNT and unit:
        raise SpecError(node.loc, f"budget {key} is a count, not a size in bytes: got {describe(node)}",
                        code="bad-budget", hint=f"drop the B: {node.text.strip()[:-1].strip()}")
    try:
        value = Decimal(number.replace("_", "")) * _PREFIXES[prefix or ""]
    except InvalidOperation:  # the pattern admits only numbers Decimal reads; kept for safety
        raise SpecError(node.loc, f"cannot read budget {key} {describe(node)}", code="bad-budget") from None
    if value != value.to_integral_value():
        raise SpecError(node.loc, f"budget {key} {describe(node)} is not a whole number of "
                        f"{'units' if measure == COUNT else 'bytes'}", code="bad-budget",
                        hint=f"write it with a smaller unit, e.g. {example}")
    return int(value)


def _text(node: YNode) -> str:
    return node.text.strip() if isinstance(node, YScalar) else describe(node)
