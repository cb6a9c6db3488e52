"""Report formats as users read them: machine-readable CSV, tables that fit narrow terminals, the same
rows in every format, units in the headers, and ``--explain`` for the structure as well as the layers."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

import archcalc
from archcalc.report import Column, Report, Row
from archcalc.report.table import render_table
from tests.conftest import SPECS

COMMANDS = ("params", "shapes", "flops", "rf", "summary")
ANSI = re.compile(r"\x1b\[[0-9;]*m")
WIDE = {"COLUMNS": "1000"}  # no line wraps


def csv_rows(run, *args: str) -> list[dict[str, str]]:
    result = run(*args, "--format", "csv")
    assert result.exit_code == 0, result.output
    return list(csv.DictReader(io.StringIO(result.stdout)))


def csv_header(run, *args: str) -> str:
    return run(*args, "--format", "csv").stdout.splitlines()[0]


# -- 1. CSV ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("command", COMMANDS)
@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "csv"])
def test_every_report_command_takes_every_format(run, command, fmt):
    result = run(command, SPECS / "lenet5.yaml", "--format", fmt)
    assert result.exit_code == 0, result.output
    assert result.stdout


def test_params_csv_is_raw_numbers_under_snake_case_headers(run):
    result = run("params", SPECS / "resnet50.yaml", "--format", "csv")
    lines = result.stdout.splitlines()
    assert lines[:5] == [
        "path,kind,output_shape,params,params_percent,buffers,depth,leaf",
        'conv1,conv2d,"[64, 112, 112]",9408,0.036812,0,1,true',
        'bn1,batchnorm2d,"[64, 112, 112]",128,0.000501,129,1,true',
        '2,relu,"[64, 112, 112]",0,0.0,0,1,true',
        'maxpool,maxpool2d,"[64, 56, 56]",0,0.0,0,1,true',
    ]
    assert 'layer1,block:stage,"[256, 56, 56]",215808,0.844417,2826,1,false' in lines
    assert 'fc,linear,[1000],2049000,8.017363,0,1,true' in lines
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    model = archcalc.load(str(SPECS / "resnet50.yaml"))
    assert [row["path"] for row in rows] == [node.path for node, _ in model.graph.walk()]  # one row per node
    leaves = [row for row in rows if row["leaf"] == "true"]
    assert sum(int(row["params"]) for row in leaves) == 25_557_032
    assert sum(int(row["buffers"]) for row in leaves) == 53_173
    for row in rows:  # nothing a script cannot read as a number
        for key in ("params", "buffers", "depth"):
            assert row[key].isdigit(), (key, row)


def test_shapes_csv(run):
    lines = run("shapes", SPECS / "seed-mlp.yaml", "--format", "csv").stdout.splitlines()
    assert lines == ["path,kind,input_shape,output_shape,depth,leaf", "0,linear,[50],[30],1,true",
                     "1,relu,[30],[30],1,true", "2,linear,[30],[3],1,true"]


def test_analysis_csv_has_exact_counts_and_one_column_per_axis(run):
    assert csv_header(run, "summary", SPECS / "resnet18.yaml") == \
        "path,kind,output_shape,params,params_percent,macs,rf_status,rf_h,rf_w,depth,leaf"
    rows = {row["path"]: row for row in csv_rows(run, "summary", SPECS / "resnet18.yaml")}
    assert "layer4.1.conv2" in rows  # csv lists every node unless --depth folds them
    assert rows["layer4"]["macs"] == "411041792"
    assert (rows["layer4"]["rf_status"], rows["layer4"]["rf_h"], rows["layer4"]["rf_w"]) == ("local", "435", "435")
    assert (rows["fc"]["rf_status"], rows["fc"]["rf_h"], rows["fc"]["macs"]) == ("global", "", "512000")
    assert csv_header(run, "flops", SPECS / "resnet50.yaml", "--batch-size", "2") == \
        "path,macs,flops,bias,norm,act,pool,add,depth,leaf"
    flops = {row["path"]: row for row in csv_rows(run, "flops", SPECS / "resnet50.yaml", "--batch-size", "2")}
    assert flops["conv1"]["macs"] == str(2 * 118_013_952)
    assert sum(int(r["macs"]) for r in flops.values() if r["leaf"] == "true") == 2 * 4_089_184_256
    rf = csv_rows(run, "rf", SPECS / "vgg16.yaml", "--at", "pool5", "--columns", "rf,jump,padding,center")
    assert rf[-1] == {"path": "pool5", "rf_status": "local", "rf_h": "212", "rf_w": "212", "jump_h": "32",
                      "jump_w": "32", "padding_h": "90", "padding_w": "90", "center_h": "15.5", "center_w": "15.5",
                      "depth": "1", "leaf": "true"}
    mem = csv_rows(run, "summary", SPECS / "seed-mlp.yaml", "--columns", "mem", "--batch-size", "4")
    assert [row["activation_bytes"] for row in mem] == ["480", "480", "48"]


def test_csv_keeps_formulas_of_free_symbols(run):
    rows = csv_rows(run, "params", SPECS / "symbolic-mlp.yaml")
    assert [(r["path"], r["params"], r["params_percent"]) for r in rows] == [
        ("0", "D*D_i + D", ""), ("1", "0", ""), ("2", "D*D_o + D_o", "")]


def test_params_explain_in_csv_is_a_formula_column(run):
    rows = csv_rows(run, "params", SPECS / "seed-mlp.yaml", "--explain")
    assert [row["formula"] for row in rows] == ["(D_i×D)+D = (50×30)+30 = 1530", "", "(D_i×D)+D = (30×3)+3 = 93"]


# -- 2. narrow terminals -------------------------------------------------------------------------------


def widest(run, width: int, *args: str) -> int:
    result = run(*args, env={"COLUMNS": str(width)})
    assert result.exit_code == 0, result.output
    return max(len(ANSI.sub("", line)) for line in result.stdout.splitlines())


@pytest.mark.parametrize("width", [40, 60, 80])
@pytest.mark.parametrize("command", COMMANDS)
def test_no_line_is_wider_than_the_terminal(run, command, width):
    assert widest(run, width, command, SPECS / "resnet50.yaml") <= width
    assert widest(run, width, command, SPECS / "symbolic-cnn.yaml", "--symbolic") <= width


def test_columns_of_least_use_are_left_out_and_named(run):
    out = run("params", SPECS / "resnet50.yaml", env={"COLUMNS": "60"}).stdout.splitlines()
    assert out[1].split() == ["Layer", "Kind", "Output", "shape", "Params", "%"]
    assert "note: left out to fit 60 columns: Buffers (widen the" in out
    out = run("summary", SPECS / "resnet50.yaml", env={"COLUMNS": "40"}).stdout.splitlines()
    assert out[1].split() == ["Layer", "Params", "MACs", "RF"]
    text = " ".join(" ".join(out).split())
    assert "note: left out to fit 40 columns: %, Kind, Output shape (widen" in text


def test_symbolic_footer_wraps_under_its_value(run):
    out = run("summary", SPECS / "symbolic-cnn.yaml", "--symbolic", env={"COLUMNS": "60"}).stdout.splitlines()
    start = out.index("MACs                    432*H*W + 320*floor(H/4)*floor(W/4)")
    assert out[start + 1] == "                        + 4608*floor(H/2)*floor(W/2)"
    out = run("params", SPECS / "symbolic-cnn.yaml", "--symbolic", env={"COLUMNS": "40"}).stdout.splitlines()
    at = out.index("Trainable params")  # a label wider than half the terminal: the value goes under it
    assert out[at + 1] == "    320*floor(H/4)*floor(W/4) + 5098"


def test_footer_with_wide_labels_puts_values_under_them():
    out = io.StringIO()
    report = Report("t", [], [], footer=[("A label as long as the half", "1234567890 1234567890 1234567890")])
    render_table(report, out, 40)
    assert out.getvalue().splitlines() == ["t", "", "A label as long as the half",
                                           "    1234567890 1234567890 1234567890"]


def test_a_tree_deeper_than_the_terminal_ends_in_an_ellipsis():
    rows = [Row("block_name_" + str(d), d, {"params": "1"}, last=True, container=d < 12) for d in range(1, 13)]
    out = io.StringIO()
    render_table(Report("t", [Column("layer", "Layer"), Column("params", "Params", True)], rows), out, 30)
    lines = out.getvalue().splitlines()
    assert max(len(line) for line in lines) <= 30
    assert lines[1] == "Layer                   Params"  # the names give way, not the numbers
    assert lines[3] == "└─block_name_1               1"
    assert lines[-4:] == ["                └─blo…       1", "                  └─b…       1",
                          "                    └…       1", "                     …       1"]


# -- 3. rf: the same rows in every format --------------------------------------------------------------


@pytest.mark.parametrize("args", [(), ("--at", "layer2"), ("--depth", "1"), ("--at", "layer3.0", "--depth", "2")])
def test_rf_rows_agree_across_formats(run, args):
    spec = SPECS / "resnet18.yaml"
    table = run("rf", spec, *args, "--columns", "rf,jump,padding,center", env={"COLUMNS": "200"}).stdout
    lines = table.splitlines()
    rows = lines[3:lines.index("")]
    data = json.loads(run("rf", spec, *args, "--format", "json").stdout)["layers"]
    flat = csv_rows(run, "rf", spec, *args)
    assert len(rows) == len(data) == len(flat)
    assert [r["path"] for r in data] == [r["path"] for r in flat]
    for line, d, c in zip(rows, data, flat):
        name, *cells = line.lstrip("├└│─ ").split()
        assert name == d["path"].rsplit(".", 1)[-1]
        if d["status"] == "local":
            assert cells == [str(d["size"][0]), str(d["stride"][0]), str(d["padding"][0]), str(d["center"][0])]
            assert (c["rf_h"], c["jump_h"], c["padding_h"]) == tuple(str(d[k][0]) for k in ("size", "stride",
                                                                                          "padding"))
        else:
            assert cells == [d["status"], "–", "–", "–"]
            assert c["rf_status"] == d["status"] and c["rf_h"] == ""
    if not args:  # all rows, the global ones after the default --at included
        assert [d["path"] for d in data][-3:] == ["avgpool", "9", "fc"]
    if args[:2] == ("--at", "layer2"):
        assert data[-1]["path"] == "layer2.1.5"  # the last node inside layer2: the rows stop at --at


# -- 4. units in headers --------------------------------------------------------------------------------


def test_headers_carry_their_units(run):
    args = ("summary", SPECS / "seed-mlp.yaml", "--columns", "macs,flops,mem")
    assert run(*args).stdout.splitlines()[1].split() == ["Layer", "MACs", "FLOPs", "Activations", "(B)"]
    assert "| Layer | MACs | FLOPs | Activations (B) |" in run(*args, "--format", "markdown").stdout
    data = json.loads(run("summary", SPECS / "seed-mlp.yaml", "--format", "json").stdout)
    assert (data["layers"][0]["macs"], data["layers"][0]["activation_bytes"]) == (1500, 120)


# -- 5. explanations --------------------------------------------------------------------------------------


def test_shapes_explain_derives_concat_and_residual(run, write):
    spec = write("input: [192, 28, 28]\nlayers:\n  - name: inception\n    concat:\n"
                 "      - [conv2d: {out: 64, kernel: 1}]\n      - [conv2d: {out: 128, kernel: 3, padding: 1}]\n"
                 "      - [conv2d: {out: 32, kernel: 5, padding: 2}]\n"
                 "      - [maxpool2d: {kernel: 3, stride: 1, padding: 1}, conv2d: {out: 32, kernel: 1}]\n"
                 "  - name: res\n    residual:\n      body: [conv2d: {out: 256, kernel: 3, padding: 1, stride: 2}]\n"
                 "      shortcut: auto\n      then: [relu]\n"
                 "  - name: dense\n    concat: [[], [conv2d: {out: 8, kernel: 1}]]\n")
    lines = run("shapes", spec, "--explain", env=WIDE).stdout.splitlines()
    at = lines.index("inception  concat  [192, 28, 28] → [256, 28, 28]")
    assert lines[at + 1:at + 3] == ["    C_o = ΣC = 64 + 128 + 32 + 32 = 256 (4 branches joined along channels)",
                                    "    28 × 28: the other axes, the same in every branch"]
    at = lines.index("res  residual  [256, 28, 28] → [256, 14, 14]")
    assert lines[at + 1:at + 5] == [
        "    body      [256, 28, 28] → [256, 14, 14]",
        "    shortcut  res.shortcut = conv2d + batchnorm2d: [256, 28, 28] → [256, 14, 14] (projection: 'auto', "
        "and the body changes the shape)",
        "    sum       [256, 14, 14] + [256, 14, 14] = [256, 14, 14]",
        "    then      relu: [256, 14, 14] → [256, 14, 14]",
    ]
    assert lines.index("res.shortcut.0  conv2d  [256, 28, 28] → [256, 14, 14]") < at  # parts before the join
    at = lines.index("dense  concat  [256, 14, 14] → [264, 14, 14]")
    assert lines[at + 1] == "    C_o = ΣC = 256 + 8 = 264 (2 branches joined along channels; branch 0 passes the input)"
    data = json.loads(run("shapes", spec, "--explain", "--format", "json").stdout)
    rows = {row["path"]: row for row in data["layers"]}
    assert rows["inception"]["formulas"][0].startswith("C_o = ΣC = 64 + 128 + 32 + 32 = 256")


def test_shapes_explain_identity_residual(run):
    lines = run("shapes", SPECS / "resnet18.yaml", "--explain", env=WIDE).stdout.splitlines()
    at = lines.index("layer1.0  block:basic  [64, 56, 56] → [64, 56, 56]")
    assert lines[at + 1:at + 5] == ["    body      [64, 56, 56] → [64, 56, 56]",
                                    "    shortcut  the input itself (identity)",
                                    "    sum       [64, 56, 56] + [64, 56, 56] = [64, 56, 56]",
                                    "    then      relu: [64, 56, 56] → [64, 56, 56]"]


@pytest.mark.parametrize("spec", ["seed-mlp", "resnet18"])
def test_params_explain_total_lines_up_with_the_derivations(run, spec):
    lines = run("params", SPECS / f"{spec}.yaml", "--explain", env=WIDE).stdout.splitlines()
    *derivations, total = lines[1:]
    starts = {len(re.match(r"\S+\s+\S+\s+", line).group()) for line in derivations}  # after path and kind
    assert starts == {len(re.match(r"total\s+", total).group())}
    if spec == "seed-mlp":
        assert lines[1:] == ["0      linear  (D_i×D)+D = (50×30)+30 = 1530", "2      linear  (D_i×D)+D = (30×3)+3 = 93",
                             "total          1530 + 93 = 1623"]


def test_explanations_wrap_under_their_derivations(run):
    out = run("params", SPECS / "resnet18.yaml", "--explain", env={"COLUMNS": "80"}).stdout.splitlines()
    assert max(map(len, out)) <= 80
    at = out.index("total                               9408 + 128 + 36864 + 128 + 36864 + 128 +")
    assert out[at + 1] == "                                    36864 + 128 + 36864 + 128 + 73728 + 256 +"
    assert out[-1] == "                                    513000 = 11689512"
    for width in (40, 60):
        assert widest(run, width, "params", SPECS / "resnet50.yaml", "--explain") <= width
        assert widest(run, width, "shapes", SPECS / "resnet50.yaml", "--explain") <= width


@pytest.mark.parametrize("command", COMMANDS)
def test_wide_characters_count_two_cells(run, write, command):
    """CJK takes two terminal cells a character: a table measures cells, not characters."""
    import unicodedata

    spec = write("name: 网络\ninput: [3, 8, 8]\nlayers:\n"
                 "  - conv2d: {out: 4, kernel: 3, name: 卷积层卷积层卷积层卷积层卷积层}\n"
                 "  - flatten\n  - linear: {out: 3, name: 全连接层全连接层全连接层全连接层全连接层}\n")
    result = run(command, spec, env={"COLUMNS": "40"})
    assert result.exit_code == 0, result.output
    cells = [sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in line)
             for line in result.stdout.splitlines()]
    assert max(cells) <= 40
    if command == "params":
        assert "     435\n" in result.stdout  # the linear's count survives: its name folds, in cells


def test_csv_paths_that_a_spreadsheet_would_run_are_inert(run, write):
    spec = write('input: [4]\nlayers:\n  - linear: {out: 3, name: "=HYPERLINK(\\"http://x\\")"}\n'
                 '  - relu: {name: "-x"}\n  - relu: {name: "a=b"}\n')
    lines = run("params", spec, "--format", "csv").stdout.splitlines()
    assert lines[1:] == ['"\'=HYPERLINK(""http://x"")",linear,[3],15,100.0,0,1,true',
                         "'-x,relu,[3],0,0.0,0,1,true", "a=b,relu,[3],0,0.0,0,1,true"]


def test_the_one_cell_fast_path_holds_only_one_cell_characters():
    import unicodedata

    from archcalc.report.table import _ONE_CELL

    for cp in range(0x110000):
        ch = chr(cp)
        if _ONE_CELL.fullmatch(ch) and unicodedata.category(ch) != "Cn":
            assert not unicodedata.combining(ch) and unicodedata.east_asian_width(ch) not in "WF", hex(cp)
