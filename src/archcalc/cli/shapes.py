"""``archcalc shapes SPEC``: every layer's input and output shape, with ``--explain`` formulas."""

from __future__ import annotations

import click

from archcalc.analysis import Analysis
from archcalc.calc.shapes import explain_shape, explained
from archcalc.cli.common import free_note, handle_errors, load_model, report_format_option, spec_options, terminal
from archcalc.layers.base import shape_text
from archcalc.model import Model
from archcalc.notation import math_shape
from archcalc.report import Report, emit
from archcalc.report.columns import columns_option, node_rows, table_columns
from archcalc.symbolic import to_json

DEFAULT = ("kind", "in", "shape")


@click.command()
@spec_options
@report_format_option()
@click.option("--explain", is_flag=True, help="Show how each shape comes about: ⌊(H+2P−F)/S⌋+1 with symbols, "
              "then numbers, for layers; channel sums for concats; both sides for residuals.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Fold blocks deeper than this.")
@columns_option(DEFAULT)
@handle_errors
def shapes(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, explain: bool,
           depth: int | None, columns: tuple[str, ...] | None) -> None:
    """Show the output shape of every layer of SPEC (channels first, batch excluded)."""
    model = load_model(spec, sets, symbolic, limits)
    emit(shapes_report(model, depth, explain, columns or DEFAULT, fmt), fmt, terminal())


def shapes_report(model: Model, depth: int | None = None, explain: bool = False,
                  columns: tuple[str, ...] = DEFAULT, fmt: str = "table") -> Report:
    """The report for ``fmt`` (in CSV, ``--explain`` changes nothing: the formulas are in the text
    formats and JSON)."""
    raw = fmt == "csv"
    analysis = Analysis(model)
    report = Report(f"{model.name}: shapes", table_columns(columns, analysis),
                    node_rows(analysis, columns, depth, raw))
    report.footer = [("Input", shape_text(model.input_shape)), ("Output", shape_text(model.output_shape))]
    layers = []
    for node, level in model.graph.walk():
        row = {"path": node.path, "kind": node.kind, "depth": level, "input_shape": to_json(node.in_shape),
               "output_shape": to_json(node.out_shape)}
        if explain and (formulas := explain_shape(node)):
            row["formulas"] = formulas
        layers.append(row)
    report.data = {"model": model.name, "input_shape": to_json(model.input_shape),
                   "output_shape": to_json(model.output_shape), "free_symbols": model.graph.free, "layers": layers}
    if model.graph.free:
        from archcalc.calc.tiling import tilings

        report.notes.append(free_note(model.graph, "sizes"))
        report.data["minimums"] = {name: least for name, (least, _, _) in model.graph.minimums.items()}
        report.data["maximums"] = {name: most for name, (most, _, _) in model.graph.maximums.items()}
        found = tilings(model.graph)
        report.notes += [tiling.sentence() for tiling in found]
        report.data["tilings"] = [tiling.to_json() for tiling in found]
    if explain and not raw:
        report.text = []
        for node, lines in explained(model.graph):
            report.text.append(f"{node.path}  {node.kind}  {math_shape(node.in_shape)} → {math_shape(node.out_shape)}")
            report.text.extend(f"    {line}" for line in lines)
        report.rows, report.columns = [], []
        report.title = f"{model.name}: shapes, derived"
    return report
