"""Structure rules (S) on exact cases: where a classifier's trunk or head narrows and widens."""

from __future__ import annotations

import pytest

from archcalc.lint import lint
from tests.conftest import ROOT

CLASSIFY = "train: {task: classification, classes: 10}\n"


def lines(text: str, code: str) -> list[int]:
    return [d.loc.line for d in lint(text, "x.yaml", [code]).diagnostics if d.code == code]


def cnn(*stages: str, head: str = "  - flatten\n  - linear: 10\n", train: str = CLASSIFY) -> str:
    """A [1, 32, 32] classifier: each stage's layers, then 2×2 max pooling."""
    body = "".join(f"  - {layer}\n" for stage in stages for layer in [*stage.split("; "), "maxpool2d: 2"])
    return f"input: [1, 32, 32]\nlayers:\n{body}{head}{train}"


def test_shrinking_feature_maps_reports_each_narrower_stage_at_its_convolution():
    text = cnn("conv2d: {out: 32, kernel: 3, padding: 1}; relu",
               "conv2d: {out: 64, kernel: 3, padding: 1}; relu; conv2d: {out: 16, kernel: 1}; relu",
               "conv2d: {out: 8, kernel: 3, padding: 1}; relu", "conv2d: {out: 64, kernel: 3, padding: 1}; relu")
    assert lines(text, "S111") == [8, 11]  # the 1×1 that leaves 16 < 32, then the 8 < 16
    [first, _] = lint(text, "x.yaml", ["S111"]).diagnostics
    assert first.message.startswith("`5` leaves the stage at 16×16 with 16 channels, fewer than the 32 of the stage "
                                    "at 32×32 before it: the feature maps shrink from 32,768 to 4,096 numbers")


@pytest.mark.parametrize("text", [
    # widening stages, and a strided convolution as the downsampling
    cnn("conv2d: {out: 16, kernel: 3, padding: 1}; relu", "conv2d: {out: 32, kernel: 3, padding: 1}; relu"),
    "input: [1, 32, 32]\nlayers: [conv2d: {out: 16, kernel: 3, stride: 2}, relu, conv2d: {out: 32, kernel: 3, "
    "stride: 2}, relu, flatten, linear: 10]\n" + CLASSIFY,
    # a narrowing inside a stage whose end is wide (a bottleneck), and equal stages
    cnn("conv2d: {out: 32, kernel: 3, padding: 1}; relu",
        "conv2d: {out: 8, kernel: 1}; relu; conv2d: {out: 32, kernel: 3, padding: 1}; relu"),
    # the last stage maps to one channel per class before global pooling (SqueezeNet, Network in Network)
    cnn("conv2d: {out: 64, kernel: 3, padding: 1}; relu",
        head="  - conv2d: {out: 10, kernel: 1}\n  - global_avgpool2d\n"),
    # the last stage that convolves narrows for the fully connected head that flattens it
    cnn("conv2d: {out: 32, kernel: 3, padding: 1}; relu", "conv2d: {out: 64, kernel: 3, padding: 1}; relu",
        "conv2d: {out: 8, kernel: 1}; relu"),
    # an autoencoder's encoder narrows on purpose: not a classification
    cnn("conv2d: {out: 16, kernel: 3, padding: 1}; relu", "conv2d: {out: 8, kernel: 3, padding: 1}; relu",
        head="  - conv2d: {out: 8, kernel: 3, padding: 1}\n", train="train: {task: regression}\n"),
    # the narrowing is inside a residual block, whose output keeps the stage's width
    "input: [1, 32, 32]\nlayers:\n  - conv2d: {out: 32, kernel: 3, padding: 1}\n  - relu\n  - maxpool2d: 2\n"
    "  - residual:\n      body: [conv2d: {out: 8, kernel: 1}, relu, conv2d: {out: 32, kernel: 3, padding: 1}]\n"
    "  - maxpool2d: 2\n  - flatten\n  - linear: 10\n" + CLASSIFY,
    # a multi-layer perceptron has no feature maps
    "input: [64]\nlayers: [linear: 32, relu, linear: 16, relu, linear: 10]\n" + CLASSIFY,
])
def test_shrinking_feature_maps_is_silent_on_widening_trunks(text):
    assert lines(text, "S111") == lines(text, "S112") == []


