"""The shipped U-Net and 1-D time-series CNN against hand-written PyTorch references: parameters, buffers,
every block's output shape, ``load_state_dict(strict=True)`` of the reference's weights, outputs in eval
mode, MACs against ``torch.utils.flop_counter``, and the formulas in a free T."""

from __future__ import annotations

from collections import OrderedDict

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archcalc
from archcalc.calc.flops import work
from archcalc.calc.rf import receptive_fields
from tests.conftest import SPECS


def double_conv(c_in: int, c: int) -> nn.Sequential:
    """milesial/Pytorch-UNet's DoubleConv."""
    return nn.Sequential(nn.Conv2d(c_in, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True),
                         nn.Conv2d(c, c, 3, padding=1, bias=False), nn.BatchNorm2d(c), nn.ReLU(inplace=True))


class Up(nn.Module):
    """milesial's Up (bilinear=False): a 2×2 up-convolution, the skip's map concatenated first, DoubleConv."""

    def __init__(self, c_in: int, c: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_in // 2, kernel_size=2, stride=2)
        self.conv = double_conv(c_in, c)

    def forward(self, x: torch.Tensor, skip: torch.Tensor) -> torch.Tensor:
        return self.conv(torch.cat([skip, self.up(x)], dim=1))


class UNet(nn.Module):
    """milesial's UNet(n_channels=3, n_classes=2, bilinear=False), its modules named as the spec names them."""

    def __init__(self):
        super().__init__()
        widths = [64, 128, 256, 512, 1024]
        self.down0 = double_conv(3, 64)
        for i in range(1, 5):
            self.add_module(f"down{i}", nn.Sequential(OrderedDict([("0", nn.MaxPool2d(2)),
                                                                   ("conv", double_conv(widths[i - 1], widths[i]))])))
        for i in range(1, 5):
            self.add_module(f"up{i}", Up(widths[5 - i], widths[4 - i]))
        self.outc = nn.Conv2d(64, 2, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = [self.down0(x)]
        for i in range(1, 5):
            skips.append(getattr(self, f"down{i}")(skips[-1]))
        x = skips.pop()
        for i in range(1, 5):
            x = getattr(self, f"up{i}")(x, skips.pop())
        return self.outc(x)


def shapes(module: nn.Module, names: list[str], x: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """The output shape (batch excluded) of each named submodule in one forward pass."""
    seen = {}
    hooks = [module.get_submodule(name).register_forward_hook(
        lambda m, args, out, name=name: seen.__setitem__(name, tuple(out.shape[1:]))) for name in names]
    with torch.no_grad():
        module(x)
    for hook in hooks:
        hook.remove()
    return seen


@pytest.fixture(scope="module")
def unet():
    return archcalc.load(str(SPECS / "unet.yaml"), H=32, W=32)


def test_unet_is_milesials_module(unet):
    torch.manual_seed(0)
    reference = UNet()
    for module in reference.modules():  # running statistics other than the initial ones, so eval mode tests them
        if isinstance(module, nn.BatchNorm2d):
            module.running_mean.uniform_(-0.5, 0.5)
            module.running_var.uniform_(0.5, 1.5)
    params = sum(p.numel() for p in reference.parameters())
    buffers = sum(b.numel() for b in reference.buffers())
    assert (unet.trainable_params, unet.buffers) == (params, buffers) == (31_037_698, 11_794)
    built = archcalc.to_torch(unet)
    built.load_state_dict(reference.state_dict(), strict=True)
    x = torch.randn(2, 3, 32, 32)
    names = [*(f"down{i}" for i in range(5)), *(f"up{i}" for i in range(1, 5)), "outc"]
    expected = {name: unet.graph.find(name).out_shape for name in names}
    assert shapes(reference, names, x) == shapes(built, names, x) == expected
    assert expected["down4"] == (1024, 2, 2) and expected["up1"] == (512, 4, 4)
    reference.eval()
    built.eval()
    with torch.no_grad():
        assert torch.allclose(built(x), reference(x), atol=1e-5)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        reference(x[:1])
    assert work(unet.graph)[unet.graph.root].macs == counter.get_total_flops() // 2


def test_unet_skips_align_and_its_field_returns_to_jump_one(unet):
    fields, warnings = receptive_fields(unet.graph)
    assert warnings == []
    up4, outc = fields[unet.graph.find("up4")], fields[unet.graph.find("outc")]
    assert (up4.size, up4.stride, up4.padding) == ((215, 215), (1, 1), (107, 107))
    assert outc.center == (0, 0)


def test_unet_needs_sizes_that_divide_by_16(run):
    result = run("shapes", SPECS / "unet.yaml", "--set", "H=40")
    assert result.exit_code == 2
    # H = 40: down3 is 40 / 8 = 5 high, up1 doubles down4's ⌊5/2⌋ = 2 to 4
    assert "unet.yaml:21:39: error: concat: branch 1 gives [512, 4, 32] but branch 0 gives [512, 5, 32]" \
        in result.stderr and "(up1)" in result.stderr


class TimeSeriesCNN(nn.Module):
    """The 1-D CNN as one writes it in PyTorch; module names as the spec's paths."""

    def __init__(self):
        super().__init__()

        def block(c_in: int, c: int, k: int) -> nn.Sequential:
            return nn.Sequential(nn.Conv1d(c_in, c, k, padding=k // 2, bias=False), nn.BatchNorm1d(c), nn.ReLU())

        self.add_module("0", block(9, 64, 7))
        self.add_module("1", nn.MaxPool1d(2))
        self.add_module("2", block(64, 128, 5))
        self.add_module("3", nn.MaxPool1d(2))
        self.add_module("4", block(128, 128, 3))
        self.add_module("7", nn.Linear(128, 6))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for name in "01234":
            x = self.get_submodule(name)(x)
        return self.get_submodule("7")(x.mean(2))


@pytest.mark.parametrize("T", [128, 37])
def test_the_time_series_cnn_is_its_pytorch_module(T):
    model = archcalc.load(str(SPECS / "cnn1d-timeseries.yaml"), T=T)
    torch.manual_seed(1)
    reference = TimeSeriesCNN()
    assert model.trainable_params == sum(p.numel() for p in reference.parameters()) == 95_558
    assert model.buffers == sum(b.numel() for b in reference.buffers()) == 643
    built = archcalc.to_torch(model)
    built.load_state_dict(reference.state_dict(), strict=True)
    built.eval()
    reference.eval()
    x = torch.randn(3, 9, T)
    names = ["0", "1", "2", "3", "4"]
    assert shapes(built, names, x) == shapes(reference, names, x) == \
        {name: model.graph.find(name).out_shape for name in names}
    with torch.no_grad():
        assert torch.allclose(built(x), reference(x), atol=1e-5)
    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        reference(x[:1])
    assert work(model.graph)[model.graph.root].macs == counter.get_total_flops() // 2


def test_the_time_series_cnn_with_t_free_is_formulas_in_t():
    model = archcalc.load(str(SPECS / "cnn1d-timeseries.yaml"), symbolic_dims=True)
    assert model.graph.free == ["T"] and model.trainable_params == 95_558 and model.output_shape == (6,)
    assert [str(d) for d in model.graph.find("4").out_shape] == ["128", "floor(T/4)"]
    macs = work(model.graph)[model.graph.root].macs
    assert str(macs) == "4032*T + 49152*floor(T/4) + 40960*floor(T/2) + 768"
    (t,) = macs.free_symbols
    assert macs.subs(t, 37) == 4032 * 37 + 49152 * 9 + 40960 * 18 + 768


@pytest.mark.parametrize("depth", [1, 2, None])
def test_the_diagram_draws_the_four_skips_folded_or_not(depth):
    """Each skip is a dashed edge from the encoder's output into its decoder step, also when that step is
    folded into one box (``--depth 1``)."""
    from tests.test_upsampling import skip_edges

    skips = skip_edges(archcalc.load(str(SPECS / "unet.yaml")), depth)
    assert len(skips) == 4
    if depth == 1:
        assert skips == [(f"down{3 - i} · {'double_conv' if i == 3 else 'down'}", f"up{i + 1} · up") for i in range(4)]
