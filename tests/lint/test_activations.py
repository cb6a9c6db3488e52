"""Activation rules (A) on exact cases: linear collapse and saturating stacks."""

from __future__ import annotations

import pytest

from archcalc.lint import lint


def messages(text: str, code: str) -> list[str]:
    return [d.message for d in lint(text, "x.yaml", [code]).diagnostics if d.code == code]


@pytest.mark.parametrize(("widths", "reported"), [
    ((64, 8, 64), False),  # a low-rank factorisation: rank ≤ 8, 1,096 parameters instead of 4,160
    ((64, 8, 4), True),  # the middle is wider than the output: one 64→4 layer does the same
    ((8, 16, 64), True),
    ((64, 64, 64), False),  # the first layer is as wide as the input: dense-input-layer (A110) says it
])
def test_linear_collapse_spares_a_narrow_middle_only(widths, reported):
    d_in, d_mid, d_out = widths
    text = f"input: [{d_in}]\nlayers: [linear: {d_mid}, linear: {d_out}]\n"
    assert bool(messages(text, "A101")) == reported
    assert bool(messages(text, "A110")) == (d_in == d_mid)


@pytest.mark.parametrize(("layers", "a101", "a110"), [
    ("[linear: 64, linear: 10]", [], [3]),  # the Keras "input layer": info
    ("[linear: 32, relu, linear: 64, linear: 64]", [5], []),  # a square pair inside the network: a warning
    ("[linear: 64, relu, linear: 10]", [], []),  # an input-sized hidden layer with its activation
    ("[linear: 64, dropout: 0.5, linear: 64, linear: 10]", [5], [3]),  # each pair reported once
    ("[linear: 64, add: [[identity], [linear: 64]], linear: 10]", [], []),  # a sum comes first
])
def test_dense_input_layer_takes_the_input_sized_first_layer_from_linear_collapse(layers, a101, a110):
    text = f"input: [64]\nlayers:\n  - {layers.strip('[]').replace(', ', chr(10) + '  - ')}\n"
    found = lint(text, "x.yaml", ["A101", "A110"]).diagnostics
    assert [d.loc.line for d in found if d.code == "A101"] == a101
    assert [d.loc.line for d in found if d.code == "A110"] == a110


def test_mobilenet_v2_linear_bottleneck_is_not_a_collapse():
    # a block's 1×1 projection to 24 channels, batch norm, then the next block's 1×1 expansion (×6)
    text = ("input: [96, 14, 14]\nlayers:\n  - conv2d: {out: 24, kernel: 1, bias: false}\n  - batchnorm2d\n"
            "  - conv2d: {out: 144, kernel: 1, bias: false}\n  - batchnorm2d\n  - relu6\n")
    assert messages(text, "A101") == []
    assert len(messages(text.replace("[96, 14, 14]", "[16, 14, 14]"), "A101")) == 1  # 16 → 24 → 144: no bottleneck


def test_a_free_width_is_still_reported():
    text = "input: [D]\nsymbols: {D}\nlayers: [linear: 8, linear: 64]\n"
    assert len(messages(text, "A101")) == 1


def stack(*kinds: str) -> str:
    return "input: [16]\nlayers:\n" + "".join(f"  - linear: 16\n  - {kind}\n" for kind in kinds) + "  - linear: 2\n"


PREFIX = "the gradient reaching the first layers is scaled by each one's derivative: "
TANH = "tanh' ≤ 1, and it falls towards 0 once a unit saturates (tanh' < 0.08 for |x| > 2)"


@pytest.mark.parametrize(("kinds", "scaled"), [
    (["sigmoid"] * 6, "sigmoid' ≤ 0.25, so by at most 0.25^6 ≈ 0.00024"),
    (["tanh"] * 6, TANH),  # no 0.25 bound for tanh
    (["sigmoid"] * 20 + ["tanh"] * 4, f"sigmoid' ≤ 0.25, so by at most 0.25^20 ≈ 9.1e-13 over the 20 sigmoids; {TANH}"),
])
def test_deep_saturating_stack_quotes_the_bound_of_each_activation(kinds, scaled):
    [message] = messages(stack(*kinds), "A102")
    assert message.endswith(PREFIX + scaled), message


