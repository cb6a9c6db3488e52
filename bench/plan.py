"""Benchmark of ``archcalc plan`` against ``archcalc params`` on the same spec (run by hand; numbers in
bench/README.md). Issue 15's target: ``plan`` with every option set within 2× of ``params``.

    python bench/plan.py [--venv DIR] [--runs N] [--spec PATH]

Installs archcalc non-editable into a virtual environment (as bench/analysis.py does, which it reuses),
then times whole processes, taking turns. The spec defaults to specs/llama-3-8b.yaml, or
specs/gpt2.yaml where that is not shipped yet.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from analysis import ROOT, install, time_commands

EVERY_OPTION = ["--precision", "mixed-bf16", "--optimizer", "adamw", "--batch", "4", "--checkpointing", "full",
                "--dp", "64", "--fsdp", "hybrid", "--shard-size", "8", "--tp", "2", "--pp", "2", "--gpu", "h100-sxm",
                "--reserve", "2", "--tokens", "15T", "--mfu", "0.45", "--explain", "--format", "json"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "archcalc-bench-venv")
    parser.add_argument("--runs", type=int, default=20)
    llama = ROOT / "specs" / "llama-3-8b.yaml"
    parser.add_argument("--spec", default=str(llama if llama.exists() else ROOT / "specs" / "gpt2.yaml"))
    opts = parser.parse_args()
    archcalc = str(install(opts.venv) / "archcalc")
    commands = {"archcalc params SPEC": [archcalc, "params", opts.spec],
                "archcalc plan SPEC (every option)": [archcalc, "plan", opts.spec, *EVERY_OPTION]}
    medians = time_commands(commands, opts.runs)
    base_wall, base_cpu = medians["archcalc params SPEC"]
    print(f"{Path(opts.spec).name}: whole-process medians of {opts.runs} interleaved runs, Python "
          f"{sys.version.split()[0]}, load average {os.getloadavg()[0]:.2f}:\n")
    print("| command | wall | ratio | CPU (user+sys) | ratio |\n|---|---:|---:|---:|---:|")
    for name, (wall, cpu) in medians.items():
        print(f"| `{name}` | {wall * 1000:.1f} ms | {wall / base_wall:.2f} | {cpu * 1000:.1f} ms | "
              f"{cpu / base_cpu:.2f} |")
    ratio = medians["archcalc plan SPEC (every option)"][0] / base_wall
    print(f"\nplan / params = {ratio:.2f} wall (target ≤ 2): {'PASS' if ratio <= 2 else 'FAIL'}")


if __name__ == "__main__":
    main()
