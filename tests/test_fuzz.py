"""Property-based fuzzing: whatever the input, every command that reads a spec succeeds or exits 2
with a ``path:line:col: error:`` message (lint: 0 or 1 with located findings, 2 for an unreadable
file) — never a traceback, never a hang.

Four generators, from crude to careful: raw text and bytes; real specs mutated at random; spec
*structures* (layer stacks, blocks, repeats, residuals, concats, expressions, symbols, ``train:``)
that are valid-ish, so that many get past the parser; and networks that are well formed by
construction, so that the exporters and ``train`` run to the end. Every example runs the report
commands (params, shapes, rf, flops, summary, lint) and one writer (export to torch, onnx or numpy,
``lint --fix`` on a copy, or ``train`` for one epoch on a synthetic ``.npz``), each option drawn.

Profiles: ``ARCHCALC_FUZZ_EXAMPLES`` examples per property (500 in CI; the long profile in the
README's Testing section is ``ARCHCALC_FUZZ_EXAMPLES=10000``). Examples are derandomised (the same
every run) unless ``ARCHCALC_FUZZ_SEED`` names a seed. A crash found becomes a named case in
``REGRESSIONS`` below, run through every command.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import string
from contextlib import contextmanager, suppress
from pathlib import Path

import numpy as np
import pytest
import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, seed, settings
from hypothesis import event as hypothesis_event
from hypothesis import strategies as st
from hypothesis.errors import InvalidArgument

import archcalc
from archcalc.calc.flops import work
from archcalc.cli import main
from archcalc.errors import SpecError
from archcalc.lint.formats import FORMATS as LINT_FORMATS
from archcalc.training import BACKENDS
from tests.conftest import ROOT, shipped_specs

FUZZ_EXAMPLES = int(os.environ.get("ARCHCALC_FUZZ_EXAMPLES", "500"))
FUZZ_SEED = os.environ.get("ARCHCALC_FUZZ_SEED")
#: a command that runs this long is hung (a failure hypothesis shrinks), well past the 5 s deadline
HANG_SECONDS = 30


def fuzz(test):
    """The profile: FUZZ_EXAMPLES examples, 5 s per example, no example database (CI has none)."""
    configured = settings(max_examples=FUZZ_EXAMPLES, deadline=5000, derandomize=FUZZ_SEED is None, database=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                                 HealthCheck.function_scoped_fixture])(test)
    return seed(int(FUZZ_SEED))(configured) if FUZZ_SEED is not None else configured


LOCATED = re.compile(r"^(.+):(\d+):(\d+): error: \S")
WRITERS = ("torch", "onnx", "numpy", "fix", "train")
#: the options each example draws: formats and folding for the reports, one writer, stdin or a file
PLANS = st.fixed_dictionaries({
    "params": st.sampled_from([["--format", "json"], ["--explain"], ["--format", "markdown", "--depth", "1"]]),
    "shapes": st.sampled_from([["--explain"], ["--format", "json"], ["--format", "markdown"]]),
    "rf": st.sampled_from([[], ["--format", "json"], ["--format", "csv"], ["--format", "markdown", "--depth", "1"]]),
    "flops": st.sampled_from([[], ["--format", "json", "--batch-size", "3"], ["--format", "csv"]]),
    "summary": st.sampled_from([[], ["--format", "json"], ["--format", "markdown", "--depth", "9"],
                                ["--format", "csv", "--columns", "kind,in,shape,params,buffers,flops,rf,mem"]]),
    "lint": st.sampled_from([["--format", f, "--select", "ALL"] for f in LINT_FORMATS] + [["--statistics"]]),
    "writer": st.sampled_from(WRITERS),
    "stdin": st.booleans(),
})


@pytest.fixture(scope="module", autouse=True)
def warm_backends(tmp_path_factory) -> None:
    """Pay the one-time costs (importing torch, onnx; torch.optim's first optimizer imports
    torch._dynamo, seconds on a busy machine) before the first example, not inside its 5 s deadline."""
    folder = tmp_path_factory.mktemp("warm")
    spec, data = folder / "warm.yaml", folder / "warm.npz"
    spec.write_text("input: [2]\nlayers: [linear: 2]\n", encoding="utf-8")
    np.savez(data, x=np.zeros((12, 2), np.float32), y=np.arange(12) % 2)
    runner = CliRunner()
    for backend in BACKENDS:
        runner.invoke(main, ["train", str(spec), "--data", str(data), "--epochs", "1", "--backend", backend,
                             "--format", "json"])
    for target in ("torch", "onnx", "numpy"):
        runner.invoke(main, ["export", str(spec), "--to", target, "-o", str(folder / f"warm-{target}"), "--force"])


def event(text: str) -> None:
    """Count an outcome for ``--hypothesis-show-statistics`` (a no-op in the regression cases)."""
    with suppress(InvalidArgument):  # not inside a @given test
        hypothesis_event(text)


class Hung(Exception):
    pass


@contextmanager
def hang_guard(what: str):
    """Turn a command that never returns into an exception (and so a shrunk, reported example)."""

    def alarm(signum, frame):
        raise Hung(f"{what} ran for more than {HANG_SECONDS} s")

    previous = signal.signal(signal.SIGALRM, alarm)
    signal.setitimer(signal.ITIMER_REAL, HANG_SECONDS)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


class Fuzz:
    """One example's folder, its spec file, and the checks every command's result must pass."""

    runner = CliRunner()

    def __init__(self, folder: Path, content: str | bytes):
        self.folder = folder
        self.data = content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass")
        self.spec = folder / "fuzz.yaml"
        self.spec.write_bytes(self.data)

    def invoke(self, *args: str, stdin: bool = False):
        """Run ``archcalc ARGS`` on the spec file (or on ``-`` with the spec on standard input)."""
        target = "-" if stdin else str(self.spec)
        argv = [args[0], target, *args[1:]]
        with hang_guard(" ".join(argv)):
            result = self.runner.invoke(main, argv, input=self.data if stdin else None, catch_exceptions=False)
        assert "Traceback" not in result.output, result.output
        return result, "<stdin>" if stdin else target

    def ok_or_located(self, *args: str, stdin: bool = False) -> int:
        """The contract of every spec command: exit 0, or exit 2 with ``path:line:col: error:`` first."""
        result, shown = self.invoke(*args, stdin=stdin)
        assert result.exit_code in (0, 2), (args, result.exit_code, result.output)
        if result.exit_code == 2:  # the first error (train may print a note before it)
            first = next((line for line in result.stderr.splitlines() if not line.startswith("note: ")), "")
            match = LOCATED.match(first)
            assert match and match.group(1) == shown, (args, result.stderr)
            assert int(match.group(2)) >= 1 and int(match.group(3)) >= 1, first
        return result.exit_code

    def lint(self, *args: str, stdin: bool = False, path: str | None = None) -> int:
        """Lint's contract (docs/lint.md): 0 clean, 1 findings, 2 only for a file it cannot read."""
        result, shown = self.invoke("lint", *args, stdin=stdin) if path is None else self.lint_path(path, *args)
        assert result.exit_code in (0, 1, 2), (args, result.exit_code, result.output)
        assert "internal error" not in result.stderr, result.stderr
        if result.exit_code == 2:  # binary, not UTF-8, too large: located, and no findings made up
            first = result.stderr.splitlines()[0]
            assert LOCATED.match(first) and first.startswith(f"{shown}:"), result.stderr
            assert "binary file" in first or "not UTF-8" in first or "larger than" in first, first
        elif "json" in args:
            findings = json.loads(result.stdout)
            assert bool(findings) == (result.exit_code == 1)
            for finding in findings:
                assert finding["filename"] == shown
                assert finding["location"]["row"] >= 1 and finding["location"]["column"] >= 1, finding
        elif result.exit_code == 1 and "concise" in args:
            assert all(line.startswith(f"{shown}:") for line in result.stdout.splitlines()[:-2]), result.stdout
        return result.exit_code

    def lint_path(self, path: str, *args: str):
        with hang_guard(f"lint {path}"):
            result = self.runner.invoke(main, ["lint", path, *args], catch_exceptions=False)
        assert "Traceback" not in result.output, result.output
        return result, path

    # -- the writers ------------------------------------------------------------------------------

    def export(self, target: str) -> None:
        out = self.folder / "out" / f"model.{'onnx' if target == 'onnx' else 'py'}"
        out.parent.mkdir()
        if target == "onnx" and too_many_weights(self.spec):
            event("export --to onnx: skipped, too many weights for a fuzzing example")
            return
        code = self.ok_or_located("export", "--to", target, "-o", str(out))
        event(f"export --to {target}: exit {code}")
        assert os.listdir(out.parent) == ([out.name] if code == 0 else []), os.listdir(out.parent)
        if code == 0 and target != "onnx":
            compile(out.read_text(encoding="utf-8"), str(out), "exec", dont_inherit=True)  # it parses
        if code == 0:
            assert out.stat().st_size > 0

    def fix(self) -> None:
        """``lint --fix`` on a copy: in place, atomic, and a spec that built still builds."""
        copy = self.folder / "fixed" / "copy.yaml"
        copy.parent.mkdir()
        copy.write_bytes(self.data)
        before = self.ok_or_located("params") == 0
        event(f"lint --fix: exit {self.lint('--fix', '--format', 'concise', path=str(copy))}")
        assert os.listdir(copy.parent) == ["copy.yaml"]
        if before and copy.read_bytes() != self.data:
            result = self.runner.invoke(main, ["params", str(copy)], catch_exceptions=False)
            assert result.exit_code == 0, result.output

    def train(self) -> None:
        """One epoch on a synthetic .npz shaped for the spec (skipped when the network is too big to
        train in a moment); a spec that does not build fails as every command does."""
        data = self.folder / "data.npz"
        try:
            model = archcalc.load(str(self.spec))
        except SpecError:
            model = None
        if model is None or model.graph.free:  # train must refuse the spec before it looks at the data
            np.savez(data, x=np.zeros((12, 1), np.float32), y=np.zeros(12, np.int64))
        elif not synthetic_data(model, data):
            event("train: skipped, too large for a fuzzing example")
            return
        backend = sorted(BACKENDS)[len(self.data) % len(BACKENDS)]
        out = self.folder / "weights.npz"
        code = self.ok_or_located("train", "--data", str(data), "--epochs", "1", "--backend", backend,
                                  "--format", "json", "-o", str(out))
        assert out.exists() == (code == 0)
        event(f"train --backend {backend}: exit {code}")

    # -- everything -------------------------------------------------------------------------------

    def run(self, plan: dict) -> None:
        stdin = plan["stdin"]
        for command in ("params", "shapes", "rf", "flops", "summary"):
            code = self.ok_or_located(command, *plan[command], stdin=stdin)
            if command == "params":
                event(f"the spec {'builds' if code == 0 else 'is refused'}")
        self.lint(*plan["lint"], stdin=stdin)
        writer = plan["writer"]
        if writer == "fix":
            self.fix()
        elif writer == "train":
            self.train()
        else:
            self.export(writer)


