"""The spec language's naming and choosing constructs (issue 19): names computed per copy, block uses
spliced into their caller, the input's shape in expressions, and ``if:``. Each with its exact paths
and shapes, symbolic and concrete, and each misuse located."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.errors import SpecError


def assert_located(run, path, where: tuple[int, int], message: str) -> None:
    """``archcalc params`` refuses the spec at ``path`` with exit code 2, at line and column ``where``."""
    result = run("params", path)
    assert result.exit_code == 2, result.stdout
    assert result.stderr.startswith(f"{path}:{where[0]}:{where[1]}: error: "), result.stderr
    assert message in result.stderr


def paths(text: str, **values: int) -> dict[str, tuple]:
    """Every layer's path → its output shape."""
    model = archcalc.loads(text, **values)
    return {node.path: node.out_shape for node in model.layers}


# -- names computed per copy -------------------------------------------------------------------


DENSE = """\
input: [8, 4, 4]
layers:
  - repeat: 3
    index: i
    layers:
      - concat:
          - []
          - name: denselayer{i + 1}
            layers:
              - batchnorm2d: {name: norm1}
              - conv2d: {out: 2, kernel: 1, name: conv1}
        inline: true
"""


def test_a_name_in_a_repeat_uses_the_copy_index():
    shapes = paths(DENSE)
    assert [p for p in shapes if p.endswith("conv1")] == ["denselayer1.conv1", "denselayer2.conv1",
                                                          "denselayer3.conv1"]
    assert shapes["denselayer3.conv1"] == (2, 4, 4)
    assert archcalc.loads(DENSE).output_shape == (14, 4, 4)


def test_a_computed_name_reads_block_parameters_and_keeps_dots():
    text = """\
input: [4]
blocks:
  stage(k):
    - repeat: 2
      index: j
      layers: [linear: {out: 4, name: "stage{k}.fc{2 * j}"}]
layers: [stage: 3, stage: 5]
"""
    assert list(paths(text)) == ["0.stage3.fc0", "0.stage3.fc2", "1.stage5.fc0", "1.stage5.fc2"]


def test_a_fixed_name_in_a_repeat_is_still_used_twice():
    with pytest.raises(SpecError, match="'conv' is used twice"):
        archcalc.loads("input: [4]\nlayers:\n  - repeat: 2\n    layers: [linear: {out: 4, name: conv}]\n")


@pytest.mark.parametrize(("name", "at", "message"), [
    ("layer{H}", "H}", "'{H}' in name 'layer{H}' must be a whole number, got H"),
    ("layer{i / 2}", "i / 2", "must be a whole number, got 0.5"),
    ("layer{k}", "k}", "undefined symbol 'k'"),
    ("layer{i(}", "(", "cannot read expression"),
    ("layer{}", "}", "has an empty {}"),
    ("layer{i", None, "unmatched brace"),
    ("layer}{i}", None, "unmatched brace"),
])
def test_a_bad_computed_name_is_located(run, write, name, at, message):
    """Located at the expression inside the braces (inside the quotes), or at the name."""
    row = f'    layers: [linear: {{out: 4, name: "{name}"}}]'
    path = write(f"input: [4, H]\nlayers:\n  - repeat: 2\n    index: i\n{row}\n")
    result = run("params", path)
    assert result.exit_code == 2
    col = row.index(at) + 1 if at else row.index('"') + 1
    assert result.stderr.startswith(f"{path}:5:{col}: error: "), result.stderr
    assert message in result.stderr


def test_a_shortcut_name_cannot_be_computed(run, write):
    text = ("input: [4, 4, 4]\nlayers:\n  - residual: {body: [conv2d: {out: 8, kernel: 1}], shortcut: auto, "
            "shortcut_name: \"down{1}\"}\n")
    result = run("params", write(text))
    assert result.exit_code == 2 and "cannot have computed {…} parts here" in result.stderr


# -- block uses spliced into the caller -------------------------------------------------------------


VGG = """\
input: [3, 32, 32]
blocks:
  stage(n, c):
    - repeat: n
      layers: [conv2d: {out: c, kernel: 3, padding: 1}, relu]
    - maxpool2d: 2
layers:
  - name: features
    layers:
      - stage: [1, 8]
        inline: true
      - stage: {n: 2, c: 16}
        inline: true
  - flatten
"""


