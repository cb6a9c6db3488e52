"""The exact text of errors found by code review: typos in block parameters, bad words, errors
inside a block body (which use failed), and sizes past the integer limit.

Each test asserts the whole of standard error, so a message that loses its location, its hint or
its note fails here.
"""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.backends.numpy import to_numpy
from archcalc.backends.numpy.source import render
from archcalc.backends.torch.source import emit
from archcalc.errors import SpecError
from tests.conftest import SPECS

STAGE = """\
input: [3, 32, 32]
symbols: {H: 32}
blocks:
  stage(c):
    - conv2d: {out: cc, kernel: 3}
    - relu
layers:
  - stage: {c: 16}
"""


def errors(run, write, text: str, *args: str) -> str:
    path = write(text, "x.yaml")
    result = run("params", path, *args)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    return result.stderr.replace(str(path), "x.yaml")


def test_a_misspelt_block_parameter_is_an_undefined_symbol_at_the_use(run, write):
    assert errors(run, write, STAGE) == (
        "x.yaml:5:21: error: undefined symbol 'cc'\n"
        "  hint: did you mean 'c'? defined here: H, c\n"
        "  note: in block 'stage' used at x.yaml:8:5 (0)\n")


def test_lint_shows_which_block_use_failed_too(run, write):
    path = write(STAGE, "x.yaml")
    result = run("lint", path)
    assert result.exit_code == 1
    assert result.stdout.replace(str(path), "x.yaml").splitlines()[4:6] == [
        "  = hint: did you mean 'c'? defined here: H, c",
        "  = note: in block 'stage' used at x.yaml:8:5 (0)"]
    (finding,) = json.loads(run("lint", path, "--format", "json").stdout)
    assert finding["hint"] == "did you mean 'c'? defined here: H, c"
    assert finding["notes"] == [f"in block 'stage' used at {path}:8:5 (0)"]


def test_an_undefined_symbol_with_nothing_close_lists_the_names(run, write):
    text = "input: [3, 8, 8]\nsymbols: [H, W]\nlayers:\n  - conv2d: {out: 2 * zz, kernel: 3}\n"
    assert errors(run, write, text) == (
        "x.yaml:4:19: error: undefined symbol 'zz'\n"
        "  hint: defined here: H, W; declare others under 'symbols:' or as a block parameter\n")


def test_a_word_given_to_a_block_parameter_that_takes_numbers_is_an_undefined_symbol(run, write):
    """Bare words used to pass through any block parameter as strings and fail later, in the body."""
    text = STAGE.replace("out: cc", "out: c").replace("c: 16", "c: sixteen")
    assert errors(run, write, text) == (
        "x.yaml:8:16: error: undefined symbol 'sixteen'\n"
        "  hint: defined here: H; declare others under 'symbols:' or as a block parameter\n")


def test_a_block_parameter_passed_to_padding_takes_its_words_through_other_blocks(run, write):
    text = """\
input: [3, 8, 8]
blocks:
  cbr(c, mode = same):
    - conv2d: {out: c, kernel: 3, padding: mode}
  pair(c, mode): [cbr: [c, mode], cbr: [c]]
layers:
  - pair: [4, valid]
  - pair: [4, vaild]
"""
    assert errors(run, write, text) == (
        "x.yaml:8:15: error: block 'pair': 'mode' must be a number or one of 'same', 'valid', got 'vaild'\n"
        "  hint: did you mean 'valid'?\n")
    model = archcalc.loads(text.replace("  - pair: [4, vaild]\n", ""))
    assert model.graph.root.out_shape == (4, 6, 6)  # valid 8 → 6, then same keeps 6


@pytest.mark.parametrize("layer, col, message, hint", [
    ("conv2d: {out: 8, kernel: 3, bias: yes}", 39, "conv2d: 'bias' must be true or false, got 'yes'",
     "YAML 1.2 reads 'yes' as a word, not a boolean: write true"),
    ("linear: {out: 8, bias: Off}", 28, "linear: 'bias' must be true or false, got 'Off'",
     "YAML 1.2 reads 'Off' as a word, not a boolean: write false"),
    ("conv2d: {out: 8, kernel: 3, padding: full}", 42,
     "conv2d: 'padding' must be an integer ≥ 0, [ph, pw], 'same' or 'valid', got 'full'", "valid words: same, valid"),
    ("conv2d: {out: 8, kernel: 3, padding: true}", 42,
     "conv2d: 'padding' must be an integer ≥ 0, [ph, pw], 'same' or 'valid', got true", None),
    ("maxpool2d: {kernel: 2, padding: vali}", 37,
     "maxpool2d: 'padding' must be an integer ≥ 0, [ph, pw], 'same' or 'valid', got 'vali'", "did you mean 'valid'?"),
    ("gelu: {approximate: fast}", 25, "gelu: 'approximate' must be one of 'none', 'tanh', got 'fast'",
     "valid words: none, tanh"),
    ("gelu: {approximate: 1}", 25, "gelu: 'approximate' must be one of 'none', 'tanh', got 1",
     "valid words: none, tanh"),
    ("maxpool2d: {kernel: 2, ceil_mode: 2}", 39, "maxpool2d: 'ceil_mode' must be true or false, got 2", None),
    ("avgpool2d: {kernel: 2, count_include_pad: no}", 47,
     "avgpool2d: 'count_include_pad' must be true or false, got 'no'",
     "YAML 1.2 reads 'no' as a word, not a boolean: write false"),
    ("conv2d: {out: 8, kernel: 0}", 30, "conv2d: 'kernel' must be an integer ≥ 1 or [h, w], got 0", None),
    ("dropout: {p: high}", 18, "undefined symbol 'high'", "declare it under 'symbols:' or as a block parameter"),
])
def test_bad_words_name_the_allowed_values_at_the_value(run, write, layer, col, message, hint):
    expected = f"x.yaml:3:{col}: error: {message}\n" + (f"  hint: {hint}\n" if hint else "")
    assert errors(run, write, f"input: [3, 8, 8]\nlayers:\n  - {layer}\n") == expected