def test_shrinking_feature_maps_restarts_after_an_upsampling():
    text = ("input: [1, 32, 32]\nlayers:\n  - conv2d: {out: 64, kernel: 3, padding: 1}\n  - maxpool2d: 2\n"
            "  - upsample: 2\n  - conv2d: {out: 32, kernel: 3, padding: 1}\n  - maxpool2d: 2\n"
            "  - conv2d: {out: 64, kernel: 3, padding: 1}\n  - maxpool2d: 2\n  - flatten\n  - linear: 10\n" + CLASSIFY)
    assert lines(text, "S111") == lines(text, "S112") == []


def mlp(*widths: int, train: str = CLASSIFY) -> str:
    """A classifier of vectors: fully connected layers of these widths (the first is the input) with relus."""
    body = "".join(f"  - linear: {w}\n  - relu\n" for w in widths[1:-1]) + f"  - linear: {widths[-1]}\n"
    return f"input: [{widths[0]}]\nlayers:\n{body}{train}"


@pytest.mark.parametrize(("widths", "reported"), [
    ((3136, 128, 256, 512, 10), [5, 7]),  # NeuraLint's mutant: every widening after the narrowing
    ((784, 256, 512, 10), [5]),
    ((784, 256, 256, 10), []),  # equal widths do not widen
    ((10, 64, 128, 2), []),  # a small input may widen: nothing narrowed first
    ((100, 256, 512, 256, 10), []),  # widen, then narrow
    ((784, 128, 10, 64), []),  # the last layer is the output, whatever its width
])
def test_widening_after_bottleneck_reports_hidden_layers_that_widen_after_a_narrowing(widths, reported):
    assert lines(mlp(*widths), "S112") == reported


@pytest.mark.parametrize("text", [
    mlp(784, 128, 32, 128, 784, train="train: {task: regression}\n"),  # an autoencoder's decoder
    # a transformer-style feed-forward block widens inside a residual body: the sum ends the stack
    "input: [64]\nlayers:\n  - linear: 32\n  - relu\n  - residual:\n      body: [linear: 128, relu, linear: 32]\n"
    "  - linear: 10\n" + CLASSIFY,
])
def test_widening_after_bottleneck_is_silent_off_a_classifier_head(text):
    assert lines(text, "S112") == []


@pytest.mark.parametrize("name", ["alexnet", "bert-base", "cnn1d-timeseries", "convnext_tiny", "densenet121",
                                  "digits-cnn", "digits-mlp", "efficientnet_b0", "gpt2", "lenet5", "lstm-classifier",
                                  "mobilenet_v3_large", "resnet18", "resnet50", "squeezenet1_0", "unet", "vgg11",
                                  "vgg16", "vgg16_bn", "vit_b_16"])
def test_structure_rules_are_silent_on_the_shipped_models_as_classifiers(name):
    text = (ROOT / "specs" / f"{name}.yaml").read_text(encoding="utf-8")
    if "\ntrain:" not in text:
        text += "\n" + CLASSIFY
    assert "task: classification" in text or name == "unet"
    assert lines(text, "S111") == lines(text, "S112") == []


def tokens(*layers: str, head: str = "  - mean: 0\n  - linear: 2\n") -> str:
    """A text classifier on 16 token ids; ``{emb}`` is the token embedding."""
    body = "".join(f"  - {layer}\n" for layer in layers).replace("{emb}", "embedding: {vocab: 50, dim: 8}")
    return f"input: [16]\nlayers:\n{body}{head}train: {{task: classification, classes: 2}}\n"


PATCHES = "conv2d: {out: 8, kernel: 4, stride: 4}; flatten: {start: 1}; transpose"


def image(stem: str, *layers: str) -> str:
    body = "".join(f"  - {layer}\n" for layer in [*stem.split("; "), *layers])
    return f"input: [3, 16, 16]\nlayers:\n{body}  - mean: 0\n  - linear: 2\n"


