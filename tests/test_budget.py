"""``budget:``: quantities read exactly, every mistake located, and lint's S107 with the overshoot."""

from __future__ import annotations

import re

import pytest

import archcalc
from archcalc.errors import SpecError

MLP = "input: [784]\nlayers:\n  - linear: 256\n  - relu\n  - linear: 10\n"  # 203,530 parameters, 203,264 MACs


def budget(text: str):
    return archcalc.loads(f"input: [10]\nbudget: {text}\nlayers: [linear: 3]\n").spec.budget


@pytest.mark.parametrize("text, value", [
    ("30M", 30_000_000), ("30 M", 30_000_000), ("1.5k", 1500), ("2G", 2 * 10**9), ("7", 7), ("1_000", 1000),
    ("3e6", 3_000_000), ("0", 0), ("1T", 10**12),
])
def test_counts(text, value):
    [limit] = budget(f"{{params: {text}}}").limits
    assert (limit.key, limit.value) == ("params", value)


@pytest.mark.parametrize("text, value", [
    ("2GB", 2 * 10**9), ("2GiB", 2 * 2**30), ("512 MiB", 512 * 2**20), ("10kB", 10_000), ("100", 100),
    ("1.5KiB", 1536), ("3G", 3 * 10**9), ("64B", 64),
])
def test_sizes(text, value):
    [limit] = budget(f"{{activations: {text}}}").limits
    assert limit.value == value


def test_settings_and_defaults():
    b = budget("{training: 1GB, batch_size: 8, dtype: fp16}")
    assert (b.batch_size, b.dtype) == (8, "fp16")
    b = budget("{macs: 1G}")
    assert (b.batch_size, b.dtype) == (1, "fp32")


@pytest.mark.parametrize("text, message, col", [
    ("{params: 3KB}", "budget params is a count, not a size in bytes: got '3KB'", 18),
    ("{params: lots}", "budget params must be a count such as 30M, got 'lots'", 18),
    ("{activations: 2XB}", "budget activations must be a size in bytes such as 2GB, got '2XB'", 23),
    ("{params: 1.5}", "budget params 1.5 is not a whole number of units", 18),
    ("{params: -3}", "budget params must be a count such as 30M, got -3", 18),
    ("{params: 30M, dtype: fp8}", "budget dtype must be one of fp32, fp16, bf16, int8, got 'fp8'", 30),
    ("{params: 30M, batch_size: 0}", "budget batch_size must be an integer ≥ 1, got 0", 35),
    ("{param: 30M}", "unknown key 'param' in 'budget:'", 10),
    ("{batch_size: 4}", "'budget:' sets no limit", 9),
    ("30M", "'budget:' must be a mapping, got '30M'", 9),
])
def test_mistakes_are_located(text, message, col):
    with pytest.raises(SpecError) as info:
        budget(text)
    assert info.value.message == message
    assert (info.value.loc.line, info.value.loc.col) == (2, col)


def lint(run, write, text: str):
    result = run("lint", "--isolated", "--format", "concise", write(text))
    return result.exit_code, re.findall(r"S107 \[over-budget\] (.*)", result.stdout)


def test_lint_reports_each_limit_exceeded_with_its_overshoot(run, write):
    code, found = lint(run, write, "budget: {params: 200K, macs: 300K, flops: 400K}\n" + MLP)
    assert code == 1
    assert found == ["params 203,530 (204 k) exceed the budget of 200K (200,000) by 3,530 (1.8%)",
                     "flops 406,528 (407 k) exceed the budget of 400K (400,000) by 6,528 (1.6%)"]


def test_lint_memory_limits_at_the_budget_batch_and_dtype(run, write):
    # activations at batch 4 in fp16: (256 + 256 + 10) elements × 4 × 2 bytes = 4,176 B
    code, found = lint(run, write, "budget: {activations: 4kB, batch_size: 4, dtype: fp16}\n" + MLP)
    assert found == ["activations need 4.18 kB (4,176 B) at batch 4 in fp16, over the budget of 4kB (4,000 B) "
                     "by 176 B (176 B, 4.4%)"]
    code, found = lint(run, write, "budget: {activations: 4176, batch_size: 4, dtype: fp16}\n" + MLP)
    assert (code, found) == (0, [])


def test_lint_passes_a_budget_that_holds_and_names_the_largest_part(run, write):
    assert lint(run, write, "budget: {params: 203530, macs: 203264}\n" + MLP) == (0, [])
    result = run("lint", "--isolated", write("budget: {params: 100K}\n" + MLP))
    assert "hint: the largest part is `0` (linear) with 98.7% of it" in result.stdout


def test_a_budget_on_a_free_symbol_is_not_passed_unproven(run, write):
    code, found = lint(run, write, "input: [D]\nbudget: {params: 1M}\nlayers: [linear: 10]\n")
    assert code == 1
    assert found == ["the params budget (1M) cannot be checked: params depends on D, which the spec leaves free"]
    assert lint(run, write, "input: [D]\nsymbols: {D: 10}\nbudget: {params: 1M}\nlayers: [linear: 10]\n") == (0, [])


def test_a_bad_budget_is_a_core_error(run, write):
    result = run("lint", "--isolated", "--format", "concise", write("budget: {params: 3KB}\n" + MLP))
    assert "1:18: E114 [bad-budget] budget params is a count, not a size in bytes" in result.stdout
    assert run("params", write("budget: {params: 3KB}\n" + MLP)).exit_code == 2