def test_an_inline_block_use_takes_the_callers_numbering():
    shapes = paths(VGG)
    assert list(shapes) == [f"features.{i}" for i in range(8)] + ["1"]
    assert shapes["features.3"] == (16, 16, 16) and shapes["features.7"] == (16, 8, 8)


def test_an_inline_block_use_is_spliced_in_every_backend():
    torch = pytest.importorskip("torch")
    module = archcalc.to_torch(archcalc.loads(VGG))
    assert [k for k in module.state_dict()] == ["features.0.weight", "features.0.bias", "features.3.weight",
                                                "features.3.bias", "features.5.weight", "features.5.bias"]
    assert module(torch.zeros(1, 3, 32, 32)).shape == (1, 16 * 8 * 8)


def test_an_inline_block_use_cannot_be_named(run, write):
    text = VGG.replace("stage: [1, 8]", "stage: [1, 8]\n        name: s")
    result = run("params", write(text))
    assert result.exit_code == 2
    assert ":12:17: error: an inline use of block 'stage' has no level of its own" in result.stderr.splitlines()[0]


def test_inline_among_the_arguments_says_where_it_goes(run, write):
    text = VGG.replace("{n: 2, c: 16}", "{n: 2, c: 16, inline: true}")
    result = run("params", write(text))
    assert result.exit_code == 2 and "inline goes beside the use" in result.stderr


def test_an_error_in_an_inline_block_still_names_the_use(run, write):
    text = VGG.replace("c: 16}", "c: 0}")
    result = run("params", write(text))
    assert result.exit_code == 2
    assert "note: in block 'stage' used at" in result.stderr


# -- the input's shape in expressions ----------------------------------------------------------------


def test_depthwise_and_halving_read_the_input():
    text = """\
input: [C, H, W]
symbols: {C: 24}
blocks:
  transition:
    - conv2d: {out: in_channels // 2, kernel: 1}
layers:
  - conv2d: {out: 2 * in_channels, kernel: 3, padding: 1, groups: in_channels}
  - transition
  - conv2d: {out: in_channels, kernel: ["in_shape[1]", 1]}   # brackets inside YAML's [...] need quotes
"""
    model = archcalc.loads(text, H=7, W=5)
    assert [n.out_shape for n in model.layers] == [(48, 7, 5), (24, 7, 5), (24, 1, 5)]
    assert model.layers[0].layer.params((24, 7, 5)).trainable == 48 * 9 + 48  # groups = 24: (24/24)·48·3·3 + 48


def test_the_input_names_are_symbolic_with_a_symbolic_input():
    text = "input: [C, L]\nlayers:\n  - conv1d: {out: in_channels, kernel: 1, groups: in_channels}\n" \
           "  - linear: {out: 2 * in_features}\n"
    model = archcalc.loads(text)
    assert [str(d) for d in model.output_shape] == ["C", "2*L"]
    assert str(model.trainable_params) == "2*C + 2*L**2 + 2*L"  # depthwise: (C/C)·C·1 + C; linear: L·2L + 2L


def test_a_block_argument_and_default_read_the_uses_input():
    text = """\
input: [64, 8, 8]
blocks:
  squeeze(c = in_channels // 4):
    - conv2d: {out: c, kernel: 1}
layers:
  - squeeze
  - squeeze: in_channels * 2
"""
    assert [n.out_shape[0] for n in archcalc.loads(text).layers] == [16, 32]