#: the most weights an ONNX export in an example may build (the file holds them all): BERT-base's 110 M
#: take seconds and half a gigabyte, and are exported in tests/test_onnx.py
EXPORT_WEIGHTS = 2_000_000


def too_many_weights(spec: Path) -> bool:
    """Whether the spec builds, with more weights than :data:`EXPORT_WEIGHTS` (a spec that does not build is
    exported, to see it refused)."""
    try:
        model = archcalc.load(str(spec))
    except SpecError:
        return False
    if model.graph.free:
        return False
    return model.weights() > EXPORT_WEIGHTS


#: what one training example may cost: values per sample, and multiply-accumulates per sample
TRAIN_VALUES, TRAIN_MACS, TRAIN_SAMPLES = 4096, 2_000_000, 12


def synthetic_data(model, path: Path) -> bool:
    """Write random data that fits ``model`` (input shape, one class index, a row of labels or a target per
    sample) to ``path``; False when the network is too large to train on in a fuzzing example."""
    shape = tuple(int(d) for d in model.input_shape)
    macs = work(model.graph)[model.graph.root].macs
    if np.prod(shape) > TRAIN_VALUES or macs > TRAIN_MACS:
        return False
    rng = np.random.default_rng(0)
    x = rng.standard_normal((TRAIN_SAMPLES, *shape)).astype(np.float32)
    if model.input_ids is not None:  # an embedding reads the input: token ids below its vocab
        x = rng.integers(0, int(model.input_ids), (TRAIN_SAMPLES, *shape))
    train = model.spec.train
    out = tuple(int(d) for d in model.output_shape)
    if train is not None and train.task == "regression":
        y = rng.standard_normal((TRAIN_SAMPLES, *out)).astype(np.float32)
    elif train is not None and train.multi_label:  # a row of 0/1 labels per sample, laid out as the output
        y = rng.integers(0, 2, (TRAIN_SAMPLES, *out))
    else:
        classes = train.classes if train is not None and train.classes else max(out[-1] if out else 1, 2)
        y = np.arange(TRAIN_SAMPLES) % classes
    np.savez(path, x=x, y=y)
    return True


