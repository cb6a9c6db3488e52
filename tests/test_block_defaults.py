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