def test_a_bool_argument_inside_a_block_suggests_the_parameter(run, write):
    text = "input: [4]\nblocks:\n  fc(use_bias):\n    - linear: {out: 2, bias: use_bais}\nlayers:\n  - fc: true\n"
    assert errors(run, write, text) == (
        "x.yaml:4:30: error: linear: 'bias' must be true or false, got 'use_bais'\n"
        "  hint: did you mean 'use_bias'?\n"
        "  note: in block 'fc' used at x.yaml:6:5 (0)\n")


BOTTLENECK = """\
input: [3, 8, 8]
blocks:
  unit(c, k):
    - conv2d: {in: 4, out: c, kernel: k, padding: 1}
    - relu
  stage(c): [unit: [c, 3], unit: [c, 3]]
layers:
  - conv2d: {out: 4, kernel: 1}
  - name: layer4
    layers:
      - unit: [4, 3]
      - stage: 8
"""


def test_an_error_in_a_block_body_says_which_use_failed_outermost_last(run, write):
    assert errors(run, write, BOTTLENECK) == (
        "x.yaml:4:20: error: conv2d: 'in' says 4 but the input has 8\n"
        "  hint: remove 'in' (it is inferred) or fix the layer before\n"
        "  note: in block 'unit' used at x.yaml:6:28 (layer4.1.1)\n"
        "  note: in block 'stage' used at x.yaml:12:9 (layer4.1)\n")


def test_a_default_that_fails_says_which_use_needed_it(run, write):
    text = "input: [4]\nblocks:\n  fc(c, d = 2 * e): [linear: d]\nlayers:\n  - fc: 3\n"
    assert errors(run, write, text) == (
        "x.yaml:3:13: error: undefined symbol 'e'\n"
        "  hint: defined here: c; declare others under 'symbols:' or as a block parameter\n"
        "  note: in block 'fc' used at x.yaml:5:5\n")


def test_the_python_api_error_carries_the_notes():
    with pytest.raises(SpecError) as caught:
        archcalc.loads(BOTTLENECK)
    assert caught.value.notes == ["in block 'unit' used at <string>:6:28 (layer4.1.1)",
                                  "in block 'stage' used at <string>:12:9 (layer4.1)"]
    assert str(caught.value).endswith("  note: in block 'stage' used at <string>:12:9 (layer4.1)")


LIMIT = "  hint: sizes are limited to 4,611,686,018,427,387,904 (--limit max_int=N)\n"


@pytest.mark.parametrize("text, message", [
    ("input: [4611686018427387903]\nlayers:\n  - linear: 4\n",
     "x.yaml:3:5: error: linear: 18,446,744,073,709,551,616 parameters are past the integer limit\n"),
    ("input: [3, 32, 32]\nlayers:\n  - conv2d: {out: 4611686018427387903, kernel: 3}\n",
     "x.yaml:3:5: error: conv2d: 1.29e20 parameters are past the integer limit\n"),
    ("input: [3, 4611686018427387903, 4611686018427387903]\nlayers:\n  - maxpool2d: 1\n  - flatten\n",
     "x.yaml:1:8: error: the input holds 6.38e37 elements, past the integer limit\n"),
    # every size a report multiplies (by a batch, bytes, FLOPs per element) stays within the limit: issue 20
    ("input: [4, 2**30, 2**30]\nlayers:\n  - conv2d: {out: 8, kernel: 1}\n",
     "x.yaml:3:5: error: conv2d: an output of 9,223,372,036,854,775,808 elements is past the integer limit\n"),
    ("input: [" + ", ".join(["2**62"] * 250) + "]\nlayers:\n  - relu\n",
     "x.yaml:1:8: error: the input holds 9.22e4665 elements, past the integer limit\n"),
])
def test_sizes_past_the_integer_limit_are_a_located_resource_error(run, write, text, message):
    assert errors(run, write, text) == message + LIMIT


def test_the_running_total_of_parameters_is_bounded_too(run, write):
    text = "input: [10]\nlayers:\n  - linear: 50\n  - relu\n  - linear: 10\n"
    assert errors(run, write, text, "--limit", "max_int=1000") == (
        "x.yaml:5:5: error: linear: the network's parameters reach 1,060 here, past the integer limit\n"
        "  hint: sizes are limited to 1,000 (--limit max_int=N)\n")
    assert archcalc.loads("input: [4611686018427387903]\nlayers:\n  - linear: 1\n").trainable_params == 2**62