def run_example(tmp_path_factory, content: str | bytes, plan: dict) -> None:
    folder = tmp_path_factory.mktemp("fuzz")
    try:
        Fuzz(folder, content).run(plan)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- 1. raw text and bytes -------------------------------------------------------------------------

YAML_PIECES = st.sampled_from([*"[]{}:-,#&*!|>'\"%@`? \n\t", "input: ", "layers:", "\n  - ", "relu", "linear", "conv2d",
                               "out: ", "kernel", "3", "64", "-1", "0", "1e9", "null", "true", "  ", "<<: ", "&a ",
                               "*a", "!!python/object:os.system", "!x", "---\n", "...\n", "\ufeff", "\x00", "é",
                               "repeat: ", "residual", "concat", "blocks:", "\n  b(c):", "symbols:", "train:"])


@pytest.mark.slow
@fuzz
@given(content=st.one_of(st.binary(max_size=300), st.text(max_size=300),
                         st.lists(YAML_PIECES, max_size=60).map("".join)), plan=PLANS)
def test_raw_text_and_bytes(tmp_path_factory, content, plan):
    run_example(tmp_path_factory, content, plan)


# -- 2. real specs, mutated ------------------------------------------------------------------------

#: small specs only: each example runs every command, so a 150-layer ResNet-50 would dominate
SOURCES = [p.read_text(encoding="utf-8")
           for p in [*shipped_specs(), *sorted(ROOT.glob("tests/specs/export/*.yaml")),
                     *sorted(ROOT.glob("tests/lint/fixtures/*.yaml"))]
           if p.stem not in {"resnet50", "vgg16", "vgg16_bn", "vgg11", "alexnet", "densenet121"}]
TOKENS = ["0", "1", "-1", "2.5", "1e999", "10**1000", "9**9**9", "H", "c * 2", "(", ")", "[", "]", "{", "}", ":", ",",
          "- ", "  ", "\n", "#", "'", '"', "relu", "linear: 3", "flatten", "name: x", "name: x.y", "same", "repeat: 2",
          "residual:", "shortcut: auto", "concat:", "&a", "*a", "<<: *a", "!!python/name:os.system", "__import__",
          "x.real", "f(1)", "lambda: 0", "[i for i in x]", "a[0]", "{**a}", "(y := 1)", "f'{x}'", "*a, b",
          "in_channels", "in_shape[0]", "in_shape[-9]", "if: 1 < 2", "if: H > 3", "then: [relu]", "else:", "not",
          "inline: true", "name: a{1}", "{i + 1}", "{H}"]


@st.composite
def mutated(draw) -> str:
    text = draw(st.sampled_from(SOURCES))
    for _ in range(draw(st.integers(1, 4))):
        lines = text.splitlines(keepends=True) or [""]
        action = draw(st.sampled_from(["drop", "copy", "insert", "replace-number", "swap"]))
        if action == "drop":
            del lines[draw(st.integers(0, len(lines) - 1))]
        elif action == "copy":
            lines.insert(draw(st.integers(0, len(lines))), lines[draw(st.integers(0, len(lines) - 1))])
        elif action == "swap" and len(lines) > 1:
            i = draw(st.integers(0, len(lines) - 2))
            lines[i], lines[i + 1] = lines[i + 1], lines[i]
        elif action == "replace-number":
            numbers = list(re.finditer(r"\b\d+\b", text))
            if numbers:
                match = numbers[draw(st.integers(0, len(numbers) - 1))]
                value = draw(st.one_of(st.integers(-3, 300), st.sampled_from(TOKENS[:7])))
                text = text[:match.start()] + str(value) + text[match.end():]
                continue
        else:
            at = draw(st.integers(0, len(text)))
            text = text[:at] + draw(st.sampled_from(TOKENS)) + text[at:]
            continue
        text = "".join(lines)
    return text


@pytest.mark.slow
@fuzz
@given(content=mutated(), plan=PLANS)
def test_mutated_specs(tmp_path_factory, content, plan):
    run_example(tmp_path_factory, content, plan)


# -- 3. spec structures ----------------------------------------------------------------------------

NAMES = st.sampled_from(["c", "k", "n", "s", "H", "W", "X", "i"])


#: drawn once per example: whether its spec may hold mistakes at all (in 3 of 10), so that the others get
#: past the parser and exercise shape propagation, the calculators and the writers
HAZARDOUS = st.shared(st.integers(1, 10).map(lambda i: i <= 3), key="hazardous")


def rarely(common: st.SearchStrategy, rare: st.SearchStrategy, one_in: int = 10) -> st.SearchStrategy:
    """``rare`` one time in ``one_in`` in a hazardous example, never in the others."""
    mixed = st.integers(1, one_in).flatmap(lambda i: rare if i == 1 else common)
    return HAZARDOUS.flatmap(lambda hazardous: mixed if hazardous else common)


def seldom(common: st.SearchStrategy, rare: st.SearchStrategy) -> st.SearchStrategy:
    """``rare`` one time in forty, for a mistake that a spec can make in many places at once."""
    return rarely(common, rare, 40)


def expressions(max_leaves: int = 6) -> st.SearchStrategy:
    """Arithmetic over symbols and numbers, sometimes with what the whitelist must refuse."""
    leaf = st.one_of(st.integers(-3, 70).map(str), NAMES, st.sampled_from(["1.5", "0", "2**62", "10**19"]))
    tree = st.recursive(leaf, lambda inner: st.one_of(
        st.tuples(inner, st.sampled_from(["+", "-", "*", "//", "/", "**", "%"]), inner).map(
            lambda t: f"({t[0]} {t[1]} {t[2]})"),
        inner.map(lambda e: f"-{e}")), max_leaves=max_leaves)
    hostile = st.sampled_from(["c.real", "abs(c)", "c[0]", "lambda: 1", "[c for c in k]", "f'{c}'", "(c := 2)",
                               "*c", "__class__", "c if k else s", "c < k", "9**9**9", "'str'", "c @ k",
                               "(" * 40 + "1" + ")" * 40])
    # free symbols under large exponents (issue 18): a short text whose expansion has millions of terms
    algebra = st.one_of(
        st.builds(lambda names, k: f"({' + '.join(names)} + 1)**{k}", st.lists(NAMES, min_size=1, max_size=7),
                  st.integers(2, 80)),
        st.builds(lambda a, b, k: f"({a} + {b} + 1)**{k} * ({a} + {b} + 2)**{k}", NAMES, NAMES, st.integers(2, 64)),
        st.sampled_from(["H**64", "H**65", "(H*W)**33", "(c + k + n + s + H + W + X + 1)**30"]))
    return st.one_of(st.integers(-2, 70), tree, hostile, algebra)