@pytest.mark.parametrize(("text", "reported"), [
    (tokens("{emb}", "linear: 24", "attention: 2"), [5]),
    (tokens("{emb}", "multihead_attention: 2"), [4]),
    (tokens("add: [[{emb}], [pos_embedding: {positions: 16, dim: 8}]]", "linear: 24", "attention: 2"), []),
    # a token-type row for every position tells no position from another
    (tokens("add: [[{emb}], [pos_embedding: {positions: 2, dim: 8, index: first}]]", "linear: 24", "attention: 2"),
     [5]),
    (tokens("{emb}", "pos_embedding: {positions: 16, add: true}", "multihead_attention: 2"), []),
    (tokens("{emb}", "linear: 24", "attention: {heads: 2, rotary: half}"), []),
    (tokens("{emb}", "linear: 24", "attention: {heads: 2, causal: true}"), []),  # a decoder learns positions
    (tokens("{emb}", "lstm: 8", "multihead_attention: 2"), []),
    # a convolution over the sequence, with padding: CvT's and Conformer's position information
    (tokens("{emb}", "transpose", "conv1d: {out: 8, kernel: 3, padding: 1}", "transpose", "multihead_attention: 2"),
     []),
    (tokens("{emb}", "transpose", "conv1d: {out: 8, kernel: 1}", "transpose", "multihead_attention: 2"), [7]),
    # reflect padding marks the borders as zeros do; circular padding leaves none (a circular shift by the
    # stride shifts the output alike), so a patchify convolution with it tells no position
    (tokens("{emb}", "transpose", "conv1d: {out: 8, kernel: 2, stride: 2, padding: 1, padding_mode: reflect}",
            "transpose", "multihead_attention: 2"), []),
    (tokens("{emb}", "transpose", "conv1d: {out: 8, kernel: 2, stride: 2, padding: 1, padding_mode: circular}",
            "transpose", "multihead_attention: 2"), [7]),
    # DETR: the positions are added to the queries and keys, inside the attention's branches
    (tokens("{emb}", "attention: {heads: 2, branches: [[add: [[identity], [pos_embedding: {positions: 16, dim: 8}]]], "
            "[add: [[identity], [pos_embedding: {positions: 16, dim: 8}]]], [identity]]}"), []),
    (image(PATCHES, "multihead_attention: 2"), [6]),  # ViT without its position embedding
    (image(PATCHES, "pos_embedding: {positions: 16, add: true}", "multihead_attention: 2"), []),
    (image("conv2d: {out: 8, kernel: 3, stride: 2, padding: 1}; relu; flatten: {start: 1}; transpose",
           "multihead_attention: 2"), []),  # an overlapping, padded stem
    # a sequence of feature vectors may carry its time or coordinates in the features (a point cloud's x, y, z)
    ("input: [16, 3]\nlayers: [linear: 8, multihead_attention: 2, mean: 0, linear: 2]\n", []),
])
def test_attention_without_positions_only_where_nothing_tells_positions_apart(text, reported):
    assert lines(text, "S113") == reported


def test_attention_without_positions_says_what_would_tell_them():
    [finding] = lint(image(PATCHES, "multihead_attention: 2"), "x.yaml", ["S113"]).diagnostics
    assert finding.message.startswith("`3` (multihead_attention) reads its 16 patches as a set")
    assert "pos_embedding: {positions: N, add: true}" in finding.hint


def test_no_shipped_transformer_is_without_positions():
    for name in ("gpt2", "llama-3-8b", "bert-base", "vit_b_16", "char-gpt"):
        text = (ROOT / "specs" / f"{name}.yaml").read_text(encoding="utf-8")
        assert lines(text, "S113") == [], name


def plain(n: int, width: int = 8) -> str:
    return f"  - repeat: {n}\n    layers: [linear: {width}, relu]\n"


@pytest.mark.parametrize(("body", "reported"), [
    (plain(19) + "  - linear: 4\n", True),  # 20 weight layers in a row
    (plain(18) + "  - linear: 4\n", False),  # 19: VGG-19's depth
    # normalised between its layers: reported from 32 (He et al.'s batch-normalised plain-32 and plain-34)
    ("  - repeat: 30\n    layers: [linear: 8, batchnorm1d, relu]\n  - linear: 4\n", False),
    ("  - repeat: 31\n    layers: [linear: 8, batchnorm1d, relu]\n  - linear: 4\n", True),
    # one normalisation layer for three weight layers is not normalising between them
    ("  - repeat: 10\n    layers: [linear: 8, relu, linear: 8, relu, linear: 8, batchnorm1d, relu]\n"
     "  - linear: 4\n", True),
    # one residual at the end leaves the 30 layers before it on every path
    (plain(30) + "  - residual: [linear: 8, relu, linear: 8]\n  - linear: 4\n", True),
    # a residual around every pair: the shortest path crosses none of them
    ("  - repeat: 15\n    layers: [residual: [linear: 8, relu, linear: 8], relu]\n  - linear: 4\n", False),
    # projection shortcuts count their layer: 10 of them and the head make 11
    ("  - repeat: 10\n    layers: [residual: {body: [linear: 8, relu, linear: 8], shortcut: [linear: 8]}, relu]\n"
     "  - linear: 4\n", False),
    # an Inception-like module: the 1-layer branch is the short way through 4-layer ones
    ("  - repeat: 8\n    layers: [concat: [[linear: 4, relu, linear: 4, relu, linear: 4, relu], [linear: 4, relu]]]\n"
     "  - linear: 4\n", False),
    # a branch that reads an earlier layer starts at that layer's depth (a U-Net's skip): 2 + 1 + 1
    ("  - {name: early, layers: [linear: 8, relu, linear: 8, relu]}\n" + plain(25) +
     "  - concat: [{from: early}, []]\n  - linear: 4\n", False),
])
def test_deep_plain_network_counts_the_shortest_path(body, reported):
    found = lint(f"input: [8]\nlayers:\n{body}", "x.yaml", ["E", "S101"]).diagnostics
    assert [d.code for d in found] == (["S101"] if reported else [])  # and every case builds