def head(final: str, loss: str, inputs: str = "[20]") -> str:
    return f"input: {inputs}\nlayers: [linear: 3, {final}]\ntrain: {{task: classification, classes: 3, loss: {loss}}}\n"


@pytest.mark.parametrize(("final", "loss", "codes"), [
    ("softmax", "cross_entropy", ["T102"]),  # trained on the logits by archcalc: a note for other loops
    ("sigmoid", "bce_with_logits", ["T102"]),
    ("sigmoid", "cross_entropy", ["A103"]),  # cross-entropy's own softmax over sigmoid outputs, everywhere
    ("softmax", "bce_with_logits", ["A103"]),
    ("softmax", "bce", []),
    ("softmax: {dim: -1}", "cross_entropy", ["T102"]),  # the last axis of a vector is its classes
])
def test_a_final_probability_layer_before_a_logits_loss(final, loss, codes):
    assert [d.code for d in lint(head(final, loss), "x.yaml", ["A103", "T102"]).diagnostics] == codes


def test_a_softmax_over_another_axis_is_not_what_cross_entropy_applies():
    [finding] = lint(head("softmax: {dim: -1}", "cross_entropy", "[5, 20]"), "x.yaml", ["A103", "T102"]).diagnostics
    assert (finding.code, finding.message) == ("A103", "`1` (softmax) transforms the logits of `0` (linear) before the "
                                               "output: the loss cross_entropy takes the raw logits and applies its "
                                               "own softmax (archcalc leaves only that very softmax over the classes "
                                               "out of training)")


@pytest.mark.parametrize(("dim", "class_axis", "codes"), [
    (-1, -1, ["T102"]), (1, -1, ["T102"]),  # a language model's softmax over V, the class axis it names
    (0, -1, ["A103"]), (0, 0, ["T102"]), (-1, None, ["A103"]),  # over T; or the class axis unsaid
])
def test_a_softmax_over_the_specs_class_axis_is_what_cross_entropy_applies(dim, class_axis, codes):
    axis = "" if class_axis is None else f", class_axis: {class_axis}"
    text = head(f"softmax: {{dim: {dim}}}", "cross_entropy", "[5, 20]").replace("loss: cross_entropy", f"loss: "
                                                                                 f"cross_entropy{axis}")
    findings = lint(text, "x.yaml", ["A103", "T102"]).diagnostics
    assert [d.code for d in findings] == codes
    if class_axis is None:
        assert findings[0].hint.endswith(", or, if that axis holds the classes (a class per position), say so: "
                                         "class_axis: -1")


def test_the_softmax_note_says_who_applies_it_twice():
    [finding] = lint(head("softmax", "cross_entropy"), "x.yaml", ["T102"]).diagnostics
    assert finding.severity == "info"
    assert finding.message == ("the model ends in `1` (softmax), which cross_entropy applies itself: archcalc trains "
                               "on the logits before it, but a training loop that gives the module's output to a "
                               "cross_entropy loss applies the softmax twice")


TRAIN = "train: {task: regression, loss: mse, optimizer: adam}\n"


def test_a_step_freezes_exactly_the_layers_whose_only_way_out_is_through_it():
    perceptron = "input: [2]\nlayers: [linear: 1, step]\n"
    assert messages(perceptron, "A105") == []  # nothing is trained
    assert messages(perceptron + TRAIN, "A105") == [
        "`1` (step) has a zero gradient everywhere, so training with adam never changes the 3 parameters of `0` "
        "before it (every parameter of the model)"]
    # in a residual body only the body's layers before the step are frozen: the shortcut carries the gradient on
    residual = "input: [4]\nlayers:\n  - linear: 4\n  - residual: [linear: 4, step, linear: 4]\n  - linear: 1\n"
    assert messages(residual + TRAIN, "A105") == [
        "`1.1` (step) has a zero gradient everywhere, so training with adam never changes the 20 parameters of "
        "`1.0` before it"]
    symbolic = "input: [D]\nsymbols: {D}\nlayers: [linear: 3, relu, linear: 1, step]\n"
    assert messages(symbolic + TRAIN, "A105") == [
        "`3` (step) has a zero gradient everywhere, so training with adam never changes the 3*D + 7 parameters of "
        "`0` … `2` before it (every parameter of the model)"]


