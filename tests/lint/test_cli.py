"""``archcalc lint``, ``rule`` and ``rules`` through the real CLI: paths, selection, exit codes, output."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from archcalc.lint.registry import DEFAULT, RULES
from tests.conftest import SPECS, archcalc_process, shipped_specs

COLLAPSE = "input: [5]\nlayers: [linear: 3, linear: 2]\n"
CLEAN = "input: [5]\nlayers: [linear: 3, relu, linear: 2]\n"


@pytest.mark.parametrize("select", [[], ["--select", "ALL"]], ids=["default", "ALL"])
def test_shipped_specs_lint_clean_with_the_default_rules_and_every_rule(run, select):
    result = run("lint", *select, SPECS)
    assert result.exit_code == 0, result.output
    assert result.stdout == "All checks passed!\n"


def test_the_vgg16_bn_suppression_is_justified_and_used(run):
    text = (SPECS / "vgg16_bn.yaml").read_text()
    assert "# archcalc: disable=N105 -- " in text
    result = run("lint", "--select", "ALL", "--format", "concise", SPECS / "vgg16_bn.yaml", "--isolated")
    assert result.exit_code == 0
    stripped = text.replace("# archcalc: disable=N105", "# (suppression removed)")
    assert "N105 [bias-before-batchnorm]" in _lint_text(run, stripped, "--select", "ALL").stdout


def _lint_text(run, text: str, *args: str):
    return run("lint", "-", "--format", "concise", "--isolated", *args, input=text)


def test_finding_line_format_and_exit_code(write, run):
    path = write(COLLAPSE, "mlp.yaml")
    result = run("lint", path, "--format", "concise")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == [
        f"{path}:2:10: A101 [linear-collapse] `0` (linear) feeds `1` (linear) with no activation between them: "
        "together they compute one linear map (5→2: one layer of (5×2)+2 = 12 parameters does what these 26 do)",
        "Found 1 finding (1 warning) in 1 file.",
    ]


def test_clean_exit_zero_and_exit_zero_flag(write, run):
    assert run("lint", write(CLEAN)).exit_code == 0
    result = run("lint", write(COLLAPSE), "--exit-zero")
    assert result.exit_code == 0
    assert "A101" in result.stdout


def test_yaml_syntax_error_is_a_finding_not_a_usage_error(write, run):
    result = run("lint", write("input: [5\nlayers: []\n"), "--format", "concise")
    assert result.exit_code == 1
    assert "E001 [yaml-syntax]" in result.stdout


@pytest.mark.parametrize("setup, message", [
    (lambda tmp: tmp / "missing.yaml", "no such file or folder"),
    (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "folder holds no YAML specs"),
    (lambda tmp: str(tmp / "nothing-*.yaml"), "glob matches no YAML specs"),
    (lambda tmp: (tmp / "b.yaml").write_bytes(b"\x00\x01binary") and tmp / "b.yaml", "binary file"),
    (lambda tmp: (tmp / "l.yaml").write_bytes(b"input: [5]\n# caf\xe9\n") and tmp / "l.yaml", "not UTF-8 text"),
])
def test_unusable_input_exits_2_and_lints_the_rest(tmp_path, run, setup, message):
    bad = setup(tmp_path)
    good = tmp_path / "good.yaml"
    good.write_text(COLLAPSE)
    result = run("lint", bad, good, "--format", "concise")
    assert result.exit_code == 2
    assert message in result.stderr
    assert "A101" in result.stdout  # the readable file was still linted


def test_usage_errors_exit_2(run, write):
    path = write(CLEAN)
    for args in (["--select", "X999"], ["--ignore", "no-such-rule"], ["--format", "xml"], []):
        result = run("lint", *args, *([path] if args else []))
        assert result.exit_code == 2, args
    assert "did you mean 'bias-before-batchnorm'?" in run("lint", path, "--select", "bias-before-batchnrom").stderr


def test_folders_recurse_skip_hidden_and_globs_expand(tmp_path, run):
    (tmp_path / "a" / "b").mkdir(parents=True)
    (tmp_path / ".hidden").mkdir()
    for path in (tmp_path / "a/one.yaml", tmp_path / "a/b/two.yml", tmp_path / ".hidden/three.yaml",
                 tmp_path / "a/.four.yaml"):
        path.write_text(COLLAPSE)
    (tmp_path / "a/notes.txt").write_text("not a spec")
    result = run("lint", tmp_path, "--format", "concise")
    assert result.exit_code == 1
    files = {line.split(":")[0] for line in result.stdout.splitlines() if "A101" in line}
    assert files == {str(tmp_path / "a/one.yaml"), str(tmp_path / "a/b/two.yml")}
    result = run("lint", str(tmp_path / "**" / "*.yml"), "--format", "concise")
    assert [line.split(":")[0] for line in result.stdout.splitlines() if "A101" in line] == [
        str(tmp_path / "a/b/two.yml")]


def test_a_file_named_twice_is_linted_once(write, run):
    path = write(COLLAPSE)
    assert run("lint", path, path, "--format", "concise").stdout.count("A101") == 1


def test_stdin_and_stdin_filename(run):
    result = _lint_text(run, COLLAPSE)
    assert result.stdout.startswith("<stdin>:2:10: A101")
    result = run("lint", "-", "--stdin-filename", "models/mlp.yaml", "--format", "concise", input=COLLAPSE)
    assert result.stdout.startswith("models/mlp.yaml:2:10: A101")


@pytest.mark.parametrize("args, expected", [
    ((), {"A101", "N102", "S105"}),
    (("--select", "N"), {"N102"}),
    (("--select", "high-dropout"), {"N102"}),
    (("--select", "A101,N102"), {"A101", "N102"}),
    (("--ignore", "A"), {"N102", "S105"}),
    (("--ignore", "linear-collapse", "--ignore", "N1"), {"S105"}),
    (("--select", "E", "--extend-select", "S105"), {"S105"}),
    (("--select", "ALL", "--ignore", "S10"), {"A101", "N102", "T106"}),
    (("--select", "A104"), set()),
    (("--extend-select", "T106"), {"A101", "N102", "S105", "T106"}),
])
def test_selection_by_code_prefix_and_name(run, args, expected):
    text = ("input: [32]\nsymbols: {unused: 3}\nlayers:\n  - linear: 64\n  - linear: 64\n  - relu\n"
            "  - dropout: 0.9\n  - linear: 64\n  - relu\n  - linear: 2\n"
            "train: {task: classification, classes: 2, optimizer: adam, weight_decay: 0.01}\n")
    result = _lint_text(run, text, *args)
    found = {line.split()[1] for line in result.stdout.splitlines() if line.startswith("<stdin>")}
    assert found == expected


def test_informational_rules_are_off_by_default():
    informational = {"A104", "A110", "G101", "G105", "N105", "S103", "S112", "T102", "T106", "T114"}
    assert {code for code, rule in RULES.items() if rule.severity == "info"} == informational
    assert set(RULES) - informational == DEFAULT


def test_statistics(tmp_path, run):
    (tmp_path / "x.yaml").write_text(COLLAPSE)
    (tmp_path / "y.yaml").write_text("input: [5]\nlayers: [linear: 3, linear: 2, dropout: 0.9]\n")
    result = run("lint", tmp_path, "--statistics")
    assert result.exit_code == 1
    assert result.stdout.splitlines() == ["2\tA101\t[ ] linear-collapse", "1\tN102\t[ ] high-dropout",
                                          "1\tN103\t[ ] dropout-at-output"]
    data = json.loads(run("lint", tmp_path, "--statistics", "--format", "json").stdout)
    assert data[0] == {"code": "A101", "name": "linear-collapse", "count": 2, "fixable": False}


def test_rules_json_lists_every_rule(run):
    result = run("rules", "--format", "json")
    rows = json.loads(result.stdout)
    assert [row["code"] for row in rows] == list(RULES)
    assert len(rows) >= 25
    assert rows[0] == {"code": "E001", "name": "yaml-syntax", "severity": "error",
                       "summary": "The file is not valid YAML."}
    assert all(set(row) == {"code", "name", "severity", "summary"} for row in rows)


def test_rules_table(run):
    lines = run("rules").stdout.splitlines()
    assert len(lines) == len(RULES)
    assert lines[[r for r in RULES].index("N105")].split()[:4] == ["N105", "bias-before-batchnorm", "info", "fix"]


def test_rule_explains_by_code_and_by_name(run):
    by_code = run("rule", "N105").stdout
    assert by_code == run("rule", "bias-before-batchnorm").stdout == run("rule", "n105").stdout
    assert by_code.startswith("# bias-before-batchnorm (N105)\n\nSeverity: info, off by default (informational). "
                              "A safe fix is available (`--fix`). It also checks the layers before a core error.\n\n")
    assert "## Why is this bad?" in by_code and "Use instead:" in by_code
    data = json.loads(run("rule", "S103", "--format", "json").stdout)
    assert (data["name"], data["severity"], data["default"], data["fixable"]) == ("parameter-hotspot", "info",
                                                                                  False, False)
    result = run("rule", "N999")
    assert result.exit_code == 2 and "unknown rule 'N999'" in result.stderr


def test_every_command_has_help(run):
    for command in ("lint", "rule", "rules"):
        result = run(command, "--help")
        assert result.exit_code == 0 and len(result.stdout) > 200


def test_no_traceback_on_a_hostile_spec(write, run):
    bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
        f"{chr(98 + i)}: &{chr(98 + i)} [*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, "
        f"*{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}, *{chr(97 + i)}]\n" for i in range(9))
    result = run("lint", write(bomb), "--format", "concise")
    assert result.exit_code == 1
    assert "E004 [resource-limit]" in result.stdout


def test_real_process_exit_codes(tmp_path):
    good = tmp_path / "good.yaml"
    good.write_text(CLEAN)
    bad = tmp_path / "bad.yaml"
    bad.write_text(COLLAPSE)
    assert archcalc_process("lint", good).returncode == 0
    assert archcalc_process("lint", bad).returncode == 1
    assert archcalc_process("lint", tmp_path / "missing.yaml").returncode == 2
    assert archcalc_process("lint").returncode == 2


def test_concrete_specs_never_import_sympy(tmp_path):
    """Linting every concrete shipped spec and fixture, with every rule, leaves sympy unloaded."""
    import archcalc

    fixtures = sorted((SPECS.parent / "tests/lint/fixtures").glob("*.yaml"))
    concrete = []
    for path in [*shipped_specs(), *fixtures]:
        try:
            if not archcalc.load(str(path)).graph.free:
                concrete.append(str(path))
        except archcalc.SpecError as e:
            if e.code != "undecidable-condition":  # that error is about a free symbol, so it is no concrete spec
                concrete.append(str(path))
    assert len(concrete) >= len(fixtures) + 6
    code = ("import sys\nfrom archcalc.cli import main\n"
            f"try: main(['lint', '--select', 'ALL', '--isolated', '--format', 'json', *{concrete!r}])\n"
            "except SystemExit as e: assert e.code == 1, e.code\n"
            "assert 'sympy' not in sys.modules, 'sympy was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr


def test_symbolic_specs_lint_without_crashing(run):
    result = run("lint", "--select", "ALL", SPECS / "symbolic-cnn.yaml", SPECS / "symbolic-mlp.yaml")
    assert result.exit_code == 0, result.output
