"""``--format json``: a list of findings, in ruff's shape plus ``name``, ``severity``, ``hint`` and
``notes`` (for an error inside a block, which block uses it came through)::

    [{"code": "N105", "name": "bias-before-batchnorm", "severity": "warning", "message": "...",
      "hint": "...", "notes": [], "filename": "specs/x.yaml", "location": {"row": 7, "column": 16},
      "end_location": {"row": 7, "column": 22},
      "fix": {"applicability": "safe", "message": "set bias: false",
              "edits": [{"content": ", bias: false", "location": {...}, "end_location": {...}}]}}]

Rows and columns are 1-based; columns count characters. ``fix`` is null when there is none.
"""

from __future__ import annotations

import json

from archcalc.errors import Loc
from archcalc.lint.fixes import Text
from archcalc.lint.formats import end_of


def render(results: list, color: bool = False) -> str:
    rows = []
    for result in results:
        text = Text(result.source)
        for d in result.diagnostics:
            fix = None
            if d.fix is not None:
                fix = {"applicability": "safe", "message": d.fix.message,
                       "edits": [{"content": e.content, "location": _point(e.start), "end_location": _point(e.end)}
                                 for e in d.fix.edits]}
            rows.append({"code": d.code, "name": d.name, "severity": d.severity, "message": d.message,
                         "hint": d.hint, "notes": list(d.notes), "filename": d.loc.path, "location": _point(d.loc),
                         "end_location": _point(end_of(d, text.line(d.loc.line))), "fix": fix})
    return json.dumps(rows, indent=2, ensure_ascii=False) + "\n"


def _point(loc: Loc) -> dict[str, int]:
    return {"row": loc.line, "column": loc.col}
