"""The sliding-window kinds in 1-D and 3-D and the upsampling kinds (transposed convolution, upsample,
pixel shuffle) in the calculator: located errors for every bad argument, shapes and MACs as formulas
in free sizes, MACs against ``torch.utils.flop_counter``, and receptive fields through upsampling."""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import archcalc
from archcalc.calc.flops import work
from archcalc.calc.rf import receptive_fields
from archcalc.errors import SpecError


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as raised:
        archcalc.loads(text)
    return raised.value


def torch_macs(module: torch.nn.Module, shape: tuple[int, ...]) -> int:
    """MACs of one example as torch's own flop counter counts them (it counts a multiply-add as 2)."""
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        module(torch.zeros(1, *shape))
    return counter.get_total_flops() // 2


@pytest.mark.parametrize("layer, shape", [
    ("conv_transpose1d: {out: 6, kernel: 3, stride: 2, padding: 1, output_padding: 1, groups: 2}", (4, 5)),
    ("conv_transpose2d: {out: 8, kernel: [3, 2], stride: [2, 3], padding: [1, 0], groups: 4, bias: false}", (4, 7, 5)),
    ("conv_transpose2d: {out: 64, kernel: 2, stride: 2}", (128, 28, 28)),
    ("conv_transpose3d: {out: 3, kernel: 2, stride: [1, 2, 2], dilation: 2}", (2, 3, 4, 5)),
    ("conv3d: {out: 6, kernel: 3, stride: 2, padding: 1, groups: 2}", (4, 5, 6, 7)),
])
def test_macs_are_torch_flop_counters(layer, shape):
    model = archcalc.loads(f"input: {list(shape)}\nlayers:\n  - {layer}\n")
    assert work(model.graph)[model.graph.root].macs == torch_macs(archcalc.to_torch(model), shape)


@pytest.mark.parametrize("layer, at, code, says, hint", [
    ("conv_transpose2d: {out: 4, kernel: 3, stride: 2, output_padding: 2}", "2}", "bad-argument",
     "output padding 2 along H is not smaller than the stride 2 or the dilation 1",
     "output_padding < stride or output_padding < dilation"),
    ("conv_transpose1d: {out: 4, kernel: 2, stride: 1, padding: 3}", "conv", "non-positive-size",
     "output L would be -2", "less padding"),  # (3 − 1)·1 − 2·3 + 1 + 1
    ("conv_transpose2d: {out: 3, kernel: 2, groups: 2}", "2}", "bad-argument",
     "groups=2 does not divide the output channels (3)", "must divide both"),
    ("conv_transpose2d: {out: 4, kernel: 2, output_padding: [0, 0, 0]}", "[0, 0, 0]", "bad-argument",
     "'output_padding' must be one integer or a list [h, w] of two", None),
    ("conv_transpose2d: {out: 4, kernel: 2, padding: same}", "same", "bad-argument", "'padding' must be",
     "no 'same' or 'valid'"),
])
def test_conv_transpose_errors_are_located(layer, at, code, says, hint):
    """Each error points at the argument's value (``at``, its first occurrence), or at the layer."""
    e = error(f"input: [4, 3, 3]\nlayers:\n  - {layer}\n" if "1d" not in layer else
              f"input: [4, 3]\nlayers:\n  - {layer}\n")
    assert (e.loc.line, e.loc.col) == (3, 5 + layer.index(at)) and e.code == code and says in e.message
    assert hint is None or hint in (e.hint or "")


def test_conv_transpose_output_size_is_a_formula_in_free_sizes():
    model = archcalc.loads("input: [8, H, W]\nlayers:\n  - conv_transpose2d: {out: 4, kernel: 3, stride: 2, "
                           "padding: 1, output_padding: 1}\n", symbolic_dims=True)
    assert [str(d) for d in model.output_shape] == ["4", "2*H", "2*W"]
    assert str(work(model.graph)[model.graph.root].macs) == "288*H*W"  # C_i·H·W · C_o · 9 taps


def test_the_field_through_an_up_convolution():
    """Output o of a 2×2 stride-2 up-convolution reads input ⌊o/2⌋: in input units, a cover of every output's
    region grows by one position of the new jump (S/2) and the jump halves (docs/analysis.md)."""
    model = archcalc.loads("input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 8, kernel: 3, padding: 1}\n"
                           "  - maxpool2d: 2\n  - conv_transpose2d: {out: 8, kernel: 2, stride: 2}\n"
                           "  - conv_transpose2d: {out: 8, kernel: 2, stride: 2}\n")
    fields, _ = receptive_fields(model.graph)
    pool, up, up2 = (fields[model.graph.find(p)] for p in ("1", "2", "3"))
    assert (pool.size, pool.stride, pool.padding) == ((4, 4), (2, 2), (1, 1))
    assert (up.size, up.stride, up.padding) == ((5, 5), (1, 1), (2, 2))
    assert up2.status == "varies"  # outputs step by half an input position