def test_export_names_the_real_free_symbols_with_values_that_build(run, write):
    """The example in the hint builds: a spatial dim takes the other's number, a symbol takes the value
    of a bound one with a similar name, the rest 32, or the first of 224, 512, … the network builds with."""
    path = write("input: [3, H, W]\nsymbols: [D_in]\nlayers:\n  - conv2d: {out: 8, kernel: 5}\n  - flatten\n"
                 "  - linear: D_in\n", "x.yaml")
    result = run("export", path, "--to", "torch", "--set", "W=100")
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:2:11: error: D_in, H must have values to export\n"
                             "  hint: give them with --set, e.g. --set D_in=32,H=100\n")
    small = write("input: [3, H, W]\nlayers:\n  - maxpool2d: 8\n  - maxpool2d: 8\n", "small.yaml")
    assert run("export", small, "--to", "numpy").stderr == (f"{small}:1:12: error: H, W must have values to export\n"
                                                            "  hint: give them with --set, e.g. --set H=224,W=224\n")
    deep = write("input: [3, H, W]\nlayers:\n  - repeat: 6\n    layers: [conv2d: {out: 8, kernel: 5, stride: 2}]\n",
                 "deep.yaml")
    assert run("export", deep, "--to", "numpy").stderr.endswith("--set H=512,W=512\n")  # 224 shrinks to 0
    assert run("export", small, "--to", "numpy", "--set", "H=512").stderr == (
        f"{small}:1:15: error: W must have a value to export\n  hint: give it with --set, e.g. --set W=512\n")
    mlp = write("input: [D_i]\nsymbols: [D_o]\nlayers: [linear: D_o]\n", "mlp.yaml")
    assert run("export", mlp, "--to", "torch", "--set", "D_i=50").stderr.endswith("e.g. --set D_o=50\n")


def test_the_python_api_says_how_to_give_values_in_python():
    model = archcalc.load(str(SPECS / "symbolic-cnn.yaml"))
    for call in (archcalc.to_torch, render, emit, to_numpy):
        with pytest.raises(SpecError) as caught:
            call(model)
        assert caught.value.hint == "give them values, e.g. archcalc.load(path, H=32, W=32)"
        assert "--set" not in str(caught.value)


def test_the_graph_builder_names_layer_kinds_through_their_classes():
    """The projection shortcut is made of ``Conv2d.kind`` and friends, never a string a rename would miss
    ('identity' is also a shortcut mode, which is what the builder means by it)."""
    import ast

    from archcalc.layers import LAYERS
    from archcalc.spec.parser import SHORTCUTS

    graph = SPECS.parent / "src" / "archcalc" / "graph"
    named = [(path.name, node.lineno, node.value) for path in sorted(graph.glob("*.py"))
             for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
             if isinstance(node, ast.Constant) and node.value in LAYERS and node.value not in SHORTCUTS]
    assert named == []


@pytest.mark.parametrize("values, message", [
    ({"H": "abc"}, "4:12: error: H='abc': a symbol's value must be a whole number ≥ 1"),
    ({"H": 0}, "4:12: error: H=0: a symbol's value must be a whole number ≥ 1"),
    ({"Q": 3}, "3:1: error: Q=3 is given, but the spec has no symbol 'Q'"),
])
def test_the_python_api_checks_symbol_values_too(values, message):
    with pytest.raises(SpecError) as caught:
        archcalc.load(str(SPECS / "symbolic-cnn.yaml"), **values)
    assert str(caught.value).splitlines()[0] == f"{SPECS / 'symbolic-cnn.yaml'}:{message}"


def test_a_concat_of_free_sizes_that_agree_only_for_some_values_says_how_to_write_them():
    text = ("input: [1, H, W]\nsymbols: {H: 64, W: 64}\nlayers:\n  - conv2d: {out: 8, kernel: 3, padding: 1, name: e}\n"
            "  - maxpool2d: 2\n  - upsample: {scale: 2}\n  - concat: [{from: e}, []]\n")
    assert archcalc.loads(text).graph.output_shape == (16, 64, 64)
    with pytest.raises(SpecError) as caught:
        archcalc.loads(text, symbolic_dims=True)
    assert caught.value.message == "concat: branch 1 gives [8, 2*floor(H/2), 2*floor(W/2)] but branch 0 gives [8, H, W]"
    assert caught.value.hint.endswith("with free sizes they agree only for some values of H, W: give them values "
                                      "(--set, or leave out --symbolic), or write each as a multiple of 2 with a "
                                      "symbol of its own (H = 2*h, W = 2*w)")
    unpadded = text.replace("{scale: 2}\n", "{scale: 2}\n  - conv2d: {out: 8, kernel: 3}\n")
    with pytest.raises(SpecError) as caught:  # 2*floor(H/2) - 2 against H: never equal, and the hint does not say so
        archcalc.loads(unpadded, symbolic_dims=True)
    assert caught.value.hint == "branches are joined along channels, so every other dimension must agree"
    fixed = archcalc.loads(text.replace("[1, H, W]", "[1, 2*h, 2*w]").replace("{H: 64, W: 64}", "{h: 32, w: 32}"),
                           symbolic_dims=True)
    assert [str(d) for d in fixed.graph.output_shape] == ["16", "2*h", "2*w"]


SE = """input: [16, 8, 8]
blocks:
  se(r = 4):
    - multiply:
        - []
        - layers:
            - adaptive_avgpool2d: 1
            - conv2d: {out: in_channels // r, kernel: 1}
            - relu
            - conv2d: {out: in_channels, kernel: 1}
            - sigmoid
layers:
  - se
"""


def test_a_gate_whose_width_reads_its_own_input_says_in_channels_is_that_layers():
    with pytest.raises(SpecError) as caught:
        archcalc.loads(SE)
    assert (caught.value.loc.line, caught.value.code) == (6, "broadcast-mismatch")
    assert "`out: in_channels` at line 10 reads in_channels of that layer's own input, not the block's" \
        in caught.value.hint
    fixed = SE.replace("se(r = 4):", "se(r = 4, c = in_channels):").replace("out: in_channels,", "out: c,")
    assert archcalc.loads(fixed).graph.output_shape == (16, 8, 8)


