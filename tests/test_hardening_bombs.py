"""Resource bombs: each is a clear ``path:line:col`` error, in little memory, on every command.

Every bomb runs in a real subprocess; the test asserts its exit code, its located message and its
peak memory (the child's own ``ru_maxrss`` from :func:`os.wait4`) under 200 MiB. Time is not
asserted (this machine is shared): a generous guard only turns a hang into a failure, and
``bench/bombs.py`` measures the real times, reported in ``bench/README.md``. The limits themselves are
tested too: each is documented with its default, and each can be lowered and raised.
"""

from __future__ import annotations

import itertools
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from pathlib import Path

import pytest

from archcalc.limits import Limits
from tests.conftest import ROOT, output_file

#: a bomb that has not exited after this long is hung (a failure, not a measurement)
HANG_SECONDS = 120
PEAK_MIB = 200
HEAD = "input: [4]\nlayers: [relu]\n"


@dataclass(frozen=True)
class Run:
    code: int
    stdout: str
    stderr: str
    seconds: float
    peak_mib: float
    #: the child's CPU time (user + system): what a test bounds on a shared machine, where wall time
    #: measures the neighbours
    cpu: float = 0.0


#: runs the command it is given and writes the command's own peak memory (KiB) and wall time to argv[1]: a
#: child's ru_maxrss starts at its parent's resident size (fork and vfork share it up to exec), so the
#: command must be the child of this small process, not of a test process that has imported torch
LAUNCHER = """\
import os, subprocess, sys, time
started = time.perf_counter()
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as f:
    f.write(f"{usage.ru_maxrss} {time.perf_counter() - started} {usage.ru_utime + usage.ru_stime}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(*args: str, stdin: Path | None = None, env: dict[str, str] | None = None,
            timeout: float = HANG_SECONDS) -> Run:
    """Run ``archcalc ARGS`` in a fresh interpreter: its exit code, output, wall time and peak memory."""
    with tempfile.TemporaryDirectory() as folder, open(stdin or os.devnull, "rb") as source:
        out, err, numbers = (Path(folder) / name for name in ("out", "err", "numbers"))
        with open(out, "wb") as stdout, open(err, "wb") as stderr:
            proc = subprocess.Popen([sys.executable, "-c", LAUNCHER, numbers, sys.executable, "-m", "archcalc",
                                     *map(str, args)], stdin=source, stdout=stdout, stderr=stderr,
                                    env={**os.environ, **(env or {})}, start_new_session=True)
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise AssertionError(f"archcalc {' '.join(map(str, args))} hung for {timeout} s") from None
        peak, seconds, cpu = numbers.read_text().split()
        return Run(code, out.read_text("utf-8", "replace"), err.read_text("utf-8", "replace"), float(seconds),
                   int(peak) / 1024, float(cpu))


# -- the bombs -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bomb:
    name: str
    #: writes the bomb into a folder and returns the spec's path
    make: Callable[[Path], Path]
    #: where the error points: (line, column)
    where: tuple[int, int]
    #: a fragment of the message
    message: str
    #: the lint rule that reports it
    rule: str = "E004"
    #: read from standard input instead of a file
    stdin: bool = False


def text(name: str, content: str) -> Callable[[Path], Path]:
    def make(folder: Path) -> Path:
        path = folder / f"{name}.yaml"
        path.write_text(content, encoding="utf-8")
        return path

    return make


def billion_laughs() -> str:
    """Ten levels of ten aliases each: 10¹⁰ nodes once expanded, 1 KB on disk."""
    lines = ["input: [4]", "layers: [relu]", "x-l0: &l0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]"]
    lines += [f"x-l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * 10)}]" for i in range(1, 10)]
    return "\n".join(lines) + "\n"


def block_cycle() -> str:
    return ("input: [4]\nblocks:\n  a(c):\n    - linear: c\n    - b: {c: c}\n  b(c): [a: {c: c}]\n"
            "layers:\n  - a: {c: 3}\n")


def doubling_blocks(levels: int = 40) -> str:
    """Block b0 uses b1 twice, b1 uses b2 twice, …: 2⁴⁰ layers from 40 short lines."""
    lines = ["input: [4]", "blocks:"]
    lines += [f"  b{i}: [b{i + 1}, b{i + 1}]" for i in range(levels)]
    lines += [f"  b{levels}: [relu]", "layers: [b0]"]
    return "\n".join(lines) + "\n"


def huge_file(folder: Path, megabytes: int = 100) -> Path:
    """A spec of ``megabytes`` MB (a real one: relu after relu), written in 1 MB chunks."""
    path = folder / "huge.yaml"
    chunk = b"  - relu\n" * (1_000_000 // 9)
    with open(path, "wb") as f:
        f.write(b"input: [4]\nlayers:\n")
        while f.tell() < megabytes * 1_000_000:
            f.write(chunk)
    return path


DIGITS = "1" + "0" * 1000  # 10**1000 written out
#: the reproducers of issue 18: more than 120 s and 650 MB each before the algebra was bounded
SUM_POWER = "input: [A, B, C, D, F, G]\nlayers:\n  - linear: {out: (A+B+C+D+F+G+1)**30}\n"
PRODUCT_OF_POWERS = "input: [A, B, C]\nlayers:\n  - linear: {out: (A+B+C+1)**64 * (A+B+C+2)**64}\n"
#: each size within the budget, their product (the second layer's in × out weights) past it
LAYER_PRODUCT = ("input: [A, B, C, D, F, G]\nlayers:\n  - flatten\n  - linear: {out: (A+B+C+D+F+G+1)**5}\n"
                 "  - linear: {out: (A+B+C+D+F+G+2)**4}\n")

BOMBS = [
    Bomb("billion-laughs", text("laughs", billion_laughs()), (8, 27), "aliases expand to more than 500,000 YAML"),
    Bomb("deep-flow-nesting", text("flow", HEAD + "x-deep: " + "[" * 10_000 + "]" * 10_000 + "\n"), (3, 1008),
         "nesting deeper than 1,000 levels (the YAML parser's own limit)"),
    Bomb("deep-block-nesting", text("block", HEAD + "x-deep:\n" + "- " * 10_000 + "1\n"), (4, 399),
         "nesting deeper than 200 levels"),
    Bomb("deep-indentation", text("indent", HEAD + "x-deep:\n" + "".join(" " * i + "k:\n" for i in range(3000))),
         (204, 201), "nesting deeper than 200 levels"),
    Bomb("deep-parentheses", text("parens", "input: [4]\nlayers:\n  - linear: {out: " + "(" * 240 + "1" + ")" * 240
                                  + "}\n"), (3, 219), "cannot read expression", "E109"),
    Bomb("long-expression", text("long", "input: [4]\nlayers:\n  - linear: {out: " + "1+" * 50_000 + "1}\n"),
         (3, 19), "expression longer than 500 characters", "E109"),
    Bomb("block-cycle", text("cycle", block_cycle()), (6, 10), "block 'a' uses itself (a → b → a)", "E113"),
    Bomb("block-uses-itself", text("self", "input: [4]\nblocks:\n  a(n = 1): [relu, a]\nlayers: [a]\n"), (3, 20),
         "block 'a' uses itself (a → a)", "E113"),
    Bomb("repeat-10**12", text("repeat", "input: [4]\nlayers:\n  - repeat: 1000000000000\n    layers: [relu]\n"),
         (3, 13), "repeat 1,000,000,000,000 exceeds the 100,000-layer limit"),
    Bomb("nested-repeats-1000**3", text("nested", "input: [4]\nlayers:\n  - repeat: 1000\n    layers:\n"
                                        "      - repeat: 1000\n        layers:\n          - repeat: 1000\n"
                                        "            layers: [relu]\n"), (5, 9), "this expands to more than 100,000"),
    Bomb("blocks-doubling-40-levels", text("doubling", doubling_blocks()), (26, 14), "expands to more than 100,000"),
    Bomb("integer-10**1000-argument", text("intarg", f"input: [4]\nlayers:\n  - linear: {{out: {DIGITS}}}\n"),
         (3, 19), "integer 10000000000000000000... is too large"),
    Bomb("integer-10**1000-input", text("intshape", f"input: [{DIGITS}]\nlayers: [relu]\n"), (1, 9),
         "integer 10000000000000000000... is too large"),
    Bomb("expression-10**1000", text("exprbig", "input: [4]\nlayers:\n  - linear: {out: 10**1000}\n"), (3, 19),
         "'10**1000' is too large"),
    Bomb("expression-10**1000-input", text("exprshape", "input: [10**1000]\nlayers: [relu]\n"), (1, 9),
         "'10**1000' is too large"),
    Bomb("power-tower-9**9**9", text("tower", "input: [4]\nlayers:\n  - linear: {out: 9**9**9}\n"), (3, 19),
         "'9**9**9' is too large"),
    Bomb("symbolic-power", text("sympower", "input: [H]\nlayers:\n  - linear: {out: H**99999999}\n"), (3, 19),
         "'H**99999999' is too large"),
    # the algebra: each is a few characters, and expanding it would take minutes and gigabytes (issue 18)
    Bomb("symbolic-power-of-a-sum", text("sumpower", SUM_POWER), (3, 19), "is too complex to keep symbolic"),
    Bomb("symbolic-product-of-powers", text("powers", PRODUCT_OF_POWERS), (3, 19), "is too complex to keep symbolic"),
    Bomb("symbolic-layer-product", text("layerproduct", LAYER_PRODUCT), (5, 5),
         "the parameter count is too complex to keep symbolic"),
    Bomb("file-of-100-MB", huge_file, (1, 1), "file is larger than the 10,000,000-byte limit"),
    Bomb("stdin-of-100-MB", huge_file, (1, 1), "file is larger than the 10,000,000-byte limit", stdin=True),
]


@pytest.fixture(scope="module")
def bombs(tmp_path_factory) -> dict[str, Path]:
    """Every bomb written once (the 100 MB file takes a moment), shared by the tests below."""
    folder = tmp_path_factory.mktemp("bombs")
    made: dict[Callable, Path] = {}
    paths = {}
    for bomb in BOMBS:
        if bomb.make not in made:
            made[bomb.make] = bomb.make(folder)
        paths[bomb.name] = made[bomb.make]
    return paths


def run_bomb(bomb: Bomb, path: Path, *args: str) -> tuple[Run, str]:
    """``archcalc COMMAND SPEC ARGS`` on the bomb (``-`` with the bomb on stdin); the shown path."""
    command, *rest = args
    if bomb.stdin:
        return measure(command, "-", *rest, stdin=path), "<stdin>"
    return measure(command, path, *rest), str(path)


def assert_contained(run: Run) -> None:
    assert run.peak_mib < PEAK_MIB, f"peak memory {run.peak_mib:.0f} MiB"
    assert "Traceback" not in run.stderr, run.stderr


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
def test_a_bomb_is_a_located_error_in_little_memory(bomb, bombs):
    run, shown = run_bomb(bomb, bombs[bomb.name], "params")
    assert run.code == 2, run.stderr
    assert run.stdout == ""
    line, col = bomb.where
    assert run.stderr.startswith(f"{shown}:{line}:{col}: error: "), run.stderr
    assert bomb.message in run.stderr.splitlines()[0], run.stderr
    assert "hint: " in run.stderr
    assert_contained(run)


@pytest.mark.parametrize("bomb", BOMBS, ids=[b.name for b in BOMBS])
def test_lint_reports_a_bomb_as_a_finding(bomb, bombs):
    """For lint a bomb is a spec with a mistake in it: one finding, exit 1 (docs/lint.md)."""
    run, shown = run_bomb(bomb, bombs[bomb.name], "lint", "--format", "concise", "--isolated")
    assert run.code == 1, run.stdout + run.stderr
    line, col = bomb.where
    first = run.stdout.splitlines()[0]
    assert first.startswith(f"{shown}:{line}:{col}: {bomb.rule} "), run.stdout
    assert bomb.message in first
    assert_contained(run)


#: every other command that reads a spec, on the bombs that stress different stages
OTHERS = [("shapes",), ("rf",), ("flops",), ("summary", "--format", "json"), ("export", "--to", "torch"),
          ("export", "--to", "onnx"), ("export", "--to", "numpy"), ("train", "--epochs", "1")]


@pytest.mark.parametrize("command", OTHERS, ids=lambda c: " ".join(c))
@pytest.mark.parametrize("name", ["billion-laughs", "blocks-doubling-40-levels", "power-tower-9**9**9",
                                  "file-of-100-MB", "symbolic-power-of-a-sum", "symbolic-layer-product"])
def test_every_command_stops_a_bomb(name, command, bombs, tmp_path):
    bomb = next(b for b in BOMBS if b.name == name)
    extra = ("-o", output_file(command, tmp_path)) if command[0] in ("export", "train") else ()
    run, shown = run_bomb(bomb, bombs[name], *command, *extra)
    assert run.code == 2, run.stderr
    line, col = bomb.where
    assert run.stderr.startswith(f"{shown}:{line}:{col}: error: "), run.stderr
    assert os.listdir(tmp_path) == []
    assert_contained(run)


ALGEBRA = [b for b in BOMBS if b.name.startswith("symbolic-") and b.name != "symbolic-power"]


@pytest.mark.parametrize("bomb", ALGEBRA, ids=[b.name for b in ALGEBRA])
def test_the_algebra_stops_in_under_a_second_and_100_mib(bomb, bombs):
    """Issue 18's promise: any spec within the limits answers, or stops with a located resource-limit
    error, in under 1 s and 100 MB. The memory is the child's peak (interpreter and sympy included);
    the time is the CPU time of loading the spec and counting in this process (the machine is shared,
    so wall time would measure the neighbours)."""
    import archcalc

    run, _ = run_bomb(bomb, bombs[bomb.name], "params")
    assert run.code == 2 and bomb.message in run.stderr, run.stderr
    assert run.peak_mib < 100, f"peak memory {run.peak_mib:.0f} MiB"
    archcalc.loads("input: [A]\nlayers: [linear: A]\n")  # sympy imported and warm: not the spec's cost
    started = time.process_time()
    with pytest.raises(archcalc.SpecError) as error:
        archcalc.load(bombs[bomb.name]).to_dict()  # every count, formatted
    assert time.process_time() - started < 1.0
    assert error.value.code == "resource-limit"


def test_the_largest_sizes_within_the_budget_are_counted():
    """The budget refuses what would explode, not real algebra: a degree-5 polynomial in six symbols
    (462 terms) as a layer's size, and a network of such layers, are counted exactly."""
    import archcalc

    model = archcalc.loads("input: [A, B, C, D, F, G]\nlayers:\n  - linear: {out: (A+B+C+D+F+G+1)**5}\n")
    total = model.trainable_params
    assert total.subs(dict.fromkeys(total.free_symbols, 1)) == 1 * 7**5 + 7**5  # G × out + out
    assert total.subs(dict.fromkeys(total.free_symbols, 2)) == 2 * 13**5 + 13**5
    a, b, c, d, f, g = sorted(total.free_symbols, key=str)
    assert total == ((g + 1) * (a + b + c + d + f + g + 1) ** 5).expand()  # in normal form, 714 terms


