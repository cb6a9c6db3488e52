"""Vgg16 in PyTorch, written by ``archcalc export --to torch``.

The spec ``vgg16``: input [N, 3, 224, 224] -> output [N, 1000]; 138,357,544 trainable
parameters, as ``archcalc params`` counts them. Module names are the spec's paths
(``conv1.0``), as in ``archcalc.to_torch``, so both have the same state_dict keys. Needs
only torch (and NumPy to train on an .npz file: python FILE.py DATA.npz, or torchrun
--nproc-per-node=N FILE.py DATA.npz; see train()).
"""

import torch
from torch import nn

INPUT_SHAPE = (3, 224, 224)


class Vgg16(nn.ModuleDict):
    """The network ``vgg16``, layer by layer."""

    def __init__(self) -> None:
        super().__init__()
        self.conv1 = nn.Sequential(
            nn.Conv2d(3, 64, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(64, 64, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.pool1 = nn.MaxPool2d(kernel_size=2)
        self.conv2 = nn.Sequential(
            nn.Conv2d(64, 128, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(128, 128, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.pool2 = nn.MaxPool2d(kernel_size=2)
        self.conv3 = nn.Sequential(
            nn.Conv2d(128, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(256, 256, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.pool3 = nn.MaxPool2d(kernel_size=2)
        self.conv4 = nn.Sequential(
            nn.Conv2d(256, 512, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.pool4 = nn.MaxPool2d(kernel_size=2)
        self.conv5 = nn.Sequential(
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.Conv2d(512, 512, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.pool5 = nn.MaxPool2d(kernel_size=2)
        self.avgpool = nn.AdaptiveAvgPool2d(7)
        self["11"] = nn.Flatten()
        self.classifier = nn.Sequential(
            nn.Linear(25088, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 4096),
            nn.ReLU(),
            nn.Dropout(0.5),
            nn.Linear(4096, 1000),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv1(x)
        x = self.pool1(x)
        x = self.conv2(x)
        x = self.pool2(x)
        x = self.conv3(x)
        x = self.pool3(x)
        x = self.conv4(x)
        x = self.pool4(x)
        x = self.conv5(x)
        x = self.pool5(x)
        x = self.avgpool(x)
        x = self["11"](x)
        return self.classifier(x)


def build_model() -> Vgg16:
    """A new Vgg16, initialised as PyTorch initialises each layer."""
    return Vgg16()


# -- training: python FILE.py DATA.npz, or torchrun --nproc-per-node=N FILE.py DATA.npz

#: the spec's train: section
TRAINING = {
    "epochs": 74,
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
        lr=0.01,
        momentum=0.9,
        dampening=0.0,
        nesterov=False,
        weight_decay=0.0005,
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
