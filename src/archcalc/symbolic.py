"""The boundary between exact integers and sympy expressions.

Every formula in archcalc is written once with Python operators, which work on ``int`` and on sympy
expressions alike. The few operations that do not (floor/ceil division, simplification, equality,
printing) live here. sympy is imported lazily, only when a spec has a free symbol: importing it
costs more than everything else archcalc does on a concrete spec.

    >>> floordiv(224 + 2 * 3 - 7, 2) + 1
    112
"""

from __future__ import annotations

import functools
import itertools
import math
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


def total(value: Dim) -> Dim:
    """A sum of counts in normal form: ``4*g*(g + 48) + 540*g**2`` becomes ``544*g**2 + 192*g``.

    Only sums of products are expanded; floors stay as they are (expanding inside them would not
    be valid). Ints pass through. A value whose expansion would pass the budget (:func:`too_complex`)
    stays as it is: still exact, only not in normal form (the graph refuses such sizes before they
    get here, so this guards the sums of many layers).
    """
    if not is_symbolic(value):
        return value
    import sympy

    if too_complex(value, MAX_TOTAL_TERMS) is not None:
        return exact(value)
    return exact(sympy.expand(value))


# -- the budget of symbolic work -------------------------------------------------------------------
#
# sympy keeps products and powers as they are written, but normal forms (the parameter totals, the
# polynomial degree a proof of equality needs) expand them, and an expansion can be exponentially
# larger than its text: (A+B+C+D+F+G+1)**30 has 1.9 million terms. So every size the spec makes is
# measured before anything expands it: its degree and an upper bound on the terms of its expansion,
# computed from the tree in time linear in its size, and a size past the budget is a located
# resource-limit error (see spec/expr.py and graph/build.py). Real networks are polynomials of degree
# 2 to 4 in a few symbols, with a few dozen terms.

#: the highest total degree a symbolic size may have: any monomial of degree 63 passes ``max_int``
#: (2⁶²) once its symbols are 2 or more, so no concrete network needs more
MAX_DEGREE = 64
#: most terms one size (a dimension, a layer's parameter count, an argument) may expand to
MAX_TERMS = 2_000
#: most terms a sum of counts (a block's or the network's) is expanded to; past it, it stays a sum
MAX_TOTAL_TERMS = 50_000


def too_complex(value: Dim, max_terms: int = MAX_TERMS) -> str | None:
    """Why ``value`` is past the budget of symbolic work (its degree past :data:`MAX_DEGREE`, or its
    expansion past ``max_terms`` terms), or None when it is within it (ints always are).

    >>> A, B = symbol("A"), symbol("B")
    >>> too_complex((A + B + 1) ** 2) is None
    True
    >>> too_complex((A + B + 1) ** 64)
    'its expansion would have more than 2,000 terms'
    """
    if not is_symbolic(value):
        return None
    degree, terms = _measure(value, max_terms)
    if degree > MAX_DEGREE:
        return f"its degree would be {degree:,}, past {MAX_DEGREE}"
    if terms > max_terms:
        return f"its expansion would have more than {max_terms:,} terms"
    return None


def _measure(value, cap: int) -> tuple[int, int]:
    """(an upper bound on the total degree, an upper bound on the terms of the full expansion, at most
    ``cap + 1``), from the expression tree without expanding anything. Functions (floor, Max) count as
    one term of degree 1 outside and add the terms sympy's expand would make of their arguments."""
    memo: dict[object, tuple[int, int]] = {}

    def visit(e) -> tuple[int, int]:
        if e in memo:
            return memo[e]
        if e.is_Atom:
            found = (1 if e.is_Symbol else 0, 1)
        elif e.is_Add:
            parts = [visit(a) for a in e.args]
            found = (max(d for d, _ in parts), min(cap + 1, sum(t for _, t in parts)))
        elif e.is_Mul:
            parts, degree, terms = [visit(a) for a in e.args], 0, 1
            for d, t in parts:
                degree, terms = degree + d, min(cap + 1, terms * t)
            found = (degree, terms)
        elif e.is_Pow and e.exp.is_Integer:
            d, t = visit(e.base)
            k = abs(int(e.exp))
            # the monomials of degree k in t terms: C(t + k - 1, k), computed with both capped
            found = (d * k, 1 if t == 1 else min(cap + 1, _monomials(t, k, cap)))
        else:  # a function of its arguments (floor, ceiling, Max, Min, a rational power): one term
            parts = [visit(a) for a in e.args]
            found = (max((d for d, _ in parts), default=0), min(cap + 1, 1 + sum(t for _, t in parts)))
        memo[e] = found
        return found

    return visit(value)


