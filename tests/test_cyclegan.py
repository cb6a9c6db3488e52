"""CycleGAN's ResNet block (Zhu et al. 2017; junyanz/pytorch-CycleGAN-and-pix2pix, networks.py ResnetBlock with
padding_type='reflect' and instance norm) written by hand in torch, against the spec written two ways: a
`pad` with mode reflect before each unpadded convolution (the repository's layout), and the convolutions'
own `padding_mode: reflect` (the same function). Parameters, every shape, and with the same weights the
outputs of archcalc.to_torch and of the NumPy model agree."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import archcalc
from archcalc.backends.numpy import to_numpy

PADS = """\
name: cyclegan-resnet-blocks
input: [16, 12, 10]
blocks:
  resnet_block(dim):
    - residual:
        - pad: {padding: [1, 1, 1, 1], mode: reflect}
        - conv2d: {out: dim, kernel: 3}
        - instancenorm2d
        - relu
        - pad: {padding: [1, 1, 1, 1], mode: reflect}
        - conv2d: {out: dim, kernel: 3}
        - instancenorm2d
layers:
  - resnet_block: 16
  - resnet_block: 16
"""
#: the same block with the padding inside the convolutions
PADDING_MODE = PADS.replace("        - pad: {padding: [1, 1, 1, 1], mode: reflect}\n", "").replace(
    "conv2d: {out: dim, kernel: 3}", "conv2d: {out: dim, kernel: 3, padding: 1, padding_mode: reflect}")


class ResnetBlock(nn.Module):
    """The repository's block: conv_block = [ReflectionPad2d(1), Conv2d(dim, dim, 3, bias=True), InstanceNorm2d,
    ReLU, ReflectionPad2d(1), Conv2d, InstanceNorm2d]; out = x + conv_block(x) (use_bias is True with instance
    norm, and InstanceNorm2d is torch's default: no affine, no running statistics)."""

    def __init__(self, dim: int):
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True), nn.InstanceNorm2d(dim),
            nn.ReLU(True), nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, kernel_size=3, padding=0, bias=True),
            nn.InstanceNorm2d(dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


@pytest.mark.parametrize("text", [PADS, PADDING_MODE], ids=["pad-layers", "padding-mode"])
def test_a_cyclegan_resnet_block_is_the_repositorys(text):
    torch.manual_seed(0)
    real = nn.Sequential(ResnetBlock(16), ResnetBlock(16)).eval()
    spec = archcalc.loads(text)
    theirs = list(real.parameters())
    assert spec.trainable_params == sum(p.numel() for p in theirs) == 2 * 2 * (16 * 16 * 9 + 16) == 9_280
    assert spec.buffers == 0
    # every layer keeps [16, 12, 10] but the pads, which add a row and a column on each side
    shapes = {n.kind: set() for n in spec.layers}
    for n in spec.layers:
        shapes[n.kind].add(n.out_shape)
    assert shapes.pop("pad", {(16, 14, 12)}) == {(16, 14, 12)}
    assert set().union(*shapes.values()) == {(16, 12, 10)}
    ours = archcalc.to_torch(spec).eval()
    mine = list(ours.parameters())
    assert [tuple(p.shape) for p in mine] == [tuple(p.shape) for p in theirs]
    x = torch.randn(3, 16, 12, 10)
    with torch.no_grad():
        for a, b in zip(mine, theirs):
            a.copy_(b)
        expected = real(x)
        torch.testing.assert_close(ours(x), expected, atol=1e-5, rtol=1e-5)
    numpy_model = to_numpy(spec, dtype="float64")
    numpy_model.load_state_dict({k: v.double().numpy() for k, v in ours.state_dict().items()})
    numpy_model.eval()
    np.testing.assert_allclose(numpy_model(x.double().numpy()), real.double()(x.double()).detach().numpy(),
                               atol=1e-9, rtol=1e-9)
