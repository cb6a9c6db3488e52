"""Every shipped spec, computed to the integer (torchvision's published counts where they exist)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

import archcalc
from tests.conftest import ROOT, SPECS, shipped_specs

# spec → (trainable parameters, buffers, output shape); torchvision's num_params for its models
EXPECTED = {
    "seed-mlp": (1623, 0, [3]),
    "perceptron": (3, 0, [1]),
    "digits-cnn": (6138, 2 * 48 + 2, [10]),  # two batch norms over 16 + 32 channels
    "digits-mlp": (17_226, 0, [10]),  # (64×128)+128 + (128×64)+64 + (64×10)+10
    "lenet5": (61_706, 0, [10]),
    "alexnet": (61_100_840, 0, [1000]),
    "vgg11": (132_863_336, 0, [1000]),
    "vgg16": (138_357_544, 0, [1000]),
    "vgg16_bn": (138_365_992, 2 * 4224 + 13, [1000]),  # 13 batch norms over 4224 channels
    "resnet18": (11_689_512, 2 * 4800 + 20, [1000]),
    "resnet50": (25_557_032, 2 * 26_560 + 53, [1000]),
    # embedding 10000×100; LSTM layers 4·128·(100 + 128) + 8·128 and 4·128·(128 + 128) + 8·128; fc 128×4 + 4
    "lstm-classifier": (1_250_372, 0, [4]),
    "lstm-sign": (4546, 0, [2]),  # LSTM 4·32·(1 + 32) + 8·32; fc 32×2 + 2
    "gpt2": (124_439_808, 0, [1024, 50257]),  # Hugging Face's GPT2LMHeadModel, lm_head tied to wte
    # wte 128·64, wpe 64·64; a block: 2 layer norms 2·128, c_attn 64·192 + 192, c_proj 64·64 + 64, c_fc 64·256 + 256,
    # c_proj 256·64 + 64 = 49,984; ln_f 128, lm_head 64·128
    "char-gpt": (120_576, 0, [64, 128]),
    "llama-3-8b": (8_030_261_248, 0, [8192, 128256]),  # Hugging Face's LlamaForCausalLM
    "bert-base": (109_482_240, 0, [768]),  # Hugging Face's BertModel with its pooler
    "densenet121": (7_978_856, 2 * 41_824 + 121, [1000]),  # 121 batch norms over 41,824 channels
    "squeezenet1_0": (1_248_424, 0, [1000]),
    "mobilenet_v3_large": (5_483_032, 2 * 12_200 + 46, [1000]),  # 46 batch norms over 12,200 channels
    "efficientnet_b0": (5_288_548, 2 * 21_008 + 49, [1000]),  # 49 batch norms over 21,008 channels
    "unet": (31_037_698, 2 * 5_888 + 18, [2, 256, 256]),  # milesial's UNet(3, 2): 18 batch norms, 5,888 channels
    "unet-shapes": (117_107, 2 * 320 + 10, [3, 32, 32]),  # 10 batch norms over 320 channels
    "cnn1d-timeseries": (95_558, 2 * 320 + 3, [6]),  # 9·64·7 + 64·128·5 + 128·128·3, 3 batch norms, 128·6 + 6
    "vit_b_16": (86_567_656, 0, [1000]),  # torchvision's: layer norms, no buffers
    "convnext_tiny": (28_589_128, 0, [1000]),
    # Bai et al.'s TCN: 8 blocks of two 25-channel kernel-7 convolutions (25·1·7 + 25 first, then 25·25·7 + 25
    # each), the first block's 1×1 downsample 25 + 25, linear 25·10 + 10
    "tcn": (200 + 4400 + 50 + 14 * 4400 + 260, 0, [10]),
}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_shipped_spec_counts(name, run):
    result = run("params", SPECS / f"{name}.yaml", "--format", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    params, buffers, out = EXPECTED[name]
    assert data["trainable_params"] == params
    assert data["total_params"] == params
    assert data["buffers"] == buffers
    assert data["output_shape"] == out
    assert data["model"] == name
    assert sum(layer["params"] for layer in data["layers"]) == params


def test_every_shipped_spec_is_covered():
    assert {p.stem for p in shipped_specs()} == set(EXPECTED) | {"symbolic-mlp", "symbolic-cnn"}


def test_seed_mlp_explain_shows_the_lecture_derivation(run):
    result = run("params", SPECS / "seed-mlp.yaml", "--explain")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert "(D_i×D)+D = (50×30)+30 = 1530" in lines[1]
    assert "(D_i×D)+D = (30×3)+3 = 93" in lines[2]
    assert lines[3].split()[-5:] == ["1530", "+", "93", "=", "1623"]


def test_symbolic_mlp_is_the_lecture_formula():
    model = archcalc.load(str(SPECS / "symbolic-mlp.yaml"))
    assert str(model.trainable_params) == "D*D_i + D*D_o + D + D_o"
    assert model.graph.free == ["D", "D_i", "D_o"]
    assert archcalc.load(str(SPECS / "symbolic-mlp.yaml"), D_i=50, D=30, D_o=3).trainable_params == 1623


def test_symbolic_mlp_json_strings_and_set(run):
    data = json.loads(run("params", SPECS / "symbolic-mlp.yaml", "--format", "json").stdout)
    assert data["trainable_params"] == "D*D_i + D*D_o + D + D_o"
    assert data["input_shape"] == ["D_i"]
    assert data["output_shape"] == ["D_o"]
    data = json.loads(run("params", SPECS / "symbolic-mlp.yaml", "--set", "D_i=50,D=30", "--set", "D_o=3",
                          "--format", "json").stdout)
    assert data["trainable_params"] == 1623


def test_symbolic_cnn_shapes_are_formulas(run):
    data = json.loads(run("shapes", SPECS / "symbolic-cnn.yaml", "--format", "json").stdout)
    final = {row["path"]: row["output_shape"] for row in data["layers"]}
    assert final["1"] == [32, "floor(H/4)", "floor(W/4)"]
    assert final["2"] == ["32*floor(H/4)*floor(W/4)"]
    params = json.loads(run("params", SPECS / "symbolic-cnn.yaml", "--format", "json").stdout)
    # conv 3→16: 448, conv 16→32: 4640, linear: 32·⌊H/4⌋·⌊W/4⌋·10 + 10
    assert params["trainable_params"] == "320*floor(H/4)*floor(W/4) + 5098"
    at32 = json.loads(run("params", SPECS / "symbolic-cnn.yaml", "--set", "H=32,W=32", "--format", "json").stdout)
    assert at32["trainable_params"] == 320 * 8 * 8 + 5098


def test_resnet50_symbolic_spatial_size_collapses():
    model = archcalc.load(str(SPECS / "resnet50.yaml"), symbolic_dims=True)
    layer4 = model.graph.find("layer4")
    assert [str(d) for d in layer4.out_shape] == ["2048", "floor(H/32 + 31/32)", "floor(W/32 + 31/32)"]
    assert model.trainable_params == 25_557_032  # adaptive pooling makes the count size-free


def test_resnet_paths_follow_torchvision():
    model = archcalc.load(str(SPECS / "resnet18.yaml"))
    paths = [n.path for n in model.layers]
    assert paths[:4] == ["conv1", "bn1", "2", "maxpool"]
    assert "layer4.1.conv2" in paths
    assert "layer2.0.downsample.0" in paths and "layer1.0.downsample.0" not in paths  # shortcut_name
    assert paths[-1] == "fc"


def test_vgg16_has_pool5_at_7x7():
    model = archcalc.load(str(SPECS / "vgg16.yaml"))
    assert model.graph.find("pool5").out_shape == (512, 7, 7)


def test_set_overrides_a_default():
    model = archcalc.load(str(SPECS / "resnet18.yaml"), H=160, W=128)
    assert model.graph.find("layer4").out_shape == (512, 5, 4)


@pytest.mark.parametrize("spec", shipped_specs(), ids=lambda p: p.stem)
def test_every_shipped_spec_runs_params_and_shapes(spec, run):
    for command in ("params", "shapes"):
        for fmt in ("table", "json", "markdown"):
            result = run(command, spec, "--format", fmt)
            assert result.exit_code == 0, result.output


def test_concrete_specs_never_import_sympy():
    code = ("import sys; from archcalc.cli import main\n"
            "for spec in ['resnet50', 'seed-mlp', 'vgg16_bn']:\n"
            "    try: main(['params', f'specs/{spec}.yaml', '--format', 'json'])\n"
            "    except SystemExit as e: assert e.code == 0\n"
            "    try: main(['shapes', f'specs/{spec}.yaml', '--explain'])\n"
            "    except SystemExit as e: assert e.code == 0\n"
            "assert 'sympy' not in sys.modules, 'sympy was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


def test_writing_source_builds_no_weights(tmp_path):
    """The source exporters write code; they never build the model. Writing Llama 3 8B's PyTorch source
    built its 2 GB output layer (to read its type) and held it: a peak of 2.3 GB for a 60 KB file."""
    pytest.importorskip("torch")
    if not os.path.exists("/proc/self/status"):
        pytest.skip("reads the peak from Linux's /proc")
    # VmHWM, this process's own peak: ru_maxrss would start from pytest's (Linux carries it across exec)
    code = ("import sys; from archcalc.cli import main\n"
            "for target in ('torch', 'numpy'):\n"
            "    out = sys.argv[1] + '/m-' + target + '.py'\n"
            "    try: main(['export', 'specs/llama-3-8b.yaml', '--to', target, '-o', out])\n"
            "    except SystemExit as e: assert e.code == 0, e.code\n"
            "print(next(line.split()[1] for line in open('/proc/self/status') if line.startswith('VmHWM')))\n")
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr
    assert int(proc.stdout.split()[-1]) < 1_000_000, f"peak {proc.stdout.split()[-1]} KB"  # torch alone: ~250 MB


def test_symbolic_spec_imports_sympy_and_prints_a_formula():
    code = ("import sys; from archcalc.cli import main\n"
            "try: main(['params', 'specs/symbolic-mlp.yaml', '--format', 'json'])\n"
            "except SystemExit as e: assert e.code == 0\n"
            "print('sympy' in sys.modules, file=sys.stderr)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0 and proc.stderr.strip() == "True", proc.stderr
    assert json.loads(proc.stdout)["trainable_params"] == "D*D_i + D*D_o + D + D_o"


def test_python_api_mirrors_json():
    model = archcalc.load(str(SPECS / "lenet5.yaml"))
    data = model.to_dict()
    assert data["trainable_params"] == model.trainable_params == 61_706
    assert [row["path"] for row in data["layers"]] == [n.path for n in model.layers]
    assert model.graph.find("c1").out_shape == (6, 28, 28)
    assert model.graph.find("s4").out_shape == (16, 5, 5)


def test_symbolic_totals_are_in_normal_form():
    """Sums over layers are expanded (600*g**2 + …), not left as a pile of products."""
    model = archcalc.loads("input: [3, 8, 8]\nsymbols: [g]\nlayers:\n  - conv2d: {out: 2*g, kernel: 3}\n"
                           "  - concat: [[], [conv2d: {out: g, kernel: 1}]]\n  - conv2d: {out: g+48, kernel: 1}\n"
                           "  - global_avgpool2d\n  - linear: 10\n")
    # 3·2g·9 + 2g + 2g·g + g + 3g·(g+48) + g + 48 + (g+48)·10 + 10
    assert str(model.trainable_params) == "5*g**2 + 212*g + 538"