@pytest.mark.parametrize(("hidden", "final", "reported"), [
    (["sigmoid"] * 3, "", True),  # 0.25³ = 1/64 between the first layer's gradient and the last's
    (["sigmoid"] * 2, "  - sigmoid\n", False),  # the output's derivative scales every layer alike
    (["tanh"] * 4, "", False),  # LeNet-5's depth, and tanh has no bound
    (["hardsigmoid"] * 3, "", True),  # (1/6)³
    (["hardsigmoid"] * 2, "", False),  # 1/36 > 1/64
    (["sigmoid", "tanh", "sigmoid"], "", False),  # 0.25² bounds the two sigmoids only
])
def test_deep_saturating_stack_reports_three_hidden_sigmoids(hidden, final, reported):
    assert bool(messages(stack(*hidden) + final, "A102")) == reported


def regression(final: str, extra: str = "") -> str:
    return f"input: [2]\nlayers: [linear: 4, relu, linear: 1, {final}]\ntrain: {{task: regression{extra}}}\n"


@pytest.mark.parametrize(("text", "reported"), [
    (regression("relu"), True),
    (regression("relu6"), True),
    (regression("leaky_relu"), False),  # its derivative is never 0
    (regression("softplus"), False),
    (regression("relu", ", target_range: [0, 5]"), False),  # the clamp is declared; T108 judges the range
    (regression("relu", ", target_range: [-1, 5]"), False),  # T108 reports it
    ("input: [2]\nlayers: [linear: 3, relu]\ntrain: {task: classification, classes: 3}\n", False),  # A103's
])
def test_dying_relu_output_only_on_a_regression_without_declared_targets(text, reported):
    assert bool(messages(text, "T110")) == reported


@pytest.mark.parametrize(("final", "kind", "targets", "bounds"), [
    ("sigmoid", "sigmoid", "[0, 5]", "[0, 1]"),  # the six T108 knew by name before the kinds declared BOUNDS
    ("tanh", "tanh", "[-2, 1]", "[-1, 1]"),
    ("relu", "relu", "[-1, 5]", "[0, inf]"),
    ("relu6", "relu6", "[0, 7]", "[0, 6]"),
    ("log_softmax", "log_softmax", "[-5, 1]", "[-inf, 0]"),
    ("hardsigmoid", "hardsigmoid", "[0, 5]", "[0, 1]"),  # and those it learnt from their declarations
    ("softplus", "softplus", "[-1, 5]", "[0, inf]"),
    ("elu", "elu", "[-2, 5]", "[-1, inf]"),
    ("{elu: 0.5}", "elu", "[-1, 5]", "[-0.5, inf]"),
    ("{elu: -2.0}", "elu", "[-1, 5]", "[0, inf]"),  # a negative α: α(eˣ − 1) ∈ (0, 2) below 0
    ("hardswish", "hardswish", "[-1, 5]", "[-0.375, inf]"),
    ("step", "step", "[0, 5]", "[-1, 1]"),
    ("{softcap: 30.0}", "softcap", "[0, 500]", "[-30, 30]"),
])
def test_bounded_regression_output_reads_the_bounds_each_kind_declares(final, kind, targets, bounds):
    """T108 reads Layer.BOUNDS: a regression ending in any bounded kind cannot reach targets outside it."""
    assert messages(regression(final, f", target_range: {targets}"), "T108") == [
        f"`3` ({kind}) outputs only values in {bounds}, but target_range is {targets}: the targets outside "
        "cannot be predicted"]
    inside = "[-1, 0]" if kind == "log_softmax" else "[0, 1]"
    assert messages(regression(final, f", target_range: {inside}"), "T108") == []


