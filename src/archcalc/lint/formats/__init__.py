"""Output formats for lint results, one module each, looked up by name in :data:`FORMATS`.

Every format module has ``render(results, color) -> str`` over the list of linted files
(:class:`archcalc.lint.engine.Result`); the command prints what it returns. ``color`` (ANSI, when
the output is a terminal and ``NO_COLOR`` is unset) only matters to the text formats. Formats load
lazily, so ``--format concise`` never imports the SARIF writer.
"""

from __future__ import annotations

import importlib
import re

import click

from archcalc.errors import Loc, printable
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


#: severity → colour of its code and carets in the text formats
COLORS = {"error": "red", "warning": "yellow", "info": "blue"}


def render(fmt: str, results: list, color: bool = False) -> str:
    return importlib.import_module(FORMATS[fmt]).render(results, color)


def end_of(diagnostic: Diagnostic, line: str) -> Loc:
    """Where a diagnostic's span ends: its own end, else the end of the YAML token it starts on."""
    if diagnostic.end is not None and diagnostic.end.line == diagnostic.loc.line \
            and diagnostic.end.col > diagnostic.loc.col:
        return diagnostic.end
    match = _TOKEN.match(line, diagnostic.loc.col - 1)
    length = len(match.group()) if match and match.start() == diagnostic.loc.col - 1 else 1
    return Loc(diagnostic.loc.path, diagnostic.loc.line, diagnostic.loc.col + length)


def heading(diagnostic: Diagnostic, color: bool = False) -> str:
    """``path:line:col: CODE [name] message``, the one line every text format starts with (control
    characters in the path or message, which quote the spec, shown as escapes)."""
    loc, message = printable(str(diagnostic.loc)), printable(diagnostic.message)
    if not color:
        return f"{loc}: {diagnostic.code} [{diagnostic.name}] {message}"
    code = click.style(diagnostic.code, fg=COLORS[diagnostic.severity], bold=True)
    return f"{click.style(loc, bold=True)}: {code} {click.style(f'[{diagnostic.name}]', dim=True)} {message}"
