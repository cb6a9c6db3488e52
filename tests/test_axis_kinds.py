"""Issue 11's simple kinds beyond the per-kind record (tests/kinds.py): symbolic shapes, receptive
fields through axis moves, training-mode behaviour, the lint traits, and every bad argument as a
located error (``path:line:col``, exit 2, a hint)."""

from __future__ import annotations

import pytest
import torch

import archcalc
from archcalc.backends.torch import to_torch
from archcalc.calc.rf import GLOBAL, receptive_fields
from archcalc.errors import SpecError

VIT = """\
input: [3, 32, 32]
layers:
  - conv2d: {out: 16, kernel: 8, stride: 8, name: conv_proj}
  - flatten: {start: 1}
  - transpose
  - class_token: {name: class_token}
  - linear: 16
  - layer_scale: {axis: -1, value: 0.1}
  - stochastic_depth: 0.1
  - select
  - linear: 10
"""


def fields(text: str, **values) -> dict[str, object]:
    model = archcalc.loads(text, **values)
    found, _ = receptive_fields(model.graph)
    return {node.path: found[node] for node in model.layers}


def test_a_vit_stem_counts_shapes_and_loads_torchvision_keys():
    model = archcalc.loads(VIT)
    shapes = {node.path: node.out_shape for node in model.layers}
    assert shapes["1"] == (16, 16) and shapes["2"] == (16, 16) and shapes["class_token"] == (17, 16)
    assert shapes["7"] == (16,) and model.output_shape == (10,)
    # conv 3·64·16+16, token 16, linear 16·16+16, γ 16, head 16·10+10
    assert model.trainable_params == 3088 + 16 + 272 + 16 + 170
    module = to_torch(model)
    state = module.state_dict()
    assert tuple(state["class_token"].shape) == (1, 1, 16) and tuple(state["5"].shape) == (16,)
    assert sum(p.numel() for p in module.parameters()) == model.trainable_params


def test_symbolic_sequence_length_stays_a_formula():
    model = archcalc.loads("input: [T, 768]\nlayers:\n  - reshape: [T, 12, -1]\n  - permute: [1, 0, 2]\n"
                           "  - flatten: {start: 1}\n  - transpose\n  - class_token\n  - mean: 0\n")
    shapes = [tuple(str(d) for d in node.out_shape) for node in model.layers]
    assert shapes == [("T", "12", "64"), ("12", "T", "64"), ("12", "64*T"), ("64*T", "12"), ("64*T + 1", "12"),
                      ("12",)]
    assert model.trainable_params == 12
    groups = archcalc.loads("input: [C, T]\nlayers:\n  - groupnorm: {groups: 4, channels: C}\n")
    assert str(groups.trainable_params) == "2*C"


def test_receptive_fields_follow_moved_axes_and_mix_averaged_ones():
    rf = fields(VIT)
    assert rf["conv_proj"].size == (8, 8)
    assert rf["2"].size == (8, 8) and rf["4"].size == (8, 8)  # a per-token linear keeps the patch's field
    assert rf["7"].size == (8, 8)  # the chosen token's field
    mean = fields("input: [3, 16, 16]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - mean: [1, 2]\n")
    assert mean["1"].status == GLOBAL
    kept = fields("input: [3, 16, 16]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - mean: {axes: 1, keepdim: true}\n")
    assert kept["1"].status == GLOBAL
    moved = fields("input: [3, 16, 12]\nlayers:\n  - conv2d: {out: 4, kernel: [3, 5]}\n  - permute: [0, 2, 1]\n"
                   "  - conv2d: {out: 4, kernel: 3}\n  - reshape: [4, 6, 2, 6]\n")
    assert moved["0"].size == (3, 5)  # (H, W)
    assert moved["2"].size == (5, 7)  # the second window slid along W first, then H: both grow by 2
    assert moved["3"].size == (5, 7)  # the last axis (H, 12) split into [2, 6]: its field rides along
    norm = fields("input: [3, 16, 16]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - groupnorm: 2\n")
    assert norm["1"].status == GLOBAL  # each example's own statistics over all positions


def test_reshape_groups_axes_by_their_products():
    from archcalc.layers.reshape import _groups

    assert _groups((4, 6), (2, 2, 6)) == [([0], [0, 1]), ([1], [2])]
    assert _groups((2, 3, 4), (6, 4)) == [([0, 1], [0]), ([2], [1])]
    assert _groups((1, 4), (4,)) == [([0, 1], [0])]
    assert _groups((4,), (4, 1, 1)) == [([0], [0, 1, 2])]
    assert _groups((6, 4), (4, 6)) == [([0, 1], [0, 1])]


def test_stochastic_depth_drops_whole_rows_or_the_batch_in_training():
    row = to_torch(archcalc.loads("input: [6]\nlayers: [stochastic_depth: 0.5]\n")).train()
    torch.manual_seed(0)
    y = row(torch.ones(400, 6))
    assert set(y.unique().tolist()) == {0.0, 2.0}  # dropped, or scaled by 1/(1 − p)
    assert all(len(set(r.tolist())) == 1 for r in y)  # a whole example at once
    assert 150 < int((y[:, 0] == 0).sum()) < 250
    batch = to_torch(archcalc.loads("input: [6]\nlayers: [stochastic_depth: {p: 0.5, mode: batch}]\n")).train()
    outs = {tuple(batch(torch.ones(5, 6)).unique().tolist()) for _ in range(40)}
    assert outs == {(0.0,), (2.0,)}
    x = torch.randn(3, 6)
    assert torch.equal(row.eval()(x), x)


