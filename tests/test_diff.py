"""``archcalc diff``: layers matched by path, exact deltas per node and in total, Markdown for review,
and ``--rev`` against a real git repository."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.conftest import ROOT

OLD = """\
name: mlp
input: [784]
layers:
  - linear: {out: 256, name: fc1}
  - relu
  - dropout: 0.5
  - linear: {out: 10, name: fc2}
"""
NEW = """\
name: mlp
input: [784]
layers:
  - linear: {out: 128, name: fc1}
  - relu
  - linear: {out: 64, name: extra}
  - relu
  - linear: {out: 10, name: fc2}
"""
GIT = ["git", "-c", "user.name=archcalc tests", "-c", "user.email=tests@example.invalid", "-c", "commit.gpgsign=false",
       "-c", "init.defaultBranch=main"]


def rows(result) -> dict[str, dict]:
    return {row["path"]: row for row in json.loads(result.stdout)["nodes"]}


def test_layers_added_removed_and_changed_with_exact_deltas(run, write):
    result = run("diff", write(OLD), write(NEW), "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    nodes = rows(result)
    assert [(p, n["change"]) for p, n in nodes.items()] == [
        ("fc1", "changed"), ("1", "changed"), ("2", "removed"), ("extra", "added"), ("3", "added"),
        ("fc2", "changed")]
    assert nodes["1"]["details"] == ["input [256] → [128]", "output [256] → [128]"]
    assert nodes["fc1"]["details"] == ["out 256 → 128", "output [256] → [128]"]
    assert nodes["fc1"]["params"] == {"old": 784 * 256 + 256, "new": 784 * 128 + 128, "delta": -(784 * 128 + 128)}
    assert nodes["fc1"]["macs"]["delta"] == -784 * 128
    assert nodes["1"]["activations"] == {"old": 1024, "new": 512, "delta": -512}  # relu's output in fp32 bytes
    assert nodes["extra"]["params"] == {"old": 0, "new": 128 * 64 + 64, "delta": 8256}
    assert nodes["fc2"]["details"] == ["input [256] → [64]"]
    assert data["layers_changed"] == {"added": 2, "removed": 1, "changed": 3}
    old_params, new_params = 784 * 256 + 256 + 2570, 784 * 128 + 128 + 8256 + 650
    assert data["totals"]["params"] == {"old": old_params, "new": new_params, "delta": new_params - old_params}
    assert data["totals"]["macs"]["delta"] == (784 * 128 + 128 * 64 + 640) - (784 * 256 + 2560)


def test_table_and_markdown(run, write):
    old, new = write(OLD, "old.yaml"), write(NEW, "new.yaml")
    table = run("diff", old, new, env={"COLUMNS": "160"}).stdout
    assert table.startswith(f"{old} →") and "what changed (batch 1, fp32)" in " ".join(table.split())
    lines = [line for line in table.splitlines() if line.startswith(("├", "└"))]
    assert lines[0].split() == ["├─fc1", "changed", "linear", "out", "256", "→", "128;", "output", "[256]", "→",
                                "[128]", "-100,480", "-100,352", "-512", "–"]  # an MLP has no receptive field
    assert lines[2].split() == ["├─2", "removed", "dropout", "[256]", "–", "–", "-1,024", "–", "→", "–"]
    assert "\nParams                  203,530 → 109,386 (-94,144, -46.26%)\n" in table
    assert "\nLayers                  4 → 5 (2 added, 1 removed, 3 changed)\n" in table
    markdown = run("diff", old, new, "--format", "markdown").stdout
    assert markdown.startswith(f"**{old} → {new}: what changed (batch 1, fp32)**\n\n| Layer | Change | Kind | What")
    assert "| extra | added | linear | [64] | +8,256 | +8,192 | +256 | – → – |" in markdown
    assert "- Params: 203,530 → 109,386 (-94,144, -46.26%)" in markdown


def test_blocks_carry_the_sum_of_their_changes_and_fold_with_depth(run):
    wide = (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8").replace(
        "{name: layer1, layers: [basic: 64, basic: 64]}", "{name: layer1, layers: [basic: 64, basic: 64, basic: 64]}")
    assert wide != (ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")
    path = ROOT / "specs" / "resnet18.yaml"

    def compare(*args):
        import tempfile

        with tempfile.TemporaryDirectory() as folder:
            new = f"{folder}/resnet18.yaml"
            with open(new, "w", encoding="utf-8") as f:
                f.write(wide)
            return run("diff", path, new, "--format", "json", *args)

    nodes = rows(compare())
    block = 64 * 64 * 9 * 2 + 4 * 64
    assert nodes["layer1"]["params"]["delta"] == block == nodes["layer1.2"]["params"]["new"]
    assert nodes["layer1.2"]["change"] == "added" and nodes["layer1.2.conv1"]["change"] == "added"
    assert "layer2" not in nodes  # nothing in it changed (its receptive field grew: see the totals)
    data = json.loads(compare().stdout)
    assert data["totals"]["params"]["delta"] == block
    assert data["totals"]["receptive_field"] == {"old": "435 at layer4", "new": "451 at layer4"}
    table = compare("--depth", "1")
    assert table.exit_code == 0


def test_identical_specs(run, write):
    result = run("diff", write(OLD), write(OLD))
    assert result.exit_code == 0
    assert "note: no layer or block changed" in result.stdout
    assert "\nParams                  203,530 (unchanged)\n" in result.stdout
    assert run("diff", write(OLD), write(OLD), "--exit-code").exit_code == 0
    assert run("diff", write(OLD), write(NEW), "--exit-code").exit_code == 1
    trained = write(OLD + "train: {batch_size: 64}\n")
    result = run("diff", write(OLD + "train: {batch_size: 32}\n"), trained, "--exit-code")
    assert result.exit_code == 1 and "note: no layer or block changed" in result.stdout
    assert "Training step, batch 32 → 64" in result.stdout


def test_symbols_and_symbolic_deltas(run, write):
    old = write("input: [3, H, W]\nsymbols: {H: 32, W: 32}\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n  - flatten\n"
                "  - linear: 10\n")
    new = write("input: [3, H, W]\nsymbols: {H: 32, W: 32}\nlayers:\n  - conv2d: {out: 8, kernel: 3, stride: 2}\n"
                "  - flatten\n  - linear: 10\n")
    nodes = rows(run("diff", old, new, "--format", "json"))
    assert nodes["2"]["params"]["delta"] == (8 * 15 * 15 - 8 * 30 * 30) * 10
    assert rows(run("diff", old, new, "--format", "json", "--set", "H=64,W=64"))["2"]["params"]["delta"] == \
        (8 * 31 * 31 - 8 * 62 * 62) * 10
    symbolic = rows(run("diff", old, new, "--format", "json", "--symbolic"))
    assert symbolic["2"]["params"] == {"old": "80*H*W - 160*H - 160*W + 330",
                                       "new": "80*floor(H/2 - 1/2)*floor(W/2 - 1/2) + 10",
                                       "delta": "-80*H*W + 160*H + 160*W + 80*floor(H/2 - 1/2)*floor(W/2 - 1/2) - 320"}
    assert symbolic["0"]["details"] == ["stride [1, 1] → [2, 2]",
                                        "output [8, H − 2, W − 2] → [8, ⌊(H − 1)/2⌋, ⌊(W − 1)/2⌋]"]
    bad = run("diff", old, new, "--set", "D=3")
    assert bad.exit_code == 2 and "neither spec has a symbol D" in bad.stderr


def test_a_bad_spec_is_located(run, write):
    result = run("diff", write(OLD), write("input: [3]\nlayers: [lineer: 3]\n", "bad.yaml"))
    assert result.exit_code == 2 and "bad.yaml:2:10: error: unknown layer kind 'lineer'" in result.stderr


# -- --rev ----------------------------------------------------------------------------------------


@pytest.fixture
def repo(tmp_path):
    def git(*args: str) -> None:
        subprocess.run([*GIT, *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "models").mkdir()
    spec = tmp_path / "models" / "mlp.yaml"
    spec.write_text(OLD, encoding="utf-8")
    git("init", "-q")
    git("add", "-A")
    git("commit", "-q", "-m", "old")
    spec.write_text(NEW, encoding="utf-8")
    return tmp_path, git


def test_rev_compares_the_file_with_itself_in_another_revision(run, repo, monkeypatch):
    folder, git = repo
    monkeypatch.chdir(folder / "models")  # any working folder: the path is resolved, not the cwd
    result = run("diff", "--rev", "HEAD", "mlp.yaml", "--format", "json")
    assert result.exit_code == 0, result.stderr
    data = json.loads(result.stdout)
    assert (data["old"], data["new"]) == ("mlp.yaml@HEAD", "mlp.yaml")
    assert data["layers_changed"] == {"added": 2, "removed": 1, "changed": 3}
    git("commit", "-q", "-am", "new")
    monkeypatch.chdir(folder)
    assert json.loads(run("diff", "--rev", "HEAD~1", "models/mlp.yaml", "--format", "json").stdout)[
        "layers_changed"] == {"added": 2, "removed": 1, "changed": 3}
    assert "no layer or block changed" in run("diff", "--rev", "HEAD", "models/mlp.yaml").stdout


def test_rev_errors_say_what_is_wrong(run, repo, tmp_path_factory):
    folder, _ = repo
    spec = folder / "models" / "mlp.yaml"
    unknown = run("diff", "--rev", "nosuchrev", spec)
    assert unknown.exit_code == 2 and f"{spec}:1:1: error: cannot read it at nosuchrev:" in unknown.stderr
    (folder / "models" / "new.yaml").write_text(NEW, encoding="utf-8")
    missing = run("diff", "--rev", "HEAD", folder / "models" / "new.yaml")
    assert missing.exit_code == 2 and "the file is not in HEAD" in missing.stderr
    elsewhere = tmp_path_factory.mktemp("not-a-repo") / "x.yaml"
    elsewhere.write_text(OLD, encoding="utf-8")
    outside = run("diff", "--rev", "HEAD", elsewhere)
    assert outside.exit_code == 2 and "give both files instead" in outside.stderr
    assert run("diff", "--rev", "--output=x", spec).exit_code == 2
    two = run("diff", "--rev", "HEAD", spec, spec)
    assert two.exit_code == 2 and "--rev compares one spec with itself" in two.stderr
    one = run("diff", spec)
    assert one.exit_code == 2 and "give two specs, OLD and NEW" in one.stderr


def test_a_table_cut_to_the_terminal_points_only_to_options_diff_has():
    from click.testing import CliRunner

    from archcalc.cli import main

    result = CliRunner(env={"COLUMNS": "60"}).invoke(main, ["diff", "specs/vgg11.yaml", "specs/vgg16.yaml",
                                                            "--depth", "1"])
    assert result.exit_code == 0
    note = " ".join(result.output.split("note: left out to fit 60 columns:")[1].split())
    assert "--format json has every column" in note and "--columns" not in note and "csv" not in note
