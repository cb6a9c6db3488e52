"""Arithmetic in spec arguments (``2*c``, ``c // 4``, ``c * expansion``), read without ``eval``.

The text is parsed by Python's own parser (which never runs anything) and the tree is walked
against a whitelist: numbers, names, ``+ - * / // **``, unary signs and parentheses, the two functions
``max(a, b, …)`` and ``min(a, b, …)`` (MobileNet's ``_make_divisible`` floors a width at 8), and one
subscript, ``in_shape[k]`` with a literal ``k``. A condition (``if:``) also takes comparisons and
``and``/``or``/``not``. Anything else (calls, attributes, other subscripts, lambdas, dunder names)
is refused at parse time. The
walk evaluates with Python operators, so names bound to sympy symbols give sympy results through
the same code. Powers and magnitudes are bounded, so ``9**9**9`` is an error, not a hang, and so is
the algebra: a symbolic value whose expansion would pass the budget of :func:`symbolic.too_complex`
(``(A+B+C+1)**64``) is refused as it is made, before anything expands it. Every
other way the arithmetic can fail (a float overflowing, a complex power, a decimal number beside a
symbol, which stands for an integer) is a located error too, never a Python exception.

    >>> evaluate(parse_expr("c * 4 // 2", Loc("x", 1, 1)), {"c": 64})
    128
"""

from __future__ import annotations

import ast
import functools
import math
import warnings
from collections.abc import Mapping
from typing import NamedTuple

from archcalc import symbolic
from archcalc.errors import Loc, SpecError, did_you_mean
from archcalc.limits import Limits

_ALLOWED = "numbers, names, + - * / // **, max(…), min(…) and parentheses"
#: the functions an expression may call: the largest and the smallest of two or more values (symbolic: sympy's
#: Max and Min only where the order depends on free symbols)
FUNCTIONS = {"max": symbolic.largest, "min": symbolic.smallest}
_ALLOWED_CONDITION = f"{_ALLOWED}, comparisons (== != < <= > >=), and, or, not"
#: names every layer's and block use's arguments can read: the shape of its input (PyTorch's words for
#: the first and the last axis, and the whole shape, indexed with a literal: ``in_shape[1]``)
INPUT_NAMES = ("in_channels", "in_features", "in_shape")
_ARITHMETIC = (ast.Name, ast.Load, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.FloorDiv, ast.Pow, ast.USub, ast.UAdd,
               ast.BinOp, ast.UnaryOp)
_LOGIC = (ast.Compare, ast.BoolOp, ast.And, ast.Or, ast.Not, ast.Eq, ast.NotEq, ast.Lt, ast.LtE, ast.Gt, ast.GtE)
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
        return set(_names(self.tree))

    def __str__(self) -> str:
        return self.text


@functools.lru_cache(maxsize=4096)  # a block's arguments are read again at every call of the block
def _names(tree: ast.expr) -> frozenset[str]:
    called = {id(n.func) for n in ast.walk(tree) if isinstance(n, ast.Call)}  # max and min are no symbols
    return frozenset(n.id for n in ast.walk(tree) if isinstance(n, ast.Name) and id(n) not in called)


def bare_name(value: object) -> str | None:
    """The name when ``value`` is an expression that is one name alone (``same``, ``c``), else None."""
    return value.tree.id if isinstance(value, Expr) and isinstance(value.tree, ast.Name) else None


def parse_expr(text: str, loc: Loc, limits: Limits | None = None, *, condition: bool = False) -> Expr:
    """Parse and whitelist ``text``; every refusal is a located ``bad-expression`` error. A ``condition``
    (of ``if:``) may also compare and combine with ``and``/``or``/``not``."""
    limits = limits or Limits()
    if len(text) > limits.max_expr_chars:
        raise SpecError(loc, f"expression longer than {limits.max_expr_chars} characters", code="bad-expression",
                        hint="name a part of it under 'symbols:' or as a block parameter, or raise --limit "
                        "max_expr_chars=N")
    try:
        with warnings.catch_warnings():  # '3if' warns (printed to the user as '<unknown>:1: SyntaxWarning')
            warnings.simplefilter("error", SyntaxWarning)  # and later Pythons refuse it: refuse it here
            tree = ast.parse(text.strip(), mode="eval").body
    except (SyntaxError, SyntaxWarning, ValueError, MemoryError, RecursionError) as e:
        col = loc.col + max((getattr(e, "offset", None) or 1) - 1, 0)
        unclosed = text.count("(") > text.count(")")  # YAML's flow {…} or […] split it at a comma
        hint = ("a comma inside {…} or […] ends the value in YAML: quote the expression, or write the "
                "mapping as block lines") if unclosed else f"expressions may use {_ALLOWED}"
        raise SpecError(Loc(loc.path, loc.line, col), f"cannot read expression '{text}'", code="bad-expression",
                        hint=hint) from None
    for node in ast.walk(tree):
        _check(node, text, loc, condition)
    return Expr(text, loc, tree)


