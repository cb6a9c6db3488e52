"""archcalc.to_torch: one table entry per kind, modules named by the graph's paths, structure wired as
the graph says, train/eval semantics, and torch staying optional."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import torch
from torch import nn

import archcalc
from archcalc.backends.torch import module_plan, to_torch, torch_paths
from archcalc.backends.torch.layers import MODULES
from archcalc.backends.torch.modules import Network, Sign
from archcalc.errors import SpecError
from archcalc.graph import ResidualNode
from archcalc.layers import LAYERS
from tests.conftest import ROOT, SPECS


def test_every_registered_kind_has_exactly_one_torch_entry():
    kinds = {cls.kind for cls in LAYERS.values()}
    assert set(MODULES) == kinds


def test_modules_are_named_by_the_graphs_paths():
    module = to_torch(SPECS / "resnet18.yaml", H=64, W=64)
    conv = module.get_submodule("layer4.1.conv2")
    assert isinstance(conv, nn.Conv2d) and (conv.in_channels, conv.out_channels) == (512, 512)
    block = module.get_submodule("layer2.0")
    assert isinstance(block, Network) and block._program[0] == "sum"
    assert isinstance(module.get_submodule("layer2.0.downsample.0"), nn.Conv2d)
    assert list(module._modules) == ["conv1", "bn1", "2", "maxpool", "layer1", "layer2", "layer3", "layer4",
                                     "avgpool", "9", "fc"]
    keys = list(module.state_dict())
    assert keys[:7] == ["conv1.weight", "bn1.weight", "bn1.bias", "bn1.running_mean", "bn1.running_var",
                        "bn1.num_batches_tracked", "layer1.0.conv1.weight"]
    assert "layer2.0.downsample.1.running_var" in keys and "layer1.0.downsample.0.weight" not in keys
    model = archcalc.load(str(SPECS / "resnet18.yaml"))
    assert all(path == node.path for node, path in torch_paths(model.graph).items())


def test_names_torch_holds_get_an_underscore_in_both_builders():
    model = archcalc.load(str(ROOT / "tests/specs/export/awkward-names.yaml"))
    module = to_torch(model)
    assert list(module._modules) == ["forward_", "training_", "2", "3", "forward__"]
    paths = {node.path: path for node, path in torch_paths(model.graph).items()}
    assert paths["training.append"] == "training_.append_"
    assert paths["2.type"] == "2.type_"
    assert paths["3._modules"] == "3._modules_"
    assert paths["2.my layer"] == "2.my layer"
    assert isinstance(module.get_submodule("2.my layer"), nn.Linear)
    assert list(module_plan(model.graph).children) == list(module._modules)


@pytest.mark.parametrize("spec, path, kind, attributes", [
    ("conv2d: {out: 8, kernel: [3, 5], padding: same, dilation: 2, groups: 2, bias: false}",
     "0", nn.Conv2d, {"kernel_size": (3, 5), "stride": (1, 1), "padding": "same", "dilation": (2, 2), "groups": 2,
                      "bias": None}),
    ("conv2d: {out: 8, kernel: 3, stride: [2, 1]}", "0", nn.Conv2d, {"stride": (2, 1), "padding": (0, 0)}),
    ("conv2d: {out: 8, kernel: 3, padding: [1, 2]}", "0", nn.Conv2d, {"padding": (1, 2), "in_channels": 4}),
    ("maxpool2d: {kernel: 2, stride: 1, padding: same, dilation: 2, ceil_mode: true}", "0", nn.MaxPool2d,
     {"kernel_size": 2, "stride": 1, "padding": 1, "dilation": 2, "ceil_mode": True}),
    ("maxpool2d: {kernel: 3, stride: 2, padding: 1, dilation: 2, ceil_mode: true}", "0", nn.MaxPool2d,
     {"kernel_size": 3, "stride": 2, "padding": 1, "dilation": 2, "ceil_mode": True}),
    ("avgpool2d: {kernel: 2, padding: 1, count_include_pad: false}", "0", nn.AvgPool2d,
     {"kernel_size": 2, "stride": 2, "padding": 1, "count_include_pad": False}),
    ("adaptive_avgpool2d: [2, 3]", "0", nn.AdaptiveAvgPool2d, {"output_size": (2, 3)}),
    ("batchnorm2d: {eps: 0.001, momentum: 0.01, affine: false}", "0", nn.BatchNorm2d,
     {"eps": 0.001, "momentum": 0.01, "affine": False, "num_features": 4}),
    ("leaky_relu: 0.2", "0", nn.LeakyReLU, {"negative_slope": 0.2}),
    ("gelu: {approximate: tanh}", "0", nn.GELU, {"approximate": "tanh"}),
    ("dropout: 0.3", "0", nn.Dropout, {"p": 0.3}),
    ("softmax", "0", nn.Softmax, {"dim": 1}),
    ("log_softmax", "0", nn.LogSoftmax, {"dim": 1}),
    ("softmax: {dim: -1}", "0", nn.Softmax, {"dim": 3}),  # the last of [N, 4, 9, 9]
    ("softmax: {dim: 2}", "0", nn.Softmax, {"dim": 3}),
    ("step", "0", Sign, {}),
])
def test_each_kind_carries_its_arguments_to_torch(spec, path, kind, attributes):
    model = archcalc.loads(f"input: [4, 9, 9]\nlayers: [{spec}]")
    module = to_torch(model)
    layer = module.get_submodule(path)
    assert type(layer) is kind
    for name, value in attributes.items():
        assert getattr(layer, name) == value, name
    assert tuple(module.eval()(torch.zeros(2, 4, 9, 9)).shape) == (2, *model.output_shape)  # torch runs it


def test_to_torch_accepts_a_model_a_path_or_a_parsed_spec():
    model = archcalc.load(str(SPECS / "seed-mlp.yaml"))
    for spec in (model, SPECS / "seed-mlp.yaml", str(SPECS / "seed-mlp.yaml"), model.spec):
        module = archcalc.to_torch(spec)
        assert sum(p.numel() for p in module.parameters()) == 1623
    assert sum(p.numel() for p in archcalc.to_torch(model.spec).parameters()) == 1623
    module = archcalc.to_torch(SPECS / "symbolic-mlp.yaml", D_i=50, D=30, D_o=3)
    assert sum(p.numel() for p in module.parameters()) == 1623


def test_free_symbols_are_a_located_error_with_a_hint():
    with pytest.raises(SpecError) as error:
        archcalc.to_torch(SPECS / "symbolic-cnn.yaml")
    assert error.value.message == "H, W must have values to build a module"
    assert error.value.hint == "give them values, e.g. archcalc.load(path, H=32, W=32)"
    with pytest.raises(TypeError):
        archcalc.to_torch(archcalc.load(str(SPECS / "seed-mlp.yaml")), H=3)


def test_a_pool_torch_cannot_pad_is_refused_at_its_location(write):
    spec = write("input: [1, 8, 8]\nlayers:\n  - maxpool2d: {kernel: 2, stride: 1, padding: same}\n")
    with pytest.raises(SpecError) as error:
        archcalc.to_torch(spec)
    assert str(error.value.loc) == f"{spec}:3:48"
    assert error.value.code == "export-unsupported"


def test_dropout_is_active_in_training_and_the_identity_in_evaluation():
    module = to_torch(archcalc.loads("input: [1000]\nlayers: [dropout: 0.25]"))
    x = torch.ones(4, 1000)
    out = module.train()(x)
    assert set(out.unique().tolist()) == {0.0, torch.tensor(4 / 3).item()}
    assert 0.2 < (out == 0).float().mean().item() < 0.3
    assert torch.equal(module.eval()(x), x)


def test_batchnorm_uses_batch_statistics_in_training_and_running_ones_in_evaluation():
    module = to_torch(archcalc.loads("input: [3, 4, 4]\nlayers: [batchnorm2d]"))
    norm = module.get_submodule("0")
    x = torch.randn(8, 3, 4, 4) * 2 + 1
    out = module.train()(x)
    mean, var = x.mean(dim=(0, 2, 3)), x.var(dim=(0, 2, 3), unbiased=False)
    torch.testing.assert_close(out, (x - mean[None, :, None, None]) / (var[None, :, None, None] + 1e-5).sqrt())
    torch.testing.assert_close(norm.running_mean, 0.1 * mean)
    torch.testing.assert_close(norm.running_var, 0.9 + 0.1 * x.var(dim=(0, 2, 3), unbiased=True))
    assert norm.num_batches_tracked.item() == 1
    with torch.no_grad():
        evaluated = module.eval()(x)
    expected = (x - norm.running_mean[None, :, None, None]) / (norm.running_var[None, :, None, None] + 1e-5).sqrt()
    torch.testing.assert_close(evaluated, expected)
    assert norm.num_batches_tracked.item() == 1


def test_residual_modes_compute_what_the_graph_says():
    model = archcalc.load(str(ROOT / "tests/specs/export/residual-modes.yaml"))
    module = to_torch(model).eval()
    x = torch.randn(2, 3, 16, 16)
    unit = module.get_submodule("0")  # if_same with the same shape: relu6(leaky(conv(x)) + x), then dropout
    body = unit.get_submodule("1")(unit.get_submodule("0")(x))
    torch.testing.assert_close(unit(x), unit.get_submodule("2")(body + x))
    changed = module.get_submodule("1")  # if_same with a new shape: no shortcut at all
    y = unit(x)
    body = changed.get_submodule("1")(changed.get_submodule("0")(y))
    torch.testing.assert_close(changed(y), changed.get_submodule("2")(body))
    layers = module.get_submodule("2")  # explicit shortcut layers
    z = changed(y)
    expected = layers.get_submodule("1")(layers.get_submodule("0")(z)) + layers.get_submodule("shortcut")(z)
    torch.testing.assert_close(layers(z), expected)
    assert [n.mode for n, _ in model.graph.walk() if isinstance(n, ResidualNode)] == \
        ["identity", "none", "layers", "projection", "identity", "layers", "projection", "identity"]
    w = module.get_submodule("3")(layers(z))
    torch.testing.assert_close(module.get_submodule("4")(w), w + w)  # an empty body: x + x
    beside = module.get_submodule("5")
    torch.testing.assert_close(beside(w), torch.relu(w + beside.get_submodule("shortcut")(w)))


def test_concat_joins_branches_along_channels_in_order_with_the_input_as_an_empty_branch():
    module = to_torch(ROOT / "tests/specs/export/inception-mini.yaml").eval()
    mixed = module.get_submodule("mixed1")
    assert isinstance(mixed, Network) and mixed._program[0] == "join"
    x = torch.randn(2, 8, 15, 13)
    parts = [mixed.get_submodule(key)(x) for key in ("b1x1", "1", "2")]
    torch.testing.assert_close(mixed(x), torch.cat([*parts, x], dim=1))
    assert not list(mixed.get_submodule("3").children())


def run_without(module: str, *args: str) -> subprocess.CompletedProcess:
    """The CLI in a fresh interpreter in which ``import <module>`` fails, as when it is not installed."""
    code = (f"import sys; sys.modules[{module!r}] = None\n"
            "from archcalc.cli import main\n"
            f"main({list(args)!r})\n")
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_without_torch_the_calculator_works_and_torch_commands_say_how_to_install_it(tmp_path):
    assert run_without("torch", "params", "specs/resnet18.yaml", "--format", "json").returncode == 0
    for target in ("torch", "onnx"):
        out = tmp_path / f"model.{'onnx' if target == 'onnx' else 'py'}"
        proc = run_without("torch", "export", "specs/lenet5.yaml", "--to", target, "-o", str(out))
        assert proc.returncode == 2, proc.stderr
        assert proc.stderr.splitlines() == [
            "error: this needs PyTorch, which is not installed",
            "  hint: pip install torch==2.13.0 (the CPU build)"]
        assert not out.exists()


def test_without_onnx_the_onnx_export_says_how_to_install_it(tmp_path):
    proc = run_without("onnx", "export", "specs/lenet5.yaml", "--to", "onnx", "-o", str(tmp_path / "m.onnx"))
    assert proc.returncode == 2
    assert proc.stderr == "error: this needs onnx, which is not installed\n  hint: pip install onnx\n"


def test_an_export_names_everything_it_needs_at_once(tmp_path):
    """Without NumPy (the quick start installs none) or without both onnx and torch: one message."""
    code = ("import sys; sys.modules['onnx'] = sys.modules['torch'] = sys.modules['numpy'] = None\n"
            "from archcalc.cli import main\n"
            "main(sys.argv[1:])\n")
    for target, lines in [("onnx", ["error: this needs onnx and PyTorch, which are not installed",
                                    "  hint: pip install onnx; pip install torch==2.13.0 (the CPU build)"]),
                          ("numpy", ["error: this needs NumPy, which is not installed", "  hint: pip install numpy"])]:
        out = tmp_path / f"m.{'onnx' if target == 'onnx' else 'py'}"
        proc = subprocess.run([sys.executable, "-c", code, "export", "specs/lenet5.yaml", "--to", target, "-o",
                               str(out)], capture_output=True, text=True, cwd=ROOT)
        assert (proc.returncode, proc.stderr.splitlines()) == (2, lines)
        assert not out.exists()


def test_the_python_api_without_torch_raises_an_import_error():
    code = ("import sys; sys.modules['torch'] = None\nimport archcalc\n"
            "try:\n    archcalc.to_torch('specs/seed-mlp.yaml')\n"
            "except ImportError as e:\n    print(type(e).__name__, e.hint)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.stdout.strip() == "MissingDependency pip install torch==2.13.0 (the CPU build)"


def test_import_archcalc_and_the_calculator_never_import_torch():
    code = ("import sys, archcalc\nfrom archcalc.cli import main\n"
            "try: main(['params', 'specs/resnet50.yaml'])\nexcept SystemExit: pass\n"
            "assert 'torch' not in sys.modules and 'onnx' not in sys.modules\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=Path(ROOT))
    assert proc.returncode == 0, proc.stderr
