"""What every spec command shares: its options, loading the model, and turning errors into exit 2.

``spec_options`` gives every command the same SPEC argument and ``--set`` / ``--symbolic`` /
``--limit`` flags (as sqlite-utils bundles its output options); ``handle_errors`` is the one place a
:class:`SpecError` becomes ``path:line:col: error: …`` on stderr and exit code 2.
"""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable

import click

from archcalc.errors import SpecError
from archcalc.limits import Limits, default_limits, parse_settings
from archcalc.report import FORMAT_NAMES, Terminal

EXIT_ERROR = 2


def _parse_pairs(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, int]:
    out: dict[str, int] = {}
    for value in values:
        for item in filter(None, (p.strip() for p in value.split(","))):
            name, sep, number = item.partition("=")
            name, number = name.strip(), number.strip()
            if not sep or not name.isidentifier():
                raise click.BadParameter(f"'{item}' must look like NAME=VALUE, e.g. H=224", ctx, param)
            try:
                out[name] = int(number)
            except ValueError:  # not digits, or more than Python reads (4,300 digits)
                shown = number if len(number) <= 20 else number[:20] + "…"
                raise click.BadParameter(f"{name}={shown}: the value must be an integer", ctx, param) from None
            if out[name] < 1:
                raise click.BadParameter(f"{name}={number}: dimensions must be ≥ 1", ctx, param)
    return out


def _parse_limits(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Limits:
    try:
        settings: dict[str, int] = {}
        for value in values:
            settings.update(parse_settings(value))
        return default_limits().updated(settings)
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def spec_options(fn: Callable) -> Callable:
    """SPEC plus ``--set NAME=VALUE``, ``--symbolic`` and ``--limit NAME=VALUE``."""
    fn = click.option("--limit", "limits", multiple=True, callback=_parse_limits, metavar="NAME=VALUE",
                      help="Raise or lower a safety limit (see README, 'Security model').")(fn)
    fn = click.option("--symbolic", is_flag=True,
                      help="Ignore the defaults under 'symbols:' and keep every symbol free.")(fn)
    fn = click.option("--set", "sets", multiple=True, callback=_parse_pairs, metavar="NAME=VALUE",
                      help="Give a symbol a value (repeatable, or comma-separated: H=224,W=224).")(fn)
    return click.argument("spec", metavar="SPEC")(fn)


def format_option(*names: str, default: str = "table") -> Callable:
    return click.option("--format", "fmt", type=click.Choice(names), default=default, show_default=True,
                        help="Output format.")


def report_format_option() -> Callable:
    """The formats every report command takes: table, json, markdown, csv (docs/reports.md)."""
    return format_option(*FORMAT_NAMES)


def load_model(spec: str, sets: dict[str, int], symbolic: bool, limits: Limits):
    """The built model (read and built with the collector paused, see :func:`archcalc.model.gc_paused`).

    Its objects then move to the collector's permanent generation: a command keeps them to the
    end, and without this every full collection while the report is built walks them all again
    (a 100,000-layer spec took twice as long).
    """
    import gc

    from archcalc.model import load

    model = load(spec, symbolic_dims=symbolic, limits=limits, **sets)
    gc.freeze()
    return model


def require_values(model, purpose: str, example: str) -> None:
    """Exports and training need numbers: a free symbol is an error at the line that declares it."""
    free = model.graph.free
    if free:
        raise SpecError(model.spec.symbols[free[0]].loc, f"{', '.join(free)} must have values to {purpose}",
                        code="usage", hint=f"give them with --set, e.g. --set {example}")


def terminal() -> Terminal:
    """Standard output with its width (``COLUMNS`` wins) and colour when it is a terminal."""
    import shutil

    out = sys.stdout
    width = shutil.get_terminal_size((80, 24)).columns
    tty = out.isatty()
    color = tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    return Terminal(out, max(width, 40) if tty or "COLUMNS" in os.environ else 80, color)


def fail(error: SpecError) -> None:
    click.echo(error.render(), err=True)
    sys.exit(EXIT_ERROR)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a CI job cancelled), raised like Ctrl-C so ``finally`` blocks run
    and no temporary file outlives the command."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def handle_errors(fn: Callable) -> Callable:
    """Run a command; a :class:`SpecError` exits 2 with its located message, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> object:
        import signal
        import threading

        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminated) if main else None
        try:
            return fn(*args, **kwargs)
        except SpecError as e:
            fail(e)
        except RecursionError:  # a calculator or backend past Python's stack (limits raised far)
            spec = kwargs.get("spec")
            where = f"{'<stdin>' if spec == '-' else spec}:1:1: " if isinstance(spec, str) else ""
            click.echo(f"{where}error: the spec nests too deeply to process", err=True)
            click.echo("  hint: lower --limit max_nesting (the default is 100)", err=True)
            sys.exit(EXIT_ERROR)
        except KeyboardInterrupt as e:
            click.echo("terminated" if isinstance(e, Terminated) else "interrupted", err=True)
            sys.exit(143 if isinstance(e, Terminated) else 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        finally:
            if main and previous is not None:
                signal.signal(signal.SIGTERM, previous)

    return wrapper
