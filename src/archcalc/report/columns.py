"""The columns a per-node analysis table can show, by key, and the ``--columns`` option that picks them.

Each column turns one node of an :class:`~archcalc.calc.analysis.Analysis` into a cell. The
``flops``, ``rf`` and ``summary`` commands share this catalogue, so ``--columns`` means the same
everywhere and a new column is one entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import click

from archcalc import symbolic
from archcalc.calc.analysis import Analysis
from archcalc.calc.memory import DTYPES
from archcalc.calc.rf import Field
from archcalc.errors import did_you_mean
from archcalc.graph import Node
from archcalc.layers.base import shape_text
from archcalc.report import Column
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


def pair(values: tuple[object, object]) -> str:
    """``212`` when both axes agree, else ``h×w`` (``7×5``)."""
    h, w = (symbolic.fmt(v) for v in values)
    return h if h == w else f"{h}×{w}"


def field_cell(f: Field, part: str) -> str:
    """One part (size, stride, padding, center) of a field; for a field that is not local, the size
    says what it is instead (``global``, ``varies``) and the other parts are empty."""
    if f.local:
        return pair(getattr(f, part))
    return f.status if part == "size" and f.status != "none" else "–"


@dataclass(frozen=True, slots=True)
class NodeColumn:
    title: str
    numeric: bool
    cell: Callable[[Analysis, Node], str]
    help: str


def _work(part: str) -> Callable[[Analysis, Node], str]:
    return lambda a, n: count(getattr(a.work[n], part) * a.batch)


def _rf(part: str) -> Callable[[Analysis, Node], str]:
    def cell(a: Analysis, n: Node) -> str:
        text = field_cell(a.fields[n], part)
        return f"{text}*" if part == "size" and n in a.warned else text

    return cell


def _share(a: Analysis, n: Node) -> str:
    part, total = a.model.counts[n].trainable, a.model.trainable_params
    if symbolic.is_int(part) and symbolic.is_int(total) and total and part:
        return f"{100 * part / total:.2f}%"
    return ""


COLUMNS: dict[str, NodeColumn] = {
    "kind": NodeColumn("Kind", False, lambda a, n: n.kind, "layer kind, or block:NAME / group / residual"),
    "in": NodeColumn("Input shape", False, lambda a, n: shape_text(n.in_shape), "input shape (batch excluded)"),
    "shape": NodeColumn("Output shape", False, lambda a, n: shape_text(n.out_shape), "output shape (batch excluded)"),
    "params": NodeColumn("Params", True, lambda a, n: count(a.model.counts[n].trainable), "trainable parameters"),
    "share": NodeColumn("%", True, _share, "share of all parameters"),
    "buffers": NodeColumn("Buffers", True, lambda a, n: count(a.model.counts[n].buffers), "buffers (running stats)"),
    "macs": NodeColumn("MACs", True, _work("macs"), "multiply-accumulates of conv and linear layers"),
    "flops": NodeColumn("FLOPs", True, lambda a, n: count(2 * a.work[n].macs * a.batch), "2 × MACs"),
    "bias": NodeColumn("Bias", True, _work("bias"), "bias additions"),
    "norm": NodeColumn("Norm", True, _work("norm"), "normalised elements (batch norm)"),
    "act": NodeColumn("Act", True, _work("act"), "activation evaluations"),
    "pool": NodeColumn("Pool", True, _work("pool"), "elements read by pooling windows"),
    "add": NodeColumn("Add", True, _work("add"), "residual additions"),
    "rf": NodeColumn("RF", True, _rf("size"), "receptive field size on the input (h×w when they differ)"),
    "jump": NodeColumn("Jump", True, _rf("stride"), "effective stride of the receptive field"),
    "padding": NodeColumn("Padding", True, _rf("padding"), "effective padding: output 0's field starts there"),
    "center": NodeColumn("Centre", True, _rf("center"), "centre of output 0's field on the input"),
    "mem": NodeColumn("Activations", True, lambda a, n: count(a.activations[n] * a.batch * DTYPES[a.dtype]),
                      "bytes of the new tensors of a forward pass"),
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
        return keys or None

    return click.option("--columns", callback=parse, metavar="KEY,…",
                        help=f"Columns after the layer tree, in order (default {','.join(default)}{note}). "
                        f"Keys: {', '.join(COLUMNS)}.")


def table_columns(keys: tuple[str, ...]) -> list[Column]:
    return [Column("layer", "Layer"), *(Column(k, COLUMNS[k].title, COLUMNS[k].numeric) for k in keys)]


def cells(analysis: Analysis, keys: tuple[str, ...]) -> Callable[[Node], dict[str, str]]:
    """The ``graph_rows`` callback filling ``keys`` for each node."""
    return lambda node: {k: COLUMNS[k].cell(analysis, node) for k in keys}
