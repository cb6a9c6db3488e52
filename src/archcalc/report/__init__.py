"""Reports: what a command computed, as data, and the formats that render it.

A command builds one :class:`Report` (columns, tree rows, totals, notes, and the JSON payload) and
hands it to a renderer from :data:`FORMATS`. Calculators never print; renderers never compute.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO


@dataclass(frozen=True, slots=True)
class Column:
    """A column of the table (``title``) and of the CSV (``csv``: its snake_case header(s), empty for
    the drawn tree). ``keep`` ranks it for a narrow terminal: the lowest is left out first."""

    key: str
    title: str
    numeric: bool = False  # right-aligned
    csv: tuple[str, ...] = ()
    keep: int = 0


@dataclass(slots=True)
class Row:
    """One tree row: ``label`` is the path segment, ``depth`` its level (1 = top), ``cells`` the text by
    column key, ``values`` the exact values by CSV header (filled only for ``--format csv``)."""

    label: str
    depth: int
    cells: dict[str, str]
    last: bool = False  # last child of its parent (for the tree drawing)
    container: bool = False
    values: dict[str, object] = field(default_factory=dict)


@dataclass(slots=True)
class Report:
    title: str
    columns: list[Column]
    rows: list[Row]
    footer: list[tuple[str, str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # the --format json payload
    text: list[str] = field(default_factory=list)  # free lines (explanations), printed after the table
    #: where a text line too long for the terminal continues (0: four spaces past the line's own indent)
    hang: int = 0
    #: whether the command takes --columns, and which of its formats hold every column: what the notes
    #: about a table cut to the terminal's width may point to
    pick_columns: bool = True
    every_column: str = "--format csv and json have"


@dataclass(frozen=True, slots=True)
class Terminal:
    """Where a report goes: a stream, its width in columns, and whether it takes ANSI colour."""

    file: TextIO
    width: int = 80
    color: bool = False


def emit(report: Report, fmt: str, term: Terminal) -> None:
    """Write ``report`` in format ``fmt``."""
    from archcalc.collector import gc_paused

    with gc_paused():
        _emit(report, fmt, term)


def _emit(report: Report, fmt: str, term: Terminal) -> None:
    if fmt != "json":  # json.dumps escapes control characters itself
        report = printable_report(report)
    if fmt == "table":
        from archcalc.report.table import render_table

        render_table(report, term.file, term.width, term.color)
        return
    text = FORMATS[fmt](report)
    term.file.write(text if text.endswith("\n") else text + "\n")


def printable_report(report: Report) -> Report:
    """``report`` with every text it shows made :func:`~archcalc.errors.printable`: a model or layer
    named ``"\\x1b[2J"`` must not clear the screen of whoever runs ``archcalc params`` on it.
    Rows that need nothing (all, in practice) are kept as they are (100,000 rows cost ~40 ms)."""
    from dataclasses import replace

    from archcalc.errors import printable

    def row(r: Row) -> Row:
        if r.label.isprintable() and all(map(str.isprintable, r.cells.values())):
            return r
        return replace(r, label=printable(r.label), cells={k: printable(v) for k, v in r.cells.items()})

    return replace(report, title=printable(report.title), rows=[row(r) for r in report.rows],
                   footer=[(printable(label), printable(value)) for label, value in report.footer],
                   notes=[printable(n) for n in report.notes], text=[printable(t) for t in report.text])


def _json(report: Report) -> str:
    return json_text(report.data)


def json_text(data: dict) -> str:
    """Pretty JSON with one line per row of a list of objects: readable, and fast for 100,000 layers
    (``json.dumps(indent=...)`` falls back to the pure-Python encoder)."""
    import json

    def compact(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    lines = ["{"]
    for i, (key, value) in enumerate(data.items()):
        comma = "," if i < len(data) - 1 else ""
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            rows = ",\n".join(f"    {compact(v)}" for v in value)
            lines.append(f"  {compact(key)}: [\n{rows}\n  ]{comma}")
        else:
            lines.append(f"  {compact(key)}: {compact(value)}{comma}")
    lines.append("}")
    return "\n".join(lines)


def _markdown(report: Report) -> str:
    from archcalc.report.markdown import render_markdown

    return render_markdown(report)


def _csv(report: Report) -> str:
    from archcalc.report.csv import render_csv

    return render_csv(report)


#: format name → renderer producing text (``table`` is drawn by :func:`emit` with rich)
FORMATS: dict[str, Callable[[Report], str]] = {"json": _json, "markdown": _markdown, "csv": _csv}
FORMAT_NAMES = ("table", *FORMATS)


def tree_labels(rows: list[Row]) -> list[str]:
    """``├─conv1``, ``│ └─bn1``…: each row's label drawn into a tree, as torchinfo does."""
    prefixes = [""]  # prefixes[k]: the branches drawn before a row of depth k + 1 (│ where a level goes on)
    out = []
    for row in rows:
        del prefixes[row.depth:]
        prefix = prefixes[-1]
        out.append(f"{prefix}{'└─' if row.last else '├─'}{row.label}")
        prefixes.append(prefix + ("  " if row.last else "│ "))
    return out