SMALL = rarely(st.one_of(st.integers(1, 9), st.sampled_from(["c", "2*c", "c//2", "k", "(c+1)//2", "same"])),
               st.one_of(st.integers(-1, 0), st.sampled_from(["n-1", "c/2", "valid", "X"]), expressions(4)))
PAIR = st.one_of(SMALL, st.lists(SMALL, min_size=1, max_size=3))
BOOL = st.one_of(st.booleans(), st.sampled_from([0, 1, "yes"]))
#: names that mean something to Python, torch or a generated file (mangled, dunder, nn.Module's, the
#: emitters' own), through every exporter (issue 18; tests/test_generated_names.py checks what they compute)
ADVERSARIAL_NAMES = ["__w", "_M__w", "_Model__w", "__", "_", "__class__", "__dict__", "training", "_modules",
                     "state_dict", "get_buffer", "forward_", "build_model", "predict", "fit", "np", "INPUT_SHAPE",
                     "OrderedDict", "Linear", "match", "print", "ﬁ", "𝔘", "名前", "x\u0301"]
#: text at sizes where per-character folding, escaping or measuring shows (the byte limit itself is in
#: tests/test_hardening_bombs.py, test_long_inputs_at_the_size_limit_stay_linear: an example has 5 s)
LONG_TEXT = st.builds(lambda unit, n: unit * n, st.sampled_from(["a", "名", "ab ", "\x1b", "é\u0301", "a_"]),
                      st.integers(2_000, 60_000))
LAYER_NAMES = rarely(st.none(), st.one_of(
    st.sampled_from(["a", "b", "a.b", "", "self", "forward", "x", "__init__", "\"); import os; (\"", "clé", "0",
                     "torch", "nn", *ADVERSARIAL_NAMES]), LONG_TEXT))


#: F.pad's modes, torch's conv padding modes and a word that is neither
PAD_MODES = st.sampled_from(["constant", "zeros", "reflect", "replicate", "circular", "wrap"])


def layer() -> st.SearchStrategy:
    args = {
        "linear": st.fixed_dictionaries({"out": SMALL}, optional={"bias": BOOL, "in": SMALL}),
        "conv2d": st.fixed_dictionaries({"out": SMALL, "kernel": PAIR},
                                        optional={"stride": PAIR, "padding": PAIR, "dilation": PAIR, "groups": SMALL,
                                                  "bias": BOOL, "in": SMALL, "padding_mode": PAD_MODES}),
        # torch's amounts (2, 4 or 6; negative crops) in every mode, with a value now and then (refused but in
        # constant mode): torch's limits must be located errors, never a traceback
        "pad": st.fixed_dictionaries({"padding": st.lists(st.integers(-3, 9), min_size=1, max_size=7)},
                                     optional={"mode": PAD_MODES, "value": st.floats(-2, 2, allow_nan=False)}),
        "maxpool2d": st.fixed_dictionaries({"kernel": PAIR}, optional={"stride": PAIR, "padding": PAIR,
                                                                       "ceil_mode": BOOL, "dilation": PAIR}),
        "avgpool2d": st.fixed_dictionaries({"kernel": PAIR}, optional={"stride": PAIR, "ceil_mode": BOOL,
                                                                       "padding": PAIR}),
        "adaptive_avgpool2d": st.fixed_dictionaries({"out": PAIR}),
        "batchnorm2d": st.fixed_dictionaries({}, optional={"features": SMALL}),
        "batchnorm1d": st.fixed_dictionaries({}, optional={"features": SMALL}),
        "dropout": st.fixed_dictionaries({}, optional={"p": st.one_of(st.floats(-1, 2), st.just("1e999"))}),
        "softmax": st.fixed_dictionaries({}, optional={"dim": st.integers(-3, 3)}),
        "leaky_relu": st.fixed_dictionaries({}, optional={"slope": st.floats(-1, 1, allow_nan=False)}),
        "sizes": st.fixed_dictionaries({"out": SMALL}),  # an unknown kind
    }
    with_args = st.tuples(st.sampled_from(sorted(set(args) - {"sizes"})), LAYER_NAMES).flatmap(
        lambda kn: args[kn[0]].map(lambda a: {kn[0]: a if kn[1] is None else {**a, "name": kn[1]}}))
    bare = rarely(st.sampled_from(["relu", "flatten", "sigmoid", "tanh", "identity", "global_avgpool2d", "gelu",
                                   "batchnorm2d", "softmax", "dropout"]), st.sampled_from(["reluu", "unit", "stage"]))
    return seldom(st.one_of(with_args, bare), args["sizes"].map(lambda a: {"sizes": a}))


def items(depth: int = 0) -> st.SearchStrategy:
    leaf = layer()
    if depth >= 2:
        return seldom(st.lists(leaf, min_size=1, max_size=4), st.just([]))
    inner = st.deferred(lambda: items(depth + 1))
    construct = st.one_of(
        st.builds(lambda n, body, index: {"repeat": n, "layers": body, **({"index": index} if index else {})},
                  rarely(st.integers(0, 3), st.sampled_from([-1, "n", 10**12])), inner,
                  rarely(st.sampled_from([None, "i"]), st.sampled_from(["c", "__x"]))),
        st.builds(lambda body, short, then: {"residual": {"body": body, "shortcut": short, "then": then}},
                  inner, st.one_of(rarely(st.sampled_from(["identity", "auto", "if_same"]), st.just("bogus")), inner),
                  inner),
        st.builds(lambda body: {"residual": body}, inner),
        st.builds(lambda branches: {"concat": branches},
                  rarely(st.lists(inner, min_size=2, max_size=3), st.lists(inner, max_size=1))),
        st.builds(lambda body, name: {"name": name, "layers": body}, inner,
                  rarely(st.sampled_from(["a", "b"]), st.sampled_from(["a.b", ""]))),
        st.builds(lambda c, k: {"stage": {"c": c, "k": k}}, SMALL, SMALL),
        st.builds(lambda c: {"unit": [c]}, SMALL),
        st.builds(lambda c: {"unit": c}, SMALL),
    )
    return seldom(st.lists(st.one_of(leaf, construct), min_size=1, max_size=5), st.just([]))


