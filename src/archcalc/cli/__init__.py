"""The ``archcalc`` command. Subcommands load on first use, so ``archcalc params`` never pays for
the linter, the exporters or torch."""

from __future__ import annotations

import importlib

import click

from archcalc import __version__

#: command → (module, function, one-line help shown by ``archcalc --help``)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "summary": ("archcalc.cli.summary", "summary", "One-screen report: shapes, params, MACs, RF, totals, memory."),
    "params": ("archcalc.cli.params", "params", "Parameter counts per layer and in total, exact or symbolic."),
    "shapes": ("archcalc.cli.shapes", "shapes", "Output shape of every layer."),
    "rf": ("archcalc.cli.rf", "rf", "Receptive field of every layer: size, effective stride and padding, centre."),
    "flops": ("archcalc.cli.flops", "flops", "MACs, FLOPs and element-wise work per layer and in total."),
    "plan": ("archcalc.cli.plan", "plan_command", "Plan a run on GPUs: memory per GPU, fits or not, FLOPs and time."),
    "lint": ("archcalc.cli.lint", "lint", "Check specs against the lint rules (errors and design mistakes)."),
    "rule": ("archcalc.cli.rule", "rule", "Explain one lint rule, by code or name."),
    "rules": ("archcalc.cli.rules", "rules", "List the lint rules."),
    "diagram": ("archcalc.cli.diagram", "diagram", "Draw the network as a Mermaid, Graphviz DOT or SVG diagram."),
    "diff": ("archcalc.cli.diff", "diff", "What changed between two versions of a spec: layers, params, MACs, memory."),
    "export": ("archcalc.cli.export", "export", "Write the spec as PyTorch source, an ONNX model or NumPy code."),
    "train": ("archcalc.cli.train", "train", "Train the network (NumPy or PyTorch) on data and report test metrics."),
    "layers": ("archcalc.cli.layers", "layers", "List the layer kinds a spec can use, with their arguments."),
    "import": ("archcalc.cli.importer", "import_command", "Write a spec from a Hugging Face config.json."),
    "schema": ("archcalc.cli.schema", "schema", "Print the JSON Schema of the spec language, for editors."),
}


class LazyGroup(click.Group):
    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def resolve_command(self, ctx: click.Context, args: list[str]):
        """As click's, with a did-you-mean for a misspelt command (click's own looks only at commands
        registered eagerly, and these load lazily)."""
        name = args[0] if args else ""
        if name not in COMMANDS and not name.startswith("-") and not ctx.resilient_parsing:
            from archcalc.errors import close_match

            close = close_match(name, COMMANDS)
            ctx.fail(f"No such command {name!r}." + (f" Did you mean '{close}'?" if close else ""))
        return super().resolve_command(ctx, args)

    def main(self, *args: object, **kwargs: object) -> object:
        """Click's, with a last guard: a bug outside a command's body (in an option's callback, while
        loading a command) is one line and exit 2, like one inside it (see ``handle_errors``)."""
        import os

        try:
            return super().main(*args, **kwargs)
        except Exception as e:  # click's own errors and exits never get here in standalone mode
            if os.environ.get("ARCHCALC_DEBUG", "") not in ("", "0") or not kwargs.get("standalone_mode", True):
                raise
            from archcalc.cli.common import internal_error

            internal_error(e, None)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        with formatter.section("Commands"):
            formatter.write_dl([(name, help_) for name, (_, _, help_) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="archcalc")
def main() -> None:
    """Exact shapes, parameter counts and more for neural networks written as YAML specs.

    Every command reads a spec (see docs/spec.md), prints errors as path:line:col and exits 2 on a
    bad spec or bad usage.
    """


def run() -> None:
    """The ``archcalc`` program (console script and ``python -m archcalc``): ``main`` in a process
    that ends with the command."""
    from archcalc.cli import common

    common.ENDS_AFTER_COMMAND = True
    main(prog_name="archcalc")
