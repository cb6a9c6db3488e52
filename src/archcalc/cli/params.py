"""``archcalc params SPEC``: parameters per layer and in total, with ``--explain`` derivations."""

from __future__ import annotations

import click

from archcalc import symbolic
from archcalc.calc.params import explain_params, total_derivation
from archcalc.cli.common import format_option, handle_errors, load_model, spec_options, terminal
from archcalc.graph import Node
from archcalc.layers.base import shape_text
from archcalc.model import Model
from archcalc.report import Column, Report, emit
from archcalc.report.rows import graph_rows


@click.command()
@spec_options
@format_option("table", "json", "markdown")
@click.option("--explain", is_flag=True, help="Show each layer's formula: symbols, then numbers.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Fold blocks deeper than this.")
@handle_errors
def params(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, explain: bool,
           depth: int | None) -> None:
    """Count the parameters of SPEC: per layer, per block and in total.

    Buffers (BatchNorm's running statistics) are counted apart, as PyTorch does; torchvision's
    published counts are the trainable parameters.
    """
    model = load_model(spec, sets, symbolic, limits)
    emit(params_report(model, depth, explain), fmt, terminal())


def params_report(model: Model, depth: int | None = None, explain: bool = False) -> Report:
    counts = model.counts
    total = counts[model.graph.root].trainable

    def cells(node: Node) -> dict[str, str]:
        count = counts[node]
        share = ""
        if symbolic.is_int(count.trainable) and symbolic.is_int(total) and total and count.trainable:
            share = f"{100 * count.trainable / total:.2f}%"
        return {"kind": node.kind, "shape": shape_text(node.out_shape), "params": _count(count.trainable),
                "share": share, "buffers": _count(count.buffers)}

    columns = [Column("layer", "Layer"), Column("kind", "Kind"), Column("shape", "Output shape"),
               Column("params", "Params", True), Column("share", "%", True), Column("buffers", "Buffers", True)]
    report = Report(f"{model.name}: parameters", columns, graph_rows(model.graph, cells, depth))
    report.footer = [("Trainable params", symbolic.fmt(model.trainable_params, commas=True)),
                     ("Non-trainable params", "0"),
                     ("Total params", symbolic.fmt(model.total_params, commas=True)),
                     ("Buffers", symbolic.fmt(model.buffers, commas=True)),
                     ("Input", shape_text(model.input_shape)),
                     ("Output", shape_text(model.output_shape))]
    report.data = model.to_dict()
    if model.graph.free:
        report.notes.append(f"{', '.join(model.graph.free)} free: counts are formulas (fix them with --set)")
    if explain:
        lines = explain_params(model.graph)
        width = max((len(node.path) for node, _ in lines), default=0)
        report.text = [f"{node.path:<{width}}  {node.kind:<11} {d}" for node, d in lines]
        report.text.append(f"{'total':<{width}}  {'':<11} {total_derivation([d.value for _, d in lines], total)}")
        formulas = {node.path: str(d) for node, d in lines}
        for row in report.data["layers"]:
            if row["path"] in formulas:
                row["formula"] = formulas[row["path"]]
        report.rows, report.footer = [], []
        report.columns = []
        report.title = f"{model.name}: parameters, derived"
    return report


def _count(value: object) -> str:
    return "–" if value == 0 else symbolic.fmt(value, commas=True)