def _monomials(t: int, k: int, cap: int) -> int:
    """C(t + k − 1, k), or ``cap + 1`` as soon as the product passes ``cap`` (t and k may be large)."""
    n, r, out = t + k - 1, min(k, t - 1), 1
    for i in range(1, r + 1):
        out = out * (n - r + i) // i
        if out > cap:
            return cap + 1
    return out


def add(values) -> Dim:
    """The sum of ``values`` in one step: ints by Python, expressions by one ``sympy.Add`` over all of
    them. Adding expressions one at a time re-sorts the growing sum at every step, which made a report
    of 3,000 symbolic layers take a minute.

    >>> add([1, 2, 3])
    6
    """
    values = list(values)
    if all(is_int(v) for v in values):
        return sum(values, 0)
    import sympy

    return exact(sympy.Add(*values))


def exact(value: Dim) -> Dim:
    """A sympy number that is an integer becomes a Python int, so concrete results stay ints."""
    if is_symbolic(value) and getattr(value, "is_Integer", False):
        return int(value)
    return value


def largest(values: list[Dim]) -> Dim:
    """The largest of ``values``; a sympy ``Max`` only where the order depends on free symbols.

    >>> largest([3, 7, 5])
    7
    """
    best = values[0]
    for v in values[1:]:
        if not (is_symbolic(v) or is_symbolic(best)):
            best = max(best, v)
        elif (v - best).is_nonnegative:
            best = v
        elif not (v - best).is_nonpositive:
            import sympy

            best = sympy.Max(best, v)
    return best


def smallest(values: list[Dim]) -> Dim:
    """The smallest of ``values``; a sympy ``Min`` only where the order depends on free symbols.

    >>> smallest([3, 7, 5])
    3
    """
    best = values[0]
    for v in values[1:]:
        if not (is_symbolic(v) or is_symbolic(best)):
            best = min(best, v)
        elif (v - best).is_nonpositive:
            best = v
        elif not (v - best).is_nonnegative:
            import sympy

            best = sympy.Min(best, v)
    return best


def summation(term, count: Dim) -> Dim:
    """Σ ``term(i)`` for i = 0 … count − 1, with ``term`` written once with Python operators: a plain
    sum for a concrete count, a sympy ``Sum`` over an index symbol when the count is free.

    >>> summation(lambda i: 2 * i + 1, 4)
    16
    """
    if is_int(count):
        return sum((term(i) for i in range(count)), 0)
    import sympy

    i = sympy.Dummy("i", integer=True, nonnegative=True)
    return sympy.Sum(term(i), (i, 0, count - 1))


#: most points :func:`equal` evaluates to prove an identity (the floors' residues times the degree + 1)
EXACT_POINTS = 10_000


