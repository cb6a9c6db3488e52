"""The spec language: YAML text → located nodes → :class:`Spec` (structure checked, values not yet)."""

from __future__ import annotations

from archcalc.limits import Limits, default_limits
from archcalc.spec.ast import Spec
from archcalc.spec.parser import parse_spec
from archcalc.spec.source import STDIN, parse_yaml, read_text


def read_spec(path: str, limits: Limits | None = None) -> Spec:
    """Read and parse the spec file at ``path`` (``-`` for standard input)."""
    limits = limits or default_limits()
    return parse_text(read_text(path, limits), "<stdin>" if path == STDIN else path, limits)


def parse_text(text: str, path: str = "<string>", limits: Limits | None = None) -> Spec:
    """Parse spec ``text``; ``path`` is only used in locations."""
    limits = limits or default_limits()
    return parse_spec(parse_yaml(text, path, limits), path, text, limits)


__all__ = ["Spec", "parse_text", "read_spec"]
