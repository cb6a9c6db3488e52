"""``--format github``: GitHub Actions workflow commands, one annotation per finding::

    ::warning title=archcalc N105 [bias-before-batchnorm],file=specs/x.yaml,line=7,col=16,endLine=7,endColumn=22::...

Errors become ``::error``, warnings ``::warning`` and informational findings ``::notice``. Values
are escaped as the workflow-command syntax requires (``%``, CR, LF; plus ``:`` and ``,`` in properties).
"""

from __future__ import annotations

from archcalc.lint.diagnostic import ERROR, WARNING
from archcalc.lint.fixes import Text
from archcalc.lint.formats import end_of

LEVELS = {ERROR: "error", WARNING: "warning"}


def render(results: list, color: bool = False) -> str:
    out = []
    for result in results:
        text = Text(result.source)
        for d in result.diagnostics:
            end = end_of(d, text.line(d.loc.line))
            props = {"title": f"archcalc {d.code} [{d.name}]", "file": d.loc.path, "line": d.loc.line,
                     "col": d.loc.col, "endLine": end.line, "endColumn": end.col}
            message = d.message + (f"\nhint: {d.hint}" if d.hint else "") + "".join(f"\nnote: {n}" for n in d.notes)
            out.append(f"::{LEVELS.get(d.severity, 'notice')} "
                       + ",".join(f"{k}={_property(str(v))}" for k, v in props.items()) + f"::{_data(message)}")
    return "".join(line + "\n" for line in out)


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")
