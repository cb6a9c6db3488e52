"""Window-geometry rules (G) on exact cases: which kernel taps ever read the input."""

from __future__ import annotations

import pytest

from archcalc.lint import lint


def messages(text: str, code: str) -> list[str]:
    return [d.message for d in lint(text, "x.yaml", [code]).diagnostics if d.code == code]


@pytest.mark.parametrize(("hw", "conv", "dead"), [
    ((1, 1), "kernel: 3, padding: 1", "8 of its 9 taps"),  # ResNet's last stage on 32×32 images
    ((2, 2), "kernel: 3, padding: 1", None),  # every tap reads a real pixel for some output
    ((2, 2), "kernel: 3, stride: 3, padding: 2", "5 of its 9 taps"),  # the middle tap: rows −2 and 1 only
    ((2, 2), "kernel: 3, dilation: 2, padding: 2", "8 of its 9 taps"),  # taps at 0, 2, 4: only the middle one
    ((1, 4), "kernel: [3, 1], padding: [1, 0]", "2 of its 3 taps"),
    ((1, 5), "kernel: 4, padding: 2", "8 of its 16 taps"),  # on H = 1 only taps 1 and 2 ever reach row 0
    ((2, 5), "kernel: 4, padding: 2", None),  # on H = 2 the three outputs reach it with every tap
])
def test_dead_taps_are_counted_exactly(hw, conv, dead):
    text = f"input: [1, {hw[0]}, {hw[1]}]\nlayers:\n  - conv2d: {{out: 1, {conv}}}\n  - relu\n"
    found = messages(text, "G102")
    if dead is None:
        assert found == []
    else:
        assert len(found) == 1 and f": {dead} never read the input, at any output position" in found[0], found


@pytest.mark.parametrize("mode", ["replicate", "circular"])
def test_taps_in_a_padding_of_copies_read_the_input(mode):
    """With a padding_mode other than zeros the padding holds copies of the input: no tap is dead (the
    zeros case is ResNet's last stage on 32×32 images above, 8 of 9 taps)."""
    text = f"input: [1, 1, 1]\nlayers:\n  - conv2d: {{out: 1, kernel: 3, padding: 1, padding_mode: {mode}}}\n"
    assert messages(text, "G102") == []


def test_a_free_size_on_one_axis_counts_the_other_axis_alone():
    text = "input: [1, H, 1]\nsymbols: {H}\nlayers:\n  - conv2d: {out: 1, kernel: 3, padding: 1}\n  - relu\n"
    assert messages(text, "G102") == ["`0` (conv2d) has a kernel larger than its input (3 > W = 1): 2 of its 3 "
                                      "kernel columns along W never read the input, at any output position"]


def test_misaligned_joins_are_the_warnings_of_archcalc_rf(write, run):
    from tests.test_rf import MISALIGNED  # google-research's unaligned network

    path = write(MISALIGNED)
    rf = run("rf", path, "--at", "1")
    [finding] = lint(MISALIGNED, str(path), ["G104"]).diagnostics
    assert rf.stderr == f"{finding.loc}: warning: {finding.message}; it is reported as 'varies'\n"
    assert finding.message == ("residual '0': the shortcut and the body have different effective strides "
                               "(h: 1 vs 2, w: 1 vs 2), so the receptive field changes from one output to the next")
    assert finding.hint.startswith("downsample every path by the same factor")


def test_aligned_and_non_spatial_joins_are_clean():
    from tests.test_rf import ALIGNED

    assert messages(ALIGNED, "G104") == []
    assert messages("input: [8]\nlayers: [residual: [linear: 8, relu, linear: 8]]\n", "G104") == []