def convs(shape: str, *layers: str) -> str:
    return f"input: {shape}\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


C3, C3P = "conv2d: {out: 8, kernel: 3}", "conv2d: {out: 8, kernel: 3, padding: 1}"


@pytest.mark.parametrize(("text", "reported"), [
    # two unpadded convolutions keep 28×28 of 32×32: reported at the second, where a pooling goes
    (convs("[1, 32, 32]", C3, "relu", C3, "relu", "flatten", "linear: 10"), [5]),
    # a volume, and a dropout and a batch norm between (they do not downsample)
    (convs("[1, 16, 16, 16]", "conv3d: {out: 4, kernel: 3, padding: 1}", "dropout: 0.2", "relu", "flatten",
           "batchnorm1d", "linear: 10"), [3]),
    # one stride anywhere before the flatten is downsampling, as is a pooling, even a late one
    (convs("[1, 32, 32]", "conv2d: {out: 8, kernel: 3, stride: 2}", "relu", C3, "relu", "flatten", "linear: 10"), []),
    (convs("[1, 32, 32]", C3P, "relu", C3P, "relu", "maxpool2d: 2", "flatten", "linear: 10"), []),
    # 15×15 positions are few enough (an 8×8 digit, a small map), and 16×16 are not
    (convs("[1, 15, 15]", C3P, "relu", "flatten", "linear: 10"), []),
    (convs("[1, 16, 16]", C3P, "relu", "flatten", "linear: 10"), [3]),
    # an MLP on a flattened image has no convolution to downsample
    (convs("[1, 28, 28]", "flatten", "linear: 128", "relu", "linear: 10"), []),
    # a sequence: a 1-D convolution flattened over time is not an image
    (convs("[4, 512]", "conv1d: {out: 8, kernel: 3}", "relu", "flatten", "linear: 10"), []),
    # global pooling instead of a flatten, and a flatten that feeds no weight layer
    (convs("[1, 32, 32]", C3P, "relu", "global_avgpool2d", "linear: 10"), []),
    (convs("[1, 32, 32]", C3P, "relu", "flatten"), []),
])
def test_full_resolution_flatten_needs_a_convolution_never_downsampled(text, reported):
    found = lint(text, "x.yaml", ["E", "S114"]).diagnostics
    assert [d.loc.line for d in found if d.code == "S114"] == reported
    assert all(d.code == "S114" for d in found)  # and every case builds


def test_full_resolution_flatten_gives_the_features_and_weights_it_costs():
    text = convs("[1, 32, 32]", C3, "relu", C3, "relu", "flatten", "linear: 10")
    [found] = lint(text, "x.yaml", ["S114"]).diagnostics
    assert found.message == ("nothing pools or strides up to `2` (conv2d) and its map is flattened at 28×28 (the input "
                             "is 32×32) into `5` (linear): 6,272 features and 62,730 weights, one per position")
    assert found.hint.startswith("downsample between the convolutions (`- maxpool2d: 2` after one")


def cifar_resnet(side: int) -> str:
    """A CIFAR ResNet's first stage (He et al. 2016, §4.2): a stem and 9 basic blocks at full resolution."""
    return (f"input: [3, {side}, {side}]\nblocks:\n  basic(c):\n    - residual:\n        body:\n"
            "          - conv2d: {out: c, kernel: 3, padding: 1, bias: false}\n          - batchnorm2d\n"
            "          - relu\n          - conv2d: {out: c, kernel: 3, padding: 1, bias: false}\n"
            "          - batchnorm2d\n        then: [relu]\nlayers:\n"
            "  - conv2d: {out: 16, kernel: 3, padding: 1, bias: false}\n"
            "  - batchnorm2d\n  - relu\n  - repeat: 9\n    layers: [basic: 16]\n"
            "  - conv2d: {out: 32, kernel: 3, stride: 2, padding: 1}\n  - global_avgpool2d\n  - linear: 10\n")


