"""Shared test helpers: the shipped specs, a CLI runner, and specs written on the fly."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from archcalc.cli import main

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow (CI does: .ci/run)")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """The default run leaves out the tests marked slow (they are deselected, and counted so), unless
    ``--slow`` asks for them or ``-m`` chooses by marker itself."""
    if config.getoption("--slow") or config.option.markexpr:
        return
    slow = [item for item in items if item.get_closest_marker("slow")]
    if slow:
        config.hook.pytest_deselected(items=slow)
        items[:] = [item for item in items if not item.get_closest_marker("slow")]


def shipped_specs() -> list[Path]:
    return sorted(SPECS.glob("*.yaml"))


@pytest.fixture
def run():
    """``run("params", "x.yaml", "--format", "json")`` → click Result (exit_code, stdout, stderr)."""
    runner = CliRunner()

    def invoke(*args: str, input: str | None = None, env: dict[str, str] | None = None):
        return runner.invoke(main, [str(a) for a in args], input=input, env=env, catch_exceptions=False)

    return invoke


@pytest.fixture
def write(tmp_path):
    """``write("input: [3]\\nlayers: [relu]")`` → path of a spec file holding that text."""
    counter = iter(range(10**6))

    def make(text: str, name: str | None = None) -> Path:
        path = tmp_path / (name or f"spec{next(counter)}.yaml")
        path.write_text(text, encoding="utf-8")
        return path

    return make


def output_file(args, folder: Path, stem: str = "out") -> Path:
    """Where a writing command's ``-o`` goes, with the suffix it requires: the ``--to`` target's for
    ``export``, ``.npz`` for ``train``."""
    from archcalc.backends import EXPORTERS

    args = [str(a) for a in args]
    suffix = EXPORTERS[args[args.index("--to") + 1]][2] if args[0] == "export" else ".npz"
    return folder / f"{stem}{suffix}"


def archcalc_process(*args: str, **kwargs) -> subprocess.CompletedProcess:
    """The real CLI in a fresh interpreter (for sys.modules checks and exit codes)."""
    return subprocess.run([sys.executable, "-m", "archcalc", *map(str, args)], capture_output=True, text=True,
                          **kwargs)


@pytest.fixture(scope="module")
def one_thread():
    """torch on one thread: a small network gains nothing from a second one, and on shared cores two
    threads wait on each other at every op (ten times slower under load)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)
