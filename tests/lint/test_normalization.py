"""Normalisation rules (N) on exact cases, and PyTorch's word on what batch norm cancels."""

from __future__ import annotations

import pytest

from archcalc.lint import lint

torch = pytest.importorskip("torch")

#: layers between a 3×3 convolution and a batch norm: (spec, torch module, whether the bias cancels)
BETWEEN = {
    "max pooling": ("maxpool2d: 2", lambda: torch.nn.MaxPool2d(2), True),
    "average pooling": ("avgpool2d: 2", lambda: torch.nn.AvgPool2d(2), True),
    "padded average pooling": ("avgpool2d: {kernel: 3, stride: 2, padding: 1}",
                               lambda: torch.nn.AvgPool2d(3, 2, 1), False),  # padded zeros in the mean
    "padding left out of the mean": ("avgpool2d: {kernel: 3, stride: 2, padding: 1, count_include_pad: false}",
                                     lambda: torch.nn.AvgPool2d(3, 2, 1, count_include_pad=False), True),
    "relu": ("relu", lambda: torch.nn.ReLU(), False),  # moves the threshold
    "dropout": ("dropout: 0.5", lambda: torch.nn.Dropout(0.5), False),  # the mask scales the bias in training
}


def _batchnorm_output(between: torch.nn.Module, bias: float) -> torch.Tensor:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.bias.fill_(bias)
    model = torch.nn.Sequential(conv, between, torch.nn.BatchNorm2d(4)).train()
    torch.manual_seed(1)
    return model(torch.randn(8, 3, 8, 8))


@pytest.mark.parametrize("name", BETWEEN)
def test_bias_before_batchnorm_reports_exactly_the_biases_batch_norm_cancels(name):
    spec, module, cancels = BETWEEN[name]
    assert torch.allclose(_batchnorm_output(module(), 0.0), _batchnorm_output(module(), 3.0), atol=1e-5) == cancels
    text = f"input: [3, 8, 8]\nlayers:\n  - conv2d: {{out: 4, kernel: 3, padding: 1}}\n  - {spec}\n  - batchnorm2d\n"
    found = [d for d in lint(text, "x.yaml", ["N105"]).diagnostics if d.code == "N105"]
    assert [d.loc.line for d in found] == ([3] if cancels else [])


def test_bias_before_batchnorm_names_the_layers_between_and_counts_the_convolutions_biases():
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: 1}\n  - maxpool2d: 2\n  - flatten\n"
            "  - batchnorm1d\n  - linear: 10\n")
    [finding] = lint(text, "x.yaml", ["N105"]).diagnostics
    assert finding.message == ("`0` (conv2d) has a bias that `3` (batchnorm1d) after `1` (maxpool2d), `2` (flatten) "
                               "cancels: 4 wasted parameters")
    assert finding.fix is not None


def _instance_norm_output(norm: torch.nn.Module, bias: float) -> torch.Tensor:
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(3, 4, 3, padding=1)
    with torch.no_grad():
        conv.bias.fill_(bias)
    torch.manual_seed(1)
    return torch.nn.Sequential(conv, torch.nn.MaxPool2d(2), norm).train()(torch.randn(8, 3, 8, 8))


@pytest.mark.parametrize(("args", "module"), [
    ("", lambda: torch.nn.InstanceNorm2d(4)),
    ("{affine: true}", lambda: torch.nn.InstanceNorm2d(4, affine=True)),
    ("{track_running_stats: true}", lambda: torch.nn.InstanceNorm2d(4, track_running_stats=True)),
])
def test_bias_before_instance_norm_is_reported_as_torch_cancels_it(args, module):
    """Instance norm subtracts each example's per-channel mean over the positions, so a convolution's bias before
    it (through max pooling too) changes nothing, with affine: false as well; the hint names instance norm."""
    assert torch.allclose(_instance_norm_output(module(), 0.0), _instance_norm_output(module(), 3.0), atol=1e-5)
    text = (f"input: [3, 8, 8]\nlayers:\n  - conv2d: {{out: 4, kernel: 3, padding: 1}}\n  - maxpool2d: 2\n"
            f"  - instancenorm2d{': ' + args if args else ''}\n")
    [finding] = [d for d in lint(text, "x.yaml", ["N105"]).diagnostics if d.code == "N105"]
    assert finding.message == "`0` (conv2d) has a bias that `2` (instancenorm2d) after `1` (maxpool2d) cancels: " \
        "4 wasted parameters"
    assert "instance norm" in finding.hint and finding.fix is not None


