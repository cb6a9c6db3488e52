"""The output formats, exactly; SARIF validated against the official SARIF 2.1.0 schema."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import jsonschema
import pytest

from archcalc import __version__
from archcalc.lint.registry import RULES

SCHEMA = Path(__file__).parent.parent / "data" / "sarif-schema-2.1.0.json"
SPEC = """\
input: [3, 6, 6]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1}
  - batchnorm2d
  - relu
  - global_avgpool2d
  - linear: 8
  - linear: 2
"""


@pytest.fixture
def spec(tmp_path):
    path = tmp_path / "net,1.yaml"  # a comma, to test escaping
    path.write_text(SPEC)
    return path


def test_concise(run, spec):
    result = run("lint", spec, "--extend-select", "N105", "--format", "concise")
    assert result.stdout.splitlines() == [
        f"{spec}:3:5: N105 [bias-before-batchnorm] `0` (conv2d) has a bias that `1` (batchnorm2d) right after it "
        "cancels: 16 wasted parameters",
        f"{spec}:7:5: A101 [linear-collapse] `4` (linear) feeds `5` (linear) with no activation between them: "
        "together they compute one linear map (16→2: one layer of (16×2)+2 = 34 parameters does what these 154 do)",
        "Found 2 findings (1 warning, 1 info) in 1 file.",
        "[*] 1 fixable with --fix.",
    ]


def test_full_shows_source_caret_hint_and_fix(run, spec):
    result = run("lint", spec, "--extend-select", "N105")
    assert result.stdout.split("\n\n")[0].splitlines() == [
        f"{spec}:3:5: N105 [bias-before-batchnorm] `0` (conv2d) has a bias that `1` (batchnorm2d) right after it "
        "cancels: 16 wasted parameters",
        "  |",
        "3 |   - conv2d: {out: 16, kernel: 3, padding: 1}",
        "  |     ^^^^^^",
        "  = hint: set bias: false (the batch norm's shift β takes its place)",
        "  = fix: set bias: false (safe: archcalc lint --fix)",
    ]


def test_json(run, spec):
    rows = json.loads(run("lint", spec, "--extend-select", "N105", "--format", "json").stdout)
    assert rows[0] == {
        "code": "N105", "name": "bias-before-batchnorm", "severity": "info",
        "message": "`0` (conv2d) has a bias that `1` (batchnorm2d) right after it cancels: 16 wasted parameters",
        "hint": "set bias: false (the batch norm's shift β takes its place)", "notes": [], "filename": str(spec),
        "location": {"row": 3, "column": 5}, "end_location": {"row": 3, "column": 11},
        "fix": {"applicability": "safe", "message": "set bias: false",
                "edits": [{"content": ", bias: false", "location": {"row": 3, "column": 44},
                           "end_location": {"row": 3, "column": 44}}]},
    }
    assert rows[1]["code"] == "A101" and rows[1]["fix"] is None
    assert json.loads(run("lint", "-", "--format", "json", input="input: [2]\nlayers: [relu]\n").stdout) == []


def test_github_annotations_escape_properties_and_data(run, spec):
    lines = run("lint", spec, "--extend-select", "N105", "--format", "github").stdout.splitlines()
    file = str(spec).replace(",", "%2C").replace(":", "%3A")
    assert lines[0] == (f"::notice title=archcalc N105 [bias-before-batchnorm],file={file},line=3,col=5,endLine=3,"
                        "endColumn=11::`0` (conv2d) has a bias that `1` (batchnorm2d) right after it cancels: "
                        "16 wasted parameters%0Ahint: set bias: false (the batch norm's shift β takes its place)")
    assert len(lines) == 2
    error = run("lint", "-", "--format", "github", input="input: [2]\nlayers: [lineer]\n").stdout
    assert error.startswith("::error title=archcalc E105 [unknown-kind],file=<stdin>,line=2,col=10,")


def sarif_validator():
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def test_the_vendored_schema_is_the_official_one():
    digest = hashlib.sha256(SCHEMA.read_bytes()).hexdigest()
    assert digest == "c3b4bb2d6093897483348925aaa73af03b3e3f4bd4ca38cef26dcb4212a2682e"
    assert json.loads(SCHEMA.read_text())["id"].endswith("/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json")


def test_sarif_is_valid_and_complete(run, spec, tmp_path):
    other = tmp_path / "broken.yaml"
    other.write_text("input: [2]\nlayers: [lineer]\n# archcalc: disable=A101\n")
    log = json.loads(run("lint", spec, other, "--select", "ALL", "--format", "sarif").stdout)
    sarif_validator().validate(log)
    run_ = log["runs"][0]
    assert log["version"] == "2.1.0"
    assert run_["tool"]["driver"]["name"] == "archcalc" and run_["tool"]["driver"]["version"] == __version__
    rules = run_["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["A101", "E105", "N105"]
    assert rules[2]["name"] == "bias-before-batchnorm"
    assert rules[2]["fullDescription"]["text"] == RULES["N105"].doc
    results = run_["results"]
    assert [(r["ruleId"], rules[r["ruleIndex"]]["id"], r["level"]) for r in results] == [
        ("N105", "N105", "note"), ("A101", "A101", "warning"), ("E105", "E105", "error")]
    region = results[0]["locations"][0]["physicalLocation"]["region"]
    assert region == {"startLine": 3, "startColumn": 5, "endLine": 3, "endColumn": 11}
    assert results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"].endswith("net%2C1.yaml")
    replacement = results[0]["fixes"][0]["artifactChanges"][0]["replacements"][0]
    assert replacement["insertedContent"]["text"] == ", bias: false"


def test_sarif_without_findings_and_for_every_rule_is_valid(run, tmp_path):
    validator = sarif_validator()
    empty = json.loads(run("lint", "-", "--format", "sarif", input="input: [2]\nlayers: [relu]\n").stdout)
    validator.validate(empty)
    assert empty["runs"][0]["results"] == [] and empty["runs"][0]["tool"]["driver"]["rules"] == []
    fixtures = sorted((Path(__file__).parent / "fixtures").glob("[A-Z][0-9][0-9][0-9].yaml"))
    every = json.loads(run("lint", "--select", "ALL", "--isolated", "--format", "sarif", *fixtures).stdout)
    validator.validate(every)
    assert {r["id"] for r in every["runs"][0]["tool"]["driver"]["rules"]} == set(RULES)


def test_sarif_refuses_what_the_schema_refuses():
    """The validator is real: a log with a bad level fails."""
    bad = {"version": "2.1.0", "runs": [{"tool": {"driver": {"name": "archcalc"}},
                                         "results": [{"message": {"text": "x"}, "level": "fatal"}]}]}
    with pytest.raises(jsonschema.ValidationError):
        sarif_validator().validate(bad)


def test_text_formats_colour_only_on_request(spec):
    import click

    from archcalc.lint import lint
    from archcalc.lint.formats import render

    result = lint(spec.read_text(), str(spec))
    for fmt in ("full", "concise"):
        plain, colored = render(fmt, [result]), render(fmt, [result], color=True)
        assert "\x1b[" not in plain and "\x1b[33m" in colored
        assert click.unstyle(colored) == plain
