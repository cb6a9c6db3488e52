"""The CLI under misuse and bugs: internal errors without tracebacks, control characters from a spec
never reaching the terminal raw, the collector given back after each command, misspelt commands,
malformed option values and output names that do not match what is written."""

from __future__ import annotations

import ast
import gc
import sys

import click
import pytest
from click.testing import CliRunner

from archcalc import __version__
from archcalc.cli.common import handle_errors
from archcalc.errors import printable
from tests.conftest import SPECS, archcalc_process

SEED = SPECS / "seed-mlp.yaml"
REPORT = (f"  hint: this is a bug in archcalc {__version__}; please report it with the spec. "
          "Set ARCHCALC_DEBUG=1 to see the traceback\n")


def crash(*args: object, **kwargs: object) -> None:
    raise ZeroDivisionError("division by zero\nin a calculator")


# -- 1. a bug is one located line and exit 2; ARCHCALC_DEBUG=1 shows the traceback ----------------------


def test_a_bug_in_a_command_is_an_internal_error_not_a_traceback(run, monkeypatch):
    monkeypatch.setattr("archcalc.cli.params.params_report", crash)
    result = run("params", SEED)
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == (f"{SEED}:1:1: internal error: ZeroDivisionError: division by zero in a calculator\n"
                             + REPORT)


def test_a_bug_before_the_command_runs_is_an_internal_error_too(run, monkeypatch):
    """An option's callback runs before the command's error handler: the group's guard catches it."""
    monkeypatch.setattr("archcalc.cli.common.parse_settings", crash)
    result = run("params", SEED, "--set", "H=3")
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr == "internal error: ZeroDivisionError: division by zero in a calculator\n" + REPORT
    with pytest.raises(ZeroDivisionError):
        run("params", SEED, "--set", "H=3", env={"ARCHCALC_DEBUG": "1"})


def test_archcalc_debug_lets_the_traceback_through(run, monkeypatch):
    monkeypatch.setattr("archcalc.cli.params.params_report", crash)
    with pytest.raises(ZeroDivisionError, match="division by zero"):
        run("params", SEED, env={"ARCHCALC_DEBUG": "1"})
    assert run("params", SEED, env={"ARCHCALC_DEBUG": "0"}).exit_code == 2  # 0 means off


def test_a_real_process_prints_one_line_and_exits_2_and_the_traceback_only_when_asked():
    code = ("import sys, archcalc.cli.shapes as m\n"
            "def crash(*a, **k): raise KeyError('shape')\n"
            "m.shapes_report = crash\n"
            "from archcalc.cli import main\n"
            f"main(['shapes', {str(SEED)!r}])\n")
    result = archcalc_process_code(code)
    assert result.returncode == 2
    assert result.stderr == f"{SEED}:1:1: internal error: KeyError: 'shape'\n" + REPORT
    debug = archcalc_process_code(code, env_debug=True)
    assert debug.returncode == 1 and "Traceback (most recent call last)" in debug.stderr
    assert debug.stderr.rstrip().endswith("KeyError: 'shape'")


def archcalc_process_code(code: str, env_debug: bool = False):
    import os
    import subprocess

    env = {**os.environ, "ARCHCALC_DEBUG": "1" if env_debug else ""}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)


def test_a_command_without_a_spec_reports_the_bug_without_a_location(run, monkeypatch):
    monkeypatch.setattr("archcalc.cli.layers.list_kinds", crash)
    result = run("layers")
    assert result.exit_code == 2
    assert result.stderr == "internal error: ZeroDivisionError: division by zero in a calculator\n" + REPORT


@pytest.mark.parametrize("raised, code, shown", [
    (click.exceptions.Exit(3), 3, ""),
    (click.Abort(), 1, "Aborted!\n"),
    (click.UsageError("no good"), 2, "Error: no good\n"),
    (click.ClickException("plain"), 1, "Error: plain\n"),
    (SystemExit(5), 5, ""),
])
def test_clicks_own_exceptions_and_exits_pass_through(raised, code, shown):
    @click.command()
    @handle_errors
    def command() -> None:
        raise raised

    result = CliRunner().invoke(command, [], catch_exceptions=False)
    assert result.exit_code == code
    assert result.stderr.endswith(shown) and "internal error" not in result.stderr