def equal(a: Dim, b: Dim) -> bool:
    """Whether two dims are equal for every positive integer value of their symbols.

    The difference d = a − b is exact zero, or a nonzero number, or else it is evaluated exactly at
    integer points. Shape formulas are built from the symbols with +, ×, integer powers and floors
    (or ceilings) of arguments linear in the symbols and in further floors. Such a d is, on each
    residue class of the symbols modulo L (the floors' common period), a polynomial of degree at most
    D, its degree with each floor counted as a variable; so d vanishes everywhere exactly when it
    vanishes at the points r + L·m, r = 1…L, m = 0…D (for each symbol). Those are checked whenever they
    number at most :data:`EXACT_POINTS`: the answer is then a proof. Otherwise (other functions, larger
    periods or degrees) d is evaluated at 40 points, each symbol at 1…8 and at values up to 4C² (C the
    largest constant in d), and accepted when all vanish: a sample, which a difference that vanishes
    there and nowhere else would pass (d = ⌊(H+1)/20011⌋ − ⌊H/20011⌋, nonzero once in 20011 sizes).

    >>> H = symbol("H")
    >>> equal(floordiv(H - 1, 1024) + 1, floordiv(H - 1, 2048) + 1)   # 2 ≠ 1 at H = 2000
    False
    >>> equal(floordiv(floordiv(H + 1, 2) + 1, 2), floordiv(H + 3, 4))
    True
    """
    if is_int(a) and is_int(b):
        return a == b
    if a == b:
        return True
    import sympy

    diff = sympy.sympify(a) - sympy.sympify(b)  # both already numbers or expressions, never user text
    if diff == 0:
        return True
    if diff.is_zero is False or not diff.free_symbols:
        return False
    names = sorted(diff.free_symbols, key=str)
    value = _evaluator(diff)
    if any(value(point) for point in _samples(diff, names)):
        return False
    grid = _proof_points(diff, names)
    return grid is None or not any(value(point) for point in grid)


def differ(a: Dim, b: Dim) -> bool | None:
    """Whether two dims that are not :func:`equal` differ for the values that matter: True when they
    are different numbers, or depend on one symbol and differ at every size from 2 to 64 and at 1,000
    and 10,007 (a stride-2 size ⌊(H+1)/2⌋ meets H only at H = 1); None when whether they are equal
    depends on the values (D against D_i, or C against 64), which only --set can settle.

    >>> H, D = symbol("H"), symbol("D")
    >>> differ(H, floordiv(H + 1, 2)), differ(D, 64), differ(D, symbol("D_i"))
    (True, None, None)
    """
    if is_int(a) and is_int(b):
        return a != b
    import sympy

    diff = sympy.sympify(a) - sympy.sympify(b)
    if len(diff.free_symbols) != 1:
        return None if diff.free_symbols else diff != 0
    (name,) = diff.free_symbols
    value = _evaluator(diff)
    return None if any(value({name: v}) == 0 for v in (*range(2, 65), 1000, 10007)) else True


def _evaluator(expr):
    """``expr`` as a function of {symbol: int}, exact (Fractions), built once and called at many points.
    A point where ``expr`` is undefined (a division by zero) counts as a zero. Functions other than
    floor, ceiling, max and min go through sympy's ``subs``, which is slow, and anything that does not
    come out a number there counts as nonzero."""
    from fractions import Fraction

    import sympy

    rounding = {sympy.floor: math.floor, sympy.ceiling: math.ceil, sympy.Max: max, sympy.Min: min}

    def build(e):
        if e.is_Rational:
            number = Fraction(int(e.p), int(e.q))
            return lambda p: number
        if e.is_Symbol:
            return lambda p: p[e]
        parts = [build(arg) for arg in e.args]
        if e.is_Add:
            return lambda p: sum(f(p) for f in parts)
        if e.is_Mul:
            return lambda p: math.prod(f(p) for f in parts)
        if e.is_Pow and e.exp.is_Integer:
            base, exp = parts[0], int(e.exp)
            return lambda p: Fraction(base(p)) ** exp
        if e.func in rounding:
            function = rounding[e.func]
            return lambda p: function(*(f(p) for f in parts))
        raise LookupError(e.func)

    try:
        run = build(expr)
    except LookupError:
        return lambda point: expr.subs(point) != 0

    def value(point: dict) -> object:
        try:
            return run(point)
        except ZeroDivisionError:
            return Fraction(0)

    return value


