"""``archcalc rules``: every lint rule with its code, name, severity and summary."""

from __future__ import annotations

import click

from archcalc.cli.common import format_option, handle_errors


@click.command()
@format_option("table", "json", default="table")
@handle_errors
def rules(fmt: str) -> None:
    """List the lint rules: code, name, severity (* = on by default, fix = has a safe fix) and summary.

    `archcalc rule CODE` explains one; `--format json` prints
    [{"code", "name", "severity", "summary"}].
    """
    import json

    from archcalc.lint.registry import RULES

    if fmt == "json":
        rows = [{"code": r.code, "name": r.name, "severity": r.severity, "summary": r.summary} for r in RULES.values()]
        click.echo(json.dumps(rows, indent=2, ensure_ascii=False))
        return
    width = max(len(r.name) for r in RULES.values())
    for r in RULES.values():
        flags = ("*" if r.default else " ") + (" fix" if r.fixable else "    ")
        click.echo(f"{r.code}  {r.name:<{width}}  {r.severity:<7} {flags}  {r.summary}")