@pytest.mark.parametrize(("layers", "hint"), [
    ("conv1d: {out: 8, kernel: 3}, relu, dropout: 0.2, linear: 10", "`- mean: 1` (the average over the positions)"),
    ("conv1d: {out: 8, kernel: 3}, batchnorm1d, linear: 10", "`- mean: 1` (the average over the positions)"),
])
def test_missing_flatten_after_a_1d_convolution(layers, hint):
    [finding] = lint(f"input: [3, 100]\nlayers: [{layers}]\n", "x.yaml", ["S106"]).diagnostics
    assert finding.message.endswith("8 channels × 98 positions, and mixes the positions of each channel alone, "
                                    "giving [8, 10]")
    assert finding.hint == f"add `- flatten` before it (all 8×98 features), or {hint}"


@pytest.mark.parametrize("text", [
    "input: [16, 64]\nlayers: [linear: 32, relu, layernorm, linear: 10]\n",  # token vectors: [T, D]
    "input: [3, 100]\nlayers: [linear: 10]\n",  # the input's layout is not known
    "input: [3, 100]\nlayers: [conv1d: {out: 8, kernel: 3}, transpose, linear: 10]\n",  # moved axes
    "input: [3, 100]\nlayers: [conv1d: {out: 8, kernel: 3}, flatten, linear: 10]\n",
    "input: [3, 100]\nlayers: [conv1d: {out: 8, kernel: 3}, mean: 1, linear: 10]\n",
])
def test_missing_flatten_spares_sequences_and_moved_axes(text):
    assert lint(text, "x.yaml", ["S106"]).diagnostics == []


def test_missing_flatten_names_the_pooling_of_the_map_it_gets():
    [finding] = lint("input: [3, 8, 8, 8]\nlayers: [linear: 10]\n", "x.yaml", ["S106"]).diagnostics
    assert finding.hint == "add `- flatten` before it, or `- mean: [1, 2, 3]` (global average pooling)"


def test_small_receptive_field_reads_the_field_of_the_pooled_trunk():
    """A trunk gated by squeeze-and-excitation sees the whole image, however small its convolutions'
    windows (RegNet-Y's stem is top-level, with a 3×3 field): nothing to report. Without the gate the
    same trunk's 7×7 field on a 64×64 image is reported."""
    from tests.test_rf import SE_TRUNK

    assert messages(SE_TRUNK, "G103") == []
    plain = "".join(line for line in SE_TRUNK.splitlines(keepends=True) if "multiply" not in line)
    assert messages(plain, "G103") == ["the features after `trunk` each see only 7 × 7 pixels of the 64 × 64 input: "
                                       "no layer relates parts of the image further apart than that"]


def test_misaligned_receptive_fields_leaves_a_shift_of_less_than_half_a_step_alone():
    """ResNet-D's shortcut (2×2 average pooling of stride 2, then a 1×1 convolution) beside a 3×3 stride-2 body:
    centres half an input pixel apart, a quarter of the stride-2 grid's step, so every position still meets its
    own; archcalc rf notes the shift, lint does not warn."""
    resnet_d = ("input: [8, 16, 16]\nlayers:\n  - residual:\n      body: [conv2d: {out: 16, kernel: 3, stride: 2, "
                "padding: 1}]\n      shortcut: [avgpool2d: {kernel: 2, stride: 2}, conv2d: {out: 16, kernel: 1}]\n"
                "  - relu\n")
    assert messages(resnet_d, "G104") == []
    # the same half pixel on a stride-1 grid is half its step: a 4×4 'same' convolution pads 1 before, 2 after
    shifted = "input: [8, 16, 16]\nlayers:\n  - residual:\n      body: [conv2d: {out: 8, kernel: 3, padding: 1}]\n" \
              "      shortcut: [conv2d: {out: 8, kernel: 4, padding: same}]\n  - relu\n"
    assert messages(shifted, "G104") == ["residual '0': the shortcut and the body are not aligned (centres of output 0 "
                                         "at h: 0.5 vs 0, w: 0.5 vs 0)"]