@pytest.mark.parametrize("layer, at, code, says, hint", [
    ("upsample: {scale: 2, size: 6}", "6}", "bad-argument", "give exactly one of 'scale' and 'size'", None),
    ("upsample: {mode: bilinear}", "upsample", "bad-argument", "give exactly one of 'scale' and 'size'", None),
    ("upsample: {scale: 2, mode: linear}", "linear", "bad-argument", "mode 'linear' is for [C, L] inputs, "
     "not [4, 3, 3]", "use 'bilinear' (or 'nearest') on a [C, H, W] input"),
    ("upsample: {scale: 2, align_corners: true}", "true", "bad-argument",
     "align_corners applies to the interpolating modes only", "mode linear, bilinear or trilinear"),
    ("upsample: {scale: [2, 2, 2]}", "[2, 2, 2]", "bad-argument",
     "'scale' gives 3 values for the 2 spatial axes of [4, 3, 3]", "[H, W]"),
    ("upsample: -2", "-2", "bad-argument", "'scale' must be a positive number, got -2", None),
    ("upsample: 0.2", "0.2", "non-positive-size", "output H would be 0", "larger scale"),
    ("upsample: {size: [0, 4]}", "[0, 4]", "bad-argument", "'size' must be an integer ≥ 1", None),
    ("upsample: {mode: cubic, scale: 2}", "cubic", "bad-argument", "'mode' must be one of", None),
    ("pixel_shuffle: 3", "3", "bad-input-shape", "4 channels of [4, 3, 3] do not divide by r² = 9",
     "a multiple of 9 channels"),
    ("pixel_shuffle: 0", "0", "bad-argument", "'factor' must be an integer ≥ 1", None),
])
def test_upsample_and_pixel_shuffle_errors_are_located(layer, at, code, says, hint):
    e = error(f"input: [4, 3, 3]\nlayers:\n  - {layer}\n")
    assert (e.loc.line, e.loc.col, e.code) == (3, 5 + layer.index(at), code) and says in e.message
    assert hint is None or hint in (e.hint or "")


def test_a_fractional_scale_of_a_free_size_is_a_located_error_and_a_whole_one_a_formula():
    e = error("input: [3, H, W]\nlayers:\n  - upsample: 1.5\n")
    assert (e.loc.line, e.loc.col) == (3, 15) and "H × 1.5 is not a whole number for every H" in e.message
    assert "--set" in e.hint
    e = error("input: [3, H, W]\nlayers:\n  - upsample: {scale: [2, 3]}\n  - pixel_shuffle: 2\n")
    assert e.code == "bad-input-shape" and "3 channels" in e.message
    model = archcalc.loads("input: [12, H, W]\nlayers:\n  - upsample: {scale: [2, 3], mode: bilinear}\n"
                           "  - pixel_shuffle: 2\n", symbolic_dims=True)
    assert [str(d) for d in model.output_shape] == ["3", "4*H", "6*W"] and model.trainable_params == 0


@pytest.mark.parametrize("layer, shape", [
    ("upsample: {scale: 2, mode: bilinear}", (3, 4, 5)),
    ("upsample: {size: 9, mode: linear}", (3, 4)),
    ("pixel_shuffle: 2", (8, 3, 3)),
])
def test_upsampling_has_no_macs_as_torch_counts_them(layer, shape):
    model = archcalc.loads(f"input: {list(shape)}\nlayers:\n  - {layer}\n")
    assert work(model.graph)[model.graph.root].macs == torch_macs(archcalc.to_torch(model), shape) == 0


def test_upsample_work_reads_one_input_per_output_or_two_per_interpolated_axis():
    nearest = archcalc.loads("input: [3, 4, 5]\nlayers:\n  - upsample: 2\n")
    bilinear = archcalc.loads("input: [3, 4, 5]\nlayers:\n  - upsample: {scale: 2, mode: bilinear}\n")
    assert work(nearest.graph)[nearest.graph.root].pool == 3 * 8 * 10
    assert work(bilinear.graph)[bilinear.graph.root].pool == 3 * 8 * 10 * 4


@pytest.mark.parametrize("layer, size, stride, padding", [
    ("upsample: 2", 5, 1, 2),                               # nearest: k = f = 2, left padding f − 1
    # output o reads inputs ⌊(o−1)/2⌋ and one more: o = 2 sees −1 … 4, o = 3 sees 1 … 6, so −3 + o … + 6
    ("upsample: {scale: 2, mode: bilinear}", 7, 1, 3),      # FCN's k = 4, p = 1: left padding 2
    ("pixel_shuffle: 2", 5, 1, 2),
    ("upsample: 4", None, None, None),                      # 4 does not divide the jump 2: varies
])
def test_fields_through_upsampling(layer, size, stride, padding):
    """After conv 3 + maxpool 2 the field is 4 / 2 / 1; upsampling by 2 brings the jump back to 1."""
    model = archcalc.loads(f"input: [8, 16, 16]\nlayers:\n  - conv2d: {{out: 8, kernel: 3, padding: 1}}\n"
                           f"  - maxpool2d: 2\n  - {layer}\n")
    field = receptive_fields(model.graph)[0][model.graph.find("2")]
    if stride is None:
        assert field.status == "varies"
        return
    assert (field.size, field.stride, field.padding) == ((size,) * 2, (stride,) * 2, (padding,) * 2)


