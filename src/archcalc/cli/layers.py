"""``archcalc layers [KIND]``: the layer kinds, their arguments and documentation."""

from __future__ import annotations

import inspect

import click

from archcalc.cli.common import handle_errors
from archcalc.errors import SpecError, choices_hint
from archcalc.layers import LAYERS
from archcalc.layers.args import REQUIRED


@click.command()
@click.argument("kind", required=False)
@handle_errors
def layers(kind: str | None) -> None:
    """List the layer kinds a spec can use, or show one KIND's arguments and documentation."""
    if kind is None:
        for name, cls in sorted(LAYERS.items()):
            if name == cls.kind:
                click.echo(f"{name:<20} {(inspect.getdoc(cls) or '').splitlines()[0]}")
        return
    cls = LAYERS.get(kind)
    if cls is None:
        raise SpecError(None, f"unknown layer kind '{kind}'", code="usage",
                        hint=choices_hint(kind, list(LAYERS), "kinds"))
    click.echo(describe_kind(cls.kind))


def describe_kind(kind: str) -> str:
    """A kind's documentation and argument table (also used to generate docs/layers.md)."""
    cls = LAYERS[kind]
    aliases = [n for n, c in LAYERS.items() if c is cls and n != cls.kind]
    lines = [f"# {cls.kind}" + (f" (also: {', '.join(aliases)})" if aliases else ""), "", inspect.getdoc(cls) or ""]
    if cls.ARGS:
        lines += ["", "Arguments:"]
        for name, arg in cls.ARGS.items():
            default = "required" if arg.default is REQUIRED else "inferred" if arg.default is None \
                else f"default {arg.default!r}"
            lines.append(f"  {name:<18} {arg.type_name:<28} {default:<18} {arg.doc}")
    return "\n".join(lines)
