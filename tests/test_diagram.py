"""``archcalc diagram``: the drawing's structure, Mermaid checked by Mermaid's own parser (node and the
pinned ``mermaid`` package in tests/node), SVG drawn for real by Graphviz's ``dot``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

import archcalc
from archcalc.diagram import ADD, DRAWERS, FOLDED, JOIN, Cluster, drawing, mermaid
from archcalc.diagram import dot as dot_format
from archcalc.graph import nodes
from tests.conftest import ROOT, shipped_specs

NODE = ROOT / "tests" / "node"
SVG = "{http://www.w3.org/2000/svg}"

MINI = """\
name: mini
input: [3, 32, 32]
blocks:
  unit(c, s = 1):
    - residual:
        body:
          - conv2d: {out: c, kernel: 3, stride: s, padding: 1, bias: false}
          - batchnorm2d
          - relu
        shortcut: auto
        then: [relu]
layers:
  - conv2d: {out: 16, kernel: 3, padding: 1}
  - unit: {c: 16}
  - unit: {c: 32, s: 2}
  - name: mix
    concat:
      - [conv2d: {out: 8, kernel: 1}]
      - [conv2d: {out: 8, kernel: 1}, relu]
      - []
  - global_avgpool2d
  - linear: 10
"""


def needs(program: str, hint: str) -> None:
    """Skip without ``program`` on a developer's machine; fail in CI, which installs it (.ci/run)."""
    if os.environ.get("CI"):
        return
    pytest.skip(f"{program} is not here: {hint}")


@pytest.fixture(scope="module")
def mermaid_parse():
    """Parse Mermaid texts with Mermaid's parser, all in one node process: ``parse({name: text})`` →
    ``{name: result}`` (``ok``, ``error``, ``vertices``, ``edges``, ``subgraphs``)."""
    if shutil.which("node") is None or not (NODE / "node_modules" / "mermaid").is_dir():
        needs("mermaid", "npm ci --prefix tests/node (Node.js and npm)")

    def parse(texts: dict[str, str], folder: Path) -> dict[str, dict]:
        files = []
        for i, text in enumerate(texts.values()):
            path = folder / f"d{i}.mmd"
            path.write_text(text, encoding="utf-8")
            files.append(str(path))
        done = subprocess.run(["node", str(NODE / "mermaid-parse.mjs"), *files], capture_output=True, text=True,
                              check=True)
        return dict(zip(texts, json.loads(done.stdout)))

    return parse


def clusters(members) -> list[Cluster]:
    out = []
    for member in members:
        if isinstance(member, Cluster):
            out += [member, *clusters(member.members)]
    return out


# -- the drawing --------------------------------------------------------------------------------


def test_every_node_type_has_a_drawer():
    types = {cls for cls in vars(nodes).values() if isinstance(cls, type) and issubclass(cls, nodes.Node)
             and cls is not nodes.Node}
    assert types and types <= set(DRAWERS)


def test_residual_and_concat_paths_are_the_graph_they_are():
    pic = drawing(archcalc.loads(MINI))
    boxes = {box.id: box for box in pic.boxes()}
    into = {}
    for edge in pic.edges:
        into.setdefault(edge.target, []).append(edge)
    adds = [box for box in boxes.values() if box.shape == ADD]
    assert [box.lines for box in adds] == [["+", "[16, 32, 32]"], ["+", "[32, 16, 16]"]]
    # the first unit keeps the shape: its input itself is added (a dashed edge from the block's input)
    first = into[adds[0].id]
    assert sorted(e.shortcut for e in first) == [False, True]
    assert boxes[next(e.source for e in first if e.shortcut)].lines[0] == "0 · conv2d"
    # the second projects: 1×1 conv and batch norm on the dashed path
    shortcut = [e for e in pic.edges if e.shortcut]
    assert [boxes[e.target].lines[0] for e in shortcut] == ["+", "shortcut.0 · conv2d", "shortcut.1 · batchnorm2d",
                                                           "+"]
    assert boxes[shortcut[1].target].lines[1:] == ["[32, 16, 16]", "512 params"]
    # three branches leave the same box and meet at the join; the empty one is the input itself
    [join] = [box for box in boxes.values() if box.shape == JOIN]
    assert join.lines == ["concat", "[48, 16, 16]"]
    sources = [boxes[e.source].lines[0] for e in into[join.id]]
    assert sources == ["0 · conv2d", "1.1 · relu", "4 · relu"]
    starts = {boxes[e.source].lines[0] for e in pic.edges if boxes[e.target].lines[0] in ("0 · conv2d", "1.0 · conv2d")
              and e.target != boxes[e.source].id}
    assert "4 · relu" in starts
    titles = [c.lines for c in clusters(pic.members)]
    assert titles == [["1 · unit", "→ [16, 32, 32]", "2,336 params"], ["2 · unit", "→ [32, 16, 16]", "5,248 params"],
                      ["mix · concat", "→ [48, 16, 16]", "528 params"]]


