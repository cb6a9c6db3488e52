"""``archcalc layers [KIND]``: the layer kinds, their arguments and documentation."""

from __future__ import annotations

import inspect

import click

from archcalc.cli.common import console, handle_errors
from archcalc.errors import SpecError, choices_hint
from archcalc.layers import LAYERS
from archcalc.layers.args import REQUIRED


@click.command()
@click.argument("kind", required=False)
@handle_errors
def layers(kind: str | None) -> None:
    """List the layer kinds a spec can use, or show one KIND's arguments and documentation."""
    out = console()
    if kind is None:
        for name, cls in sorted(LAYERS.items()):
            if name != cls.kind:
                continue
            summary = (inspect.getdoc(cls) or "").splitlines()[0]
            out.print(f"{name:<20} {summary}", highlight=False, markup=False)
        return
    cls = LAYERS.get(kind)
    if cls is None:
        raise SpecError(None, f"unknown layer kind '{kind}'", code="usage",
                        hint=choices_hint(kind, list(LAYERS), "kinds"))
    aliases = [n for n, c in LAYERS.items() if c is cls and n != cls.kind]
    out.print(f"# {cls.kind}" + (f" (also: {', '.join(aliases)})" if aliases else ""), highlight=False, markup=False)
    out.print(inspect.getdoc(cls) or "", highlight=False, markup=False)
    if cls.ARGS:
        out.print("\nArguments:", highlight=False, markup=False)
        for name, arg in cls.ARGS.items():
            default = "required" if arg.default is REQUIRED else f"default {arg.default!r}".replace("None", "inferred")
            out.print(f"  {name:<18} {arg.type_name:<28} {default:<18} {arg.doc}", highlight=False, markup=False)
