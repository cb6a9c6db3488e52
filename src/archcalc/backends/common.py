"""What every backend does the same way with a spec's values: make them plain Python, and write them as code.

Layer arguments and train settings arrive validated, but as the spec computed them: sympy integers
left by an evaluated expression, tuples per axis. A backend needs plain ints, floats, bools, words,
None and tuples of them (:func:`plain`), and a generated file needs them as text that reads back as
exactly the same value (:func:`code`). A free symbol cannot become a module's size: it is refused
here with the usage error that says to give it a value.
"""

from __future__ import annotations

import ast
import math

from archcalc import symbolic
from archcalc.errors import SpecError


def plain(value: object) -> object:
    """``value`` as a plain Python literal: an int, a finite float, a bool, a str, None, or a tuple of them."""
    if isinstance(value, tuple):
        return tuple(plain(v) for v in value)
    if value is None or type(value) in (bool, int, str) or (type(value) is float and math.isfinite(value)):
        return value
    if getattr(value, "is_Integer", False):  # a sympy integer left by an evaluated expression
        return int(value)
    if symbolic.is_symbolic(value):
        raise SpecError(None, f"{symbolic.fmt(value)} must have a value to build a module", code="usage",
                        hint="give the spec's symbols values")  # Model.require_values says how, before this
    raise TypeError(f"not a literal: {value!r}")


def code(value: object) -> str:
    """A plain value (see :func:`plain`), or a list of them, as Python source, checked to read back as itself."""
    if isinstance(value, tuple):
        return repr(tuple(ast.literal_eval(code(v)) for v in value))
    if isinstance(value, list):  # a schedule's milestones
        return f"[{', '.join(code(v) for v in value)}]"
    if not (value is None or type(value) in (bool, int, float, str)):
        raise TypeError(f"not a plain literal: {value!r}")
    text = repr(value)
    assert ast.literal_eval(text) == value
    return text
