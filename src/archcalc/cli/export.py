"""``archcalc export SPEC --to torch|onnx|numpy -o FILE``: write the spec as code or a model file."""

from __future__ import annotations

import importlib
import re

import click

from archcalc.backends import EXPORTERS
from archcalc.cli.common import handle_errors, load_model, require_values, spec_options
from archcalc.files import check_writable


@click.command()
@spec_options
@click.option("--to", "target", required=True, type=click.Choice(sorted(EXPORTERS) or ["torch"]),
              help="What to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False), default=None,
              help="File to write (default: the model's name, as a plain file name in the current folder, with the "
                   "target's suffix).")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@handle_errors
def export(spec: str, sets: dict[str, int], symbolic: bool, limits, target: str, output: str | None,
           force: bool) -> None:
    """Export SPEC to a PyTorch source file, an ONNX model or a standalone NumPy file.

    Files are written atomically and never replace an existing file without --force.
    """
    module, function, suffix = EXPORTERS[target]
    model = load_model(spec, sets, symbolic, limits)
    require_values(model, "export", "H=224")
    path = output or default_output(model.name, suffix)
    check_writable(path, force=force)  # before the exporter's work, which can take seconds
    getattr(importlib.import_module(module), function)(model, path, force=force)
    click.echo(f"wrote {path}", err=True)


def default_output(name: str, suffix: str) -> str:
    """``NAME.SUFFIX`` in the current folder, whatever the spec's name holds: ``name: ../../x`` or
    ``name: /etc/profile`` must not choose where archcalc writes. Letters, digits, ``_`` and ``-`` are
    kept, any run of anything else becomes ``_``, and none leads (no hidden files, no options).

    >>> default_output("resnet50", ".py"), default_output("../../etc/x", ".py"), default_output("", ".onnx")
    ('resnet50.py', 'etc_x.py', 'model.onnx')
    """
    stem = re.sub(r"[^A-Za-z0-9_-]+", "_", name).strip("_-")[:100] or "model"
    return stem + suffix

