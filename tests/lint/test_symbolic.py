"""Rules on specs whose sizes are free symbols: they still run, or skip what depends on a symbol."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from archcalc.lint.engine import lint_source
from archcalc.lint.registry import RULES

FIXTURES = sorted((Path(__file__).parent / "fixtures").glob("*.yaml"))


def symbolic(text: str) -> str:
    """The fixture with its input's spatial sizes (or its feature count) made free symbols."""
    text = re.sub(r"^input: \[(\d+), \d+, \d+\]$", r"input: [\1, H, W]", text, flags=re.M)
    return re.sub(r"^input: \[(\d+)\]$", "input: [D]", text, flags=re.M)


@pytest.mark.parametrize("path", FIXTURES, ids=lambda p: p.name)
def test_every_rule_runs_on_the_symbolic_version_of_every_fixture(path):
    text = symbolic(path.read_text(encoding="utf-8"))
    result = lint_source(text, path.name, set(RULES))  # a crash of any rule fails here
    assert all(d.loc.line >= 1 for d in result.diagnostics)


def test_symbolic_findings_that_do_not_depend_on_sizes_are_kept():
    text = "input: [D]\nlayers: [linear: 8, linear: 3, dropout: 0.9]\n"
    codes = [d.code for d in lint_source(text, "x.yaml", set(RULES)).diagnostics]
    assert codes == ["A101", "N103", "N102"]  # N103 at the layer, N102 at its p value, further right


def test_size_dependent_rules_skip_free_sizes():
    text = ("input: [3, H, W]\n"
            "layers: [conv2d: {out: 8, kernel: 3, stride: 2}, relu, conv2d: {out: 8, kernel: 2, stride: 2}]\n")
    assert lint_source(text, "x.yaml", set(RULES)).diagnostics == []
    concrete = text.replace("input: [3, H, W]", "input: [3, 32, 32]")
    assert [d.code for d in lint_source(concrete, "x.yaml", set(RULES)).diagnostics] == ["G101", "G101"]