@pytest.mark.parametrize(("layer", "message"), [
    ("pad: [1, 2, 3]", "x.yaml:3:10: error: pad: 'padding' must be a list of 2, 4 or 6 integers: (before, after) "
     "for each padded axis, the last axis first, got [1, 2, 3]\n"
     "  hint: torch's order, the last axis first: [left, right] pads the last axis, [left, right, top, bottom] the "
     "last two, [left, right, top, bottom, front, back] the last three\n"),
    ("pad: 2", "x.yaml:3:10: error: pad: 'padding' must be a list of 2, 4 or 6 integers: (before, after) for each "
     "padded axis, the last axis first, got 2\n"
     "  hint: one number does not say how many axes it pads: [2, 2] pads the last axis, [2, 2, 2, 2] the last two "
     "(torch's ZeroPad2d(2))\n"),
    ("pad: [1.5, 0]", "x.yaml:3:10: error: pad: 'padding' must be a list of whole numbers, got [1.5, 0]\n"
     "  hint: each amount is a whole number of positions (negative crops)\n"),
    ("pad: [0, 0, 0, 0, 1, 1]", "x.yaml:3:10: error: pad: pads 3 axes, but the input [4, 5] has 2\n"
     "  hint: torch's order, the last axis first: [left, right] pads the last axis, [left, right, top, bottom] the "
     "last two, [left, right, top, bottom, front, back] the last three\n"),
    ("pad: [-3, -2]", "x.yaml:3:10: error: pad: crops axis 1 (5 positions of [4, 5]) by 3 (left) and 2 (right): "
     "nothing of the input would be left\n  hint: crop less, or pad instead (amounts ≥ 0)\n"),
    ("glu", "x.yaml:3:5: error: glu: splits axis 1 of [4, 5] in half, but its size 5 is odd\n"
     "  hint: give the layer before it twice the outputs the gate needs (an even size), or split another axis "
     "with 'dim'\n"),
    ("glu: {dim: -1}", "x.yaml:3:16: error: glu: splits axis 1 of [4, 5] in half, but its size 5 is odd\n"
     "  hint: give the layer before it twice the outputs the gate needs (an even size), or split another axis "
     "with 'dim'\n"),
    ("glu: 2", "x.yaml:3:10: error: glu: axis 2 is outside an input with 2 axes ([4, 5])\n"
     "  hint: use 0..1 (0 is the first axis after the batch) or -1..-2\n"),
])
def test_pad_and_glu_refuse_what_torch_refuses_at_the_argument(run, write, layer, message):
    assert errors(run, write, f"input: [4, 5]\nlayers:\n  - {layer}\n") == message


def test_a_pad_amount_whose_sign_depends_on_a_symbol_is_refused(run, write):
    assert errors(run, write, "input: [4, L]\nsymbols: {L: 16, K: null}\nlayers:\n  - pad: [K - 2, 0]\n") == (
        "x.yaml:4:10: error: pad: 'padding' entry K - 2 may pad or crop depending on K\n"
        "  hint: give the symbols values with --set, or write an amount whose sign is fixed\n")


@pytest.mark.parametrize(("spec", "message"), [
    ("input: [4, 5]\nlayers:\n  - pad: {padding: [5, 0], mode: reflect}\n",
     "x.yaml:3:20: error: pad: mode reflect pads axis 1 (5 positions of [4, 5]) by 5 (left): a reflection must be "
     "shorter than the axis\n  hint: pad at most 4, or use replicate or circular\n"),
    ("input: [4, 5]\nlayers:\n  - pad: {padding: [1, 6], mode: circular}\n",
     "x.yaml:3:20: error: pad: mode circular pads axis 1 (5 positions of [4, 5]) by 6 (right): it would wrap around "
     "more than once\n  hint: pad at most 5, or use replicate\n"),
    ("input: [4, 5]\nlayers:\n  - pad: {padding: [-1, 2], mode: replicate}\n",
     "x.yaml:3:20: error: pad: mode replicate cannot crop: axis 1 (5 positions of [4, 5]) by -1 (left)\n"
     "  hint: crop with a constant pad before it (negative amounts), then pad with mode replicate by amounts ≥ 0\n"),
    ("input: [4, 5]\nlayers:\n  - pad: {padding: [1, 1], mode: reflect, value: 0}\n",
     "x.yaml:3:50: error: pad: 'value' is given but mode is reflect: only constant padding adds a value\n"
     "  hint: remove value (reflect copies the input's own values), or use mode: constant\n"),
    ("input: [4, 5]\nlayers:\n  - pad: {padding: [1, 1], mode: wrap}\n",
     "x.yaml:3:34: error: pad: 'mode' must be one of 'constant', 'reflect', 'replicate', 'circular', got 'wrap'\n"
     "  hint: valid words: constant, reflect, replicate, circular\n"),
    ("input: [2, 4, 5]\nlayers:\n  - pad: {padding: [1, 1], mode: reflect}\n",
     "x.yaml:3:20: error: pad: mode reflect pads 1 axis of an input with at most one axis more (torch pads the last "
     "1–3 axes of a 2–5-D tensor, batch included, in this mode), but the input [2, 4, 5] has 3\n"
     "  hint: list (before, after) for every axis after the first (4 amounts, 0 where nothing is added), or use "
     "mode: constant\n"),
    ("input: [1, 2, 3, 4, 5]\nlayers:\n  - pad: {padding: [1, 1], mode: replicate}\n",
     "x.yaml:3:20: error: pad: mode replicate pads 1 axis of an input with at most one axis more (torch pads the "
     "last 1–3 axes of a 2–5-D tensor, batch included, in this mode), but the input [1, 2, 3, 4, 5] has 5\n"
     "  hint: torch pads at most 3 axes in mode replicate: use mode: constant\n"),
    ("input: [2, 3, 5]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: 3, padding_mode: reflect}\n",
     "x.yaml:3:42: error: conv2d: padding_mode reflect pads H=3 of [2, 3, 5] by 3: a reflection must be shorter "
     "than the axis\n  hint: pad at most 2, or use replicate or circular\n"),
    ("input: [2, 3, 5]\nlayers:\n  - conv2d: {out: 4, kernel: 9, padding: same, padding_mode: circular}\n",
     "x.yaml:3:42: error: conv2d: padding_mode circular pads H=3 of [2, 3, 5] by 4: it would wrap around more "
     "than once\n  hint: pad at most 3, or use replicate\n"),
    ("input: [2, 3, 5]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding_mode: mirror}\n",
     "x.yaml:3:47: error: conv2d: 'padding_mode' must be one of 'zeros', 'reflect', 'replicate', 'circular', got "
     "'mirror'\n  hint: valid words: zeros, reflect, replicate, circular\n"),
    ("input: [2, 3, 5]\nlayers:\n  - conv_transpose2d: {out: 4, kernel: 3, padding_mode: reflect}\n",
     "x.yaml:3:43: error: conv_transpose2d has no argument 'padding_mode'\n  hint: torch's transposed convolutions "
     "and pools pad with zeros (or −∞) only: padding_mode is for conv1d/2d/3d; a pad layer (mode: reflect, "
     "replicate, circular) pads before any kind\n"),
])
def test_copying_pads_refuse_what_torch_refuses_at_the_argument(run, write, spec, message):
    """torch's limits for reflect, replicate and circular padding (F.pad, nn.*Pad*d, Conv padding_mode), located
    at the argument with the fix; negative amounts and a value are refused in those modes."""
    assert errors(run, write, spec) == message


