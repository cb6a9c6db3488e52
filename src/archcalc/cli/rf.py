"""``archcalc rf SPEC [--at NAME]``: the receptive field of every layer, and of one in particular."""

from __future__ import annotations

import click

from archcalc.analysis import Analysis
from archcalc.cli.common import handle_errors, load_model, report_format_option, spec_options, terminal
from archcalc.graph import Node
from archcalc.layers.base import shape_text
from archcalc.report import Report, Row, emit
from archcalc.report.columns import columns_option, field_cell, node_rows, table_columns
from archcalc.symbolic import fmt, to_json

DEFAULT = ("kind", "shape", "rf", "jump", "padding", "center")
CONVENTION = ("Theoretical receptive fields (Araujo et al., Distill 2019), per axis (h×w where they differ): output "
              "i sees input positions −padding + i·jump … −padding + i·jump + size − 1, centred on "
              "−padding + i·jump + (size − 1)/2 (zero-indexed; negative ones are padding).")


@click.command()
@spec_options
@report_format_option()
@click.option("--at", "at", metavar="NAME", help="The layer or block to report, where the rows stop (a path such "
              "as layer4 or features.pool5); default: the last top-level node before the field turns global, "
              "with every row shown.")
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Fold blocks deeper than this.")
@columns_option(DEFAULT)
@handle_errors
def rf(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, at: str | None, depth: int | None,
       columns: tuple[str, ...] | None) -> None:
    """Show the receptive field of every layer of SPEC on its input: size, effective stride (jump),
    effective padding and the centre of the first output's region.

    Paths that join (residual, concat) must agree on the stride and the centre; when they do not,
    a warning names the join and its location. A layer that mixes positions (linear after flatten,
    global pooling, attention) sees the whole input: its field is 'global'. Axes are followed
    through reshapes, so a linear layer on a [T, D] sequence has a field of 1 along T.
    """
    analysis = Analysis(load_model(spec, sets, symbolic, limits))
    node = analysis.find(at) if at else analysis.final
    for warning in analysis.warnings:
        click.echo(warning.render(), err=True)
    emit(rf_report(analysis, node, depth, columns or DEFAULT, fmt, upto=at is not None), fmt, terminal())


def rf_report(analysis: Analysis, at: Node, depth: int | None = None, columns: tuple[str, ...] = DEFAULT,
              fmt: str = "json", upto: bool = False) -> Report:
    """The report, with what ``fmt`` shows. Every format has the same rows: every node down to
    ``depth`` (the global fields after ``at`` too), or with ``upto`` (``--at`` given) the nodes up
    to ``at`` and inside it."""
    graph, f = analysis.graph, analysis.fields[at]
    rows = node_rows(analysis, columns, depth, raw=fmt == "csv")
    if upto:
        rows = _through(rows, graph, at)
    report = Report(f"{analysis.model.name}: receptive fields", table_columns(columns, analysis), rows)
    report.footer = [("At", at.path), ("Input", shape_text(graph.input_shape))]
    if f.local:
        axes = ", ".join(name.lower() for name in f.names)
        first = "[" + ", ".join("0" for _ in f.names) + "]"
        report.footer += [(f"Size {axes}", _pair(f.size)), (f"Jump (effective stride) {axes}", _pair(f.stride)),
                          (f"Effective padding {axes}", _pair(f.padding)),
                          (f"Centre of output {first}", _pair(f.center))]
    else:
        report.footer.append(("Field", field_cell(f, "size")))
    if not analysis.rf_axes:
        report.notes.append(f"the input {shape_text(graph.input_shape)} has no positional axes (no layer reads it "
                            "position by position, as a convolution reads H and W), so no layer has a field")
    else:
        report.notes.append(CONVENTION)
    if analysis.warned:
        report.notes.append("* paths join here without a common field: see the warnings")
    if fmt == "json":
        nodes = {node.path: node for node, _ in graph.walk()}
        report.data = {"model": analysis.model.name, "at": at.path, **f.to_json(),
                       "input_shape": to_json(graph.input_shape), "free_symbols": graph.free,
                       "layers": [{"path": row.cells["path"], "kind": nodes[row.cells["path"]].kind, "depth": row.depth,
                                   **analysis.fields[nodes[row.cells["path"]]].to_json()} for row in rows],
                       "warnings": [w.to_json() for w in analysis.warnings]}
    return report


def _pair(values: tuple) -> str:
    return ", ".join(fmt(v) for v in values)


def _through(rows: list[Row], graph, at: Node) -> list[Row]:
    """The rows up to ``at`` and everything inside it, in execution order, with the tree re-closed."""
    order = [node.path for node, _ in graph.walk()]
    end = order.index(at.path)
    while end + 1 < len(order) and order[end + 1].startswith(at.path + "."):
        end += 1
    keep = set(order[:end + 1])
    rows = [row for row in rows if row.cells["path"] in keep]
    following: list[int] = []  # depths of the later rows not hidden behind a shallower one (one pass, not n²)
    for row in reversed(rows):
        while following and following[-1] > row.depth:
            following.pop()
        row.last = not following or following[-1] != row.depth  # no later sibling
        following.append(row.depth)
    return rows
