"""What the linter reports: a rule's finding, located in the spec, with a hint and maybe a fix.

A rule yields :class:`Finding` objects (where, what, how to fix); the engine turns each into a
:class:`Diagnostic` by attaching the rule, so a rule never writes its own code or severity. Fixes
are text edits at located positions, so applying one keeps every comment and all formatting.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from archcalc.errors import Loc

if TYPE_CHECKING:
    from archcalc.lint.registry import Rule

ERROR = "error"
WARNING = "warning"
INFO = "info"
SEVERITIES = (ERROR, WARNING, INFO)


@dataclass(frozen=True, slots=True)
class Change:
    """What an edit means to the YAML data: the node (a layer's arguments, by identity) gets the argument
    ``arg`` with the value written ``value``; a scalar node becomes ``{primary: it, arg: value}``."""

    node: object  # archcalc.spec.source.YNode of the text before the fix
    arg: str
    value: str
    primary: str | None = None


@dataclass(frozen=True, slots=True)
class Edit:
    """Replace the text from ``start`` up to (not including) ``end`` with ``content``. ``change`` says what the
    edit does to the spec's data (None: nothing, as when a comment is edited); ``--fix`` checks it."""

    start: Loc
    end: Loc
    content: str
    change: Change | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True)
class Fix:
    """A safe fix: edits that together repair one finding, and what they do in words."""

    message: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem a rule found: at ``loc`` (to ``end``, when known), what it is, how to fix it."""

    loc: Loc
    message: str
    hint: str | None = None
    fix: Fix | None = None
    end: Loc | None = None


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """A finding of a rule, as the formats print it."""

    rule: Rule
    loc: Loc
    message: str
    hint: str | None = None
    fix: Fix | None = None
    end: Loc | None = None
    #: for an error inside a block: which block use it came through, innermost first
    notes: tuple[str, ...] = ()

    @property
    def code(self) -> str:
        return self.rule.code

    @property
    def name(self) -> str:
        return self.rule.name

    @property
    def severity(self) -> str:
        return self.rule.severity

    @property
    def path(self) -> str:
        return self.loc.path

    def sort_key(self) -> tuple[int, int, str]:
        return (self.loc.line, self.loc.col, self.rule.code)