@pytest.mark.parametrize(("layers", "reported"), [
    # depthwise then pointwise, with batch norm between (Xception, ShuffleNet-v2): a separable convolution
    ("[conv2d: {out: 16, kernel: 3, padding: 1, groups: 16}, batchnorm2d, conv2d: {out: 32, kernel: 1}]", False),
    ("[conv2d: {out: 16, kernel: 1}, conv2d: {out: 16, kernel: 3, padding: 1, groups: 16}]", False),
    # a grouped convolution that is not depthwise, or a depthwise one into a 3×3: one linear map
    ("[conv2d: {out: 16, kernel: 3, padding: 1, groups: 4}, conv2d: {out: 32, kernel: 1}]", True),
    ("[conv2d: {out: 16, kernel: 3, padding: 1, groups: 16}, conv2d: {out: 32, kernel: 3, padding: 1}]", True),
    # a block that does not expand projects to its own width, and the next expands (MobileNet-v3-small)
    ("[conv2d: {out: 16, kernel: 1}, batchnorm2d, conv2d: {out: 72, kernel: 1}]", False),
    ("[conv2d: {out: 16, kernel: 1}, conv2d: {out: 8, kernel: 1}]", True),  # the middle is the widest
    ("[conv2d: {out: 16, kernel: 3, padding: 1}, conv2d: {out: 72, kernel: 1}]", True),  # not two 1×1s
])
def test_linear_collapse_leaves_separable_and_bottleneck_convolutions_alone(layers, reported):
    items = layers.strip("[]").replace("}, ", "}\n  - ").replace("batchnorm2d, ", "batchnorm2d\n  - ")
    text = f"input: [16, 8, 8]\nlayers:\n  - {items}\n  - relu\n"
    found = lint(text, "x.yaml", ["E", "A101"]).diagnostics
    assert [d.code for d in found] == (["A101"] if reported else [])  # and every case builds


@pytest.mark.parametrize(("text", "message"), [
    ("input: [3, 32, 32]\nlayers: [conv2d: {out: 5, kernel: 3, padding: 1}, softmax: {dim: -1}]\n"
     "train: {classes: 5, class_axis: 0}\n",
     "`1` (softmax) normalises axis 2 of its [5, 32, 32] input, but the class scores are on axis 0 (train: "
     "class_axis: 0): each class's scores sum to 1 over the 32 values of axis 2, not each position's over the "
     "classes"),
])
def test_softmax_off_class_axis_names_both_axes(text, message):
    assert [d.message for d in lint(text, "x.yaml", ["A109"]).diagnostics] == [message]


@pytest.mark.parametrize("text", [
    # the class axis cannot be told: two axes of 8, and no class_axis
    "input: [8]\nlayers: [embedding: {vocab: 20, dim: 16}, linear: 8, softmax: {dim: 0}]\ntrain: {classes: 8}\n",
    "input: [3, 8, 8]\nlayers: [conv2d: {out: 5, kernel: 1}, softmax: {dim: 0}]\ntrain: {classes: 5}\n",
    "input: [20]\nlayers: [linear: 4, softmax]\ntrain: {classes: 4}\n",
])
def test_softmax_off_class_axis_is_silent_on_the_class_axis_or_when_it_cannot_tell(text):
    assert lint(text, "x.yaml", ["A109"]).diagnostics == []


