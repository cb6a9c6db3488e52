"""Arithmetic in spec arguments (``2*c``, ``c // 4``, ``c * expansion``), read without ``eval``.

The text is parsed by Python's own parser (which never runs anything) and the tree is walked
against a whitelist: numbers, names, ``+ - * / // **``, unary signs and parentheses. Anything else
(calls, attributes, subscripts, lambdas, comparisons, dunder names) is refused at parse time. The
walk evaluates with Python operators, so names bound to sympy symbols give sympy results through
the same code. Powers and magnitudes are bounded, so ``9**9**9`` is an error, not a hang, and every
other way the arithmetic can fail (a float overflowing, a complex power, a decimal number beside a
symbol, which stands for an integer) is a located error too, never a Python exception.

    >>> evaluate(parse_expr("c * 4 // 2", Loc("x", 1, 1)), {"c": 64})
    128
"""

from __future__ import annotations

import ast
import math
from collections.abc import Mapping
from typing import NamedTuple

from archcalc import symbolic
from archcalc.errors import Loc, SpecError, did_you_mean
from archcalc.limits import Limits

_ALLOWED = "numbers, names, + - * / // ** and parentheses"
_WHAT = {
    ast.Call: "a function call",
    ast.Attribute: "attribute access",
    ast.Subscript: "indexing",
    ast.Lambda: "a lambda",
    ast.Compare: "a comparison",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "a conditional",
    ast.Mod: "'%'",
    ast.MatMult: "'@'",
}


class Expr(NamedTuple):
    """A parsed, whitelisted expression and where it was written."""

    text: str
    loc: Loc
    tree: ast.expr

    @property
    def names(self) -> set[str]:
        return {n.id for n in ast.walk(self.tree) if isinstance(n, ast.Name)}

    def __str__(self) -> str:
        return self.text


def bare_name(value: object) -> str | None:
    """The name when ``value`` is an expression that is one name alone (``same``, ``c``), else None."""
    return value.tree.id if isinstance(value, Expr) and isinstance(value.tree, ast.Name) else None


def parse_expr(text: str, loc: Loc, limits: Limits | None = None) -> Expr:
    """Parse and whitelist ``text``; every refusal is a located ``bad-expression`` error."""
    limits = limits or Limits()
    if len(text) > limits.max_expr_chars:
        raise SpecError(loc, f"expression longer than {limits.max_expr_chars} characters", code="bad-expression",
                        hint="name a part of it under 'symbols:' or as a block parameter, or raise --limit "
                        "max_expr_chars=N")
    try:
        tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, ValueError, MemoryError, RecursionError) as e:
        col = loc.col + max((getattr(e, "offset", None) or 1) - 1, 0)
        unclosed = text.count("(") > text.count(")")  # YAML's flow {…} or […] split it at a comma
        hint = ("a comma inside {…} or […] ends the value in YAML: quote the expression, or write the "
                "mapping as block lines") if unclosed else f"expressions may use {_ALLOWED}"
        raise SpecError(Loc(loc.path, loc.line, col), f"cannot read expression '{text}'", code="bad-expression",
                        hint=hint) from None
    for node in ast.walk(tree):
        _check(node, text, loc)
    return Expr(text, loc, tree)


def _check(node: ast.AST, text: str, loc: Loc) -> None:
    if isinstance(node, (ast.Name, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Pow,
                         ast.USub, ast.UAdd, ast.BinOp, ast.UnaryOp)):
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise SpecError(loc, f"name '{node.id}' is not allowed in an expression", code="bad-expression",
                            hint="names starting with '__' are reserved")
        return
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return
    what = _WHAT.get(type(node)) or (f"the literal {node.value!r}" if isinstance(node, ast.Constant)
                                     else type(node).__name__)
    raise SpecError(loc, f"{what} is not allowed in expression '{text}'", code="bad-expression",
                    hint=f"expressions may use only {_ALLOWED}")


def evaluate(expr: Expr, env: Mapping[str, object], limits: Limits | None = None) -> object:
    """The value of ``expr`` with names looked up in ``env`` (ints, floats, strings or sympy)."""
    return _Eval(expr, env, limits or Limits()).run(expr.tree)


