"""The ``table`` format: an aligned text table with the block tree drawn in the first column.

Drawn by hand rather than with rich's Table: a ResNet-50 has ~300 rows, which rich lays out in
about 0.15 s, twice what the whole computation costs. Cells wider than the terminal allows fold
onto continuation lines (shapes break after a comma), so the table stays readable at 80 columns.
"""

from __future__ import annotations

from typing import TextIO

from archcalc.report import Report, tree_labels

BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
GAP = 2
MIN_FOLD = 10


def render_table(report: Report, out: TextIO, width: int, color: bool = False) -> None:
    def style(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    write = out.write
    write(style(report.title, BOLD) + "\n")
    if report.columns:
        _draw(report, write, width, style)
    if report.footer:
        label_width = max(len(label) for label, _ in report.footer)
        value_width = max(len(value) for _, value in report.footer)
        write("\n")
        for label, value in report.footer:
            write(f"{label:<{label_width}}  {value:>{value_width}}\n")
    for line in report.text:
        write(line + "\n")
    for note in report.notes:
        write(style(f"note: {note}", DIM) + "\n")


def _draw(report: Report, write, width: int, style) -> None:
    columns = report.columns
    labels = tree_labels(report.rows)
    grid = [[labels[i] if c.key == "layer" else row.cells.get(c.key, "") for c in columns]
            for i, row in enumerate(report.rows)]
    widths = [max([len(c.title), *(len(r[j]) for r in grid)]) for j, c in enumerate(columns)]
    _fit(widths, columns, width)
    header = _line([c.title for c in columns], widths, columns)
    write(style(header, "\x1b[1m") + "\n")
    write("─" * len(header) + "\n")
    for row, cells in zip(report.rows, grid):
        folded = [_fold(text, w) for text, w in zip(cells, widths)]
        for k in range(max(len(f) for f in folded)):
            line = _line([f[k] if k < len(f) else "" for f in folded], widths, columns)
            write((style(line, BOLD) if row.container else line) + "\n")


def _fit(widths: list[int], columns, width: int) -> None:
    """Narrow the widest non-numeric columns until the table fits ``width`` (never below MIN_FOLD)."""
    while sum(widths) + GAP * (len(widths) - 1) > width:
        candidates = [j for j, c in enumerate(columns) if not c.numeric and widths[j] > MIN_FOLD]
        if not candidates:
            return
        j = max(candidates, key=lambda i: widths[i])
        widths[j] -= 1


def _fold(text: str, width: int) -> list[str]:
    """Split ``text`` into pieces of at most ``width``, preferring breaks after ', '."""
    pieces = []
    while len(text) > width:
        cut = text.rfind(", ", 0, width)
        cut = cut + 2 if cut > 0 else width
        pieces.append(text[:cut].rstrip())
        text = text[cut:]
    pieces.append(text)
    return pieces


def _line(cells: list[str], widths: list[int], columns) -> str:
    parts = [cell.rjust(w) if c.numeric else cell.ljust(w) for cell, w, c in zip(cells, widths, columns)]
    return (" " * GAP).join(parts).rstrip()