def _samples(expr, names: list) -> list[dict]:
    """Points for a quick refusal and for the sampled check: each symbol at 1…8 and at 32 values spread
    up to 4C² (C the largest numerator or denominator in ``expr``), where linear differences show."""
    import random

    import sympy

    scale = max([2, *(max(abs(int(r.p)), int(r.q)) for r in expr.atoms(sympy.Rational))])
    rng = random.Random(len(names))
    columns = [[*range(1 + i, 9 + i), *sorted(rng.randint(1, 4 * scale) for _ in range(16)),
                *sorted(rng.randint(scale * scale, 4 * scale * scale) for _ in range(16))] for i in range(len(names))]
    return [dict(zip(names, values)) for values in zip(*columns)]


def _proof_points(expr, names: list) -> list[dict] | None:
    """The points r + L·m (r = 1…L, m = 0…D per symbol) at which ``expr`` vanishing proves it zero (see
    :func:`equal`), or None when ``expr`` is not of that form or they number more than EXACT_POINTS."""
    import sympy

    floors = _outer_floors(expr)
    periods = {x: 1 for x in names}
    for f in expr.atoms(sympy.floor, sympy.ceiling):
        for x in names:
            step = _period(f, x)
            if step is None:
                return None
            periods[x] = math.lcm(periods[x], step[0])
    dummies = [sympy.Dummy() for _ in floors]
    try:
        degree = sympy.Poly(expr.xreplace(dict(zip(floors, dummies))), *names, *dummies).total_degree()
    except sympy.PolynomialError:
        return None
    if math.prod(periods[x] * (degree + 1) for x in names) > EXACT_POINTS:
        return None
    axes = [[r + periods[x] * m for r in range(1, periods[x] + 1) for m in range(degree + 1)] for x in names]
    return [dict(zip(names, values)) for values in itertools.product(*axes)]


def _outer_floors(expr) -> list:
    """The floors and ceilings of ``expr`` that are not inside another one."""
    import sympy

    if isinstance(expr, (sympy.floor, sympy.ceiling)):
        return [expr]
    return list(dict.fromkeys(f for arg in expr.args for f in _outer_floors(arg)))


