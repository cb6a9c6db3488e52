"""The labelled benchmark cases (``tests/lint_cases``): every case reads, every fault marks its line, the
table in docs/lint.md is the measured one, and recall and false alarms do not get worse."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.lint_cases import measure


def test_the_table_in_docs_is_the_measured_one():
    text = (ROOT / "docs/lint.md").read_text(encoding="utf-8")
    assert measure.update(text, measure.table(measure.results())) == text, \
        "run `python -m tests.lint_cases.measure --write docs/lint.md`"


def test_recall_and_false_alarms_do_not_regress():
    results = measure.results()
    faults = [f for case in results for f in case.faults]
    structural = [f for f in faults if f.category in measure.STRUCTURAL]
    assert sum(f.found for f in faults) / len(faults) >= 0.5  # the target for all expressible faults
    assert sum(f.found for f in structural) >= 53  # 53 of 87 when this was written
    alarms = [alarm for case in results for alarm in case.alarms]
    assert alarms == [], "a warning or error on a labelled-correct spec"


def test_a_finding_left_in_by_the_fix_is_one_the_buggy_version_has_too():
    """``left_in`` excuses a finding on a correct case only where its buggy twin has the same finding on the same
    line, and every ``left_in`` entry still matches a finding (a stale one would hide nothing but mislead)."""
    for case in measure.results():
        reasons = measure.yaml.safe_load(case.path.read_text(encoding="utf-8"))["x-case"].get("left_in") or {}
        assert not reasons or case.label == "correct", case.path
        assert {entry.split()[0] for entry in case.left_in} == set(reasons), case.path


def test_every_case_names_its_source_and_label():
    for path in measure.cases():
        meta = measure.yaml.safe_load(path.read_text(encoding="utf-8"))["x-case"]
        assert meta["source"] and meta["benchmark"] and meta["label"] in ("correct", "faulty"), path
        assert (meta["label"] == "faulty") == bool(meta.get("faults")), path


def test_false_alarms_are_counted_in_the_category_of_their_rule():
    assert [measure.rule_category(code) for code in ("A101", "N104", "N107", "T101", "T103", "S106", "E203")] == \
        ["activation", "layer-property", "data", "hyper-parameter", "loss", "architecture", "architecture"]
    case = measure.Case(measure.HERE / "x.yaml", "correct", [], ["A102 line 8", "T107 line 12"])
    assert case.alarmed("activation") and case.alarmed("loss") and not case.alarmed("architecture")
    table = measure.table([case])
    assert "| **all expressible faults** | 0 | 0 | **–** | 1 (100.0 %) |" in table


def test_left_in_needs_the_same_finding_on_the_same_line_of_the_buggy_twin(tmp_path):
    head = "x-case: {{source: DeepLocalize Benchmark/GitHub/x, benchmark: b, label: {label}{more}}}\n"
    correct = tmp_path / "x_correct.yaml"
    correct.write_text(head.format(label="correct", more=", left_in: {A101: why}") +
                       "input: [4]\nlayers:\n  - linear: 8   # the fix kept it\n  - linear: 2\n", encoding="utf-8")
    assert measure.measure(correct).alarms == ["A101 line 4"]  # no buggy twin: a false alarm
    buggy = tmp_path / "x_buggy.yaml"
    faulty = head.format(label="faulty", more=", faults: {f: {category: loss, label: l}}")
    buggy.write_text(faulty + "input: [4]\nlayers:\n  - linear: 8\n  - linear: 2\n  - relu   # fault: f\n",
                     encoding="utf-8")
    case = measure.measure(correct)
    assert case.alarms == [] and case.left_in == ["A101 line 4: why"]
    buggy.write_text(faulty + "input: [4]\nlayers:\n  - linear: 8\n  - relu\n  - linear: 2   # fault: f\n",
                     encoding="utf-8")
    assert measure.measure(correct).alarms == ["A101 line 4"]  # the buggy version does not have it
