"""The rule registry: one code table, checked at import; lookup and selection by code, prefix or name."""

from __future__ import annotations

import pkgutil

import pytest

from archcalc.lint import rules
from archcalc.lint.registry import BY_NAME, RULES, UnknownSelector, _load, find, select
from tests.conftest import ROOT


def test_the_catalogue():
    """Every module in rules/ has exactly one code, and the README states how many there are."""
    modules = {f"{rules.__name__}.{m.name}" for m in pkgutil.iter_modules(rules.__path__)}
    assert sorted(rule.module for rule in RULES.values()) == sorted(modules)
    assert len(RULES) == len(rules.CODES) >= 25
    assert f"check specs against {len(RULES)} rules:" in (ROOT / "README.md").read_text(encoding="utf-8")
    assert {rule.prefix for rule in RULES.values()} == {"E", "A", "N", "G", "S", "T", "M"}
    assert all(rule.severity == "error" for rule in RULES.values() if rule.prefix == "E")
    assert {code for code, rule in RULES.items() if rule.fixable} == {"N105", "M101"}
    assert {rule.scope for rule in RULES.values()} == {"core", "model", "comments"}
    assert len(BY_NAME) == len(RULES)


@pytest.mark.parametrize("table, message", [
    ((("A101", "linear_collapse"), ("A101", "high_dropout")), "A101 is assigned twice"),
    ((("A101", "linear_collapse"), ("A199", "linear_collapse")), "'linear-collapse' has two codes"),
    ((("A1011", "linear_collapse"),), "must be a capital letter and three digits"),
    ((("a101", "linear_collapse"),), "must be a capital letter and three digits"),
])
def test_a_broken_code_table_fails_at_import(table, message):
    with pytest.raises(RuntimeError, match=message):
        _load(table)


def test_find_by_code_in_any_case_and_by_name():
    assert find("N105") is find("n105") is find("bias-before-batchnorm") is RULES["N105"]
    assert find("N1") is None and find("bias") is None


def test_select():
    assert select(["N105"]) == {"N105"}
    assert select(["bias-before-batchnorm", "A101"]) == {"N105", "A101"}
    assert select(["E2"]) == {"E201", "E202", "E203", "E204", "E205", "E206"}
    assert select(["t"]) == {code for code in RULES if code.startswith("T")}
    assert select(["ALL"]) == select(["all"]) == set(RULES)
    assert select(["", " N102 "]) == {"N102"}
    for word in ("X", "N9", "N1055", "linear", "E2x"):
        with pytest.raises(UnknownSelector):
            select([word])
