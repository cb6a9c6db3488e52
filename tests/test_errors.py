"""Malformed specs: each gives ``path:line:col: error: …`` with a hint, exit code 2 and no traceback."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.errors import SpecError
from tests.conftest import archcalc_process
from tests.test_axis_kinds import ERRORS

CNN = "input: [3, 8, 8]\nlayers:\n"

# (case id, spec text, (line, col), fragment of the message or hint)
CASES = [
    ("yaml-unclosed-flow", "input: [3, 4\nlayers: [relu]\n", (2, 7), "YAML syntax"),
    ("yaml-tab-indent", "input: [3]\nlayers:\n\t- relu\n", (3, 1), "YAML syntax"),
    ("yaml-bad-colon", "input: [3]\nlayers:\n  - linear: out: 3\n", (3, 16), "mapping values are not allowed"),
    ("empty-file", "", (1, 1), "empty spec"),
    ("only-comments", "# nothing here\n", (1, 1), "empty spec"),
    ("top-level-list", "- relu\n", (1, 1), "must be a mapping"),
    ("unknown-top-key", "input: [3]\nlayer:\n  - relu\n", (2, 1), "did you mean 'layers'"),
    ("missing-input", "layers: [relu]\n", (1, 1), "has no 'input:'"),
    ("missing-layers", "input: [3]\n", (1, 1), "has no 'layers:'"),
    ("empty-layers", "input: [3]\nlayers: []\n", (2, 9), "'layers:' is empty"),
    ("shortcut-name-with-empty-part", CNN + "  - residual: {body: [relu], shortcut_name: a..b}\n", (3, 45),
     "has an empty part between dots"),
    ("shortcut-name-taken", CNN + "  - residual:\n      body: [relu: {name: side}]\n      shortcut: [relu]\n"
     "      shortcut_name: side\n", (5, 17), "'side' is used twice"),
    ("symbol-keyword", "input: [4]\nsymbols: {in: 3}\nlayers: [linear: 2]\n", (2, 11), "Python keyword"),
    ("param-keyword", "input: [4]\nblocks:\n  b(class):\n    - linear: 2\nlayers: [b: 1]\n", (3, 5),
     "Python keyword"),
    ("nothing-built", "input: [4, 2, 2]\nlayers:\n  - concat: [[], []]\n", (3, 3), "builds no layers"),
    ("shortcut-name-without-layers", CNN + "  - residual: {body: [relu], shortcut_name: down}\n", (3, 45),
     "shortcut: identity has none"),
    ("residual-layers-for-body", CNN + "  - residual: {layers: [relu]}\n", (3, 15), "needs 'body:'"),
    ("residual-key-typo", CNN + "  - residual: {body: [relu], shortcutt: auto}\n", (3, 30), "did you mean 'shortcut'"),
    ("negative-repeat", CNN + "  - repeat: -1\n    layers: [relu]\n", (3, 13), "0 or more times"),
    ("auto-undecided", "input: [D_i]\nsymbols: [D]\nlayers:\n  - residual:\n      body: [linear: D]\n"
     "      shortcut: auto\n", (6, 17), "depends on the values of D, D_i"),
    ("if-same-undecided", "input: [8, H, W]\nlayers:\n  - residual:\n      body: [adaptive_avgpool2d: 7]\n"
     "      shortcut: if_same\n", (5, 17), "cannot tell whether the body keeps the shape [8, H, W] → [8, 7, 7]"),
    ("comma-in-flow-mapping", "input: [4]\nlayers:\n  - linear: {out: (2 + 1, 3)}\n", (3, 19), "quote the expression"),
    ("unknown-kind", CNN + "  - conv2: {out: 8, kernel: 3}\n", (3, 5), "did you mean 'conv2d'"),
    ("unknown-argument", CNN + "  - conv2d: {out: 8, kernal: 3}\n", (3, 22), "did you mean 'kernel'"),
    ("optimizer-class-name", "input: [4]\nlayers: [linear: 2]\ntrain: {optimizer: RAdam}\n", (3, 20),
     "did you mean 'radam'?"),  # not 'adam', which difflib finds closer
    ("missing-argument", CNN + "  - conv2d: {out: 8}\n", (3, 5), "conv2d needs 'kernel'"),
    ("float-for-int", "input: [4]\nlayers:\n  - linear: {out: 2.5}\n", (3, 19), "must be an integer"),
    ("int-for-bool", "input: [4]\nlayers:\n  - linear: {out: 2, bias: 1}\n", (3, 28), "true or false"),
    ("three-kernel-dims", CNN + "  - conv2d: {out: 8, kernel: [3, 3, 3]}\n", (3, 30), "[h, w] of two"),
    ("negative-out", "input: [4]\nlayers:\n  - linear: {out: -3}\n", (3, 19), "an integer ≥ 1"),
    ("mapping-for-arg", "input: [4]\nlayers:\n  - linear: {out: {a: 1}}\n", (3, 19), "cannot be a mapping"),
    ("undefined-block", "input: [4]\nblocks:\n  stage(c): [linear: c]\nlayers:\n  - stag: {c: 3}\n", (5, 5),
     "did you mean 'stage'"),
    ("block-too-many-args", "input: [4]\nblocks:\n  stage(c): [linear: c]\nlayers:\n  - stage: [1, 2]\n", (5, 12),
     "takes 1 argument"),
    ("block-missing-arg", "input: [4]\nblocks:\n  stage(c, d): [linear: c]\nlayers:\n  - stage: {c: 1}\n", (5, 5),
     "needs 'd'"),
    ("block-unknown-param", "input: [4]\nblocks:\n  stage(c): [linear: c]\nlayers:\n  - stage: {cc: 1}\n",
     (5, 13), "did you mean 'c'"),
    ("block-bad-signature", "input: [4]\nblocks:\n  stage(c: [linear: c]\nlayers:\n  - relu\n", (3, 3),
     "block signature"),
    ("bad-expression", "input: [4]\nlayers:\n  - linear: {out: 2*(3}\n", (3, 21), "cannot read expression"),
    ("call-in-expression", "input: [4]\nlayers:\n  - linear: {out: \"__import__('os').getpid()\"}\n", (3, 19),
     "not allowed"),
    ("attribute-in-expression", "input: [4]\nlayers:\n  - linear: {out: x.real}\n", (3, 19), "attribute access"),
    ("huge-power", "input: [4]\nlayers:\n  - linear: {out: 9**9**9}\n", (3, 19), "too large"),
    ("undefined-symbol", "input: [4]\nlayers:\n  - linear: {out: 2 * C}\n", (3, 19), "undefined symbol 'C'"),
    ("channel-mismatch", CNN + "  - conv2d: {in: 4, out: 8, kernel: 3}\n", (3, 18), "the input has 3"),
    ("kernel-too-large", CNN + "  - conv2d: {out: 8, kernel: 11}\n", (3, 5), "does not fit"),
    ("pool-too-large", CNN + "  - maxpool2d: {kernel: 16, stride: 16}\n", (3, 5), "does not fit"),
    ("groups-not-dividing", CNN + "  - conv2d: {out: 8, kernel: 3, groups: 2}\n", (3, 41), "does not divide"),
    ("conv-on-vector", "input: [784]\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n", (3, 5), "needs a [C, H, W]"),
    ("residual-mismatch", CNN + "  - residual: [conv2d: {out: 16, kernel: 3, padding: 1}]\n", (3, 5),
     "shortcut: auto"),
    ("explicit-shortcut-mismatch",
     CNN + "  - residual:\n      body: [conv2d: {out: 16, kernel: 3, padding: 1}]\n"
     "      shortcut: [conv2d: {out: 8, kernel: 1}]\n", (5, 17), "the shortcut gives [8, 8, 8]"),
    ("concat-mismatch", CNN + "  - concat: [[conv2d: {out: 4, kernel: 3}], [identity]]\n", (3, 45),
     "branch 1 gives [3, 8, 8]"),
    ("block-cycle", "input: [4]\nblocks:\n  a(): [b]\n  b(): [a]\nlayers:\n  - a\n", (4, 9), "uses itself (a → b → a)"),
    ("python-tag", "input: [4]\nlayers:\n  - !!python/object/apply:os.system [\"touch x\"]\n", (3, 5),
     "tag 'tag:yaml.org,2002:python/object/apply:os.system' is not allowed"),
    ("duplicate-key", "input: [4]\ninput: [5]\nlayers: [relu]\n", (2, 1), "duplicate key 'input'"),
    ("symbolic-repeat", "input: [4]\nsymbols: [n]\nlayers:\n  - repeat: n\n    layers: [relu]\n", (4, 13),
     "concrete integer"),
    ("negative-repeat", "input: [4]\nlayers:\n  - repeat: -1\n    layers: [relu]\n", (3, 13), "≥ 0"),
    ("repeat-without-layers", "input: [4]\nlayers:\n  - repeat: 2\n", (3, 5), "needs 'layers:'"),
    ("huge-integer", "input: [4]\nlayers:\n  - linear: {out: 1000000000000000000000000}\n", (3, 19), "too large"),
    ("alias-bomb", "input: [4]\na: &a [x, x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
     "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
     "e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n"
     "g: [*f, *f, *f, *f, *f, *f, *f, *f, *f, *f]\nlayers: [relu]\n", (7, 20), "aliases expand"),
    ("dotted-name-empty-part", "input: [4]\nlayers:\n  - linear: {out: 2, name: a.}\n", (3, 28),
     "has an empty part between dots"),
    ("duplicate-name", "input: [4]\nlayers:\n  - relu: {name: act}\n  - relu: {name: act}\n", (4, 5), "used twice"),
    ("zero-input-dim", "input: [0, 4]\nlayers: [relu]\n", (1, 9), "≥ 1"),
    ("input-not-list", "input: 3\nlayers: [relu]\n", (1, 8), "non-empty list"),
    ("same-padding-stride", CNN + "  - conv2d: {out: 4, kernel: 3, stride: 2, padding: same}\n", (3, 53),
     "needs stride 1"),
    ("padding-typo", CNN + "  - conv2d: {out: 4, kernel: 3, padding: sme}\n", (3, 42),
     "conv2d: 'padding' must be an integer ≥ 0, [ph, pw], 'same' or 'valid', got 'sme'"),
    ("dropout-over-one", "input: [4]\nlayers:\n  - dropout: 1.5\n", (3, 14), "in [0, 1]"),
    ("softmax-dim", "input: [4]\nlayers:\n  - softmax: {dim: 3}\n", (3, 20), "outside an input with 1 axis"),
    ("unknown-optimizer", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: sgdd\n", (4, 14),
     "did you mean 'sgd'"),
    ("negative-lr", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {adam: {lr: -0.1}}\n", (4, 26),
     "lr must be > 0"),
    ("bad-betas", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {adam: {betas: [0.9, 1.5]}}\n", (4, 29),
     "betas must be in [0, 1)"),
    ("negative-lr-decay", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {adagrad: {lr_decay: -1}}\n",
     (4, 35), "lr_decay must be ≥ 0, got -1"),
    ("negative-accumulator", "input: [4]\nlayers: [linear: 2]\ntrain:\n"
     "  optimizer: {adagrad: {initial_accumulator_value: -1}}\n", (4, 52), "initial_accumulator_value must be ≥ 0"),
    ("adadelta-rho-above-one", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {adadelta: {rho: 1.5}}\n",
     (4, 31), "rho must be in [0, 1], got 1.5\n  hint: the decay of Adadelta's running averages: torch's default is "
     "0.9, Zeiler's 0.95"),
    ("adadelta-lr-zero", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {adadelta: {lr: 0}}\n", (4, 30),
     "lr must be > 0, got 0\n  hint: Adadelta's lr scales its own step: torch's default is 1.0"),
    ("adamax-bad-betas", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {adamax: {betas: [1, 0.999]}}\n",
     (4, 31), "betas must be in [0, 1), got 1"),
    ("nadam-negative-momentum-decay", "input: [4]\nlayers: [linear: 2]\ntrain:\n"
     "  optimizer: {nadam: {momentum_decay: -0.004}}\n", (4, 39),
     "momentum_decay must be ≥ 0, got -0.004\n  hint: momentum_decay: 0.004 is torch's default"),
    ("nadam-decoupled-not-a-bool", "input: [4]\nlayers: [linear: 2]\ntrain:\n"
     "  optimizer: {nadam: {decoupled_weight_decay: 1}}\n", (4, 47), "decoupled_weight_decay must be true or false"),
    ("radam-negative-eps", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {radam: {eps: -1.0e-8}}\n",
     (4, 28), "eps must be ≥ 0"),
    ("radam-no-amsgrad", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {radam: {amsgrad: true}}\n",
     (4, 23), "radam has no hyperparameter 'amsgrad'"),
    ("lr-beyond-float32", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {sgd: {lr: 1e300}}\n", (4, 25),
     "lr 1e+300 is beyond float32 (above 3.4e+38), which training computes in"),
    ("weight-decay-beyond-float32", "input: [4]\nlayers: [linear: 2]\ntrain:\n  weight_decay: 1e300\n", (4, 17),
     "weight_decay 1e+300 is beyond float32"),
    ("avgpool3d-window-over-input", "input: [2, 12, 15, 4]\nlayers:\n  - avgpool3d: {kernel: [2, 1, 5], "
     "padding: [0, 0, 2], stride: [1, 3, 3]}\n", (3, 25), "the input's W=4 is smaller than the kernel's 5"),
    ("torch-argument-name", CNN + "  - conv2d: {out_channels: 4, kernel_size: 3}\n", (3, 14),
     "conv2d has no argument 'out_channels'\n  hint: archcalc calls it 'out' (conv2d: {out: ...})"),
    ("keras-argument-name", "input: [4]\nlayers:\n  - linear: {units: 3}\n", (3, 14),
     "hint: archcalc calls it 'out' (linear: {out: ...})"),
    ("padding-mode", CNN + "  - conv_transpose2d: {out: 4, kernel: 3, padding_mode: reflect}\n", (3, 43),
     "hint: torch's transposed convolutions and pools pad with zeros (or −∞) only: padding_mode is for "
     "conv1d/2d/3d"),
    ("avgpool3d-same-window-over-input", "input: [1, 2, 8, 8]\nlayers:\n  - avgpool3d: {kernel: 3, stride: 1, "
     "padding: same}\n", (3, 25), "the input's D=2 is smaller than the kernel's 3"),
    ("unknown-loss", "input: [4]\nlayers: [linear: 2]\ntrain:\n  loss: mse2\n", (4, 9), "did you mean 'mse'"),
    ("unknown-hyperparameter", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {sgd: {momentun: 0.9}}\n",
     (4, 21), "did you mean 'momentum'"),
    ("weight-decay-in-the-optimizer", "input: [4]\nlayers: [linear: 2]\ntrain:\n"
     "  optimizer: {adamw: {lr: 0.001, weight_decay: 0.05}}\n", (4, 34),
     "move it beside optimizer: (train: {weight_decay: 0.05, optimizer: ...}); it is applied as torch.optim"),
    ("then-beside-the-short-residual", CNN + "  - residual: [relu]\n    then: [relu]\n", (4, 5),
     "'then' belongs inside 'residual:', beside its body"),
    ("nesterov-without-momentum", "input: [4]\nlayers: [linear: 2]\ntrain:\n  optimizer: {sgd: {nesterov: true}}\n",
     (4, 31), "nesterov needs momentum"),
    ("regression-accuracy", "input: [4]\nlayers: [linear: 1]\ntrain:\n  task: regression\n"
     "  early_stopping: {patience: 2, monitor: val_accuracy}\n", (5, 42), "a regression has no accuracy to monitor"),
    ("two-kinds-in-one-item", "input: [4]\nlayers:\n  - linear: 2\n    relu:\n", (3, 5), "found 2 keys"),
    ("construct-extra-key", "input: [4]\nlayers:\n  - residual: [relu]\n    shortcut: auto\n", (4, 5),
     "'shortcut' belongs inside 'residual:', beside its body\n  hint: write residual: {body: [layers], shortcut: ...}"),
    ("construct-unknown-key", "input: [4]\nlayers:\n  - residual: [relu]\n    shortcat: auto\n", (4, 5),
     "unexpected key 'shortcat' beside 'residual'"),
    *ERRORS,  # issue 11's kinds (tests/test_axis_kinds.py checks their hints)
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_malformed_spec_is_located(case, run, write):
    name, text, (line, col), fragment = case
    path = write(text, f"{name}.yaml")
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stdout == ""
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{path}:{line}:{col}: error: "), result.stderr
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


def test_there_are_at_least_thirty_cases():
    assert len(CASES) >= 30


def test_python_tag_runs_nothing(run, write, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = write("input: [4]\nlayers:\n  - !!python/object/apply:os.system [\"touch pwned\"]\n")
    assert run("params", path).exit_code == 2
    assert not (tmp_path / "pwned").exists()


@pytest.mark.parametrize("case", [
    ("missing", None, "no such file"),
    ("folder", "dir", "is a directory"),
    ("binary", b"\x00\x01\x02layers", "binary file"),
    ("latin1", "input: [4]\nlayers: [relu]  # caf\xe9\n".encode("latin-1"), "not UTF-8"),
], ids=lambda c: c[0])
def test_unreadable_files(case, run, tmp_path):
    name, content, fragment = case
    path = tmp_path / f"{name}.yaml"
    if content == "dir":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{path}:"), result.stderr
    assert fragment in result.stderr


def test_not_utf8_points_at_the_byte(run, tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("input: [4]\nlayers: [relu]  # caf\xe9\n".encode("latin-1"))
    assert run("params", path).stderr.startswith(f"{path}:2:22: error: not UTF-8")


def test_set_unknown_symbol_is_a_usage_error(run, write):
    result = run("params", write("input: [H]\nlayers: [relu]\n"), "--set", "W=3")
    assert result.exit_code == 2
    assert "the spec has no symbol 'W'" in result.stderr


@pytest.mark.parametrize("value", ["H", "H=x", "H=0", "1H=3"])
def test_bad_set_values_are_usage_errors(run, write, value):
    result = run("params", write("input: [H]\nlayers: [relu]\n"), "--set", value)
    assert result.exit_code == 2
    assert "Traceback" not in result.output


def test_stdin_spec_is_named_stdin():
    proc = archcalc_process("params", "-", input="input: [4]\nlayers:\n  - linaer: 3\n")
    assert proc.returncode == 2
    assert proc.stderr.startswith("<stdin>:3:5: error: unknown layer kind 'linaer'")
    assert "did you mean 'linear'" in proc.stderr


def test_stdin_spec_works():
    spec = "input: [50]\nlayers: [linear: 30, relu, linear: 3]\n"
    proc = archcalc_process("params", "-", "--format", "json", input=spec)
    assert proc.returncode == 0
    assert '"trainable_params": 1623' in proc.stdout


MANY_MISTAKES = """\
input: [3, 32, 32]
blocks:
  stage(c):
    - conv2d: {out: c, kernel: 3, paddin: 1}
