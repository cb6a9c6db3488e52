"""Resource bombs and big-but-legal specs: wall time and peak memory of every command (run by hand;
numbers go in bench/README.md).

    python bench/bombs.py [--runs 3] [--sizes 25000,50000,100000] [--only bombs|large|long]

1. Every bomb of ``tests/test_hardening_bombs.py`` under ``params`` and ``lint``: the targets are
   a located error within 1 s and under 200 MiB.
2. Specs at growing sizes (layers built by a repeat, and the same number written out line by line,
   and a YAML list of that many numbers) under every command: the time for 2n over the time for n
   should be near 2 (linear), never near 4 (quadratic).
3. Long texts (issue 18): each kind of ``long_inputs`` (a model name of one word, in CJK, a layer
   name, a name of many words, a comment, expressions, many layers, an unknown kind) at growing
   sizes up to the byte limit: wall and CPU time, and the ratio of the CPU times.

Each command runs in a fresh interpreter started by a small launcher process, which reports the
command's own peak resident memory (``ru_maxrss`` from ``os.wait4``) and wall time; medians of
``--runs``.
"""

from __future__ import annotations

import argparse
import itertools
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).parent))
from timing import machine  # noqa: E402

from tests.test_hardening_bombs import BOMBS, LONG_COMMANDS, long_inputs, measure  # noqa: E402

COMMANDS = [("params",), ("params", "--format", "json"), ("shapes",), ("rf",), ("flops",), ("summary",),
            ("lint", "--isolated"), ("export", "--to", "torch"), ("export", "--to", "onnx"),
            ("export", "--to", "numpy")]


def median_run(args: list[str], runs: int, stdin: Path | None = None) -> tuple[int, float, float]:
    """(exit code, median seconds, median peak MiB) of ``archcalc ARGS``."""
    results = [measure(*args, stdin=stdin) for _ in range(runs)]
    seconds, peak = statistics.median(r.seconds for r in results), statistics.median(r.peak_mib for r in results)
    return results[0].code, seconds, peak


def bombs(folder: Path, runs: int) -> None:
    print("\n## Bombs: exit code, median wall time, median peak memory\n")
    print("| bomb | `params` | `lint` |\n|---|---|---|")
    made: dict = {}
    worst_time, worst_peak = 0.0, 0.0
    for bomb in BOMBS:
        if bomb.make not in made:
            made[bomb.make] = bomb.make(folder)
        path = made[bomb.make]
        cells = []
        for command in (["params"], ["lint", "--isolated"]):
            args = [command[0], "-" if bomb.stdin else str(path), *command[1:]]
            code, seconds, peak = median_run(args, runs, path if bomb.stdin else None)
            worst_time, worst_peak = max(worst_time, seconds), max(worst_peak, peak)
            cells.append(f"exit {code}, {seconds:.2f} s, {peak:.0f} MiB")
        print(f"| {bomb.name} | {' | '.join(cells)} |")
    print(f"\nslowest: {worst_time:.2f} s; largest: {worst_peak:.0f} MiB")


def legal(folder: Path, kind: str, n: int) -> Path:
    """A spec that is within the default limits and has ``n`` layers (``n`` numbers for 'nodes')."""
    path = folder / f"{kind}-{n}.yaml"
    if kind == "repeat":
        body = f"input: [3, 16, 16]\nlayers:\n  - repeat: {n // 2}\n    layers:\n" \
               "      - conv2d: {out: 3, kernel: 3, padding: 1}\n      - relu\n"
    elif kind == "lines":
        body = "input: [64]\nlayers:\n" + "  - linear: {out: 64}\n  - relu\n" * (n // 2)
    else:
        body = "input: [4]\nlayers: [relu]\nx-numbers: [" + "1, " * n + "1]\n"
    path.write_text(body, encoding="utf-8")
    return path


def large(folder: Path, sizes: list[int], runs: int) -> None:
    print("\n## Big but legal: median wall time and peak memory; ratio = time(2n) / time(n)\n")
    for kind, commands in (("repeat", COMMANDS), ("lines", COMMANDS[:2] + COMMANDS[6:7]), ("nodes", COMMANDS[:1])):
        print(f"\n### {kind}: " + {"repeat": "n layers from one `repeat` (conv2d + relu on 3×16×16)",
                                   "lines": "n layers written out (linear + relu on 64 features)",
                                   "nodes": "a YAML list of n numbers under an `x-` key"}[kind] + "\n")
        print("| command | " + " | ".join(f"n = {n:,}" for n in sizes) + " | ratio |")
        print("|---|" + "---|" * (len(sizes) + 1))
        for command in commands:
            times, cells = [], []
            for n in sizes:
                path = legal(folder, kind, n)
                extra = ["-o", str(folder / f"out-{n}"), "--force"] if command[0] == "export" else []
                code, seconds, peak = median_run([command[0], str(path), *command[1:], *extra], runs)
                times.append(seconds)
                cells.append(f"{seconds:.2f} s, {peak:.0f} MiB" + ("" if code == 0 else f" (exit {code})"))
            ratios = [b / a for a, b in itertools.pairwise(times)]
            print(f"| `{' '.join(command)}` | {' | '.join(cells)} | {', '.join(f'{r:.2f}' for r in ratios)} |")


def long(folder: Path, sizes: list[int]) -> None:
    print("\n## Long texts: wall time, CPU time, peak memory; ratio = CPU(next size) / CPU(size)\n")
    print("| input | command | " + " | ".join(f"{n / 1e6:g} MB" for n in sizes) + " | ratio |")
    print("|---|---|" + "---|" * (len(sizes) + 1))
    for kind in long_inputs(10):
        for command in LONG_COMMANDS[:2] + LONG_COMMANDS[3:4]:
            cpus, cells = [], []
            for n in sizes:
                path = folder / f"{kind}-{n}.yaml"
                path.write_text(long_inputs(n)[kind], encoding="utf-8")
                run = measure(command[0], path, *command[1:])
                cpus.append(run.cpu)
                cells.append(f"{run.seconds:.2f} s, {run.cpu:.2f} s CPU, {run.peak_mib:.0f} MiB")
            ratios = [b / a for a, b in itertools.pairwise(cpus)]
            print(f"| {kind} | `{' '.join(command)}` | {' | '.join(cells)} | {', '.join(f'{r:.2f}' for r in ratios)} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--sizes", default="25000,50000,100000")
    parser.add_argument("--only", choices=["bombs", "large", "long"])
    args = parser.parse_args()
    print(f"machine: {machine()}; {args.runs} runs per cell")
    with tempfile.TemporaryDirectory() as folder:
        if args.only in (None, "bombs"):
            bombs(Path(folder), args.runs)
        if args.only == "long":
            long(Path(folder), [2_500_000, 5_000_000, 9_900_000])
        elif args.only != "bombs":
            large(Path(folder), [int(n) for n in args.sizes.split(",")], args.runs)


if __name__ == "__main__":
    main()
