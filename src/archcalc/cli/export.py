"""``archcalc export SPEC --to torch|onnx|numpy -o FILE``: write the spec as code or a model file."""

from __future__ import annotations

import importlib
import re

import click

from archcalc.backends import EXPORTERS, NEEDS, TEXT_SUFFIXES
from archcalc.cli.common import OUTPUT, check_suffix, handle_errors, load_model, spec_options
from archcalc.files import STDOUT, check_writable

#: targets whose file holds weights (the others are code that initialises its own)
WITH_WEIGHTS = ("onnx",)


@click.command()
@spec_options
@click.option("--to", "target", required=True, type=click.Choice(sorted(EXPORTERS) or ["torch"]),
              help="What to write.")
@click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
              help="File to write, with the target's suffix (.py, .onnx); '-' prints Python source to standard "
                   "output. Default: the model's name as a Python module name in the current folder, e.g. "
                   "seed_mlp.py.")
@click.option("--weights", type=click.Path(dir_okay=False), default=None,
              help="Trained weights to put in the ONNX file: the .npz 'archcalc train -o' wrote for this spec.")
@click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")
@handle_errors
def export(spec: str, sets: dict[str, int], symbolic: bool, limits, target: str, output: str | None,
           weights: str | None, force: bool) -> None:
    """Export SPEC to a PyTorch source file, an ONNX model or a standalone NumPy file.

    Files are written atomically and never replace an existing file without --force.
    """
    module, function, suffix = EXPORTERS[target]
    if output == STDOUT and suffix not in TEXT_SUFFIXES:
        raise click.BadParameter(f"'-': the {target} export is a binary file, not printed to standard output; "
                                 f"name a file, e.g. -o model{suffix}", param_hint=OUTPUT)
    if output not in (None, STDOUT):
        check_suffix(output, suffix, f"the {target} export")
    if weights is not None and target not in WITH_WEIGHTS:
        raise click.BadParameter(f"the {target} export is code that builds its own weights; load trained ones "
                                 "into what it builds (load_state_dict), or export --to onnx --weights",
                                 param_hint="'--weights'")
    from archcalc.backends.optional import require_all

    require_all(NEEDS[target])
    model = load_model(spec, sets, symbolic, limits)
    model.require_values("export", cli=True)
    if target != "onnx" and model.spec.train is not None:  # the file trains as the spec says: something must learn
        from archcalc.cli.train import check_trainable

        check_trainable(model)
    path = output or default_output(model.name, suffix)
    check_writable(path, force=force)  # before the exporter's work, which can take seconds
    extra = {}
    if weights is not None:
        from archcalc.weights import read_weights

        extra["weights"] = read_weights(weights, model, limits)
    getattr(importlib.import_module(module), function)(model, path, force=force, **extra)
    if path != STDOUT:
        click.echo(f"wrote {path}", err=True)


def default_output(name: str, suffix: str) -> str:
    """``NAME.SUFFIX`` in the current folder, NAME made a Python module name (``seed-mlp`` → ``seed_mlp``,
    so a generated module can be imported by it). Whatever the spec's name holds, ``name: ../../x`` or
    ``name: /etc/profile`` must not choose where archcalc writes: only ``[0-9a-z_]`` survive.

    >>> default_output("My Net (v2)!", ".py"), default_output("../../etc/x", ".py"), default_output("", ".onnx")
    ('my_net_v2.py', 'etc_x.py', 'model.onnx')
    """
    stem = re.sub(r"[^0-9a-z_]+", "_", name.lower()).strip("_")[:100] or "model"
    return (f"model_{stem}" if stem[0].isdigit() else stem) + suffix