@pytest.mark.parametrize(("layer", "message"), [
    ("moe: {experts: 4, top_k: 5, hidden: 8}", "x.yaml:4:30: error: moe: routes each token to top_k 5 experts but "
     "has only 4\n  hint: top_k is at most experts (Mixtral: 2 of 8)\n"),
    ("moe: {experts: E, top_k: E + 1, hidden: 8}", "x.yaml:4:30: error: moe: routes each token to top_k E + 1 "
     "experts but has only E\n  hint: top_k is at most experts (Mixtral: 2 of 8)\n"),
    ("moe: {experts: 4, top_k: 0, hidden: 8}", "x.yaml:4:30: error: moe: 'top_k' must be an integer ≥ 1, got 0\n"
     "  hint: 'top_k': experts k each token is routed to (num_experts_per_tok)\n"),
    ("moe: {experts: 0, hidden: 8}", "x.yaml:4:20: error: moe: 'experts' must be an integer ≥ 1, got 0\n"
     "  hint: 'experts': experts E, each a gated MLP (Mixtral's num_local_experts)\n"),
    ("moe: {experts: 4}", "x.yaml:4:5: error: moe needs 'hidden'\n  hint: hidden: hidden features F of each expert "
     "(intermediate_size) — e.g. - moe: {experts: …, hidden: …}\n"),
    ("moe: 8", "x.yaml:4:10: error: moe takes its arguments as a mapping, got 8\n"
     "  hint: - moe: {experts: …, hidden: …}\n"),
    ("moe: {experts: 2, hidden: 4, init: {weight: zeros}}", "x.yaml:4:40: error: moe: init: sets a layer's weight "
     "and bias, but a mixture of experts holds a router and expert tensors instead\n"
     "  hint: remove init: (the experts start as E linear layers would, U(±1/√fan_in))\n"),
])
def test_moe_refuses_routing_it_cannot_do_at_the_argument(run, write, layer, message):
    """More experts per token than there are (also when a symbol decides it at every value), none, or sizes
    missing: located at the argument, as torch.topk would fail only at run time."""
    assert errors(run, write, f"input: [4, 6]\nsymbols: {{E: null}}\nlayers:\n  - {layer}\n") == message


