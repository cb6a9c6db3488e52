"""The linter: a catalogue of rules, each a module in :mod:`archcalc.lint.rules`, run over a built spec.

    >>> from archcalc.lint import lint
    >>> [d.code for d in lint("input: [50]\\nlayers: [linear: 30, linear: 3]").diagnostics]
    ['A101']

Layout: :mod:`~archcalc.lint.registry` (the rules by code and name), :mod:`~archcalc.lint.engine`
(lint and fix one text), :mod:`~archcalc.lint.context` and :mod:`~archcalc.lint.structure` (what
rules see), :mod:`~archcalc.lint.suppression` (``# archcalc: disable=…``),
:mod:`~archcalc.lint.config` (``[tool.archcalc.lint]``), :mod:`~archcalc.lint.fixes` (text edits),
:mod:`~archcalc.lint.formats` (concise, full, json, github, sarif), :mod:`~archcalc.lint.paths`
(which files) and :mod:`~archcalc.lint.docs` (``archcalc rule`` and ``docs/lint.md``).
"""

from __future__ import annotations

from collections.abc import Iterable


def lint(source: str, path: str = "<string>", select: Iterable[str] | None = None):
    """Lint spec text with the default rules, or with the rules ``select`` names (codes, prefixes, names)."""
    from archcalc.lint.engine import lint_source
    from archcalc.lint.registry import DEFAULT
    from archcalc.lint.registry import select as resolve

    return lint_source(source, path, DEFAULT if select is None else resolve(select))


__all__ = ["lint"]
