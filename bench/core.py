"""Benchmark of the core issue's speed targets (run by hand; numbers go in bench/README.md).

    python bench/core.py --archcalc .venv-bench/bin/archcalc [--torch-python /path/to/python]

1. ``archcalc params specs/resnet50.yaml`` against ``python -c "import click, rich.console,
   rich.table"`` (the floor every click + rich tool pays), same interpreter: target ≤ 1.5×.
2. The same against torchinfo's summary of torchvision's resnet50, when ``--torch-python`` names
   an interpreter with torch, torchvision and torchinfo: target ≤ 0.05×.
3. Generated specs of 10,000 and 100,000 layers: target ≤ 2 s, and ≤ 12× for 10× the layers.

Use a non-editable install (``pip install .``) for ``--archcalc``: an editable install with
PYTHONDONTWRITEBYTECODE=1 recompiles every module on every run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from timing import machine, median_time, paired

ROOT = Path(__file__).resolve().parent.parent
TORCHINFO = ("import torchvision, torchinfo; "
             "torchinfo.summary(torchvision.models.resnet50(), input_size=(1, 3, 224, 224), verbose=0)")


def generated_spec(layers: int, folder: str) -> str:
    """A plain MLP of ``layers`` layers (linear/relu pairs), written out in full."""
    path = os.path.join(folder, f"mlp{layers}.yaml")
    with open(path, "w") as f:
        f.write(f"name: mlp{layers}\ninput: [64]\nlayers:\n")
        for _ in range(layers // 2):
            f.write("  - linear: {out: 64}\n  - relu\n")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--archcalc", required=True, help="the archcalc executable to time")
    parser.add_argument("--torch-python", help="a python with torch, torchvision and torchinfo")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args()
    python = str(Path(args.archcalc).with_name("python"))
    resnet = [args.archcalc, "params", str(ROOT / "specs" / "resnet50.yaml")]
    print(f"machine: {machine()}; runs: {args.runs} per command, alternating, after one warm-up")

    floor = paired(resnet, [python, "-c", "import click, rich.console, rich.table"], args.runs)
    print(f"params resnet50: {floor['a']:.3f} s; import click+rich: {floor['b']:.3f} s; "
          f"ratio {floor['ratio']:.2f} (target ≤ 1.5)")
    llama = paired([args.archcalc, "params", str(ROOT / "specs" / "llama-3-8b.yaml")],
                   [python, "-c", "import click, rich.console, rich.table"], args.runs)
    print(f"params llama-3-8b: {llama['a']:.3f} s; import click+rich: {llama['b']:.3f} s; "
          f"ratio {llama['ratio']:.2f} (target ≤ 1.5, issue 11)")
    if args.torch_python:
        peer = paired(resnet, [args.torch_python, "-c", TORCHINFO], max(3, args.runs // 3))
        print(f"params resnet50: {peer['a']:.3f} s; torchinfo resnet50: {peer['b']:.3f} s; "
              f"ratio {peer['ratio']:.4f} (target ≤ 0.05)")
    with tempfile.TemporaryDirectory() as folder:
        small, large = generated_spec(10_000, folder), generated_spec(100_000, folder)
        t_small = median_time([args.archcalc, "params", small, "--format", "json"], runs=5)
        t_large = median_time([args.archcalc, "params", large, "--format", "json"], runs=3)
    print(f"10,000 layers: {t_small:.2f} s (target ≤ 2); 100,000 layers: {t_large:.2f} s; "
          f"ratio {t_large / t_small:.1f} (target ≤ 12)")


if __name__ == "__main__":
    main()
