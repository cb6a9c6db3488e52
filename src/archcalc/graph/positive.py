"""Whether a symbolic size is at least 1 for the symbols' values, and from which values on.

Symbols are positive integers (docs/symbolic.md), and a formula is the size at every value; a size
that is 0 or negative at some value is no size. sympy proves ``H + 2`` positive; ``H - 2`` (a 3×3
convolution without padding) and ``3 - H`` it leaves undecided. They differ: ``H - 2`` grows with H
and is a size from H = 3 on (a constraint the reports state), ``3 - H`` falls and is no size for any
H past 2 (an error). Shape formulas are built from +, ×, integer powers and floors of linear
arguments, so far enough out a size is a polynomial of one sign on every residue class: its sign far
out is its sign at values far out, and where it turns positive is found by bisection (the sizes of
convolutions, pools and reshapes grow with each symbol). The 64 values on either side of that point
are checked too, so a size that is 0 again there (``(H - 5)**2`` at 5) starts after it. Each size is
checked with the least values the layers before it needed, so a flatten's ``(H - 2)·(W - 2)`` is judged
from H, W ≥ 3 on.
"""

from __future__ import annotations

import functools
import itertools
from dataclasses import dataclass

from archcalc import symbolic

#: a value "far out": past any constant a spec can write that matters (kernels, strides, sizes)
FAR = 2**40
#: values past a threshold checked to be positive too (a factor that dips again is refused)
CHECKED_PAST = 64


@dataclass(frozen=True, slots=True)
class Verdict:
    """``error``: a value of the symbols where the size is not positive even though the symbols may grow past it
    (None: none); ``minimum``: for each symbol, the least value from which the size is positive."""

    error: dict[str, int] | None
    minimum: dict[str, int]
    #: for a size of one symbol that falls as it grows (a kernel K against a fixed input, 33 − ⌊K/2⌋): the
    #: largest value up to which the size is positive; the caller decides whether that symbol may be bounded
    maximum: dict[str, int] | None = None


def check(size: object, known: dict[str, int] | None = None, highs: dict[str, int] | None = None) -> Verdict | None:
    """What :class:`Verdict` says of ``size`` for the symbols at or past the least values ``known`` already (the
    layers before it may have needed H ≥ 3; a flatten's (H − 2)·(W − 2) is a size from there), or None when it
    is a number, provably positive, positive from there on, or of a form this does not analyse (functions other
    than floor, ceiling, max and min). ``highs`` are the largest values earlier sizes allowed (a kernel K ≤ 64):
    a size is judged up to them."""
    if symbolic.is_int(size) or symbolic.positive(size) is not None:
        return None
    names = sorted(str(x) for x in size.free_symbols)
    return _check(size, tuple((name, (known or {}).get(name, 1)) for name in names),
                  tuple((name, highs[name]) for name in names if highs and name in highs))


@functools.lru_cache(maxsize=4096)
def _check(size, lows: tuple[tuple[str, int], ...], highs: tuple[tuple[str, int], ...] = ()) -> Verdict | None:
    symbols = {str(x): x for x in size.free_symbols}
    low = {symbols[name]: value for name, value in lows}
    far = {x: FAR for x in low} | {symbols[name]: value for name, value in highs}
    value = symbolic._evaluator(size)  # exact, built once (only symbolic.py imports sympy)
    if type(value(low)) is bool:  # a function the evaluator leaves to sympy: it answers only "nonzero"
        return None
    if len(low) > 1:
        corners = [dict(far), *({x: (low[x] if x == y else far[x]) for x in low} for y in low)]
        bad = next((p for p in corners if value(p) <= 0), None)
        if bad is None and value(low) > 0:
            return None
        if bad is None:  # positive far out whichever symbol is small: a joint threshold, all symbols at it
            start = _threshold(lambda n: value({x: max(n, low[x]) for x in low}), 1)
            return Verdict(None, {str(x): max(start, low[x]) for x in low})
        small = itertools.product(*(range(low[x], low[x] + 8) for x in low)) if len(low) <= 3 else ()
        witness = next((p for p in (dict(zip(low, v)) for v in small) if value(p) <= 0), bad)
        return Verdict({str(k): v for k, v in witness.items()}, {})
    ((x, least),) = low.items()
    at = _along(value, [x])
    if x in far and far[x] < FAR and at(least) > 0:  # bounded by an earlier size: judged up to that bound
        top = _last_positive(at, least, far[x])
        return Verdict(None, {}, {str(x): top}) if top is not None and top < far[x] else None
    if any(at(FAR + r) <= 0 for r in range(8)):  # falling, or zero on a residue class, far out
        top = _last_positive(at, least)
        if top is None:
            return Verdict({str(x): _first_bad(at, least)}, {})
        return Verdict(None, {}, {str(x): top})
    start = _threshold(at, least)
    # a size that is 0 again just past the bisection's answer (⌊H/2⌋ − ⌊H/3⌋ at H = 3, (H − 5)² at H = 5) starts
    # after its last zero near there: a value from which it is positive (the far-out check holds beyond)
    window = range(max(least, start - CHECKED_PAST), start + CHECKED_PAST)
    start = max((n + 1 for n in window if at(n) <= 0), default=start)
    return Verdict(None, {str(x): start}) if start > least else None


def _along(value, names: list):
    """``value`` as a function of one number that every symbol in ``names`` takes."""
    return lambda n: value(dict.fromkeys(names, n))


def _threshold(at, low: int) -> int:
    """The least n ≥ ``low`` with at(n) > 0, by bisection up to :data:`FAR` (where ``at`` is positive)."""
    if at(low) > 0:
        return low
    below, high = low, FAR  # at(below) <= 0 < at(high)
    while high - below > 1:
        middle = (below + high) // 2
        if at(middle) > 0:
            high = middle
        else:
            below = middle
    return high


def _last_positive(at, low: int, high: int = FAR) -> int | None:
    """The largest n up to ``high`` with at(m) > 0 for every m from ``low`` to n, for a size that falls (by
    bisection, then the 64 values below the answer and above ``low`` checked); None when at(low) is not positive."""
    if at(low) <= 0:
        return None
    if at(high) > 0:
        good = bad = high
    else:
        good, bad = low, high  # at(good) > 0 >= at(bad)
    while bad - good > 1:
        middle = (good + bad) // 2
        if at(middle) > 0:
            good = middle
        else:
            bad = middle
    window = [*range(low, min(good, low + CHECKED_PAST) + 1), *range(max(low, good - CHECKED_PAST), good + 1)]
    first = min((n for n in window if at(n) <= 0), default=None)
    return good if first is None else (first - 1 if first > low else None)


def _first_bad(at, low: int) -> int:
    """A small value where a falling size is already not positive: the first from ``low`` to ``low`` + 1023,
    else a value far out where it is."""
    return next((n for n in range(low, low + 1024) if at(n) <= 0),
                next(FAR + r for r in range(8) if at(FAR + r) <= 0))


def describe(minimum: dict[str, int]) -> str:
    """``H ≥ 3, W ≥ 5``."""
    return ", ".join(f"{name} ≥ {value:,}" for name, value in sorted(minimum.items()))


__all__ = ["CHECKED_PAST", "FAR", "Verdict", "check", "describe"]