DIMS = rarely(st.integers(1, 40), st.one_of(st.integers(-2, 0), NAMES, st.sampled_from(["2*H", "H//2", "10**30"])))
SPECS = st.fixed_dictionaries(
    {"input": rarely(st.lists(DIMS, min_size=1, max_size=4), st.one_of(st.just([]), st.just(7))),
     "layers": items(),
     "blocks": rarely(st.fixed_dictionaries({"stage(c, k = 3)": items(2).map(lambda body: [*body, {"unit": "c"}]),
                                             "unit(c)": items(2)}),
                      st.fixed_dictionaries({}, optional={"loop()": st.just(["loop"]), "bad(c, c)": st.just(["relu"]),
                                                          "stage(c, k = 3)": items(1)})),
     "symbols": rarely(st.fixed_dictionaries({"c": st.integers(1, 16), "k": st.sampled_from([1, 3, 5]),
                                              "n": st.integers(1, 3), "s": st.integers(1, 2)},
                                             optional={"H": st.one_of(st.none(), st.integers(4, 40))}),
                       st.one_of(st.dictionaries(NAMES, st.one_of(st.none(), st.integers(-1, 40)), max_size=4),
                                 st.lists(NAMES, max_size=3)))},
    optional={
        "name": rarely(st.text(string.printable, min_size=1, max_size=12),
                       st.one_of(st.sampled_from(["", " ", "a.b", *ADVERSARIAL_NAMES]), LONG_TEXT)),
        "train": st.fixed_dictionaries({}, optional={
            "task": rarely(st.sampled_from(["classification", "regression"]), st.just("clustering")),
            "loss": rarely(st.sampled_from(["mse", "cross_entropy", "bce", "bce_with_logits"]),
                           st.sampled_from(["focal", "nll"])),
            "optimizer": rarely(st.sampled_from(["sgd", "adam", "adamw", "rmsprop", "adagrad", "adadelta", "adamax",
                                                 "nadam", "radam", {"nadam": {"decoupled_weight_decay": True}},
                                                 {"sgd": {"lr": 0.1, "momentum": 0.9, "nesterov": True}}]),
                                st.sampled_from([{"adam": {"lr": -1}}, {"sgd": {"momentum": 2}}, "lbfgs",
                                                 {"adadelta": {"rho": 1.5}}, {"nadam": {"momentum_decay": -1}}])),
            "classes": rarely(st.integers(2, 12), st.integers(0, 1)), "epochs": rarely(st.integers(1, 3), st.just(0)),
            "batch_size": rarely(st.integers(1, 8), st.just(0)),
            "early_stopping": st.one_of(st.booleans(), st.integers(1, 3), st.just({"patience": 2})),
            "weight_decay": rarely(st.floats(0, 1), st.just(-1)), "l1": rarely(st.floats(0, 1), st.just(-0.5)),
            "seed": rarely(st.integers(0, 3), st.just(-1))}),
        "x-notes": st.one_of(st.text(max_size=5), LONG_TEXT),
    },
)


@pytest.mark.slow
@fuzz
@given(spec=SPECS, plan=PLANS)
def test_structured_specs(tmp_path_factory, spec, plan):
    run_example(tmp_path_factory, yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), plan)


# -- 4. networks well formed by construction -------------------------------------------------------


@st.composite
def networks(draw) -> dict:
    """A CNN or an MLP whose shapes fit, so most examples build and every writer runs to the end."""
    c = channels = draw(st.integers(1, 3))
    size = start = draw(st.integers(4, 12))
    blocks = {"conv_bn(c, k = 3, s = 1)": [{"conv2d": {"out": "c", "kernel": "k", "stride": "s",
                                                       "padding": "k // 2", "bias": False}},
                                            "batchnorm2d", "relu"]}
    body: list = []
    cnn = draw(st.booleans())
    if cnn:
        for _ in range(draw(st.integers(1, 4))):
            out = draw(st.integers(1, 6))
            piece = draw(st.sampled_from(["conv", "block", "residual", "concat", "repeat", "pool", "act", "norm"]))
            if piece == "conv":
                body.append({"conv2d": {"out": out, "kernel": 3, "padding": "same"}})
                c = out
            elif piece == "block":
                body.append({"conv_bn": {"c": f"{out} * 2", "k": draw(st.sampled_from([1, 3]))}})
                c = out * 2
            elif piece == "residual":
                body.append({"residual": {"body": [{"conv2d": {"out": out, "kernel": 3, "padding": 1}}, "relu"],
                                          "shortcut": draw(st.sampled_from(["auto", "if_same"])), "then": ["relu"]}})
                c = out  # auto projects, if_same adds nothing when the shapes differ
            elif piece == "concat":
                body.append({"concat": [[{"conv2d": {"out": out, "kernel": 1}}], ["identity"]]})
                c = out + c
            elif piece == "repeat":
                body.append({"repeat": draw(st.integers(0, 2)), "index": "i",
                             "layers": [{"conv2d": {"out": c, "kernel": 3, "padding": 1, "groups": 1}}, "tanh"]})
            elif piece == "pool" and size >= 2:
                body.append({draw(st.sampled_from(["maxpool2d", "avgpool2d"])): {"kernel": 2}})
                size //= 2
            elif piece == "norm":
                body.append({"batchnorm2d": {"features": c}})
            else:
                body.append(draw(st.sampled_from(["relu", "sigmoid", "gelu", {"leaky_relu": {"slope": 0.1}}])))
        body.append(draw(st.sampled_from(["flatten", "global_avgpool2d"])))
    for _ in range(draw(st.integers(0, 3))):
        body += [{"linear": {"out": draw(st.integers(1, 16))}}, draw(st.sampled_from(["relu", "tanh", {"dropout": 0.2},
                                                                                        "batchnorm1d"]))]
    classes = draw(st.integers(2, 5))
    body.append({"linear": {"out": classes, "name": draw(st.sampled_from(["head", "logits", "fc", "out",
                                                                        *ADVERSARIAL_NAMES]))}})
    if draw(st.booleans()):
        body.append("softmax")
    regression = draw(st.booleans())
    train = {"task": "regression", "loss": "mse"} if regression else {
        "task": "classification", "classes": classes, "loss": "cross_entropy"}
    train |= {"optimizer": draw(st.sampled_from(["sgd", {"adam": {"lr": 0.01}}, {"sgd": {"momentum": 0.9}}])),
              "batch_size": draw(st.integers(1, 8)), "epochs": 1}
    return {"name": draw(st.sampled_from(["net", "my-net", "Net 2", "résumé", *ADVERSARIAL_NAMES])),
            "input": [channels, start, start] if cnn else [draw(st.integers(1, 20))],
            "blocks": blocks, "layers": body, "train": train}


@pytest.mark.slow
@fuzz
@given(spec=networks(), plan=PLANS)
def test_well_formed_networks(tmp_path_factory, spec, plan):
    run_example(tmp_path_factory, yaml.safe_dump(spec, sort_keys=False, allow_unicode=True), plan)


# -- 5. line endings through lint --fix -----------------------------------------------------------

