"""``archcalc diff OLD NEW`` (or ``archcalc diff --rev REV SPEC``): what changed between two versions of
a spec, per layer, per block and in total, as a table, Markdown (for a pull-request comment) or JSON."""

from __future__ import annotations

import os
import subprocess

import click

from archcalc import symbolic
from archcalc.analysis import Analysis
from archcalc.calc.memory import DTYPES, scaled
from archcalc.cli.common import (
    SPEC_PATH,
    format_option,
    handle_errors,
    limit_option,
    parse_sets,
    spec_name,
    terminal,
)
from archcalc.comparison import ADDED, CHANGED, MEASURES, REMOVED, Comparison, Entry, compare
from archcalc.errors import Loc, SpecError
from archcalc.limits import Limits
from archcalc.notation import math_shape
from archcalc.report import Column, Report, Row, emit

_TITLES = {"params": "Δ Params", "macs": "Δ MACs", "activations": "Δ Activations (B)"}


@click.command()
@click.argument("specs", nargs=-1, required=True, metavar="OLD [NEW]", type=SPEC_PATH)
@click.option("--rev", metavar="GIT_REV", default=None,
              help="Compare SPEC with the same file at this git revision (HEAD, main, a1b2c3d, HEAD~1).")
@format_option("table", "markdown", "json")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Fold blocks deeper than this (folded rows show the block's totals) [default: all].")
@click.option("--all", "show_all", is_flag=True, help="Show every node, not only those that changed.")
@click.option("--batch-size", "batch", type=click.IntRange(min=1), default=None,
              help="Examples per pass, for MACs and memory [default: 1; the training step uses each spec's "
              "train.batch_size].")
@click.option("--dtype", type=click.Choice(tuple(DTYPES)), default="fp32", show_default=True,
              help="Storage type, for memory.")
@click.option("--set", "sets", multiple=True, callback=parse_sets, metavar="NAME=VALUE",
              help="Give a symbol a value in each spec that declares it (repeatable, or H=224,W=224).")
@click.option("--symbolic", is_flag=True, help="Ignore the defaults under 'symbols:' and keep every symbol free.")
@click.option("--exit-code", is_flag=True, help="Exit with 1 when the specs differ (as git diff --exit-code).")
@limit_option
@handle_errors
def diff(specs: tuple[str, ...], rev: str | None, fmt: str, depth: int | None, show_all: bool, batch: int | None,
         dtype: str, sets: dict[str, int], symbolic: bool, exit_code: bool, limits: Limits) -> None:
    """Compare two versions of a spec: layers added, removed and changed, and the change in
    parameters, MACs, activation memory and receptive field per block and in total.

    OLD and NEW are spec files; with --rev, SPEC is compared with itself at a git revision
    (archcalc diff --rev main specs/model.yaml). --format markdown prints a pull-request comment.
    """
    if rev is not None:
        if len(specs) != 1:
            raise click.UsageError("--rev compares one spec with itself at a git revision: give one SPEC")
        new_path = specs[0]
        old_name = f"{spec_name(new_path)}@{rev}"
        old = _load(None, git_text(new_path, rev, limits), old_name, sets, symbolic, limits)
    else:
        if len(specs) != 2:
            raise click.UsageError("give two specs, OLD and NEW (or one SPEC with --rev GIT_REV)")
        old_name, new_path = spec_name(specs[0]), specs[1]
        old = _load(specs[0], None, old_name, sets, symbolic, limits)
    new_name = spec_name(new_path)
    new = _load(new_path, None, new_name, sets, symbolic, limits)
    unused = set(sets) - set(old.spec.symbols) - set(new.spec.symbols)
    if unused:
        raise click.BadParameter(f"neither spec has a symbol {', '.join(sorted(unused))}", param_hint="'--set'")
    comparison = compare(Analysis(old, batch or 1, dtype, train_batch=batch),
                         Analysis(new, batch or 1, dtype, train_batch=batch))
    emit(diff_report(comparison, old_name, new_name, depth, show_all), fmt, terminal())
    if exit_code and comparison.differs:
        raise click.exceptions.Exit(1)


def _load(path: str | None, text: str | None, name: str, values: dict[str, int], symbolic: bool, limits: Limits):
    """The model of a file (``path``) or of text from git, with the ``--set`` values its spec declares."""
    from archcalc.collector import gc_paused
    from archcalc.graph import build_graph
    from archcalc.model import Model
    from archcalc.spec import parse_text, read_spec

    with gc_paused():
        spec = read_spec(path, limits) if text is None else parse_text(text, name, limits)
        mine = {k: v for k, v in values.items() if k in spec.symbols}
        return Model(build_graph(spec, mine, free=symbolic, limits=limits))


def git_text(path: str, rev: str, limits: Limits) -> str:
    """The text of ``path`` at git revision ``rev`` of the repository holding it (``git show REV:./NAME``
    run in the file's folder, so any working folder and any path work)."""
    where = Loc(spec_name(path), 1, 1)
    if rev.startswith("-"):  # never an option of git's
        raise SpecError(where, f"--rev {rev!r} is not a revision", code="usage", hint="e.g. --rev HEAD~1 or --rev main")
    folder, name = os.path.split(os.path.abspath(path))
    try:
        done = subprocess.run(["git", "-C", folder, "show", f"{rev}:./{name}"], capture_output=True, check=False)
    except FileNotFoundError:
        raise SpecError(where, "--rev needs git, which is not installed", code="usage",
                        hint="install git, or give both files: archcalc diff OLD NEW") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        text = message[-1] if message else f"git exited with {done.returncode}"
        if "not a git repository" in text:
            hint = "--rev reads the file from the git repository that holds it; give both files instead"
        elif "exists on disk, but not in" in text or "does not exist in" in text:
            hint = f"the file is not in {rev}: compare with a revision that has it, or give both files"
        else:
            hint = "check the revision: git log --oneline -- " + name
        raise SpecError(where, f"cannot read it at {rev}: {text.removeprefix('fatal: ')}", code="usage", hint=hint)
    if len(done.stdout) > limits.max_bytes:
        raise SpecError(where, f"at {rev} it is {len(done.stdout):,} bytes, over the limit max_bytes = "
                        f"{limits.max_bytes:,}", code="resource-limit", hint="raise it with --limit max_bytes=N")
    try:
        return done.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise SpecError(where, f"at {rev} it is not UTF-8 text", code="unreadable-file") from None


# -- the report -----------------------------------------------------------------------------------


def diff_report(comparison: Comparison, old_name: str, new_name: str, depth: int | None = None,
                show_all: bool = False) -> Report:
    old, new = comparison.old, comparison.new
    unit = f"batch {new.batch}, {new.dtype}"
    columns = [Column("layer", "Layer"), Column("change", "Change", keep=8), Column("kind", "Kind", keep=6),
               Column("what", "What changed", keep=7),
               *(Column(m, _TITLES[m], numeric=True, keep=9 if m != "activations" else 5) for m in MEASURES),
               Column("rf", "RF", numeric=True, keep=4)]
    report = Report(f"{old_name} → {new_name}: what changed ({unit})", columns, _rows(comparison, depth, show_all),
                    pick_columns=False, every_column="--format json has")
    counts = comparison.counts()
    report.footer = [
        ("Layers", f"{len(list(old.graph.layers()))} → {len(list(new.graph.layers()))} ({counts[ADDED]} added, "
                   f"{counts[REMOVED]} removed, {counts[CHANGED]} changed)"),
        ("Params", _change(old.model.total_params, new.model.total_params)),
        *([("Trainable params", _change(old.model.trainable_params, new.model.trainable_params))]
          if not all(symbolic.equal(a.model.non_trainable_params, 0) for a in (old, new)) else []),
        ("MACs", _change(old.total.macs, new.total.macs)),
        ("FLOPs (2 × MACs)", _change(2 * old.total.macs, 2 * new.total.macs)),
        ("Forward activations", _change(old.memory(old.batch).activations, new.memory(new.batch).activations, True)),
        (f"Training step, batch {_arrow(str(old.train_batch), str(new.train_batch))}",
         _change(old.memory(old.train_batch).training, new.memory(new.train_batch).training, True)),
        ("Receptive field", _arrow(_rf_total(old), _rf_total(new))),
        ("Input shape", _arrow(*(math_shape(a.graph.input_shape) for a in (old, new)))),
        ("Output shape", _arrow(*(math_shape(a.graph.output_shape) for a in (old, new)))),
    ]
    if not report.rows:
        report.notes.append("no layer or block changed" if comparison.entries else "both specs are empty")
    report.data = _json(comparison, old_name, new_name)
    return report


def _rows(comparison: Comparison, depth: int | None, show_all: bool) -> list[Row]:
    """The changed nodes and the blocks around them, as a tree (to ``depth``)."""
    entries = [e for e in comparison.entries if depth is None or e.depth <= depth]
    keep = {e.path for e in entries if show_all or e.moved}
    for path in list(keep):  # the blocks around a change, for the tree
        parts = path.split(".")
        keep |= {".".join(parts[:i]) for i in range(1, len(parts))}
    shown = [e for e in entries if e.path in keep]
    rows = []
    for i, entry in enumerate(shown):
        later = [e for e in shown[i + 1:] if e.depth <= entry.depth]
        last = not later or later[0].depth < entry.depth
        cells = {"path": entry.path, "change": entry.status, "kind": entry.kind, "what": _what(entry),
                 **{m: _delta(entry.delta(m)) for m in MEASURES}, "rf": _arrow(*entry.rf)}
        rows.append(Row(entry.name, entry.depth, cells, last=last, container=bool(entry.node.children)))
    return rows


def _what(entry: Entry) -> str:
    if entry.status in (ADDED, REMOVED):
        return math_shape(entry.node.out_shape)
    return "; ".join(entry.details)


def _delta(value: object) -> str:
    if symbolic.is_int(value):
        return "–" if value == 0 else f"{value:+,}"
    from archcalc.notation import math_text

    return math_text(value)


def _change(old: object, new: object, size: bool = False) -> str:
    """``11,689,512 → 11,699,772 (+10,260, +0.09%)``; sizes in bytes with their decimal unit."""
    def show(v: object) -> str:
        if not symbolic.is_int(v):
            from archcalc.notation import math_text

            return math_text(v)
        return f"{scaled(v)}" if size else f"{v:,}"

    if not (symbolic.is_int(old) and symbolic.is_int(new)):
        return _arrow(show(old), show(new))
    if old == new:
        return f"{show(new)} (unchanged)"
    delta = new - old
    share = f", {delta / old:+.2%}" if old else ""
    amount = f"{'+' if delta > 0 else '-'}{scaled(abs(delta))}" if size else f"{delta:+,}"
    return f"{show(old)} → {show(new)} ({amount}{share})"


def _arrow(old: str, new: str) -> str:
    return new if old == new else f"{old or '–'} → {new or '–'}"


def _rf_total(analysis: Analysis) -> str:
    from archcalc.report.columns import field_cell

    node = analysis.final
    return f"{field_cell(analysis.fields[node], 'size')} at {node.path}"


def _json(comparison: Comparison, old_name: str, new_name: str) -> dict:
    from archcalc.symbolic import to_json

    old, new = comparison.old, comparison.new

    def pair(a: object, b: object) -> dict:
        return {"old": to_json(a), "new": to_json(b), "delta": to_json(symbolic.simplify(b - a))}

    return {
        "old": old_name, "new": new_name, "batch_size": new.batch, "dtype": new.dtype,
        "layers_changed": comparison.counts(),
        "totals": {
            "params": pair(old.model.total_params, new.model.total_params),
            "trainable_params": pair(old.model.trainable_params, new.model.trainable_params),
            "macs": pair(old.total.macs, new.total.macs),
            "activation_bytes": pair(old.memory(old.batch).activations, new.memory(new.batch).activations),
            "training_bytes": pair(old.memory(old.train_batch).training, new.memory(new.train_batch).training),
            "receptive_field": {"old": _rf_total(old), "new": _rf_total(new)},
            "input_shape": {"old": to_json(old.graph.input_shape), "new": to_json(new.graph.input_shape)},
            "output_shape": {"old": to_json(old.graph.output_shape), "new": to_json(new.graph.output_shape)},
        },
        "nodes": [{"path": e.path, "change": e.status or "unchanged", "kind": e.kind, "depth": e.depth,
                   "details": e.details, **{m: pair(*e.values[m]) for m in MEASURES},
                   "receptive_field": {"old": e.rf[0] or None, "new": e.rf[1] or None}}
                  for e in comparison.entries if e.moved],
    }
