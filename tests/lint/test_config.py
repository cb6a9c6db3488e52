"""Configuration: ``[tool.archcalc.lint]`` / ``archcalc.toml``, found upward from each file, layered under the CLI."""

from __future__ import annotations

import os
import re

import pytest

SPEC = ("input: [32]\nlayers:\n  - linear: 64\n  - linear: 64\n  - relu\n  - dropout: 0.9\n  - linear: 2\n")


def codes(result) -> list[str]:
    return sorted(set(re.findall(r"^\S+:\d+:\d+: ([A-Z]\d{3}) ", result.stdout, re.M)))


@pytest.fixture
def project(tmp_path):
    """A project folder with specs/a.yaml and specs/sub/b.yaml; returns a function writing its config."""
    (tmp_path / "specs" / "sub").mkdir(parents=True)
    (tmp_path / "specs" / "a.yaml").write_text(SPEC)
    (tmp_path / "specs" / "sub" / "b.yaml").write_text(SPEC)

    def configure(text: str, name: str = "pyproject.toml", where: str = "") -> None:
        (tmp_path / where / name).write_text(text)

    configure.root = tmp_path
    return configure


def lint(run, project, *args):
    return run("lint", "--format", "concise", project.root / "specs", *args)


def test_no_configuration_means_the_defaults(run, project):
    assert codes(lint(run, project)) == ["A101", "N102"]


def test_pyproject_select_and_ignore(run, project):
    project('[tool.archcalc.lint]\nselect = ["A", "N"]\nignore = ["high-dropout"]\n')
    assert codes(lint(run, project)) == ["A101"]


def test_pyproject_without_an_archcalc_table_is_skipped(run, project):
    project('[tool.archcalc.lint]\nignore = ["A101"]\n')
    project('[tool.black]\nline-length = 100\n', where="specs")  # closer, but not ours
    assert codes(lint(run, project)) == ["N102"]


def test_closest_configuration_wins_and_archcalc_toml_beats_pyproject(run, project):
    project('[tool.archcalc.lint]\nignore = ["A101"]\n')
    project('[lint]\nignore = ["N102"]\n', name="archcalc.toml", where="specs/sub")
    project('[tool.archcalc.lint]\nignore = ["A"]\n', where="specs/sub")
    out = lint(run, project).stdout
    a, b = (line for line in out.splitlines() if "A101" in line or "N102" in line)
    assert "specs/a.yaml" in a and "N102" in a  # root pyproject: A101 ignored
    assert "sub/b.yaml" in b and "A101" in b  # archcalc.toml in sub: N102 ignored
    assert len(out.splitlines()) == 3


def test_extend_select_and_per_file_ignores(run, project):
    project('[tool.archcalc.lint]\nextend-select = ["S103"]\n'
            '[tool.archcalc.lint.per-file-ignores]\n"specs/sub/*.yaml" = ["N1"]\n"a.yaml" = ["linear-collapse"]\n')
    out = lint(run, project).stdout
    assert [line.split()[1] for line in out.splitlines() if "specs/a.yaml" in line] == ["N102"]
    assert [line.split()[1] for line in out.splitlines() if "sub/b.yaml" in line] == ["A101"]


def test_command_line_layers_over_the_configuration(run, project):
    project('[tool.archcalc.lint]\nselect = ["A"]\n')
    assert codes(lint(run, project, "--extend-select", "N102")) == ["A101", "N102"]
    assert codes(lint(run, project, "--select", "N")) == ["N102"]  # a CLI select replaces the configured one
    assert codes(lint(run, project, "--ignore", "A101")) == []


def test_exclude_applies_to_expanded_paths_and_with_force_exclude_to_named_ones(run, project):
    project('[tool.archcalc.lint]\nexclude = ["specs/sub"]\n')
    assert "sub/b.yaml" not in lint(run, project).stdout
    named = project.root / "specs" / "sub" / "b.yaml"
    assert "sub/b.yaml" in run("lint", "--format", "concise", named).stdout
    assert run("lint", "--format", "concise", "--force-exclude", named).stdout == "All checks passed!\n"