# -- long inputs: time linear in the size, up to the limits ----------------------------------------


def long_inputs(size: int) -> dict[str, str]:
    """Specs of about ``size`` bytes, each spending them on one thing that is text (issue 18: a 9.9 MB
    model name took `params` 48.7 s, folded for the terminal): a model name of one word, the same in
    CJK (two cells a character), a layer name, a name of many words, a comment, expressions as long
    as ``max_expr_chars`` allows (in 1,000 layers), 99,000 layers, and an unknown kind (an error quoting
    it, after looking for a name it is close to)."""
    tail = "input: [4]\nlayers:\n  - linear: {out: 3}\n"
    expression = "(" + "+".join(["1"] * 240) + ")"  # 481 characters, under the 500 of max_expr_chars
    line = f"  - linear: {{out: {expression} // 60}}\n"
    return {
        "model-name": f"name: {'a' * size}\n{tail}",
        "cjk-model-name": f"name: {'名' * (size // 3)}\n{tail}",
        "layer-name": f"input: [4]\nlayers:\n  - linear: {{out: 3, name: {'b' * size}}}\n",
        "name-of-many-words": f"input: [4]\nlayers:\n  - linear: {{out: 3, name: '{'ab ' * (size // 3)}'}}\n",
        "comment": f"# {'c' * size}\n{tail}",
        # evaluating costs about 12 µs per operator (6 s per MB of expressions, linear): 1,000 of them
        "long-expressions": "input: [4]\nlayers:\n" + line * min(size // len(line) - 1, 1_000),
        "many-layers": "input: [4]\nlayers:\n" + "  - relu\n" * min(size // 9, 99_000),
        "unknown-kind": f"input: [4]\nlayers:\n  - {'d' * size}\n",
    }


#: the commands each long input runs through: the reports in every text format, lint, an exporter
LONG_COMMANDS = [("params",), ("summary",), ("shapes", "--format", "markdown"), ("lint", "--isolated"),
                 ("export", "--to", "torch")]
#: the CPU seconds a command may take on a long input at the byte limit: linear work is a few seconds
#: (bench/README.md); the quadratic folding took 48.7 s, and a busy machine's neighbours are not counted
LONG_CPU_SECONDS = 30


@pytest.mark.slow
@pytest.mark.parametrize("kind", list(long_inputs(10)))
def test_long_inputs_at_the_size_limit_stay_linear(kind, tmp_path):
    path = tmp_path / f"{kind}.yaml"
    path.write_text(long_inputs(Limits().max_bytes - 100)[kind], encoding="utf-8")
    assert path.stat().st_size <= Limits().max_bytes
    for command in LONG_COMMANDS:
        extra = ("-o", output_file(command, tmp_path), "--force") if command[0] == "export" else ()
        run = measure(command[0], path, *command[1:], *extra)
        assert run.code in (0, 1, 2) and "Traceback" not in run.stderr and "internal error" not in run.stderr, \
            run.stderr[:500]
        assert run.cpu < LONG_CPU_SECONDS, f"{' '.join(command)}: {run.cpu:.1f} s of CPU"


# -- the limits: documented, settable --------------------------------------------------------------


def documented_limits(path: Path) -> dict[str, str]:
    """The ``| `name` | default | … |`` rows of the limits table in ``path``."""
    rows = re.findall(r"^\| `(max_\w+)` \| ([^|]+) \|", path.read_text(encoding="utf-8"), re.M)
    return {name: default.strip() for name, default in rows}


def shown(value: int) -> str:
    return "2⁶²" if value == 2**62 else f"{value:,}"


@pytest.mark.parametrize("doc", ["docs/spec.md", "README.md"])
def test_every_limit_is_documented_with_its_default(doc):
    assert documented_limits(ROOT / doc) == {f.name: shown(f.default) for f in fields(Limits)}


@pytest.mark.parametrize(("limit", "spec", "message"), [
    ("max_bytes=100", HEAD + "x-pad: '" + "x" * 100 + "'\n", "file is larger than the 100-byte limit"),
    ("max_depth=2", HEAD + "x-a: [[1]]\n", "nesting deeper than 2 levels"),
    ("max_nodes=5", HEAD + "x-a: [1, 2, 3]\n", "more than 5 YAML nodes"),
    ("max_layers=3", "input: [4]\nlayers:\n  - repeat: 4\n    layers: [relu]\n", "exceeds the 3-layer limit"),
    ("max_nesting=1", "input: [4]\nlayers:\n  - residual: [{residual: [relu]}]\n", "nested deeper than 1"),
    ("max_expr_chars=3", "input: [4]\nlayers:\n  - linear: 1+1+1\n", "expression longer than 3 characters"),
    ("max_int=100", "input: [4]\nlayers:\n  - linear: 101\n", "integer 101 is too large"),
])
def test_every_limit_can_be_lowered_by_option_or_environment(limit, spec, message, write, run):
    path = write(spec)
    assert run("params", path).exit_code == 0
    for result, code in ((run("params", path, "--limit", limit), 2),
                         (run("params", path, env={"ARCHCALC_LIMITS": limit}), 2),
                         (run("lint", path, "--isolated", "--limit", limit), 1)):  # lint: a located finding
        assert result.exit_code == code
        assert message in result.output, result.output


def test_the_option_raises_a_limit_the_environment_lowered(write, run):
    path = write("input: [4]\nlayers:\n  - repeat: 4\n    layers: [relu]\n")
    env = {"ARCHCALC_LIMITS": "max_layers=3,max_depth=50"}
    assert "exceeds the 3-layer limit" in run("params", path, env=env).stderr
    raised = run("params", path, "--limit", "max_layers=4", "--format", "json", env=env)
    assert raised.exit_code == 0 and '"output_shape": [4]' in raised.stdout


@pytest.mark.parametrize("value", ["max_layer=5", "max_layers", "max_layers=x", "max_layers=1.5"])
def test_a_bad_limit_is_a_usage_error(value, run, write):
    result = run("params", write(HEAD), "--limit", value)
    assert result.exit_code == 2
    assert "Invalid value for '--limit'" in result.stderr


# -- nesting the exporters cannot write --------------------------------------------------------------


def chain(levels: int, step: str, pad: int = 0) -> str:
    """A spec whose blocks call each other ``levels`` deep, each level wrapped by ``step``, the last
    block's relu inside ``pad`` named groups (to reach an exact depth)."""
    steps = {
        "named": "  b{i}: [{{b{j}: {{name: n{i}}}}}, relu]",
        "group": "  b{i}: [{{name: g{i}, layers: [b{j}, relu]}}]",
        "residual": "  b{i}: [residual: {{body: [b{j}, relu], shortcut: [conv2d: {{out: 2, kernel: 1}}]}}]",
        "concat": "  b{i}: [{{concat: [[b{j}, relu], [identity]]}}, {{conv2d: {{out: 2, kernel: 1}}}}]",
    }
    lines = "\n".join(steps[step].format(i=i, j=i + 1) for i in range(levels))
    last = "relu"
    for k in range(pad):
        last = f"{{name: p{k}, layers: [{last}]}}"
    return f"input: [2, 4, 4]\nblocks:\n{lines}\n  b{levels}: [{last}]\nlayers: [b0, flatten, linear: 2]\n"


def at_depth(step: str, depth: int):
    """A ``step`` chain whose graph is exactly ``depth`` levels deep (the nesting limit raised: depth is tested)."""
    import archcalc

    for levels, pad in itertools.product(range(depth, 0, -1), range(3)):
        model = archcalc.loads(chain(levels, step, pad), path="deep.yaml", limits=Limits(max_nesting=1000))
        if max(d for _, d in model.graph.walk()) == depth:
            return model
    raise AssertionError(f"no {step} chain is {depth} levels deep")


@pytest.mark.slow
@pytest.mark.parametrize("step", ["named", "group", "residual", "concat"])
@pytest.mark.parametrize("target", ["torch", "numpy"])
def test_an_exporter_writes_its_deepest_graph_and_refuses_one_level_more(target, step):
    """Python parses at most 200 nested brackets; the exporters' MAX_DEPTH keeps every structure under it."""
    import ast

    from archcalc.backends.numpy.source import MAX_DEPTH as NUMPY_DEPTH
    from archcalc.backends.numpy.source import render
    from archcalc.backends.torch.source import MAX_DEPTH as TORCH_DEPTH
    from archcalc.backends.torch.source import emit
    from archcalc.errors import SpecError

    write, limit = {"torch": (emit, TORCH_DEPTH), "numpy": (render, NUMPY_DEPTH)}[target]
    ast.parse(write(at_depth(step, limit)))
    with pytest.raises(SpecError) as refused:
        write(at_depth(step, limit + 1))
    error = refused.value
    assert error.code == "export-unsupported" and error.loc.path == "deep.yaml" and error.loc.line > 2
    assert error.message.endswith(f"is nested {limit + 1} levels deep; the {target} export writes at most {limit} "
                                  "(Python cannot parse brackets nested deeper)")


# -- huge values given on the command line -------------------------------------------------------------


def test_huge_option_values_are_errors_or_exact_numbers(run, write):
    path = write("input: [3, H, W]\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n  - flatten\n  - linear: 10\n")
    result = run("params", path, "--set", f"H={10**1000},W=4")  # summary used to crash on it (OverflowError)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --set H: 10000000000000000000… is too large\n  hint: values are limited")
    result = run("params", path, "--set", "H=1" + "0" * 5000)  # more digits than Python's int() reads
    assert result.exit_code == 2
    assert "Invalid value for '--set': 'H=" + "1" + "0" * 37 + "…': the value is too large " \
           "(5,001 digits)" in result.stderr
    for command in ("summary", "flops"):  # a batch past a float: the exact digits, not an OverflowError
        result = run(command, path, "--set", "H=8,W=8", "--batch-size", str(10**400), "--format", "json")
        assert result.exit_code == 0, result.output
        assert str(10**400 * 8 * 6 * 6 * 27) in result.stdout.replace("\n", "").replace(" ", "")
        assert run(command, path, "--set", "H=8,W=8", "--batch-size", str(10**400)).exit_code == 0
