"""``archcalc lint PATH...``: check specs against the rule catalogue, as ruff checks Python.

Exit codes: 0 no findings (or ``--exit-zero``), 1 findings, 2 a usage problem: a bad option or
selector, a broken configuration, a path that does not exist, a folder or glob with no specs, a
file that cannot be read or is not UTF-8 text, or an internal error. A YAML syntax error in a
readable file is a finding (E001), not a usage problem. Usage problems are printed to stderr and
the other files are still linted.
"""

from __future__ import annotations

import codecs
import os
import sys
from collections import Counter

import click

from archcalc.cli.common import EXIT_ERROR, SPEC_PATH, handle_errors, limit_option
from archcalc.lint.formats import FORMATS

EXIT_FINDINGS = 1


@click.command()
@click.argument("paths", nargs=-1, required=True, metavar="PATH...", type=SPEC_PATH)
@click.option("--select", "select_", metavar="CODES",
              help="Rules to check (codes, prefixes or names, comma-separated; ALL for every rule); replaces the "
                   "default and the configured set.")
@click.option("--extend-select", multiple=True, metavar="CODES", help="Add rules to the selection.")
@click.option("--ignore", multiple=True, metavar="CODES", help="Remove rules from the selection.")
@click.option("--format", "fmt", type=click.Choice(list(FORMATS)), default="full", show_default=True,
              help="Output format.")
@click.option("--statistics", is_flag=True, help="Print how many findings each rule has, instead of the findings.")
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when there are findings.")
@click.option("--fix", is_flag=True, help="Apply the safe fixes in place (keeps comments and formatting).")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), metavar="FILE",
              help="Use this archcalc.toml or pyproject.toml instead of searching for one.")
@click.option("--isolated", is_flag=True, help="Ignore every configuration file.")
@click.option("--force-exclude", is_flag=True, help="Apply the configured 'exclude' to files named on the command "
              "line too (useful in pre-commit, which names every file).")
@click.option("--only-specs", is_flag=True, help="Skip YAML files that are not specs: a spec has a top-level "
              "'layers:' or 'input:' key (the pre-commit hook passes this, since pre-commit names every YAML file).")
@click.option("--stdin-filename", metavar="PATH", help="The path to report (and configure) standard input ('-') as.")
@limit_option
@handle_errors
def lint(paths: tuple[str, ...], select_: str | None, extend_select: tuple[str, ...], ignore: tuple[str, ...],
         fmt: str, statistics: bool, exit_zero: bool, fix: bool, config_path: str | None, isolated: bool,
         force_exclude: bool, only_specs: bool, stdin_filename: str | None, limits) -> None:
    """Lint neural-network specs: every core error and the classic design mistakes, each a rule with a code.

    PATH is a spec file, a folder (searched for *.yaml and *.yml), a quoted glob, or - for
    standard input. Exit codes: 0 no findings, 1 findings, 2 usage error or unreadable file.

    \b
    archcalc rules                   lists the rules; archcalc rule CODE explains one
    # archcalc: disable=CODE         suppresses CODE on its line (or, alone, on the next line)
    # archcalc: disable-file=CODE    suppresses CODE in the whole file
    [tool.archcalc.lint]             in pyproject.toml: select, ignore, per-file-ignores (docs/lint.md)
    """
    from archcalc.errors import SpecError
    from archcalc.lint import config as lint_config
    from archcalc.lint.engine import RuleCrash
    from archcalc.lint.paths import expand

    if stdin_filename and "-" not in paths:
        raise click.UsageError("--stdin-filename names standard input, which is read only when a path is '-'")
    if config_path and isolated:
        raise click.UsageError("--config names a configuration and --isolated ignores every one: give one of them")
    cli = lint_config.cli_layer(select_, extend_select, ignore)
    finder = lint_config.Finder(config_path, isolated)
    targets, problems = expand(paths, lambda p: finder.for_file(p).excluded(p), force_exclude)
    for problem in problems:
        click.echo(problem.render(), err=True)
    failed = bool(problems)
    results = []
    skipped = 0
    for target in targets:
        try:
            result = _lint_one(target.path, stdin_filename, finder, cli, fix, limits, only_specs)
        except RuleCrash as e:
            click.echo(f"archcalc: internal error: {e} (please report it)", err=True)
            result = None
        except Unwritten as e:  # the fixed file could not be written: its findings as they stand, and the error
            click.echo(e.error.render(), err=True)
            results.append(e.unfixed)
            failed = True
            continue
        except SpecError as e:
            click.echo(e.render(), err=True)
            result = None
        if result is None:
            failed = True
        elif result is _SKIPPED:
            skipped += 1
        else:
            results.append(result)
    _report(results, fmt, statistics, fix and "-" in paths, failed, skipped)
    if failed:
        sys.exit(EXIT_ERROR)
    if any(r.diagnostics for r in results) and not exit_zero:
        sys.exit(EXIT_FINDINGS)


