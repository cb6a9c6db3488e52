"""Which free H and W make every window tile its input exactly (``archcalc shapes`` with free sizes)."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.calc.tiling import tilings
from archcalc.lint import lint
from tests.conftest import SPECS


def _found(spec: str, **kwargs) -> dict[str, tuple[int, tuple[int, ...], tuple[int, ...]]]:
    model = archcalc.loads(spec, **kwargs)
    return {t.symbol: (t.period, t.exact, t.lossless) for t in tilings(model.graph)}


def test_two_halvings_want_a_multiple_of_four():
    model = archcalc.load(str(SPECS / "symbolic-cnn.yaml"))
    (h, w) = tilings(model.graph)
    assert (h.symbol, h.axis, h.period, h.exact, h.lossless) == ("H", "H", 4, (0,), (0,))
    assert (w.symbol, w.axis, w.period) == ("W", "W", 4)
    assert h.sentence() == "every window tiles H exactly when H is a multiple of 4; other values drop input rows"
    assert w.sentence() == "every window tiles W exactly when W is a multiple of 4; other values drop input columns"


def test_resnet50_tiles_exactly_only_at_one_residue_and_never_loses_a_pixel():
    model = archcalc.load(str(SPECS / "resnet50.yaml"), symbolic_dims=True)
    (h, w) = tilings(model.graph)
    assert (h.period, h.exact, h.lossless) == (32, (1,), tuple(range(32))) == (w.period, w.exact, w.lossless)
    assert h.sentence() == ("every window tiles H exactly when H ≡ 1 (mod 32), e.g. 225; other values drop "
                            "only padding")


@pytest.mark.parametrize(("layer", "expected"), [
    # (S + 2·1 − 3) mod 2: odd S exact, even S leave one row of padding unread
    ("conv2d: {out: 4, kernel: 3, stride: 2, padding: 1}", (2, (1,), (0, 1))),
    # no padding: even S lose a real row
    ("conv2d: {out: 4, kernel: 3, stride: 2}", (2, (1,), (1,))),
    # (S − 3) mod 4 ≤ 1 keeps every real row
    ("conv2d: {out: 4, kernel: 5, stride: 4, padding: 1}", (4, (3,), (0, 3))),
    # 'same' (stride 1) covers its input even with an even kernel's uneven padding
    ("conv2d: {out: 4, kernel: 4, padding: same}\n  - maxpool2d: {kernel: 2}", (2, (0,), (0,))),
    # ceil_mode pools a last partial window: lossless, exact only when it is whole
    ("maxpool2d: {kernel: 2, ceil_mode: true}", (2, (0,), (0, 1))),
    # stride 1 divides everything: nothing to say
    ("conv2d: {out: 4, kernel: 3}", None),
    # a kernel smaller than its stride skips inputs by design and is not judged
    ("maxpool2d: {kernel: 1, stride: 2}", (2, (0, 1), (0, 1))),
])
def test_one_layer(layer, expected):
    found = _found(f"input: [3, S, S]\nlayers:\n  - {layer}\n")
    assert found.get("S") == expected


def test_the_answer_agrees_with_the_lint_rule_on_concrete_sizes():
    """G101 reports real rows dropped at one concrete size: exactly the sizes outside ``lossless`` (for a network of
    convolutions: G101 leaves pools alone, while the tiling note counts what they drop too)."""
    spec = ("input: [3, S, S]\nlayers:\n  - conv2d: {out: 4, kernel: 5, stride: 4, padding: 1}\n"
            "  - conv2d: {out: 4, kernel: 3, stride: 3}\n")
    ((period, exact, lossless),) = _found(spec).values()
    assert (period, exact, lossless) == (12, (11,), (0, 11))  # S = 4q+3 with q+1 ≡ 0 (mod 3); or S = 4q, q ≡ 0
    for size in range(60, 84):
        concrete = spec.replace("S, S", f"{size}, {size}")
        findings = lint(concrete, select=["G101"]).diagnostics
        assert (not findings) == (size % period in lossless), (size, findings)


def test_a_symbol_for_both_axes_and_one_that_is_not_spatial():
    spec = "input: [C, S, S]\nlayers:\n  - conv2d: {out: 4, kernel: 5, stride: 4, padding: 1}\n"
    model = archcalc.loads(spec)
    (only,) = tilings(model.graph)
    assert (only.symbol, only.axis) == ("S", "HW")
    assert only.sentence() == ("every window tiles S exactly when S ≡ 3 (mod 4), e.g. 223; no input row or "
                               "column is dropped when S ≡ 0, 3 (mod 4), e.g. 224")


def test_given_values_stay_given_and_vectors_say_nothing():
    assert _found("input: [3, 32, W]\nlayers:\n  - maxpool2d: {kernel: 2}\n") == {"W": (2, (0,), (0,))}
    assert _found("input: [D]\nlayers:\n  - linear: 4\n") == {}


def test_the_shapes_command_says_it_and_json_carries_it(run, write):
    spec = write("input: [3, H, W]\nlayers:\n  - conv2d: {out: 4, kernel: 3, stride: 2}\n")
    result = run("shapes", spec, "--set", "W=33")
    assert result.exit_code == 0
    assert "note: every window tiles H exactly when H ≡ 1 (mod 2), e.g. 225; other values\n" in result.stdout
    data = json.loads(run("shapes", spec, "--set", "W=33", "--format", "json").stdout)
    assert data["tilings"] == [{"symbol": "H", "axis": "H", "period": 2, "exact": [1], "lossless": [1]}]
    concrete = json.loads(run("shapes", spec, "--set", "H=33", "--set", "W=33", "--format", "json").stdout)
    assert "tilings" not in concrete


def test_a_long_network_with_a_large_total_stride_is_not_analysed():
    """256 residues × 1,008 layers would be 258,048 layers built: over the budget, so no note."""
    spec = "input: [3, H, H]\nlayers:\n  - repeat: 8\n    layers: [maxpool2d: 2]\n  - repeat: 1000\n" \
           "    layers: [relu]\n"
    assert _found(spec) == {}
    assert _found(spec.replace("repeat: 1000", "repeat: 100")) == {"H": (256, (0,), (0,))}
