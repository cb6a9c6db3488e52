"""docs/review.md shows real output: its diagram and diffs are what archcalc prints today."""

from __future__ import annotations

import re

from tests.conftest import ROOT

DOC = (ROOT / "docs" / "review.md").read_text(encoding="utf-8")


def block(language: str, marker: str) -> str:
    [text] = [b for b in re.findall(rf"```{language}\n(.*?)```", DOC, re.S) if marker in b]
    return text


def test_the_diagram_is_real(run, write):
    spec = write(block("yaml", "name: tiny-resnet"), "tiny.yaml")
    assert run("diagram", spec).stdout == block("mermaid", "flowchart TB")


def test_the_diffs_are_real(run, monkeypatch):
    monkeypatch.chdir(ROOT)
    console = block("console", "$ archcalc diff specs/vgg11.yaml specs/vgg16.yaml --depth 1")
    command, shown = console.split("\n", 1)
    args = command.removeprefix("$ archcalc ").split()
    assert run(*args, env={"COLUMNS": "100"}).stdout == shown
    markdown = DOC.split("prints the same for a pull-request comment:\n\n", 1)[1].split("\n`--rev`", 1)[0]
    assert run(*args, "--format", "markdown").stdout == markdown


def test_the_readme_diff_is_real(run, monkeypatch):
    monkeypatch.chdir(ROOT)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    command = "$ archcalc diff specs/vgg11.yaml specs/vgg16.yaml --depth 1 --format markdown | tail -9\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    out = run("diff", "specs/vgg11.yaml", "specs/vgg16.yaml", "--depth", "1", "--format", "markdown").stdout
    assert "\n".join(out.splitlines()[-9:]) + "\n" == shown