def test_depth_folds_blocks_into_one_box_with_their_totals():
    model = archcalc.load(ROOT / "specs" / "resnet50.yaml")
    full, top = drawing(model), drawing(model, depth=1)
    residuals = [n for n, _ in model.graph.walk() if isinstance(n, nodes.ResidualNode)]
    assert len(full.boxes()) == 1 + len(model.layers) + len(residuals) == 1 + 159 + 16  # input, layers, additions
    assert len(clusters(full.members)) == 4 + 16
    assert clusters(top.members) == []
    folded = [box.lines for box in top.boxes() if box.shape == FOLDED]
    assert folded[0] == ["layer1 · stage", "[256, 56, 56]", "215,808 params"]
    assert [b.lines[0] for b in top.boxes()] == ["input", "conv1 · conv2d", "bn1 · batchnorm2d", "2 · relu",
                                                 "maxpool · maxpool2d", "layer1 · stage", "layer2 · stage",
                                                 "layer3 · stage", "layer4 · stage",
                                                 "avgpool · adaptive_avgpool2d", "9 · flatten", "fc · linear"]
    two = drawing(model, depth=2)
    assert len(clusters(two.members)) == 4 and sum(b.shape == FOLDED for b in two.boxes()) == 16


def test_symbolic_shapes_in_the_diagram_notation(run):
    out = run("diagram", ROOT / "specs" / "symbolic-cnn.yaml", "--symbolic").stdout
    assert "[32, ⌊H/4⌋, ⌊W/4⌋]" in out and "320×⌊H/4⌋×⌊W/4⌋ + 10 params" in out


# -- Mermaid ------------------------------------------------------------------------------------

HOSTILE = """\
input: [4]
layers:
  - linear: {out: 3, name: 'a"] --> x["b'}
  - linear: {out: 3, name: "end"}
  - linear: {out: 3, name: "<script>alert(1)</script>#;%%"}
  - linear: {out: 3, name: "subgraph\\nz"}
"""


def test_mermaid_parses_with_mermaids_own_grammar(mermaid_parse, run, tmp_path):
    texts, pictures = {}, {}
    for path in [*shipped_specs(), "MINI", "HOSTILE"]:
        spec = tmp_path / f"{path}.yaml" if isinstance(path, str) else path
        if isinstance(path, str):
            spec.write_text(MINI if path == "MINI" else HOSTILE, encoding="utf-8")
        for depth in (None, 1):
            args = ["diagram", spec, *(["--depth", str(depth)] if depth else [])]
            result = run(*args)
            assert result.exit_code == 0, result.stderr
            key = f"{Path(spec).stem}@{depth}"
            texts[key] = result.stdout
            pictures[key] = drawing(archcalc.load(spec), depth)
    parsed = mermaid_parse(texts, tmp_path)
    for key, result in parsed.items():
        assert result["ok"], f"{key}: {result.get('error')}"
        pic = pictures[key]
        assert result["type"] == "flowchart-v2"
        assert sorted(v["id"] for v in result["vertices"]) == sorted(box.id for box in pic.boxes()), key
        assert [(e["start"], e["end"], e["stroke"]) for e in result["edges"]] == \
            [(e.source, e.target, "dotted" if e.shortcut else "normal") for e in pic.edges], key
        assert sorted(s["id"] for s in result["subgraphs"]) == sorted(c.id for c in clusters(pic.members)), key
    hostile = parsed["HOSTILE@None"]
    assert len(hostile["vertices"]) == 5 and len(hostile["edges"]) == 4 and hostile["subgraphs"] == []


def test_mermaid_rejects_what_is_not_mermaid(mermaid_parse, tmp_path):
    """The check can fail: Mermaid's parser refuses a broken diagram."""
    good = mermaid.render(drawing(archcalc.loads(MINI)))
    parsed = mermaid_parse({"good": good, "unclosed": good.replace("  end\n", "", 1),
                            "bracket": good + '  n1 --> n99["unclosed\n'}, tmp_path)
    assert parsed["good"]["ok"] and not parsed["unclosed"]["ok"] and not parsed["bracket"]["ok"]
    assert "Parse error" in parsed["bracket"]["error"]


