"""Lint one spec text: build it, run the enabled rules, apply suppressions; and fix it.

The core stops at the first error of a file, which becomes the finding of the matching ``E`` rule;
when the error came after some top-level layers had built, the layer-local rules (``PREFIX``) still
check those. Otherwise every enabled rule's ``check`` runs over the built model. Core findings are reported
whatever the selection and whatever the comments say: a spec that does not build is checked by no
other rule, so hiding its error would make it pass. A finding written once in the spec but built
many times (a layer inside a block used in several places) is reported once, with the number of
places. Suppression comments are applied last, and the directives that suppressed nothing are
reported by the comments rule (``unused-suppression``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace

from archcalc.errors import Loc, SpecError
from archcalc.graph import build_graph
from archcalc.limits import Limits, default_limits
from archcalc.lint import fixes, suppression
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Diagnostic, Finding
from archcalc.lint.registry import BY_NAME, COMMENTS, CORE, RULES, Rule
from archcalc.model import Model
from archcalc.spec.parser import parse_spec
from archcalc.spec.source import YNode, parse_yaml

#: how often ``--fix`` lints and fixes again (a fix may reveal another finding)
MAX_FIX_PASSES = 10
#: the code of a core error that has no rule yet (reported whatever the selection)
UNMAPPED = "E000"


@dataclass(slots=True)
class Result:
    """A linted text: its diagnostics, whether it built, and how many findings ``--fix`` repaired."""

    path: str
    source: str
    diagnostics: list[Diagnostic]
    built: bool
    fixed: int = 0


class RuleCrash(Exception):
    """A rule raised instead of yielding findings: a bug in archcalc, reported with the rule and the file."""

    def __init__(self, rule: Rule, path: str, error: BaseException):
        super().__init__(f"rule {rule.code} ({rule.name}) crashed on {path}: {type(error).__name__}: {error}")


def lint_source(source: str, path: str, enabled: Iterable[str], limits: Limits | None = None) -> Result:
    """Lint spec ``source`` (shown as ``path``) with the rules whose codes are in ``enabled`` (and the core's)."""
    enabled = frozenset(enabled) | CORE
    limits = limits or default_limits()
    found: list[Diagnostic] = []
    root: YNode | None = None  # the YAML tree, read once: for the spec, the comments and safe fixes
    try:
        root = parse_yaml(source, path, limits)
        model = Model(build_graph(parse_spec(root, path, source, limits), limits=limits))
    except SpecError as error:
        built = False
        found += [core_diagnostic(each, path) for each in error.all]
        if error.partial is not None:  # a layer failed: the layer-local rules check those that built (maybe none)
            found += _run(Context(path, source, Model(error.partial), root, partial=not error.whole), enabled, path,
                          prefix=not error.whole)
    else:
        built = True
        found += _run(Context(path, source, model, root), enabled, path)
    found = [d for d in found if d.code in enabled or d.rule.core]
    directives = suppression.directives(source, path, root)
    kept = suppression.apply(found, directives)
    if COMMENTS.code in enabled:
        reported = [Diagnostic(COMMENTS, f.loc, f.message, f.hint, f.fix, f.end)
                    for f in COMMENTS.check(suppression.unused(directives, enabled, built))]
        kept += suppression.apply(reported, [d for d in directives if d.action == "disable-file"])
    return Result(path, source, sorted(kept, key=Diagnostic.sort_key), built)


def _run(ctx: Context, enabled: frozenset[str], path: str, prefix: bool = False) -> list[Diagnostic]:
    """The enabled model rules' findings on ``ctx`` (only the layer-local ones on a ``prefix``)."""
    found: list[Diagnostic] = []
    for code, rule in RULES.items():
        if code in enabled and rule.scope == "model" and (rule.on_prefix or not prefix):
            try:
                found += _once_per_place(rule, rule.check(ctx), fixes=not prefix)
            except Exception as e:
                raise RuleCrash(rule, path, e) from e
    return found


def unreadable(error: SpecError, path: str) -> Result:
    """The result for a file the core refused before parsing it (too large): its one (core) finding."""
    return Result(path, "", [core_diagnostic(error, path)], False)


def core_diagnostic(error: SpecError, path: str) -> Diagnostic:
    """The finding for an error the core raised, under the rule of the same name."""
    rule = BY_NAME.get(error.code)
    if rule is None or rule.scope != "core":  # a core code without a rule (a test fails on this): never hide it
        rule = Rule(UNMAPPED, error.code, ERROR, "An error of the core that has no rule of its own yet.")
    return Diagnostic(rule, error.loc or Loc(path, 1, 1), error.message, error.hint, notes=tuple(error.notes))


def _once_per_place(rule: Rule, findings: Iterable[Finding], fixes: bool = True) -> list[Diagnostic]:
    """One diagnostic per (location, message) pair, noting how many built layers share it (without fixes
    when ``fixes`` is false: the findings on the prefix of a spec that does not build).

    Messages name the first instance (``conv1.0``); the others differ only in the path, so they
    are grouped by location alone, and the fix is kept only when every instance offered the same.
    """
    groups: dict[tuple[int, int], list[Finding]] = {}
    for finding in findings:
        groups.setdefault((finding.loc.line, finding.loc.col), []).append(finding)
    out = []
    for group in groups.values():
        first = group[0]
        message = first.message
        if len(group) > 1:
            message += f" (and {len(group) - 1} more place{'s' if len(group) > 2 else ''} built from this line)"
        # a spec that does not build is never fixed: no fix could be checked against a build
        fix = first.fix if fixes and all(f.fix == first.fix for f in group) else None
        out.append(Diagnostic(rule, first.loc, message, first.hint, fix, first.end))
    return out


def fix_source(source: str, path: str, enabled: Iterable[str], limits: Limits | None = None) -> Result:
    """Apply safe fixes until none is left (or :data:`MAX_FIX_PASSES`), then lint the result.

    Each pass's output is linted again before it is kept, so a fix that would stop the spec from
    loading is never written: it is dropped, and its finding stays in the report. Before that, each
    pass's output is proved to read as the same YAML data as its input but for what the fixes meant to
    change (:func:`prove`); a pass that fails the proof stops the fix with a located error, and nothing
    is written.
    """
    enabled = frozenset(enabled)
    limits = limits or default_limits()
    result = lint_source(source, path, enabled, limits)
    fixed = 0
    for _ in range(MAX_FIX_PASSES):
        todo = [d.fix for d in result.diagnostics if d.fix is not None]
        if not todo:
            break
        new_source, applied = fixes.apply(result.source, todo)
        if not prove(result.source, new_source, applied, path, limits):
            break
        again = lint_source(new_source, path, enabled, limits)
        if result.built and not again.built:
            break
        fixed += len(applied)
        result = again
    return replace(result, fixed=fixed)


def prove(old: str, new: str, applied: list[fixes.Fix], path: str, limits: Limits) -> bool:
    """Whether ``new``, which is ``old`` with the edits of ``applied``, may be kept: it reads as the same YAML
    data as ``old`` but for the changes the fixes declare (a comment edit declares none). False when ``old``
    itself does not read as YAML (nothing can be proved of it, so it is not fixed); a :class:`SpecError`
    when ``new`` reads differently, since then an edit landed somewhere other than where it was meant to,
    and the file must not be written.
    """
    try:
        before = parse_yaml(old, path, limits)
    except SpecError:
        return False
    first = min((e.start for f in applied for e in f.edits), key=lambda loc: (loc.line, loc.col), default=None)
    where = Loc(path, first.line, first.col) if first is not None else Loc(path, 1, 1)
    try:
        after = parse_yaml(new, path, limits)
    except SpecError as error:
        raise _unsafe(where, f"the fixed text would not read as YAML ({error.message})") from None
    if fixes.yaml_data(after) != fixes.expected_data(before, applied, limits):
        raise _unsafe(where, "the fixed text would read as a different spec than the fixes intend")
    return True


def _unsafe(where: Loc, why: str) -> SpecError:
    return SpecError(where, f"--fix refused: {why}; nothing was written", code="unsafe-fix",
                     hint="fix the findings by hand, and please report this as a bug in archcalc")
