"""Symbolic sizes are sizes: at least 1 for every value of the symbols, or the least values from which they are
stated; a size that falls as a symbol grows is a located error, never a silent formula (issue 20)."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.errors import SpecError
from tests.conftest import SPECS

HINT = ("  hint: a size must be at least 1 for every value of the symbols (docs/symbolic.md); write it so that it "
        "grows with them, or give them values with --set\n")


@pytest.mark.parametrize("layers, message", [
    ("  - linear: {out: 3 - H}\n", "3:5: error: linear: output size 3 - H is not positive for every value of H: "
                                   "at H = 3 it is 0\n"),
    ("  - linear: {out: 100 - 2*H}\n", "3:5: error: linear: output size 100 - 2*H is not positive for every value "
                                       "of H: at H = 50 it is 0\n"),
    ("  - linear: {out: H // 3 - H // 2 + 5}\n", "3:5: error: linear: output size floor(H/3) - floor(H/2) + 5 is "
                                                 "not positive for every value of H: at H = 26 it is 0\n"),
])
def test_a_size_that_is_not_positive_for_growing_symbols_is_an_error(run, write, layers, message):
    path = write("input: [H]\nlayers:\n" + layers, "x.yaml")
    for command in ("params", "shapes"):
        result = run(command, path)
        assert result.exit_code == 2
        assert result.stderr == f"{path}:{message}" + HINT
    result = run("lint", path, "--format", "concise")
    assert result.exit_code == 1 and "E203 [non-positive-size]" in result.stdout


def test_two_symbols_that_can_make_a_size_zero(run, write):
    path = write("input: [H, W]\nlayers:\n  - linear: {out: H - W}\n", "x.yaml")
    result = run("shapes", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:5: error: linear: output size H - W is not positive for every value of H, W: "
                             "at H = 1, W = 1 it is 0\n" + HINT)


def test_the_same_spec_with_values_that_make_sizes_builds(run, write):
    path = write("input: [H]\nlayers:\n  - linear: {out: 3 - H}\n", "x.yaml")
    result = run("params", path, "--set", "H=2", "--format", "json")
    assert result.exit_code == 0
    assert json.loads(result.stdout)["output_shape"] == [1]


def test_a_size_that_grows_states_where_it_starts_in_every_report(run, write):
    path = write("input: [3, H, W]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - maxpool2d: 2\n  - flatten\n"
                 "  - linear: 2\n", "x.yaml")
    result = run("shapes", path, "--format", "json")
    assert result.exit_code == 0
    data = json.loads(result.stdout)
    assert data["minimums"] == {"H": 4, "W": 4}
    note = "they hold where every size is at least 1: H ≥ 4 (maxpool2d at line 4); W ≥ 4 (maxpool2d at line 4)"
    for command in ("shapes", "params", "flops"):
        result = run(command, path, env={"COLUMNS": "400"})
        assert result.exit_code == 0 and note in result.stdout, command
    model = archcalc.load(str(path), symbolic_dims=True)
    assert {name: least for name, (least, _, _) in model.graph.minimums.items()} == {"H": 4, "W": 4}
    for h in (4, 5, 9):  # from the stated value on, every layer builds with positive sizes
        assert archcalc.load(str(path), H=h, W=h).output_shape == (2,)
    with pytest.raises(SpecError, match="would be 0"):
        archcalc.load(str(path), H=3, W=3)


@pytest.mark.parametrize("size, least", [("H - 2", 3), ("H // 2 - H // 3", 4), ("(H - 5)**2", 6), ("2*H - 7", 4),
                                         ("H - 1000000", 1000001)])
def test_the_least_value_after_every_zero_is_stated(write, size, least):
    model = archcalc.load(str(write(f"input: [H]\nlayers:\n  - linear: {{out: {size}}}\n")), symbolic_dims=True)
    assert model.graph.minimums["H"][0] == least
    assert archcalc.load(str(write(f"input: [H]\nlayers:\n  - linear: {{out: {size}}}\n")), H=least) \
        .output_shape[0] >= 1


def test_sizes_that_are_positive_everywhere_state_nothing(write):
    for layers in ("  - linear: {out: H + 2}\n", "  - linear: {out: H*H - 10*H + 26}\n",
                   "  - conv1d: {out: 4, kernel: 3, padding: 1}\n"):
        model = archcalc.load(str(write("input: [2, H]\nlayers:\n" + layers)), symbolic_dims=True)
        assert model.graph.minimums == {}


@pytest.mark.parametrize("spec", sorted(p.name for p in SPECS.glob("*.yaml")))
def test_the_shipped_specs_state_only_real_minimums(spec):
    """Every shipped spec with its symbols free: either no minimum, or one at which it builds and below which
    some layer has no positive size."""
    try:
        model = archcalc.load(str(SPECS / spec), symbolic_dims=True)
    except SpecError as error:
        # a transformer's depth must be given; the U-Net's skips join sizes (⌊H/8⌋ and 2·⌊H/16⌋) that are equal
        # only for H a multiple of 16 (of 4 for unet-shapes), which the spec says and a free H cannot promise
        assert "repeat count" in error.message or (spec in ("unet.yaml", "unet-shapes.yaml")
                                                   and "concat: branch" in error.message)
        return
    for name, (least, _, _) in model.graph.minimums.items():
        others = {s: 64 for s in model.graph.free if s != name}
        archcalc.load(str(SPECS / spec), **{name: least}, **others)
        with pytest.raises(SpecError):
            archcalc.load(str(SPECS / spec), **{name: least - 1}, **others)


def test_a_size_that_falls_as_a_symbol_outside_the_input_grows_states_its_largest_value(run, write):
    """A kernel K against a fixed 64×64 input: the sizes fall as K grows, so K is bounded above, and stated."""
    path = write("input: [1, H, W]\nsymbols: {H: 64, W: 64, K: null}\nlayers:\n"
                 "  - conv2d: {out: 1, kernel: K, padding: K // 2}\n  - conv2d: {out: 1, kernel: K, stride: 2}\n")
    result = run("shapes", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["maximums"] == {"K": 64}
    result = run("shapes", path, env={"COLUMNS": "400"})
    assert "they hold where every size is at least 1: K ≤ 64 (conv2d at line 5)" in result.stdout
    assert archcalc.load(str(path), K=64).output_shape == (1, 1, 1)
    with pytest.raises(SpecError, match="would be 0"):
        archcalc.load(str(path), K=65)
