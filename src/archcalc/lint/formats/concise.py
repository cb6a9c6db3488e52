"""``--format concise``: one line per finding, ``path:line:col: CODE [name] message``."""

from __future__ import annotations

from archcalc.lint.formats import heading


def render(results: list, color: bool = False) -> str:
    return "".join(heading(d, color) + "\n" for result in results for d in result.diagnostics)
