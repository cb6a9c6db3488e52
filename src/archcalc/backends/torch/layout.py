"""Laying out generated code the way ``ruff format`` does, so a generated file is already formatted.

Expressions are :class:`Text` (atoms such as ``x`` or ``64``) or :class:`Brackets` (a call, a list,
a tuple, a parameter list). :func:`layout` puts one on a line when it fits in :data:`WIDTH`;
otherwise it splits at its outer brackets like black's right-hand split: the items on one
indented line if they fit (calls only), else one item per line with a trailing comma, each item
laid out the same way.

    >>> call = Brackets("nn.Conv2d", "(", [Text("3"), Text("64"), Text("kernel_size=3")], ")")
    >>> layout(call, 8, "self.conv1 = ")
    ['        self.conv1 = nn.Conv2d(3, 64, kernel_size=3)']
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

#: ruff's default line length
WIDTH = 88
INDENT = 4


def string(text: str) -> str:
    """A string literal for ``text``: ``ascii`` escapes, double quotes unless that needs escaping."""
    literal = ascii(text)
    if literal.startswith("'") and '"' not in text:
        literal = '"' + literal[1:-1] + '"'
    assert ast.literal_eval(literal) == text
    return literal


@dataclass(frozen=True, slots=True)
class Text:
    text: str


@dataclass(frozen=True, slots=True)
class Brackets:
    """``head`` + ``open`` + items joined by ``, `` + ``close``. A literal list or tuple (``explode``)
    goes one item per line as soon as it splits, as black does for collections and signatures."""

    head: str
    open: str
    items: list[Doc] = field(default_factory=list)
    close: str = ""
    explode: bool = False


Doc = Text | Brackets


def flat(doc: Doc) -> str:
    if isinstance(doc, Text):
        return doc.text
    return doc.head + doc.open + ", ".join(flat(item) for item in doc.items) + doc.close


def layout(doc: Doc, indent: int, prefix: str = "", suffix: str = "") -> list[str]:
    """The lines (indented by ``indent`` spaces) of ``prefix`` + ``doc`` + ``suffix``."""
    pad = " " * indent
    line = pad + prefix + flat(doc) + suffix
    if len(line) <= WIDTH or isinstance(doc, Text) or not doc.items:
        return [line]
    head, tail = pad + prefix + doc.head + doc.open, pad + doc.close + suffix
    inner = indent + INDENT
    if len(doc.items) == 1 and not doc.explode:
        return [head, *layout(doc.items[0], inner), tail]
    body = " " * inner + ", ".join(flat(item) for item in doc.items)
    if not doc.explode and len(body) <= WIDTH:
        return [head, body, tail]
    lines = [head]
    for item in doc.items:
        lines.extend(layout(item, inner, "", ","))
    return [*lines, tail]
