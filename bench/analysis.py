"""Benchmark of the analysis commands (run by hand; numbers go in bench/README.md).

    python bench/analysis.py [--venv DIR] [--runs N]

1. Installs archcalc NON-editable (``pip install .``) into a virtual environment (``--venv DIR``,
   created when missing). An editable install would recompile every module on every run on a
   machine with PYTHONDONTWRITEBYTECODE=1, which measures the compiler, not archcalc.
2. Times whole processes, ``archcalc summary specs/resnet50.yaml`` against the peer
   ``python -c "import click, rich.console, rich.table"`` in the same environment, taking turns
   (bench/README.md gives the equivalent hyperfine command). Target: the ratio of medians ≤ 2.
3. Times ResNet-50 with H and W free inside one process: shapes (building the graph), receptive
   fields and MACs, each and together. Target: ≤ 3 s, and layer4's spatial size a short expression.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SYMBOLIC = """
import json, time
t0 = time.perf_counter()
import archcalc
from archcalc.calc.flops import work
from archcalc.calc.rf import receptive_fields
t1 = time.perf_counter()
model = archcalc.load("specs/resnet50.yaml", symbolic_dims=True)
t2 = time.perf_counter()
fields, warnings = receptive_fields(model.graph)
t3 = time.perf_counter()
total = work(model.graph)[model.graph.root]
t4 = time.perf_counter()
layer4 = model.graph.find("layer4")
print(json.dumps({"import": t1 - t0, "shapes": t2 - t1, "rf": t3 - t2, "macs": t4 - t3, "total": t4 - t1,
                  "layer4": [str(d) for d in layer4.out_shape], "rf_layer4": [str(v) for v in fields[layer4].size],
                  "macs_formula": str(total.macs)}))
"""


def install(venv: Path) -> Path:
    python = venv / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", "--force-reinstall", "--no-deps", str(ROOT)],
                   check=True)
    subprocess.run([str(python), "-m", "pip", "install", "--quiet", str(ROOT)], check=True)  # dependencies
    return venv / "bin"


def time_commands(commands: dict[str, list[str]], runs: int) -> dict[str, tuple[float, float]]:
    """Median wall time and median CPU time (user + system, s) of each command as a whole process.

    The commands take turns, round by round, so a neighbour's load on a shared machine slows the
    peer as much as archcalc; CPU time is the figure that load disturbs least.
    """
    for cmd in commands.values():  # warm the file cache
        for _ in range(3):
            subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
    wall: dict[str, list[float]] = {name: [] for name in commands}
    cpu: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, cmd in commands.items():
            before = resource.getrusage(resource.RUSAGE_CHILDREN)
            start = time.perf_counter()
            subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, check=True)
            wall[name].append(time.perf_counter() - start)
            after = resource.getrusage(resource.RUSAGE_CHILDREN)
            cpu[name].append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    return {name: (statistics.median(wall[name]), statistics.median(cpu[name])) for name in commands}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--venv", type=Path, default=Path(tempfile.gettempdir()) / "archcalc-bench-venv")
    parser.add_argument("--runs", type=int, default=30)
    opts = parser.parse_args()
    bin_ = install(opts.venv)
    python, archcalc = str(bin_ / "python"), str(bin_ / "archcalc")
    commands = {
        "peer: python -c 'import click, rich.console, rich.table'":
            [python, "-c", "import click, rich.console, rich.table"],
        "archcalc summary specs/resnet50.yaml": [archcalc, "summary", "specs/resnet50.yaml"],
        "archcalc flops specs/resnet50.yaml": [archcalc, "flops", "specs/resnet50.yaml"],
        "archcalc rf specs/resnet50.yaml": [archcalc, "rf", "specs/resnet50.yaml"],
        "archcalc summary specs/resnet50.yaml --symbolic": [archcalc, "summary", "specs/resnet50.yaml", "--symbolic"],
    }
    medians = time_commands(commands, opts.runs)
    peer_wall, peer_cpu = medians[next(iter(commands))]
    print(f"whole-process medians of {opts.runs} interleaved runs, Python {sys.version.split()[0]}, "
          f"load average {os.getloadavg()[0]:.2f}:\n")
    print("| command | wall | ratio | CPU (user+sys) | ratio |\n|---|---:|---:|---:|---:|")
    for name, (wall, cpu) in medians.items():
        print(f"| `{name}` | {wall * 1000:.1f} ms | {wall / peer_wall:.2f} | {cpu * 1000:.1f} ms | "
              f"{cpu / peer_cpu:.2f} |")
    wall, cpu = medians["archcalc summary specs/resnet50.yaml"]
    ratio = wall / peer_wall
    print(f"\nsummary / peer = {ratio:.2f} wall, {cpu / peer_cpu:.2f} CPU (target ≤ 2): "
          f"{'PASS' if ratio <= 2 else 'FAIL'}")

    out = subprocess.run([python, "-c", SYMBOLIC], cwd=ROOT, capture_output=True, text=True, check=True)
    sym = json.loads(out.stdout)
    print("\nResNet-50, H and W free, in one process:\n")
    print("| step | seconds |\n|---|---:|")
    for step in ("import", "shapes", "rf", "macs", "total"):
        print(f"| {step} | {sym[step]:.3f} |")
    print(f"\nshapes + RF + MACs = {sym['total']:.2f} s (target ≤ 3 s): {'PASS' if sym['total'] <= 3 else 'FAIL'}")
    print(f"layer4 output: {sym['layer4']}; its RF: {sym['rf_layer4']}")
    print(f"total MACs: {sym['macs_formula']}")


if __name__ == "__main__":
    main()
