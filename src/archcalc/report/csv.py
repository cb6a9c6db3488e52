"""The ``csv`` format: one row per node with its full path, for spreadsheets and scripts."""

from __future__ import annotations

import csv
import io

from archcalc.report import Report


def render_csv(report: Report) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["path", "depth", *[c.title for c in report.columns if c.key != "layer"]])
    for row in report.rows:
        writer.writerow([row.cells.get("path", row.label), row.depth,
                         *[row.cells.get(c.key, "") for c in report.columns if c.key != "layer"]])
    return out.getvalue()