def test_mermaid_in_markdown(run, tmp_path):
    path = tmp_path / "model.md"
    assert run("diagram", ROOT / "specs" / "seed-mlp.yaml", "-o", path).exit_code == 0
    text = path.read_text(encoding="utf-8")
    assert text.startswith("```mermaid\nflowchart TB\n") and text.endswith("```\n")
    assert '  n2["0 · linear<br/>[30]<br/>1,530 params"]\n' in text


# -- Graphviz -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def graphviz():
    if shutil.which("dot") is None:
        needs("Graphviz's dot", "apt-get install graphviz")


def svg_counts(text: str) -> tuple[int, int, int, list[str]]:
    root = ET.fromstring(text)
    groups = [g.get("class") for g in root.iter(f"{SVG}g")]
    texts = [t.text or "" for t in root.iter(f"{SVG}text")]
    return groups.count("node"), groups.count("edge"), groups.count("cluster"), texts


@pytest.mark.parametrize("spec, depth", [("resnet50.yaml", None), ("resnet18.yaml", 2), ("vgg16.yaml", None)])
def test_svg_is_drawn_for_real(graphviz, run, tmp_path, spec, depth):
    path = tmp_path / "model.svg"
    args = ["diagram", ROOT / "specs" / spec, "--format", "svg", "-o", path, *(["--depth", depth] if depth else [])]
    result = run(*args)
    assert result.exit_code == 0, result.stderr
    pic = drawing(archcalc.load(ROOT / "specs" / spec), depth)
    boxes, edges, groups, texts = svg_counts(path.read_text(encoding="utf-8"))
    assert (boxes, edges, groups) == (len(pic.boxes()), len(pic.edges), len(clusters(pic.members)))
    assert all(line in texts for box in pic.boxes() for line in box.lines)


def test_dot_escapes_hostile_names(graphviz, run, write):
    spec = write(HOSTILE + '  - linear: {out: 2, name: "q\\\\N\\\\\\"x"}\n')
    result = run("diagram", spec, "--format", "svg")
    assert result.exit_code == 0, result.stderr
    boxes, edges, _, texts = svg_counts(result.stdout)
    assert (boxes, edges) == (6, 5)
    assert 'a"] --> x["b · linear' in texts and '<script>alert(1)</script>#;%% · linear' in texts
    assert 'q\\N\\"x · linear' in texts
    assert "subgraph\\nz · linear" in texts  # the newline shown as an escape


def test_dot_source_goes_through_graphviz(graphviz, write, run):
    text = run("diagram", write(MINI), "--format", "dot").stdout
    assert text.startswith("digraph archcalc {\n")
    done = subprocess.run(["dot", "-Tsvg"], input=text, capture_output=True, text=True, check=True)
    pic = drawing(archcalc.loads(MINI))
    assert svg_counts(done.stdout)[:3] == (len(pic.boxes()), len(pic.edges), len(clusters(pic.members))) == (20, 23, 3)
    assert dot_format.render(pic) == text


def test_svg_without_graphviz_names_the_package(run, write, tmp_path):
    result = run("diagram", write(MINI), "--format", "svg", "-o", tmp_path / "x.svg", env={"PATH": str(tmp_path)})
    assert result.exit_code == 2
    assert result.stderr.startswith("error: --format svg needs Graphviz's dot program, which is not installed\n")
    assert "the graphviz package: apt-get install graphviz" in result.stderr
    assert not (tmp_path / "x.svg").exists()


def test_the_output_file_suffix_matches_the_format(run, write, tmp_path):
    result = run("diagram", write(MINI), "--format", "dot", "-o", tmp_path / "x.svg")
    assert result.exit_code == 2 and "a dot diagram is a .dot or .gv file; name it" in result.stderr
    assert f"name it {tmp_path / 'x.dot'}, or add --format svg" in " ".join(result.stderr.split())
    result = run("diagram", write(MINI), "-o", tmp_path / "x.txt")
    assert result.exit_code == 2 and "name it" in result.stderr and "--format" not in result.stderr
    assert not list(tmp_path.glob("x.*"))


def test_a_diagram_too_big_for_mermaids_defaults_says_so(run, write):
    spec = write("input: [8]\nlayers:\n  - repeat: 300\n    layers: [linear: 8, relu]\n")
    result = run("diagram", spec)
    assert result.exit_code == 0 and result.stdout.startswith("flowchart TB\n")
    assert "note: Mermaid (and GitHub with it) draws at most 50,000 characters and 500 edges by default, and " \
        "this diagram has" in result.stderr and "600: fold blocks with --depth" in result.stderr
    assert run("diagram", ROOT / "specs" / "resnet50.yaml").stderr == ""