@pytest.mark.parametrize(("norm", "reported"), [
    ("batchnorm2d", True),
    ("instancenorm2d: {track_running_stats: true}", True),  # running variance learnt from dropout's output
    ("instancenorm2d", False),  # each example's own statistics at test time too
    ("instancenorm2d: {affine: true}", False),
])
def test_dropout_before_a_norm_is_reported_where_the_norm_keeps_running_statistics(norm, reported):
    text = f"input: [3, 8, 8]\nlayers:\n  - conv2d: {{out: 4, kernel: 3, bias: false}}\n  - dropout2d: 0.2\n" \
        f"  - {norm}\n"
    kind = norm.split(":")[0]
    what = "instance norm" if kind == "instancenorm2d" else "batch norm"
    found = [d.message for d in lint(text, "x.yaml", ["N104"]).diagnostics]
    assert found == ([f"`1` (dropout2d) feeds `2` ({kind}) directly: the {what}'s running variance, learnt from "
                      "dropout's training-time output, is wrong at test time"] if reported else [])


def test_channel_dropout_before_max_pooling_is_not_reported_and_element_dropout_is():
    """Channel dropout keeps or drops a whole window with its channel: max(s·x) = s·max(x), whose expectation is
    the inference maximum (checked with nn.Dropout2d), unlike element dropout's surviving maximum."""
    torch.manual_seed(0)
    x = torch.rand(4000, 1, 2, 2) + 1
    pooled = torch.nn.MaxPool2d(2)
    channel = pooled(torch.nn.Dropout2d(0.35).train()(x)).mean() / pooled(x).mean()
    element = pooled(torch.nn.Dropout(0.35).train()(x)).mean() / pooled(x).mean()
    assert abs(channel - 1) < 0.05 and element > 1.2
    spec = ("input: [1, 8, 8]\nlayers:\n  - conv2d: {{out: 4, kernel: 3, padding: 1}}\n  - relu\n  - {}\n"
            "  - maxpool2d: 2\n")
    assert lint(spec.format("dropout2d: 0.35"), "x.yaml", ["N110"]).diagnostics == []
    assert [d.code for d in lint(spec.format("dropout: 0.35"), "x.yaml", ["N110"]).diagnostics] == ["N110"]
    # stochastic depth keeps or drops a whole sample: the same argument
    assert lint(spec.format("stochastic_depth: {p: 0.35, mode: row}"), "x.yaml", ["N110"]).diagnostics == []


def test_high_dropout_counts_channel_dropout_in_channels():
    text = "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - dropout2d: 0.75\n"
    [finding] = lint(text, "x.yaml", ["N102"]).diagnostics
    assert finding.message == "`1` (dropout2d) has p = 0.75: only 25% of the channels survive, each scaled by " \
        "1/(1−p) = 4"


MBCONV = """input: [16, 8, 8]
blocks:
  mb(c, s):
    - residual:
        body:
          - conv2d: {out: c, kernel: 3, stride: s, padding: 1}
          - silu
          - DROP
        shortcut: if_same
layers:
  - mb: {c: 16, s: 1}
  - mb: {c: 32, s: 2}
  - mb: {c: 32, s: 2}
  - add: [[], [conv2d: {out: 32, kernel: 1}, stochastic_depth: 0.1]]
  - global_avgpool2d
  - linear: 10
"""


def test_stochastic_depth_in_a_block_without_its_shortcut_is_reported_once_naming_the_block():
    [finding] = lint(MBCONV.replace("DROP", "stochastic_depth: 0.1"), "x.yaml", ["N111"]).diagnostics
    assert finding.loc.line == 8
    assert finding.message == ("`1.2` (stochastic_depth) drops its input with no shortcut beside it in `1`, a residual "
                               "block whose body changes the shape [16, 8, 8] → [32, 4, 4] and so has no shortcut "
                               "(if_same): in training a fraction p = 0.1 of the examples reach the layers after "
                               "it as zeros")
    assert "- if: stride == 1 and c == out" in finding.hint


def test_stochastic_depth_only_where_the_block_keeps_its_shape_is_not_reported():
    guarded = MBCONV.replace("DROP", "if: s == 1 and c == in_channels\n            then: [stochastic_depth: 0.1]")
    assert lint(guarded, "x.yaml", ["N111"]).diagnostics == []
    assert lint(MBCONV.replace("DROP", "stochastic_depth: 0"), "x.yaml", ["N111"]).diagnostics == []
    concat = guarded.replace("- add: [[], [conv2d", "- concat: [[], [conv2d")
    assert "- concat: [[]" in concat and lint(concat, "x.yaml", ["N111"]).diagnostics == []  # NASNet's drop path


