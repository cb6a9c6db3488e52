"""``archcalc params SPEC``: parameters per layer and in total, with ``--explain`` derivations."""

from __future__ import annotations

import click

from archcalc import symbolic
from archcalc.analysis import Analysis
from archcalc.calc.params import explain_params, total_derivation
from archcalc.cli.common import free_note, handle_errors, load_model, report_format_option, spec_options, terminal
from archcalc.layers.base import shape_text
from archcalc.model import Model
from archcalc.notation import math_text
from archcalc.report import Column, Report, emit
from archcalc.report.columns import columns_option, frozen_default, node_rows, table_columns

DEFAULT = ("kind", "shape", "params", "share", "buffers")


@click.command()
@spec_options
@report_format_option()
@click.option("--explain", is_flag=True, help="Show each layer's formula: symbols, then numbers.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Fold blocks deeper than this.")
@columns_option(DEFAULT)
@handle_errors
def params(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, explain: bool,
           depth: int | None, columns: tuple[str, ...] | None) -> None:
    """Count the parameters of SPEC: per layer, per block and in total.

    Buffers (BatchNorm's running statistics) are counted apart, as PyTorch does; torchvision's
    published counts are the parameters. Parameters under trainable: false are frozen: counted in
    the total and as non-trainable, as torchinfo counts requires_grad=False.
    """
    model = load_model(spec, sets, symbolic, limits)
    emit(params_report(model, depth, explain, columns or frozen_default(DEFAULT, model), fmt), fmt, terminal())


def params_report(model: Model, depth: int | None = None, explain: bool = False,
                  columns: tuple[str, ...] = DEFAULT, fmt: str = "table") -> Report:
    """The report for ``fmt``: in CSV, ``--explain`` adds a ``formula`` column instead of the
    derivation text."""
    raw, analysis = fmt == "csv", Analysis(model)
    report = Report(f"{model.name}: parameters", table_columns(columns, analysis),
                    node_rows(analysis, columns, depth, raw))
    report.footer = [("Trainable params", symbolic.fmt(model.trainable_params, commas=True)),
                     ("Non-trainable params", symbolic.fmt(model.non_trainable_params, commas=True)),
                     ("Total params", symbolic.fmt(model.total_params, commas=True)),
                     ("Buffers", symbolic.fmt(model.buffers, commas=True)),
                     ("Input", shape_text(model.input_shape)),
                     ("Output", shape_text(model.output_shape))]
    if fmt == "json":  # the payload only JSON shows (the other formats need not build it)
        report.data = model.to_dict()
    if model.graph.free:
        report.notes.append(free_note(model.graph, "counts"))
    if explain:
        lines = explain_params(model.graph)
        formulas = {node.path: str(d) for node, d in lines}
        for row in report.data.get("layers", ()):
            if row["path"] in formulas:
                row["formula"] = formulas[row["path"]]
        if raw:
            report.columns.append(Column("formula", "Formula", csv=("formula",)))
            for row in report.rows:
                row.values["formula"] = formulas.get(row.cells["path"])
            return report
        report.text, report.hang = derivation_lines(lines, model.total_params)
        report.rows, report.footer, report.columns = [], [], []
        report.title = f"{model.name}: parameters, derived"
    return report


def derivation_lines(lines: list, total: object) -> tuple[list[str], int]:
    """``path  kind  derivation`` per layer, then the total, its sum starting where theirs do; and
    that column (where a wrapped derivation continues)."""
    frozen = [d.value for node, d in lines if node.frozen]
    labels = ["total", *(["frozen", "trainable"] if frozen else [])]
    path_width = max([*map(len, labels), *(len(node.path) for node, _ in lines)])
    kind_width = max((len(node.kind) for node, _ in lines), default=0)
    text = [f"{node.path:<{path_width}}  {node.kind:<{kind_width}}  {d}{'  (frozen)' if node.frozen else ''}"
            for node, d in lines]
    text.append(f"{'total':<{path_width}}  {'':<{kind_width}}  {total_derivation([d.value for _, d in lines], total)}")
    if frozen:  # torchinfo's non-trainable params: the layers under trainable: false
        held = symbolic.total(symbolic.add(frozen))
        text.append(f"{'frozen':<{path_width}}  {'':<{kind_width}}  {total_derivation(frozen, held)}")
        minus = math_text(held) if symbolic.is_int(held) else f"({math_text(held)})"  # a sum subtracted whole
        text.append(f"{'trainable':<{path_width}}  {'':<{kind_width}}  {math_text(total)} − {minus} = "
                    f"{math_text(symbolic.simplify(total - held))}")
    return text, path_width + kind_width + 4
