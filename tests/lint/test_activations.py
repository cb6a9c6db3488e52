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
    ((64, 64, 64), True),
])
def test_linear_collapse_spares_a_narrow_middle_only(widths, reported):
    d_in, d_mid, d_out = widths
    text = f"input: [{d_in}]\nlayers: [linear: {d_mid}, linear: {d_out}]\n"
    assert bool(messages(text, "A101")) == reported


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
