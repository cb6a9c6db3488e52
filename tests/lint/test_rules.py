"""Every rule against its fixtures, its documented examples and its snapshot; and the catalogue's meta-tests.

For rule CODE, ``fixtures/CODE.yaml`` must trigger it (linted with every rule on) and
``fixtures/CODE.ok.yaml`` must lint clean with every rule on. ``snapshots/CODE.txt`` holds the exact
``--format full`` output for the triggering fixture; regenerate the snapshots after a deliberate
change with ``ARCHCALC_UPDATE_SNAPSHOTS=1 python -m pytest tests/lint/test_rules.py`` and review the diff.
"""

from __future__ import annotations

import ast
import os
import re
from pathlib import Path

import pytest

from archcalc.lint.engine import lint_source
from archcalc.lint.registry import DEFAULT, RULES
from archcalc.lint.rules import CODES, NOT_FINDINGS
from tests.conftest import ROOT

HERE = Path(__file__).parent
FIXTURES = HERE / "fixtures"
SNAPSHOTS = HERE / "snapshots"
ALL = set(RULES)
SECTIONS = ("## What it does", "## Why is this bad?", "## Example", "Use instead:", "## References")


def lint_fixture(run, name: str):
    cwd = os.getcwd()
    os.chdir(FIXTURES)
    try:
        return run("lint", "--select", "ALL", "--isolated", name)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("code", list(RULES))
def test_fixture_triggers_the_rule(code, run):
    result = lint_fixture(run, f"{code}.yaml")
    assert result.exit_code == 1, result.output
    codes = re.findall(r"^\S+:\d+:\d+: ([A-Z]\d{3}) ", result.stdout, re.M)
    assert code in codes
    assert set(codes) == {code}, "a fixture should trigger only its own rule"
    snapshot = SNAPSHOTS / f"{code}.txt"
    if os.environ.get("ARCHCALC_UPDATE_SNAPSHOTS"):
        snapshot.parent.mkdir(exist_ok=True)
        snapshot.write_text(result.stdout, encoding="utf-8")
    assert result.stdout == snapshot.read_text(encoding="utf-8")


@pytest.mark.parametrize("code", list(RULES))
def test_clean_fixture_passes_every_rule(code, run):
    result = lint_fixture(run, f"{code}.ok.yaml")
    assert result.exit_code == 0, result.output
    assert result.stdout == "All checks passed!\n"


def examples(doc: str) -> tuple[str, str]:
    """The bad spec under '## Example' and the good one under 'Use instead:'."""
    example = doc.split("## Example", 1)[1]
    bad, good = example.split("Use instead:", 1)
    block = re.compile(r"```yaml\n(.*?)```", re.S)
    return block.search(bad).group(1), block.search(good).group(1)


@pytest.mark.parametrize("code", list(RULES))
def test_documented_examples(code):
    bad, good = examples(RULES[code].doc)
    assert code in [d.code for d in lint_source(bad, "bad.yaml", DEFAULT | {code}).diagnostics]
    assert lint_source(good, "good.yaml", ALL).diagnostics == []


@pytest.mark.parametrize("code", list(RULES))
def test_rule_is_documented(code):
    rule = RULES[code]
    missing = [s for s in SECTIONS if s not in rule.doc]
    assert not missing, f"{code} ({rule.name}) lacks {missing}"
    positions = [rule.doc.index(s) for s in SECTIONS]
    assert positions == sorted(positions), "sections in the order What, Why, Example, Use instead, References"
    assert rule.summary.endswith("."), "the summary is one sentence"
    assert ("## Fix safety" in rule.doc) == rule.fixable
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.name)
    assert "shared/" not in rule.doc and "DIGEST" not in rule.doc, "cite what users can read"


def test_every_rule_has_its_fixtures_and_snapshot_and_nothing_else():
    expected = {f"{code}.yaml" for code in RULES} | {f"{code}.ok.yaml" for code in RULES}
    assert {p.name for p in FIXTURES.iterdir()} == expected
    assert {p.name for p in SNAPSHOTS.iterdir()} == {f"{code}.txt" for code in RULES}


def test_every_rule_module_is_in_the_code_table():
    modules = {p.stem for p in (ROOT / "src/archcalc/lint/rules").glob("*.py")} - {"__init__"}
    assert modules == {module for _, module in CODES}


def test_rule_modules_fit_on_a_screen():
    for path in (ROOT / "src/archcalc/lint/rules").glob("*.py"):
        assert len(path.read_text(encoding="utf-8").splitlines()) <= 150, path.name


CORE_CODE = re.compile(r"""\bcode(?:\s*:\s*str)?\s*=\s*["']([a-z0-9-]+)["']""")


def core_codes() -> set[str]:
    """Every error code the core can raise: ``code="..."`` (and defaults ``code: str = "..."``) in the source."""
    found = set()
    for path in (ROOT / "src/archcalc").rglob("*.py"):
        if "lint" not in path.relative_to(ROOT / "src/archcalc").parts:
            found |= set(CORE_CODE.findall(path.read_text(encoding="utf-8")))
    return found


def test_every_core_error_code_is_a_rule():
    codes = core_codes()
    assert {"yaml-syntax", "unknown-kind", "channel-mismatch", "residual-mismatch", "bad-momentum"} <= codes
    core_rules = {rule.name for rule in RULES.values() if rule.scope == "core"}
    missing = codes - core_rules - set(NOT_FINDINGS) - {"invalid-spec"}
    assert not missing, f"core error codes without a lint rule: {sorted(missing)}"
    assert set(NOT_FINDINGS) <= codes, "NOT_FINDINGS lists a code the core no longer raises"
    assert core_rules <= codes, f"rules for codes the core never raises: {sorted(core_rules - codes)}"


def test_the_default_error_code_is_never_raised():
    """SpecError's default code ('invalid-spec') has no rule, so every raise names its code."""
    calls = []
    for path in (ROOT / "src/archcalc").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "SpecError" \
                    and "code" not in {k.arg for k in node.keywords}:
                calls.append(f"{path.name}:{node.lineno}")
    assert calls == []
