"""Property-based fuzzing: whatever the input, every command succeeds or exits 2 with a located
message — never a traceback, never a hang.

Two generators: raw YAML text/bytes, and spec structures (layer stacks, blocks, repeats,
residuals, concats, expressions, symbols) that are valid-ish, so that most examples get past the
parser and exercise shape propagation. The quick profile (CI) runs ``FUZZ_EXAMPLES`` examples per
property (default 500); the long profile is ``ARCHCALC_FUZZ_EXAMPLES=10000 python -m pytest
tests/test_fuzz.py``. A crash found becomes a named case in ``REGRESSIONS`` below.
"""

from __future__ import annotations

import os
import re

import yaml
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from archcalc.cli import main

FUZZ_EXAMPLES = int(os.environ.get("ARCHCALC_FUZZ_EXAMPLES", "500"))
FUZZ = settings(max_examples=FUZZ_EXAMPLES, deadline=5000, derandomize=os.environ.get("ARCHCALC_FUZZ_SEED") is None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture,
                                       HealthCheck.data_too_large])
#: commands that read a spec and print a report; each fuzzed spec runs through all of them
COMMANDS = [["params", "--format", "json"], ["shapes", "--explain"], ["params", "--explain"]]
LOCATED = re.compile(r"^(.+):(\d+):(\d+): error: \S")

runner = CliRunner()


def check(path: str, command: list[str]) -> None:
    result = runner.invoke(main, [command[0], path, *command[1:]], catch_exceptions=False)
    assert result.exit_code in (0, 2), (result.exit_code, result.output)
    if result.exit_code == 2:
        first = result.stderr.splitlines()[0] if result.stderr else ""
        match = LOCATED.match(first)
        assert match and match.group(1) == path, result.stderr
        assert "Traceback" not in result.stderr


def run_all(tmp_path, content: str | bytes) -> None:
    path = tmp_path / "fuzz.yaml"
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
    for command in COMMANDS:
        check(str(path), command)


# -- raw text ------------------------------------------------------------------------------------

YAML_ALPHABET = st.sampled_from([*"[]{}:-,#&*!|>'\"%@` \n\t", "input", "layers", "relu", "linear", "conv2d", "out",
                                 "kernel", "3", "64", "-1", "0", "1e9", "null", "true", "  "])


@FUZZ
@given(st.one_of(st.binary(max_size=300), st.text(max_size=300), st.lists(YAML_ALPHABET, max_size=60).map("".join)))
def test_raw_text_never_crashes(tmp_path_factory, content):
    run_all(tmp_path_factory.mktemp("raw"), content)


# -- spec structures -----------------------------------------------------------------------------

DIMS = st.one_of(st.integers(-2, 70), st.sampled_from(["H", "W", "C", "2*H", "H//2", "X"]))
SMALL = st.one_of(st.integers(-1, 9), st.sampled_from(["c", "2*c", "c//2", "k", "n-1", "c**2", "s", "(c+1)//2",
                                                       "c/2", "same", "valid", "1.5", "9**9**9"]))
PAIR = st.one_of(SMALL, st.lists(SMALL, min_size=1, max_size=3))
BOOL = st.one_of(st.booleans(), st.sampled_from([0, 1, "yes"]))


def layer() -> st.SearchStrategy:
    args = {
        "linear": st.fixed_dictionaries({"out": SMALL}, optional={"bias": BOOL, "in": SMALL}),
        "conv2d": st.fixed_dictionaries({"out": SMALL, "kernel": PAIR},
                                        optional={"stride": PAIR, "padding": PAIR, "dilation": PAIR, "groups": SMALL,
                                                  "bias": BOOL}),
        "maxpool2d": st.fixed_dictionaries({"kernel": PAIR}, optional={"stride": PAIR, "padding": PAIR,
                                                                       "ceil_mode": BOOL, "dilation": PAIR}),
        "avgpool2d": st.fixed_dictionaries({"kernel": PAIR}, optional={"stride": PAIR, "ceil_mode": BOOL,
                                                                       "padding": PAIR}),
        "adaptive_avgpool2d": st.fixed_dictionaries({"out": PAIR}),
        "batchnorm2d": st.fixed_dictionaries({}, optional={"features": SMALL}),
        "batchnorm1d": st.just({}),
        "dropout": st.fixed_dictionaries({}, optional={"p": st.floats(-1, 2)}),
        "softmax": st.fixed_dictionaries({}, optional={"dim": st.integers(-3, 3)}),
        "leaky_relu": st.fixed_dictionaries({}, optional={"slope": st.floats(-1, 1)}),
        "sizes": st.fixed_dictionaries({"out": SMALL}),  # an unknown kind
    }
    with_args = st.sampled_from(sorted(args)).flatmap(lambda k: args[k].map(lambda a: {k: a}))
    bare = st.sampled_from(["relu", "flatten", "sigmoid", "tanh", "identity", "global_avgpool2d", "step", "gelu",
                            "batchnorm2d", "reluu", "stage", "unit"])
    return st.one_of(with_args, bare)


def items(depth: int = 0) -> st.SearchStrategy:
    leaf = layer()
    if depth >= 2:
        return st.lists(leaf, min_size=0, max_size=4)
    inner = st.deferred(lambda: items(depth + 1))
    construct = st.one_of(
        st.builds(lambda n, body: {"repeat": n, "layers": body}, st.one_of(st.integers(-1, 3), st.just("n")), inner),
        st.builds(lambda body, short, then: {"residual": {"body": body, "shortcut": short, "then": then}},
                  inner, st.one_of(st.sampled_from(["identity", "auto", "if_same", "bogus"]), inner), inner),
        st.builds(lambda branches: {"concat": branches}, st.lists(inner, min_size=1, max_size=3)),
        st.builds(lambda body, name: {"name": name, "layers": body}, inner, st.sampled_from(["a", "b", "a.b", ""])),
        st.builds(lambda c, k: {"stage": {"c": c, "k": k}}, SMALL, SMALL),
        st.builds(lambda c: {"unit": [c]}, SMALL),
    )
    return st.lists(st.one_of(leaf, construct), min_size=0, max_size=5)


SPECS = st.fixed_dictionaries(
    {"input": st.lists(DIMS, min_size=0, max_size=4), "layers": items()},
    optional={
        "symbols": st.dictionaries(st.sampled_from(["c", "k", "n", "s", "H", "W"]),
                                   st.one_of(st.none(), st.integers(-1, 40)), max_size=4),
        "blocks": st.fixed_dictionaries({"stage(c, k = 3)": items(1)}, optional={"unit(c)": items(2)}),
        "train": st.fixed_dictionaries({}, optional={
            "loss": st.sampled_from(["mse", "cross_entropy", "hinge"]),
            "optimizer": st.sampled_from(["sgd", "adam", {"adam": {"lr": -1}}, {"sgd": {"momentum": 2}}]),
            "classes": st.integers(0, 12), "epochs": st.integers(-1, 3)}),
    },
)


@FUZZ
@given(SPECS)
def test_structured_specs_never_crash(tmp_path_factory, spec):
    run_all(tmp_path_factory.mktemp("spec"), yaml.safe_dump(spec, sort_keys=False))


# -- crashes found by fuzzing, kept as named cases ------------------------------------------------

REGRESSIONS: dict[str, str] = {
    "number-with-trailing-underscore": "0_",  # matched the float pattern, then float() refused it
}


def test_regressions(tmp_path):
    for text in REGRESSIONS.values():
        run_all(tmp_path, text)
