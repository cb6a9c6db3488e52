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
