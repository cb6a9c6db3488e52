"""``archcalc rule CODE``: explain one lint rule (by code or name), as ``ruff rule`` does."""

from __future__ import annotations

import click

from archcalc.cli.common import completer, format_option, handle_errors


def _rules() -> list[str]:
    from archcalc.lint.registry import BY_NAME, RULES

    return [*RULES, *BY_NAME]


@click.command()
@click.argument("code", metavar="CODE", shell_complete=completer(_rules))
@format_option("text", "json", default="text")
@handle_errors
def rule(code: str, fmt: str) -> None:
    """Explain the lint rule CODE (a code such as N105, or a name such as bias-before-batchnorm)."""
    import json

    from archcalc.errors import SpecError
    from archcalc.lint.docs import explain, rule_data
    from archcalc.lint.registry import BY_NAME, RULES, find

    found = find(code)
    if found is None:
        from archcalc.errors import choices_hint

        raise SpecError(None, f"unknown rule '{code}'", code="usage",
                        hint=choices_hint(code, [*RULES, *BY_NAME], "codes and names"))
    click.echo(json.dumps(rule_data(found), indent=2, ensure_ascii=False) if fmt == "json" else explain(found))