@pytest.mark.parametrize("target, patch", [
    ("torch", "archcalc.backends.torch.source._Emitter.module"),
    ("numpy", "archcalc.backends.numpy.source._header"),
])
def test_generated_source_that_does_not_parse_is_an_internal_error_and_nothing_is_written(
        target, patch, run, monkeypatch, tmp_path):
    monkeypatch.setattr(patch, lambda *args: "def broken(:\n")
    out = tmp_path / "model.py"
    result = run("export", SEED, "--to", target, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{SEED}:1:1: internal error: SyntaxError: ") and result.stderr.endswith(REPORT)
    assert list(tmp_path.iterdir()) == []


# -- 2. control characters from a spec are shown as escapes ------------------------------------------------

HOSTILE = 'name: "a\\u001b[31mred"\ninput: [4]\nlayers:\n  - linear: {out: 3}\n    name: "fc\\rX\\u202e"\n  - relu\n'


def raw_controls(text: str) -> set[str]:
    return {c for c in text if c in "\x1b\r\x07\u202e" or (ord(c) < 0x20 and c != "\n")}


def test_printable_escapes_controls_and_keeps_every_other_character():
    assert printable("a\x1b[31mred\r\x07\u202e\x9b") == "a\\x1b[31mred\\r\\x07\\u202e\\x9b"
    assert printable("tab\there") == "tab\\there"
    assert printable("déjà vu ✓ 层") == "déjà vu ✓ 层"
    assert printable("- repeat: 3\n    layers: [\x1b]", newlines=True) == "- repeat: 3\n    layers: [\\x1b]"


@pytest.mark.parametrize("command, fmt", [("params", "table"), ("params", "markdown"), ("shapes", "table"),
                                          ("summary", "table"), ("summary", "csv"), ("rf", "table"),
                                          ("flops", "markdown")])
def test_text_reports_show_names_with_escapes(command, fmt, run, write):
    result = run(command, write(HOSTILE), "--format", fmt)
    assert result.exit_code == 0, result.output
    assert raw_controls(result.stdout) == set()
    if fmt != "csv":
        assert "a\\x1b[31mred: " in result.stdout
    assert "fc\\rX\\u202e" in result.stdout


def test_json_keeps_the_names_exact_as_json_escapes(run, write):
    result = run("params", write(HOSTILE), "--format", "json")
    assert '"model": "a\\u001b[31mred"' in result.stdout and '"path": "fc\\rX\u202e"' in result.stdout
    assert "\x1b" not in result.stdout and "\r" not in result.stdout


def test_an_error_quoting_spec_text_shows_it_escaped(run, write):
    path = write('input: [4]\nlayers:\n  - "re\\u001b[2Jlu"\n')
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:3:5: error: unknown layer kind 're\\x1b[2Jlu'\n")
    assert raw_controls(result.stderr) == set()


def test_a_file_path_with_control_characters_is_shown_escaped(run, tmp_path):
    missing = tmp_path / "no\x1b[2Jsuch.yaml"
    result = run("params", missing)
    assert result.exit_code == 2
    assert result.stderr == f"{tmp_path}/no\\x1b[2Jsuch.yaml:1:1: error: no such file\n  hint: check the path\n"


@pytest.mark.parametrize("fmt", ["concise", "full"])
def test_lint_findings_show_layer_names_escaped(fmt, run, write):
    path = write("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n    name: \"c\\u001b[5mv\"\n"
                 "  - batchnorm2d\n  - relu\n")
    result = run("lint", path, "--isolated", "--extend-select", "N105", "--format", fmt)
    assert "`c\\x1b[5mv`" in result.stdout, result.output
    assert raw_controls(result.stdout) == set()


# -- 3. the collector's permanent generation is given back after each command ------------------------------


def test_a_command_unfreezes_what_it_froze(run, write, monkeypatch):
    from archcalc.cli import params as command

    during = []
    report = command.params_report
    monkeypatch.setattr(command, "params_report", lambda *a: (during.append(gc.get_freeze_count()), report(*a))[1])
    assert gc.get_freeze_count() == 0
    assert run("params", SEED).exit_code == 0
    assert during[0] > 0  # the model was frozen while the report was built
    assert gc.get_freeze_count() == 0
    assert run("params", write("input: [4]\nlayers: [linear: 0]\n")).exit_code == 2  # and after an error
    assert gc.get_freeze_count() == 0


# -- 4. a misspelt command ----------------------------------------------------------------------------------


@pytest.mark.parametrize("typed, error", [
    ("parms", "Error: No such command 'parms'. Did you mean 'params'?\n"),
    ("shape", "Error: No such command 'shape'. Did you mean 'shapes'?\n"),
    ("expotr", "Error: No such command 'expotr'. Did you mean 'export'?\n"),
    ("zzz", "Error: No such command 'zzz'.\n"),
    ("\x1b[2J", "Error: No such command '\\x1b[2J'.\n"),
])
def test_an_unknown_command_suggests_the_closest(typed, error, run):
    result = run(typed, SEED)
    assert result.exit_code == 2
    assert result.stderr.endswith("Try 'main --help' for help.\n\n" + error)


# -- 5. malformed --set and --limit values: one format --------------------------------------------------------


@pytest.mark.parametrize("option, value, message", [
    ("--set", "H", "'H': must look like NAME=VALUE, e.g. H=224"),
    ("--set", "1H=2", "'1H=2': must look like NAME=VALUE, e.g. H=224"),
    ("--set", "H=x", "'H=x': the value must be a whole number ≥ 1, e.g. H=224"),
    ("--set", "H=0", "'H=0': the value must be a whole number ≥ 1, e.g. H=224"),
    ("--set", "H=-3", "'H=-3': the value must be a whole number ≥ 1, e.g. H=224"),
    ("--set", "H=2.5", "'H=2.5': the value must be a whole number ≥ 1, e.g. H=224"),
    ("--set", "H=²", "'H=²': the value must be a whole number ≥ 1, e.g. H=224"),
    ("--set", "H=\x1b[2J", "'H=\\x1b[2J': the value must be a whole number ≥ 1, e.g. H=224"),
    ("--limit", "max_layers", "'max_layers': must look like NAME=VALUE, e.g. max_layers=200000"),
    ("--limit", "max_layers=0", "'max_layers=0': the value must be a whole number ≥ 1, e.g. max_layers=200000"),
    ("--limit", "max_depth=-1", "'max_depth=-1': the value must be a whole number ≥ 1, e.g. max_layers=200000"),
    ("--limit", "max_layer=5", "'max_layer=5': unknown limit; did you mean 'max_layers'?"),
    ("--limit", "speed=5", "'speed=5': unknown limit; valid limits: max_bytes, max_data_bytes, max_depth, "
                           "max_expr_chars, max_int, max_layers, max_nesting, max_nodes"),
])
def test_a_malformed_option_value_names_the_item_the_problem_and_an_example(option, value, message, run):
    path = SPECS / "symbolic-cnn.yaml"
    result = run("params", path, option, value)
    assert result.exit_code == 2
    assert result.stderr.endswith(f"Error: Invalid value for '{option}': {message}\n")


def test_a_malformed_environment_limit_names_the_variable(run):
    result = run("params", SEED, env={"ARCHCALC_LIMITS": "max_nodes=0"})
    assert result.exit_code == 2
    assert result.stderr.endswith("Error: ARCHCALC_LIMITS: 'max_nodes=0': the value must be a whole number ≥ 1, "
                                  "e.g. max_layers=200000\n")


# -- 6. output names that do not match what is written; -o - ---------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["train", SEED, "-o", "w.pt"], "Invalid value for '-o' / '--output': 'w.pt': the weights file is a .npz file; "
                                    "name it w.npz"),
    (["train", SEED, "--plot", "curves.jpg"], "Invalid value for '--plot': 'curves.jpg': the plot is a .png file; "
                                              "name it curves.png"),
    (["export", SEED, "--to", "onnx", "-o", "model.py"], "Invalid value for '-o' / '--output': 'model.py': the onnx "
                                                         "export is a .onnx file; name it model.onnx"),
    (["export", SEED, "--to", "torch", "-o", "model.onnx"], "Invalid value for '-o' / '--output': 'model.onnx': the "
                                                            "torch export is a .py file; name it model.py"),
    (["export", SEED, "--to", "numpy", "-o", "model"], "Invalid value for '-o' / '--output': 'model': the numpy "
                                                       "export is a .py file; name it model.py"),
    (["export", SEED, "--to", "torch", "-o", ""], "Invalid value for '-o' / '--output': '': the torch export needs a "
                                                  "file name; name it model.py"),
    (["export", SEED, "--to", "torch", "-o", ".py"], "Invalid value for '-o' / '--output': '.py': the torch export "
                                                     "needs a file name; name it model.py"),
    (["train", SEED, "-o", "runs/"], "Invalid value for '-o' / '--output': 'runs/': the weights file needs a file "
                                     "name; name it runs/model.npz"),
    (["export", SEED, "--to", "onnx", "-o", "-"], "Invalid value for '-o' / '--output': '-': the onnx export is a "
                                                  "binary file, not printed to standard output; name a file, "
                                                  "e.g. -o model.onnx"),
])
def test_an_output_name_that_does_not_match_is_refused_before_any_work(args, message, run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr.endswith(f"Error: {message}\n")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("target, marker", [("torch", "class SeedMlp(nn.ModuleDict):"),
                                            ("numpy", "import numpy as np")])
def test_export_to_dash_prints_the_source(target, marker, run, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = run("export", SEED, "--to", target, "-o", "-")
    assert result.exit_code == 0, result.output
    assert marker in result.stdout
    ast.parse(result.stdout)
    assert result.stderr == "" and list(tmp_path.iterdir()) == []


def test_the_python_api_writes_nothing_binary_to_standard_output():
    from archcalc.errors import SpecError
    from archcalc.files import write_atomic

    with pytest.raises(SpecError, match="binary output is not written to standard output"):
        write_atomic("-", b"\x00\x01")


# -- 7. training settings come from the spec layer; one list of backends ----------------------------------------


def test_a_spec_without_train_gets_the_defaults_from_the_spec_layer():
    import archcalc
    from archcalc.spec.train import TrainSpec

    settings = TrainSpec.of(archcalc.load(str(SEED)).spec)
    assert (settings.task, settings.loss, settings.optimizer.name, settings.optimizer.lr, settings.batch_size,
            settings.epochs, settings.weight_decay, settings.seed) == \
        ("classification", "cross_entropy", "sgd", 0.01, 32, 10, 0.0, None)
    assert settings.loc == (str(SEED), 1, 1)


def test_the_backend_choices_are_the_backends_table():
    from archcalc.cli.train import train
    from archcalc.training import BACKENDS

    (backend,) = [p for p in train.params if p.name == "backend"]
    assert list(backend.type.choices) == list(BACKENDS) == ["numpy", "torch"]


@pytest.mark.slow
def test_training_with_torch_never_imports_the_numpy_backend(tmp_path):
    import numpy as np

    rng = np.random.default_rng(0)
    data = tmp_path / "data.npz"
    np.savez(data, x=rng.normal(size=(40, 50)).astype("float32"), y=rng.integers(0, 3, 40))
    code = ("import sys\nfrom archcalc.cli import main\n"
            f"main(['train', {str(SEED)!r}, '--backend', 'torch', '--data', {str(data)!r}, '--epochs', '1', "
            "'--format', 'json'], standalone_mode=False)\n"
            "print(sorted(m for m in sys.modules if m.startswith('archcalc.backends.numpy')))\n")
    result = archcalc_process_code(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip().endswith("[]")
    assert "has no train: section; training with the defaults (classification, cross_entropy, sgd lr 0.01, " \
           "batch 32, 10 epochs)" in result.stderr


# -- 8. the unknown top-level key names the x- escape hatch ------------------------------------------------------


def test_an_unknown_top_level_key_points_at_x_keys(run, write):
    path = write("input: [3]\nlayers: [relu]\nauthor: me\n")
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:1: error: unknown top-level key 'author'\n  hint: valid keys: blocks, budget, "
                             "data, description, input, layers, name, symbols, train; keys starting with x- are "
                             "ignored, for your own metadata (x-author: ...)\n")
    assert run("params", write("input: [3]\nlayers: [relu]\nx-author: me\n")).exit_code == 0
    assert run("params", write("input: [3]\nlayer: [relu]\n")).stderr.endswith("  hint: did you mean 'layers'?\n")


def test_the_real_cli_suggests_a_command():
    result = archcalc_process("parms", SEED)
    assert result.returncode == 2
    assert result.stderr.endswith("Error: No such command 'parms'. Did you mean 'params'?\n")


def test_a_name_given_twice_and_binary_outputs_to_stdout_are_refused(run):
    for args in (["--set", "H=4,H=8"], ["--set", "H=4", "--set", "H=8"]):
        result = run("params", SPECS / "symbolic-cnn.yaml", *args)
        assert result.exit_code == 2 and "Invalid value for '--set': 'H=8': H is given twice" in result.stderr
    result = run("train", SEED, "-o", "-")
    assert result.exit_code == 2
    assert "'-': the weights file is a binary .npz file, not printed; name a file, e.g. out.npz" in result.stderr
