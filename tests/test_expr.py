"""Arithmetic in spec arguments: exact values, and every failure a located error (never a traceback)."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import symbolic
from archcalc.errors import Loc, SpecError
from archcalc.limits import Limits
from archcalc.spec.expr import evaluate, parse_expr


def value(text: str, **env: object) -> object:
    return evaluate(parse_expr(text, Loc("x.yaml", 1, 1)), env)


def refusal(text: str, **env: object) -> SpecError:
    with pytest.raises(SpecError) as error:
        value(text, **env)
    return error.value


@pytest.mark.parametrize("text, expected", [
    ("2**32 // 2**28", 16),
    ("1**100", 1),
    ("0**100", 0),
    ("(-1)**(2**62)", 1),
    ("(-1)**(2**62 - 1)", -1),
    ("2**62", 2**62),
    ("4**31", 2**62),
    ("(-2)**61", -(2**61)),
    ("3**39", 3**39),
    ("2**-3", 0.125),
    ("10**-30", 1e-30),
    ("2**-(2**62)", 0.0),
    ("0**0", 1),
    ("2.0**0.5", 2**0.5),
])
def test_powers_are_computed_whenever_the_result_fits(text, expected):
    assert value(text) == expected
    assert type(value(text)) is type(expected)


@pytest.mark.parametrize("text", ["2**63", "4**32", "3**40", "(-2)**63", "2**(2**62)", "10**18 * 10**18",
                                  "1e10**64", "1e300**2.0", "1e308*10", "1e308 // 1e-308", "1e999"])
def test_results_beyond_the_limits_are_resource_errors(text):
    error = refusal(text)
    assert (error.code, error.message) == ("resource-limit", f"'{text}' is too large")
    assert error.hint == "integers are limited to ±4,611,686,018,427,387,904, decimal numbers to about ±1.8e308"


def test_a_raised_limit_still_bounds_floats_made_from_huge_integers():
    limits = Limits(max_int=10**400)
    expr = parse_expr("10**400 / 3", Loc("x.yaml", 1, 1), limits)
    with pytest.raises(SpecError) as error:
        evaluate(expr, {}, limits)
    assert error.value.code == "resource-limit"


@pytest.mark.parametrize("text, message", [
    ("H // 2.0", "'H // 2.0' mixes a decimal number with a symbol"),
    ("H / 2.0", "'H / 2.0' mixes a decimal number with a symbol"),
    ("0.5 * H", "'0.5 * H' mixes a decimal number with a symbol"),
    ("H + 1.0", "'H + 1.0' mixes a decimal number with a symbol"),
    ("H**2.0", "'H**2.0' mixes a decimal number with a symbol"),
    ("(-8)**0.5", "'(-8)**0.5' is not a real number"),
    ("0**-1", "'0**-1' raises 0 to a negative power"),
    ("1 // (H - H)", "division by zero in '1 // (H - H)'"),
    ("2**H", "the exponent in '2**H' must be an integer"),
])
def test_arithmetic_that_cannot_be_done_is_a_bad_expression(text, message):
    error = refusal(text, H=symbolic.symbol("H"))
    assert (error.code, error.message) == ("bad-expression", message)


def test_a_symbol_cancelled_out_leaves_a_plain_number():
    assert value("H - H + 0.5", H=symbolic.symbol("H")) == 0.5
    assert type(value("H - H", H=symbolic.symbol("H"))) is int


def test_a_symbol_to_a_power_beyond_64_is_refused():
    h = symbolic.symbol("H")
    assert value("H**64", H=h) == h**64
    assert refusal("H**65", H=h).code == "resource-limit"


@pytest.mark.parametrize("spec, col, message", [
    ("input: [3]\nlayers:\n  - dropout: {p: \"1e10**64\"}\n", 18, "'1e10**64' is too large"),
    ("input: [3]\nlayers:\n  - dropout: {p: \"1e300**2.0\"}\n", 18, "'1e300**2.0' is too large"),
    ("input: [3, H, H]\nlayers:\n  - conv2d: {out: 4, kernel: \"H // 2.0\"}\n", 30,
     "'H // 2.0' mixes a decimal number with a symbol"),
])
def test_the_cli_reports_failed_arithmetic_at_its_location(spec, col, message, run, write):
    path = write(spec)
    result = run("shapes", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == f"{path}:3:{col}: error: {message}"
    assert "Traceback" not in result.stderr


def test_legal_powers_build():
    model = archcalc.loads('input: [3]\nlayers:\n  - linear: "2**32 // 2**28"\n  - linear: "1**100"\n'
                           '  - dropout: "0**100"\n')
    assert [(n.out_shape, n.layer.config()) for n in model.graph.layers()] == [
        ((16,), {"out": 16, "bias": True, "in": None, "transposed": False, "tie": None}),
        ((1,), {"out": 1, "bias": True, "in": None, "transposed": False, "tie": None}),
        ((1,), {"p": 0.0})]


@pytest.mark.parametrize("text", ["3if 1 else 2", "1or 2", "0x1for", "2in c"])
def test_python_syntax_warnings_are_refusals_not_printed_warnings(text, run, write, recwarn):
    """``3if`` makes Python's parser print ``<unknown>:1: SyntaxWarning: invalid decimal literal`` to the
    user's terminal (found by the long fuzz profile); it is refused as unreadable, located, and nothing else
    is printed."""
    result = run("params", write(f"input: [4]\nlayers:\n  - linear: {{out: '{text}'}}\n"))
    assert result.exit_code == 2 and "SyntaxWarning" not in result.output, result.output
    assert not [w for w in recwarn if issubclass(w.category, SyntaxWarning)]
    assert ":3:" in result.stderr.splitlines()[0] and "error:" in result.stderr


@pytest.mark.parametrize(("text", "env", "expected"), [
    ("max(8, c // 8 * 8)", {"c": 30}, 24),
    ("max(8, c // 8 * 8)", {"c": 4}, 8),  # MobileNet's _make_divisible: never below its floor
    ("min(c, 2 * d, 100)", {"c": 64, "d": 20}, 40),
    ("max(1, min(c, 3)) + 1", {"c": 0}, 2),
])
def test_max_and_min_take_the_largest_and_the_smallest(text, env, expected):
    assert evaluate(parse_expr(text, Loc("x", 1, 1)), env) == expected


def test_max_stays_a_formula_only_where_the_order_depends_on_a_free_symbol():
    c = symbolic.symbol("c")
    assert evaluate(parse_expr("max(c, 0)", Loc("x", 1, 1)), {"c": c}) == c  # a size is at least 1
    assert str(evaluate(parse_expr("max(8, c)", Loc("x", 1, 1)), {"c": c})) == "Max(8, c)"
    assert parse_expr("max(8, c) + min(d, e)", Loc("x", 1, 1)).names == {"c", "d", "e"}  # max is no symbol


@pytest.mark.parametrize(("text", "message", "hint"), [
    ("max(c)", "max() in expression 'max(c)' takes two or more values, written out",
     "max(8, c // 2): the largest of them"),
    ("min(*c, 2)", "min() in expression 'min(*c, 2)' takes two or more values, written out",
     "min(8, c // 2): the smallest of them"),
    ("abs(c)", "a function call is not allowed in expression 'abs(c)'",
     "expressions may use only numbers, names, + - * / // **, max(…), min(…) and parentheses"),
])
def test_other_calls_are_refused_where_written(text, message, hint):
    with pytest.raises(SpecError) as caught:
        parse_expr(text, Loc("x", 1, 1))
    assert (caught.value.message, caught.value.hint) == (message, hint)