@pytest.mark.parametrize(("layer", "message"), [
    ("moe: {experts: 6, top_k: 2, hidden: 4, groups: 4}", "x.yaml:4:52: error: moe: groups 4 does not divide the 6 "
     "experts\n  hint: each group holds E/G experts: use a divisor of experts\n"),
    ("moe: {experts: 6, top_k: 2, hidden: 4, groups: 6}", "x.yaml:4:52: error: moe: a group's score is its two best "
     "experts' sum, but 6 groups of 6 experts hold 1 each\n  hint: at least two experts per group, or group_score: "
     "max\n"),
    ("moe: {experts: 6, top_k: 2, hidden: 4, groups: 3, top_groups: 4}", "x.yaml:4:67: error: moe: top_groups 4 is "
     "more than the 3 groups\n  hint: at most groups (3)\n"),
    ("moe: {experts: 6, top_k: 3, hidden: 4, groups: 3, top_groups: 1}", "x.yaml:4:30: error: moe: top_k 3 is more "
     "than the 2 experts of the top_groups 1 groups (2 each)\n  hint: top_k is at most top_groups × experts / "
     "groups\n"),
    ("moe: {experts: 6, top_k: 2, hidden: 4, top_groups: 2}", "x.yaml:4:56: error: moe: top_groups is given but "
     "groups is not\n  hint: add groups: G (n_group), or drop top_groups\n"),
    ("moe: {experts: 6, top_k: 2, hidden: 4, shared_gate: false}", "x.yaml:4:57: error: moe: shared_gate is given "
     "but there is no shared expert\n  hint: add shared: S (its hidden features), or drop shared_gate\n"),
    ("moe: {experts: 6, top_k: 2, hidden: 4, scoring: tanh}", "x.yaml:4:53: error: moe: 'scoring' must be one of "
     "'softmax', 'sigmoid', got 'tanh'\n  hint: valid words: softmax, sigmoid\n"),
    ("mla: {heads: 2, kv_rank: 4, nope_dim: 2, rope_dim: 3, v_dim: 2}", "x.yaml:4:56: error: mla: rotary embedding "
     "rotates pairs of dimensions, but rope_dim 3 is odd\n  hint: use an even rope_dim (DeepSeek: 64)\n"),
    ("mla: {heads: 2, kv_rank: 4, nope_dim: 2, v_dim: 2}", "x.yaml:4:5: error: mla needs 'rope_dim'\n  hint: "
     "rope_dim: rotated dimensions of each head's query and of the shared key, even (qk_rope_head_dim) — e.g. - mla: "
     "{heads: …, kv_rank: …, nope_dim: …, rope_dim: …, v_dim: …}\n"),
    ("mla: {heads: 2, q_rank: 0, kv_rank: 4, nope_dim: 2, rope_dim: 2, v_dim: 2}", "x.yaml:4:29: error: mla: "
     "'q_rank' must be an integer ≥ 1, got 0\n"),
    ("mla: {heads: 2, kv_rank: 4, nope_dim: 2, rope_dim: 2, v_dim: 2, init: zeros}", "x.yaml:4:75: error: mla: "
     "init: sets a layer's weight and bias, but mla holds several projections and norms\n  hint: remove init: (the "
     "projections start as nn.Linear's, U(±1/√fan_in), the norms' γ at 1)\n"),
])
def test_deepseek_routing_and_latent_attention_are_refused_at_the_argument(run, write, layer, message):
    """Group-limited routing's sizes (transformers' router views the scores [G, E/G] and takes each group's two
    best), settings that need another, and MLA's odd rotary part, each located at the argument with the fix."""
    assert errors(run, write, f"input: [4, 6]\nsymbols: {{E: null}}\nlayers:\n  - {layer}\n") == message


def test_latent_attention_needs_a_sequence(run, write):
    assert errors(run, write, "input: [6]\nlayers:\n  - mla: {heads: 2, kv_rank: 4, nope_dim: 2, rope_dim: 2, "
                  "v_dim: 2}\n") == ("x.yaml:3:5: error: mla: needs a [T, D] sequence, got [6]\n  hint: attention "
                                      "runs on a sequence of vectors; reshape or flatten first\n")


@pytest.mark.parametrize("layout", ["llama", "torch"])
def test_init_on_multihead_attention_is_refused_at_the_init(run, write, layout):
    """init: names one weight and one bias; the attention has four projections, and to_torch failed with an
    AttributeError on the module's missing .weight (the NumPy backend ignored it)."""
    spec = f"input: [8, 16]\nlayers:\n  - multihead_attention: {{heads: 4, layout: {layout}, init: zeros}}\n"
    column = spec.splitlines()[2].index("zeros") + 1
    assert errors(run, write, spec) == (
        f"x.yaml:3:{column}: error: multihead_attention: init: sets a layer's weight and bias, but multihead_attention "
        "holds four projections (q, k, v and out) instead\n  hint: remove init: (the projections start as torch's: "
        "U(±1/√fan_in) for layout llama, xavier_uniform in_proj for layout torch)\n")


@pytest.mark.parametrize(("shape", "layer", "message"), [
    ("[4, 8]", "rmsnorm: {affine: false, offset: 1}", "x.yaml:3:38: error: rmsnorm: offset is given but affine is "
     "false: there is no γ to offset\n  hint: drop offset, or learn γ (affine: true)\n"),
    ("[4]", "embedding: {vocab: 3, dim: 2, scale: 0}", "x.yaml:3:42: error: embedding: 'scale' must be in (0, ∞), "
     "got 0.0\n  hint: 'scale' is the factor each row looked up is multiplied by (Gemma: √dim) [default: none]\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, window: 3}", "x.yaml:3:45: error: multihead_attention: a window "
     "needs causal: true (it slides over the keys before each query)\n  hint: add causal: true, or drop window\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, causal: true, window: 0}", "x.yaml:3:59: error: multihead_attention: "
     "'window' must be an integer ≥ 1, got 0\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, rotary_factor: 8.0}", "x.yaml:3:52: error: multihead_attention: "
     "rotary_factor is given but rotary is none\n  hint: add rotary: half (or interleaved), or drop rotary_factor\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, qk_norm_offset: 1}", "x.yaml:3:53: error: multihead_attention: "
     "qk_norm_offset is given but qk_norm is none\n  hint: add qk_norm: head (or all, or per_head), or drop "
     "qk_norm_offset\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, qk_norm_kind: layernorm}", "x.yaml:3:51: error: multihead_attention: "
     "qk_norm_kind is given but qk_norm is none\n  hint: add qk_norm: head (or all, or per_head), or drop "
     "qk_norm_kind\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, qk_norm: head, qk_norm_bias: false}", "x.yaml:3:66: error: "
     "multihead_attention: qk_norm_bias is given but qk_norm_kind is rmsnorm, which has no shift β\n"
     "  hint: add qk_norm_kind: layernorm, or drop qk_norm_bias\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, qk_norm: head, qk_norm_kind: layernorm, qk_norm_offset: 1}",
     "x.yaml:3:93: error: multihead_attention: qk_norm_offset is an RMSNorm's (Gemma's offset + γ), but qk_norm_kind "
     "is layernorm\n  hint: drop qk_norm_offset, or use qk_norm_kind: rmsnorm\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, qk_norm: per_head, qk_norm_offset: 1}", "x.yaml:3:72: error: "
     "multihead_attention: qk_norm_offset scales by offset + γ with one γ the heads share (Gemma 3's), not qk_norm: "
     "per_head's γ of each head's own\n  hint: use qk_norm: head with qk_norm_offset, or drop qk_norm_offset\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, qk_norm: all, qk_norm_layout: stablelm}", "x.yaml:3:67: error: "
     "multihead_attention: qk_norm_layout stores a γ of each head's own, but qk_norm is all\n"
     "  hint: use qk_norm: per_head, or drop qk_norm_layout\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, qk_norm: per_head, qk_norm_kind: batchnorm}", "x.yaml:3:70: error: "
     "multihead_attention: 'qk_norm_kind' must be one of 'rmsnorm', 'layernorm', got 'batchnorm'\n"
     "  hint: valid words: rmsnorm, layernorm\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, layout: torch, softcap: 5.0}", "x.yaml:3:61: error: "
     "multihead_attention: layout: torch: nn.MultiheadAttention has no soft cap on the scores\n"
     "  hint: remove softcap, or use layout: llama (q_proj, k_proj, v_proj, o_proj apart)\n"),
    ("[4, 8]", "softcap: 0", "x.yaml:3:14: error: softcap: 'cap' must be in (0, ∞), got 0.0\n"
     "  hint: 'cap' is c, the bound: outputs lie in (−c, c)\n"),
    ("[4, 8]", "softcap", "x.yaml:3:5: error: softcap needs 'cap'\n"
     "  hint: cap: c, the bound: outputs lie in (−c, c) — e.g. - softcap: {cap: …}\n"),
])
def test_gemmas_arguments_refuse_bad_values_at_the_argument(run, write, shape, layer, message):
    assert errors(run, write, f"input: {shape}\nlayers:\n  - {layer}\n") == message


