"""The rule registry: every rule by code and by name, built once from the code table.

A rule is one module in :mod:`archcalc.lint.rules`. Its file name is its kebab-case name
(``bias_before_batchnorm.py`` → ``bias-before-batchnorm``), its docstring is its documentation
(first line = summary), ``SEVERITY`` its default severity, ``check(ctx)`` the generator that finds
it, and ``FIXABLE`` says whether its findings carry safe fixes. A module without ``check`` reports
one of the core's errors: the core raises ``SpecError(code=<the rule's name>)`` and the linter
turns it into this rule's finding. Core rules are always on, as ruff's syntax errors are: they can
be neither deselected nor suppressed, since a spec that does not build is checked by no other rule
and would otherwise pass silently. (``unused-suppression`` says ``SCOPE = "comments"``: it checks
the suppression comments after every other rule.) Codes are assigned in one place, :data:`rules.CODES`, and are
checked here at import: a duplicate code or name, or a malformed code, is a programming error.
"""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from archcalc.errors import did_you_mean
from archcalc.lint.diagnostic import INFO, SEVERITIES, Finding
from archcalc.lint.rules import CODES

_CODE = re.compile(r"[A-Z][0-9]{3}$")


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    severity: str
    doc: str = field(repr=False)
    check: Callable[..., Iterator[Finding]] | None = field(repr=False, default=None)
    fixable: bool = False
    module: str = ""
    #: what the rule looks at: core (the core's error of the same name), model (check(ctx) over the
    #: built model) or comments (check(unused) over the suppression comments; the engine calls it
    #: last). Not called ``kind``: that word means a layer kind everywhere else.
    scope: str = "core"
    #: a layer-local rule (``PREFIX = True``): it also runs on the layers that built when a later one failed
    on_prefix: bool = False

    @property
    def summary(self) -> str:
        return self.doc.splitlines()[0].strip() if self.doc else ""

    @property
    def default(self) -> bool:
        """Enabled unless selected otherwise: every rule but the informational ones."""
        return self.severity != INFO

    @property
    def core(self) -> bool:
        """A core error: always enabled, never suppressed (see the module docstring)."""
        return self.scope == "core"

    @property
    def prefix(self) -> str:
        return self.code[0]


def _load(table: Iterable[tuple[str, str]]) -> dict[str, Rule]:
    rules: dict[str, Rule] = {}
    names: set[str] = set()
    for code, module_name in table:
        name = module_name.replace("_", "-")
        if not _CODE.match(code):
            raise RuntimeError(f"lint rule code '{code}' must be a capital letter and three digits")
        if code in rules:
            raise RuntimeError(f"lint rule code {code} is assigned twice")
        if name in names:
            raise RuntimeError(f"lint rule '{name}' has two codes")
        module = importlib.import_module(f"archcalc.lint.rules.{module_name}")
        severity = getattr(module, "SEVERITY", None)
        if severity not in SEVERITIES:
            raise RuntimeError(f"lint rule {code} ({name}) has no valid SEVERITY")
        check = getattr(module, "check", None)
        scope = getattr(module, "SCOPE", "model" if check else "core")
        rules[code] = Rule(code, name, severity, inspect.cleandoc(module.__doc__ or ""), check,
                           bool(getattr(module, "FIXABLE", False)), module.__name__, scope,
                           bool(getattr(module, "PREFIX", False)))
        names.add(name)
    return rules


#: every rule, by code, in code-table order
RULES: dict[str, Rule] = _load(CODES)
#: every rule, by kebab-case name (core rules share their name with the core's error code)
BY_NAME: dict[str, Rule] = {rule.name: rule for rule in RULES.values()}


def find(word: str) -> Rule | None:
    """The rule with code or name ``word`` (codes in any case)."""
    return RULES.get(word.upper()) or BY_NAME.get(word.lower())


#: the core rules' codes: enabled whatever the selection
CORE: frozenset[str] = frozenset(code for code, rule in RULES.items() if rule.core)
#: the rule that checks the suppression comments themselves (``SCOPE = "comments"``), run last
COMMENTS: Rule = next(rule for rule in RULES.values() if rule.scope == "comments")


class UnknownSelector(ValueError):
    def __init__(self, word: str):
        self.word = word
        hint = did_you_mean(word, [*RULES, *BY_NAME]) or "see 'archcalc rules' for the codes and names"
        super().__init__(f"unknown rule selector '{word}' ({hint})")


class CoreSelector(ValueError):
    """An ``ignore`` that names a core rule, which cannot be turned off."""

    def __init__(self, word: str, codes: set[str]):
        self.word = word
        what = f"{next(iter(codes))} ({RULES[next(iter(codes))].name}) is a core error" if len(codes) == 1 \
            else f"it names core errors ({min(codes)}…{max(codes)})"
        super().__init__(f"'{word}' cannot be ignored: {what}, reported whenever a spec does not build "
                         "(no other rule can check such a spec, so ignoring it would let a broken spec pass)")


def ignorable(selectors: Iterable[str]) -> set[str]:
    """The codes an ``ignore`` list names, refusing a selector that names a core rule (``ALL`` ignores every
    other rule)."""
    codes: set[str] = set()
    for word in selectors:
        named = select([word])
        if word.strip().upper() != "ALL" and named & CORE:
            raise CoreSelector(word.strip(), named & CORE)
        codes |= named - CORE
    return codes


def select(selectors: Iterable[str]) -> set[str]:
    """The codes that ``selectors`` name: codes, prefixes (``N``, ``N1``), names, or ``ALL``."""
    codes: set[str] = set()
    for raw in selectors:
        word = raw.strip()
        if not word:
            continue
        if word.upper() == "ALL":
            codes.update(RULES)
            continue
        rule = find(word)
        if rule is not None:
            codes.add(rule.code)
            continue
        matched = {code for code in RULES if code.startswith(word.upper())} if re.fullmatch(r"[A-Za-z][0-9]{0,2}",
                                                                                            word) else set()
        if not matched:
            raise UnknownSelector(word)
        codes |= matched
    return codes


DEFAULT: frozenset[str] = frozenset(code for code, rule in RULES.items() if rule.default)