@pytest.mark.parametrize(("text", "where", "message"), [
    ("input: [in_channels]\nlayers: [relu]\n", (1, 9), "symbol name 'in_channels' is reserved"),
    ("input: [2 * in_channels]\nlayers: [relu]\n", (1, 9), "reads the shape of a layer's or block use's input"),
    ("input: [4]\nlayers:\n  - repeat: in_channels\n    layers: [relu]\n", (3, 13), "depends on the input's shape"),
    ("input: [4]\nblocks:\n  b(n):\n    - repeat: n\n      layers: [relu]\nlayers: [b: in_channels]\n", (4, 15),
     "depends on the input's shape (through n)"),
    ("input: [4, 3]\nlayers:\n  - linear: {out: 'in_shape[2]'}\n", (3, 19), "the input has 2 axes"),
    ("input: [4, 3]\nlayers:\n  - linear: {out: 'in_shape[-3]'}\n", (3, 19), "the input has 2 axes"),
    ("input: [4]\nlayers:\n  - linear: {out: in_shape}\n", (3, 19), "the input's whole shape"),
    ("input: [4]\nlayers:\n  - linear: {out: 'in_shape[1 + 1]'}\n", (3, 19), "only in_shape[k]"),
    ("input: [4]\nlayers:\n  - linear: {out: 'x[0]'}\n", (3, 19), "only in_shape[k]"),
    ("input: [4]\nsymbols: {in_channels: 3}\nlayers: [relu]\n", (2, 11), "is reserved"),
    ("input: [4]\nblocks:\n  b(in_features): [relu]\nlayers: [b: 1]\n", (3, 5), "is reserved"),
    ("input: [4]\nlayers:\n  - repeat: 2\n    index: in_shape\n    layers: [relu]\n", (4, 12), "is reserved"),
])
def test_the_input_names_are_refused_where_no_input_exists(run, write, text, where, message):
    assert_located(run, write(text), where, message)


# -- conditionals --------------------------------------------------------------------------------------


MOBILE = """\
input: [16, 8, 8]
blocks:
  inverted(out, expansion, stride = 1):
    - residual:
        body:
          - if: expansion != 1
            then: [conv2d: {out: expansion * in_channels, kernel: 1, bias: false}, relu6]
          - conv2d: {out: in_channels, kernel: 3, stride: stride, padding: 1, groups: in_channels, bias: false}
          - relu6
          - conv2d: {out: out, kernel: 1, bias: false}
        shortcut: if_same
layers:
  - inverted: [16, 1]
  - inverted: [24, 6, 2]
"""


def test_if_builds_only_the_branch_that_holds():
    model = archcalc.loads(MOBILE)
    kinds = [(n.path, n.layer.kind, n.out_shape) for n in model.layers]
    # expansion 1: no expanding convolution, and the layers after it move up, as in torchvision's
    # InvertedResidual, whose Sequential is built from a list the expansion is appended to only when needed
    assert kinds == [
        ("0.0", "conv2d", (16, 8, 8)), ("0.1", "relu6", (16, 8, 8)), ("0.2", "conv2d", (16, 8, 8)),
        ("1.0", "conv2d", (96, 8, 8)), ("1.1", "relu6", (96, 8, 8)), ("1.2", "conv2d", (96, 4, 4)),
        ("1.3", "relu6", (96, 4, 4)), ("1.4", "conv2d", (24, 4, 4)),
    ]
    assert model.graph.find("0").mode == "identity" and model.graph.find("1").mode == "none"
    assert model.output_shape == (24, 4, 4)


@pytest.mark.parametrize(("condition", "taken"), [
    ("true", True), ("false", False), ("0", False), ("3", True), ("n", True), ("n - 2", False),
    ("n == 2 and not n > 2", True), ("n < 1 or n >= 2", True), ("1 < n < 2", False), ("in_channels == 4", True),
    ("in_shape[-1] != 5", False), ("H >= 1", True), ("H + 1 > H", True), ("2 * H != H", True),
])
def test_conditions(condition, taken):
    text = (f"input: [4, H, 5]\nblocks:\n  b(n):\n    - if: {condition}\n      then: [conv2d: {{out: 7, kernel: 1}}]\n"
            "      else: [conv2d: {out: 9, kernel: 1}]\nlayers: [b: 2]\n")
    assert archcalc.loads(text).output_shape[0] == (7 if taken else 9)


def test_a_condition_on_a_free_symbol_must_be_decided(run, write):
    text = "input: [4, H]\nlayers:\n  - if: H > 3\n    then: [relu]\n    else: [tanh]\n"
    path = write(text)
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:3:9: error: 'H > 3' holds for some values of H and not for others")
    assert "--set" in result.stderr
    assert run("params", path, "--set", "H=5").exit_code == 0


