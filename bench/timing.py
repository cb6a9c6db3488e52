"""Whole-process timing for the benchmarks: commands run in turn (A B A B …), medians and the
median of the pairwise ratios, so a comparison holds while a shared machine's speed drifts."""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import time
from collections.abc import Sequence


def run_once(cmd: Sequence[str], env: dict[str, str] | None = None) -> tuple[float, float]:
    """(wall seconds, CPU seconds) of one run of ``cmd``; its output is discarded, failure raises."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def paired(a: Sequence[str], b: Sequence[str], runs: int = 10, warmup: int = 1,
           env: dict[str, str] | None = None) -> dict[str, float]:
    """Median wall time of ``a`` and ``b`` and the median of the per-pair ratios a/b."""
    for _ in range(warmup):
        run_once(a, env), run_once(b, env)
    ta, tb = [], []
    for _ in range(runs):
        ta.append(run_once(a, env)[0])
        tb.append(run_once(b, env)[0])
    return {"a": statistics.median(ta), "b": statistics.median(tb),
            "ratio": statistics.median(x / y for x, y in zip(ta, tb)),
            "a_min": min(ta), "a_max": max(ta), "b_min": min(tb), "b_max": max(tb)}


def median_time(cmd: Sequence[str], runs: int = 5, warmup: int = 1) -> float:
    for _ in range(warmup):
        run_once(cmd)
    return statistics.median(run_once(cmd)[0] for _ in range(runs))


def machine() -> str:
    return f"{os.cpu_count()} CPUs, {os.uname().sysname} {os.uname().machine}"