class _Eval:
    def __init__(self, expr: Expr, env: Mapping[str, object], limits: Limits):
        self.expr, self.env, self.limits = expr, env, limits

    def fail(self, message: str, hint: str | None = None, code: str = "bad-expression") -> SpecError:
        return SpecError(self.expr.loc, message, code=code, hint=hint)

    def run(self, node: ast.expr) -> object:
        if isinstance(node, ast.Constant):
            return self.bounded(node.value)
        if isinstance(node, ast.Name):
            if node.id not in self.env:
                raise self.fail(f"undefined symbol '{node.id}'", undefined_hint(node.id, self.env),
                                code="undefined-symbol")
            return self.env[node.id]
        if isinstance(node, ast.UnaryOp):
            value = self.number(self.run(node.operand))
            return -value if isinstance(node.op, ast.USub) else value
        return self.binary(node.op, self.number(self.run(node.left)), self.number(self.run(node.right)))

    def number(self, value: object) -> object:
        if isinstance(value, bool) or not (isinstance(value, (int, float)) or symbolic.is_symbolic(value)):
            raise self.fail(f"'{self.expr.text}' does arithmetic on {value!r}, which is not a number")
        return value

    def binary(self, op: ast.operator, a: object, b: object) -> object:
        """``a op b``; every way it can fail (overflow, a float beside a symbol) is a located error."""
        if any(isinstance(v, float) for v in (a, b)) and (_has_symbols(a) or _has_symbols(b)):
            raise self.fail(f"'{self.expr.text}' mixes a decimal number with a symbol",
                            hint="symbols stand for integers: use integers (2, not 2.0) and // for division")
        if isinstance(op, (ast.Div, ast.FloorDiv)) and b == 0:
            raise self.fail(f"division by zero in '{self.expr.text}'",
                            hint="the divisor is 0 here: check the values given to its names (--set, block arguments)")
        try:
            value = symbolic.exact(self.compute(op, a, b))
        except OverflowError:
            raise self.too_large() from None
        except (ArithmeticError, TypeError, ValueError) as e:
            raise self.fail(f"cannot compute '{self.expr.text}' ({e})") from None
        return self.bounded(value)

    def compute(self, op: ast.operator, a: object, b: object) -> object:
        if isinstance(op, ast.Add):
            return a + b
        if isinstance(op, ast.Sub):
            return a - b
        if isinstance(op, ast.Mult):
            return a * b
        if isinstance(op, ast.FloorDiv):
            if isinstance(a, float) or isinstance(b, float):
                return float(a // b)
            return symbolic.floordiv(a, b)
        if isinstance(op, ast.Div):
            if symbolic.is_int(a) and symbolic.is_int(b):
                return a // b if a % b == 0 else a / b
            return a / b
        return self.power(a, b)

    def power(self, base: object, exp: object) -> object:
        """``base**exp``, refused beforehand only when the result must exceed the integer limit."""
        if isinstance(exp, float) and isinstance(base, (int, float)):
            return base**exp  # a float: overflow and complex results are caught by the caller
        if not symbolic.is_int(exp):
            raise self.fail(f"the exponent in '{self.expr.text}' must be an integer")
        if exp < 0 and base == 0:
            raise self.fail(f"'{self.expr.text}' raises 0 to a negative power")
        if symbolic.is_int(base) and exp > 0:
            # |base| ≥ 2^(bits−1), so the power is at least 2^((bits−1)·exp): 0, 1 and −1 never grow
            if (abs(base).bit_length() - 1) * exp >= self.limits.max_int.bit_length():
                raise self.too_large()
        elif _has_symbols(base) and abs(exp) > 64:
            raise self.too_large()  # a symbol is at least 1, and any size ≥ 2 to the 65th passes the limit
        return base**exp  # int**negative is a float, as in Python

    def too_large(self) -> SpecError:
        return self.fail(f"'{self.expr.text}' is too large", code="resource-limit",
                         hint=f"integers are limited to ±{self.limits.max_int:,}, decimal numbers to about ±1.8e308")

    def bounded(self, value: object) -> object:
        if isinstance(value, complex):
            raise self.fail(f"'{self.expr.text}' is not a real number",
                            hint="a negative number to a fractional power is complex")
        if isinstance(value, float) and not math.isfinite(value):
            raise self.too_large()
        if symbolic.is_int(value) and abs(value) > self.limits.max_int:
            raise self.too_large()
        return value


def undefined_hint(name: str, env: Mapping[str, object]) -> str:
    """The closest defined name, if one is close, and every name defined where ``name`` was used.

    >>> undefined_hint("cc", {"c": 64, "H": 32})
    "did you mean 'c'? defined here: H, c"
    """
    known = sorted(env)
    if not known:
        return "declare it under 'symbols:' or as a block parameter"
    shown = ", ".join(known[:_SHOWN]) + (f", … ({len(known) - _SHOWN} more)" if len(known) > _SHOWN else "")
    close = did_you_mean(name, known)
    return f"{close} defined here: {shown}" if close else \
        f"defined here: {shown}; declare others under 'symbols:' or as a block parameter"


_SHOWN = 12  # names listed in an undefined-symbol hint


def _has_symbols(value: object) -> bool:
    return bool(getattr(value, "free_symbols", None))