#: what :func:`_lint_one` returns for a YAML file that is not a spec, with ``--only-specs``
_SKIPPED = object()


def _lint_one(path: str, stdin_filename: str | None, finder, cli, fix: bool, limits, only_specs: bool = False):
    """Lint (and fix) one file; None when it cannot be read (the error is printed), :data:`_SKIPPED` when
    ``only_specs`` and it is not a spec."""
    from archcalc.errors import Loc, SpecError
    from archcalc.files import write_atomic
    from archcalc.lint.engine import fix_source, lint_source, unreadable
    from archcalc.lint.rules import NOT_FINDINGS
    from archcalc.spec.source import STDIN, decode, read_bytes

    stdin = path == STDIN
    shown = (stdin_filename or "<stdin>") if stdin else path
    named = stdin_filename if stdin else path  # what configuration and per-file ignores see (None: plain stdin)
    enabled = finder.for_file(named).enabled(named, cli)
    try:
        data = read_bytes(path, limits)
        source = decode(data, shown)
    except SpecError as error:
        if error.code in NOT_FINDINGS:
            if stdin and error.loc is not None:
                error.loc = Loc(shown, error.loc.line, error.loc.col)
            click.echo(error.render(), err=True)
            return None
        return unreadable(error, shown)
    if only_specs and not stdin:
        from archcalc.lint.paths import is_spec

        if not is_spec(source, limits):
            return _SKIPPED
    if not fix:
        return lint_source(source, shown, enabled, limits)
    result = fix_source(source, shown, enabled, limits)
    if stdin:
        click.echo(result.source, nl=False)  # as ruff does: the fixed text on stdout, the report on stderr
    elif result.fixed:
        bom = "\ufeff" if data.startswith(codecs.BOM_UTF8) else ""  # decoding drops it; the file keeps it
        # the file a symbolic link points to, not a regular file in the link's place
        try:
            write_atomic(os.path.realpath(path), bom + result.source, overwrite_ok=True)
        except SpecError as e:
            raise Unwritten(e, lint_source(source, shown, enabled, limits)) from None
    return result


class Unwritten(Exception):
    """A fixed file that could not be written (``error``), with the findings of the file as it still is."""

    def __init__(self, error, unfixed):
        super().__init__(error.message)
        self.error, self.unfixed = error, unfixed


def _report(results: list, fmt: str, statistics: bool, to_stderr: bool, failed: bool, skipped: int = 0) -> None:
    """Print the findings (to stderr when stdout carries the fixed standard input)."""
    from archcalc.cli.common import terminal
    from archcalc.lint.formats import render

    diagnostics = [d for r in results for d in r.diagnostics]
    if statistics:
        text = _statistics(diagnostics, fmt)
    else:
        text = render(fmt, results, color=terminal().color and not to_stderr)
        if fmt in ("full", "concise") and (results or not failed):
            text += _summary(results, failed, skipped)
    click.echo(text, nl=False, err=to_stderr)


def _statistics(diagnostics: list, fmt: str) -> str:
    import json

    counts = Counter(d.code for d in diagnostics)
    rules = {d.code: d.rule for d in diagnostics}
    order = sorted(counts, key=lambda code: (-counts[code], code))
    if fmt in ("json", "sarif"):
        rows = [{"code": c, "name": rules[c].name, "count": counts[c], "fixable": rules[c].fixable} for c in order]
        return json.dumps(rows, indent=2) + "\n"
    width = len(str(max(counts.values(), default=0)))
    return "".join(f"{counts[c]:>{width}}\t{c}\t{'[*]' if rules[c].fixable else '[ ]'} {rules[c].name}\n"
                   for c in order)


def _summary(results: list, failed: bool, skipped: int = 0) -> str:
    diagnostics = [d for r in results for d in r.diagnostics]
    fixed = sum(r.fixed for r in results)
    lines = []
    if fixed:
        lines.append(f"Fixed {_plural(fixed, 'finding')}.")
    if not diagnostics:
        lines.append("No findings in the files that could be linted." if failed else "All checks passed!")
    else:
        by_severity = Counter(d.severity for d in diagnostics)
        parts = ", ".join(_plural(by_severity[s], s) for s in ("error", "warning", "info") if by_severity[s])
        files = len({d.path for d in diagnostics})
        lines.append(f"Found {_plural(len(diagnostics), 'finding')} ({parts}) in {_plural(files, 'file')}.")
        fixable = sum(d.fix is not None for d in diagnostics)
        if fixable:
            lines.append(f"[*] {fixable} fixable with --fix.")
    if skipped:
        lines.append(f"Skipped {_plural(skipped, 'YAML file')} that {'is' if skipped == 1 else 'are'} not a spec "
                     "(no top-level 'layers:' or 'input:').")
    return "\n".join(lines) + "\n"


def _plural(n: int, word: str) -> str:
    if word == "info":
        return f"{n} info"
    return f"{n} {word}{'s' if n != 1 else ''}"
