"""specs/tcn.yaml against Bai, Kolter and Koltun's own TCN layout (locuslab/TCN's TemporalBlock: a convolution
padded (k − 1)·d on both sides, Chomp1d cutting the last (k − 1)·d steps, ReLU, dropout, twice; a 1×1 downsample
when the channels change; ReLU after the sum), written here in torch: the spec's `pad: [(k − 1)·d, 0]` before
an unpadded convolution is the same function, so with the same weights the outputs agree; and the last step
reads all of the 784 before it."""

from __future__ import annotations

import json

import torch
from torch import nn

import archcalc
from tests.conftest import SPECS

SPEC = SPECS / "tcn.yaml"


class Chomp1d(nn.Module):
    def __init__(self, size: int):
        super().__init__()
        self.size = size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, :, :-self.size]


class TemporalBlock(nn.Module):
    def __init__(self, n_in: int, n_out: int, k: int, d: int):
        super().__init__()
        pad = (k - 1) * d
        self.net = nn.Sequential(nn.Conv1d(n_in, n_out, k, padding=pad, dilation=d), Chomp1d(pad), nn.ReLU(),
                                 nn.Dropout(0.05), nn.Conv1d(n_out, n_out, k, padding=pad, dilation=d), Chomp1d(pad),
                                 nn.ReLU(), nn.Dropout(0.05))
        self.downsample = nn.Conv1d(n_in, n_out, 1) if n_in != n_out else None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.net(x) + (x if self.downsample is None else self.downsample(x)))


class TCN(nn.Module):
    def __init__(self):
        super().__init__()
        self.blocks = nn.Sequential(*(TemporalBlock(1 if i == 0 else 25, 25, 7, 2 ** i) for i in range(8)))
        self.linear = nn.Linear(25, 10)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.blocks(x)[:, :, -1])


def test_the_shipped_tcn_is_bai_et_als_network():
    torch.manual_seed(0)
    real, ours = TCN().eval(), archcalc.to_torch(str(SPEC), T=100).eval()
    # the same tensors in the same order (the block's convolutions, then its downsample, as the spec lists them)
    theirs = [p for _, p in real.named_parameters()]
    mine = list(ours.parameters())
    assert [tuple(p.shape) for p in mine] == [tuple(p.shape) for p in theirs]
    assert sum(p.numel() for p in theirs) == archcalc.load(str(SPEC)).trainable_params == 66_510
    with torch.no_grad():
        for a, b in zip(mine, theirs):
            a.copy_(b)
        x = torch.randn(3, 1, 100)
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)


def test_the_shipped_tcn_sees_its_whole_past(run):
    data = json.loads(run("rf", SPEC, "--format", "json").stdout)
    # 1 + 2 convolutions × (7 − 1) × (1 + 2 + … + 128) = 3061 ≥ 784: the last step reads every pixel
    assert (data["size"], data["padding"], data["warnings"]) == ([3061], [3060], [])
