"""``archcalc flops SPEC``: MACs, FLOPs and element-wise work per layer and in total."""

from __future__ import annotations

import click

from archcalc.analysis import Analysis
from archcalc.calc.flops import CONVENTION, KINDS, conventions
from archcalc.cli.common import free_note, handle_errors, load_model, report_format_option, spec_options, terminal
from archcalc.graph import LayerNode
from archcalc.layers.base import Work
from archcalc.report import Report, emit
from archcalc.report.columns import columns_option, human, node_rows, table_columns
from archcalc.symbolic import to_json

DEFAULT = ("macs", "flops", "bias", "norm", "act", "pool", "add")


def batch_option(fn):
    return click.option("--batch-size", "batch", type=click.IntRange(min=1), default=1, show_default=True,
                        help="Examples per forward pass; every count scales with it.")(fn)


@click.command()
@spec_options
@report_format_option()
@batch_option
@click.option("--depth", type=click.IntRange(min=1), default=None, help="Fold blocks deeper than this.")
@columns_option(DEFAULT, "; element-wise columns that are zero everywhere are left out")
@handle_errors
def flops(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, batch: int, depth: int | None,
          columns: tuple[str, ...] | None) -> None:
    """Count the MACs and FLOPs of one forward pass of SPEC, per layer and in total.

    MACs are the multiply-accumulates of convolutions and linear layers, the convention of
    torchvision's published GFLOPS; FLOPs = 2 × MACs. Bias additions, batch norm, activations,
    pooling and residual additions are counted in columns of their own, one operation per element.
    """
    model = load_model(spec, sets, symbolic, limits)
    emit(flops_report(Analysis(model, batch), depth, columns, fmt), fmt, terminal())


def flops_report(analysis: Analysis, depth: int | None = None, columns: tuple[str, ...] | None = None,
                 fmt: str = "json") -> Report:
    """The report, with what ``fmt`` shows: the JSON payload, or each row's exact values for CSV."""
    total = analysis.total
    if columns is None:
        columns = tuple(k for k in DEFAULT if k in ("macs", "flops") or getattr(total, k) != 0)
    model, graph = analysis.model, analysis.graph
    report = Report(f"{model.name}: MACs and FLOPs (batch {analysis.batch})", table_columns(columns, analysis),
                    node_rows(analysis, columns, depth, raw=fmt == "csv"))
    report.footer = [(KINDS["macs"][0], human(total.macs)), ("FLOPs (2 × MACs)", human(2 * total.macs))]
    report.footer += [(KINDS[k][1].capitalize(), human(getattr(total, k))) for k in Work._fields[1:]]
    report.footer.append(("Batch size", str(analysis.batch)))
    report.notes.extend(conventions(graph))
    if graph.free:
        report.notes.append(free_note(graph, "counts"))
    if fmt == "json":
        report.data = _json(analysis)
    return report


def _json(analysis: Analysis) -> dict:
    graph, total = analysis.graph, analysis.total
    layers, blocks = [], []
    for node, level in graph.walk():
        w = analysis.work[node].times(analysis.batch)
        row = {"path": node.path, "kind": node.kind, "depth": level, "output_shape": to_json(node.out_shape),
               "macs": to_json(w.macs), "flops": to_json(2 * w.macs),
               **{k: to_json(getattr(w, k)) for k in Work._fields[1:]}}
        (layers if isinstance(node, LayerNode) else blocks).append(row)
    return {"model": analysis.model.name, "batch_size": analysis.batch, "convention": CONVENTION,
            "total_macs": to_json(total.macs), "total_flops": to_json(2 * total.macs),
            "elementwise": {k: to_json(getattr(total, k)) for k in Work._fields[1:]},
            "free_symbols": graph.free, "layers": layers, "blocks": blocks}