@pytest.mark.parametrize(("shape", "layer", "message"), [
    ("[4, 8]", "scale: 0", "x.yaml:3:12: error: scale: a factor of 0 makes every output 0\n"
     "  hint: a constant other than 0 (remove the layer for a factor of 1)\n"),
    ("[4, 8]", "scale: {factor: 1e999}", "x.yaml:3:21: error: scale: 'factor' must be a finite number, got inf\n"),
    ("[4, 8]", "scale: -1.0e300", "x.yaml:3:12: error: scale: a factor of -1e+300 is beyond float32's largest number: "
     "the model's float32 weights and outputs hold it as infinity\n  hint: a constant within ±3.4e38\n"),
    ("[4, 8]", "scale: {factor: x}", "x.yaml:3:21: error: undefined symbol 'x'\n"
     "  hint: declare it under 'symbols:' or as a block parameter\n"),
    ("[4, 8]", "scale", "x.yaml:3:5: error: scale needs 'factor'\n"
     "  hint: factor: the constant every element is multiplied by (not 0) — e.g. - scale: {factor: …}\n"),
])
def test_a_scale_refuses_a_factor_that_is_no_constant_at_it(run, write, shape, layer, message):
    assert errors(run, write, f"input: {shape}\nlayers:\n  - {layer}\n") == message


@pytest.mark.parametrize(("shape", "layer", "message"), [
    ("[4, 8]", "attention: {heads: 2, packing: heads, branches: [[linear: 8], [linear: 8], [linear: 8]]}",
     "x.yaml:3:36: error: attention: packing: heads orders the features of one fused input, but q, k and v come "
     "from three branches\n  hint: remove packing, or give q, k and v side by side in one input\n"),
    ("[4, 24]", "attention: {heads: 2, packing: head}", "x.yaml:3:36: error: attention: 'packing' must be one of "
     "'qkv', 'heads', got 'head'\n  hint: did you mean 'heads'?\n"),
    ("[4, 8]", "multihead_attention: {heads: 2, packing: heads}", "x.yaml:3:37: error: multihead_attention has no "
     "argument 'packing'\n"),
])
def test_attentions_packing_is_refused_where_it_orders_nothing(run, write, shape, layer, message):
    """GPT-NeoX's per-head packing reads one fused input: three branches, or a layer that projects q, k and v
    apart, have none to order."""
    assert errors(run, write, f"input: {shape}\nlayers:\n  - {layer}\n").startswith(message)


CLIPPED = "input: [4]\nlayers: [linear: 3]\ntrain:\n  optimizer: {sgd: {lr: 20}}\n"


@pytest.mark.parametrize(("line", "stderr"), [
    ("  clip_grad_norm: 0\n",
     "x.yaml:5:19: error: clip_grad_norm must be a positive finite number, got 0\n"
     "  hint: a bound on the gradients' total 2-norm, such as 0.25 (PyTorch's word_language_model) or 1.0\n"),
    ("  clip_grad_value: -1.0\n",
     "x.yaml:5:20: error: clip_grad_value must be a positive finite number, got -1.0\n"
     "  hint: a bound on each gradient element, such as 1.0 or 0.5\n"),
    ("  clip_grad_norm: 1e400\n",
     "x.yaml:5:19: error: clip_grad_norm must be a positive finite number, got 1e400\n"
     "  hint: a bound on the gradients' total 2-norm, such as 0.25 (PyTorch's word_language_model) or 1.0\n"),
    ("  clip_grad_norm: .nan\n",
     "x.yaml:5:19: error: clip_grad_norm must be a positive number, got '.nan'\n"
     "  hint: a bound on the gradients' total 2-norm, such as 0.25 (PyTorch's word_language_model) or 1.0\n"),
    ("  clip_grad_norm:\n",
     "x.yaml:5:18: error: clip_grad_norm must be a positive number, got nothing\n"
     "  hint: a bound on the gradients' total 2-norm, such as 0.25 (PyTorch's word_language_model) or 1.0\n"),
    ("  clip_grad_norm: 0.25\n  clip_grad_value: 1.0\n",
     "x.yaml:6:20: error: clip_grad_norm and clip_grad_value are both given, and the order of the two clippings "
     "changes the step\n"
     "  hint: keep one: clip_grad_norm bounds the size of the whole step and keeps its direction (the usual "
     "choice); clip_grad_value clamps each element\n"),
    ("  max_grad_norm: 1.0\n",
     "x.yaml:5:3: error: unknown key 'max_grad_norm' in 'train:'\n"
     "  hint: gradient clipping is written clip_grad_norm: ... (torch.nn.utils.clip_grad_norm_)\n"),
])
def test_a_bad_gradient_clipping_is_located_with_a_hint(run, write, line, stderr):
    assert errors(run, write, CLIPPED + line) == stderr