def test_missing_downsampling_leaves_cifar_sized_inputs_and_1x1_bottlenecks_alone():
    assert lint(cifar_resnet(32), "x.yaml", ["S102"]).diagnostics == []  # the published design
    [finding] = lint(cifar_resnet(64), "x.yaml", ["S102"]).diagnostics
    assert finding.message.startswith("19 convolutions, `0` to `11.3`, run at the full input resolution 64×64")
    pointwise = "input: [3, 64, 64]\nlayers:\n  - repeat: 12\n    layers: [conv2d: {out: 8, kernel: 1}, relu]\n"
    assert lint(pointwise, "x.yaml", ["S102"]).diagnostics == []


@pytest.mark.parametrize("text", [
    # DnCNN: an image-to-image network, its output as large as its input
    "input: [1, 64, 64]\nlayers: [{residual: [{repeat: 10, layers: [conv2d: {out: 64, kernel: 3, padding: 1}, "
    "relu]}, conv2d: {out: 1, kernel: 3, padding: 1}]}]\n",
    # a temporal convolutional network: dilations 1 … 512 see all 1024 samples (receptive field 2047)
    "input: [1, 1024]\nlayers: [{repeat: 10, index: i, layers: [conv1d: {out: 32, kernel: 3, padding: 2**i, "
    "dilation: 2**i}, relu]}, global_avgpool1d, linear: 4]\n",
])
def test_missing_downsampling_leaves_image_to_image_and_dilated_stacks_alone(text):
    assert lint(text, "x.yaml", ["S102"]).diagnostics == []


def test_missing_downsampling_reports_a_plain_stack_deep_enough_to_see_everything():
    """32 undilated 3×3 convolutions see all of a 64×64 input (receptive field 65): still the fault."""
    text = "input: [3, 64, 64]\nlayers: [{repeat: 32, layers: [conv2d: {out: 8, kernel: 3, padding: 1}, relu]}, " \
           "global_avgpool2d, linear: 4]\n"
    [finding] = lint(text, "x.yaml", ["S102"]).diagnostics
    assert finding.message.startswith("32 convolutions")


def test_missing_downsampling_still_reports_a_dilated_stack_that_sees_part_of_its_input():
    """Flattened, not pooled globally: a series classifier that pools once at the end is left alone, dilated or
    not (test_missing_downsampling_spares_a_series_classifier_that_pools_globally)."""
    text = ("input: [1, 4096]\nlayers: [{repeat: 10, index: i, layers: [conv1d: {out: 32, kernel: 3, "
            "padding: 2**i, dilation: 2**i}, relu]}, flatten, linear: 4]\n")
    [finding] = lint(text, "x.yaml", ["S102"]).diagnostics
    assert finding.message.startswith("10 convolutions")


@pytest.mark.parametrize(("layers", "message"), [
    # a ViT whose patch grid is flattened without the transpose attends among the 64 channels
    ("[conv2d: {out: 64, kernel: 4, stride: 4}, flatten: {start: 1}, pos_embedding: {positions: 64, add: true}, "
     "multihead_attention: {heads: 4}, mean: 0, linear: 10]",
     "`3` (multihead_attention) reads its input [64, 64] as 64 positions of 64 features, but `0` (conv2d) gives "
     "channels first: it steps over the 64 channels and reads the 64 positions as features"),
    # the same with ViT's class token prepended to the channels
    ("[conv2d: {out: 768, kernel: 16, stride: 16}, flatten: {start: 1}, class_token, multihead_attention: "
     "{heads: 4}]", "`3` (multihead_attention) reads its input [769, 196] as 769 positions of 196 features, but `0` "
     "(conv2d) gives channels first: it steps over the 769 channels and reads the 196 positions as features"),
    # a batch norm after an embedding normalises each of the 100 positions; reported once, not again at the LSTM
    ("[embedding: {vocab: 5000, dim: 64}, batchnorm1d, lstm: {hidden: 64, output: hidden}, linear: 2]",
     "`1` (batchnorm1d) reads its input [100, 64] as 100 channels of 64 values, but `0` (embedding) gives positions "
     "first: it takes the 100 positions as channels and runs along the 64 features"),
    ("[embedding: {vocab: 5000, dim: 64}, relu, conv1d: {out: 32, kernel: 3}, global_avgpool1d, linear: 2]",
     "`2` (conv1d) reads its input [100, 64] as 100 channels of 64 values, but `0` (embedding) gives positions "
     "first: it takes the 100 positions as channels and runs along the 64 features"),
    # nn.InstanceNorm1d and nn.Dropout1d take [N, C, L] as the convolutions do: after an embedding they normalise
    # each position over its features, or drop whole tokens
    ("[embedding: {vocab: 5000, dim: 64}, instancenorm1d, lstm: {hidden: 64, output: hidden}, linear: 2]",
     "`1` (instancenorm1d) reads its input [100, 64] as 100 channels of 64 values, but `0` (embedding) gives "
     "positions first: it takes the 100 positions as channels and runs along the 64 features"),
    ("[embedding: {vocab: 5000, dim: 64}, dropout1d: 0.2, lstm: {hidden: 64, output: hidden}, linear: 2]",
     "`1` (dropout1d) reads its input [100, 64] as 100 channels of 64 values, but `0` (embedding) gives "
     "positions first: it takes the 100 positions as channels and runs along the 64 features"),
])
def test_swapped_axes_reports_the_layer_that_misreads(layers, message):
    shape = "[3, 32, 32]" if "conv2d" in layers else "[100]"
    if "class_token" in layers:
        shape = "[3, 224, 224]"
    assert [d.message for d in lint(f"input: {shape}\nlayers: {layers}\n", "x.yaml", ["S116"]).diagnostics] == \
        [message]


