"""Hard limits that keep a hostile or mistaken spec from eating time or memory.

A linter runs on files anyone can write, so every way a small file can ask for unbounded work
(alias expansion, deep nesting, huge repeats, huge numbers) is bounded here, in one place, and
each bound produces an ordinary located error. Override with ``ARCHCALC_LIMITS`` (for example
``ARCHCALC_LIMITS="max_layers=5000000,max_bytes=50000000"``) or ``--limit NAME=VALUE``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, fields, replace

from archcalc.errors import printable


@dataclass(frozen=True, slots=True)
class Limits:
    """The defaults keep the worst spec they allow to a few seconds and a few hundred MiB (measured
    in bench/bombs.py) while leaving real networks far inside: ResNet-1202, among the deepest in use,
    has about 3,600 layers and its spec about 100 YAML nodes."""

    #: largest spec file read, in bytes
    max_bytes: int = 10_000_000
    #: largest data or weights file read (``train --data``, ``export --weights``), and what its arrays may
    #: unpack to, in bytes
    max_data_bytes: int = 1_000_000_000
    #: deepest nesting of YAML collections
    max_depth: int = 200
    #: YAML nodes after alias expansion (stops "billion laughs"; a node costs ~300 bytes)
    max_nodes: int = 500_000
    #: layers in the elaborated graph (repeats unrolled, blocks expanded; a layer costs ~2 KB in a report)
    max_layers: int = 100_000
    #: nested block calls, repeats, residuals and concats
    max_nesting: int = 100
    #: characters in one expression
    max_expr_chars: int = 500
    #: magnitude of any integer in a spec or produced by an expression, and of every concrete size
    max_int: int = 2**62

    #: the most ``max_int`` may be raised to: every number a report prints is a product of a few sizes, a batch
    #: and a byte count, and must stay printable (Python refuses to print integers past 4,300 digits) and within
    #: a float's range (a time or a fraction divides it)
    MAX_INT_CEILING = 2**256

    def updated(self, settings: dict[str, int]) -> Limits:
        """A copy with ``settings`` applied; unknown names raise ``ValueError``."""
        from archcalc.errors import choices_hint

        known = {f.name for f in fields(self)}
        for name, value in settings.items():
            if name not in known:
                raise ValueError(f"'{name}={value}': unknown limit; {choices_hint(name, known, 'limits')}")
        if settings.get("max_int", 0) > self.MAX_INT_CEILING:
            raise ValueError(f"'max_int={_short(settings['max_int'])}': at most 2**256 "
                             f"({self.MAX_INT_CEILING:,}), so that every count archcalc prints stays printable")
        return replace(self, **settings)


def parse_settings(text: str, example: str = "max_layers=200000") -> dict[str, int]:
    """``"a=1,b=2"`` → ``{"a": 1, "b": 2}``, for ``--limit``, ``ARCHCALC_LIMITS`` and ``--set``: every
    limit and every dimension is a whole number ≥ 1. A bad item raises ``ValueError`` in one format:
    the item as typed, what is wrong with it, and ``example``.

    >>> parse_settings("H=224, W=7")
    {'H': 224, 'W': 7}
    >>> parse_settings("H=0", "H=224")
    Traceback (most recent call last):
    ValueError: 'H=0': the value must be a whole number ≥ 1, e.g. H=224
    """
    out: dict[str, int] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        name, sep, value = (part.strip() for part in item.partition("="))
        shown = printable(item if len(item) <= 40 else item[:40] + "…")
        if not sep or not name.isidentifier():
            raise ValueError(f"'{shown}': must look like NAME=VALUE, e.g. {example}")
        if len(value) > 4000 and value.isascii() and value.isdigit():  # past what int() reads (4,300 digits)
            raise ValueError(f"'{shown}': the value is too large ({len(value):,} digits)")
        if not (value.isascii() and value.isdigit()) or int(value) < 1:  # no sign, point or unicode digit
            raise ValueError(f"'{shown}': the value must be a whole number ≥ 1, e.g. {example}")
        if name in out:
            raise ValueError(f"'{shown}': {name} is given twice")
        out[name] = int(value)
    return out


def _short(value: int) -> str:
    text = str(value)  # parse_settings reads at most 4,000 digits, which str() prints
    return text if len(text) <= 20 else f"{text[:20]}… ({len(text):,} digits)"


def default_limits() -> Limits:
    """The defaults, adjusted by the ``ARCHCALC_LIMITS`` environment variable."""
    env = os.environ.get("ARCHCALC_LIMITS", "")
    try:
        return Limits().updated(parse_settings(env)) if env else Limits()
    except ValueError as e:
        raise ValueError(f"ARCHCALC_LIMITS: {e}") from None