def test_traits_keep_the_lint_rules_on_behaviour():
    from archcalc.layers import LAYERS
    from archcalc.layers.traits import Trait

    assert Trait.DROPOUT in LAYERS["stochastic_depth"].TRAITS
    assert Trait.NORMALIZES in LAYERS["groupnorm"].TRAITS and Trait.LINEAR not in LAYERS["groupnorm"].TRAITS
    assert Trait.SATURATES in LAYERS["hardsigmoid"].TRAITS and pytest.approx(1 / 6) == LAYERS["hardsigmoid"].MAX_SLOPE
    assert Trait.POOLS in LAYERS["mean"].TRAITS


def test_a_hardsigmoid_stack_is_reported_with_its_bound(run, write):
    spec = write("input: [8]\nlayers:\n" + "  - linear: 8\n  - hardsigmoid\n" * 5 + "  - linear: 2\n")
    out = run("lint", spec).stdout
    assert "A102" in out and "hardsigmoid' ≤ 0.17, so by at most 0.17^5" in out


def test_linear_collapse_sees_through_axis_moves(run, write):
    """Two linear layers with only a transpose between them still compose to one linear map (the
    transpose is Trait.LINEAR); an activation between them (silu) ends the report."""
    plain = write("input: [4, 6]\nlayers:\n  - linear: 6\n  - transpose\n  - linear: 3\n  - relu\n", "plain.yaml")
    gated = write("input: [4, 6]\nlayers:\n  - linear: 6\n  - silu\n  - transpose\n  - linear: 3\n  - relu\n",
                  "gated.yaml")
    assert "A101 [linear-collapse] `0` (linear) feeds `2` (linear)" in run("lint", plain).stdout
    assert "A101" not in run("lint", gated).stdout


# (case id, spec text, (line, col), message fragment)
ERRORS = [
    ("groupnorm-divides", "input: [6, 4, 4]\nlayers:\n  - groupnorm: 4\n", (3, 16),
     "groupnorm: groups=4 does not divide the 6 channels"),
    ("groupnorm-channels", "input: [6, 4, 4]\nlayers:\n  - groupnorm: {groups: 2, channels: 8}\n", (3, 38),
     "'channels' says 8 but the input has 6"),
    ("reshape-count", "input: [4, 6]\nlayers:\n  - reshape: [7, 7]\n", (3, 14), "(24 elements) to [7, 7] (49"),
    ("reshape-infer", "input: [4, 6]\nlayers:\n  - reshape: [5, -1]\n", (3, 14), "24 is not a multiple of 5"),
    ("reshape-two-inferred", "input: [4, 6]\nlayers:\n  - reshape: [-1, -1]\n", (3, 14), "only one size can be -1"),
    ("reshape-zero", "input: [4, 6]\nlayers:\n  - reshape: [0, 24]\n", (3, 14), "'shape' must be a list of sizes"),
    ("reshape-symbolic", "input: [T, D]\nlayers:\n  - reshape: [T, 12, -1]\n", (3, 14),
     "D*T is not always a multiple of 12*T"),
    ("flatten-order", "input: [2, 3, 4]\nlayers:\n  - flatten: {start: 2, end: 1}\n", (3, 30),
     "end axis 1 comes before start axis 2"),
    ("flatten-axis", "input: [2, 3]\nlayers:\n  - flatten: {start: 2}\n", (3, 22), "axis 2 is outside"),
    ("permute-repeat", "input: [2, 3]\nlayers:\n  - permute: [0, -2]\n", (3, 14), "names axis 0 of [2, 3] twice"),
    ("permute-short", "input: [2, 3, 4]\nlayers:\n  - permute: [1, 0]\n", (3, 14), "names 2 of the 3 axes"),
    ("permute-size-not-axis", "input: [2, 3]\nlayers:\n  - permute: [1.5, 0]\n", (3, 14), "must be an axis"),
    ("transpose-axis", "input: [2, 3]\nlayers:\n  - transpose: {dim1: -3}\n", (3, 23), "axis -3 is outside"),
    ("select-index", "input: [4, 6]\nlayers:\n  - select: {index: -5}\n", (3, 21), "index -5 is outside axis 0"),
    ("select-vector", "input: [4]\nlayers:\n  - select\n", (3, 5), "would leave no axis"),
    ("mean-everything", "input: [4, 6]\nlayers:\n  - mean: [0, 1]\n", (3, 11), "averages every axis"),
    ("mean-axis", "input: [4, 6]\nlayers:\n  - mean: {axes: [0, 5]}\n", (3, 18), "axis 5 is outside"),
    ("class-token-rank", "input: [3, 8, 8]\nlayers:\n  - class_token\n", (3, 5), "needs a [T, D] sequence"),
    ("layer-scale-axis", "input: [4, 6]\nlayers:\n  - layer_scale: {axis: 2}\n", (3, 25), "axis 2 is outside"),
    ("stochastic-depth-mode", "input: [4]\nlayers:\n  - stochastic_depth: {p: 0.1, mode: rows}\n", (3, 38),
     "did you mean 'row'"),
    ("prelu-init-type", "input: [4]\nlayers:\n  - prelu: {init: big}\n", (3, 19), "undefined symbol 'big'"),
    ("softplus-beta", "input: [4]\nlayers:\n  - softplus: {beta: 0}\n", (3, 22), "'beta' must be"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_arguments_have_a_hint(case):
    """tests/test_errors.py runs these through the CLI (location, exit 2); here: each names its fix."""
    _, text, (line, col), fragment = case
    with pytest.raises(SpecError) as raised:
        archcalc.loads(text)
    assert (raised.value.loc.line, raised.value.loc.col) == (line, col)
    assert fragment in str(raised.value) and raised.value.hint