@pytest.mark.parametrize(("layers", "found"), [
    ("[linear: 64, softmax, linear: 3]", True),
    ("[conv1d: {out: 8, kernel: 3}, softmax, conv1d: {out: 4, kernel: 3}]", True),
    ("[linear: 64, relu, linear: 3, softmax]", False),  # the output's
    ("[linear: 64, softmax, dropout: 0.1]", False),  # ends the model (dropout changes nothing at inference)
    ("[{multiply: [[linear: 8, softmax], [linear: 8]]}, linear: 3]", False),  # a softmax that weights: a gate
    # a Hopfield layer: softmax(x·Kᵀ)·V over learned keys, no biases
    ("[linear: {out: 512, bias: false}, softmax: {dim: -1}, linear: {out: 30, bias: false}]", False),
    # DEX: the expected age over 101 bins, a linear layer without a bias after the softmax
    ("[linear: 101, softmax, linear: {out: 1, bias: false}]", False),
])
def test_hidden_softmax_is_a_softmax_feeding_weights(layers, found):
    shape = "[4, 16]" if "conv1d" in layers else "[30]"
    codes = [d.code for d in lint(f"input: {shape}\nlayers: {layers}\n", "x.yaml", ["A111"]).diagnostics]
    assert codes == (["A111"] if found else [])


def test_linear_collapse_leaves_an_autoencoders_code_alone():
    """[32, 7, 7] → [64, 1, 1] → [32, 7, 7]: 64 values between two maps of 1,568, a low-rank code on purpose."""
    text = ("input: [1, 28, 28]\nlayers: [conv2d: {out: 32, kernel: 3, stride: 4, padding: 1}, relu, "
            "conv2d: {out: 64, kernel: 7}, conv_transpose2d: {out: 32, kernel: 7}, relu]\n")
    assert lint(text, "x.yaml", ["A101"]).diagnostics == []


def test_linear_collapse_still_reports_a_strided_convolution_feeding_a_wider_one():
    text = ("input: [3, 32, 32]\nlayers: [conv2d: {out: 64, kernel: 3, padding: 1}, relu, conv2d: {out: 64, "
            "kernel: 3, stride: 2, padding: 1}, conv2d: {out: 128, kernel: 3, padding: 1}, relu]\n")
    assert [d.code for d in lint(text, "x.yaml", ["A101"]).diagnostics] == ["A101"]


@pytest.mark.parametrize(("second", "found"), [
    ("conv2d: {out: 21, kernel: [1, 15], padding: [0, 7]}", False),  # Large Kernel Matters' global convolution
    ("conv2d: {out: 21, kernel: [15, 1], padding: [7, 0]}", True),  # the same window twice: one linear map
    ("conv2d: {out: 21, kernel: 3, padding: 1}", True),
])
def test_linear_collapse_spares_a_spatially_separable_convolution(second, found):
    text = ("input: [64, 32, 32]\nlayers:\n  - conv2d: {out: 21, kernel: [15, 1], padding: [7, 0]}\n"
            f"  - {second}\n  - relu\n")
    assert [d.code for d in lint(text, "x.yaml", ["A101"]).diagnostics] == (["A101"] if found else [])


@pytest.mark.parametrize(("first", "second", "found"), [
    ("[1, 3, 3]", "[3, 1, 1]", True),  # (2+1)-D without its ReLU (pytorch-conv2_1d, issue 2)
    ("[3, 1, 1]", "[1, 3, 3]", True),
    ("[1, 1, 7]", "[1, 7, 1]", False),  # one axis each: a separable large kernel
])
def test_linear_collapse_reports_a_spatial_then_temporal_pair_without_its_activation(first, second, found):
    text = (f"input: [3, 8, 16, 16]\nlayers:\n  - conv3d: {{out: 8, kernel: {first}, padding: same}}\n"
            f"  - conv3d: {{out: 16, kernel: {second}, padding: same}}\n  - relu\n")
    assert [d.code for d in lint(text, "x.yaml", ["E", "A101"]).diagnostics] == (["A101"] if found else [])


def inception(before: str, branches: str) -> str:
    return f"input: [3, 32, 32]\nlayers:\n  - conv2d: {{out: 64, kernel: 3, padding: 1}}\n{before}" \
           f"  - concat:\n{branches}"


POOL = "  - maxpool2d: {kernel: 3, stride: 1, padding: 1}\n"
ONE, THREE = "    - [conv2d: {out: 16, kernel: 1}, relu]\n", "    - [conv2d: {out: 16, kernel: 3, padding: 1}, relu]\n"
POOLED = "    - [maxpool2d: {kernel: 3, stride: 1, padding: 1}, conv2d: {out: 16, kernel: 1}, relu]\n"


