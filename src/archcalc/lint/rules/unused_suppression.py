"""A suppression comment that suppresses nothing.

## What it does
Reports an `# archcalc: disable=…` or `# archcalc: disable-file=…` comment naming a rule that
has no finding where the comment applies, a rule on by default that the configuration turns off (an
opt-in, informational rule's code is left for the runs that select it), an unknown code, the same
rule twice, or a core error (`E…`), which no comment suppresses; and an `# archcalc:` comment that
is not a suppression archcalc can read. When the spec does not build, no other rule has run, so
only unknown, repeated and core codes are reported.

## Why is this bad?
A suppression is a claim that a finding is known and accepted. Once the spec changes and the
finding is gone, the stale comment hides the next, different finding of that rule on that line,
and tells readers about a problem that no longer exists. A misspelt code or directive suppresses
nothing at all, while its author believes it does. A core error means the spec cannot be built,
so no other rule checks it: it must be fixed, not silenced.

## Example
```yaml
input: [50]
layers:
  - linear: 30  # archcalc: disable=A101
  - relu
  - linear: 3
```

Use instead:
```yaml
input: [50]
layers:
  - linear: 30
  - relu
  - linear: 3
```

## Fix safety
Safe: the fix removes the codes that are unknown, repeated, core or have no finding (the whole comment,
or its whole line, when no code is left). Codes of rules that are merely not enabled in this run
are kept, since another configuration (a pre-commit hook, a CI job) may enable them.

## References
- ruff RUF100 (unused-noqa); ESLint `--report-unused-disable-directives`.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from archcalc.errors import Loc
from archcalc.lint import fixes, registry
from archcalc.lint.diagnostic import WARNING, Finding, Fix

if TYPE_CHECKING:
    from archcalc.lint.suppression import Directive, Unused

SEVERITY = WARNING
FIXABLE = True
SCOPE = "comments"
#: reasons for which the fix may delete a code
REMOVABLE = ("unknown", "duplicate", "core", "no finding")


def check(unused: list[Unused]) -> Iterator[Finding]:
    for item in unused:
        directive = item.directive
        if not directive.action:
            yield Finding(directive.start, "this '# archcalc:' comment is not a suppression archcalc can read",
                          hint="write '# archcalc: disable=CODE[,CODE]' (for its line, or alone on the line above) "
                          "or '# archcalc: disable-file=CODE'")
            continue
        parts = [_describe(code.word, reason, directive) for code, reason in item.codes]
        reasons = {reason for _, reason in item.codes}
        hint = "check the code ('archcalc rules' lists them)" if "unknown" in reasons \
            else "fix the spec so that it builds, and remove the code" if "core" in reasons \
            else "enable the rule, or remove the code" if reasons == {"not enabled"} else "remove it"
        yield Finding(item.codes[0][0].start, "unused suppression: " + "; ".join(parts), hint=hint,
                      fix=_fix(item), end=item.codes[-1][0].end)


def _describe(word: str, reason: str, directive: Directive) -> str:
    rule = registry.find(word)
    code = rule.code if rule is not None else word
    if reason == "unknown":
        return f"'{word}' is not a rule"
    if reason == "duplicate":
        return f"{code} is listed twice"
    if reason == "core":
        return f"{code} is a core error, which cannot be suppressed"
    if reason == "not enabled":
        return f"{code} is not enabled"
    where = "in this file" if directive.target is None else f"on line {directive.target}"
    return f"no {code} finding {where}"


def _fix(item: Unused) -> Fix | None:
    directive = item.directive
    removable = {id(code) for code, reason in item.codes if reason in REMOVABLE}
    if not removable:
        return None
    kept = [code for code in directive.codes if id(code) not in removable]
    path = directive.start.path
    if kept:
        codes = directive.codes
        spaced = len(codes) > 1 and codes[1].start.col - codes[0].end.col > 1
        edit = fixes.Edit(codes[0].start, codes[-1].end, (", " if spaced else ",").join(c.word for c in kept))
        return fixes.fix("remove the unused codes", edit)
    if directive.own_line:
        return fixes.fix("remove the suppression comment",
                         fixes.delete(Loc(path, directive.line, 1), Loc(path, directive.line + 1, 1)))
    return fixes.fix("remove the suppression comment", fixes.delete(directive.cut, directive.line_end))
