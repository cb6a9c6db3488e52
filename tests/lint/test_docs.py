"""docs/lint.md carries the rule table and reference generated from the registry, so it cannot drift."""

from __future__ import annotations

from archcalc.lint import docs
from archcalc.lint.registry import RULES
from tests.conftest import ROOT


def test_docs_lint_md_is_up_to_date():
    text = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    assert docs.update(text) == text, "run: python -m archcalc.lint.docs docs/lint.md"
    for code, rule in RULES.items():
        assert f"| [{code}](#{code.lower()}) | `{rule.name}` |" in text
        assert f"#### {code}\n" in text


def test_readme_links_the_lint_docs_and_shows_the_hook():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "docs/lint.md" in readme
    assert "id: archcalc-lint" in readme
    hooks = (ROOT / ".pre-commit-hooks.yaml").read_text(encoding="utf-8")
    assert "- id: archcalc-lint" in hooks and "types: [yaml]" in hooks


def test_update_replaces_only_the_generated_part():
    text = f"intro\n{docs.BEGIN}\nOUT-OF-DATE\n{docs.END}\noutro\n"
    new = docs.update(text)
    assert new.startswith("intro\n" + docs.BEGIN) and new.endswith(docs.END + "\noutro\n")
    assert "OUT-OF-DATE" not in new and "| [N105](#n105) | `bias-before-batchnorm` |" in new


def test_the_default_selection_names_every_rule_it_leaves_out():
    text = (ROOT / "docs" / "lint.md").read_text(encoding="utf-8")
    off = ", ".join(f"`{code}`" for code in sorted(code for code, rule in RULES.items() if not rule.default))
    assert f"The default selection is every rule except the informational ones ({off})," in text
