"""The smaller defects of issue 20: a control character anywhere is located at its line and column, ``04`` is
the integer 4, a long legal output name is writable, and a file written over a link to a device gets the usual
mode, never the device's."""

from __future__ import annotations

import json
import os
import stat

import pytest

from tests.conftest import SPECS

PAD = "  - relu\n" * 2000  # past the first 8 KB, which the binary-file check looks at


@pytest.mark.parametrize("char, code", [("\x00", "U+0000"), ("\x07", "U+0007"), ("\x1b", "U+001B")])
def test_a_control_character_past_8_kb_is_located(run, tmp_path, char, code):
    path = tmp_path / "x.yaml"
    path.write_text(f"input: [4]\nlayers:\n{PAD}  - relu # é{char}x\n", encoding="utf-8")
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:2003:13: error: YAML syntax: character {code} is not allowed")
    result = run("lint", path, "--format", "concise")
    assert f"{path}:2003:13: E001" in result.stdout


def test_a_control_character_is_located_on_the_lines_the_reader_counts(run, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes("input: [4]\rlayers:\r\n  - relu\x85  - relu \x07\n".encode())
    result = run("shapes", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:4:10: error: YAML syntax: character U+0007 is not allowed")


def test_a_byte_that_is_not_utf8_is_located_on_the_readers_lines(run, tmp_path):
    path = tmp_path / "x.yaml"
    path.write_bytes(b"input: [4]\rlayers: [relu] # \xc3\xa9\xff\n")
    result = run("shapes", path)
    assert result.exit_code == 2
    assert result.stderr == f"{path}:2:19: error: not UTF-8 text (byte 0xff)\n  hint: save the file as UTF-8\n"


@pytest.mark.parametrize("text, value", [("04", 4), ("007", 7), ("-0", 0), ("+012", 12), ("0_4", 4)])
def test_leading_zeros_make_an_integer_as_in_yaml_1_2(write, text, value):
    from archcalc.limits import Limits
    from archcalc.spec.source import parse_yaml

    root = parse_yaml(f"a: {text}\n", "x.yaml", Limits())
    assert root.get("a").value == value and type(root.get("a").value) is int


def test_input_04_is_the_integer_4(run, write):
    path = write("input: [04]\nlayers:\n  - linear: 2\n")
    result = run("shapes", path, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["input_shape"] == [4]
    assert run("lint", path).exit_code == 0


def test_a_long_legal_output_name_is_writable(run, tmp_path):
    name = "a" * 250 + ".py"  # 253 bytes: legal; a temporary name built from it whole would not be
    out = tmp_path / name
    result = run("export", SPECS / "symbolic-cnn.yaml", "--set", "H=8,W=8", "--to", "numpy", "-o", out)
    assert result.exit_code == 0, result.output
    assert os.listdir(tmp_path) == [name]


def test_force_over_a_link_to_a_device_writes_a_file_with_the_usual_mode(run, tmp_path):
    out = tmp_path / "model.py"
    os.symlink("/dev/full", out)
    mask = os.umask(0o022)
    try:
        result = run("export", SPECS / "symbolic-cnn.yaml", "--set", "H=8,W=8", "--to", "numpy", "-o", out,
                     "--force")
    finally:
        os.umask(mask)
    assert result.exit_code == 0, result.output
    info = os.lstat(out)
    assert stat.S_ISREG(info.st_mode) and stat.S_IMODE(info.st_mode) == 0o644


def test_force_over_a_regular_file_keeps_its_mode(run, tmp_path):
    out = tmp_path / "model.py"
    out.write_text("old\n")
    os.chmod(out, 0o600)
    result = run("export", SPECS / "symbolic-cnn.yaml", "--set", "H=8,W=8", "--to", "numpy", "-o", out, "--force")
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(os.stat(out).st_mode) == 0o600