def test_explicit_config_and_isolated(run, project, tmp_path_factory):
    project('[tool.archcalc.lint]\nignore = ["A101"]\n')
    other = tmp_path_factory.mktemp("elsewhere") / "archcalc.toml"
    other.write_text('[lint]\nignore = ["N102"]\n')
    assert codes(lint(run, project, "--config", other)) == ["A101"]
    assert codes(lint(run, project, "--isolated")) == ["A101", "N102"]
    stray = run("lint", project.root / "specs", "--stdin-filename", "x.yaml")
    assert stray.exit_code == 2 and "--stdin-filename names standard input" in stray.stderr
    both = lint(run, project, "--config", other, "--isolated")
    assert both.exit_code == 2 and "--config names a configuration and --isolated ignores every one" in both.stderr


def test_stdin_uses_the_working_folder_configuration(run, project):
    project('[tool.archcalc.lint]\nignore = ["N102"]\n')
    cwd = os.getcwd()
    os.chdir(project.root)
    try:
        result = run("lint", "-", "--format", "concise", input=SPEC)
    finally:
        os.chdir(cwd)
    assert codes(result) == ["A101"]


def test_a_broken_pyproject_is_an_error_only_when_it_mentions_archcalc(run, project):
    project('[tool.black\nline-length = 100\n')
    assert lint(run, project).exit_code == 1
    project('[tool.archcalc.lint]\nignore = ["A101"\n')
    result = lint(run, project)
    assert result.exit_code == 2 and "invalid TOML" in result.stderr


@pytest.mark.parametrize("text, message", [
    ('[tool.archcalc.lint]\nselec = ["A"]\n', "unknown key 'selec' in [tool.archcalc.lint]"),
    ('[tool.archcalc.lint]\nselect = ["Q123"]\n', "unknown rule selector 'Q123'"),
    ('[tool.archcalc.lint]\nignore = "A101"\n', "'ignore' in [tool.archcalc.lint] must be a list"),
    ('[tool.archcalc.lint\n', "invalid TOML"),
])
def test_a_broken_configuration_exits_2_with_its_path(run, project, text, message):
    project('[tool.archcalc]\n')
    (project.root / "specs" / "archcalc.toml").write_text(text.replace("tool.archcalc.lint", "lint"))
    result = lint(run, project)
    assert result.exit_code == 2
    assert str(project.root / "specs" / "archcalc.toml") in result.stderr
    assert message.replace("tool.archcalc.lint", "lint") in result.stderr


@pytest.mark.parametrize("name, text, message", [
    ("pyproject.toml", '[project]\nname = "x"\n\n[tool.archcalc.lnt]\nignore = ["A101"]\n',
     "pyproject.toml:4:1: error: unknown table 'lnt' in [tool.archcalc]: it holds only the lint table\n"
     "  hint: did you mean 'lint'?"),
    ("pyproject.toml", '[tool.archcalc]\nignore = ["A101"]\n',
     "pyproject.toml:2:1: error: unknown key 'ignore' in [tool.archcalc]: it holds only the lint table\n"
     "  hint: put it in the lint table: [tool.archcalc.lint]"),
    ("archcalc.toml", '[tool.archcalc.lint]\nignore = ["A101"]\n',
     "archcalc.toml:1:1: error: unknown table 'tool' in archcalc.toml: it holds only the lint table\n"
     "  hint: archcalc.toml takes [lint] (the [tool.archcalc.lint] form is pyproject.toml's)"),
    ("archcalc.toml", '[lint]\nselect = ["A"]\n\n[other]\nx = 1\n',
     "archcalc.toml:4:1: error: unknown table 'other' in archcalc.toml: it holds only the lint table"),
])
def test_a_table_or_key_outside_the_lint_table_is_an_error_not_ignored(run, project, name, text, message):
    """Written one level off or misspelt, a configuration used to leave every rule as it was without a word."""
    project(text, name)
    result = lint(run, project)
    assert result.exit_code == 2
    assert f"{project.root / name.split(':')[0]}" in result.stderr and message in result.stderr


BROKEN = "input: [3, 2, 2]\nlayers: [conv2d: {out: 4, kernel: 5}]\n"  # E203: the kernel does not fit


@pytest.mark.parametrize("args", [("--select", "A101"), ("--select", "A,N"), ("--ignore", "ALL")])
def test_core_errors_are_reported_whatever_the_selection(run, write, args):
    result = run("lint", "--format", "concise", "--isolated", write(BROKEN), *args)
    assert result.exit_code == 1
    assert codes(result) == ["E203"]
    assert "All checks passed" not in result.stdout


