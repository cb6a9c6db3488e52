"""``--format sarif``: a SARIF 2.1.0 log (one run), for GitHub code scanning and other SARIF viewers.

The run's ``tool.driver.rules`` describe the rules that have results (id = code, with the name,
summary, full documentation and default level); each result carries the rule, level, message,
location (1-based lines, columns in Unicode code points) and, when there is one, the safe fix.
``tests/lint/test_formats.py`` validates the output against the official schema.
"""

from __future__ import annotations

import json
from urllib.parse import quote

from archcalc import __version__
from archcalc.lint.diagnostic import ERROR, WARNING, Diagnostic
from archcalc.lint.fixes import Text
from archcalc.lint.formats import end_of

SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
LEVELS = {ERROR: "error", WARNING: "warning"}


def render(results: list, color: bool = False) -> str:
    used = sorted({d.rule.code: d.rule for r in results for d in r.diagnostics}.values(), key=lambda rule: rule.code)
    index = {rule.code: i for i, rule in enumerate(used)}
    findings = []
    for result in results:
        text = Text(result.source)
        for d in result.diagnostics:
            findings.append(_result(d, index[d.code], text))
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "archcalc", "version": __version__, "rules": [_rule(r) for r in used]}},
            "columnKind": "unicodeCodePoints",
            "results": findings,
        }],
    }
    return json.dumps(log, indent=2, ensure_ascii=False) + "\n"


def _rule(rule) -> dict:
    return {"id": rule.code, "name": rule.name, "shortDescription": {"text": rule.summary},
            "fullDescription": {"text": rule.doc}, "help": {"text": rule.doc, "markdown": rule.doc},
            "defaultConfiguration": {"level": LEVELS.get(rule.severity, "note")},
            "properties": {"tags": [rule.severity]}}


def _result(d: Diagnostic, rule_index: int, text: Text) -> dict:
    end = end_of(d, text.line(d.loc.line))
    uri = _uri(d.loc.path)
    message = d.message + (f"\nhint: {d.hint}" if d.hint else "") + "".join(f"\nnote: {n}" for n in d.notes)
    out = {"ruleId": d.code, "ruleIndex": rule_index, "level": LEVELS.get(d.severity, "note"),
           "message": {"text": message},
           "locations": [{"physicalLocation": {"artifactLocation": {"uri": uri},
                                               "region": _region(d.loc, end)}}]}
    if d.fix is not None:
        out["fixes"] = [{"description": {"text": d.fix.message},
                         "artifactChanges": [{"artifactLocation": {"uri": uri},
                                              "replacements": [{"deletedRegion": _region(e.start, e.end),
                                                                "insertedContent": {"text": e.content}}
                                                               for e in d.fix.edits]}]}]
    return out


def _region(start, end) -> dict[str, int]:
    return {"startLine": start.line, "startColumn": start.col, "endLine": end.line, "endColumn": end.col}


def _uri(path: str) -> str:
    return quote(path.replace("\\", "/"), safe="/:@-._~")
