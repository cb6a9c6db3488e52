"""The boundary between exact integers and sympy expressions.

Every formula in archcalc is written once with Python operators, which work on ``int`` and on sympy
expressions alike. The few operations that do not (floor/ceil division, simplification, equality,
printing) live here. sympy is imported lazily, only when a spec has a free symbol: importing it
costs more than everything else archcalc does on a concrete spec.

    >>> floordiv(224 + 2 * 3 - 7, 2) + 1
    112
"""

from __future__ import annotations

from typing import Any

#: a dimension or count: an exact int, or a sympy expression when symbols are free
Dim = Any


def is_int(value: object) -> bool:
    """True for a concrete integer (bools are not integers here)."""
    return type(value) is int


def is_symbolic(value: object) -> bool:
    return hasattr(value, "free_symbols")


def symbol(name: str):
    """A positive integer sympy symbol: dims, channels and counts are all positive integers."""
    import sympy

    return sympy.Symbol(name, integer=True, positive=True)


def floordiv(a: Dim, b: Dim) -> Dim:
    """⌊a/b⌋ for ints and expressions; nested floors fold (⌊(⌊x/2⌋+1)/2⌋ = ⌊(x+2)/4⌋)."""
    if is_int(a) and is_int(b):
        return a // b
    import sympy

    a, b = sympy.sympify(a), sympy.sympify(b)  # both already numbers or expressions, never user text
    if b.is_Integer and b > 0:
        inner = [t for t in sympy.Add.make_args(a) if isinstance(t, sympy.floor)]
        rest = a - inner[0] if len(inner) == 1 else None
        if rest is not None and rest.is_integer:
            num, den = inner[0].args[0].as_numer_denom()
            if den.is_Integer and den > 0 and num.is_integer:
                return simplify(sympy.floor((num + den * rest) / (den * b)))
    return simplify(sympy.floor(a / b))


def ceildiv(a: Dim, b: Dim) -> Dim:
    """⌈a/b⌉, written through :func:`floordiv` so both share one path."""
    return -floordiv(-a, b)


def simplify(value: Dim) -> Dim:
    """Keep an expression short: ``⌊x⌋ + k`` becomes ``⌊x + k⌋`` for integer k. Ints pass through."""
    if is_int(value) or not is_symbolic(value):
        return value
    import sympy

    if value.is_Integer:
        return int(value)
    terms = sympy.Add.make_args(value)
    floors = [t for t in terms if isinstance(t, sympy.floor)]
    if len(floors) == 1 and len(terms) > 1:
        rest = value - floors[0]
        if rest.is_integer:
            return sympy.floor(floors[0].args[0] + rest)
    return value


def exact(value: Dim) -> Dim:
    """A sympy number that is an integer becomes a Python int, so concrete results stay ints."""
    if is_symbolic(value) and getattr(value, "is_Integer", False):
        return int(value)
    return value


def equal(a: Dim, b: Dim) -> bool:
    """Whether two dims are equal for every value of their symbols (checked, not assumed)."""
    if is_int(a) and is_int(b):
        return a == b
    if a == b:
        return True
    import sympy

    diff = sympy.simplify(sympy.sympify(a) - sympy.sympify(b))
    if diff == 0:
        return True
    if diff.is_zero is False or diff.free_symbols == set():
        return False
    # floors defeat simplify; sample positive values and accept only when all agree
    names = sorted(diff.free_symbols, key=str)
    for k, start in enumerate((1, 2, 3, 7, 31, 64, 97, 224, 225, 1000)):
        point = {s: start + 13 * i * (k + 1) for i, s in enumerate(names)}
        if diff.subs(point) != 0:
            return False
    return True


def positive(value: Dim) -> bool | None:
    """True/False when known, None when it depends on free symbols."""
    if is_int(value):
        return value > 0
    return getattr(value, "is_positive", None)


def to_json(value: Any) -> Any:
    """ints and floats as they are; expressions as strings in sympy syntax."""
    if isinstance(value, (bool, int, float, str)) or value is None:
        return value
    if isinstance(value, (list, tuple)):
        return [to_json(v) for v in value]
    value = exact(value)
    return value if is_int(value) else str(value)


def fmt(value: Any, commas: bool = False) -> str:
    """Human text: ``1,234`` (with ``commas``), ``0.5``, ``floor(H/4 + 3/4)``."""
    if is_int(value):
        return f"{value:,}" if commas else str(value)
    if isinstance(value, float):
        return f"{value:g}"
    return str(exact(value))


def free_names(values) -> list[str]:
    """Names of the free symbols in any of ``values`` (sorted)."""
    names: set[str] = set()
    for v in values:
        if is_symbolic(v):
            names |= {str(s) for s in v.free_symbols}
    return sorted(names)


def subs(value: Dim, names: dict[str, int]) -> Dim:
    """``value`` with the given symbols replaced (used by --explain to show numbers)."""
    if not is_symbolic(value):
        return value
    mapping = {s: names[str(s)] for s in value.free_symbols if str(s) in names}
    return exact(value.subs(mapping)) if mapping else value
