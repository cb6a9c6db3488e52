"""``archcalc export --to torch``: a readable, ruff-clean file that needs only torch, written safely,
and inert whatever the spec's names are."""

from __future__ import annotations

import ast
import doctest
import json
import os
import subprocess
import sys
import textwrap

import pytest
import torch

import archcalc
from archcalc.backends.torch import layers, layout, source
from archcalc.backends.torch.source import camel, emit, literal, string
from archcalc.errors import SpecError
from tests.conftest import ROOT, SPECS, shipped_specs
from tests.export_cases import SIZES, suite_specs
from tests.torch_helpers import import_file

EXAMPLES = {"resnet50": ROOT / "docs/examples/resnet50_torch.py", "vgg16": ROOT / "docs/examples/vgg16_torch.py"}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_examples_in_the_docs_are_what_the_exporter_writes(name):
    expected = emit(archcalc.load(str(SPECS / f"{name}.yaml")))
    assert EXAMPLES[name].read_text(encoding="utf-8") == expected, (
        f"regenerate with: archcalc export specs/{name}.yaml --to torch -o {EXAMPLES[name].relative_to(ROOT)} "
        "--force")


def test_generated_files_are_ruff_clean_and_already_formatted(tmp_path):
    for spec in [*shipped_specs(), *suite_specs()]:
        try:
            model = archcalc.load(str(spec), **SIZES.get(spec.stem, {}))
        except SpecError:
            continue  # a linter fixture that is meant not to build
        (tmp_path / f"{spec.stem.replace('-', '_')}.py").write_text(emit(model), encoding="utf-8")
    ruff = [sys.executable, "-m", "ruff"]
    strict = ["check", "--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF,N", "--ignore", "N801", str(tmp_path)]
    for args in (strict, ["check", "--config", str(ROOT / "pyproject.toml"), str(tmp_path)],
                 ["format", "--isolated", "--check", str(tmp_path)]):
        proc = subprocess.run([*ruff, *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr


def test_a_residual_block_shows_its_addition_and_a_concat_its_concatenation():
    text = emit(archcalc.load(str(SPECS / "resnet50.yaml")))
    assert "class BottleneckProjection(nn.ModuleDict):" in text
    assert "        y = y + self.downsample(x)\n        return self[\"9\"](y)\n" in text
    assert "        y = y + x\n        return self[\"8\"](y)\n" in text
    assert "            BottleneckIdentity(in_channels=512, c=128),\n" in text
    assert "class Resnet50(nn.ModuleDict):" in text and "    return Resnet50()\n" in text
    inception = emit(archcalc.load(str(ROOT / "tests/specs/export/inception-mini.yaml")))
    assert "        return torch.cat([self.b1x1(x), self[\"1\"](x), self[\"2\"](x), x], dim=1)\n" in inception
    assert "class Mixed(nn.ModuleDict):" in inception
    assert "        self.mixed2 = Mixed(in_channels=24, c=8, grouped_out_channels=16)\n" in inception


@pytest.mark.parametrize("module", [layers, layout])
def test_the_docstring_examples_run(module):
    assert doctest.testmod(module).failed == 0


def test_literals_and_names():
    for text in ["conv1", 'say "hi"', "it's", "back\\slash", "new\nline", "\u2028", "\x00", "größe", "😀", "'''"]:
        assert ast.literal_eval(string(text)) == text
        assert string(text).isascii()
    assert string("conv1") == '"conv1"'
    assert [ast.literal_eval(source.flat(literal(v))) for v in [(3,), (1, 2), 0.1, True, None, "same"]] == \
        [(3,), (1, 2), 0.1, True, None, "same"]
    assert [camel(n) for n in ["resnet50", "vgg16_bn", "seed-mlp", "ResNet", "awkward names!"]] == \
        ["Resnet50", "Vgg16Bn", "SeedMlp", "ResNet", "AwkwardNames"]


HOSTILE = textwrap.dedent('''\
    name: "x\\"); import os; os·system('touch pwned'); (\\""
    input: [3, 8, 8]
    blocks:
      unit(c):
        - residual:
            body:
              - conv2d: {out: c, kernel: 3, padding: 1, name: "\\"); import os; (\\""}
              - relu: {name: "__import__('os')"}
              - conv2d: {out: 2 * c, kernel: 1, name: "x\\nimport os\\n"}
              - conv2d: {out: 3 * c, kernel: 1, name: "x\\timport os\\t"}
            shortcut: auto
            then: [relu: {name: "''' + "'''" + '''"}]
    layers:
      - unit: {c: 4, name: "\\"\\"\\"; open('pwned', 'w')"}
      - unit: {c: 6, name: "clé ünïcode"}
      - unit: {c: 6, name: "clé_ünïcode"}
      - unit: {c: 6, name: "again"}
      - concat:
          - [conv2d: {out: 2, kernel: 1, name: "a b"}]
          - [conv2d: {out: 2, kernel: 1, name: "a_b"}]
          - [conv2d: {out: 2, kernel: 1, name: "\\\\"}]
      - global_avgpool2d: {name: "forward"}
      - linear: {out: 3, name: "self"}
    ''')
#: the model's imports, and those of the training entry point (in ``main``: an argument parser, NumPy for the .npz)
ALLOWED_IMPORTS = {("collections", "OrderedDict"), ("torch", None), ("torch", "nn"), ("argparse", None),
                   ("numpy", None), ("os", None), ("sys", None)}


@pytest.mark.slow
def test_hostile_names_produce_inert_code(write, tmp_path):
    model = archcalc.load(str(write(HOSTILE)))
    text = emit(model)
    tree = ast.parse(text)
    imports = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imports |= {(alias.name, None) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            imports |= {(node.module, alias.name) for alias in node.names}
        elif isinstance(node, ast.Name):
            assert node.id not in {"open", "eval", "exec", "__import__", "getattr", "compile"}, node.id
        elif isinstance(node, ast.Attribute):
            assert node.attr not in {"system", "popen"}, node.attr
    # os is there for one thing only: main() ends a torchrun process with os._exit (training_source)
    uses = [n for n in ast.walk(tree) if isinstance(n, ast.Attribute) and getattr(n.value, "id", None) == "os"]
    assert [n.attr for n in uses] == ["_exit"]
    assert sum(isinstance(n, ast.Name) and n.id == "os" for n in ast.walk(tree)) == 1
    assert imports <= ALLOWED_IMPORTS
    # class and parameter names are made from hostile names (and collide after sanitising): the Namer's
    classes = {n.name: n for n in tree.body if isinstance(n, ast.ClassDef)}
    assert list(classes) == ["GlobalAvgPool2d", "UnitProjection", "UnitIdentity", "Concat",
                             "XImportOsOsSystemTouchPwned"]
    init = classes["UnitProjection"].body[1]
    # ``c`` varies as the block's argument does, so it keeps the spec's name
    assert [a.arg for a in init.args.args] == ["self", "in_channels", "c", "x_import_os__out_channels",
                                               "x_import_os__out_channels_2"]

    work = tmp_path / "work"
    work.mkdir()
    file = tmp_path / "hostile_model.py"
    file.write_text(text, encoding="utf-8")
    program = textwrap.dedent(f"""\
        import importlib.util, json, sys
        events = []
        watched = {{"os.system", "subprocess.Popen", "os.exec", "os.posix_spawn", "os.remove", "os.rename",
                    "shutil.rmtree", "socket.connect"}}
        def audit(event, args):
            if event in watched or (event == "open" and isinstance(args[1], str) and set(args[1]) & set("wax+")):
                events.append(event)
        import torch
        sys.addaudithook(audit)
        spec = importlib.util.spec_from_file_location("hostile_model", {str(file)!r})
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        model = module.build_model().eval()
        out = model(torch.randn(2, *module.INPUT_SHAPE))
        print(json.dumps({{"events": events, "shape": list(out.shape), "globals": sorted(vars(module))}}))
        """)
    proc = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, cwd=work)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["events"] == []
    assert result["shape"] == [2, 3]
    assert "os" not in result["globals"]
    assert os.listdir(work) == []
    assert not (tmp_path / "pwned").exists()


def test_the_runtime_module_and_the_file_agree_on_hostile_names(write, tmp_path):
    model = archcalc.load(str(write(HOSTILE)))
    runtime = archcalc.to_torch(model).eval()
    file = tmp_path / "hostile.py"
    file.write_text(emit(model), encoding="utf-8")
    generated = import_file(file).build_model().eval()
    generated.load_state_dict(runtime.state_dict())
    assert list(generated.state_dict()) == list(runtime.state_dict())
    assert '\"\"\"; open(\'pwned\', \'w\').\"); import os; (\".weight' in runtime.state_dict()
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        torch.testing.assert_close(generated(x), runtime(x), rtol=0, atol=0)


def test_export_writes_once_and_overwrites_only_with_force(run, tmp_path):
    out = tmp_path / "model.py"
    result = run("export", SPECS / "lenet5.yaml", "--to", "torch", "-o", out)
    assert result.exit_code == 0 and result.stderr == f"wrote {out}\n"
    assert out.read_text(encoding="utf-8") == emit(archcalc.load(str(SPECS / "lenet5.yaml")))
    out.write_text("# mine\n", encoding="utf-8")
    result = run("export", SPECS / "seed-mlp.yaml", "--to", "torch", "-o", out)
    assert result.exit_code == 2
    assert result.stderr == f"{out}:1:1: error: already exists\n  hint: pass --force to overwrite it\n"
    assert out.read_text(encoding="utf-8") == "# mine\n"
    result = run("export", SPECS / "seed-mlp.yaml", "--to", "torch", "-o", out, "--force")
    assert result.exit_code == 0
    assert "class SeedMlp(nn.ModuleDict):" in out.read_text(encoding="utf-8")
    assert os.listdir(tmp_path) == ["model.py"]


def test_export_takes_symbols_from_set_and_refuses_free_ones(run, tmp_path):
    out = tmp_path / "cnn.py"
    result = run("export", SPECS / "symbolic-cnn.yaml", "--to", "torch", "-o", out)
    assert result.exit_code == 2 and "H, W must have values to export" in result.stderr
    assert not out.exists()
    assert run("export", SPECS / "symbolic-cnn.yaml", "--to", "torch", "--set", "H=32,W=24", "-o", out).exit_code == 0
    generated = import_file(out)
    assert generated.INPUT_SHAPE == (3, 32, 24)
    assert generated.build_model()(torch.randn(1, 3, 32, 24)).shape == (1, 10)


def test_nothing_is_written_when_the_text_does_not_parse_or_writing_is_interrupted(monkeypatch, tmp_path):
    model = archcalc.load(str(SPECS / "seed-mlp.yaml"))
    out = tmp_path / "model.py"
    monkeypatch.setattr(source._Emitter, "module", lambda self: "def broken(:\n")
    with pytest.raises(SyntaxError):
        source.export(model, str(out))
    monkeypatch.undo()

    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", interrupted)
    monkeypatch.setattr(os, "link", interrupted)  # a new file gets its name by a link (never clobbers)
    with pytest.raises(KeyboardInterrupt):
        source.export(model, str(out))
    assert os.listdir(tmp_path) == []


def test_a_spec_trained_on_logits_can_stop_before_its_final_softmax(write, tmp_path):
    spec = write("name: probs\ninput: [4]\nlayers: [linear: {out: 3, name: logits}, softmax]\n"
                 "train: {loss: cross_entropy, classes: 3}\n")
    text = emit(archcalc.load(str(spec)))
    assert ("    def forward(self, x: torch.Tensor, logits: bool = False) -> torch.Tensor:\n"
            '        """With ``logits=True``, the output before the final softmax: what\n'
            '        nn.CrossEntropyLoss takes (the spec trains with cross_entropy)."""\n'
            "        x = self.logits(x)\n"
            '        return x if logits else self["1"](x)\n') in text
    file = tmp_path / "probs.py"
    file.write_text(text, encoding="utf-8")
    module = import_file(file).build_model()
    x = torch.randn(2, 4)
    torch.testing.assert_close(module(x), module(x, logits=True).softmax(dim=1))
    torch.testing.assert_close(module(x, logits=True), module.logits(x))  # the layer named logits
    plain = emit(archcalc.load(str(write("name: probs\ninput: [4]\nlayers: [linear: 3, softmax]\n"))))
    assert "logits" not in plain


def test_a_flat_layer_scale_in_a_block_used_at_two_widths_runs_at_both(write, tmp_path):
    """The generated class applies its flat scale viewed [-1, 1, 1], not the first use's [8, 1, 1]: ConvNeXt
    written as its official code is (a hand-written spec crashed the exported file at the second stage)."""
    spec = write("input: [8, 4, 4]\nblocks:\n  blk(c):\n    - conv2d: {out: c, kernel: 1}\n"
                 "    - layer_scale: {flat: true, name: gamma}\nlayers:\n  - blk: 8\n  - blk: 16\n")
    file = tmp_path / "ls.py"
    file.write_text(emit(archcalc.load(str(spec))), encoding="utf-8")
    module, runtime = import_file(file).build_model(), archcalc.to_torch(str(spec))
    runtime.load_state_dict(module.state_dict())
    x = torch.randn(2, 8, 4, 4)
    torch.testing.assert_close(module(x), runtime(x))


def test_class_parameters_take_the_blocks_own_names(write):
    """What varies as a block argument does is named after it; other values by their module and
    position; variants by their shortcut."""
    spec = write(textwrap.dedent("""\
        input: [3, 16, 16]
        blocks:
          inverted(cin, c, t, stride = 1):
            - residual:
                body:
                  - conv2d: {out: cin * t, kernel: 1}
                  - relu6
                  - conv2d: {out: c, kernel: 3, stride: stride, padding: 1}
                shortcut: if_same
        layers:
          - conv2d: {out: 8, kernel: 1}
          - inverted: {cin: 8, c: 12, t: 6, stride: 2}
          - inverted: {cin: 12, c: 12, t: 6}
          - inverted: {cin: 12, c: 16, t: 6, stride: 2}
          - inverted: {cin: 16, c: 16, t: 4}
        """))
    text = emit(archcalc.load(str(spec)))
    assert "class InvertedNoShortcut(nn.ModuleDict):" in text and "class InvertedIdentity(nn.ModuleDict):" in text
    assert "        self[\"1\"] = InvertedNoShortcut(cin=8, conv2d_0_out_channels=48, c=12)\n" in text
    assert "        self[\"2\"] = InvertedIdentity(cin=12, out_channels=72)\n" in text
    assert "        self[\"3\"] = InvertedNoShortcut(cin=12, conv2d_0_out_channels=72, c=16)\n" in text


@pytest.mark.parametrize("layers, forward", [
    ("[linear: 8, relu, {name: head, layers: [linear: 3, softmax]}]",
     "        if logits:\n            return self.head[:-1](x)\n        return self.head(x)\n"),
    ("[linear: 8, {name: head, layers: [relu, {name: out, layers: [linear: 3, softmax]}]}]",
     "        if logits:\n            return nn.Sequential(*self.head[:-1], self.head[-1][:-1])(x)\n"
     "        return self.head(x)\n"),
])
def test_a_final_softmax_inside_groups_is_left_out_for_the_loss_too(layers, forward, write, tmp_path):
    """The generated module and archcalc.to_torch agree on what the loss sees, however deep the
    final softmax sits: build_loss never takes cross-entropy of probabilities."""
    from archcalc.backends.torch.training import build_loss

    spec = write(f"input: [4]\nlayers: {layers}\ntrain: {{loss: cross_entropy, classes: 3}}\n")
    model = archcalc.load(str(spec))
    text = emit(model)
    assert forward in text
    file = tmp_path / "grouped.py"
    file.write_text(text, encoding="utf-8")
    generated = import_file(file).build_model()
    runtime = archcalc.to_torch(model)
    generated.load_state_dict(runtime.state_dict())
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    torch.testing.assert_close(generated(x), generated(x, logits=True).softmax(dim=1))
    torch.testing.assert_close(generated(x), runtime(x))
    ours, theirs = build_loss(model.spec.train, generated), build_loss(model.spec.train, runtime)
    assert ours.dropped == "logits" and theirs.dropped is not None
    torch.testing.assert_close(ours(x, y), theirs(x, y))
    torch.testing.assert_close(ours(x, y), torch.nn.functional.cross_entropy(generated(x, logits=True), y))
