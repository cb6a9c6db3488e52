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