#: the YAML reader's line breaks (archcalc.spec.source.LINE_BREAK), and a stray CR before a CR LF
BREAKS = ["\n", "\r\n", "\r", "\x85", "\u2028", "\u2029", "\r\r\n"]
#: suppression comments, used or not (an unused one is what --fix removes), own-line or trailing
COMMENTS = st.sampled_from(["", "", "  # archcalc: disable=A101", "  # archcalc: disable=N105 -- bias before norm",
                            "  # archcalc: disable=A101, N102", "  # archcalc: disable=W9", "  # a plain comment",
                            "  # archcalc: disable-file=A101"])
FIXABLE = [p.read_text(encoding="utf-8") for p in sorted(ROOT.glob("tests/lint/fixtures/*.yaml"))
           if p.stem.split(".")[0] in {"N105", "I301", "A101", "N102"}] + [
    "input: [8]\nlayers:\n  - linear: 4\n  - batchnorm1d\n  - relu\n  - linear:\n      out: 3\n  - batchnorm1d\n"
    "  - linear: 2\n# important comment\ntrain: {epochs: 3}\n",
    "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - batchnorm2d\n  - flatten\n  - linear: 2\n"]


@st.composite
def line_ending_variants(draw) -> tuple[str, str]:
    """A spec with suppression comments added, with drawn breaks (one for the file, or one per line) and maybe a
    byte-order mark, and the same text with every break LF."""
    lines = draw(st.sampled_from(FIXABLE)).split("\n")
    commented = []
    for line in lines[:-1]:
        if draw(st.integers(0, 5)) == 0:
            commented.append(draw(COMMENTS).strip() or "# note")  # a comment on a line of its own
        commented.append(line + (draw(COMMENTS) if line.strip() and not line.lstrip().startswith("#") else ""))
    if draw(st.booleans()):
        breaks = [draw(st.sampled_from(BREAKS))] * len(commented)
    else:
        breaks = draw(st.lists(st.sampled_from(BREAKS), min_size=len(commented), max_size=len(commented)))
    text = "".join(line + brk for line, brk in zip(commented, breaks))
    return _normalised(text), ("\ufeff" if draw(st.booleans()) else "") + text  # CR CR LF is two lines, as read


def _normalised(text: str) -> str:
    from archcalc.spec.source import LINE_BREAK

    return LINE_BREAK.sub("\n", text.removeprefix("\ufeff"))


