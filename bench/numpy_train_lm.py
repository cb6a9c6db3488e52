"""One training step of the char-level GPT (specs/char-gpt.yaml), NumPy backend against PyTorch on the CPU, in the
same process and with the same threads (issue 12's speed target: within 3×).

A step is what ``archcalc train`` does per batch: forward, cross-entropy at every position, backward, SGD with
momentum 0.9, on a batch of 32 windows of 64 character ids. The NumPy side is ``archcalc.to_numpy`` with the
per-position loss the NumPy trainer uses (``losses.PerPosition``); the torch side is ``archcalc.to_torch`` (torch's
own nn.Embedding, nn.LayerNorm, nn.Linear and scaled_dot_product_attention) with the loss as nanoGPT writes it,
``F.cross_entropy(logits.view(-1, V), targets.view(-1))``. float32 on both sides. Rounds alternate NumPy and
torch (``seconds_per_step`` of bench/numpy_train.py), and the medians are reported with their ratio.

    python bench/numpy_train_lm.py [--threads 1] [--rounds 15] [--steps 10]
"""

from __future__ import annotations

import argparse
import pathlib
import statistics
import sys

import numpy as np
import threadpoolctl
import torch

import archcalc
from archcalc.backends.numpy import losses, optim, to_numpy, training

sys.path.insert(0, str(pathlib.Path(__file__).parent))
from numpy_train import seconds_per_step

SPEC = pathlib.Path(__file__).parent.parent / "specs" / "char-gpt.yaml"
TARGET = 3.0


def steppers(batch: int, seed: int = 0):
    model = archcalc.load(str(SPEC))
    (length,), vocab = model.input_shape, model.output_shape[-1]
    rng = np.random.default_rng(seed)
    x = rng.integers(0, vocab, (batch, length))
    y = rng.integers(0, vocab, (batch, length))

    net = to_numpy(model, seed=seed)
    loss = losses.PerPosition(losses.CrossEntropyLoss(), axis=1)
    sgd = optim.SGD(net.parameters(), lr=0.01, momentum=0.9)
    xf = x.astype(np.float32)  # as archcalc train hands the data over

    def numpy_step() -> None:
        training.step(net, loss, sgd, xf, y)

    torch.manual_seed(seed)
    module = archcalc.to_torch(model)
    xt, yt = torch.from_numpy(x), torch.from_numpy(y)
    tsgd = torch.optim.SGD(module.parameters(), lr=0.01, momentum=0.9)

    def torch_step() -> None:
        tsgd.zero_grad()
        logits = module(xt)
        torch.nn.functional.cross_entropy(logits.view(-1, logits.shape[-1]), yt.view(-1)).backward()
        tsgd.step()

    return numpy_step, torch_step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1, help="threads for both (see bench/README.md)")
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--batch", type=int, default=32)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with threadpoolctl.threadpool_limits(args.threads):
        print(f"numpy {np.__version__}, torch {torch.__version__}, {args.threads} thread(s) each")
        ours, theirs = steppers(args.batch)
        for step in (ours, theirs):  # warm up
            seconds_per_step(step, args.steps)
        times: dict[str, list[float]] = {"numpy": [], "torch": []}
        for _ in range(args.rounds):
            times["numpy"].append(seconds_per_step(ours, args.steps))
            times["torch"].append(seconds_per_step(theirs, args.steps))
        a, b = (1000 * statistics.median(times[k]) for k in ("numpy", "torch"))
        name = f"char-GPT, batch {args.batch}×64"
        print(f"{'one training step':<28}{'numpy ms':>10}{'torch ms':>10}{'ratio':>8}{'target':>8}")
        print(f"{name:<28}{a:>10.2f}{b:>10.2f}{a / b:>7.2f}×{f'≤ {TARGET:g}×':>8}")


if __name__ == "__main__":
    main()