@pytest.mark.parametrize(("shape", "layers"), [
    ("[3, 32, 32]", "[conv2d: {out: 64, kernel: 4, stride: 4}, flatten: {start: 1}, transpose, "
     "multihead_attention: {heads: 4}, mean: 0, linear: 10]"),  # transpose swaps -2 and -1: axis 0 too
    ("[100]", "[embedding: {vocab: 50, dim: 64}, permute: [1, 0], conv1d: {out: 32, kernel: 3}, global_avgpool1d]"),
    ("[100]", "[embedding: {vocab: 50, dim: 64}, layernorm, lstm: {hidden: 8, output: sequence}, "
     "linear: 12, attention: {heads: 1}]"),  # positions all along
    ("[50, 16]", "[conv1d: {out: 4, kernel: 3}, relu]"),  # the spec's input: unknown, not judged
    # channels first all along: instance norm and channel dropout after a conv1d, then back to positions
    ("[4, 64]", "[conv1d: {out: 8, kernel: 3, padding: 1}, instancenorm1d, dropout1d: 0.1, conv1d: {out: 8, "
     "kernel: 3}, transpose, lstm: {hidden: 8}]"),
    ("[100]", "[embedding: {vocab: 50, dim: 64}, transpose, dropout1d: 0.1, instancenorm1d: {affine: true}, "
     "transpose, lstm: {hidden: 8}]"),  # Keras' SpatialDropout1D: features dropped whole, after the transpose
    ("[3, 64]", "[conv1d: {out: 8, kernel: 3, padding: 1}, reshape: [64, 8], lstm: {hidden: 8}]"),  # reshaped
    # branches that transpose and convolve, joined: the layout after the concat is unknown
    ("[100]", "[embedding: {vocab: 50, dim: 64}, {concat: [[transpose, conv1d: {out: 8, kernel: 3, padding: 1}], "
     "[transpose, conv1d: {out: 8, kernel: 5, padding: 2}]]}, relu, transpose, lstm: {hidden: 8}]"),
    # ECA-Net: a conv1d along the pooled channels, on purpose
    ("[64, 8, 8]", "[{multiply: [[], [adaptive_avgpool2d: 1, flatten: {start: 1}, transpose, conv1d: {out: 1, "
     "kernel: 3, padding: 1, bias: false}, transpose, reshape: [64, 1, 1], sigmoid]]}]"),
])
def test_swapped_axes_is_silent_when_the_axes_agree_or_are_unknown(shape, layers):
    assert lint(f"input: {shape}\nlayers: {layers}\n", "x.yaml", ["S116"]).diagnostics == []


def test_parameter_hotspot_on_an_embedding_table_speaks_of_its_vocabulary():
    text = ("input: [50]\nlayers: [embedding: {vocab: 20000, dim: 300}, mean: 0, linear: 64, relu, linear: 64, relu, "
            "linear: 2]\n")
    [finding] = lint(text, "x.yaml", ["S103"]).diagnostics
    assert finding.hint.startswith("a vocab × dim table (20000 × 300) this large is usual for a text model")