def test_the_reference_examples_give_what_the_text_says():
    from tests.test_spec_doc import example

    assert [example("name: upsamplers").graph.find(p).out_shape for p in ("0", "1", "3", "4")] == [
        (32, 16, 16), (32, 32, 32), (3, 64, 64), (3, 100, 80)]
    assert [example("name: signal-to-volume").graph.find(p).out_shape for p in ("0", "1", "2", "4", "5")] == [
        (4, 32), (4, 16), (8, 32), (4, 4, 8, 8), (4,)]
    mini = example("name: unet-mini")
    assert mini.output_shape == (2, 32, 32)
    assert mini.graph.find("up1.1").out_shape == (32, 16, 16) and mini.graph.find("up0.1").out_shape == (16, 32, 32)


SKIP = """input: [3, 8, 8]
layers:
  - conv2d: {out: 4, kernel: 3, padding: 1, name: enc}
  - maxpool2d: {kernel: 2, name: pool}
  - name: dec
    layers:
      - upsample: 2
      - concat: [BRANCH, []]
  - conv2d: {out: 2, kernel: 1, name: later}
"""


@pytest.mark.parametrize("branch, code, says, hint", [
    ("{from: enx}", "bad-name", "'from: enx' names no layer or block built before this merge",
     "did you mean 'enc'"),
    ("{from: later}", "bad-name", "'from: later' names no layer or block built before this merge", None),
    ("{from: dec}", "bad-name", "'from: dec' names a node that encloses this merge", "outside this one"),
    ("{from: pool}", "concat-mismatch", "branch 1 gives [4, 8, 8] but branch 0 gives [4, 4, 4]", None),
    ("{from: enc, layer: [relu]}", "unknown-key", "unexpected key 'layer' in a branch with 'from:'",
     "did you mean 'layers'"),
])
def test_a_skip_to_a_bad_path_is_a_located_error(branch, code, says, hint):
    e = error(SKIP.replace("BRANCH", branch))
    assert e.code == code and says in e.message, (e.code, e.message)
    assert e.loc.line == 8 and (code == "concat-mismatch" or e.loc.col > SKIP.splitlines()[7].index("BRANCH"))
    assert hint is None or hint in (e.hint or "").lower()


def test_from_outside_a_merge_is_a_located_error():
    e = error("input: [3, 8, 8]\nlayers:\n  - relu: {name: a}\n  - from: a\n")
    assert (e.loc.line, e.loc.col, e.code) == (4, 11, "bad-structure") and "belongs in a branch of a merge" in e.message


def test_a_skip_reads_the_source_in_every_backend_that_runs_it():
    """The branch's input is the source's output: torch runtime and generated source agree with a hand
    computation, and the diagram draws the skip as a dashed edge from the source's box."""
    text = SKIP.replace("BRANCH", "{from: enc, layers: [relu]}")
    model = archcalc.loads(text)
    assert model.graph.find("dec.1").out_shape == (8, 8, 8) and model.output_shape == (2, 8, 8)
    module = archcalc.to_torch(model)
    torch.manual_seed(0)
    x = torch.randn(2, 3, 8, 8)
    with torch.no_grad():
        enc = module.get_submodule("enc")(x)
        up = torch.nn.functional.interpolate(module.get_submodule("pool")(enc), scale_factor=2)
        expected = module.get_submodule("later")(torch.cat([enc.relu(), up], dim=1))
        assert torch.equal(module(x), expected)
    assert skip_edges(model) == [("enc · conv2d", "0 · relu")]  # the branch's first layer, fed by enc


def test_explain_derives_the_upsampled_sizes(run):
    text = "input: [12, 5, 6]\nlayers:\n  - upsample: 1.5\n  - upsample: {size: [9, 10]}\n  - pixel_shuffle: 2\n" \
        "  - conv_transpose2d: {out: 2, kernel: 3, stride: 2, padding: 1, output_padding: 1}\n"
    result = run("shapes", "-", "--explain", input=text)
    assert result.exit_code == 0, result.output
    for line in ["H_o = ⌊H×s⌋ = ⌊5×1.5⌋ = 7", "W_o = size = 10", "C_o = C/(r×r) = 12/(2×2) = 3",
                 "H_o = (H−1)×S−2×P+F+P_o = (18−1)×2−2×1+3+1 = 36"]:
        assert line in result.stdout
    params = run("params", "-", "--explain", input=text)
    assert "C_i×C_o×k_h×k_w+C_o = 3×2×3×3+2 = 56" in params.stdout


def skip_edges(model: archcalc.Model, depth: int | None = None) -> list[tuple[str, str]]:
    """The diagram's dashed edges as (source box, target box) by their first lines (tests/test_unet.py too)."""
    from archcalc.diagram import Cluster, drawing

    picture = drawing(model, depth)
    boxes = {}

    def collect(members):
        for member in members:
            if isinstance(member, Cluster):
                collect(member.members)
            else:
                boxes[member.id] = member.lines[0]

    collect(picture.members)
    return [(boxes[e.source], boxes[e.target]) for e in picture.edges if e.shortcut]
