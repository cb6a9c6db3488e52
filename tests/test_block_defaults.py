"""Block parameter defaults mean what the same text means as a YAML value (``true``, ``null``, ``1e-3``)."""

from __future__ import annotations

import pytest

import archcalc

BLOCK = ("input: [3, 8, 8]\nblocks:\n  cbr(c, b = {default}): [conv2d: {{out: c, kernel: 3, bias: b}}]\n"
         "layers:\n  - cbr: 8\n")


@pytest.mark.parametrize("default, bias", [("true", True), ("false", False), ("True", True), ("FALSE", False)])
def test_a_boolean_default_is_a_boolean(default, bias):
    (node,) = archcalc.loads(BLOCK.format(default=default)).graph.layers()
    assert node.layer.config()["bias"] is bias
    assert node.layer.params(node.in_shape).trainable == 3 * 8 * 3 * 3 + (8 if bias else 0)


def test_a_boolean_given_at_the_call_is_a_boolean():
    """What already works, and what a default must match."""
    text = BLOCK.format(default="true").replace("  - cbr: 8\n", "  - cbr: {c: 8, b: false}\n")
    (node,) = archcalc.loads(text).graph.layers()
    assert node.layer.config()["bias"] is False


def test_a_list_given_to_a_parameter_is_a_per_axis_argument():
    """nnU-Net's strides per axis through a block: `stride: st` takes the list whole (symbols inside too, and
    passed on through an outer block); inside arithmetic it is a located error that says so."""
    text = ("input: [1, 8, 8, 8]\nsymbols: {k: 2}\nblocks:\n  b(st):\n    - conv3d: {out: 4, kernel: 3, stride: st, "
            "padding: 1}\n  outer(s):\n    - b: {st: [1, s, s]}\nlayers:\n  - outer: k\n  - b: {st: [1, 2, 1]}\n")
    model = archcalc.loads(text)
    layers = list(model.graph.layers())
    assert [n.out_shape for n in layers] == [(4, 8, 4, 4), (4, 8, 2, 4)]
    assert layers[0].layer.config()["stride"] == (1, 2, 2)
    with pytest.raises(archcalc.SpecError) as raised:
        archcalc.loads(text.replace("stride: st,", "stride: st + 1,"))
    assert (raised.value.loc.line, raised.value.message) == (5, "'st' is a list (1, 2, 2), not a number")


def test_a_list_as_a_repeat_count_says_it_is_a_list():
    text = "input: [4]\nblocks:\n  b(n): [{repeat: n, layers: [linear: 4]}]\nlayers:\n  - b: {n: [2, 3]}\n"
    with pytest.raises(archcalc.SpecError) as raised:
        archcalc.loads(text)
    assert raised.value.message == "repeat count must be a concrete integer ≥ 0, got the list [2, 3]"


def test_a_list_default_says_to_give_the_list_at_the_use():
    text = "input: [4]\nblocks:\n  b(st = [1, 2]): [linear: 4]\nlayers:\n  - b\n"
    with pytest.raises(archcalc.SpecError) as raised:
        archcalc.loads(text)
    assert (raised.value.loc.line, raised.value.loc.col) == (3, 10)
    assert raised.value.message == "block parameter 'st': a default is one value, not a list"