@pytest.mark.parametrize(("text", "codes"), [
    (inception(POOL, ONE + THREE + POOLED), ["A108"]),  # d2l's GoogLeNet before pull request 1732
    (inception("", ONE + THREE + POOLED), ["A108"]),  # the pooled branch: pooling alone on that path
    (inception("", ONE + THREE), ["A101"]),
    (inception("  - relu\n" + POOL, ONE + THREE + POOLED), []),
    (inception("", ONE + "    - []\n"), []),  # an empty branch passes the raw sum on: judged after the merge
    (inception("", ONE + "    - [relu, conv2d: {out: 16, kernel: 1}]\n"), []),
    (inception("", ONE + "    - [conv2d: {out: 16, kernel: 1}, relu]\n").replace("concat", "multiply"), []),
    (inception("", ONE + THREE).replace("out: 64", "out: 2"), []),  # 2 channels between 3 and 16: a bottleneck
])
def test_missing_activation_and_linear_collapse_follow_into_the_branches_of_a_merge(text, codes):
    assert [d.code for d in lint(text, "x.yaml", ["E", "A101", "A108"]).diagnostics] == codes


def test_activated_logits_leaves_a_soft_cap_alone():
    """Gemma 2 caps its logits (c·tanh(x/c), c = 30) and trains on the capped ones, by design."""
    text = ("input: [T]\nsymbols: {T: 8}\nlayers:\n  - embedding: {vocab: 50, dim: 16}\n  - linear: 50\n"
            "  - softcap: 30.0\ntrain: {task: classification, classes: 50, class_axis: -1, loss: cross_entropy}\n")
    assert [d.code for d in lint(text, "x.yaml", ["A103"]).diagnostics] == []
    assert [d.code for d in lint(text.replace("softcap: 30.0", "tanh"), "x.yaml", ["A103"]).diagnostics] == ["A103"]


@pytest.mark.parametrize(("shape", "out", "dim", "size"), [
    ("[5, 2]", 1, -1, None),  # a softmax over one output each: each is 1 (A107's fault), not 5 that sum to 1
    ("[5, 2]", 1, 0, 5),
    ("[1, 2]", 4, -1, 4),  # the old check read the first axis, of size 1, and said nothing
])
def test_bounded_regression_output_counts_the_outputs_along_softmaxs_own_axis(shape, out, dim, size):
    text = f"input: {shape}\nlayers: [linear: 3, linear: {out}, {{softmax: {{dim: {dim}}}}}]\n" \
           "train: {task: regression}\n"
    assert messages(text, "T108") == ([] if size is None else [
        f"`2` (softmax) makes a regression's {size} outputs positive and sum to 1: only targets that are "
        "themselves distributions fit"])


@pytest.mark.parametrize(("layer", "messages"), [
    ("batchnorm2d: {momentum: 0.99}", ["`1` (batchnorm2d) momentum 0.99 is PyTorch's weight of the new batch in the "
                                       "running statistics: they follow the last batches almost alone, and evaluation "
                                       "normalises with their noise"]),  # torchvision's MaxViT before PR 8312
    ("groupnorm: {groups: 4, eps: 0.5}", ["`1` (groupnorm) adds eps 0.5 to each variance before dividing by its square "
                                          "root: a feature of variance 0.1 comes out at 0.41 of unit scale, so the "
                                          "layer no longer normalises"]),
    ("batchnorm2d: {momentum: 0.5, eps: 0.05}", []),
    ("batchnorm2d: {momentum: 0.01, eps: 0.001}", []),  # TensorFlow's conventions written as PyTorch's
    ("batchnorm2d", []),
])
def test_misread_norm_setting(layer, messages):
    text = f"input: [3, 8, 8]\nlayers:\n  - conv2d: {{out: 8, kernel: 3, bias: false}}\n  - {layer}\n  - relu\n"
    assert [d.message for d in lint(text, "x.yaml", ["N113"]).diagnostics] == messages
