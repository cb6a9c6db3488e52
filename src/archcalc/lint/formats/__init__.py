"""Output formats for lint results, one module each, looked up by name in :data:`FORMATS`.

Every format module has ``render(results) -> str`` over the list of linted files
(:class:`archcalc.lint.engine.Result`); the command prints what it returns. Formats load lazily, so
``--format concise`` never imports the SARIF writer.
"""

from __future__ import annotations

import importlib
import re

from archcalc.errors import Loc
from archcalc.lint.diagnostic import Diagnostic

#: format name → module
FORMATS: dict[str, str] = {
    "full": "archcalc.lint.formats.full",
    "concise": "archcalc.lint.formats.concise",
    "json": "archcalc.lint.formats.json",
    "github": "archcalc.lint.formats.github",
    "sarif": "archcalc.lint.formats.sarif",
}

_TOKEN = re.compile(r"""'[^']*'|"(?:[^"\\]|\\.)*"|[^\s,:{}\[\]#]+""")


def render(fmt: str, results: list) -> str:
    return importlib.import_module(FORMATS[fmt]).render(results)


def end_of(diagnostic: Diagnostic, line: str) -> Loc:
    """Where a diagnostic's span ends: its own end, else the end of the YAML token it starts on."""
    if diagnostic.end is not None and diagnostic.end.line == diagnostic.loc.line \
            and diagnostic.end.col > diagnostic.loc.col:
        return diagnostic.end
    match = _TOKEN.match(line, diagnostic.loc.col - 1)
    length = len(match.group()) if match and match.start() == diagnostic.loc.col - 1 else 1
    return Loc(diagnostic.loc.path, diagnostic.loc.line, diagnostic.loc.col + length)


def heading(diagnostic: Diagnostic) -> str:
    """``path:line:col: CODE [name] message``, the one line every text format starts with."""
    return f"{diagnostic.loc}: {diagnostic.code} [{diagnostic.name}] {diagnostic.message}"