@pytest.mark.slow
@fuzz
@given(variant=line_ending_variants())
def test_lint_fix_is_the_same_whatever_the_line_breaks(tmp_path_factory, variant):
    """``lint --fix`` edits the lines the YAML reader reads: the file it writes is, with its breaks made LF, the
    file it writes from the LF text; it never refuses a fix of its own, and what built still builds alike."""
    plain, broken = variant
    folder = tmp_path_factory.mktemp("breaks")
    try:
        runner = CliRunner()
        results = {}
        for name, text in (("lf", plain), ("broken", broken)):
            path = folder / f"{name}.yaml"
            path.write_bytes(text.encode("utf-8"))
            with hang_guard(f"lint --fix {name}"):
                result = runner.invoke(main, ["lint", str(path), "--fix", "--format", "concise"],
                                       catch_exceptions=False)
            assert result.exit_code in (0, 1), result.output
            assert "--fix refused" not in result.output and "internal error" not in result.output, result.output
            results[name] = path.read_bytes().decode("utf-8")
        assert results["broken"].startswith("\ufeff") == broken.startswith("\ufeff")
        assert _normalised(results["broken"]) == results["lf"]
        try:
            before = archcalc.loads(plain)
        except SpecError:
            event("line endings: the spec does not build")
            return
        after = archcalc.loads(results["broken"].removeprefix("\ufeff"))
        assert after.output_shape == before.output_shape
        assert [layer.kind for layer in after.layers] == [layer.kind for layer in before.layers]
        event(f"line endings: fixed {'something' if results['lf'] != plain else 'nothing'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- 6. broken data files through train and export --weights -------------------------------------

DATA_SPEC = "input: [4]\nlayers:\n  - linear: 3\ntrain: {epochs: 1, batch_size: 8}\n"
REGRESSION_SPEC = "input: [4]\nlayers:\n  - linear: 2\ntrain: {epochs: 1, task: regression, loss: mse}\n"
ODD_VALUES = [np.inf, -np.inf, np.nan, 1e30, -1.0, 1.5, 3.0, 1e39, 2.0**63, -(2.0**63)]


@st.composite
def broken_arrays(draw) -> tuple[dict, str]:
    """x and y for the 4→3 classifier (or 4→2 regression), broken in one or two drawn ways."""
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    n = draw(st.integers(0, 40))
    x, y = rng.random((n, 4)), rng.integers(0, 3, n).astype(draw(st.sampled_from(["int64", "float64", "int8",
                                                                                    "uint64", "bool"])))
    spec = DATA_SPEC
    for _ in range(draw(st.integers(1, 2))):
        how = draw(st.sampled_from(["rows", "label", "input", "dtype", "shape", "regression", "none"]))
        if how == "rows":
            y = np.resize(y, max(0, n + draw(st.integers(-n, 5))))
        elif how == "label" and y.ndim == 1 and len(y) and y.dtype.kind in "biuf":
            y = y.astype(float)
            y[draw(st.integers(0, len(y) - 1))] = draw(st.sampled_from(ODD_VALUES))
        elif how == "input" and x.ndim == 2 and x.size:  # (an earlier "shape" may have left 3 columns, or none)
            row, column = draw(st.integers(0, len(x) - 1)), draw(st.integers(0, x.shape[1] - 1))
            x[row, column] = draw(st.sampled_from(ODD_VALUES))
        elif how == "dtype":
            x, y = draw(st.sampled_from([(x.astype(complex), y), (x, y.astype(str)), (x.astype(np.float16), y),
                                         (x, np.array(list(y), dtype=object)), (x.astype(bool), y)]))
        elif how == "shape" and x.ndim == 2 and x.shape[1] == 4:
            x = draw(st.sampled_from([x.reshape(-1), x.reshape(len(x), 2, 2), x[:, :3], np.array(5.0)]))
        elif how == "regression" and y.ndim >= 1:
            spec = REGRESSION_SPEC
            y = draw(st.sampled_from([rng.random((len(y), 2)), rng.random(len(y)), rng.random((len(y), 2)) * 1e39]))
    return {"x": x, "y": y}, spec


def _npy(array: np.ndarray) -> bytes:
    import io

    buffer = io.BytesIO()
    np.save(buffer, array, allow_pickle=True)
    return buffer.getvalue()


@st.composite
def broken_data_files(draw) -> tuple[str, bytes, str]:
    """(file name, bytes, spec) of a data file as one goes wrong: broken arrays in a sound .npz or CSV, or a
    sound file broken at the byte level (a zip signature on garbage, cut short, bytes flipped, a .npy header
    cut or declaring more than it holds, a CSV with a BOM, CR lines, stray cells)."""
    import io
    import zipfile

    arrays, spec = draw(broken_arrays())
    kind = draw(st.sampled_from(["npz", "npz", "csv", "bytes"]))
    if kind == "csv":
        x, y = np.atleast_2d(arrays["x"]), np.atleast_1d(arrays["y"])
        rows = [",".join(str(v) for v in np.ravel(xi)) + f",{yi}" for xi, yi in zip(x, y)]
        for _ in range(draw(st.integers(0, 2))):
            if rows:
                i = draw(st.integers(0, len(rows) - 1))
                rows[i] = draw(st.sampled_from([rows[i] + ",1", "a,b,c,d,e", "", " ", rows[i].replace(",", ";"),
                                                "1,2,3,4,nan", "1,2,3,4,inf", "1,2,3,4,1e400", "\x00"]))
        header = draw(st.sampled_from(["", "a,b,c,d,label\n"]))
        text = header + draw(st.sampled_from(["\n", "\r\n", "\r"])).join(rows) + "\n"
        data = (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode("utf-8", "surrogatepass")
        return "data.csv", data, spec
    members = {f"{k}.npy": _npy(v) for k, v in arrays.items()}
    if kind == "bytes":
        how = draw(st.sampled_from(["signature", "cut-header", "declared", "drop-member", "truncate", "flip"]))
        if how == "signature":
            return "data.npz", b"PK\x03\x04" + draw(st.binary(max_size=200)), spec
        key = draw(st.sampled_from(sorted(members)))
        if how == "cut-header":
            members[key] = members[key][:draw(st.integers(0, 127))]
        elif how == "declared":
            header = members[key][:128].replace(b"(", b"(10000000000" + b"0" * draw(st.integers(0, 9)) + b", ", 1)
            members[key] = header + members[key][128:]
        elif how == "drop-member":
            del members[key]
    buffer = io.BytesIO()
    compression = draw(st.sampled_from([zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED]))
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)
    data = buffer.getvalue()
    if kind == "bytes" and how == "truncate":
        data = data[:draw(st.integers(0, len(data)))]
    elif kind == "bytes" and how == "flip" and data:
        data = bytearray(data)
        for _ in range(draw(st.integers(1, 8))):
            data[draw(st.integers(0, len(data) - 1))] = draw(st.integers(0, 255))
        data = bytes(data)
    return "data.npz", data, spec


def _located_at_one_of(result, paths: set[str]) -> None:
    first = next((line for line in result.stderr.splitlines() if not line.startswith("note: ")), "")
    match = LOCATED.match(first)
    assert match and match.group(1) in paths, (first, paths)
    assert "internal error" not in result.stderr, result.stderr


@pytest.mark.slow
@fuzz
@given(case=broken_data_files(), weights=st.booleans())
def test_broken_data_files(tmp_path_factory, case, weights):
    """``train --data`` (and ``export --weights`` on the same bytes) trains, exports, or stops with a located error
    at the data file or the spec, writing nothing; never an internal error, never a hang."""
    name, data, spec_text = case
    folder = tmp_path_factory.mktemp("data")
    try:
        spec, path = folder / "s.yaml", folder / name
        spec.write_text(spec_text, encoding="utf-8")
        path.write_bytes(data)
        runner, out = CliRunner(), folder / "out"
        out.mkdir()
        if weights and name.endswith(".npz"):
            argv = ["export", str(spec), "--to", "onnx", "--weights", str(path), "-o", str(out / "m.onnx")]
        else:
            argv = ["train", str(spec), "--data", str(path), "--format", "json", "-o", str(out / "w.npz")]
        with hang_guard(" ".join(argv[:2])):
            result = runner.invoke(main, argv, catch_exceptions=False)
        assert "Traceback" not in result.output, result.output
        assert result.exit_code in (0, 2), result.output
        if result.exit_code == 2:
            _located_at_one_of(result, {str(spec), str(path)})
            assert os.listdir(out) == []
        else:
            assert len(os.listdir(out)) == 1
        event(f"{argv[0]} on broken {name}: exit {result.exit_code}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- 7. huge integers --------------------------------------------------------------------------------

#: sizes as a spec writes them, and the numbers they are (for options)
HUGE_VALUES = {"2**62": 2**62, "2**200": 2**200, "2**255": 2**255, "2**256": 2**256, "2**13000": 2**13000,
               "9" * 39: 10**39 - 1, "9" * 41: 10**41 - 1, "10**77": 10**77, "4611686018427387903": 2**62 - 1,
               "1": 1, "7": 7}
HUGE = st.sampled_from(sorted(HUGE_VALUES))
#: where each command takes a count that multiplies sizes
BATCH = {"flops": "--batch-size", "summary": "--batch-size", "plan": "--batch"}


@st.composite
def huge_specs(draw) -> tuple[str, int | None, list[str], dict]:
    """A spec of huge sizes and expressions, a huge batch, and limits up to their ceiling and past it."""
    dims = draw(st.lists(HUGE, min_size=1, max_size=6))
    layers = draw(st.lists(st.sampled_from(["relu", "flatten", "linear: {out: SIZE}", "linear: SIZE",
                                            "layernorm", "dropout"]), min_size=1, max_size=4))
    body = "".join(f"  - {layer.replace('SIZE', draw(HUGE))}\n" for layer in layers)
    batch = draw(st.one_of(st.none(), HUGE.map(HUGE_VALUES.get), st.just(10**1000), st.just(10**1001)))
    limit = draw(st.sampled_from([None, str(2**256), str(2**256 + 1), "9" * 4000, "9" * 5000, "1000"]))
    env = {"ARCHCALC_LIMITS": f"max_int={limit}"} if limit and draw(st.booleans()) else {}
    args = ["--limit", f"max_int={limit}"] if limit and not env else []
    return f"input: [{', '.join(dims)}]\nlayers:\n{body}", batch, args, env


@pytest.mark.slow
@fuzz
@given(case=huge_specs(), command=st.sampled_from(["params", "shapes", "flops", "summary", "plan", "lint",
                                                     "diagram"]))
def test_huge_integers_print_or_are_refused(tmp_path_factory, case, command):
    """Every integer a command could print is printable, or refused first: exit 0 (lint: 0 or 1), or a located
    error (an option's own error for a value past its bound, click's for a bad --limit), never Python's
    4,300-digit refusal as an internal error."""
    text, batch, args, env = case
    if batch is not None and command in BATCH:
        args = [*args, BATCH[command], str(batch)]
    folder = tmp_path_factory.mktemp("huge")
    try:
        path = folder / "huge.yaml"
        path.write_text(text, encoding="utf-8")
        with hang_guard(command):
            result = CliRunner().invoke(main, [command, str(path), *args], env=env, catch_exceptions=False)
        assert "Traceback" not in result.output and "internal error" not in result.output, result.output[:2000]
        assert "Exceeds the limit" not in result.output, result.output[:2000]
        assert result.exit_code in (0, 1, 2), result.output[:2000]
        if result.exit_code == 2 and "Usage:" not in result.output and not result.stderr.startswith("error: --"):
            _located_at_one_of(result, {str(path)})
        event(f"huge integers, {command}: exit {result.exit_code}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- 8. negative symbolic sizes ------------------------------------------------------------------------

@st.composite
def symbolic_sizes(draw) -> str:
    """A size in H that may fall, dip to 0, or grow from some value on."""
    a, b = draw(st.integers(1, 4)), draw(st.integers(-12, 12))
    return draw(st.sampled_from([f"{a}*H + {b}", f"{b} - {a}*H", f"H // {a} - {abs(b)}", f"(H - {abs(b)})**2",
                                 f"H // {a + 1} - H // {a + 2} + {b}", f"H*H - {abs(b)}*H", f"{abs(b) + 1}",
                                 f"(H + {b}) // {a}"]))


@st.composite
def symbolic_specs(draw) -> str:
    layers = []
    for _ in range(draw(st.integers(1, 3))):
        layers.append(draw(st.sampled_from([
            f"conv1d: {{out: 2, kernel: {draw(st.integers(1, 7))}, stride: {draw(st.integers(1, 3))}}}",
            "relu",
            "conv1d: {out: 2, kernel: 3, padding: 1}"])))
    layers.append("flatten")
    layers.append(f"linear: {{out: {draw(symbolic_sizes())}}}")
    if draw(st.booleans()):
        layers.append(f"linear: {{out: {draw(symbolic_sizes())}}}")
    return "input: [2, H]\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers)


@pytest.mark.slow
@fuzz
@given(text=symbolic_specs())
def test_symbolic_sizes_are_sizes_or_refused(tmp_path_factory, text):
    """With H free a spec is refused with a located error, or its formulas are sizes: at the least value stated
    (1 when none) and 40 values past it, every layer builds with H given and every output size is the formula's
    value there, at least 1; below a stated least value some layer does not build."""
    folder = tmp_path_factory.mktemp("symbolic")
    try:
        path = folder / "s.yaml"
        path.write_text(text, encoding="utf-8")
        with hang_guard("shapes"):
            result = CliRunner().invoke(main, ["shapes", str(path), "--format", "json"], catch_exceptions=False)
        assert "internal error" not in result.output, result.output
        if result.exit_code == 2:
            _located_at_one_of(result, {str(path)})
            event("negative symbolic sizes: refused")
            return
        assert result.exit_code == 0, result.output
        model = archcalc.load(str(path), symbolic_dims=True)
        least = model.graph.minimums.get("H", (1, None, None))[0]
        for h in range(least, least + 40):
            built = archcalc.load(str(path), H=h)
            assert all(int(d) >= 1 for node in built.layers for d in node.out_shape), (h, text)
            assert tuple(built.output_shape) == tuple(int(archcalc.symbolic.subs(d, {"H": h}))
                                                      for d in model.output_shape), h
        if least > 1:
            with pytest.raises(SpecError):
                archcalc.load(str(path), H=least - 1)
        event(f"negative symbolic sizes: {'a least value stated' if least > 1 else 'sizes everywhere'}")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


# -- crashes found by fuzzing, kept as named cases ------------------------------------------------

#: name → spec text that once crashed a command; each runs through every command and every writer
REGRESSIONS: dict[str, str] = {
    "number-with-trailing-underscore": "0_",  # matched the float pattern, then float() refused it
    # flops and summary: IndexError on the residual's body (the list form skipped the empty check)
    "residual-with-an-empty-list": "input: [1]\nlayers:\n  - residual: []\n",
    # ResidualNode.sum_shape read the last node of a body that repeat: 0 had emptied
    "residual-body-emptied-by-repeat-0": "input: [3, 4, 4]\nlayers:\n  - residual:\n      body: [{repeat: 0, layers: "
                                         "[relu]}]\n      shortcut: auto\n  - flatten\n  - linear: 2\n",
    # a network of no layers at all: rf's final_field indexed an empty list
    "every-repeat-runs-0-times": "input: [4]\nlayers:\n  - {repeat: 0, layers: [relu]}\n",
    # export and train printed 'error: H must have values' with no location
    "free-symbol-in-a-writer": "input: [3, H, 8]\nlayers:\n  - conv2d: {out: 2, kernel: 3}\n  - flatten\n"
                               "  - linear: 2\n",
    # train: cross-entropy on a [3, 4, 4] output crashed in the loss (IndexError)
    "classifier-without-a-vector-output": "input: [3, 4, 4]\nlayers:\n  - conv2d: {out: 3, kernel: 1}\n",
    # train: one output under cross-entropy with two classes crashed in the loss
    "one-output-under-cross-entropy": "input: [4]\nlayers:\n  - linear: 1\n",
    # train: batch norm on one value per channel with batch_size 1 raised ValueError in the first step
    "batch-norm-with-batches-of-one": "input: [4]\nlayers:\n  - linear: 3\n  - batchnorm1d\n"
                                      "train: {batch_size: 1}\n",
    # train: cross-entropy under task: regression took real values for class indices (IndexError)
    "cross-entropy-on-a-regression": "input: [20]\nlayers:\n  - linear: 16\n  - relu\n  - linear: 1\ntrain:\n"
                                     "  task: regression\n  loss: cross_entropy\n",
    # export --to onnx: onnx's checker refused the empty graph name (ValidationError)
    "empty-model-name": "name: ''\ninput: [1]\nlayers: [relu]\n",
    # the numpy export wrote code nested past Python's 200 brackets ('internal error'), torch a RecursionError
    "nesting-deeper-than-generated-code-can-be": "input: [4]\nblocks:\n" + "".join(
        f"  b{i}: [{{b{i + 1}: {{name: n{i}}}}}, relu]\n" for i in range(70)) + "  b70: [relu]\nlayers: [b0]\n",
}


@pytest.mark.parametrize("writer", WRITERS)
@pytest.mark.parametrize("name", sorted(REGRESSIONS))
def test_regressions(tmp_path_factory, name, writer):
    for stdin in (False, True):
        plan = {"params": ["--explain"], "shapes": ["--explain"], "rf": [], "flops": [], "summary": [],
                "lint": ["--format", "json"], "writer": writer, "stdin": stdin}
        run_example(tmp_path_factory, REGRESSIONS[name], plan)
