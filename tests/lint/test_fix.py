"""``archcalc lint --fix``: safe fixes as text edits that keep comments and formatting, and prove the spec loads."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.lint import engine, fixes
from archcalc.lint.registry import DEFAULT as ON

#: the default rules and bias-before-batchnorm (N105), informational, the fixable rule these tests fix
DEFAULT = ON | {"N105"}

BEFORE = """\
# a small CNN   (comments and odd spacing must survive)
input: [3, 8, 8]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1}   # stem
  - batchnorm2d
  - relu
  - conv2d:
      out: 32        # wider
      kernel: 3
      padding: 1
  - batchnorm2d
  - relu
  - conv2d: {out: 32, kernel: 3, padding: 1, bias: true}
  - batchnorm2d
  - relu
  - global_avgpool2d
  - linear:   16
  - batchnorm1d
  - relu
  - linear: 10  # archcalc: disable=A101, N102
"""

AFTER = """\
# a small CNN   (comments and odd spacing must survive)
input: [3, 8, 8]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1, bias: false}   # stem
  - batchnorm2d
  - relu
  - conv2d:
      out: 32        # wider
      kernel: 3
      padding: 1
      bias: false
  - batchnorm2d
  - relu
  - conv2d: {out: 32, kernel: 3, padding: 1, bias: false}
  - batchnorm2d
  - relu
  - global_avgpool2d
  - linear:   {out: 16, bias: false}
  - batchnorm1d
  - relu
  - linear: 10
