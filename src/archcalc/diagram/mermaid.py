"""A :class:`~archcalc.diagram.Drawing` as a Mermaid flowchart, which GitHub and GitLab render in
Markdown (in a ```` ```mermaid ```` block) as it is.

Text goes into quoted labels with every character that Mermaid or the HTML it renders into could
read as syntax written as an entity code (``#35;`` for ``#``), so a layer named ``a"] --> x`` is a
name, not an edge.
"""

from __future__ import annotations

from archcalc.diagram import ADD, FOLDED, INPUT, JOIN, Box, Cluster, Drawing

#: box shape → Mermaid's brackets around the label
_SHAPES = {"layer": ('["', '"]'), FOLDED: ('[["', '"]]'), ADD: ('(("', '"))'), JOIN: ('{{"', '"}}'),
           INPUT: ('(["', '"])')}
_SAFE = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 _.,:+-*/=()[]·×−→⌊⌋⌈⌉^")


def render(drawing: Drawing) -> str:
    lines = ["flowchart TB"]
    _members(drawing.members, lines, "  ")
    for edge in drawing.edges:
        lines.append(f"  {edge.source} {'-.->' if edge.shortcut else '-->'} {edge.target}")
    lines += ["  classDef folded fill:#f4f4f4,stroke:#777", "  classDef join fill:#fff,stroke:#555"]
    folded = [box.id for box in drawing.boxes() if box.shape == FOLDED]
    joins = [box.id for box in drawing.boxes() if box.shape in (ADD, JOIN)]
    lines += [f"  class {','.join(ids)} {name}" for name, ids in (("folded", folded), ("join", joins)) if ids]
    return "\n".join(lines) + "\n"


def fenced(text: str) -> str:
    """The diagram as a Markdown block GitHub renders."""
    return f"```mermaid\n{text}```\n"


def _members(members: list[Box | Cluster], lines: list[str], indent: str) -> None:
    for member in members:
        if isinstance(member, Box):
            start, end = _SHAPES[member.shape]
            lines.append(f"{indent}{member.id}{start}{_label(member.lines)}{end}")
        else:
            lines.append(f'{indent}subgraph {member.id}["{_label(member.lines)}"]')
            _members(member.members, lines, indent + "  ")
            lines.append(f"{indent}end")


def _label(lines: list[str]) -> str:
    return "<br/>".join(_text(line) for line in lines)


def _text(text: str) -> str:
    """``text`` with every character outside a plain set as an entity code (``#34;``)."""
    return "".join(ch if ch in _SAFE else f"#{ord(ch)};" for ch in text)
