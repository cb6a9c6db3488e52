"""``archcalc layers [KIND]``: the layer kinds, their arguments and documentation.

The text comes from each kind's docstring and :class:`~archcalc.layers.args.Arg` metadata, shown as
a spec writer reads it: RST literals (````x````) as Markdown's `x`, defaults in YAML spelling
(``true``, ``null``, ``[1, 2]``), columns sized to their contents.
"""

from __future__ import annotations

import click

from archcalc.cli.common import completer, handle_errors
from archcalc.errors import SpecError, choices_hint
from archcalc.layers import LAYERS
from archcalc.layers.args import REQUIRED, Arg, yaml_text
from archcalc.layers.base import kind_doc


@click.command()
@click.argument("kind", required=False, shell_complete=completer(lambda: sorted(LAYERS)))
@handle_errors
def layers(kind: str | None) -> None:
    """List the layer kinds a spec can use, or show one KIND's arguments and documentation."""
    if kind is None:
        click.echo(list_kinds())
        return
    cls = LAYERS.get(kind)
    if cls is None:
        raise SpecError(None, f"unknown layer kind '{kind}'", code="usage",
                        hint=choices_hint(kind, list(LAYERS), "kinds"))
    click.echo(describe_kind(cls.kind))


def list_kinds() -> str:
    """One line per kind: its name, its aliases in parentheses, the first line of its docstring."""
    rows = sorted((_title(name), kind_doc(cls).splitlines()[0]) for name, cls in LAYERS.items() if name == cls.kind)
    width = max(len(title) for title, _ in rows)
    return "\n".join(f"{title:<{width}}  {summary}" for title, summary in rows)


def describe_kind(kind: str) -> str:
    """A kind's documentation and argument table (also used to generate docs/layers.md)."""
    cls = LAYERS[kind]
    lines = [f"# {_title(kind, 'also: ')}", "", kind_doc(cls)]
    if cls.ARGS:
        rows = [("name", "type", "default", "description")]
        rows += [(name, arg.type_name, _default(arg), arg.doc) for name, arg in cls.ARGS.items()]
        widths = [max(len(row[i]) for row in rows) for i in range(3)]
        lines += ["", "Arguments:"]
        lines += ["  " + "  ".join(f"{cell:<{w}}" for cell, w in zip(row, widths)) + "  " + row[3] for row in rows]
    return "\n".join(lines)


def _default(arg: Arg) -> str:
    if arg.default is REQUIRED:
        return "required"
    return "inferred" if arg.default is None else yaml_text(arg.default)


def _title(kind: str, prefix: str = "") -> str:
    """``conv2d (conv)``: the kind and its aliases."""
    cls = LAYERS[kind]
    aliases = [name for name, c in LAYERS.items() if c is cls and name != kind]
    return f"{kind} ({prefix}{', '.join(aliases)})" if aliases else kind