def _check(node: ast.AST, text: str, loc: Loc, condition: bool) -> None:
    if isinstance(node, _ARITHMETIC) or (condition and isinstance(node, _LOGIC)):
        if isinstance(node, ast.Name) and node.id.startswith("__"):
            raise SpecError(loc, f"name '{node.id}' is not allowed in an expression", code="bad-expression",
                            hint="names starting with '__' are reserved")
        return
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return
    if isinstance(node, ast.Call):
        name = node.func.id if isinstance(node.func, ast.Name) else None
        if name in FUNCTIONS and len(node.args) >= 2 and not node.keywords and \
                not any(isinstance(a, ast.Starred) for a in node.args):
            return
        if name in FUNCTIONS:
            which = "largest" if name == "max" else "smallest"
            raise SpecError(loc, f"{name}() in expression '{text}' takes two or more values, written out",
                            code="bad-expression", hint=f"{name}(8, c // 2): the {which} of them")
    if isinstance(node, ast.Subscript):
        if isinstance(node.value, ast.Name) and node.value.id == "in_shape" and _literal_index(node.slice) is not None:
            return
        raise SpecError(loc, f"indexing is not allowed in expression '{text}' (only in_shape[k], with k a whole "
                        "number)", code="bad-expression",
                        hint="in_shape[0] is the input's first axis (in_channels), in_shape[-1] its last")
    what = _WHAT.get(type(node)) or (f"the literal {node.value!r}" if isinstance(node, ast.Constant)
                                     else type(node).__name__)
    hint = f"expressions may use only {_ALLOWED_CONDITION if condition else _ALLOWED}"
    if not condition and isinstance(node, _LOGIC):
        hint += "; comparisons belong in the condition of if:"
    raise SpecError(loc, f"{what} is not allowed in expression '{text}'", code="bad-expression", hint=hint)


def _literal_index(node: ast.AST) -> int | None:
    """``k`` of ``in_shape[k]`` when it is a whole number written out (``-1`` too), else None."""
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        inner = _literal_index(node.operand)
        return None if inner is None else -inner
    if isinstance(node, ast.Constant) and type(node.value) is int:
        return node.value
    return None


def evaluate(expr: Expr, env: Mapping[str, object], limits: Limits | None = None) -> object:
    """The value of ``expr`` with names looked up in ``env`` (ints, floats, strings or sympy). A block parameter
    given a list (``b: {stride: [1, 2, 2]}``) is used whole where an argument is that name alone
    (``stride: st``): per-axis arguments take it as they take a list written out."""
    evaluator = _Eval(expr, env, limits or Limits())
    if isinstance(expr.tree, ast.Name) and expr.tree.id not in INPUT_NAMES:
        value = evaluator.lookup(expr.tree.id)
        if isinstance(value, tuple):
            return value
    return evaluator.run(expr.tree)


def truth(expr: Expr, env: Mapping[str, object], limits: Limits | None = None) -> bool:
    """Whether the condition ``expr`` holds (a number holds when it is not 0). With free symbols it must
    hold, or fail, at every value; otherwise it is a located error naming them."""
    evaluator = _Eval(expr, env, limits or Limits())
    value = evaluator.run(expr.tree)
    if isinstance(value, bool):
        return value
    return evaluator.decide(ast.NotEq(), evaluator.number(value), 0)


