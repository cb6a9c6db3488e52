"""Resnet50 in PyTorch, written by ``archcalc export --to torch``.

The spec ``resnet50``: input [N, 3, 224, 224] -> output [N, 1000]; 25,557,032 trainable
parameters and 53,173 buffer values, as ``archcalc params`` counts them. Module names
are the spec's paths (``layer1.0.conv1``), as in ``archcalc.to_torch``, so both have the
same state_dict keys. Needs only torch (and NumPy to train on an .npz file: python
FILE.py DATA.npz, or torchrun --nproc-per-node=N FILE.py DATA.npz; see train()).
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


# -- training: python FILE.py DATA.npz, or torchrun --nproc-per-node=N FILE.py DATA.npz

#: the spec's train: section
TRAINING = {
    "epochs": 90,
    "batch_size": 256,
    "seed": 0,
    "l1": 0.0,
}


def build_loss() -> nn.Module:
    """The spec's loss (cross_entropy), averaged over the batch."""
    return nn.CrossEntropyLoss()


def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:
    """The spec's optimizer (sgd) over every parameter."""
    return torch.optim.SGD(
        model.parameters(),
        lr=0.1,
        momentum=0.9,
        dampening=0.0,
        nesterov=False,
        weight_decay=0.0001,
    )


def targets(y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """The targets ``y`` as the loss compares them with the output ``out``."""
    return y.long()


@torch.no_grad()
def correct(scores: torch.Tensor, y: torch.Tensor) -> float:
    """How many samples the batch ``scores`` (what the loss reads) classify right: by
    the largest score, or for a single output whether it exceeds 0.0; with a
    class per position, each sample counts the share of its positions that are right."""
    if scores.ndim > 2 and scores.ndim == y.ndim + 1:
        return (scores.argmax(1) == y.long()).flatten(1).double().mean(1).sum().item()
    if scores.ndim > 1 and scores.shape[1] > 1:
        predicted = scores.argmax(1)
    else:
        predicted = (scores.reshape(len(scores)) > 0.0).long()
    truth = y.argmax(1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y))
    return (predicted == truth.long()).sum().item()


def train(
    x: torch.Tensor,
    y: torch.Tensor,
    epochs: int = TRAINING["epochs"],
    batch_size: int = TRAINING["batch_size"],
    seed: int = TRAINING["seed"],
    output: str | None = None,
) -> nn.Module:
    """A new model trained on ``(x, y)`` with the spec's loss and optimizer.

    Under torchrun every process runs this: they join one process group (NCCL on GPUs,
    gloo on the CPU), each trains on its share of the samples (DistributedSampler) in
    DistributedDataParallel, which averages the gradients, so ``batch_size`` is the
    global batch. Rank 0 prints the loss and accuracy after each epoch, averaged
    over all processes, and saves the trained state_dict to ``output`` (``torch.save``).
    """
    distributed = torch.distributed
    launched = distributed.is_torchelastic_launched()  # by torchrun
    if torch.cuda.is_available():
        device = torch.device("cuda", distributed.get_node_local_rank(fallback_rank=0))
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if launched:
        distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    world = distributed.get_world_size() if launched else 1
    first = not launched or distributed.get_rank() == 0  # prints and saves
    if batch_size % world:
        raise ValueError(f"{world} processes cannot share batches of {batch_size}")
    torch.manual_seed(seed)  # the same initial weights in every process
    model = build_model().to(device)
    net = model
    if world > 1:
        ids = [device.index] if device.type == "cuda" else None
        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)
    data = torch.utils.data.TensorDataset(x, y)
    sampler = None
    if world > 1:
        sampler = torch.utils.data.distributed.DistributedSampler(data, seed=seed)
    loader = torch.utils.data.DataLoader(
        data,
        batch_size // world,
        shuffle=sampler is None,
        sampler=sampler,
        generator=torch.Generator().manual_seed(seed),
    )
    loss_fn, optimizer = build_loss(), build_optimizer(model)
    for epoch in range(epochs):
        if sampler is not None:
            sampler.set_epoch(epoch)  # a new shuffle, the same in every process
        total = torch.zeros(3, dtype=torch.float64, device=device)
        for xb, yb in loader:
            xb, yb = xb.to(device), yb.to(device)
            out = net(xb)
            loss = loss_fn(out, targets(yb, out))
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            step = [loss.item() * len(xb), len(xb), correct(out, yb)]
            total += torch.tensor(step, device=device)
        if world > 1:
            distributed.all_reduce(total)
        if first:
            print(
                f"epoch {epoch + 1}/{epochs}: loss {total[0] / total[1]:.6f},"
                f" accuracy {total[2] / total[1]:.4f}"
            )
    if first and output:
        torch.save(model.state_dict(), output)
    if launched:
        distributed.destroy_process_group()
    return model


def check_data(x, y) -> None:
    """Refuse, before training, data it cannot train on: a ValueError that names the
    array and the value (archcalc train checks the same)."""
    import numpy as np

    for name, a in (("x", x), ("y", y)):
        if a.dtype.kind not in "biuf":
            raise ValueError(f"{name} must hold numbers, not {a.dtype}")
        if a.ndim == 0 or len(a) == 0:
            raise ValueError(f"{name} holds no samples")
        if a.dtype.kind == "f" and not np.isfinite(a).all():
            row = int(np.argmax(~np.isfinite(a.reshape(len(a), -1)).all(1)))
            raise ValueError(f"{name} row {row} holds NaN or an infinity")
    if len(x) != len(y):
        raise ValueError(f"x has {len(x)} rows, y {len(y)}: one target per sample")
    wrong = (y < 0) | (y != np.round(y)) | (y >= 1000)
    if wrong.any():
        value = y.reshape(-1)[np.argmax(wrong.reshape(-1))]
        raise ValueError(f"y holds {value}, not a class index 0 ... 999")


def main() -> None:
    """Train on an .npz file of arrays ``x`` (samples first) and ``y``."""
    import argparse
    import os
    import sys

    import numpy as np

    parser = argparse.ArgumentParser(description="Train the network on DATA.npz.")
    parser.add_argument("data", help=".npz file with arrays x (samples first) and y")
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--batch-size", type=int, default=TRAINING["batch_size"])
    parser.add_argument("--seed", type=int, default=TRAINING["seed"])
    parser.add_argument("-o", "--output", help="save the state_dict here (torch.save)")
    args = parser.parse_args()
    try:
        with np.load(args.data, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
        check_data(x, y)
    except Exception as error:  # unreadable or unusable: a usage error, not a traceback
        parser.error(f"{args.data}: {error}")
    x = torch.as_tensor(x, dtype=torch.float32).reshape(-1, *INPUT_SHAPE)
    y = torch.as_tensor(y)
    train(x, y, args.epochs, args.batch_size, args.seed, args.output)
    if torch.distributed.is_torchelastic_launched():
        # Everything is saved and printed. Under torchrun, leave without Python's own
        # teardown: a gloo worker thread can still be letting go of the last all-reduced
        # gradients when the interpreter shuts down, and the process then aborts
        # (measured: 1 run in 10 on a busy machine; pytorch/pytorch#190489).
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(0)


if __name__ == "__main__":
    main()
