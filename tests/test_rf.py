"""Receptive fields: the published values, the Distill and google-research test networks, joins."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import archcalc
from archcalc.calc.rf import GLOBAL, LOCAL, VARIES, final_field, receptive_fields
from tests.conftest import ROOT, SPECS, shipped_specs


def rf_json(run, spec, *args: str) -> dict:
    result = run("rf", spec, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def by_path(data: dict) -> dict[str, dict]:
    return {row["path"]: row for row in data["layers"]}


# torchvision's models (shared/research/receptive_field.md §1.6): size, effective stride, padding
@pytest.mark.parametrize(("spec", "at", "size", "stride", "padding"), [
    ("vgg16", "pool5", 212, 32, 90),
    ("alexnet", "features.pool5", 195, 32, 66),  # not the Distill table's 64: that is TF-slim's alexnet_v2
    ("resnet50", "layer4", 427, 32, 213),
    ("resnet50", "layer3", 267, 16, 133),
    ("resnet18", "layer4", 435, 32, 217),
])
def test_published_receptive_fields(run, spec, at, size, stride, padding):
    data = rf_json(run, SPECS / f"{spec}.yaml", "--at", at)
    assert data["at"] == at
    assert data["status"] == "local"
    assert (data["size"], data["stride"], data["padding"]) == ([size] * 2, [stride] * 2, [padding] * 2)
    assert data["warnings"] == []


def test_vgg16_every_row_of_the_published_table(run):
    # TF-slim's VGG-16 rows (Distill / google-research RECEPTIVE_FIELD_TABLE.md), by our spec's paths
    table = {"conv1.0": (3, 1, 1), "pool1": (6, 2, 2), "conv2.0": (10, 2, 4), "pool2": (16, 4, 6),
             "conv3.0": (24, 4, 10), "conv3.2": (32, 4, 14), "pool3": (44, 8, 18), "conv4.0": (60, 8, 26),
             "conv4.2": (76, 8, 34), "pool4": (100, 16, 42), "conv5.0": (132, 16, 58), "conv5.2": (164, 16, 74),
             "pool5": (212, 32, 90)}
    rows = by_path(rf_json(run, SPECS / "vgg16.yaml"))
    for path, (size, stride, padding) in table.items():
        row = rows[path]
        assert (row["size"], row["stride"], row["padding"]) == ([size] * 2, [stride] * 2, [padding] * 2), path
    assert rows["pool5"]["center"] == [15.5, 15.5]  # −90 + (212 − 1)/2
    assert rows["conv1.1"]["size"] == [3, 3]  # relu: pointwise


def test_fields_after_flatten_linear_and_global_pooling_are_global(run):
    rows = by_path(rf_json(run, SPECS / "resnet50.yaml"))
    for path in ("avgpool", "9", "fc"):
        assert rows[path]["status"] == "global"
        assert rows[path]["size"] is None
    rows = by_path(rf_json(run, SPECS / "vgg16.yaml"))
    assert rows["avgpool"]["size"] == [212, 212]  # 7×7 → 7×7 adaptive pooling is the identity
    assert rows["classifier.1"]["status"] == "global"


def test_default_at_is_the_last_local_top_level_node(run):
    assert rf_json(run, SPECS / "resnet50.yaml")["at"] == "layer4"
    assert rf_json(run, SPECS / "vgg16.yaml")["at"] == "avgpool"
    result = run("rf", SPECS / "resnet18.yaml")
    assert result.exit_code == 0
    assert "At" in result.stdout and "layer4" in result.stdout
    assert "435, 435" in result.stdout


SE_TRUNK = """\
input: [3, 64, 64]
layers:
  - name: stem
    layers: [conv2d: {out: 8, kernel: 3, stride: 2, padding: 1}, relu]
  - name: trunk
    layers:
      - conv2d: {out: 8, kernel: 3, padding: 1}
      - relu
      - multiply: [[adaptive_avgpool2d: 1, conv2d: {out: 8, kernel: 1}, sigmoid], []]
  - global_avgpool2d
  - flatten
  - linear: 10
