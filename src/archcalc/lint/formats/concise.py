"""``--format concise``: one line per finding, ``path:line:col: CODE [name] message``."""

from __future__ import annotations

from archcalc.lint.formats import heading


def render(results: list) -> str:
    return "".join(heading(d) + "\n" for result in results for d in result.diagnostics)
