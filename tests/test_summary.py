"""``archcalc summary``: snapshots at 80 and 120 columns, the JSON contract, folding, formats.

The expected screens live in ``tests/snapshots/``. After an intended change to the output, regenerate
them with ``ARCHCALC_UPDATE_SNAPSHOTS=1 python -m pytest tests/test_summary.py`` and review the diff.
"""

from __future__ import annotations

import csv
import io
import json
import os

import pytest
from click.testing import CliRunner

from archcalc.cli import main
from archcalc.report import Column, Report, Row
from archcalc.report.table import render_table
from tests.conftest import ROOT, SPECS, shipped_specs

SNAPSHOTS = ROOT / "tests" / "snapshots"
CASES = {  # snapshot name → (spec, extra arguments, terminal width)
    "summary-resnet50-80": ("resnet50", (), 80),
    "summary-resnet50-120": ("resnet50", (), 120),
    "summary-vgg16-80": ("vgg16", ("--depth", "1"), 80),
    "summary-vgg16-120": ("vgg16", ("--depth", "1"), 120),
    "summary-symbolic-cnn-80": ("symbolic-cnn", (), 80),
    "summary-resnet18-columns-80": ("resnet18", ("--columns", "shape,macs,flops,rf,jump,mem", "--batch-size", "8"),
                                    80),
}


