"""``archcalc export SPEC --to torch|onnx|numpy -o FILE``: write the spec as code or a model file."""

from __future__ import annotations

import importlib
import re

import click

from archcalc.backends import EXPORTERS
from archcalc.cli.common import handle_errors, load_model, spec_options
from archcalc.errors import SpecError


@click.command()
@spec_options
@click.option("--to", "target", required=True, type=click.Choice(sorted(EXPORTERS) or ["torch"]),
              help="What to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: the model's name as a Python module name, e.g. seed_mlp.py).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@handle_errors
def export(spec: str, sets: dict[str, int], symbolic: bool, limits, target: str, output: str | None,
           force: bool) -> None:
    """Export SPEC to a PyTorch source file, an ONNX model or a standalone NumPy file.

    Files are written atomically and never replace an existing file without --force.
    """
    module, function, suffix = EXPORTERS[target]
    model = load_model(spec, sets, symbolic, limits)
    if model.graph.free:
        raise SpecError(None, f"{', '.join(model.graph.free)} must have values to export", code="usage",
                        hint="give them with --set, e.g. --set H=224")
    path = output or f"{default_stem(model.name)}{suffix}"
    getattr(importlib.import_module(module), function)(model, path, force=force)
    click.echo(f"wrote {path}", err=True)


def default_stem(name: str) -> str:
    """A file name a generated module can be imported by: ``seed-mlp`` → ``seed_mlp``.

    >>> default_stem("My Net (v2)!")
    'my_net_v2'
    """
    stem = re.sub(r"[^0-9a-z_]+", "_", name.lower()).strip("_") or "model"
    return f"model_{stem}" if stem[0].isdigit() else stem