@functools.lru_cache(maxsize=4096)
def _period(f, x) -> tuple[int, int] | None:
    """(P, G) with f(x + P) = f(x) + G for every integer x, for a floor or ceiling f whose argument is
    linear in ``x`` and in inner floors; None otherwise. The argument grows by γ over the inner floors'
    common period M; the smallest multiple of M over which that growth is an integer is f's period."""
    from fractions import Fraction

    import sympy

    linear, inner = Fraction(0), []
    for term in sympy.Add.make_args(f.args[0]):
        coeff, rest = term.as_coeff_Mul()
        if not coeff.is_Rational:
            return None
        coeff = Fraction(int(coeff.p), int(coeff.q))
        if rest == x:
            linear += coeff
        elif isinstance(rest, (sympy.floor, sympy.ceiling)):
            step = _period(rest, x)
            if step is None:
                return None
            inner.append((coeff, *step))
        elif x in rest.free_symbols:
            return None
    span = math.lcm(1, *(p for _, p, _ in inner))
    growth = linear * span + sum(c * g * (span // p) for c, p, g in inner)
    return span * growth.denominator, int(growth * growth.denominator)


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
    return str(ceilings(exact(value)))


def ceilings(value: Any) -> Any:
    """``value`` with each ``−c·floor(a)`` whose argument falls as the symbols grow written as the
    ``c·ceiling(−a)`` it is, for reading: a ceil-mode pool's size is ``ceiling(H/2 - 3/2) + 1``, which
    sympy keeps as ``1 - floor(3/2 - H/2)``. Only for display; the value is the same.

    >>> H = symbol("H")
    >>> fmt(ceildiv(H - 3, 2) + 1)
    'ceiling(H/2 - 3/2) + 1'
    """
    if not is_symbolic(value) or not value.has(_sympy().floor):
        return value
    sympy = _sympy()

    def falling(term) -> bool:
        coefficient, factor = term.as_coeff_Mul()
        if coefficient >= 0 or not isinstance(factor, sympy.floor):
            return False
        argument = factor.args[0]
        return all(argument.coeff(s) < 0 for s in argument.free_symbols if argument.coeff(s).is_number)

    def rewrite(term):
        coefficient, factor = term.as_coeff_Mul()
        ceiling = sympy.ceiling(-factor.args[0], evaluate=False)
        return ceiling if coefficient == -1 else sympy.Mul(-coefficient, ceiling, evaluate=False)

    return value.replace(falling, rewrite)


def _sympy():
    import sympy

    return sympy


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


def math_str(value: Any) -> str:
    """A formula in sympy's syntax with floor and ceiling as brackets over one fraction
    (``⌊(H + 1)/2⌋``, not ``floor(H/2 + 1/2)``); :mod:`archcalc.notation` finishes the notation."""
    return _bracket_printer().doprint(ceilings(exact(value)))


@functools.cache
def _bracket_printer():
    import sympy
    from sympy.printing.str import StrPrinter

    class Printer(StrPrinter):
        def _print_floor(self, expr) -> str:
            return f"⌊{self._print(sympy.together(expr.args[0]))}⌋"

        def _print_ceiling(self, expr) -> str:
            return f"⌈{self._print(sympy.together(expr.args[0]))}⌉"

    return Printer()


def python_source(expr: Dim, names: dict[str, str] | None = None) -> str:
    """A size formula as Python over int symbols (``8 * (H // 2) * (W // 2)``): floor division for ⌊·⌋,
    no floats; what a generated PyTorch file writes for a size the spec leaves free. ValueError for a
    function it has no Python for."""
    import sympy

    def paren(e, in_sum: bool = False) -> str:
        """``e`` as an operand: bare when it binds tighter than the operator around it (a quotient
        ``H // 2`` does inside a sum, not inside a product, where ``8 * H // 2`` is ⌊8H/2⌋)."""
        text = code(e)
        tight = e.is_Atom or e.is_Pow or e.func in (sympy.Max, sympy.Min) or (in_sum and (e.is_Mul or e.func in (
            sympy.floor, sympy.ceiling)))
        return text if tight and not text.startswith("-") else f"({text})"

    def quotient(e, rounding) -> str:
        num, den = sympy.fraction(sympy.together(e))
        if den == 1:
            return code(num)
        if rounding is sympy.ceiling:
            return f"-(-{paren(num)} // {paren(den)})"
        return f"{paren(num)} // {paren(den)}"

    def code(e) -> str:
        if e.is_Integer:
            return str(int(e))
        if e.is_Symbol:
            return (names or {}).get(str(e), str(e))
        if e.is_Rational:  # only as part of a whole number (⌊H/2⌋ written H // 2)
            return quotient(e, sympy.floor)
        if e.func in (sympy.floor, sympy.ceiling):
            return quotient(e.args[0], e.func)
        if e.func in (sympy.Max, sympy.Min):
            return f"{'max' if e.func is sympy.Max else 'min'}({', '.join(code(a) for a in e.args)})"
        if e.is_Add:
            # positive terms first, the constant last: H * W - 2 * H, H // 2 + 1, 10 - H
            terms = sorted(e.args, key=lambda t: (bool(t.could_extract_minus_sign()) and not t.is_Number,
                                                  t.is_Number))
            text = code(terms[0])
            for term in terms[1:]:
                if term.could_extract_minus_sign():
                    text += f" - {paren(-term, True)}"
                else:
                    text += f" + {paren(term, True)}"
            return text
        if e.is_Mul:
            if any(a.is_Rational and not a.is_Integer for a in e.args):
                return quotient(e, sympy.floor)  # an exact quotient: the size is a whole number
            if e.could_extract_minus_sign():
                return f"-{paren(-e)}"
            return " * ".join(paren(a) for a in e.args)
        if e.is_Pow and e.exp.is_Integer and e.exp > 0:
            return f"{paren(e.base)} ** {int(e.exp)}"
        raise ValueError(f"no Python for the size {e}")

    return code(exact(expr))
