"""``symbolic.equal``: a proof for shape formulas, so a spec that builds with H free builds at every H."""

from __future__ import annotations

import pytest

import archcalc
from archcalc import symbolic
from archcalc.errors import SpecError
from archcalc.symbolic import ceildiv, floordiv

H, W = symbolic.symbol("H"), symbolic.symbol("W")


@pytest.mark.parametrize("a, b", [
    (floordiv(floordiv(H + 1, 2) + 1, 2), floordiv(H + 3, 4)),
    (ceildiv(H - 2, 2) + 1, floordiv(H - 1, 2) + 1),  # ceil_mode pool 2/2 vs conv 3/2 padded 1
    (floordiv(2 * floordiv(H, 2) + 2, 4), floordiv(H + 2, 4)),  # a floor inside a floor
    (H * floordiv(H, 2) + floordiv(H + 1, 2) * H, H * H),
    (floordiv(H + W, 2) + floordiv(H + W + 1, 2), H + W),
])
def test_identities_are_proved(a, b):
    assert symbolic.equal(a, b)


@pytest.mark.parametrize("a, b, point", [
    (floordiv(H - 1, 1024) + 1, floordiv(H - 1, 2048) + 1, {"H": 2000}),
    (floordiv(H + 1, 5000), floordiv(H, 5000), {"H": 4999}),  # differs at one residue in 5000
    (floordiv(2 * floordiv(H, 7) + 3, 5), floordiv(2 * H + 21, 35), {"H": 27}),
    (floordiv(H + W, 2), floordiv(H, 2) + floordiv(W, 2), {"H": 1, "W": 1}),
    (H * floordiv(H, 2), floordiv(H * H, 2), {"H": 3}),
])
def test_differences_are_found(a, b, point):
    assert not symbolic.equal(a, b)
    assert symbolic.subs(a, point) != symbolic.subs(b, point)


def test_a_concat_that_fails_at_some_size_does_not_build_with_h_free(run, write):
    text = ("input: [3, H, H]\nlayers:\n  - concat:\n      - [conv2d: {out: 4, kernel: 1, stride: 1024}]\n"
            "      - [conv2d: {out: 4, kernel: 1, stride: 2048}]\n")
    with pytest.raises(SpecError) as error:
        archcalc.loads(text, H=2000)
    assert error.value.message.startswith("concat: branch 1 gives [4, 1, 1] but branch 0 gives [4, 2, 2]")
    path = write(text)
    result = run("shapes", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:5:9: error: concat: branch 1 gives [4, floor(H/2048 + 2047/2048), "
                                    "floor(H/2048 + 2047/2048)] but branch 0 gives [4, floor(H/1024 + 1023/1024), ")


def test_a_residual_whose_branches_agree_in_different_forms_builds():
    model = archcalc.loads("input: [8, H, H]\nlayers:\n  - residual:\n"
                           "      body: [conv2d: {out: 8, kernel: 3, stride: 2, padding: 1}]\n"
                           "      shortcut: [maxpool2d: {kernel: 2, stride: 2, ceil_mode: true}]\n")
    assert symbolic.fmt(model.output_shape[1]) == "floor(H/2 + 1/2)"
    assert archcalc.loads(model.spec.source, H=7).output_shape == (8, 4, 4)


def test_only_symbolic_py_imports_sympy():
    """Layers and calculators write each formula once with Python operators; sympy stays behind
    archcalc.symbolic (maximum, sums, floors), imported only when a symbol is free."""
    import ast
    from pathlib import Path

    src = Path(archcalc.__file__).parent
    importers = set()
    for path in src.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            if any(n == "sympy" or n.startswith("sympy.") for n in names):
                importers.add(path.relative_to(src).as_posix())
    assert importers == {"symbolic.py"}


def test_largest_keeps_a_max_only_where_the_order_depends_on_the_symbols():
    assert symbolic.largest([H, H + 1, H - 3]) == H + 1
    assert str(symbolic.largest([H, 5, 2])) == "Max(5, H)"
    assert symbolic.largest([3, 7.5, 5]) == 7.5


def test_a_sum_over_a_free_count_substitutes_to_the_concrete_sum():
    """Adaptive pooling's window reads with the output size k free equal, at k = 3 and H = 10, the
    reads of the concrete layer (windows [0, 4), [3, 7), [6, 10): 12 rows)."""
    free = archcalc.loads("input: [3, H, 10]\nsymbols: [k]\nlayers: [adaptive_avgpool2d: [k, 2]]\n")
    concrete = archcalc.loads("input: [3, 10, 10]\nlayers: [adaptive_avgpool2d: [3, 2]]\n")
    from archcalc.calc.flops import work

    reads = work(free.graph)[free.graph.root].pool
    assert reads.subs({symbolic.symbol("k"): 3, H: 10}).doit() == work(concrete.graph)[concrete.graph.root].pool
    assert work(concrete.graph)[concrete.graph.root].pool == 3 * 12 * 10


def test_the_docstring_examples_hold():
    import doctest

    assert doctest.testmod(symbolic).failed == 0


def test_auto_and_if_same_decide_only_what_holds_for_every_value(run, write):
    """A stride-2 body differs from its input at every size but 1: a projection. A body whose shape
    equals its input at some sizes and not others is an error that asks for values."""
    spec = write("input: [C, H, H]\nlayers:\n  - residual:\n      body: [conv2d: {out: C, kernel: 3, stride: 2, "
                 "padding: 1}]\n      shortcut: auto\n")
    model = archcalc.load(str(spec))
    (residual,) = model.graph.root.items
    assert residual.mode == "projection"
    assert run("params", spec).exit_code == 0
    tied = write("input: [C, 8, 8]\nlayers:\n  - residual:\n      body: [conv2d: {out: 16, kernel: 1}]\n"
                 "      shortcut: if_same\n")
    result = run("params", tied)
    assert result.exit_code == 2 and "that depends on the values of C" in result.stderr
    assert run("params", tied, "--set", "C=16").exit_code == 0
    assert archcalc.load(str(tied), C=16).graph.root.items[0].mode == "identity"
    assert archcalc.load(str(tied), C=3).graph.root.items[0].mode == "none"
