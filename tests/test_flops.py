"""MACs, FLOPs and element-wise work: torchvision's published counts to the integer, each kind's formula."""

from __future__ import annotations

import inspect
import json

import pytest

import archcalc
from archcalc import symbolic
from archcalc.calc.flops import work
from archcalc.layers import LAYERS, Layer
from archcalc.layers.base import Work
from archcalc.layers.traits import Trait
from tests.conftest import SPECS, shipped_specs

# shared/research/calculators.md §4.1: torchvision `_ops` (= conv + linear MACs), bias adds, BN output elements
TORCHVISION = {
    "alexnet": (714_188_480, 494_184, 0),
    "vgg11": (7_609_090_048, 7_435_240, 0),
    "vgg16": (15_470_264_320, 13_556_712, 0),
    "vgg16_bn": (15_470_264_320, 13_556_712, 13_547_520),
    "resnet18": (1_814_073_344, 1_000, 2_483_712),
    "resnet50": (4_089_184_256, 1_000, 11_113_984),
}


def flops_json(run, spec, *args: str) -> dict:
    result = run("flops", spec, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.mark.parametrize("name", sorted(TORCHVISION))
def test_totals_equal_torchvision_ops(run, name):
    macs, bias, norm = TORCHVISION[name]
    data = flops_json(run, SPECS / f"{name}.yaml")
    assert data["total_macs"] == macs
    assert data["total_flops"] == 2 * macs
    assert data["elementwise"]["bias"] == bias
    assert data["elementwise"]["norm"] == norm
    assert sum(row["macs"] for row in data["layers"]) == macs
    assert data["batch_size"] == 1


def test_resnet_residual_additions_and_activations():
    # every bottleneck adds its [4c, h, w] output once; ReLU runs after each BN but the third (after the add)
    model = archcalc.load(str(SPECS / "resnet50.yaml"))
    total = work(model.graph)[model.graph.root]
    adds = sum(4 * c * s * s * n for c, s, n in ((64, 56, 3), (128, 28, 4), (256, 14, 6), (512, 7, 3)))
    assert total.add == adds == 5_519_360
    assert total.act == 9_608_704
    assert total.pool == 64 * 56 * 56 * 9 + 2048 * 7 * 7  # 3×3 max-pool windows, then global average


def test_batch_size_scales_everything(run):
    one = flops_json(run, SPECS / "resnet18.yaml")
    four = flops_json(run, SPECS / "resnet18.yaml", "--batch-size", "4")
    assert four["total_macs"] == 4 * one["total_macs"] == 4 * 1_814_073_344
    assert four["elementwise"] == {k: 4 * v for k, v in one["elementwise"].items()}
    assert four["batch_size"] == 4


def layer_work(text: str) -> list[Work]:
    model = archcalc.loads(text)
    w = work(model.graph)
    return [w[node] for node in model.graph.layers()]


def test_conv_formula_with_groups_and_bias():
    convs = layer_work("input: [32, 20, 10]\nlayers:\n  - conv2d: {out: 64, kernel: [3, 5], stride: 2, groups: 4}\n"
                       "  - conv2d: {out: 64, kernel: 3, groups: 64, bias: false, padding: 1}\n")
    # C_o·H_o·W_o·(C_i/g)·k_h·k_w: 64·9·3·(32/4)·3·5, bias per output
    assert convs[0] == Work(macs=64 * 9 * 3 * 8 * 3 * 5, bias=64 * 9 * 3)
    assert convs[1] == Work(macs=64 * 9 * 3 * 1 * 3 * 3)  # depthwise, no bias


def test_linear_counts_every_leading_position():
    linear, = layer_work("input: [5, 7, 20]\nlayers: [linear: 30]\n")
    assert linear == Work(macs=5 * 7 * 20 * 30, bias=5 * 7 * 30)


def test_elementwise_kinds():
    rows = layer_work("input: [4, 10, 10]\nlayers:\n  - batchnorm2d\n  - relu\n  - maxpool2d: {kernel: 3, stride: 2}\n"
                      "  - avgpool2d: {kernel: 2, stride: 1, padding: 1}\n  - adaptive_avgpool2d: [3, 3]\n"
                      "  - global_avgpool2d\n  - softmax\n  - dropout\n  - identity\n")
    bn, relu, maxpool, avgpool, adaptive, gap, softmax, dropout, identity = rows
    assert bn == Work(norm=400)
    assert relu == Work(act=400)
    assert maxpool == Work(pool=4 * 4 * 4 * 9)  # 4×4 outputs per channel, 9 reads each
    assert avgpool == Work(pool=4 * 5 * 5 * 4)  # 4 → 5 with padding 1
    assert adaptive == Work(pool=4 * 7 * 7)  # 5 → 3: windows [0, 2), [1, 4), [3, 5) overlap: 2 + 3 + 2 reads
    assert gap == Work(pool=4 * 3 * 3)
    assert softmax == Work(act=4)
    assert dropout == identity == Work()


def test_adaptive_pooling_windows_follow_pytorch():
    # 10 → 3: windows [0, 4), [3, 7), [6, 10); 10 → 4: [0, 3), [2, 5), [5, 8), [7, 10)
    pool, = layer_work("input: [3, 10, 10]\nlayers: [adaptive_avgpool2d: [3, 4]]\n")
    assert pool == Work(pool=3 * 12 * 12)


def test_residual_and_concat_structure():
    model = archcalc.loads("input: [8, 6, 6]\nlayers:\n  - residual:\n      body: [relu]\n      shortcut: identity\n"
                           "  - concat:\n      - [relu]\n      - []\n")
    w = work(model.graph)
    residual, concat = model.graph.root.items
    assert w[residual] == Work(act=288, add=288)
    assert w[concat] == Work(act=288)  # a concat copies: no arithmetic


def test_torchinfo_single_input_net_mult_adds():
    # torchinfo counts MACs + bias as "Mult-Adds": its SingleInputNet at batch 7 prints 3,413,200 (calculators.md §4.4)
    model = archcalc.loads("input: [1, 28, 28]\nlayers:\n  - conv2d: {out: 10, kernel: 5}\n  - maxpool2d: 2\n  - relu\n"
                           "  - conv2d: {out: 20, kernel: 5}\n  - dropout\n  - maxpool2d: 2\n  - relu\n  - flatten\n"
                           "  - linear: 50\n  - relu\n  - dropout\n  - linear: 10\n")
    w = work(model.graph)
    rows = [w[node].times(7) for node in model.graph.layers() if Trait.WEIGHTED in node.layer.TRAITS]
    assert [r.macs + r.bias for r in rows] == [1_048_320, 2_248_960, 112_350, 3_570]
    assert sum(r.macs + r.bias for r in rows) == 3_413_200


def test_torchinfo_resnet50_mult_adds():
    # torchinfo's tests/test_output/resnet50.out at (2, 3, 224, 224): "Total mult-adds (G): 8.18", which is
    # 8,178,476,752 = 2 × (MACs + bias adds + 2C per batch norm): it multiplies every parameter by its positions
    model = archcalc.load(str(SPECS / "resnet50.yaml"))
    total = work(model.graph)[model.graph.root]
    bn = sum(model.counts[n].trainable for n in model.graph.layers() if Trait.NORMALIZES in n.layer.TRAITS)
    assert bn == 2 * 26_560
    assert 2 * (total.macs + total.bias + bn) == 8_178_476_752


@pytest.mark.parametrize(("h", "w"), [(224, 224), (160, 128), (97, 301)])
def test_symbolic_resnet50_is_exact_at_every_size(h, w):
    free = archcalc.load(str(SPECS / "resnet50.yaml"), symbolic_dims=True)
    total = work(free.graph)[free.graph.root]
    concrete = archcalc.load(str(SPECS / "resnet50.yaml"), H=h, W=w)
    expected = work(concrete.graph)[concrete.graph.root]
    assert [symbolic.subs(v, {"H": h, "W": w}) for v in total] == list(expected)


def test_symbolic_json_is_a_formula(run):
    data = flops_json(run, SPECS / "symbolic-cnn.yaml")
    assert data["total_macs"] == "432*H*W + 320*floor(H/4)*floor(W/4) + 4608*floor(H/2)*floor(W/2)"
    assert data["free_symbols"] == ["H", "W"]
    at32 = flops_json(run, SPECS / "symbolic-cnn.yaml", "--set", "H=32,W=32")
    assert at32["total_macs"] == 432 * 32 * 32 + 320 * 8 * 8 + 4608 * 16 * 16


def test_table_states_its_convention_and_hides_empty_columns(run):
    result = run("flops", SPECS / "vgg16.yaml", "--depth", "1")
    assert result.exit_code == 0
    header = result.stdout.splitlines()[1].split()
    assert header == ["Layer", "MACs", "FLOPs", "Bias", "Act", "Pool"]  # no batch norm, no residuals
    assert "FLOPs = 2 × MACs" in result.stdout
    assert "15,470,264,320 (15.5 G)" in result.stdout
    chosen = run("flops", SPECS / "vgg16.yaml", "--columns", "norm,macs")
    assert chosen.stdout.splitlines()[1].split() == ["Layer", "Norm", "MACs"]


def test_unknown_column_is_a_usage_error(run):
    result = run("flops", SPECS / "vgg16.yaml", "--columns", "macs,flop")
    assert result.exit_code == 2
    assert "unknown column 'flop': did you mean 'flops'?" in result.stderr


def test_every_kind_counts_its_own_work():
    """Only kinds that move data without arithmetic may keep the base class's zero."""
    for name, cls in LAYERS.items():
        own = inspect.getattr_static(cls, "work") is not Layer.work
        assert own or cls.TRAITS & (Trait.ALIASES | Trait.DROPOUT), f"{name} has no work() formula"


@pytest.mark.parametrize("spec", shipped_specs(), ids=lambda p: p.stem)
def test_every_shipped_spec_runs_flops(spec, run):
    for fmt in ("table", "json", "markdown", "csv"):
        result = run("flops", spec, "--format", fmt)
        assert result.exit_code == 0, result.output


def test_flops_match_torch_flop_counter():
    """torch.utils.flop_counter counts 2 FLOPs per multiply-accumulate of conv and matmul, bias ignored."""
    torch = pytest.importorskip("torch")
    from torch.utils.flop_counter import FlopCounterMode

    nn = torch.nn
    spec = ("input: [8, 20, 24]\nlayers:\n"
            "  - conv2d: {out: 16, kernel: [3, 5], stride: 2, dilation: 2, groups: 4, padding: [2, 1]}\n"
            "  - relu\n  - conv2d: {out: 16, kernel: 3, groups: 16, padding: 1, bias: false}\n"
            "  - maxpool2d: 2\n  - linear: 12\n  - linear: {out: 5, bias: false}\n")
    module = nn.Sequential(nn.Conv2d(8, 16, (3, 5), stride=2, dilation=2, groups=4, padding=(2, 1)), nn.ReLU(),
                           nn.Conv2d(16, 16, 3, groups=16, padding=1, bias=False), nn.MaxPool2d(2),
                           nn.Linear(4, 12), nn.Linear(12, 5, bias=False))  # linear on the last axis (W = 4)
    model = archcalc.loads(spec)
    assert list(module(torch.zeros(3, 8, 20, 24)).shape) == [3, *model.output_shape]
    counter = FlopCounterMode(display=False)
    with counter:
        module(torch.zeros(3, 8, 20, 24))
    ours = work(model.graph)[model.graph.root].times(3)
    assert counter.get_total_flops() == 2 * ours.macs


def test_mixtral_counts_every_expert_but_the_active_macs(run, write, tmp_path):
    """Mixtral-8x7B (its config is MixtralConfig's defaults): 46,702,792,704 parameters, every expert; per token
    12,748,849,152 MACs, the router and 2 of 8 experts: 32 × (attention 2·4096² + 2·4096·1024, router 4096·8,
    experts 2·3·4096·14336, q·kᵀ and weights·v 2·32·128) + the head 4096·32000."""
    config = write(json.dumps({"model_type": "mixtral", "architectures": ["MixtralForCausalLM"]}), "config.json")
    spec = tmp_path / "mixtral.yaml"
    assert run("import", config, "-o", spec).exit_code == 0
    assert archcalc.load(str(spec)).trainable_params == 46_702_792_704
    per_layer = 2 * 4096**2 + 2 * 4096 * 1024 + 4096 * 8 + 2 * 3 * 4096 * 14336 + 2 * 32 * 128
    report = flops_json(run, spec, "--set", "T=1")
    assert report["total_macs"] == 32 * per_layer + 4096 * 32000 == 12_748_849_152
    words = " ".join(run("flops", spec).stdout.replace("note:", "").split())  # the note, unwrapped
    assert "counts every expert's parameters but the MACs of the top_k experts each token runs" in words