class _Eval:
    def __init__(self, expr: Expr, env: Mapping[str, object], limits: Limits):
        self.expr, self.env, self.limits = expr, env, limits

    def fail(self, message: str, hint: str | None = None, code: str = "bad-expression") -> SpecError:
        return SpecError(self.expr.loc, message, code=code, hint=hint)

    def run(self, node: ast.expr) -> object:
        if isinstance(node, ast.Constant):
            return self.bounded(node.value)
        if isinstance(node, ast.Name):
            value = self.lookup(node.id)
            if isinstance(value, tuple) and node.id not in INPUT_NAMES:
                raise self.fail(f"'{node.id}' is a list ({', '.join(map(str, value))}), not a number",
                                hint=f"a list parameter is used whole, as an argument of its own ('stride: "
                                f"{node.id}'), not inside an expression")
            if isinstance(value, tuple):
                raise self.fail(f"'{node.id}' is the input's whole shape, not a number",
                                hint=f"take one axis: {node.id}[0] (the channels), {node.id}[-1] (the last)")
            return value
        if isinstance(node, ast.Subscript):
            shape = self.lookup(node.value.id)
            k = _literal_index(node.slice)
            if not -len(shape) <= k < len(shape):
                raise self.fail(f"in_shape[{k}]: the input has {len(shape)} ax{'is' if len(shape) == 1 else 'es'}",
                                hint=f"in_shape[0] … in_shape[{len(shape) - 1}], or in_shape[-1] for the last")
            return shape[k]
        if isinstance(node, ast.Call):  # max(…) or min(…), checked at parse time
            return FUNCTIONS[node.func.id]([self.number(self.run(a)) for a in node.args])
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.Not):
                return not self.test(self.run(node.operand))
            value = self.number(self.run(node.operand))
            return -value if isinstance(node.op, ast.USub) else value
        if isinstance(node, ast.BoolOp):  # short-circuit, as Python: the later parts may not be decidable
            want = isinstance(node.op, ast.Or)
            return next((want for part in node.values if self.test(self.run(part)) == want), not want)
        if isinstance(node, ast.Compare):
            left = self.number(self.run(node.left))
            for op, part in zip(node.ops, node.comparators):
                right = self.number(self.run(part))
                if not self.decide(op, left, right):
                    return False
                left = right
            return True
        return self.binary(node.op, self.number(self.run(node.left)), self.number(self.run(node.right)))

    def lookup(self, name: str) -> object:
        if name not in self.env:
            if name in INPUT_NAMES:
                raise self.fail(f"'{name}' reads the shape of a layer's or block use's input, and there is none "
                                "here", code="undefined-symbol",
                                hint="use it in the arguments of a layer or a block use (not in input:, a repeat "
                                "count or a name)")
            raise self.fail(f"undefined symbol '{name}'", undefined_hint(name, self.env), code="undefined-symbol")
        value = self.env[name]
        if isinstance(value, Unknown):
            raise value.error(self.expr)
        return value

    def test(self, value: object) -> bool:
        return value if isinstance(value, bool) else self.decide(ast.NotEq(), self.number(value), 0)

    def decide(self, op: ast.cmpop, a: object, b: object) -> bool:
        """``a op b``; with free symbols it must be the same at every value (sizes are whole numbers ≥ 1)."""
        if not (_has_symbols(a) or _has_symbols(b)):
            return {ast.Eq: a == b, ast.NotEq: a != b, ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b,
                    ast.GtE: a >= b}[type(op)]
        if isinstance(op, (ast.Eq, ast.NotEq)):
            same = True if symbolic.equal(a, b) else (False if symbolic.differ(a, b) else None)
            verdict = same if same is None or isinstance(op, ast.Eq) else not same
        else:
            relation = {ast.Lt: a < b, ast.LtE: a <= b, ast.Gt: a > b, ast.GtE: a >= b}[type(op)]
            try:
                verdict = bool(relation)
            except TypeError:
                verdict = None
        if verdict is None:
            free = ", ".join(symbolic.free_names((a, b)))
            raise self.fail(f"'{self.expr.text}' holds for some values of {free} and not for others",
                            code="undecidable-condition",
                            hint="give them values with --set (or defaults under symbols:), or write the condition "
                            "on block parameters")
        return verdict

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
        reason = symbolic.too_complex(value)
        if reason is not None:
            raise self.fail(f"'{self.expr.text}' is too complex to keep symbolic: {reason}", code="resource-limit",
                            hint="give its symbols values with --set (or defaults under symbols:); sizes are "
                            f"polynomials of degree at most {symbolic.MAX_DEGREE} with at most "
                            f"{symbolic.MAX_TERMS:,} terms")
        return value


def undefined_hint(name: str, env: Mapping[str, object]) -> str:
    """The closest defined name, if one is close, and every name defined where ``name`` was used.

    >>> undefined_hint("cc", {"c": 64, "H": 32})
    "did you mean 'c'? defined here: H, c"
    """
    known = sorted(k for k in env if k not in INPUT_NAMES)  # the input names are everywhere: not listed
    close = did_you_mean(name, list(env))  # but a misspelt one is still suggested
    if not known:
        return close or "declare it under 'symbols:' or as a block parameter"
    shown = ", ".join(known[:_SHOWN]) + (f", … ({len(known) - _SHOWN} more)" if len(known) > _SHOWN else "")
    return f"{close} defined here: {shown}" if close else \
        f"defined here: {shown}; declare others under 'symbols:' or as a block parameter"


_SHOWN = 12  # names listed in an undefined-symbol hint


class Unknown:
    """A value that cannot be known where it is read: the input's shape while the layers are only being
    counted (before any is built). Reading it is an error; see :func:`unknown_input`."""

    def __init__(self, name: str):
        self.name = name  # what it stands for: an input name, or the block parameter computed from one

    def error(self, expr: Expr) -> SpecError:
        return SpecError(expr.loc, f"'{expr.text}' depends on the input's shape (through {self.name}), which is "
                         "not known where it is needed", code="bad-argument",
                         hint="a repeat count and a condition that chooses between layers must not depend on the "
                         "input's shape: use block parameters or symbols")

    def __repr__(self) -> str:
        return f"<{self.name}>"


def unknown_input(names: Mapping[str, object]) -> dict[str, object]:
    """The input names bound to values that refuse to be computed with (while counting layers)."""
    return {**names, **{name: Unknown(name) for name in INPUT_NAMES}}


def depends_on_unknown(expr: Expr, env: Mapping[str, object]) -> bool:
    """Whether ``expr`` reads a name that :func:`unknown_input` bound, directly or through a parameter."""
    return any(isinstance(env.get(name), Unknown) for name in expr.names)


def _has_symbols(value: object) -> bool:
    return bool(getattr(value, "free_symbols", None))