def test_the_branch_not_taken_is_checked_for_names_and_structure(run, write):
    base = "input: [4]\nblocks:\n  b(n):\n    - if: n == 1\n      then: [linear: 3]\n      else: [{}]\nlayers: [b: 1]\n"
    result = run("params", write(base.replace("{}", "linear: {out: m}")))
    assert result.exit_code == 2 and ":6:28: error: undefined symbol 'm'" in result.stderr
    result = run("params", write(base.replace("{}", "linaer: 3")))
    assert result.exit_code == 2 and "unknown layer kind 'linaer'" in result.stderr
    result = run("params", write(base.replace("{}", "linear: {out: 3, kernel: 1}")))
    assert result.exit_code == 2 and "linear has no argument 'kernel'" in result.stderr
    ok = run("params", write(base.replace("{}", "linear: {out: n * in_features}"), "ok.yaml"), "--format", "json")
    assert ok.exit_code == 0 and json.loads(ok.stdout)["trainable_params"] == 15


@pytest.mark.parametrize(("text", "where", "message"), [
    ("input: [4]\nlayers:\n  - if: 1 < 2\n", (3, 5), "needs 'then:' or 'else:'"),
    ("input: [4]\nlayers:\n  - if: [1]\n    then: [relu]\n", (3, 9), "needs a condition"),
    ("input: [4]\nlayers:\n  - if: 1 < 2\n    then: [relu]\n    name: x\n", (5, 5), "unexpected key 'name'"),
    ("input: [4]\nlayers:\n  - if: f(1)\n    then: [relu]\n", (3, 9), "a function call is not allowed"),
    ("input: [4]\nlayers:\n  - linear: {out: 1 < 2}\n", (3, 19), "comparisons belong in the condition of if:"),
    ("input: [4]\nlayers:\n  - if: n > 1\n    then: [relu]\n", (3, 9), "undefined symbol 'n'"),
    ("input: [4]\nlayers: [if: in_channels > 1, then: [relu]]\n", (2, 10), "'if:' and its branches are separate "
     "items of this list: in a list written [...], a mapping of several keys needs braces\n  hint: write [{if: ..., "
     "then: [...], else: [...]}]"),
    ("input: [4]\nlayers: [if: in_channels > 1, then: [relu], else: [tanh]]\n", (2, 10), "error: 'if:' and its "
     "branches are separate items of this list"),
])
def test_bad_conditions_are_located(run, write, text, where, message):
    assert_located(run, write(text), where, message)


def test_a_conditional_counts_toward_the_layer_limit(run, write):
    text = ("input: [4]\nlayers:\n  - if: in_channels > 1\n    then:\n      - {repeat: 30, layers: [relu]}\n"
            "      - {repeat: 30, layers: [relu]}\n")
    result = run("params", write(text), "--limit", "max_layers=40")
    assert result.exit_code == 2 and "more than 40 layers" in result.stderr


# -- ceil-mode sizes read as ceilings -------------------------------------------------------------------


def test_ceil_mode_sizes_print_as_ceilings(run, write):
    path = write("input: [3, H, W]\nlayers:\n  - maxpool2d: {kernel: 3, stride: 2, ceil_mode: true}\n")
    table = run("shapes", path, env={"COLUMNS": "200"}).stdout
    assert "[3, ceiling(H/2 - 3/2) + 1, ceiling(W/2 - 3/2) + 1]" in table and "floor" not in table
    explained = run("shapes", path, "--explain", env={"COLUMNS": "200"}).stdout
    assert "= ⌈(H − 3)/2⌉ + 1" in explained
    flops = run("flops", path, "--columns", "pool", env={"COLUMNS": "200"}).stdout
    assert "ceiling(" in flops and "1 - floor" not in flops


def test_a_number_as_condition_holds_when_it_is_not_0(run, write):
    text = "input: [4]\nlayers:\n  - if: 1.5\n    then: [relu]\n  - if: 0.0\n    then: [linear: 3]\n"
    result = run("shapes", write(text), "--format", "json")
    assert result.exit_code == 0 and json.loads(result.stdout)["output_shape"] == [4]


def test_a_fractional_repeat_count_says_counts_are_whole():
    with pytest.raises(SpecError) as raised:
        archcalc.loads("input: [4]\nlayers:\n  - repeat: 2.5\n    layers: [relu]\n")
    assert raised.value.message == "repeat count must be a concrete integer ≥ 0, got 2.5"
    assert raised.value.hint == "a repeat count is a whole number of copies"
