"""``archcalc import``: a readable spec from a Hugging Face config.json."""

from __future__ import annotations

import click

from archcalc.cli.common import handle_errors, limit_option, output_options, write_output
from archcalc.limits import Limits


@click.command("import")
@click.argument("source", type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--base", is_flag=True, help="Import the base model (LlamaModel, BertModel …) whatever head "
              "'architectures' names.")
@output_options((".yaml", ".yml"), "model.yaml")
@limit_option
@handle_errors
def import_command(source: str, base: bool, output: str | None, force: bool, limits: Limits) -> None:
    """Write a spec for the model a Hugging Face config.json describes (GPT-2, BERT, Llama, Mistral,
    Qwen2), read as data: no transformers, no torch, nothing downloaded, no code run.

    The spec names its layers as Hugging Face does, so the real model's weights load into
    `archcalc export --to torch`'s module; its sizes become symbols (override them with --set).
    A setting the spec language cannot express (rope scaling, …) is an error at its line in the
    config, and nothing is written.

        archcalc import config.json -o model.yaml && archcalc summary model.yaml
    """
    import sys

    from archcalc.importers.hf_config import import_config

    text, warnings = import_config(source, limits, base=base)
    for warning in warnings:
        print(warning.render().replace(": error: ", ": warning: ", 1), file=sys.stderr)
    write_output(text, output, force)