def test_a_transposed_convolutions_bias_before_a_norm_is_cancelled_too():
    """A transposed convolution adds its bias per output channel, as a convolution does (CycleGAN's decoder)."""
    spec = ("input: [8, 16, 16]\nlayers:\n  - conv_transpose2d: {{out: 4, kernel: 2, stride: 2{}}}\n"
            "  - instancenorm2d\n  - relu\n")
    assert [d.code for d in lint(spec.format(""), "x.yaml", ["N105"]).diagnostics] == ["N105"]
    assert lint(spec.format(", bias: false"), "x.yaml", ["N105"]).diagnostics == []



@pytest.mark.parametrize(("pad", "reported"), [("mode: reflect", True), ("mode: replicate", True),
                                                ("mode: circular", True), ("value: 0", False)])
def test_a_bias_through_a_pad_of_copies_is_cancelled_but_not_through_zeros(pad, reported):
    """A reflection (replication, wrap) of x + b is that of x, plus b: the norm after it still removes b; zeros
    padded in do not carry b, so there the bias changes the function."""
    spec = (f"input: [3, 16, 16]\nlayers:\n  - conv2d: {{out: 4, kernel: 3}}\n"
            f"  - pad: {{padding: [1, 1, 1, 1], {pad}}}\n  - instancenorm2d\n  - relu\n")
    found = [d.message for d in lint(spec, "x.yaml", ["N105"]).diagnostics]
    assert found == (["`0` (conv2d) has a bias that `2` (instancenorm2d) after `1` (pad) cancels: 4 wasted "
                      "parameters"] if reported else []), found

def test_rows_a_pad_added_are_padding_for_the_window_sweep_after_it():
    """G101 counts the zeros an explicit `pad` added at the end as the convolution's own padding: dropping them
    loses no input (a style-transfer net's zero-padded stride-2 convolution), dropping real positions does."""
    padded = "input: [3, 64, 64]\nlayers:\n  - pad: [1, 1, 1, 1]\n  - conv2d: {out: 8, kernel: 3, stride: 2}\n"
    assert lint(padded, "x.yaml", ["G101"]).diagnostics == []
    for mode in ("reflect", "replicate", "circular"):  # copies of the input are padding too: nothing real is lost
        copies = padded.replace("[1, 1, 1, 1]", f"{{padding: [1, 1, 1, 1], mode: {mode}}}")
        assert lint(copies, "x.yaml", ["G101"]).diagnostics == []
        assert lint(copies.replace("[1, 1, 1, 1]", "[2, 0, 2, 0]"), "x.yaml", ["G101"]).diagnostics != []
    causal = "input: [2, 64]\nlayers:\n  - pad: [2, 0]\n  - conv1d: {out: 2, kernel: 3, stride: 2}\n"
    assert [d.message for d in lint(causal, "x.yaml", ["G101"]).diagnostics] == [
        "`1` (conv1d): (L+2P−F) mod S = (66+2×0−3) mod 2 = 1, so the last 1 position of L = 66 is never read"]
    # a pad's zeros and real positions both unread: the message says which are which
    both = "input: [3, 11]\nlayers:\n  - pad: [0, 1]\n  - conv1d: {out: 4, kernel: 5, stride: 4}\n"
    assert [d.message for d in lint(both, "x.yaml", ["G101"]).diagnostics] == [
        "`1` (conv1d): (L+2P−F) mod S = (12+2×0−5) mod 4 = 3, so the 1 position `0` (pad) added at the end of "
        "L = 12 and the 2 positions before it are never read"]



@pytest.mark.parametrize(("tail", "message"), [
    (["dropout: 0.5"], "the model's output passes through `3` (dropout) last"),
    (["dropout: 0.5", "softmax"], "the model's output passes through `3` (dropout) with only `4` (softmax) after it"),
    (["dropout: 0.5", "flatten", "sigmoid"], "the model's output passes through `3` (dropout) with only `4` "
                                             "(flatten), `5` (sigmoid) after it"),
    (["dropout: 0.5", "linear: 3", "softmax"], None),  # the dropout regularises the hidden layer's units
    (["softmax"], None),
])
def test_dropout_at_output_looks_through_the_final_activation(tail, message):
    """Keras' Dense(10), Dropout(0.5), Activation('softmax') drops class scores as a final dropout does."""
    text = "input: [20]\nlayers:\n  - linear: 16\n  - relu\n  - linear: 3\n" + "".join(f"  - {t}\n" for t in tail)
    found = [d for d in lint(text, "x.yaml", ["N103"]).diagnostics]
    assert [(d.loc.line, d.message.split(":")[0]) for d in found] == ([(6, message)] if message else [])


