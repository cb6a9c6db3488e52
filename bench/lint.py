"""Benchmark: lint 100 specs in one process (target ≤ 2 s), against yamllint on the same files.

    python bench/lint.py            # prints a table; numbers go in bench/README.md

Two corpora, each 100 files in a temporary folder: the concrete shipped specs (specs/*.yaml without
free symbols, repeated: ResNet-50, VGG-16, AlexNet...) and the lint fixtures (tests/lint/fixtures,
one triggering and one clean spec per rule). For each it times, best of 5:

- ``archcalc lint FOLDER --select ALL`` as a fresh process (start-up and imports included),
- ``yamllint FOLDER`` as a fresh process: the real peer, a YAML linter that checks style and syntax
  only (no shapes, no rules about networks); skipped when yamllint is not installed,
- in one process: parsing and building the 100 specs alone (``archcalc.loads``), then linting them
  with every rule, to show what the rules cost on top of the core,

and checks that linting the concrete specs never imports sympy.
"""

from __future__ import annotations

import contextlib
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
N = 100
REPEAT = 5


def corpus(sources: list[Path], folder: Path) -> list[Path]:
    folder.mkdir()
    files = []
    for i in range(N):
        source = sources[i % len(sources)]
        files.append(folder / f"{i:03d}-{source.name}")
        shutil.copy(source, files[-1])
    return files


def best(fn) -> float:
    times = []
    for _ in range(REPEAT):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def process(*args: str) -> float:
    return best(lambda: subprocess.run(args, capture_output=True, check=False))


def main() -> int:
    sys.path.insert(0, str(ROOT / "src"))
    import archcalc
    from archcalc.errors import SpecError
    from archcalc.lint.engine import lint_source
    from archcalc.lint.registry import RULES

    def concrete(path: Path) -> bool:
        try:
            return not archcalc.load(str(path)).graph.free
        except SpecError:
            return True

    shipped = [p for p in sorted((ROOT / "specs").glob("*.yaml")) if concrete(p)]
    fixtures = [p for p in sorted((ROOT / "tests/lint/fixtures").glob("*.yaml")) if concrete(p)]
    archcalc_bin = shutil.which("archcalc") or "archcalc"
    yamllint_bin = shutil.which("yamllint")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for label, sources in (("shipped specs", shipped), ("lint fixtures", fixtures)):
            folder = Path(tmp) / label.replace(" ", "-")
            files = corpus(sources, folder)
            texts = [(str(f), f.read_text(encoding="utf-8")) for f in files]
            ours = process(archcalc_bin, "lint", str(folder), "--select", "ALL", "--isolated", "--format", "concise")
            peer = process(yamllint_bin, "-d", "relaxed", str(folder)) if yamllint_bin else None

            def core(texts=texts):
                for path, text in texts:
                    with contextlib.suppress(SpecError):
                        archcalc.loads(text, path=path)

            def lint(texts=texts):
                for path, text in texts:
                    lint_source(text, path, RULES)

            rows.append((label, ours, peer, best(core), best(lint)))
    check = subprocess.run([sys.executable, "-c", "import sys; from archcalc.cli import main\n"
                            "try: main(['lint', '--select', 'ALL', '--isolated', '--format', 'concise', "
                            f"*{[str(p) for p in shipped]!r}])\n"
                            "except SystemExit: pass\nprint('sympy' in sys.modules)"],
                           capture_output=True, text=True, cwd=ROOT)
    print(f"{N} files per corpus, best of {REPEAT}; Python {sys.version.split()[0]}")
    print(f"{'corpus':<15} {'archcalc lint':>14} {'yamllint':>10} {'ratio':>6} {'in-process: core':>17} "
          f"{'core + rules':>13}")
    for label, ours, peer, core_t, lint_t in rows:
        ratio = f"{ours / peer:.2f}" if peer else "-"
        peer_text = f"{peer:.3f} s" if peer else "-"
        print(f"{label:<15} {ours:>12.3f} s {peer_text:>10} {ratio:>6} {core_t:>15.3f} s {lint_t:>11.3f} s")
    print(f"sympy imported while linting the concrete specs: {check.stdout.strip().splitlines()[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