layers:
  - conv2d: {out: 8, kernel: 3, strid: 2}
  - layernorn
  - stage: 8
  - relu
  - lyers: 3
train:
  optimizer: {sgd: {lr: 0.1}}
  epochz: 3
"""


def test_every_independent_mistake_is_reported_in_one_run(run, write):
    """As a compiler does: the block body's, each layer's and the train section's mistakes, in file order."""
    path = write(MANY_MISTAKES, "many.yaml")
    result = run("params", path)
    assert result.exit_code == 2 and result.stdout == ""
    located = [line.split(": error: ")[0] for line in result.stderr.splitlines() if ": error: " in line]
    assert located == [f"{path}:4:35", f"{path}:6:33", f"{path}:7:5", f"{path}:10:5", f"{path}:13:3"]
    assert "did you mean 'padding'?" in result.stderr and "did you mean 'stride'?" in result.stderr
    assert result.stderr.splitlines()[-1] == "5 errors"


def test_an_unknown_kind_is_offered_kinds_before_constructs(run, write):
    """'layernorn' is a misspelt kind (layernorm), not the 'layers:' construct; 'lyers' nearly is the construct."""
    result = run("params", write("input: [4]\nlayers:\n  - layernorn\n  - lyers: [relu]\n", "kinds.yaml"))
    hints = [line for line in result.stderr.splitlines() if "hint:" in line]
    assert hints[0] == "  hint: did you mean 'layernorm'?"
    assert hints[1] == "  hint: did you mean 'layers'?"


