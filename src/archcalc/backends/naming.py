"""Turning spec names into Python identifiers that are safe to emit into generated code.

A layer name in a spec is any string without a dot. Before it becomes an attribute or a variable
in a generated file it goes through :class:`Namer`: NFKC-normalised, every character outside
``[0-9A-Za-z_]`` replaced, never a keyword, soft keyword, builtin, dunder or a name the emitter
itself uses, and de-duplicated. The result always satisfies ``str.isidentifier()``.

    >>> Namer().name("__import__('os')")
    'import___os'
    >>> Namer().name("class")
    'class_'
"""

from __future__ import annotations

import builtins
import keyword
import re
import unicodedata

_BAD = re.compile(r"[^0-9A-Za-z_]+")
_RESERVED = frozenset(keyword.kwlist) | frozenset(keyword.softkwlist) | frozenset(dir(builtins))
MAX_LENGTH = 64


class Namer:
    """Hands out unique safe identifiers; ``reserved`` are names the emitter uses itself."""

    def __init__(self, reserved: set[str] | frozenset[str] = frozenset()):
        self.reserved = _RESERVED | frozenset(reserved)
        self.used: set[str] = set()

    def name(self, raw: str, fallback: str = "layer") -> str:
        text = unicodedata.normalize("NFKC", str(raw))
        text = _BAD.sub("_", text).strip("_") or fallback
        if text[0].isdigit():
            text = f"{fallback}_{text}"
        text = text[:MAX_LENGTH]
        if text in self.reserved or text.startswith("__"):
            text = f"{text}_"
        candidate, n = text, 2
        while candidate in self.used or candidate in self.reserved:
            candidate = f"{text}_{n}"
            n += 1
        assert candidate.isidentifier() and not keyword.iskeyword(candidate)
        self.used.add(candidate)
        return candidate