def test_missing_flatten_leaves_swins_patch_merging_alone():
    """timm's PatchMerging: channels last by a permute, 2×2 neighbours gathered by reshape, permute and flatten,
    then a norm and a linear layer on the 4C values of each merged patch."""
    text = ("input: [96, 56, 56]\nlayers: [permute: [1, 2, 0], reshape: [28, 2, 28, 2, 96], permute: [0, 2, 3, 1, 4], "
            "flatten: {start: 2}, layernorm, linear: {out: 192, bias: false}]\n")
    assert lint(text, "x.yaml", ["S106"]).diagnostics == []
    reshaped = "input: [3, 8, 8]\nlayers: [conv2d: {out: 4, kernel: 3}, reshape: [4, 36, 1], linear: 10]\n"
    assert [d.code for d in lint(reshaped, "x.yaml", ["S106"]).diagnostics] == ["S106"]


@pytest.mark.parametrize(("between", "index", "found"), [
    ("", -1, "`2` takes the last step of `1` (lstm), which is bidirectional: the backward direction's half of it "
             "has read only that step"),
    ("  - dropout: 0.3\n  - tanh\n", 199, "`4` takes the last step of `1` (lstm), which is bidirectional: the "
                                          "backward direction's half of it has read only that step"),
    ("", 0, "`2` takes the first step of `1` (lstm), which is bidirectional: the forward direction's half of it "
            "has read only that step"),
    ("", 100, None),  # a middle step has read both halves of the sequence
    ("  - linear: 64\n", -1, None),  # a position-wise layer between: no longer the recurrent layer's own step
])
def test_bidirectional_last_step_written_as_a_select(between, index, found):
    """PyTorch's out, _ = self.lstm(x); self.fc(out[:, -1]) on a bidirectional LSTM, written with select."""
    text = ("input: [T]\nsymbols: {T: 200}\nlayers:\n  - embedding: {vocab: 1000, dim: 32}\n"
            f"  - lstm: {{hidden: 16, bidirectional: true}}\n{between}  - select: {{index: {index}}}\n  - linear: 2\n")
    assert [d.message for d in lint(text, "x.yaml", ["S115"]).diagnostics] == ([found] if found else [])


@pytest.mark.parametrize(("shape", "layers", "found"), [
    # a CRNN's [256, 1, 32] map viewed as a sequence of 32 steps
    ("[8, 32, 128]", "conv2d: {out: 256, kernel: 3, padding: 1}\n  - relu\n  - maxpool2d: {kernel: [32, 4]}\n"
     "  - reshape: [32, 256]", "`3` reshapes the channels-first map [256, 1, 32] into [32, 256]"),
    # a from-scratch ViT: conv_proj(x).view(B, -1, C)
    ("[3, 224, 224]", "conv2d: {out: 768, kernel: 16, stride: 16}\n  - reshape: [196, 768]",
     "`1` reshapes the channels-first map [768, 14, 14] into [196, 768]"),
    ("[3, 224, 224]", "conv2d: {out: 768, kernel: 16, stride: 16}\n  - flatten: {start: 1}\n  - transpose", None),
    # whole axes regrouped: the positions merged, the channels still first
    ("[3, 224, 224]", "conv2d: {out: 196, kernel: 16, stride: 16}\n  - reshape: [196, 196]", None),
    # a dense layer's output reshaped into a map: no channels-first map before it
    ("[8, 32, 128]", "flatten\n  - linear: 256\n  - reshape: [16, 16]", None),
    # a map of one position: [64, 1, 1] as [1, 64] keeps every element in order
    ("[3, 28, 28]", "conv2d: {out: 64, kernel: 3, padding: 1}\n  - maxpool2d: 28\n  - reshape: [1, 64]", None),
])
def test_reshape_moves_channels(shape, layers, found):
    text = f"input: {shape}\nlayers:\n  - {layers}\n"
    messages = [d.message.split(":")[0] for d in lint(text, "x.yaml", ["S117"]).diagnostics]
    assert messages == ([found] if found else [])


@pytest.mark.parametrize(("shape", "first", "found"), [
    ("[1, 60]", "lstm: {hidden: 8}", True),
    ("[1, 60]", "gru: {hidden: 8, bidirectional: true, output: hidden}", True),
    ("[1, 60]", "linear: 4\n  - rnn: 8", True),  # one step still, after a position-wise layer
    ("[60, 1]", "lstm: 8", False),
    ("[T, 60]", "lstm: 8", False),  # a free length: more than one step at most of its values
])
def test_single_step_recurrence(shape, first, found):
    text = f"input: {shape}\nsymbols: {{T: 10}}\nlayers:\n  - {first}\n" if "T" in shape else \
        f"input: {shape}\nlayers:\n  - {first}\n"
    assert [d.code for d in lint(text, "x.yaml", ["S118"]).diagnostics] == (["S118"] if found else [])