def test_lint_reports_every_independent_mistake(run, write):
    path = write(MANY_MISTAKES, "many.yaml")
    result = run("lint", path, "--format", "json")
    import json

    codes = [(f["code"], f["location"]["row"]) for f in json.loads(result.stdout)]
    assert [row for _, row in codes] == [4, 6, 7, 10, 13]


def test_a_spec_with_a_mistake_in_every_layer_stops_after_twenty(run, write):
    text = "input: [4]\nlayers:\n" + "".join(f"  - relux{i}\n" for i in range(1000))
    result = run("params", write(text, "every.yaml"))
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 20
    assert result.stderr.splitlines()[-1] == "20 errors (the parse stops there)"


@pytest.mark.parametrize(("signature", "message"), [
    ("a(c, c)", "3:8: error: block parameter 'c' appears twice"),
    ("a(c = 3, d)", "3:12: error: parameter 'd' without a default follows one with a default"),
    ("a(c", "3:3: error: cannot read block signature 'a(c'"),
    ("a(in_channels)", "3:5: error: block parameter name 'in_channels' is reserved"),
])
def test_a_bad_block_signature_is_one_error_not_one_more_per_use(run, write, signature, message):
    """The uses of a block whose signature is wrong are not unknown kinds as well; another block's
    error is still reported beside it."""
    path = write(f"input: [4]\nblocks:\n  {signature}:\n    - linear: c\n  b(c):\n    - linaer: c\n"
                 "layers:\n  - a: 3\n  - a: 4\n  - b: 2\n")
    result = run("params", path)
    assert result.exit_code == 2
    lines = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(lines) == 2 and lines[0].startswith(f"{path}:{message}"), result.stderr
    assert lines[1] == f"{path}:6:7: error: unknown layer kind 'linaer'"


@pytest.mark.parametrize(("train", "at", "message", "hint"), [
    ("{optimizer: {nadam: {decoupled_weight_decay: yes}}}", (3, 53), "decoupled_weight_decay must be true or false, "
     "got 'yes'", "YAML 1.2 reads 'yes' as a word, not a boolean: write true"),
    ("{loss: {poisson_nll: {log_input: off}}}", (3, 41), "log_input must be true or false, got 'off'",
     "YAML 1.2 reads 'off' as a word, not a boolean: write false"),
    ("{classes: 2, multi_label: 1}", (3, 34), "multi_label must be true or false, got 1",
     "multi_label: true, or multi_label: false"),
])
def test_a_train_switch_that_is_no_boolean_says_what_to_write(train, at, message, hint):
    with pytest.raises(SpecError) as caught:
        archcalc.loads(f"input: [4]\nlayers: [linear: 2]\ntrain: {train}\n")
    error = caught.value
    assert ((error.loc.line, error.loc.col), error.message, error.hint) == (at, message, hint)