def test_an_embedding_after_other_layers_is_refused_at_it(run, write):
    """Only the input holds token ids: an embedding reading a linear layer's real numbers failed in the ONNX
    export (Gather on float indices: an internal error, found by the fuzz test) and in torch at run time."""
    spec = "input: [64]\nlayers:\n  - linear: 96\n  - embedding: {vocab: 100, dim: 32}\n  - linear: 2\n"
    assert errors(run, write, spec) == (
        "x.yaml:4:5: error: embedding: reads token ids, which only the model's input holds, but it comes after other "
        "layers, which give real numbers\n  hint: make it the first layer (input: [T] of token ids); for "
        "real-valued features, use linear: 32\n")


@pytest.mark.parametrize(("train", "stderr"), [
    ("{task: regression, loss: poisson}",
     "x.yaml:3:33: error: loss must be one of cross_entropy, nll, bce, bce_with_logits, mse, l1, huber, smooth_l1, "
     "kl_div, cosine, dice, hinge, squared_hinge, soft_margin, multi_margin, categorical_hinge, poisson_nll, log_cosh, "
     "got 'poisson'\n"
     "  hint: say which Poisson loss: {poisson_nll: {log_input: false, eps: 1.0e-7}} is Keras' poisson (the network "
     "outputs the rate λ > 0), poisson_nll alone torch's PoissonNLLLoss (it outputs log λ)\n"),
    ("{loss: {multi_margin: {p: 3}}}",
     "x.yaml:3:34: error: p must be 1 or 2, got 3\n"
     "  hint: p: 1 (torch's default) sums the shortfalls, p: 2 their squares; torch's MultiMarginLoss supports no "
     "other\n"),
    ("{task: regression, loss: {poisson_nll: {eps: 1.0e-7}}}",
     "x.yaml:3:53: error: eps is added to the rate before its log, which only log_input: false takes (with "
     "log_input: true the loss is exp(x) − t·x, with no log)\n"
     "  hint: add log_input: false (the network outputs the rate, as for Keras' poisson), or drop eps\n"),
])
def test_a_bad_loss_is_refused_where_it_is_written(run, write, train, stderr):
    assert errors(run, write, f"input: [4]\nlayers: [linear: 3]\ntrain: {train}\n") == stderr


@pytest.mark.parametrize(("default", "hint"), [
    ("false", "symbols are sizes (1 or more); a switch is an argument of the block that reads it, with a default "
              "(`up(c, bilinear = false):` under blocks:), and `if: bilinear` chooses the layers"),
    ("0", "symbols are sizes (1 or more); a switch is an argument of the block that reads it, with a default "
          "(`up(c, bilinear = 0):` under blocks:), and `if: bilinear` chooses the layers"),
    ("0.5", "symbols are sizes: a whole number of 1 or more (bilinear: 32), or null to give it with --set bilinear=N"),
])
def test_a_symbol_default_that_is_no_size_says_what_to_write(run, write, default, hint):
    """milesial's U-Net takes `bilinear=False`: a hand-written spec put it under symbols:."""
    result = run("params", str(write(f"input: [3, 8, 8]\nsymbols: {{bilinear: {default}}}\n"
                                     "layers: [conv2d: {out: 4, kernel: 1}]\n", "x.yaml")))
    assert result.exit_code == 2
    assert result.output.splitlines()[1] == f"  hint: {hint}"


def test_a_concat_one_row_apart_says_where_the_row_went():
    """milesial's U-Net at a height not divisible by 16: the decoder's upsampled map is a row short of the skip."""
    text = ("input: [4, 10, 10]\nlayers:\n  - concat:\n      - []\n"
            "      - [maxpool2d: 4, upsample: {scale: 4}, conv2d: {out: 4, kernel: 1}]\n")
    with pytest.raises(SpecError) as caught:
        archcalc.loads(text.replace("10, 10", "9, 9").replace("pool2d: 4", "pool2d: 2").replace("le: 4", "le: 2"))
    assert caught.value.message == "concat: branch 1 gives [4, 8, 8] but branch 0 gives [4, 9, 9]"
    assert caught.value.hint == ("branches are joined along channels, so every other dimension must agree; one row "
                                 "apart: a branch that pooled an odd size and upsampled it back lost one (25 → 12 → "
                                 "24): give the input sizes divisible by the total downsampling, or pad: the smaller "
                                 "branch (milesial's U-Net pads with F.pad)")
    with pytest.raises(SpecError) as caught:  # two rows apart: not that
        archcalc.loads(text)
    assert caught.value.hint == "branches are joined along channels, so every other dimension must agree"