"""


def test_a_trunk_gated_by_the_whole_image_is_quoted_global(run, write):
    """Squeeze-and-excitation scales every position by a summary of the whole image (RegNet-Y,
    EfficientNet): the trunk's field is global, and the stem's small field does not stand for it."""
    result = rf_json(run, write(SE_TRUNK))
    assert (result["at"], result["status"], result["size"]) == ("trunk", "global", None)


def test_distill_toy_example(run, write):
    # k=3, p=1, s=3 then k=2, s=1: output 0 sees input −1 … 4 (Distill §"Computing receptive field region")
    spec = write("input: [1, 9, 9]\nlayers:\n  - conv2d: {out: 1, kernel: 3, stride: 3, padding: 1}\n"
                 "  - conv2d: {out: 1, kernel: 2}\n")
    data = rf_json(run, spec, "--at", "1")
    assert (data["size"], data["stride"], data["padding"]) == ([6, 6], [3, 3], [1, 1])
    assert data["center"] == [1.5, 1.5]
    field = receptive_fields(archcalc.load(str(spec)).graph)[0]
    span = next(f for n, f in field.items() if n.path == "1").spans[0]
    assert (span.start, span.end) == (-1, 4)


ALIGNED = """
input: [1, 9, 9]
layers:
  - residual:
      body: [conv2d: {out: 1, kernel: 3, stride: 2, padding: 1}, conv2d: {out: 1, kernel: 1, stride: 2}]
      shortcut: [conv2d: {out: 1, kernel: 1, stride: 4}]
"""


def test_google_aligned_network(run, write):
    # receptive_field_computation_test.testComputeRFFromGraphDefAligned: 3 / 4 / 1
    data = rf_json(run, write(ALIGNED), "--at", "0")
    assert (data["size"], data["stride"], data["padding"]) == ([3, 3], [4, 4], [1, 1])
    assert data["warnings"] == []


def test_google_aligned_network_with_max_pools(run, write):
    # …Aligned2: the second and third layers are max-pools
    spec = write(ALIGNED.replace("conv2d: {out: 1, kernel: 3, stride: 2, padding: 1}",
                                 "maxpool2d: {kernel: 3, stride: 2, padding: 1}")
                 .replace("conv2d: {out: 1, kernel: 1, stride: 2}", "maxpool2d: {kernel: 1, stride: 2}"))
    data = rf_json(run, spec, "--at", "0")
    assert (data["size"], data["stride"], data["padding"]) == ([3, 3], [4, 4], [1, 1])


def test_google_aligned_network_as_a_concat(run, write):
    spec = write("input: [1, 9, 9]\nlayers:\n  - concat:\n"
                 "      - [conv2d: {out: 1, kernel: 3, stride: 2, padding: 1},\n"
                 "         conv2d: {out: 1, kernel: 1, stride: 2}]\n"
                 "      - [conv2d: {out: 1, kernel: 1, stride: 4}]\n")
    data = rf_json(run, spec, "--at", "0")
    assert (data["size"], data["stride"], data["padding"]) == ([3, 3], [4, 4], [1, 1])
    assert data["warnings"] == []


def test_google_intermediate_add_node(run, write):
    # …WithIntermediateAddNode: net 1, then (1×1 s2 ‖ 3×3 s2), added: 11 / 8 / 5
    spec = write(ALIGNED.replace("[1, 9, 9]", "[1, 17, 17]") +
                 "  - residual:\n      body: [conv2d: {out: 1, kernel: 3, stride: 2, padding: 1}]\n"
                 "      shortcut: [conv2d: {out: 1, kernel: 1, stride: 2}]\n")
    data = rf_json(run, spec, "--at", "1")
    assert (data["size"], data["stride"], data["padding"]) == ([11, 11], [8, 8], [5, 5])


MISALIGNED = """\
input: [1, 8, 8]
layers:
  - residual:
      body: [conv2d: {out: 1, kernel: 5, stride: 2, padding: 2}]
      shortcut: [conv2d: {out: 1, kernel: 3}, conv2d: {out: 1, kernel: 3}]
  - relu
