"""Inline suppression comments: where they apply, what they accept, and when they are unused."""

from __future__ import annotations

from archcalc.lint import lint

HEAD = "input: [50]\nlayers:\n"


def findings(text: str, select=None) -> list[tuple[int, str]]:
    return [(d.loc.line, d.code) for d in lint(text, "spec.yaml", select).diagnostics]


def test_a_trailing_comment_suppresses_its_own_line_only():
    text = HEAD + "  - linear: 30\n  - linear: 30  # archcalc: disable=A101\n  - linear: 3\n"
    assert findings(text) == [(3, "A101")]


def test_a_comment_alone_suppresses_the_next_line_with_yaml():
    text = HEAD + "  # archcalc: disable=A101 -- a deliberate low-rank factorisation\n\n" \
        "  # another comment\n  - linear: 30\n  - linear: 3\n"
    assert findings(text) == []


def test_names_several_codes_and_spacing():
    text = HEAD + ("  - linear: 30\n  - relu\n"
                   "  #archcalc:disable = linear-collapse , N105\n"
                   "  - linear: 30\n  - batchnorm1d\n"
                   "  - dropout: 0.9  # archcalc: disable=high-dropout\n  - linear: 3\n")
    assert findings(text) == []
    assert findings(text.replace(" , N105", ""), ["A", "N", "M"]) == [(6, "N105")]  # N105 is informational


def test_disable_file_anywhere():
    text = HEAD + "  - linear: 30\n  - linear: 30\n  - linear: 3\n# archcalc: disable-file=A101\n"
    assert findings(text) == []


def test_a_directive_inside_a_string_is_not_a_comment():
    text = 'description: "see # archcalc: disable=A101"\n' + HEAD + "  - linear: 30\n  - linear: 3\n"
    assert findings(text) == [(4, "A101")]
    single = "description: 'x # archcalc: disable=A101'\n" + HEAD + "  - linear: 30\n  - linear: 3\n"
    assert findings(single) == [(4, "A101")]


def test_a_suppression_in_a_block_body_covers_every_use():
    text = ("input: [8]\nblocks:\n  pair(c):\n    - linear: c  # archcalc: disable=A101\n    - linear: c\n"
            "layers:\n  - pair: 8\n  - relu\n  - pair: 8\n")
    assert findings(text) == []
    assert findings(text.replace("  # archcalc: disable=A101", "")) == [(4, "A101")]


def test_unused_suppressions_are_reported_with_the_reason():
    text = HEAD + "  - linear: 30  # archcalc: disable=A101\n  - relu\n  - linear: 3  # archcalc: disable=N102\n"
    result = lint(text, "spec.yaml", ["A", "M"])  # N102 is on by default: this configuration turns it off
    assert [(d.loc.line, d.loc.col, d.code, d.message) for d in result.diagnostics] == [
        (3, 37, "M101", "unused suppression: no A101 finding on line 3"),
        (5, 36, "M101", "unused suppression: N102 is not enabled"),
    ]
    assert result.diagnostics[1].fix is None  # a code that is only not enabled here is kept


def test_an_opt_in_rules_suppression_waits_for_the_runs_that_select_it():
    """G101 (informational, off by default) is suppressed on a convolution that drops a row: the
    default run says nothing of the comment, --select ALL uses it, and without it reports G101."""
    text = ("input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 8, kernel: 4, stride: 3}  # archcalc: disable=G101\n"
            "  - relu\n")
    assert findings(text) == []
    assert findings(text, ["ALL"]) == []
    assert findings(text.replace("  # archcalc: disable=G101", ""), ["ALL"]) == [(3, "G101")]
    assert findings(text.replace("kernel: 4, stride: 3", "kernel: 3, padding: 1"), ["ALL"]) == [(3, "M101")]


def test_unused_suppression_can_be_turned_off_or_suppressed_for_the_file():
    text = HEAD + "  - linear: 30  # archcalc: disable=A101\n  - relu\n  - linear: 3\n"
    assert findings(text, ["A"]) == []
    assert findings(text + "# archcalc: disable-file=M101\n") == []


def test_a_spec_that_does_not_build_reports_no_unused_suppression():
    text = HEAD + "  - linear: 30  # archcalc: disable=A101\n  - lineer: 3\n"
    assert findings(text) == [(4, "E105")]


def test_core_errors_cannot_be_suppressed_and_the_comment_is_reported():
    """A spec that does not build is checked by no other rule: silencing its error would make it pass."""
    text = HEAD + "  - linear: 30\n  - linear: 3\n  - lineer: 3  # archcalc: disable=E105, A101\n"
    result = lint(text, "spec.yaml")
    assert [(d.loc.line, d.code) for d in result.diagnostics] == [(5, "E105"), (5, "M101")]
    assert result.diagnostics[1].message == "unused suppression: E105 is a core error, which cannot be suppressed"
    assert findings(text.replace("disable=", "disable-file="), ["E"]) == [(5, "E105")]
    for comment in ("# archcalc: disable=unknown-kind", "# archcalc: disable-file=E1"):
        assert findings(text.replace("# archcalc: disable=E105, A101", comment)) == [(5, "E105"), (5, "M101")]


def test_a_core_error_suppressed_in_a_spec_that_builds_is_reported_and_fixed():
    from archcalc.lint.engine import fix_source
    from archcalc.lint.registry import DEFAULT

    text = HEAD + "  - linear: 30  # archcalc: disable=E203, A101\n  - relu\n  - linear: 3\n"
    assert findings(text) == [(3, "M101")]
    assert fix_source(text, "spec.yaml", DEFAULT).source == HEAD + "  - linear: 30\n  - relu\n  - linear: 3\n"
