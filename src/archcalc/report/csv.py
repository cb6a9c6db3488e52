"""The ``csv`` format: one row per node for spreadsheets and scripts.

Machine-readable first: snake_case headers (``path,kind,output_shape,params,…,depth,leaf``), exact
values (``25557032``, not ``25,557,032`` or ``25.6M``; ``0``, not ``–``; a free symbol's formula in
sympy syntax), and no title, totals or notes. ``depth`` is the row's level in the tree (1 = top) and
``leaf`` is ``true`` for a layer, ``false`` for a block, whose numbers include its layers'.
"""

from __future__ import annotations

import csv
import io

from archcalc import symbolic
from archcalc.report import Report


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    headers = [name for c in report.columns for name in c.csv]
    writer.writerow(["path", *headers, "depth", "leaf"])
    for row in report.rows:
        values = [row.values.get(name) for name in headers]
        writer.writerow([_inert(row.cells.get("path", row.label)), *map(_text, values), row.depth,
                         "false" if row.container else "true"])
    return out.getvalue()


def _inert(path: str) -> str:
    """A path, which holds the spec's names, made inert for spreadsheets: one starting with ``=``,
    ``+``, ``-``, ``@`` or a tab (``=HYPERLINK(…)`` as a layer name) would be read as a formula, so
    it gets a leading ``'``, the spreadsheet's own mark for text. Numbers and formulas in the
    other cells come from archcalc, never from the spec's text."""
    return f"'{path}" if path[:1] in ("=", "+", "-", "@", "\t", "\r") else path


def _text(value: object) -> str:
    """A value as a script reads it back: ``1234``, ``0.0368``, ``floor(H/4)``; empty when there is none."""
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(round(value, 6))
    return str(symbolic.to_json(value))