"""


def test_google_unaligned_network_warns_and_gives_no_number(run, write):
    # …Unaligned (the Distill counter-example): strides 2 and 1 meet, so the field changes with the output
    spec = write(MISALIGNED)
    result = run("rf", spec, "--format", "json", "--at", "1")
    assert result.exit_code == 0
    assert result.stderr == (f"{spec}:3:5: warning: residual '0': the shortcut and the body have different "
                             "effective strides (h: 1 vs 2, w: 1 vs 2), so the receptive field changes from one "
                             "output to the next; it is reported as 'varies'\n")
    data = json.loads(result.stdout)
    assert data["status"] == "varies" and data["size"] is None
    assert data["warnings"] == [{"path": "0", "location": f"{spec}:3:5", "code": "rf-varies",
                                 "message": result.stderr.split("warning: ", 1)[1].strip()}]
    table = run("rf", spec)
    assert "varies*" in table.stdout  # the join is marked in the table
    assert "see the warnings" in table.stdout


def test_misaligned_centres_give_the_union_and_a_warning(run, write):
    # same stride 2, centres 0 and 0.5: the field is the union of [−1, 1] and [0, 1]
    spec = write("input: [1, 8, 8]\nlayers:\n  - residual:\n"
                 "      body: [conv2d: {out: 1, kernel: 3, stride: 2, padding: 1}]\n"
                 "      shortcut: [conv2d: {out: 1, kernel: 2, stride: 2}]\n")
    result = run("rf", spec, "--format", "json")
    data = json.loads(result.stdout)
    assert (data["size"], data["stride"], data["padding"]) == ([3, 3], [2, 2], [1, 1])
    assert [w["code"] for w in data["warnings"]] == ["rf-misaligned"]
    assert "the shortcut and the body are not aligned (centres of output 0 at h: 0.5 vs 0, w: 0.5 vs 0)" \
        in result.stderr


def test_non_square_kernels(run, write):
    # …NonSquareRF: [3, 5] s2 then [3, 1] s2 gives 7 (h) × 5 (w), stride 4, padding 0
    spec = write("input: [1, 15, 15]\nlayers:\n  - conv2d: {out: 1, kernel: [3, 5], stride: 2}\n"
                 "  - conv2d: {out: 1, kernel: [3, 1], stride: 2}\n")
    data = rf_json(run, spec)
    assert (data["size"], data["stride"], data["padding"]) == ([7, 5], [4, 4], [0, 0])
    assert "7×5" in run("rf", spec).stdout


def test_dilation_1_2_4_stack(run, write):
    spec = write("input: [1, 32, 32]\nlayers:\n" + "".join(
        f"  - conv2d: {{out: 1, kernel: 3, dilation: {d}, padding: same}}\n" for d in (1, 2, 4)))
    data = rf_json(run, spec)
    assert (data["size"], data["stride"], data["padding"]) == ([15, 15], [1, 1], [7, 7])
    assert data["center"] == [0, 0]


def test_concat_with_an_identity_branch_takes_the_largest_aligned_field(run, write):
    spec = write("input: [8, 16, 16]\nlayers:\n  - concat:\n      - [conv2d: {out: 4, kernel: 1}]\n"
                 "      - [conv2d: {out: 4, kernel: 3, padding: 1}]\n"
                 "      - [conv2d: {out: 4, kernel: 5, padding: 2}]\n      - []\n")
    data = rf_json(run, spec)
    assert (data["size"], data["padding"]) == ([5, 5], [2, 2])
    assert data["warnings"] == []


def test_adaptive_pooling_that_does_not_divide_varies(run, write):
    spec = write("input: [1, 13, 13]\nlayers:\n  - conv2d: {out: 1, kernel: 3}\n  - adaptive_avgpool2d: 6\n"
                 "  - flatten\n")
    rows = by_path(rf_json(run, spec))
    assert rows["1"]["status"] == "varies"
    assert rows["2"]["status"] == "varies"  # flatten moves the positions, it does not mix them


def test_symbolic_kernels_give_formulas(run, write):
    spec = write("input: [1, H, W]\nsymbols: {H: 64, W: 64, K: null}\nlayers:\n"
                 "  - conv2d: {out: 1, kernel: K, padding: K // 2}\n  - conv2d: {out: 1, kernel: K, stride: 2}\n")
    data = rf_json(run, spec)
    assert data["size"] == ["2*K - 1", "2*K - 1"]
    assert data["padding"] == ["floor(K/2)", "floor(K/2)"]
    assert data["stride"] == [2, 2]
    model = archcalc.load(str(SPECS / "symbolic-cnn.yaml"))
    fields, _ = receptive_fields(model.graph)
    assert fields[model.graph.find("1")].size == (10, 10)  # free H and W do not enter the field


def test_unknown_at_is_a_usage_error_with_a_suggestion(run):
    result = run("rf", SPECS / "resnet50.yaml", "--at", "layr4")
    assert result.exit_code == 2
    assert result.stderr == ("error: --at layr4: the spec has no layer or block 'layr4'\n"
                             "  hint: did you mean 'layer4'?\n")
    assert result.stdout == ""
    result = run("rf", SPECS / "resnet50.yaml", "--at", "conv2")
    assert result.exit_code == 2
    assert "16 nodes are named 'conv2'" in result.stderr


def test_at_accepts_a_unique_name(run):
    assert rf_json(run, SPECS / "alexnet.yaml", "--at", "pool5")["at"] == "features.pool5"


def test_table_stops_at_the_requested_node(run):
    result = run("rf", SPECS / "vgg16.yaml", "--at", "pool2", "--depth", "1")
    lines = result.stdout.splitlines()
    assert lines[3].startswith("├─conv1") and lines[6].startswith("└─pool2")
    assert "classifier" not in result.stdout


def test_public_api_for_the_linter():
    model = archcalc.load(str(SPECS / "resnet18.yaml"))
    fields, warnings = receptive_fields(model.graph)
    assert warnings == []
    final = final_field(model.graph, fields)
    assert final.path == "layer4"
    assert fields[final].status == LOCAL
    assert fields[final].size == (435, 435)
    assert fields[model.graph.root].status == GLOBAL
    unaligned = archcalc.loads(MISALIGNED, path="x.yaml")
    fields, warnings = receptive_fields(unaligned.graph)
    assert [(w.node.path, w.code, str(w.loc)) for w in warnings] == [("0", "rf-varies", "x.yaml:3:5")]
    assert fields[unaligned.graph.root].status == VARIES


@pytest.mark.parametrize("spec", shipped_specs(), ids=lambda p: p.stem)
def test_every_shipped_spec_runs_rf(spec, run):
    for fmt in ("table", "json", "markdown", "csv"):
        result = run("rf", spec, "--format", fmt)
        assert result.exit_code == 0, result.output


def test_concrete_analysis_never_imports_sympy(write):
    misaligned = write("input: [1, 8, 8]\nlayers:\n  - residual:\n"
                       "      body: [conv2d: {out: 1, kernel: 3, stride: 2, padding: 1}]\n"
                       "      shortcut: [conv2d: {out: 1, kernel: 2, stride: 2}]\n")
    code = ("import sys; from archcalc.cli import main\n"
            "misaligned = sys.argv[1]\n"
            "for args in (['rf', 'specs/resnet50.yaml'], ['flops', 'specs/vgg16_bn.yaml', '--format', 'json'],\n"
            "             ['rf', misaligned], ['summary', misaligned, '--format', 'json'],\n"
            "             ['summary', 'specs/resnet50.yaml'], ['summary', 'specs/alexnet.yaml', '--format', 'csv']):\n"
            "    try: main(args)\n"
            "    except SystemExit as e: assert e.code == 0, args\n"
            "assert 'sympy' not in sys.modules, 'sympy was imported'\n")
    proc = subprocess.run([sys.executable, "-c", code, str(misaligned)], capture_output=True, text=True, cwd=ROOT)
    assert proc.returncode == 0, proc.stderr


# -- the fields against autograd: with positive weights and no nonlinearity, the input pixels that reach an
# output are exactly its receptive field (clipped to the image) ------------------------------------------


def _grad_support(module, shape: tuple[int, ...], i: int, j: int) -> tuple[tuple[int, int], tuple[int, int]]:
    torch = pytest.importorskip("torch")
    for p in module.parameters():
        torch.nn.init.constant_(p, 1.0)
    x = torch.zeros(1, *shape, requires_grad=True)
    module(x)[0, 0, i, j].backward()
    hit = (x.grad[0].abs().sum(0) > 0).nonzero()
    return (int(hit[:, 0].min()), int(hit[:, 0].max())), (int(hit[:, 1].min()), int(hit[:, 1].max()))


def _predicted(spec: str, path: str, shape: tuple[int, ...], i: int, j: int):
    field = receptive_fields(archcalc.loads(spec).graph)[0]
    f = next(f for node, f in field.items() if node.path == path)
    return tuple((max(s.start + k * s.stride, 0), min(s.end + k * s.stride, n - 1))
                 for s, k, n in zip(f.spans, (i, j), shape[1:]))


def _sum(body, shortcut):
    """A module computing body(x) + shortcut(x), as a residual does."""
    torch = pytest.importorskip("torch")

    class Sum(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.body, self.shortcut = body, shortcut

        def forward(self, x):
            return self.body(x) + self.shortcut(x)

    return Sum()


@pytest.mark.parametrize("case", ["dilated", "distill", "non-square", "aligned", "union", "resnet-block"])
def test_fields_match_autograd(case):
    torch = pytest.importorskip("torch")
    nn = torch.nn
    if case == "dilated":
        spec = "input: [1, 32, 32]\nlayers:\n" + "".join(
            f"  - conv2d: {{out: 1, kernel: 3, dilation: {d}, padding: same}}\n" for d in (1, 2, 4))
        module = nn.Sequential(*(nn.Conv2d(1, 1, 3, dilation=d, padding=d) for d in (1, 2, 4)))
        path, shape, points = "2", (1, 32, 32), [(0, 0), (16, 9), (31, 30)]
    elif case == "distill":
        spec = ("input: [1, 9, 9]\nlayers:\n  - conv2d: {out: 1, kernel: 3, stride: 3, padding: 1}\n"
                "  - conv2d: {out: 1, kernel: 2}\n")
        module = nn.Sequential(nn.Conv2d(1, 1, 3, stride=3, padding=1), nn.Conv2d(1, 1, 2))
        path, shape, points = "1", (1, 9, 9), [(0, 0), (1, 1)]
    elif case == "non-square":
        spec = ("input: [1, 15, 15]\nlayers:\n  - conv2d: {out: 1, kernel: [3, 5], stride: 2}\n"
                "  - avgpool2d: {kernel: [3, 1], stride: 2}\n")
        module = nn.Sequential(nn.Conv2d(1, 1, (3, 5), stride=2), nn.AvgPool2d((3, 1), stride=2))
        path, shape, points = "1", (1, 15, 15), [(0, 0), (1, 2), (2, 1)]
    elif case in ("aligned", "union"):
        # "union": the shortcut sees [0, 3] where the body sees [−1, 1]; the field is [−1, 3], wider than both
        spec = ALIGNED if case == "aligned" else ALIGNED.replace("[1, 9, 9]", "[1, 12, 12]").replace(
            "[conv2d: {out: 1, kernel: 1, stride: 4}]", "[conv2d: {out: 1, kernel: 4, stride: 4}]")
        shortcut = nn.Conv2d(1, 1, 1 if case == "aligned" else 4, stride=4)
        module = _sum(nn.Sequential(nn.Conv2d(1, 1, 3, stride=2, padding=1), nn.Conv2d(1, 1, 1, stride=2)), shortcut)
        n = 9 if case == "aligned" else 12
        path, shape, points = "0", (1, n, n), [(0, 0), (1, 1), (2, 1)]
        if case == "union":
            assert _predicted(spec, path, shape, 1, 1) == ((3, 7), (3, 7))  # 4·1 − 1 … 4·1 + 3
    else:  # a ResNet basic block that downsamples, with its 1×1 projection
        spec = ("input: [2, 16, 16]\nlayers:\n  - residual:\n      body:\n"
                "        - conv2d: {out: 4, kernel: 3, stride: 2, padding: 1}\n"
                "        - conv2d: {out: 4, kernel: 3, padding: 1}\n      shortcut: auto\n")
        body = nn.Sequential(nn.Conv2d(2, 4, 3, stride=2, padding=1), nn.Conv2d(4, 4, 3, padding=1))
        module = _sum(body, nn.Conv2d(2, 4, 1, stride=2))
        path, shape, points = "0", (2, 16, 16), [(0, 0), (3, 4), (7, 7)]
    for i, j in points:
        assert _grad_support(module, shape, i, j) == _predicted(spec, path, shape, i, j), (case, i, j)


def test_at_a_name_many_nodes_share_asks_for_a_path(run):
    result = run("rf", SPECS / "resnet18.yaml", "--at", "conv2")
    assert result.exit_code == 2
    assert result.stderr == ("error: --at conv2: 8 nodes are named 'conv2'\n"
                             "  hint: give one's full path: layer1.0.conv2, layer1.1.conv2, layer2.0.conv2, …\n")


CAUSAL_TCN = """\
input: [1, T]
symbols: {T: 256}
blocks:
  temporal(d):
    - residual:
        body:
          - pad: [2 * d, 0]
          - conv1d: {out: 8, kernel: 3, dilation: d}
          - relu
          - pad: [2 * d, 0]
          - conv1d: {out: 8, kernel: 3, dilation: d}
          - relu
        then: [relu]
