"""Mangled specs never crash the linter or its fixes: every problem is a finding, never a traceback."""

from __future__ import annotations

from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from archcalc.lint.engine import fix_source, lint_source
from archcalc.lint.registry import RULES

SOURCES = [p.read_text(encoding="utf-8") for p in sorted((Path(__file__).parent / "fixtures").glob("*.yaml"))]
PIECES = ["1", "0", "-", " ", "#", ":", "[", "]", "{", "}", "x", "  # archcalc: disable=A101", "2.5", "relu",
          "\n  - linear: 3", "\n", "bias: false", "&a", "*a"]


@st.composite
def mangled(draw) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 3))):
        lines = text.splitlines(keepends=True)
        action = draw(st.sampled_from(["drop", "copy", "insert"]))
        if action == "drop" and lines:
            del lines[draw(st.integers(0, len(lines) - 1))]
            text = "".join(lines)
        elif action == "copy" and lines:
            lines.insert(draw(st.integers(0, len(lines))), lines[draw(st.integers(0, len(lines) - 1))])
            text = "".join(lines)
        else:
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(PIECES)) + text[at:]
    return text


@settings(max_examples=150, deadline=None)
@given(mangled())
def test_lint_and_fix_never_crash(text):
    result = lint_source(text, "m.yaml", set(RULES))
    assert all(d.loc.line >= 1 and d.loc.col >= 1 for d in result.diagnostics)
    fixed = fix_source(text, "m.yaml", set(RULES))
    if result.built:
        assert fixed.built  # a fix never breaks a spec that loaded
        assert not [d for d in fixed.diagnostics if d.fix is not None and d.code == "N105"]
