"""Resnet50 in PyTorch, written by ``archcalc export --to torch``.

The spec ``resnet50``: input [N, 3, 224, 224] -> output [N, 1000]; 25,557,032 trainable
parameters and 53,173 buffer values, as ``archcalc params`` counts them. Module names
are the spec's paths (``layer1.0.conv1``), as in ``archcalc.to_torch``, so both have the
same state_dict keys. Needs only torch.
"""

import torch
from torch import nn

INPUT_SHAPE = (3, 224, 224)


class BottleneckProjection(nn.ModuleDict):
    """Block ``bottleneck``: relu(body(x) + shortcut(x)) (shortcut: auto)."""

    def __init__(
        self,
        in_channels: int,
        c: int,
        stride: int,
        conv3_out_channels: int,
    ) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self["2"] = nn.ReLU()
        self.conv2 = nn.Conv2d(
            c, c, kernel_size=3, stride=stride, padding=1, bias=False
        )
        self.bn2 = nn.BatchNorm2d(c)
        self["5"] = nn.ReLU()
        self.conv3 = nn.Conv2d(c, conv3_out_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(conv3_out_channels)
        self.downsample = nn.Sequential(
            nn.Conv2d(
                in_channels,
                conv3_out_channels,
                kernel_size=1,
                stride=stride,
                bias=False,
            ),
            nn.BatchNorm2d(conv3_out_channels),
        )
        self["9"] = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        y = self.bn1(y)
        y = self["2"](y)
        y = self.conv2(y)
        y = self.bn2(y)
        y = self["5"](y)
        y = self.conv3(y)
        y = self.bn3(y)
        y = y + self.downsample(x)
        return self["9"](y)


class BottleneckIdentity(nn.ModuleDict):
    """Block ``bottleneck``: relu(body(x) + x)."""

    def __init__(self, in_channels: int, c: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, c, kernel_size=1, bias=False)
        self.bn1 = nn.BatchNorm2d(c)
        self["2"] = nn.ReLU()
        self.conv2 = nn.Conv2d(c, c, kernel_size=3, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(c)
        self["5"] = nn.ReLU()
        self.conv3 = nn.Conv2d(c, in_channels, kernel_size=1, bias=False)
        self.bn3 = nn.BatchNorm2d(in_channels)
        self["8"] = nn.ReLU()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv1(x)
        y = self.bn1(y)
        y = self["2"](y)
        y = self.conv2(y)
        y = self.bn2(y)
        y = self["5"](y)
        y = self.conv3(y)
        y = self.bn3(y)
        y = y + x
        return self["8"](y)


class Resnet50(nn.ModuleDict):
    """The network ``resnet50``, layer by layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(3, 64, kernel_size=7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self["2"] = nn.ReLU()
        self.maxpool = nn.MaxPool2d(kernel_size=3, stride=2, padding=1)
        self.layer1 = nn.Sequential(
            BottleneckProjection(
                in_channels=64, c=64, stride=1, conv3_out_channels=256
            ),
            BottleneckIdentity(in_channels=256, c=64),
            BottleneckIdentity(in_channels=256, c=64),
        )
        self.layer2 = nn.Sequential(
            BottleneckProjection(
                in_channels=256, c=128, stride=2, conv3_out_channels=512
            ),
            BottleneckIdentity(in_channels=512, c=128),
            BottleneckIdentity(in_channels=512, c=128),
            BottleneckIdentity(in_channels=512, c=128),
        )
        self.layer3 = nn.Sequential(
            BottleneckProjection(
                in_channels=512, c=256, stride=2, conv3_out_channels=1024
            ),
            BottleneckIdentity(in_channels=1024, c=256),
            BottleneckIdentity(in_channels=1024, c=256),
            BottleneckIdentity(in_channels=1024, c=256),
            BottleneckIdentity(in_channels=1024, c=256),
            BottleneckIdentity(in_channels=1024, c=256),
        )
        self.layer4 = nn.Sequential(
            BottleneckProjection(
                in_channels=1024, c=512, stride=2, conv3_out_channels=2048
            ),
            BottleneckIdentity(in_channels=2048, c=512),
            BottleneckIdentity(in_channels=2048, c=512),
        )
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self["9"] = nn.Flatten()
        self.fc = nn.Linear(2048, 1000)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.bn1(x)
        x = self["2"](x)
        x = self.maxpool(x)
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        x = self.layer4(x)
        x = self.avgpool(x)
        x = self["9"](x)
        return self.fc(x)


def build_model() -> Resnet50:
    """A new Resnet50, initialised as PyTorch initialises each layer."""
    return Resnet50()
