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

from archcalc.errors import Collector, Loc, SpecError, printable
from archcalc.limits import Limits, default_limits, parse_settings
from archcalc.report import FORMAT_NAMES, Terminal

EXIT_ERROR = 2


#: set by the ``archcalc`` program (``archcalc.cli.run``), not by a caller of ``main`` such as a test:
#: when the process ends with the command, what ``load_model`` froze stays frozen, so the interpreter's
#: last collection at exit skips it (unfrozen, that collection costs 10 ms after ResNet-50)
ENDS_AFTER_COMMAND = False


def parse_sets(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> dict[str, int]:
    """``--set H=224,W=224 --set C=3`` → ``{"H": 224, "W": 224, "C": 3}``, checked as ``--limit`` is."""
    try:
        return parse_settings(",".join(values), example="H=224")  # one pass: a name given twice is an error
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def _parse_limits(ctx: click.Context, param: click.Parameter, values: tuple[str, ...]) -> Limits:
    try:
        limits = default_limits()
    except ValueError as e:  # the environment variable, not this option
        raise click.UsageError(str(e), ctx) from None
    try:
        return limits.updated(parse_settings(",".join(values)))
    except ValueError as e:
        raise click.BadParameter(str(e), ctx, param) from None


def limit_option(fn: Callable) -> Callable:
    """``--limit NAME=VALUE`` (repeatable): the safety limits, over ``ARCHCALC_LIMITS``."""
    return click.option("--limit", "limits", multiple=True, callback=_parse_limits, metavar="NAME=VALUE",
                        help="Raise or lower a safety limit (see README, 'Security model').")(fn)


def completer(names: Callable[[], list[str]]) -> Callable:
    """A ``shell_complete`` for an argument that takes one of ``names()`` (kinds, rule codes): the shell
    completion offers those that start with what is typed."""
    def complete(ctx: click.Context, param: click.Parameter, incomplete: str) -> list:
        from click.shell_completion import CompletionItem

        return [CompletionItem(name) for name in names() if name.startswith(incomplete)]

    return complete


#: a spec path argument: any text (archcalc reads it and says what is wrong), completed as a file name by the
#: shell completion (docs in README, "Shell completion")
SPEC_PATH = click.Path(allow_dash=True, readable=False)  # archcalc says itself what is wrong with a file


def spec_options(fn: Callable) -> Callable:
    """SPEC plus ``--set NAME=VALUE``, ``--symbolic`` and ``--limit NAME=VALUE``."""
    fn = limit_option(fn)
    fn = click.option("--symbolic", is_flag=True,
                      help="Ignore the defaults under 'symbols:' and keep every symbol free.")(fn)
    fn = click.option("--set", "sets", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
                      help="Give a symbol a value (repeatable, or comma-separated: H=224,W=224).")(fn)
    return click.argument("spec", metavar="SPEC", type=SPEC_PATH)(fn)


def format_option(*names: str, default: str = "table") -> Callable:
    return click.option("--format", "fmt", type=click.Choice(names), default=default, show_default=True,
                        help="Output format.")


def report_format_option() -> Callable:
    """The formats every report command takes: table, json, markdown, csv (docs/reports.md)."""
    return format_option(*FORMAT_NAMES)


def load_model(spec: str, sets: dict[str, int], symbolic: bool, limits: Limits):
    """The built model (read and built with the collector paused, see :func:`archcalc.collector.gc_paused`).

    Its objects then move to the collector's permanent generation: a command keeps them to the
    end, and without this every full collection while the report is built walks them all again
    (a 100,000-layer spec took twice as long).
    """
    import gc

    from archcalc.model import load

    model = load(spec, symbolic_dims=symbolic, limits=limits, **sets)
    if not gc.get_freeze_count():  # handle_errors unfreezes when the command ends
        gc.freeze()
    return model


#: how click names the ``-o`` option in its messages
OUTPUT = "'-o' / '--output'"


def check_suffix(path: str, suffix: str, what: str, option: str = OUTPUT) -> None:
    """Refuse an output file whose suffix names another format than the one written (ONNX in
    ``model.py``, NumPy arrays in ``weights.pt``): a usage error before any work, nothing written."""
    from archcalc.files import STDOUT  # not at the top: the report commands never write

    if path == STDOUT:  # standard output, for text only
        raise click.BadParameter(f"'-': {what} is a binary {suffix} file, not printed; name a file, e.g. "
                                 f"out{suffix}", param_hint=option)
    folder, base = os.path.split(path)
    if base in ("", ".", "..") or base.lower() == suffix:  # '' or a folder, or '.py': no name to keep
        raise click.BadParameter(printable(f"'{path}': {what} needs a file name; name it "
                                           f"{os.path.join(folder, 'model' + suffix)}"), param_hint=option)
    stem, ext = os.path.splitext(path)
    if ext.lower() != suffix:
        raise click.BadParameter(printable(f"'{path}': {what} is a {suffix} file; name it {stem}{suffix}"),
                                 param_hint=option)


def output_options(suffixes: tuple[str, ...], example: str) -> Callable:
    """``-o/--output FILE`` (standard output when left out or ``-``) and ``--force``, for commands that
    print a document (``schema``, ``diagram``); a file must end in one of ``suffixes``."""

    def check(ctx: click.Context, param: click.Parameter, value: str | None) -> str | None:
        from archcalc.files import STDOUT

        if value not in (None, STDOUT):
            stem, ext = os.path.splitext(value)
            if ext.lower() not in suffixes:
                raise click.BadParameter(printable(f"'{value}': name it {stem}{suffixes[0]}"
                                                   + (f" (or {', '.join(suffixes[1:])})" if suffixes[1:] else "")),
                                         ctx, param)
        return value

    def decorate(fn: Callable) -> Callable:
        fn = click.option("--force", is_flag=True, help="Overwrite the output file if it exists.")(fn)
        return click.option("-o", "--output", type=click.Path(dir_okay=False, allow_dash=True), default=None,
                            callback=check, help=f"File to write ({example}); standard output by default.")(fn)

    return decorate


def write_output(text: str, output: str | None, force: bool) -> None:
    """``text`` to standard output, or atomically to the file ``output`` (never over one without ``force``)."""
    from archcalc.files import STDOUT, write_atomic

    if output in (None, STDOUT):
        click.echo(text, nl=False)
        return
    write_atomic(output, text, force=force)
    click.echo(f"wrote {output}", err=True)


def free_note(graph, what: str) -> str:
    """``H, W free: sizes are formulas (...)``, and the values of the symbols for which every size is positive
    when a layer bounds them (:attr:`archcalc.graph.nodes.Graph.minimums`, ``maximums``): the constraint the
    formulas hold under."""
    note = f"{', '.join(graph.free)} free: {what} are formulas (fix them with --set)"
    bounds = [(name, f"≥ {least:,}", kind, loc) for name, (least, kind, loc) in graph.minimums.items()]
    bounds += [(name, f"≤ {most:,}", kind, loc) for name, (most, kind, loc) in graph.maximums.items()]
    if bounds:
        needs = "; ".join(f"{name} {bound} ({kind} at line {loc.line})" for name, bound, kind, loc in sorted(bounds))
        note += f"; they hold where every size is at least 1: {needs}"
    return note


def _columns() -> int:
    """``shutil.get_terminal_size((80, 24)).columns``, as shutil computes it, without importing shutil (and
    the compression modules it imports, a twentieth of what archcalc's own modules cost to import)."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or 80


def terminal() -> Terminal:
    """Standard output with its width (``COLUMNS`` wins) and colour when it is a terminal."""
    out = sys.stdout
    width = _columns()
    tty = out.isatty()
    color = tty and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"
    return Terminal(out, max(width, 40) if tty or "COLUMNS" in os.environ else 80, color)


def fail(error: SpecError) -> None:
    """Print ``error`` and the independent errors found with it, then exit 2."""
    errors = error.all
    for each in errors:
        click.echo(each.render(), err=True)
    if len(errors) > 1:
        more = " (the parse stops there)" if len(errors) >= Collector.LIMIT else ""
        click.echo(f"{len(errors)} errors{more}", err=True)
    sys.exit(EXIT_ERROR)


class Terminated(KeyboardInterrupt):
    """SIGTERM (``kill``, ``timeout``, a CI job cancelled), raised like Ctrl-C so ``finally`` blocks run
    and no temporary file outlives the command."""


def _terminated(signum: int, frame: object) -> None:
    raise Terminated


def handle_errors(fn: Callable) -> Callable:
    """Run a command; every error exits 2 with a one-line located message, never a traceback.

    A :class:`SpecError` is the user's to fix. Any other exception is a bug in archcalc: it is
    reported as an internal error (``ARCHCALC_DEBUG=1`` shows the traceback instead). click's own
    exceptions (``Exit``, ``Abort``, usage errors) pass through to click, which prints them.
    """

    @functools.wraps(fn)
    def wrapper(*args: object, **kwargs: object) -> object:
        import gc
        import signal
        import threading

        main = threading.current_thread() is threading.main_thread()
        previous = signal.signal(signal.SIGTERM, _terminated) if main else None
        frozen = gc.get_freeze_count()
        try:
            check_counts(kwargs)
            return fn(*args, **kwargs)
        except SpecError as e:
            fail(e)
        except RecursionError:  # a calculator or backend past Python's stack (limits raised far)
            fail(SpecError(_where(kwargs), "the spec nests too deeply to process", code="resource-limit",
                           hint="lower --limit max_nesting (the default is 100)"))
        except KeyboardInterrupt as e:
            click.echo("terminated" if isinstance(e, Terminated) else "interrupted", err=True)
            sys.exit(143 if isinstance(e, Terminated) else 130)
        except BrokenPipeError:
            sys.stderr.close()
            sys.exit(0)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.exceptions.Abort):
            raise
        except Exception as e:
            if os.environ.get("ARCHCALC_DEBUG", "") not in ("", "0"):
                raise
            internal_error(e, _where(kwargs))
        finally:
            if main and previous is not None:
                signal.signal(signal.SIGTERM, previous)
            if not frozen and not ENDS_AFTER_COMMAND:
                gc.unfreeze()  # give back what load_model froze: one process may run thousands of commands

    return wrapper


#: the largest whole number an option takes (``--batch-size``, ``--epochs``...): reports multiply it with sizes
#: (at most 2**256, see :class:`archcalc.limits.Limits`) into exact counts, which must stay printable (Python
#: prints integers of at most 4,300 digits)
MAX_OPTION = 10**1000


def check_counts(kwargs: dict, bound: int = MAX_OPTION) -> None:
    """Refuse an integer option past ``bound`` before the command computes with it (every command's options
    are checked against :data:`MAX_OPTION`; one that divides them as floats checks its own against less)."""
    for name, value in kwargs.items():
        if isinstance(value, int) and not isinstance(value, bool) and abs(value) > bound:
            ctx = click.get_current_context(silent=True)
            params = ctx.command.params if ctx is not None else []
            option = next((p.opts[0] for p in params if p.name == name and p.opts), f"--{name.replace('_', '-')}")
            text = str(value)
            shown = text if len(text) <= 20 else f"{text[:20]}… ({len(text):,} digits)"
            raise SpecError(None, f"{option} {shown}: too large", code="usage",
                            hint=f"give a whole number up to {bound:,}" if bound < 10**30 else
                            f"give a whole number of at most {len(str(bound)) - 1:,} digits")


def internal_error(error: Exception, where: Loc | None) -> None:
    """Exit 2 with a bug report request: one line naming the exception, not a traceback."""
    from archcalc import __version__

    text = f"{where}: " if where else ""
    click.echo(printable(f"{text}internal error: {type(error).__name__}: {error}".replace("\n", " ")), err=True)
    click.echo(f"  hint: this is a bug in archcalc {__version__}; please report it with the spec. "
               "Set ARCHCALC_DEBUG=1 to see the traceback", err=True)
    sys.exit(EXIT_ERROR)


def _where(kwargs: dict) -> Loc | None:
    """The command's spec as a location (line 1) for errors that have none of their own."""
    spec = kwargs.get("spec")
    return Loc(spec_name(spec), 1, 1) if isinstance(spec, str) else None


def spec_name(spec: str) -> str:
    """The spec as messages name it: its path, or ``<stdin>`` for ``-`` (as the loader names it)."""
    return "<stdin>" if spec == "-" else spec
