"""``archcalc schema``: the JSON Schema of the spec language, for editors (docs/spec.md#editor-support)."""

from __future__ import annotations

import click

from archcalc.cli.common import handle_errors, output_options, write_output


@click.command()
@output_options((".json",), "spec.schema.json")
@handle_errors
def schema(output: str | None, force: bool) -> None:
    """Print the JSON Schema (draft 2020-12) of the spec language, generated from the layer kinds.

    Save it and put this line at the top of a spec, and an editor with yaml-language-server (VS Code's
    YAML extension, Neovim, Helix) completes kinds and arguments, shows their docs and flags mistakes:

        # yaml-language-server: $schema=spec.schema.json
    """
    import json

    from archcalc.spec.schema import spec_schema

    write_output(json.dumps(spec_schema(), indent=2, ensure_ascii=False) + "\n", output, force)
