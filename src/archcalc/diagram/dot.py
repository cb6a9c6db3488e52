"""A :class:`~archcalc.diagram.Drawing` in Graphviz's DOT language, and as SVG through Graphviz's
``dot`` program when it is installed.

Labels are DOT strings with ``"`` and ``\\`` escaped (and control characters shown as escapes), so
no name can end a string or start a Graphviz escape sequence such as ``\\N``.
"""

from __future__ import annotations

import shutil
import subprocess

from archcalc.diagram import ADD, FOLDED, INPUT, JOIN, Box, Cluster, Drawing
from archcalc.errors import SpecError, printable

_STYLE = {
    "layer": 'shape=box, style="rounded,filled", fillcolor="#eef3fb", color="#5b7db1"',
    FOLDED: 'shape=box3d, style="filled", fillcolor="#f4f4f4", color="#777777"',
    ADD: 'shape=ellipse, style="filled", fillcolor="#ffffff", color="#555555"',
    JOIN: 'shape=hexagon, style="filled", fillcolor="#ffffff", color="#555555"',
    INPUT: 'shape=oval, style="filled", fillcolor="#ffffff", color="#555555"',
}
#: how to install Graphviz, which provides the ``dot`` program
INSTALL = "install Graphviz (the graphviz package: apt-get install graphviz, dnf install graphviz, brew install " \
    "graphviz, conda install graphviz), or use --format dot or --format mermaid"


def render(drawing: Drawing) -> str:
    lines = [
        "digraph archcalc {",
        f'  graph [rankdir=TB, fontname="Helvetica", fontsize=12, labelloc=t, label={_string([drawing.title])}, '
        "newrank=true, nodesep=0.3, ranksep=0.35];",
        '  node [fontname="Helvetica", fontsize=10, margin="0.12,0.04"];',
        '  edge [color="#555555", arrowsize=0.7];',
    ]
    _members(drawing.members, lines, "  ")
    for edge in drawing.edges:
        lines.append(f"  {edge.source} -> {edge.target}{' [style=dashed]' if edge.shortcut else ''};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def svg(dot_text: str) -> str:
    """``dot_text`` laid out and drawn by Graphviz as SVG; a located error naming Graphviz when ``dot`` is
    missing or fails."""
    program = shutil.which("dot")
    if program is None:
        raise SpecError(None, "--format svg needs Graphviz's dot program, which is not installed",
                        code="missing-dependency", hint=INSTALL)
    done = subprocess.run([program, "-Tsvg"], input=dot_text.encode("utf-8"), capture_output=True, check=False)
    if done.returncode != 0:
        message = printable(done.stderr.decode("utf-8", "replace").strip().replace("\n", " ")[:500])
        raise SpecError(None, f"Graphviz's dot failed (exit code {done.returncode}): {message}",
                        code="missing-dependency", hint="check that Graphviz works: dot -V")
    return done.stdout.decode("utf-8")


def _members(members: list[Box | Cluster], lines: list[str], indent: str) -> None:
    for member in members:
        if isinstance(member, Box):
            lines.append(f"{indent}{member.id} [label={_string(member.lines)}, {_STYLE[member.shape]}];")
        else:
            lines.append(f"{indent}subgraph cluster_{member.id} {{")
            lines.append(f'{indent}  label={_string(member.lines)}; style="rounded,dashed"; color="#999999"; '
                         'fontsize=10;')
            _members(member.members, lines, indent + "  ")
            lines.append(f"{indent}}}")


def _string(lines: list[str]) -> str:
    """A quoted DOT string of ``lines``, one per label line."""
    escaped = (printable(line).replace("\\", "\\\\").replace('"', '\\"') for line in lines)
    return '"' + "\\n".join(escaped) + '"'
