"""Rules on layer properties (N) on exact cases."""

from __future__ import annotations

import pytest

from archcalc.lint import lint
from archcalc.lint.registry import RULES


@pytest.mark.parametrize(("text", "message"), [
    ("input: [50, 20]\nlayers: [lstm: {hidden: 64, num_layers: 2, dropout: 0.8, output: hidden}, linear: 4]\n",
     "`0` (lstm) has dropout 0.8: only 20% of what each of its stacked layers passes to the next survives, each "
     "value scaled by 1/(1−p) = 5"),
    ("input: [16, 96]\nlayers: [attention: {heads: 4, dropout: 0.9}, linear: 4]\n",
     "`0` (attention) has dropout 0.9: only 10% of its attention weights survive, each value scaled by "
     "1/(1−p) = 10"),
])
def test_high_dropout_reads_a_layers_own_dropout(text, message):
    assert [d.message for d in lint(text, "x.yaml", ["N102"]).diagnostics] == [message]
    assert lint(text.replace("0.8", "0.3").replace("0.9", "0.1"), "x.yaml", ["N102"]).diagnostics == []


def test_high_dropout_leaves_a_one_layer_recurrent_dropout_to_n109():
    text = "input: [50, 20]\nlayers: [lstm: {hidden: 32, dropout: 0.8, output: last}, linear: 4]\n"
    assert lint(text, "x.yaml", ["N102"]).diagnostics == []


def test_high_dropout_reads_a_free_number_of_layers():
    text = "input: [50, 20]\nsymbols: [L]\nlayers: [lstm: {hidden: 32, num_layers: L, dropout: 0.8}]\n"
    assert [d.code for d in lint(text, "x.yaml", ["N102"]).diagnostics] == ["N102"]


#: Bai, Kolter & Koltun 2018's temporal convolutional network: causal (left-padded) dilated convolutions
CAUSAL_TCN = """\
name: causal-tcn
input: [1, T]               # one channel, T steps
symbols: {T: 256}
blocks:
  temporal(d):              # Bai et al. 2018: two causal dilated convolutions and a residual
    - residual:
        body:
          - pad: [2 * d, 0]                                   # (k − 1)·d on the past only
          - conv1d: {out: 32, kernel: 3, dilation: d}
          - relu
          - pad: [2 * d, 0]
          - conv1d: {out: 32, kernel: 3, dilation: d}
          - relu
        then: [relu]
layers:
  - conv1d: {out: 32, kernel: 1}
  - temporal: 1
  - temporal: 2
  - temporal: 4
  - temporal: 8
  - conv1d: {out: 1, kernel: 1}
"""


#: Gulati et al. 2020's Conformer convolution module, torchaudio's layout (no bias before the batch norm)
CONFORMER_CONV = """\
name: conformer-conv-module
input: [T, 144]            # a sequence of T frames of 144 features
symbols: {T: 100}
layers:
  - residual:
      - layernorm
      - linear: 288             # pointwise conv as a linear: 2·D for the gate
      - glu                     # [T, 144]
      - transpose               # [144, T]
      - conv1d: {out: 144, kernel: 31, padding: 15, groups: 144, bias: false}   # depthwise
      - batchnorm1d
      - silu
      - transpose               # [T, 144]
      - linear: 144
      - dropout: 0.1
"""


@pytest.mark.parametrize("text", [CAUSAL_TCN, CONFORMER_CONV], ids=["causal-tcn", "conformer-conv"])
def test_pad_and_glu_in_published_designs_raise_nothing(text):
    """``pad`` before an unpadded convolution and ``glu`` as the gate are what these designs are: no rule may
    read the pad as a break between a layer and its activation, nor the gate as a missing one."""
    assert lint(text, "x.yaml", list(RULES)).diagnostics == []


@pytest.mark.parametrize(("layers", "found"), [
    ("lstm: {hidden: 32, num_layers: 2, dropout: 0.65}\n  - dropout: 0.65", False),  # Zaremba et al.'s large LSTM
    ("lstm: 32\n  - dropout: 0.6", False),  # graph attention networks' rate
    ("lstm: 32\n  - dropout: 0.7", True),  # a keep probability written as p
])
def test_high_dropout_leaves_published_recipes_alone(layers, found):
    text = f"input: [50, 20]\nlayers:\n  - {layers}\n"
    assert [d.code for d in lint(text, "x.yaml", ["N102"]).diagnostics] == (["N102"] if found else [])
