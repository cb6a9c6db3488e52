"""Formulas as the explanations and diagrams print them: one notation, the one a student writes.

The derivation templates write ``⌊(H+2×P−F)/S⌋+1``; a value that is a sympy formula prints the same
way here (``⌊H/2⌋``, ``32×⌊H/4⌋×⌊W/4⌋``, ``⌊(H + 1)/2⌋``), never in sympy's ``floor(H/2 + 1/2)``
and ``*``, which the JSON and CSV keep because scripts read them. Integers print as they are; sympy
is never imported for them.
"""

from __future__ import annotations

from archcalc import symbolic


def math_text(value: object) -> str:
    """``value`` in the explanations' notation.

    >>> math_text(1530), math_text(-3)
    ('1530', '−3')
    >>> import sympy
    >>> H, W = sympy.symbols("H W", integer=True, positive=True)
    >>> math_text(320 * sympy.floor(H / 4) * sympy.floor(W / 4) + 10)
    '320×⌊H/4⌋×⌊W/4⌋ + 10'
    >>> math_text(sympy.floor(H / 2 + sympy.Rational(1, 2))), math_text(sympy.ceiling(H / 3) - 1)
    ('⌊(H + 1)/2⌋', '⌈H/3⌉ − 1')
    """
    if symbolic.is_int(value):
        return str(value).replace("-", "−")
    if isinstance(value, float):
        return f"{value:g}".replace("-", "−")
    if not symbolic.is_symbolic(value):
        return str(value)
    return symbolic.math_str(value).replace("**", "^").replace("*", "×").replace("-", "−")


def math_shape(shape: tuple) -> str:
    """``[32, ⌊H/2⌋, ⌊W/2⌋]``: a shape in the same notation."""
    return "[" + ", ".join(math_text(d) for d in shape) + "]"


def operand(value: object) -> str:
    """``value`` as an operand put into a formula: in parentheses only when it is a sum or a difference
    (``(H + 1)``), never around a number, a name or a product (``32×⌊H/4⌋``).

    >>> operand(4), operand(-4)
    ('4', '(−4)')
    """
    text = math_text(value)
    return f"({text})" if _loose(text) else text


def _loose(text: str) -> bool:
    """Whether ``text`` has a sign or a + or − outside every bracket (so a product would bind into it)."""
    depth = 0
    for ch in text:
        if ch in "(⌊⌈[":
            depth += 1
        elif ch in ")⌋⌉]":
            depth -= 1
        elif depth == 0 and ch in "+−":
            return True
    return False