@pytest.mark.parametrize(("init", "between", "found"), [
    ("{weight: zeros, bias: zeros}", "", "every unit's input is 0 for every example, where relu's derivative is 0: "
                                         "none of its units ever receives a gradient"),
    ("{weight: zeros, bias: {constant: -0.5}}", "", "every unit's input is -0.5 for every example, where relu's "
                                                    "derivative is 0: none of its units ever receives a gradient"),
    ("zeros", "  - dropout: 0.1\n", "each unit's input is its bias alone, the same for every example, and relu's "
                                    "derivative below 0 is 0: the units whose bias starts below 0, about half, never "
                                    "receive a gradient"),
    ("{weight: zeros, bias: {constant: 0.1}}", "", None),  # every unit alive at the start: it learns
    ("{weight: {constant: 0.1}, bias: zeros}", "", None),  # the input varies with the example (N108's business)
    ("kaiming_normal", "", None),
])
def test_zero_init_before_relu(init, between, found):
    text = f"input: [10]\nlayers:\n  - linear: {{out: 8, init: {init}}}\n{between}  - relu\n  - linear: 1\n"
    messages = [d.message.split(": ", 1)[1] for d in lint(text, "x.yaml", ["N112"]).diagnostics]
    assert messages == ([found] if found else [])


def test_zero_init_before_relu_kills_the_units_in_torch():
    """What the rule says, measured: zero weights and zero biases before relu get no gradient at all."""
    layer = torch.nn.Linear(10, 8)
    torch.nn.init.zeros_(layer.weight)
    torch.nn.init.zeros_(layer.bias)
    out = torch.nn.Linear(8, 1)
    out(torch.relu(layer(torch.randn(16, 10)))).sum().backward()
    assert not layer.weight.grad.any() and not layer.bias.grad.any()


@pytest.mark.parametrize(("layers", "found"), [
    ("conv2d: {out: 8, kernel: 9, padding: 4}\n  - instancenorm2d: {affine: true}\n  - relu", False),  # fast style
    ("conv2d: {out: 8, kernel: 3, padding: 1}\n  - batchnorm2d\n  - relu", False),
    ("conv2d: {out: 8, kernel: 3, padding: 1, bias: false}\n  - groupnorm: 2\n  - relu", False),
    ("conv2d: {out: 8, kernel: 3, padding: 1}\n  - groupnorm: 2\n  - relu", True),  # the bias does not cancel
    ("conv2d: {out: 8, kernel: 3, padding: 1}\n  - relu\n  - batchnorm2d", True),
])
def test_unnormalized_data_spares_a_norm_that_cancels_the_scale(layers, found):
    text = f"input: [3, 16, 16]\ndata: {{range: [0, 255]}}\nlayers:\n  - {layers}\n"
    assert [d.code for d in lint(text, "x.yaml", ["N107"]).diagnostics] == (["N107"] if found else [])


def test_batch_norm_after_the_first_layer_cancels_the_inputs_scale_in_torch():
    """norm(W·(s·x) + b) = norm(W·x + b), and W's gradient is the same: measured."""
    torch.manual_seed(0)
    conv, x = torch.nn.Conv2d(3, 4, 3).double(), torch.rand(8, 3, 8, 8, dtype=torch.float64)
    grads = []
    for scale in (1.0, 255.0):
        conv.zero_grad()
        out = torch.nn.functional.batch_norm(conv(scale * x), None, None, training=True, eps=1e-12)
        out.pow(3).sum().backward()
        grads.append((out.detach(), conv.weight.grad.clone()))
    torch.testing.assert_close(grads[0][0], grads[1][0], atol=1e-9, rtol=1e-9)
    torch.testing.assert_close(grads[0][1], grads[1][1], atol=1e-9, rtol=1e-9)


@pytest.mark.parametrize(("train", "found"), [("", False), ("train: {task: regression}\n", True)])
def test_dropout_at_output_spares_a_backbones_final_dropout(train, found):
    """T5's encoder stack ends in its final RMSNorm and dropout: features for the decoder, not predictions."""
    text = "input: [8, 16]\nlayers:\n  - linear: 16\n  - rmsnorm\n  - dropout: 0.1\n" + train
    assert [d.code for d in lint(text, "x.yaml", ["N103"]).diagnostics] == (["N103"] if found else [])


@pytest.mark.parametrize(("layers", "found"), [
    ("[conv2d: {out: 8, kernel: 3, padding: 1}, batchnorm2d, relu]", False),  # pix2pix's and U-Net's batches of 1
    ("[conv2d: {out: 8, kernel: 8}, batchnorm2d, relu]", True),  # a 1×1 map: one value per channel
    ("[flatten, linear: 8, batchnorm1d, relu]", True),
])
def test_batchnorm_batch_of_one_only_where_torch_cannot_train(layers, found):
    text = f"input: [3, 8, 8]\nlayers: {layers}\ntrain: {{task: regression, batch_size: 1}}\n"
    assert bool([d for d in lint(text, "x.yaml", ["N106"]).diagnostics]) == found