def screen(spec: str, args: tuple[str, ...], width: int) -> str:
    runner = CliRunner(env={"COLUMNS": str(width)})
    result = runner.invoke(main, ["summary", str(SPECS / f"{spec}.yaml"), *args], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result.stdout


@pytest.mark.parametrize("name", sorted(CASES))
def test_snapshot(name):
    spec, args, width = CASES[name]
    text = screen(spec, args, width)
    path = SNAPSHOTS / f"{name}.txt"
    if os.environ.get("ARCHCALC_UPDATE_SNAPSHOTS"):
        path.write_text(text, encoding="utf-8")
    assert text == path.read_text(encoding="utf-8"), f"{name} changed; see the module docstring to regenerate"


@pytest.mark.parametrize("name", [n for n in CASES if n.endswith("-80") and "symbolic" not in n])
def test_80_columns_means_80_columns(name):
    spec, args, width = CASES[name]
    lines = screen(spec, args, width).splitlines()
    assert max(len(line) for line in lines) <= 80, [line for line in lines if len(line) > 80]


def test_wide_terminal_keeps_exact_counts():
    wide, narrow = screen("resnet50", (), 120), screen("resnet50", (), 80)
    assert "118,013,952" in wide and "counts shortened" not in wide
    assert "118M" in narrow and "counts shortened to fit 80 columns" in narrow
    for text in (wide, narrow):  # the totals stay exact either way
        assert "4,089,184,256 (4.09 G)" in text
        assert "427 × 427 at layer4 (jump 32, padding 213)" in text


def test_a_few_folded_names_keep_counts_exact():
    lines = screen("alexnet", (), 80).splitlines()
    assert "├─avgpool     adaptive_   [256, 6, 6]             –                    –     195" in lines
    assert "│             avgpool2d" in lines
    assert any("655,566,528" in line for line in lines)
    assert max(len(line) for line in lines) <= 80


def test_summary_json(run):
    result = run("summary", SPECS / "resnet50.yaml", "--format", "json")
    data = json.loads(result.stdout)
    assert data["total_params"] == 25_557_032
    assert data["total_macs"] == 4_089_184_256
    assert data["total_flops"] == 8_178_368_512
    assert data["elementwise"] == {"bias": 1_000, "norm": 11_113_984, "act": 9_608_704, "pool": 1_906_688,
                                   "add": 5_519_360}
    assert data["receptive_field"] == {"at": "layer4", "status": "local", "size": [427, 427], "stride": [32, 32],
                                       "padding": [213, 213], "center": [0, 0]}
    rows = {row["path"]: row for row in data["layers"] + data["blocks"]}
    assert rows["layer1.0.conv2"]["macs"] == 64 * 56 * 56 * 64 * 9
    assert rows["layer1"]["receptive_field"]["size"] == [35, 35]
    assert rows["fc"]["receptive_field"]["status"] == "global"
    assert sum(row["params"] for row in data["layers"]) == data["total_params"]


def test_depth_folds_blocks_into_their_totals(run):
    result = run("summary", SPECS / "resnet18.yaml", "--depth", "1", "--columns", "macs,params", "--format", "csv")
    rows = {row["path"]: row for row in csv.DictReader(io.StringIO(result.stdout))}
    assert set(rows) == {"conv1", "bn1", "2", "maxpool", "layer1", "layer2", "layer3", "layer4", "avgpool", "9", "fc"}
    assert rows["layer1"]["macs"] == "462422016"  # both basic blocks
    assert rows["layer1"]["depth"] == "1"
    deeper = run("summary", SPECS / "resnet18.yaml", "--depth", "9", "--format", "csv")
    assert "layer4.1.conv2" in deeper.stdout


def test_columns_are_chosen_and_ordered(run):
    result = run("summary", SPECS / "alexnet.yaml", "--columns", "rf,params", "--depth", "1")
    assert result.stdout.splitlines()[1].split() == ["Layer", "RF", "Params"]
    result = run("summary", SPECS / "alexnet.yaml", "--columns", "rff")
    assert result.exit_code == 2
    assert "unknown column 'rff': did you mean 'rf'?" in result.stderr
    result = run("params", SPECS / "alexnet.yaml", "--columns", "params,kind,params", "--format", "csv")
    assert result.exit_code == 2 and result.stdout == ""
    assert "Invalid value for '--columns': column 'params' is named twice" in result.stderr


def test_markdown_is_a_table_with_totals(run):
    text = run("summary", SPECS / "resnet18.yaml", "--format", "markdown", "--depth", "1").stdout
    lines = text.splitlines()
    assert lines[2] == "| Layer | Kind | Output shape | Params | % | MACs | RF |"
    assert "| **layer4** | group | [512, 7, 7] | 8,393,728 | 71.81% | 411,041,792 | 435 |" in lines
    assert "- MACs: 1,814,073,344 (1.81 G)" in lines


def test_misaligned_joins_warn_on_stderr(run, write):
    spec = write("input: [1, 8, 8]\nlayers:\n  - residual:\n      body: [conv2d: {out: 1, kernel: 5, stride: 2, "
                 "padding: 2}]\n      shortcut: [conv2d: {out: 1, kernel: 3}, conv2d: {out: 1, kernel: 3}]\n")
    result = run("summary", spec)
    assert result.exit_code == 0
    assert f"{spec}:3:5: warning: residual '0'" in result.stderr
    assert "varies*" in result.stdout and "see the warnings" in result.stdout


@pytest.mark.parametrize("spec", shipped_specs(), ids=lambda p: p.stem)
def test_every_shipped_spec_summarises(spec, run):
    for fmt in ("table", "json", "markdown", "csv"):
        result = run("summary", spec, "--format", fmt)
        assert result.exit_code == 0, result.output


# -- the renderer's folding, on a small report ---------------------------------------------------------


def render(rows: list[Row], columns: list[Column], width: int) -> list[str]:
    out = io.StringIO()
    render_table(Report("t", columns, rows), out, width)
    return out.getvalue().splitlines()


def test_text_folds_at_natural_breaks_under_its_tree():
    columns = [Column("layer", "Layer"), Column("kind", "Kind"), Column("n", "N", True)]
    rows = [Row("block_with_a_long_name", 1, {"kind": "block:bottleneck", "n": "1,234"}, container=True),
            Row("pool", 2, {"kind": "adaptive_avgpool2d", "n": "5"}, last=True),
            Row("fc", 1, {"kind": "linear", "n": "7"}, last=True)]
    assert render(rows, columns, 34)[1:] == [
        "Layer            Kind            N",
        "──────────────────────────────────",
        "├─block_with_a_  block:      1,234",  # folding text is enough: the count stays exact
        "│ long_name      bottleneck",
        "│ └─pool         adaptive_       5",
        "│                avgpool2d",  # the tree goes on past the folded row
        "└─fc             linear          7",
    ]


def test_counts_are_shortened_only_when_that_saves_lines():
    columns = [Column("layer", "Layer"), Column("shape", "Output shape"), Column("macs", "MACs", True)]
    rows = [Row(f"l{i}", 1, {"shape": "[2048, 112, 112]", "macs": "4,089,184,256"}, last=i == 2) for i in range(3)]
    assert render(rows, columns, 40)[3] == "├─l0   [2048, 112, 112]  4,089,184,256"
    narrow = render(rows, columns, 30)
    assert narrow[3] == "├─l0   [2048, 112, 112]  4.09G"
    assert " ".join("\n".join(narrow).split("note: ")[1].split()).startswith("counts shortened to fit 30 columns")


def test_a_varying_output_field_is_said_to_vary(run, write):
    """The headline names no earlier layer when the output's field varies (here: 32 pooled to 5 takes
    windows of 7 and 8 pixels), and says so."""
    path = write("input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 8, kernel: 3, padding: 1}\n"
                 "  - adaptive_avgpool2d: 5\n  - conv2d: {out: 4, kernel: 1}\n", "varies.yaml")
    result = run("summary", path, "--format", "json")
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["receptive_field"] == {"at": "2", "status": "varies", "size": None,
                                                            "stride": None, "padding": None, "center": None}
    table = run("summary", path).stdout
    assert "varies at 2: its windows differ across the output" in table