@pytest.mark.parametrize(("shape", "first", "found"), [
    ("[28, 28, 1]", "conv2d: {out: 8, kernel: [3, 1], padding: [1, 0]}", True),  # MNIST as Keras gives it
    ("[224, 224, 3]", "maxpool2d: {kernel: 1}", True),
    ("[3, 224, 224]", "conv2d: {out: 8, kernel: 3}", False),
    ("[64, 64, 16]", "conv2d: {out: 8, kernel: 3, padding: 1}", False),  # 16 is no image's channel count
    ("[4, 4, 3]", "conv2d: {out: 8, kernel: 1}", False),  # too small to be an image's height and width
    ("[32, 32, 3]", "linear: 8", False),  # a linear layer over the last axis: not a sliding window
    ("[28, 28, 1]", "conv2d: {out: 8, kernel: 3}", True),  # the first layer fails on it: reported all the same
    ("[16000, 1]", "conv1d: {out: 8, kernel: 1}", True),  # mono audio given time first
    ("[128, 3]", "conv1d: {out: 8, kernel: 5}", True),  # three accelerometer axes last
    ("[1, 16000]", "conv1d: {out: 8, kernel: 9}", False),
    ("[12, 1000]", "conv1d: {out: 8, kernel: 9}", False),  # 12 ECG leads first
    ("[10, 3]", "conv1d: {out: 8, kernel: 3}", False),  # too short to be a series given time first
    ("[60, 5]", "conv1d: {out: 64, kernel: 3}", True),  # Keras' input_shape=(60, 5): 60 days of five prices
    ("[64, 8]", "conv1d: {out: 64, kernel: 3}", True),
    ("[24, 8]", "conv1d: {out: 64, kernel: 3}", False),  # 24 channels of 8 steps may be what it says
    ("[64, 9]", "conv1d: {out: 64, kernel: 3}", False),  # nine steps or more: a short series of many channels
    ("[16, 3, 112, 112]", "conv3d: {out: 8, kernel: 3, padding: 1}", True),  # a clip given frames first
    ("[3, 16, 112, 112]", "conv3d: {out: 8, kernel: 3, padding: 1}", False),
    ("[4, 155, 96, 96]", "conv3d: {out: 8, kernel: 3, padding: 1}", False),  # four MRI modalities first
])
def test_channels_last_input_is_a_channels_last_shape_before_a_window(shape, first, found):
    text = f"input: {shape}\nlayers:\n  - {first}\n"
    codes = [d.code for d in lint(text, "x.yaml", ["G106"]).diagnostics if not d.rule.core]
    assert codes == (["G106"] if found else [])


def test_channels_last_input_ends_on_blocks_that_use_each_other():
    """Looking for the first layer as written, a cycle of blocks is followed once (it hung the linter)."""
    import subprocess
    import sys

    text = "input: [8]\nblocks:\n  a(c):\n    - b: c\n  b(c):\n    - a: c\nlayers:\n  - a: 3\n"
    proc = subprocess.run([sys.executable, "-m", "archcalc", "lint", "--select", "ALL", "--format", "concise", "-"],
                          input=text, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stdout.splitlines()[0] == "<stdin>:6:7: E113 [block-cycle] block 'a' uses itself (a → b → a)"


def test_misaligned_receptive_fields_spares_an_upsampled_path():
    """A feature pyramid's top-down sum (torchvision's FeaturePyramidNetwork: nearest upsampling of the coarser
    level added to the finer one's lateral 1×1): the half-step offset is upsampling's convention, by design."""
    text = ("input: [3, 64, 64]\nlayers:\n  - conv2d: {out: 8, kernel: 3, stride: 2, padding: 1, name: c4}\n"
            "  - conv2d: {out: 8, kernel: 3, stride: 2, padding: 1}\n"
            "  - add:\n      - [upsample: 2]\n      - {from: c4, layers: [conv2d: {out: 8, kernel: 1}]}\n")
    assert lint(text, "x.yaml", ["G104"]).diagnostics == []
    shifted = text.replace("[upsample: 2]", "[conv_transpose2d: {out: 8, kernel: 2, stride: 2}]")
    assert lint(shifted, "x.yaml", ["G104"]).diagnostics == []
