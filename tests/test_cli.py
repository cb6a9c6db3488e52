"""The command line itself: help, version, python -m, the layers command, formats and folding."""

from __future__ import annotations

import json

from archcalc import __version__
from archcalc.cli import COMMANDS, main
from archcalc.layers import LAYERS
from tests.conftest import SPECS, archcalc_process


def test_help_lists_every_command(run):
    result = run("--help")
    assert result.exit_code == 0
    for name in COMMANDS:
        assert name in result.stdout


def test_every_command_has_help(run):
    for name in COMMANDS:
        command = main.get_command(None, name)
        assert command.help, f"{name} has no help"
        assert run(name, "--help").exit_code == 0


def test_version(run):
    assert run("--version").stdout.strip() == f"archcalc, version {__version__}"


def test_python_dash_m():
    proc = archcalc_process("params", SPECS / "seed-mlp.yaml", "--format", "json")
    assert proc.returncode == 0
    assert json.loads(proc.stdout)["trainable_params"] == 1623


def test_unknown_command_is_a_usage_error(run):
    result = run("paramz")
    assert result.exit_code == 2


def test_layers_lists_every_kind(run):
    out = run("layers").stdout
    for kind, cls in LAYERS.items():
        if kind == cls.kind:
            assert out.count(f"\n{kind} ") + out.startswith(f"{kind} ") == 1


def test_layers_documents_one_kind(run):
    out = run("layers", "conv2d").stdout
    assert out.startswith("# conv2d (also: conv)")
    assert "padding" in out and "int, [ph, pw], same or valid" in out
    result = run("layers", "conv2")
    assert result.exit_code == 2 and "did you mean 'conv2d'" in result.stderr


def test_every_kind_is_documented():
    for cls in set(LAYERS.values()):
        doc = (cls.__doc__ or "").strip()
        assert doc and "Example" in doc, f"{cls.kind} lacks a docstring with an example"
        for name, arg in cls.ARGS.items():
            assert arg.doc, f"{cls.kind}.{name} has no doc"


def test_depth_folds_blocks(run):
    folded = run("params", SPECS / "resnet18.yaml", "--depth", "1").stdout
    full = run("params", SPECS / "resnet18.yaml").stdout
    assert "layer4" in folded and "conv2" not in folded.split("layer1")[1]
    assert "8,393,728" in folded  # layer4's total, as torchinfo shows it
    assert len(full.splitlines()) > 3 * len(folded.splitlines())


def test_markdown_table(run):
    out = run("params", SPECS / "seed-mlp.yaml", "--format", "markdown").stdout
    assert "| Layer | Kind | Output shape | Params | % | Buffers |" in out
    assert "| 0 | linear | [30] | 1,530 | 94.27% | – |" in out


def test_table_fits_narrow_terminals(run):
    result = run("shapes", SPECS / "symbolic-cnn.yaml", env={"COLUMNS": "60"})
    assert result.exit_code == 0
    assert max(len(line) for line in result.stdout.splitlines()) <= 60


def test_shapes_explain_derives_each_size(run):
    out = run("shapes", SPECS / "resnet18.yaml", "--explain").stdout
    assert "conv1  conv2d  [3, 224, 224] → [64, 112, 112]" in out
    assert "H_o = W_o = ⌊(H+2×P−F)/S⌋+1 = ⌊(224+2×3−7)/2⌋+1 = 112" in out
    assert "maxpool  maxpool2d  [64, 112, 112] → [64, 56, 56]" in out


def test_explain_symbolic_keeps_formula(run):
    out = run("params", SPECS / "symbolic-mlp.yaml", "--explain").stdout
    assert "(D_i×D)+D = D×D_i + D" in out


def test_export_default_file_name_is_importable(run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("export", SPECS / "seed-mlp.yaml", "--to", "numpy")
    assert result.exit_code == 0, result.output
    assert (tmp_path / "seed_mlp.py").is_file()
    assert run("export", SPECS / "seed-mlp.yaml", "--to", "numpy").exit_code == 2  # no --force: kept


def test_params_counts_instance_norm_and_channel_dropout_as_torch_does(run, write):
    """nn.InstanceNorm*d holds γ and β (2C) only with affine=True and running mean, variance and
    num_batches_tracked (2C + 1) only with track_running_stats=True; nn.Dropout*d holds nothing."""
    spec = write("input: [3, 16, 16]\nlayers:\n"
                 "  - conv2d: {out: 8, kernel: 3, padding: 1}\n"  # 3·8·9 + 8 = 224
                 "  - instancenorm2d\n"  # torch's defaults: 0, no buffers
                 "  - dropout2d: 0.1\n"
                 "  - conv2d: {out: 6, kernel: 3, padding: 1, bias: false}\n"  # 8·6·9 = 432
                 "  - instancenorm2d: {affine: true, track_running_stats: true}\n"  # 2·6 = 12; buffers 2·6 + 1 = 13
                 "  - flatten: {start: 1}\n"
                 "  - instancenorm1d: {affine: true}\n"  # [6, 256]: 2·6 = 12
                 "  - dropout1d\n"
                 "  - reshape: [6, 16, 4, 4]\n"
                 "  - instancenorm3d: {track_running_stats: true}\n"  # buffers 2·6 + 1 = 13
                 "  - dropout3d: 0.5\n")
    result = run("params", spec, "--format", "json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert (report["trainable_params"], report["buffers"]) == (224 + 432 + 12 + 12, 13 + 13)
    assert [(layer["kind"], layer["params"], layer["buffers"]) for layer in report["layers"]] == [
        ("conv2d", 224, 0), ("instancenorm2d", 0, 0), ("dropout2d", 0, 0), ("conv2d", 432, 0),
        ("instancenorm2d", 12, 13), ("flatten", 0, 0), ("instancenorm1d", 12, 0), ("dropout1d", 0, 0),
        ("reshape", 0, 0), ("instancenorm3d", 0, 13), ("dropout3d", 0, 0)]
