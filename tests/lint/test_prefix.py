"""Rules keep looking after the first error: when a later layer does not build, the layer-local rules
(``PREFIX = True``) still check the layers before it, and the rules that need the whole network do not run."""

from __future__ import annotations

from archcalc.lint.engine import lint_source
from archcalc.lint.registry import DEFAULT, RULES

#: NeuraLint's mix_bugs_1 in the spec language: dropout before batch norm, then a 7×7 kernel on a 6×6 map
SPEC = """\
input: [1, 28, 28]
layers:
  - conv2d: {out: 32, kernel: 15}
  - relu
  - dropout: 0.35
  - batchnorm2d
  - maxpool2d: {kernel: 4, stride: 2}
  - conv2d: {out: 64, kernel: 7}
  - relu
  - dropout: 0.3
  - batchnorm2d
  - maxpool2d: {kernel: 4, stride: 2}
  - flatten
  - linear: 10
  - relu
train:
  task: classification
  classes: 10
  optimizer: {adam: {lr: 0.5}}
"""


def codes(text: str, enabled=DEFAULT) -> list[tuple[str, int]]:
    return [(d.code, d.loc.line) for d in lint_source(text, "x.yaml", enabled).diagnostics]


def test_the_layers_before_a_core_error_are_still_checked():
    found = codes(SPEC)
    assert ("E203", 8) in found  # the 7×7 kernel on a 6×6 input
    assert ("N104", 5) in found  # dropout before batch norm, before the error
    assert ("T101", 19) in found  # the train: section is read whatever the layers do
    assert not [c for c, line in found if line > 8 and c != "T101"], "nothing after the error is checked"


def test_rules_that_need_the_whole_network_do_not_run_on_a_prefix():
    found = {c for c, _ in codes(SPEC, set(RULES))}
    assert "A103" not in found and "T104" not in found and "S103" not in found  # the output is not built


def test_a_prefix_finding_can_be_suppressed_and_its_comment_is_not_unused():
    text = SPEC.replace("  - dropout: 0.35\n", "  - dropout: 0.35  # archcalc: disable=N104\n")
    found = codes(text)
    assert ("N104", 5) not in found and ("M101", 5) not in found


def test_layer_local_rules_are_marked():
    prefix = {code for code, rule in RULES.items() if rule.on_prefix}
    assert {"A101", "A106", "A107", "A108", "N104", "N105", "G102", "S106"} <= prefix
    assert not prefix & {"A103", "T104", "T105", "T107", "S101", "S103", "G103"}


def test_findings_on_a_prefix_carry_no_fix():
    text = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - batchnorm2d\n"
            "  - conv2d: {out: 4, kernel: 9}\n")
    found = {d.code: d for d in lint_source(text, "x.yaml", DEFAULT | {"N105"}).diagnostics}
    assert set(found) == {"E203", "N105"} and found["N105"].fix is None  # N105 fixes a spec that builds
