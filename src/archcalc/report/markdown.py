"""The ``markdown`` format: a GitHub table (the tree as indented labels), totals and notes."""

from __future__ import annotations

from archcalc.report import Report


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def render_markdown(report: Report) -> str:
    lines = [f"**{_cell(report.title)}**"]
    if report.columns:
        lines.append("")
        lines.append("| " + " | ".join(c.title for c in report.columns) + " |")
        lines.append("|" + "|".join("---:" if c.numeric else ":---" for c in report.columns) + "|")
    for row in report.rows:
        cells = []
        for c in report.columns:
            text = row.cells.get(c.key, "")
            if c.key == "layer":
                text = "&nbsp;&nbsp;" * (row.depth - 1) + (f"**{row.label}**" if row.container else row.label)
            cells.append(_cell(text))
        lines.append("| " + " | ".join(cells) + " |")
    if report.text:
        lines.append("")
        lines.extend(f"    {line}" for line in report.text)
    if report.footer:
        lines.append("")
        lines.extend(f"- {_cell(label)}: {_cell(value)}" for label, value in report.footer)
    if report.notes:
        lines.append("")
        lines.extend(f"> {_cell(note)}" for note in report.notes)
    return "\n".join(lines) + "\n"