layers:
  - conv1d: {out: 8, kernel: 1}
  - temporal: 1
  - temporal: 2
  - temporal: 4
  - temporal: 8
"""


def test_a_causal_tcn_sees_exactly_its_past(run, write):
    """Bai et al.'s TCN, k = 3, two convolutions per block, dilations 1, 2, 4, 8. By hand: a stride-1
    convolution of effective kernel (k − 1)·d + 1 widens the field by (k − 1)·d = 2d, and its left pad of 2d
    moves the start 2d into the past, so after the blocks r = 1 + 2·2·(1 + 2 + 4 + 8) = 61 and P = 60:
    output t sees inputs t − 60 … t, never t + 1. Each block's identity shortcut sees only t, so the sums
    are the union of the two regions, which is the body's."""
    data = rf_json(run, write(CAUSAL_TCN))
    assert (data["size"], data["stride"], data["padding"]) == ([61], [1], [60])
    rows = by_path(data)
    assert [(rows[str(i)]["size"], rows[str(i)]["padding"]) for i in range(1, 5)] == \
        [([5], [4]), ([13], [12]), ([29], [28]), ([61], [60])]
    # after every layer but a pad (whose output is the input shifted), output t's window ends at input t
    ends = [row["size"][0] - 1 - row["padding"][0] for row in data["layers"] if row.get("kind") != "pad"]
    assert len(ends) == 1 + 4 * (1 + 5) and set(ends) == {0}, data["layers"]
    assert data["warnings"] == []  # causal paths join aligned by their ends, whatever their centres


