"""``--format full`` (the default): each finding with its source line, a caret under the spot, the hint
and, when there is one, the fix::

    specs/x.yaml:7:16: N105 [bias-before-batchnorm] `conv1.0` (conv2d) has a bias that ...
      |
    7 |       layers: [conv2d: {out: c, kernel: 3, padding: 1}, batchnorm2d, relu]
      |                ^^^^^^
      = hint: set bias: false (the batch norm's shift β takes its place)
      = fix: set bias: false (safe: archcalc lint --fix)
"""

from __future__ import annotations

import click

from archcalc.errors import printable
from archcalc.lint.diagnostic import Diagnostic
from archcalc.lint.fixes import Text
from archcalc.lint.formats import COLORS, end_of, heading


def render(results: list, color: bool = False) -> str:
    out = []
    for result in results:
        text = Text(result.source)
        for d in result.diagnostics:
            out.append(heading(d, color))
            line = text.line(d.loc.line)
            if line:
                gutter = " " * len(str(d.loc.line))
                end = end_of(d, line)
                carets = "^" * max(end.col - d.loc.col, 1)
                if color:
                    carets = click.style(carets, fg=COLORS[d.severity], bold=True)
                out += [f"{gutter} |", f"{d.loc.line} | {line.expandtabs(1)}",
                        f"{gutter} | {' ' * (d.loc.col - 1)}{carets}"]
                out += [f"{gutter} = {line}" for line in _hint_lines(d)]
                if d.fix:
                    out.append(f"{gutter} = fix: {printable(d.fix.message)} (safe: archcalc lint --fix)")
            else:
                out += [f"  {line}" for line in _hint_lines(d)]
            out.append("")
    return "\n".join(out) + ("\n" if out else "")


def _hint_lines(d: Diagnostic) -> list[str]:
    """``hint: …`` then, for an error inside a block, ``note: in block … used at …`` lines."""
    lines = [f"hint: {printable(d.hint, newlines=True)}"] if d.hint else []
    return lines + [f"note: {printable(note)}" for note in d.notes]