"""


def test_fix_rewrites_exactly_the_offending_values(write, run):
    path = write(BEFORE)
    result = run("lint", path, "--fix", "--extend-select", "N105")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Fixed 5 findings.\nAll checks passed!\n"
    assert path.read_text() == AFTER
    before, after = archcalc.loads(BEFORE), archcalc.load(str(path))
    assert before.trainable_params - after.trainable_params == 16 + 32 + 32 + 16
    assert after.output_shape == before.output_shape == (10,)


def test_fix_is_idempotent(write, run):
    path = write(AFTER)
    result = run("lint", path, "--fix", "--extend-select", "N105")
    assert result.exit_code == 0
    assert result.stdout == "All checks passed!\n"
    assert path.read_text() == AFTER


def test_fix_keeps_crlf_line_ends_and_a_byte_order_mark(tmp_path, run):
    path = tmp_path / "windows.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BEFORE.replace("\n", "\r\n").encode())
    assert run("lint", path, "--fix", "--extend-select", "N105").exit_code == 0
    assert path.read_bytes() == b"\xef\xbb\xbf" + AFTER.replace("\n", "\r\n").encode()


def test_fix_on_stdin_prints_the_fixed_spec_and_reports_on_stderr(run):
    result = run("lint", "-", "--fix", "--extend-select", "N105", input=BEFORE)
    assert result.exit_code == 0
    assert result.stdout == AFTER
    assert result.stderr == "Fixed 5 findings.\nAll checks passed!\n"


def test_a_spec_that_does_not_build_is_not_fixed(write, run):
    path = write(BEFORE.replace("bias: true", "bias: x"))
    result = run("lint", path, "--fix", "--extend-select", "N105", "--format", "concise")
    assert result.exit_code == 1
    assert "E108 [bad-argument] conv2d: 'bias' must be true or false, got 'x'" in result.stdout
    assert path.read_text() == BEFORE.replace("bias: true", "bias: x")


def test_unfixable_findings_remain_and_a_file_without_fixes_is_untouched(write, run):
    text = "input: [5]\nlayers: [linear: 3, linear: 2]\n"
    path = write(text)
    result = run("lint", path, "--fix", "--extend-select", "N105", "--format", "concise")
    assert result.exit_code == 1
    assert "A101" in result.stdout and "Fixed" not in result.stdout
    assert path.read_text() == text


@pytest.mark.parametrize("style", ["|", ">-"])
def test_a_layer_written_as_a_block_scalar_is_left_unfixed(write, run, style):
    """``linear: |`` then the width on the next line: wrapping it in braces would not read as YAML, so the
    finding stays, unfixed, and the file is untouched."""
    text = f"input: [4]\nlayers:\n  - linear: {style}\n      4\n  - batchnorm1d\n  - linear: 2\n"
    path = write(text)
    result = run("lint", path, "--fix", "--select", "N105", "--format", "concise")
    assert result.exit_code == 1 and "N105" in result.stdout and "Fixed" not in result.stdout, result.output
    assert path.read_text() == text


@pytest.mark.parametrize("content", ["[unclosed ", "- relu\n  ", "{out: 9}"])
def test_a_fix_whose_text_reads_differently_than_intended_is_refused_and_nothing_written(write, run, monkeypatch,
                                                                                          content):
    """The proof before writing: an edit that breaks the YAML, adds a layer or changes another value (a bug
    in a rule) stops ``--fix`` with a located error, exit 2, and the file keeps its bytes."""
    def broken(item, arg, value, text, primary, shared):
        return (fixes.Edit(item.loc, item.loc, content),)

    monkeypatch.setattr(fixes, "set_argument", broken)
    path = write(BEFORE)
    result = run("lint", path, "--fix", "--extend-select", "N105")
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:4:5: error: --fix refused: the fixed text would ")
    assert "nothing was written" in result.stderr
    assert path.read_text() == BEFORE


LINE_BREAKS = {"CR": "\r", "NEL": "\x85", "LS": "\u2028", "PS": "\u2029", "CR CR LF": "\r\r\n", "CRLF": "\r\n",
               "LF": "\n"}


@pytest.mark.parametrize("name", LINE_BREAKS)
def test_fix_works_on_the_yaml_readers_own_lines(tmp_path, run, name):
    """The reader breaks lines at CR, NEL, LS and PS too: a fix edits the lines it reads, whichever breaks the file
    has, and nothing else (issue 20: CR-only files lost everything after the first fix)."""
    brk = LINE_BREAKS[name]
    lines = ["name: m", "input: [8]", "layers:", "  - linear: 4  # archcalc: disable=A101 -- ok", "  - relu",
             "  - linear: 2", "  - batchnorm1d", "# important comment", "train: {epochs: 3}", ""]
    path = tmp_path / "x.yaml"
    path.write_bytes(brk.join(lines).encode())
    result = run("lint", path, "--fix", "--extend-select", "N105")
    assert result.exit_code == 0, result.output
    assert result.stdout == "Fixed 2 findings.\nAll checks passed!\n"
    lines[3], lines[5] = "  - linear: 4", "  - linear: {out: 2, bias: false}"
    assert path.read_bytes() == brk.join(lines).encode()
    model = archcalc.load(str(path))
    assert model.output_shape == (2,) and model.trainable_params == 8 * 4 + 4 + 4 * 2 + 2 * 2


def test_fix_inserts_a_new_line_with_the_break_of_the_line_it_follows(tmp_path, run):
    text = "input: [8]\rlayers:\n  - linear:\r      out: 2\x85  - batchnorm1d\n"
    path = tmp_path / "x.yaml"
    path.write_bytes(text.encode())
    assert run("lint", path, "--fix", "--extend-select", "N105").exit_code == 0
    assert path.read_bytes().decode() == text.replace("out: 2\x85", "out: 2\x85      bias: false\x85")


def test_fix_removes_unused_suppressions_but_keeps_used_codes():
    text = "input: [5]\nlayers:\n  - linear: 3  # archcalc: disable=A101, N102, W9 -- why\n" \
           "  # archcalc: disable=A101\n  - linear: 2\n  - relu\n"
    result = engine.fix_source(text, "x.yaml", DEFAULT)
    assert result.source == "input: [5]\nlayers:\n  - linear: 3  # archcalc: disable=A101 -- why\n  - linear: 2\n" \
                            "  - relu\n"
    assert result.diagnostics == []


def test_fixed_spec_write_failure_exits_2(write, run, monkeypatch):
    from archcalc.errors import Loc, SpecError

    def refuse(path, data, **kwargs):
        raise SpecError(Loc(str(path), 1, 1), "cannot write: read-only file system", code="output-error")

    monkeypatch.setattr("archcalc.files.write_atomic", refuse)
    path = write(BEFORE)
    result = run("lint", path, "--fix", "--extend-select", "N105")
    assert result.exit_code == 2
    assert "cannot write: read-only file system" in result.stderr
    assert path.read_text() == BEFORE
    assert "N105" in result.stdout  # the findings of the file as it still is are reported, not lost


def test_fix_handles_multi_line_flow_mappings_and_nested_block_values():
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8,\n              kernel: 3}\n  - batchnorm2d\n"
            "  - conv2d:\n      out: 8\n      kernel:\n        - 3\n        - 3\n  - batchnorm2d\n")
    result = engine.fix_source(text, "x.yaml", DEFAULT)
    assert result.source == ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8,\n              kernel: 3, bias: false}\n"
                             "  - batchnorm2d\n  - conv2d:\n      out: 8\n      kernel:\n        - 3\n        - 3\n"
                             "      bias: false\n  - batchnorm2d\n")
    assert result.fixed == 2 and [d.code for d in result.diagnostics] == ["A101"]  # conv, bn, conv: no activation


def test_a_core_error_without_a_rule_is_reported_whatever_the_selection():
    from archcalc.errors import Loc, SpecError

    diagnostic = engine.core_diagnostic(SpecError(Loc("x.yaml", 2, 3), "new problem", code="brand-new"), "x.yaml")
    assert (diagnostic.code, diagnostic.name, diagnostic.severity) == ("E000", "brand-new", "error")


ANCHORED = """\
x-conv: &conv {out: 8, kernel: 3, padding: 1}
input: [3, 32, 32]
layers: [conv2d: *conv, batchnorm2d, relu, conv2d: {<<: *conv}, relu]
"""


def test_fix_never_edits_yaml_that_an_anchor_shares_with_other_layers(write, run):
    """Writing bias: false into the anchor would take the bias from layer 3, which a ReLU follows."""
    path = write(ANCHORED)
    assert archcalc.load(str(path)).trainable_params == 824  # 2 × ((3×3×3×8)+8) + 2×8
    result = run("lint", path, "--fix", "--extend-select", "N105", "--format", "concise")
    assert result.exit_code == 1
    assert result.stdout.startswith(f"{path}:3:10: N105 [bias-before-batchnorm] `0` (conv2d)")
    assert "Fixed" not in result.stdout
    assert path.read_text() == ANCHORED
    assert archcalc.load(str(path)).trainable_params == 824
    diagnostic = engine.lint_source(ANCHORED, "x.yaml", DEFAULT).diagnostics[0]
    assert diagnostic.fix is None
    assert diagnostic.hint.endswith("not fixed automatically: its arguments are shared with other places through "
                                    "a YAML anchor or merge key")


@pytest.mark.parametrize("layers", [
    "[conv2d: &c {out: 8, kernel: 3}, batchnorm2d, relu, conv2d: *c, relu]",  # the anchor's own layer
    "[conv2d: {out: 8, kernel: 3, bias: &b true}, batchnorm2d, relu, conv2d: {out: 8, kernel: 3, bias: *b}]",
    "[&l {conv2d: {out: 8, kernel: 3}}, batchnorm2d, relu, *l, batchnorm2d]",  # a whole layer, twice
    "[conv2d: {out: 8, kernel: &k 3}, relu, conv2d: {out: 8, kernel: *k}, batchnorm2d]",  # ends in an alias
])
def test_no_fix_touches_a_node_used_by_another_layer(layers):
    text = f"input: [3, 16, 16]\nlayers: {layers}\n"
    result = engine.fix_source(text, "x.yaml", DEFAULT)
    assert result.source == text
    assert "N105" in [d.code for d in result.diagnostics]


def test_fix_of_a_merging_mapping_goes_into_its_own_keys():
    text = ANCHORED.replace("conv2d: *conv, batchnorm2d, relu, conv2d: {<<: *conv}, relu",
                            "conv2d: *conv, relu, conv2d: {<<: *conv, padding: 0}, batchnorm2d, relu")
    result = engine.fix_source(text, "x.yaml", DEFAULT)
    assert result.source == text.replace("padding: 0}", "padding: 0, bias: false}")
    assert result.fixed == 1 and result.diagnostics == []
    model = archcalc.loads(result.source)
    assert [layer.layer.config()["bias"] for layer in model.graph.layers() if layer.kind == "conv2d"] == [True, False]


def test_fix_through_a_symbolic_link_fixes_its_target_and_keeps_the_link(tmp_path, run):
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "model.yaml"
    target.write_text(BEFORE)
    link = tmp_path / "link.yaml"
    link.symlink_to(target)
    result = run("lint", link, "--fix", "--extend-select", "N105")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and link.resolve() == target
    assert target.read_text() == AFTER
    assert [p.name for p in (tmp_path / "real").iterdir()] == ["model.yaml"]  # no temporary file left


def test_fix_reads_each_file_once(tmp_path, run, monkeypatch):
    import builtins

    path = tmp_path / "bom.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + BEFORE.encode())
    opened = []
    real_open = builtins.open

    def counting_open(file, *args, **kwargs):
        opened.append(str(file))
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    assert run("lint", path, "--fix", "--extend-select", "N105", "--isolated").exit_code == 0
    assert opened.count(str(path)) == 1
    assert path.read_bytes() == b"\xef\xbb\xbf" + AFTER.encode()