def test_single_step_recurrence_leaves_the_hidden_weights_idle_in_torch():
    """What the rule says, measured: over one step, weight_hh changes neither the output nor gets a gradient."""
    torch = pytest.importorskip("torch")
    lstm = torch.nn.LSTM(60, 8, batch_first=True)
    x = torch.randn(4, 1, 60)
    lstm(x)[0].sum().backward()
    before = lstm(x)[0].detach()
    with torch.no_grad():
        lstm.weight_hh_l0.normal_()
    assert torch.equal(lstm(x)[0].detach(), before) and not lstm.weight_hh_l0.grad.any()


def test_a_block_used_as_a_layer_parameters_default_is_used():
    """`up(f, act = lrelu)` builds lrelu wherever a use leaves act out (keras.io's WGAN-GP generator)."""
    text = ("input: [16, 4, 4]\nblocks:\n  lrelu:\n    - leaky_relu: 0.2\n  up(f, act = lrelu):\n    - upsample: 2\n"
            "    - conv2d: {out: f, kernel: 3, padding: 1}\n    - act\n  unused:\n    - relu\n"
            "layers:\n  - up: 8\n  - up: {f: 1, act: tanh}\n")
    found = [d.message for d in lint(text, "x.yaml", ["S104"]).diagnostics]
    assert found == ["block 'unused' is defined but never used"]


def test_a_symbol_read_by_a_branch_source_template_is_used():
    """`from: "enc{L}"` reads L (the probe's configurable U-Net skip)."""
    text = ("input: [3, 32, 32]\nsymbols: {L: 1, M: 2}\nlayers:\n  - conv2d: {out: 8, kernel: 3, padding: 1, "
            "name: enc1}\n  - maxpool2d: 2\n  - upsample: 2\n  - concat: [{from: \"enc{L}\"}, []]\n")
    assert [d.message for d in lint(text, "x.yaml", ["S105"]).diagnostics] == [
        "symbol 'M' is declared but no expression uses it"]


@pytest.mark.parametrize(("head", "found"), [
    ("  - layernorm\n  - linear: 100", True),  # GPT-2: the final norm, then the vocabulary
    ("  - linear: 32\n  - gelu\n  - layernorm\n  - linear: 100", False),  # BERT's MLM prediction head
])
def test_missing_causal_mask_knows_a_masked_language_models_head(head, found):
    text = ("input: [16]\nlayers:\n  - embedding: {vocab: 100, dim: 32}\n  - multihead_attention: 4\n" + head + "\n")
    assert [d.code for d in lint(text, "x.yaml", ["S109"]).diagnostics] == (["S109"] if found else [])


@pytest.mark.parametrize(("text", "found"), [
    # AlphaGo Zero's policy head: a 1×1 convolution to 2 channels, one output per point and a pass
    ("input: [17, 19, 19]\nlayers:\n  - conv2d: {out: 32, kernel: 3, padding: 1}\n  - relu\n"
     "  - conv2d: {out: 2, kernel: 1}\n  - flatten\n  - linear: 362\n", []),
    # its value head: one channel, then a hidden layer of 256
    ("input: [17, 19, 19]\nlayers:\n  - conv2d: {out: 32, kernel: 3, padding: 1}\n  - relu\n"
     "  - conv2d: {out: 1, kernel: 1}\n  - flatten\n  - linear: 256\n  - relu\n  - linear: 1\n", []),
    ("input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 16, kernel: 3, padding: 1}\n  - relu\n  - flatten\n"
     "  - linear: 10\n", ["S114"]),
])
def test_full_resolution_flatten_spares_heads_that_read_each_position(text, found):
    assert [d.code for d in lint(text, "x.yaml", ["S114"]).diagnostics] == found


@pytest.mark.parametrize(("end", "found"), [
    ("  - global_avgpool1d\n  - linear: 2\n", []),  # InceptionTime, Wang et al.'s FCN: pooled once at the end
    ("  - flatten\n  - linear: 2\n", ["S102"]),
])
def test_missing_downsampling_spares_a_series_classifier_that_pools_globally(end, found):
    text = "input: [1, 500]\nlayers:\n" + "  - conv1d: {out: 16, kernel: 9, padding: 4}\n  - relu\n" * 10 + end
    assert [d.code for d in lint(text, "x.yaml", ["S102"]).diagnostics] == found
