"""Inline suppression comments: ``# archcalc: disable=CODE[,CODE]`` and ``# archcalc: disable-file=CODE``.

A ``disable`` comment at the end of a line suppresses findings on that line; on a line of its own
it suppresses findings on the next line that holds YAML. ``disable-file`` (anywhere) suppresses the
codes in the whole file. Codes may be given as codes or names; text after `` -- `` is a reason and
ignored. Core errors (``E``) are never suppressed: a spec that does not build is checked by no other
rule, so a directive naming one is reported instead. The YAML loader drops comments, so they are
found here in the text: a ``#`` that starts a comment (at the start of a line or after whitespace,
and not inside a scalar, whose positions the YAML tree the engine has read already gives) and holds
``archcalc:``. A suppression that suppresses nothing is reported by the ``unused-suppression`` rule.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import yaml

from archcalc.errors import Loc
from archcalc.lint import registry
from archcalc.lint.diagnostic import Diagnostic
from archcalc.spec.source import YMap, YNode, YScalar, split_lines

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_COMMENT = re.compile(r"(?:^|(?<=\s))#")
_DIRECTIVE = re.compile(r"#\s*archcalc\s*:\s*")
_ACTION = re.compile(r"(disable-file|disable)\s*=\s*")
_WORD = re.compile(r"[A-Za-z0-9_-]+")


@dataclass(slots=True)
class Code:
    """One code (or name) in a directive, and where it is written."""

    word: str
    start: Loc
    end: Loc


@dataclass(slots=True)
class Directive:
    """One ``# archcalc: ...`` comment. ``target`` is the line it applies to (None: the whole file)."""

    action: str  # disable, disable-file, or "" when the comment cannot be read
    line: int
    target: int | None
    codes: list[Code]
    start: Loc  # the '#' of the directive
    line_end: Loc  # the end of its line
    cut: Loc  # where removing the directive starts: the whitespace before its '#'
    own_line: bool  # nothing but the comment on its line
    used: set[int] = field(default_factory=set)  # indexes of codes that suppressed something


@dataclass(slots=True)
class Unused:
    """Codes of one directive that suppressed nothing, each with the reason."""

    directive: Directive
    codes: list[tuple[Code, str]]


def directives(source: str, path: str, root: YNode | None = None) -> list[Directive]:
    """Every ``# archcalc:`` comment in ``source``, whose YAML tree is ``root`` (None: it could not be read)."""
    if "archcalc" not in source:
        return []
    lines = split_lines(source)  # numbered as the YAML reader (and fixes.Text) numbers them
    scalars = _scalar_spans(root) if root is not None else _scanned_spans(source)
    found = []
    for number, text in enumerate(lines, 1):
        if "archcalc" not in text:
            continue
        for hash_ in _COMMENT.finditer(text):
            if _inside(scalars, number, hash_.start() + 1):
                continue
            match = _DIRECTIVE.search(text, hash_.start())
            if match:
                found.append(_directive(text, number, match, lines, path))
            break
    return found


def _directive(text: str, number: int, match: re.Match, lines: list[str], path: str) -> Directive:
    own_line = not text[:match.start()].strip()
    start, line_end = Loc(path, number, match.start() + 1), Loc(path, number, len(text) + 1)
    cut = Loc(path, number, len(text[:match.start()].rstrip()) + 1)
    action = _ACTION.match(text, match.end())
    if not action:
        return Directive("", number, None, [], start, line_end, cut, own_line)
    codes = []
    rest_end = text.find(" --", action.end())
    rest_end = len(text) if rest_end < 0 else rest_end
    for word in _WORD.finditer(text, action.end(), rest_end):
        codes.append(Code(word.group(), Loc(path, number, word.start() + 1), Loc(path, number, word.end() + 1)))
    target = None
    if action.group(1) == "disable":
        target = number
        if own_line:
            target = next((i for i in range(number + 1, len(lines) + 1)
                           if lines[i - 1].strip() and not lines[i - 1].lstrip().startswith("#")), None)
    return Directive(action.group(1) if codes else "", number, target, codes, start, line_end, cut, own_line)


Span = tuple[tuple[int, int], tuple[int, int]]


def _scalar_spans(root: YNode) -> list[Span]:
    """(start, end) of every scalar of the tree as 1-based (line, column), so a '#' inside a string is no comment."""
    spans, seen, stack = [], set(), [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:  # an alias: its anchor's text is already counted
            continue
        seen.add(id(node))
        if isinstance(node, YScalar):
            spans.append(((node.loc.line, node.loc.col), (node.end.line, node.end.col)))
        elif isinstance(node, YMap):
            stack.extend(part for pair in node.items for part in pair)
        else:
            stack.extend(node.items)
    return spans


def _scanned_spans(source: str) -> list[Span]:
    """The scalar spans of a text the composer refused: the scanner's tokens, as far as it gets."""
    spans = []
    try:
        for token in yaml.scan(source, Loader=_Loader):
            if isinstance(token, yaml.ScalarToken):
                start, end = token.start_mark, token.end_mark
                spans.append(((start.line + 1, start.column + 1), (end.line + 1, end.column + 1)))
    except yaml.YAMLError:
        pass  # every '#' after whitespace past this point counts as a comment
    return spans


def _inside(spans: list[Span], line: int, col: int) -> bool:
    return any(start <= (line, col) < end for start, end in spans)


def apply(diagnostics: list[Diagnostic], found: list[Directive]) -> list[Diagnostic]:
    """The diagnostics no directive suppresses (core errors never are); marks in each directive which codes were
    used."""
    whole_file = [d for d in found if d.action == "disable-file"]
    by_line: dict[int, list[Directive]] = {}
    for d in found:
        if d.action == "disable" and d.target is not None:
            by_line.setdefault(d.target, []).append(d)
    kept = []
    for diagnostic in diagnostics:
        if diagnostic.rule.core:
            kept.append(diagnostic)
            continue
        suppressed = False
        for directive in (*by_line.get(diagnostic.loc.line, ()), *whole_file):
            for i, code in enumerate(directive.codes):
                rule = registry.find(code.word)
                if rule is not None and rule.code == diagnostic.code:
                    directive.used.add(i)
                    suppressed = True
        if not suppressed:
            kept.append(diagnostic)
    return kept


def unused(found: list[Directive], enabled: set[str] | frozenset[str], built: bool = True) -> list[Unused]:
    """The codes of each directive that suppressed nothing, with why (call after :func:`apply`).

    A code of a rule this run does not enable is reported only when the rule is on by default (a
    configuration turned it off): an opt-in, informational rule's code is kept quietly for the
    runs that select it (a spec's suppression of G101 is used by ``--select ALL``, and must not
    fail the default run). For a spec that did not build no other rule ran, so only what is wrong
    whatever the findings is reported: an unknown or repeated code, a core code (which no comment
    suppresses).
    """
    out = []
    for directive in found:
        if not directive.action:
            out.append(Unused(directive, []))
            continue
        problems, seen = [], set()
        for i, code in enumerate(directive.codes):
            rule = registry.find(code.word)
            if rule is None:
                problems.append((code, "unknown"))
            elif rule.core:
                problems.append((code, "core"))
            elif rule.code in seen:
                problems.append((code, "duplicate"))
            elif not built:
                pass
            elif rule.code not in enabled:
                if rule.default:  # an opt-in rule's suppression waits for the runs that select it
                    problems.append((code, "not enabled"))
            elif i not in directive.used:
                problems.append((code, "no finding"))
            if rule is not None:
                seen.add(rule.code)
        if problems:
            out.append(Unused(directive, problems))
    return out
