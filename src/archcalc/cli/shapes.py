"""``archcalc shapes SPEC``: every layer's input and output shape, with ``--explain`` formulas."""

from __future__ import annotations

import click

from archcalc.cli.common import format_option, handle_errors, load_model, spec_options, terminal
from archcalc.graph import LayerNode, Node
from archcalc.layers.base import shape_text
from archcalc.model import Model
from archcalc.report import Column, Report, emit
from archcalc.report.rows import graph_rows
from archcalc.symbolic import to_json


@click.command()
@spec_options
@format_option("table", "json", "markdown")
@click.option("--explain", is_flag=True, help="Show each size formula: ⌊(H+2P−F)/S⌋+1 with symbols, then numbers.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Fold blocks deeper than this.")
@handle_errors
def shapes(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, explain: bool,
           depth: int | None) -> None:
    """Show the output shape of every layer of SPEC (channels first, batch excluded)."""
    model = load_model(spec, sets, symbolic, limits)
    emit(shapes_report(model, depth, explain), fmt, terminal())


def shapes_report(model: Model, depth: int | None = None, explain: bool = False) -> Report:
    def cells(node: Node) -> dict[str, str]:
        return {"kind": node.kind, "in": shape_text(node.in_shape), "out": shape_text(node.out_shape)}

    columns = [Column("layer", "Layer"), Column("kind", "Kind"), Column("in", "Input shape"),
               Column("out", "Output shape")]
    report = Report(f"{model.name}: shapes", columns, graph_rows(model.graph, cells, depth))
    report.footer = [("Input", shape_text(model.input_shape)), ("Output", shape_text(model.output_shape))]
    layers = []
    for node, level in model.graph.walk():
        row = {"path": node.path, "kind": node.kind, "depth": level, "input_shape": to_json(node.in_shape),
               "output_shape": to_json(node.out_shape)}
        if explain and isinstance(node, LayerNode):
            row["formulas"] = [str(d) for d in node.layer.explain_shape(node.in_shape)]
        layers.append(row)
    report.data = {"model": model.name, "input_shape": to_json(model.input_shape),
                   "output_shape": to_json(model.output_shape), "free_symbols": model.graph.free, "layers": layers}
    if model.graph.free:
        from archcalc.calc.tiling import tilings

        report.notes.append(f"{', '.join(model.graph.free)} free: sizes are formulas (fix them with --set)")
        found = tilings(model.graph)
        report.notes += [tiling.sentence() for tiling in found]
        report.data["tilings"] = [tiling.to_json() for tiling in found]
    if explain:
        report.text = []
        for node in model.graph.layers():
            report.text.append(f"{node.path}  {node.kind}  {shape_text(node.in_shape)} → {shape_text(node.out_shape)}")
            report.text.extend(f"    {d}" for d in node.layer.explain_shape(node.in_shape))
        report.rows, report.columns = [], []
        report.title = f"{model.name}: shapes, derived"
    return report
