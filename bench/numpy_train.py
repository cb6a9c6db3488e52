"""One training step, NumPy backend against PyTorch on the CPU, in the same process and with the same threads.

A step is what ``archcalc train`` does per batch: forward, cross-entropy, backward, SGD with
momentum 0.9. Two networks from issue 6: a 784-256-10 MLP at batch 128, and LeNet-5 on
1×28×28 at batch 64; two LSTM classifiers from issue 12 (backpropagation through time against
torch's fused ``nn.LSTM``): specs/lstm-sign.yaml's (20 steps of 1 feature, h = 32) at batch 64, and
a larger one (50 steps of 32 features, two layers of h = 128, the last step) at batch 32. float32 on
both sides. Rounds alternate NumPy and torch so load from other processes hits both alike; the
median of the rounds is reported, with the ratio NumPy / torch.

    python bench/numpy_train.py [--threads 2] [--rounds 15] [--steps 20]

NumPy's BLAS threads are set with threadpoolctl and torch's with torch.set_num_threads. On some
processors this machine sets OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE for old OpenBLAS builds; they
slow a current NumPy, so when they are set, unset both for this command alone
(``env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE python bench/numpy_train.py``); the script prints
the kernel NumPy's OpenBLAS actually runs.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import numpy as np
import threadpoolctl
import torch
from torch import nn

import archcalc
from archcalc.backends.numpy import losses, optim, to_numpy, training

MLP = "input: [784]\nlayers: [linear: 256, relu, linear: 10]"
LENET = """
input: [1, 28, 28]
layers:
  - conv2d: {out: 6, kernel: 5, padding: 2}
  - relu
  - maxpool2d: 2
  - conv2d: {out: 16, kernel: 5}
  - relu
  - maxpool2d: 2
  - flatten
  - linear: 120
  - relu
  - linear: 84
  - relu
  - linear: 10
"""


LSTM_SIGN = "input: [20, 1]\nlayers: [lstm: {hidden: 32, output: last}, linear: 2]"
LSTM_LARGE = "input: [50, 32]\nlayers: [lstm: {hidden: 128, num_layers: 2, output: last}, linear: 10]"


class TorchLSTM(nn.Module):
    """``nn.LSTM`` (batch first), its last step, a linear layer: the network of the LSTM specs above."""

    def __init__(self, features: int, hidden: int, layers: int, classes: int):
        super().__init__()
        self.lstm, self.fc = nn.LSTM(features, hidden, layers, batch_first=True), nn.Linear(hidden, classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.lstm(x)[0][:, -1])


def torch_mlp() -> nn.Module:
    return nn.Sequential(nn.Linear(784, 256), nn.ReLU(), nn.Linear(256, 10))


def torch_lenet() -> nn.Module:
    return nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2), nn.Conv2d(6, 16, 5), nn.ReLU(),
                         nn.MaxPool2d(2), nn.Flatten(), nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 84), nn.ReLU(),
                         nn.Linear(84, 10))


def numpy_stepper(spec: str, x: np.ndarray, y: np.ndarray):
    net = to_numpy(archcalc.loads(spec), seed=0)
    loss, sgd = losses.CrossEntropyLoss(), optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    return lambda: training.step(net, loss, sgd, x, y)


def torch_stepper(model: nn.Module, x: np.ndarray, y: np.ndarray):
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    sgd = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    criterion = nn.CrossEntropyLoss()

    def step() -> None:
        sgd.zero_grad()
        criterion(model(xt), yt).backward()
        sgd.step()

    return step


def seconds_per_step(step, steps: int) -> float:
    """Mean time of ``steps`` steps, after a pause and three untimed steps: the other library's idle
    threads stop spinning and this one's wake up before the clock starts."""
    time.sleep(0.05)
    for _ in range(3):
        step()
    start = time.perf_counter()
    for _ in range(steps):
        step()
    return (time.perf_counter() - start) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both (default 1: see bench/README.md)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpoolctl.threadpool_limits(args.threads):
        blas = next(lib for lib in threadpoolctl.threadpool_info() if lib["internal_api"] == "openblas")
        print(f"numpy {np.__version__} ({blas['internal_api']} {blas['version']}, kernel {blas.get('architecture')}, "
              f"{blas['num_threads']} threads); torch {torch.__version__} ({torch.get_num_threads()} threads)")
        print("OPENBLAS_CORETYPE=" + os.environ.get("OPENBLAS_CORETYPE", "(unset)") +
              " OPENBLAS_L2_SIZE=" + os.environ.get("OPENBLAS_L2_SIZE", "(unset)"))
        rng = np.random.default_rng(0)
        cases = {
            "MLP 784-256-10, batch 128": (MLP, torch_mlp(), rng.normal(size=(128, 784)), 10, 1.5),
            "LeNet-5 1×28×28, batch 64": (LENET, torch_lenet(), rng.normal(size=(64, 1, 28, 28)), 10, 3.0),
            "LSTM 20×1, h 32, batch 64": (LSTM_SIGN, TorchLSTM(1, 32, 1, 2), rng.uniform(-1, 1, size=(64, 20, 1)),
                                          2, 3.0),
            "LSTM 50×32, 2×h 128, b 32": (LSTM_LARGE, TorchLSTM(32, 128, 2, 10), rng.normal(size=(32, 50, 32)),
                                          10, 3.0),
        }
        print(f"{'one training step':<28}{'numpy ms':>10}{'torch ms':>10}{'ratio':>8}{'target':>8}")
        for name, (spec, model, x, classes, target) in cases.items():
            x = x.astype(np.float32)
            y = rng.integers(0, classes, size=len(x))
            ours, theirs = numpy_stepper(spec, x, y), torch_stepper(model, x, y)
            for step in (ours, theirs):  # warm up
                seconds_per_step(step, args.steps)
            times = {"numpy": [], "torch": []}
            for _ in range(args.rounds):
                times["numpy"].append(seconds_per_step(ours, args.steps))
                times["torch"].append(seconds_per_step(theirs, args.steps))
            a, b = (1000 * statistics.median(times[k]) for k in ("numpy", "torch"))
            print(f"{name:<28}{a:>10.3f}{b:>10.3f}{a / b:>7.2f}×{f'≤ {target:g}×':>8}")


if __name__ == "__main__":
    main()