def test_a_causal_body_beside_a_centred_shortcut_is_misaligned(run, write):
    """Only paths that are all causal align by their ends: a centred 3-tap shortcut (it sees t + 1) beside a
    causal body is reported."""
    spec = write("input: [2, 16]\nlayers:\n  - residual:\n      body: [pad: [2, 0], conv1d: {out: 2, kernel: 3}]\n"
                 "      shortcut: [conv1d: {out: 2, kernel: 3, padding: 1}]\n")
    data = rf_json(run, spec)
    assert [w["code"] for w in data["warnings"]] == ["rf-misaligned"]
    assert (data["size"], data["padding"]) == ([4], [2])  # the union of t − 2 … t and t − 1 … t + 1
    # axis by axis: causal along time (w), centred along frequency (h) on both paths is aligned
    both = write("input: [4, 16, 32]\nlayers:\n  - residual: [pad: [2, 0, 1, 1], conv2d: {out: 4, kernel: 3}]\n")
    assert rf_json(run, both)["warnings"] == []


def test_pad_then_conv_is_torchs_causal_layout_and_a_right_pad_keeps_positions(run, write):
    """``pad: [k − 1, 0]`` + an unpadded conv1d has the field of torch's causal layout (conv1d with padding
    k − 1, its last k − 1 outputs chopped): size k, padding k − 1. A pad after the end moves no position;
    a crop (negative amount) moves the start the other way."""
    causal = rf_json(run, write("input: [2, 32]\nlayers:\n  - pad: [4, 0]\n  - conv1d: {out: 2, kernel: 5}\n"))
    chopped = rf_json(run, write("input: [2, 32]\nlayers:\n  - conv1d: {out: 2, kernel: 5, padding: 4}\n"))
    assert (causal["size"], causal["padding"]) == (chopped["size"], chopped["padding"]) == ([5], [4])
    right = rf_json(run, write("input: [2, 8, 8]\nlayers:\n  - pad: [0, 3, 0, 1]\n  - conv2d: {out: 2, kernel: 3}\n"))
    assert (right["size"], right["padding"]) == ([3, 3], [0, 0])
    crop = rf_json(run, write("input: [2, 8, 8]\nlayers:\n  - pad: [-1, 0, 2, 0]\n  - conv2d: {out: 2, kernel: 3}\n"))
    assert (crop["size"], crop["padding"]) == ([3, 3], [2, -1])  # h: starts 2 before row 0; w: at column 1


def test_copying_pads_and_padding_modes_have_zero_paddings_field(run, write):
    """The field is an interior unit's (size, jump, start): a reflection, replication or circular pad fills the
    border with copies instead of zeros but moves no interior position, so every mode gives zero padding's
    numbers, for a pad layer and for a convolution's padding_mode alike (CycleGAN's pad-then-conv block)."""
    def field(pad: str, mode: str) -> tuple:
        spec = write(f"input: [3, 32, 32]\nlayers:\n  - pad: {{padding: [3, 3, 3, 3]{pad}}}\n"
                     "  - conv2d: {out: 8, kernel: 7}\n"
                     f"  - conv2d: {{out: 8, kernel: 3, stride: 2, padding: 1, padding_mode: {mode}}}\n")
        data = rf_json(run, spec)
        return data["size"], data["stride"], data["padding"], [row["size"] for row in data["layers"]]

    zeros = field("", "zeros")
    assert zeros[:3] == ([9, 9], [2, 2], [4, 4])  # 7 + (3 − 1)·1; the left pad 3 moves the start 3 + 1
    for mode in ("reflect", "replicate", "circular"):
        assert field(f", mode: {mode}", mode) == zeros, mode
