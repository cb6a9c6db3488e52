"""The columns a per-node analysis table can show, by key, and the ``--columns`` option that picks them.

Each column turns one node of an :class:`~archcalc.analysis.Analysis` into a cell, and into
the exact values of its CSV column(s). Every per-node command (``params``, ``shapes``, ``flops``,
``rf``, ``summary``) takes its columns from this catalogue, so ``--columns`` and the CSV headers
mean the same everywhere and a new column is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from archcalc import symbolic
from archcalc.analysis import Analysis

if TYPE_CHECKING:
    from archcalc.calc.rf import Field
from archcalc.errors import did_you_mean
from archcalc.graph import Node
from archcalc.layers.base import shape_text
from archcalc.report import Column, Row
from archcalc.report.rows import graph_rows
from archcalc.report.table import si


def count(value: object) -> str:
    """``1,234`` with thousands separators; ``–`` for zero (nothing to count)."""
    return "–" if value == 0 else symbolic.fmt(value, commas=True)


def human(value: object, unit: str = "") -> str:
    """``4,089,184,256 (4.09 G)``: the exact count, then three significant digits (10³ steps)."""
    text = symbolic.fmt(value, commas=True)
    if not symbolic.is_int(value) or abs(value) < 1000:
        return text
    return f"{text} ({si(value, ' ')}{unit})"


def pair(values: tuple[object, ...]) -> str:
    """``212`` when every axis agrees, else one value per axis, ``h×w`` (``7×5``)."""
    texts = [symbolic.fmt(v) for v in values]
    return texts[0] if len(set(texts)) == 1 else "×".join(texts)


def _bytes(dtype: str) -> int:
    from archcalc.calc.memory import DTYPES

    return DTYPES[dtype]


def field_cell(f: Field, part: str) -> str:
    """One part (size, stride, padding, center) of a field; for a field that is not local, the size
    says what it is instead (``global``, ``varies``) and the other parts are empty."""
    if f.local:
        return pair(getattr(f, part))
    return f.status if part == "size" and f.status != "none" else "–"


@dataclass(frozen=True, slots=True)
class NodeColumn:
    """A column: its ``title`` and ``cell`` text for people, its ``csv`` header(s) and ``raw`` exact
    values (no separators, no units, ``0`` not ``–``) for scripts, and ``keep``: which columns a
    narrow terminal drops first (the lowest)."""

    title: str
    numeric: bool
    cell: Callable[[Analysis, Node], str]
    help: str
    csv: tuple[str, ...]
    raw: Callable[[Analysis, Node], tuple]
    keep: int


def _per_batch(value: Callable[[Analysis, Node], object]) -> tuple[Callable, Callable]:
    """A count that scales with the batch: its cell (``1,234``, ``–`` for none) and its raw value."""
    def raw(a: Analysis, n: Node) -> tuple:
        return (value(a, n) * a.batch,)

    return (lambda a, n: count(raw(a, n)[0])), raw


def _work(part: str) -> tuple[Callable, Callable]:
    return _per_batch(lambda a, n: getattr(a.work[n], part))


def _param(part: str) -> tuple[Callable, Callable]:
    def value(a: Analysis, n: Node) -> object:
        return symbolic.total(getattr(a.model.counts[n], part))

    return (lambda a, n: count(value(a, n))), (lambda a, n: (value(a, n),))


def _rf(part: str) -> tuple[Callable, Callable]:
    def cell(a: Analysis, n: Node) -> str:
        text = field_cell(a.fields[n], part)
        return f"{text}*" if part == "size" and n in a.warned else text

    def raw(a: Analysis, n: Node) -> tuple:
        f = a.fields[n]
        values = tuple(getattr(f, part)) if f.local else (None,) * len(a.rf_axes)
        return (f.status, *values) if part == "size" else values

    return cell, raw


def _percent(a: Analysis, n: Node) -> float | None:
    part, total = symbolic.total(a.model.counts[n].params), a.model.total_params
    if symbolic.is_int(part) and symbolic.is_int(total) and total:
        return 100 * part / total
    return None


def _share(a: Analysis, n: Node) -> str:
    share = _percent(a, n)
    return f"{share:.2f}%" if share else ""


def _shape(attr: str) -> tuple[Callable, Callable]:
    return (lambda a, n: shape_text(getattr(n, attr))), (lambda a, n: (shape_text(getattr(n, attr)),))


def _column(title: str, numeric: bool, parts: tuple[Callable, Callable], help: str, csv: str | tuple[str, ...],
            keep: int) -> NodeColumn:
    return NodeColumn(title, numeric, parts[0], help, (csv,) if isinstance(csv, str) else csv, parts[1], keep)


def _xy(name: str) -> tuple[str]:
    """One CSV column per positional axis of the input (``rf_h``, ``rf_w`` for an image): a template."""
    return (f"{name}_{{axis}}",)


COLUMNS: dict[str, NodeColumn] = {
    "kind": _column("Kind", False, (lambda a, n: n.kind, lambda a, n: (n.kind,)),
                    "layer kind, or block:NAME / group / residual", "kind", 4),
    "in": _column("Input shape", False, _shape("in_shape"), "input shape (batch excluded)", "input_shape", 5),
    "shape": _column("Output shape", False, _shape("out_shape"), "output shape (batch excluded)", "output_shape", 8),
    "params": _column("Params", True, _param("params"), "parameters, trainable and frozen (torch's parameters())",
                      "params", 9),
    "frozen": _column("Frozen", True, _param("frozen"), "frozen parameters (trainable: false): torchinfo's "
                      "non-trainable", "frozen_params", 8),
    "share": _column("%", True, (_share, lambda a, n: (_percent(a, n),)), "share of all parameters",
                     "params_percent", 3),
    "buffers": _column("Buffers", True, _param("buffers"), "buffers (running stats)", "buffers", 2),
    "macs": _column("MACs", True, _work("macs"), "multiply-accumulates of conv and linear layers", "macs", 9),
    "flops": _column("FLOPs", True, _per_batch(lambda a, n: 2 * a.work[n].macs), "2 × MACs", "flops", 6),
    "bias": _column("Bias", True, _work("bias"), "bias additions", "bias", 1),
    "norm": _column("Norm", True, _work("norm"), "normalised elements (every norm layer)", "norm", 1),
    "act": _column("Act", True, _work("act"), "activation evaluations", "act", 1),
    "pool": _column("Pool", True, _work("pool"), "elements read by pooling windows", "pool", 1),
    "add": _column("Add", True, _work("add"), "residual additions", "add", 1),
    "rf": _column("RF", True, _rf("size"), "receptive field size on the input (h×w when the axes differ)",
                  ("rf_status", *_xy("rf")), 9),
    "jump": _column("Jump", True, _rf("stride"), "effective stride of the receptive field", _xy("jump"), 6),
    "padding": _column("Padding", True, _rf("padding"), "effective padding: output 0's field starts there",
                       _xy("padding"), 5),
    "center": _column("Centre", True, _rf("center"), "centre of output 0's field on the input", _xy("center"), 3),
    "mem": _column("Activations (B)", True, _per_batch(lambda a, n: a.activations[n] * _bytes(a.dtype)),
                   "bytes of the new tensors of a forward pass", "activation_bytes", 5),
}


def columns_option(default: tuple[str, ...], note: str = "") -> Callable:
    """``--columns kind,shape,params``: which columns follow the layer tree, in order (``None`` when
    not given, so a command can choose its default from the model)."""
    def parse(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[str, ...] | None:
        if value is None:
            return None
        keys = tuple(filter(None, (k.strip() for k in value.split(","))))
        for key in keys:
            if key not in COLUMNS:
                hint = did_you_mean(key, COLUMNS) or f"choose from {', '.join(COLUMNS)}"
                raise click.BadParameter(f"unknown column '{key}': {hint}", ctx, param)
        twice = next((key for i, key in enumerate(keys) if key in keys[:i]), None)
        if twice:
            raise click.BadParameter(f"column '{twice}' is named twice", ctx, param)
        return keys or None

    return click.option("--columns", callback=parse, metavar="KEY,…",
                        help=f"Columns after the layer tree, in order (default {','.join(default)}{note}). "
                        f"Keys: {', '.join(COLUMNS)}.")


def frozen_default(keys: tuple[str, ...], model) -> tuple[str, ...]:
    """A command's default columns, with ``frozen`` after ``params`` when the model has frozen parameters (a
    model without any shows the same table as before there were any)."""
    if "params" not in keys or "frozen" in keys or symbolic.equal(model.non_trainable_params, 0):
        return keys
    at = keys.index("params") + 1
    return (*keys[:at], "frozen", *keys[at:])


def table_columns(keys: tuple[str, ...], analysis: Analysis) -> list[Column]:
    return [Column("layer", "Layer"),
            *(Column(k, COLUMNS[k].title, COLUMNS[k].numeric, csv_headers(COLUMNS[k], analysis), COLUMNS[k].keep)
              for k in keys)]


def csv_headers(column: NodeColumn, analysis: Analysis) -> tuple[str, ...]:
    """The column's CSV headers, a per-axis template expanded for the model's positional axes."""
    out: list[str] = []
    for header in column.csv:
        if "{axis}" in header:
            out += [header.format(axis=name.lower().replace(" ", "")) for name in analysis.rf_axes]
        else:
            out.append(header)
    return tuple(out)


def node_rows(analysis: Analysis, keys: tuple[str, ...], depth: int | None = None, raw: bool = False) -> list[Row]:
    """The tree rows with the ``keys`` columns; with ``raw`` (for ``--format csv``) each row's exact
    values too, which a table does not pay for."""
    def cells(node: Node) -> dict[str, str]:
        return {k: COLUMNS[k].cell(analysis, node) for k in keys}

    headers = {k: csv_headers(COLUMNS[k], analysis) for k in keys}

    def values(node: Node) -> dict[str, object]:
        return {name: value for k in keys for name, value in zip(headers[k], COLUMNS[k].raw(analysis, node))}

    return graph_rows(analysis.graph, cells, depth, values if raw else None)
