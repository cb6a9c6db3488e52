"""Every integer archcalc can print is printable, or refused first with a located error (issue 20).

Python refuses to print an integer of more than 4,300 digits (``ValueError: Exceeds the limit``), and a
float holds at most about 1.8e308. Sizes are bounded by ``max_int`` (itself at most 2**256), every concrete
tensor's element count too, option values by 10**1000 (the plan's by 2**62, since it divides them as
floats): so every count a report multiplies from them stays printable.
"""

from __future__ import annotations

import pytest

NINES = "9" * 4000
ALL = ("params", "shapes", "summary", "flops", "diagram", "lint")


def test_a_max_int_past_the_ceiling_is_refused(run, write):
    path = write("input: [8]\nlayers:\n  - linear: {out: 2**13000}\n  - linear: {out: 2**13000}\n")
    result = run("params", path, env={"ARCHCALC_LIMITS": f"max_int={NINES}"})
    assert result.exit_code == 2
    assert "ARCHCALC_LIMITS: 'max_int=99999999999999999999… (4,000 digits)': at most 2**256" in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.parametrize("command", ALL)
def test_at_the_ceiling_every_count_prints_or_is_a_located_error(run, write, command):
    ceiling = str(2**256)
    wide = write("input: [1]\nlayers:\n  - linear: {out: 2**254}\n  - linear: {out: 1}\n", "wide.yaml")
    result = run(command, wide, "--limit", f"max_int={ceiling}")
    assert result.exit_code in (0, 1), result.output  # lint may find something; it prints it
    if command == "params":
        assert f"{2**255 + 2**254 + 1:,}" in result.stdout.replace("\n", "").replace(" ", "")
    path = write("input: [8]\nlayers:\n  - linear: {out: 2**255}\n  - linear: {out: 2**255}\n", "x.yaml")
    result = run(command, path, "--limit", f"max_int={ceiling}")
    assert "internal error" not in result.output
    if command == "lint":
        assert result.exit_code == 1 and "E004 [resource-limit]" in result.stdout
    else:
        assert result.exit_code == 2
        assert result.stderr.startswith(f"{path}:3:5: error: linear: 5.21e77 parameters are past the integer limit")


def test_an_expression_past_the_limit_is_refused_before_it_is_computed(run, write):
    path = write("input: [8]\nlayers:\n  - linear: {out: 2**13000}\n", "x.yaml")
    result = run("params", path, "--limit", f"max_int={2**256}")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:3:19: error: '2**13000' is too large\n")


def test_a_tensor_of_more_elements_than_max_int_is_refused(run, write):
    dims = ", ".join(["2**62"] * 250)  # 4,666 digits of elements: past what Python prints
    path = write(f"input: [{dims}]\nlayers:\n  - relu\n", "x.yaml")
    for command in ALL[:4]:
        result = run(command, path)
        assert result.exit_code == 2, command
        assert result.stderr.startswith(f"{path}:1:8: error: the input holds 9.22e4665 elements, past the integer "
                                        "limit\n")


@pytest.mark.parametrize("args, message", [
    (("flops", "--batch-size", NINES), "error: --batch-size 99999999999999999999… (4,000 digits): too large\n"
                                       "  hint: give a whole number of at most 1,000 digits\n"),
    (("summary", "--batch-size", NINES), "error: --batch-size 99999999999999999999… (4,000 digits): too large\n"),
    (("plan", "--batch", str(10**25)), "error: --batch 10000000000000000000… (26 digits): too large\n"
                                       "  hint: give a whole number up to 4,611,686,018,427,387,904\n"),
    (("plan", "--batch", "2", "--dp", str(2**62 + 1)), "error: --dp 4611686018427387905: too large\n"),
    (("train", "--epochs", NINES), "error: --epochs 99999999999999999999… (4,000 digits): too large\n"),
])
def test_huge_option_values_are_refused_before_they_are_multiplied(run, args, message):
    from tests.conftest import SPECS

    command, *rest = args
    result = run(command, SPECS / "symbolic-cnn.yaml", "--set", "H=32,W=32", *rest)
    assert result.exit_code == 2
    assert result.stderr.startswith(message), result.stderr