@pytest.mark.parametrize("word", ["E203", "non-positive-size", "E2", "e"])
def test_ignoring_a_core_error_on_the_command_line_is_a_usage_error(run, write, word):
    result = run("lint", "--isolated", write(BROKEN), "--ignore", word)
    assert result.exit_code == 2
    assert result.stdout == ""
    which = "E203 (non-positive-size) is a core error" if word in ("E203", "non-positive-size") \
        else f"it names core errors ({'E201…E207' if word == 'E2' else 'E001…E304'})"
    assert result.stderr == (f"error: '{word}' cannot be ignored: {which}, reported whenever a spec does not build "
                             "(no other rule can check such a spec, so ignoring it would let a broken spec pass)\n")


@pytest.mark.parametrize("table", ['ignore = ["E203"]', 'per-file-ignores = {"*.yaml" = ["E"]}'])
def test_ignoring_a_core_error_in_the_configuration_is_an_error(run, project, table):
    (project.root / "specs" / "a.yaml").write_text(BROKEN)
    project(f"[tool.archcalc.lint]\n{table}\n")
    result = lint(run, project)
    assert result.exit_code == 2
    assert "cannot be ignored" in result.stderr
    assert "pyproject.toml" in result.stderr


def test_the_python_api_reports_core_errors_whatever_the_selection():
    from archcalc.lint import lint as lint_text

    assert [d.code for d in lint_text(BROKEN, select=["A101"]).diagnostics] == ["E203"]


@pytest.mark.parametrize("text, where, message", [
    ('[tool.archcalc.lint]\nselect = ["A"]\nignore = ["A101"\n', "4:1", "invalid TOML: Unclosed array"),
    ('[tool.archcalc.lint]\nselect = ["A",, "N"]\n', "2:15", "invalid TOML: Invalid value"),
    ('[project]\nname = "x"\n\n[tool.archcalc.lint]\nselect = ["A"]\nselec = ["N"]\n', "6:1",
     "unknown key 'selec' in [tool.archcalc.lint]"),
    ('[tool.archcalc.lint]\nexclude = "x"\n', "2:1", "'exclude' in [tool.archcalc.lint] must be a list of globs"),
    ('[tool.archcalc.lint]\nselect = ["A"]\n[tool.archcalc.lint.per-file-ignores]\n"a.yaml" = ["N"]\n'
     '"b.yaml" = ["Q9"]\n', "5:1", "'per-file-ignores.b.yaml' in [tool.archcalc.lint]: unknown rule selector 'Q9'"),
    ('[tool.archcalc]\nlint = {select = ["A"], exclude = "x"}\n', "2:1", "must be a list"),  # an inline table
])
def test_configuration_errors_are_located(run, project, text, where, message):
    project(text)
    result = lint(run, project)
    assert result.exit_code == 2
    assert f"{project.root / 'pyproject.toml'}:{where}: error: " in result.stderr
    assert message in result.stderr


def test_each_configuration_file_is_read_and_parsed_once(run, project, monkeypatch):
    import archcalc.lint.config as config

    project('[tool.archcalc.lint]\nignore = ["high-dropout"]\n')
    parsed = []
    for name in ("load", "loads"):
        real = getattr(config.tomllib, name)
        monkeypatch.setattr(config.tomllib, name, lambda data, real=real: parsed.append(data) or real(data))
    assert codes(lint(run, project)) == ["A101"]
    assert len(parsed) == 1


@pytest.mark.parametrize("text", ["tool = 5\n", 'tool = "x"\n', "tool = [1]\n"])
def test_a_pyproject_whose_tool_is_not_a_table_is_not_ours(run, project, text):
    """Found on the way up, it is skipped as any pyproject.toml without [tool.archcalc]; named with --config,
    it is a located error."""
    project(text)
    assert codes(lint(run, project)) == ["A101", "N102"]
    result = lint(run, project, "--config", project.root / "pyproject.toml")
    assert result.exit_code == 2 and "pyproject.toml:1:1: error: tool must be a table, got " in result.stderr


@pytest.mark.parametrize("text, where", [("[tool]\narchcalc = 5\n", "2:1"), ("tool.archcalc = [1]\n", "1:1")])
def test_a_tool_archcalc_that_is_not_a_table_is_a_located_error(run, project, text, where):
    project(text)
    result = lint(run, project)
    assert result.exit_code == 2
    assert f"pyproject.toml:{where}: error: tool.archcalc must be a table" in result.stderr


def test_a_configuration_with_a_byte_order_mark_is_read(run, project):
    project('\ufeff[tool.archcalc.lint]\nignore = ["A101"]\n')
    assert codes(lint(run, project)) == ["N102"]
