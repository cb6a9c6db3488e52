"""``archcalc summary SPEC``: the one-screen report (shapes, params, MACs, RF, totals, memory)."""

from __future__ import annotations

import click

from archcalc import symbolic
from archcalc.analysis import Analysis
from archcalc.calc.flops import CONVENTION, conventions
from archcalc.calc.memory import DTYPES, Memory, scaled
from archcalc.calc.memory import nbytes as size
from archcalc.cli.common import free_note, handle_errors, load_model, report_format_option, spec_options, terminal
from archcalc.graph import LayerNode
from archcalc.layers.base import VARIES, Work, shape_text
from archcalc.report import Report, emit
from archcalc.report.columns import columns_option, frozen_default, human, node_rows, pair, table_columns
from archcalc.symbolic import fmt, to_json

DEFAULT = ("kind", "shape", "params", "share", "macs", "rf")


@click.command()
@spec_options
@report_format_option()
@click.option("--batch-size", "batch", type=click.IntRange(min=1), default=None,
              help="Examples per pass [default: 1; the training estimate uses the spec's train.batch_size].")
@click.option("--dtype", type=click.Choice(tuple(DTYPES)), default="fp32", show_default=True,
              help="Storage type of parameters and activations, for the memory figures.")
@click.option("--depth", type=click.IntRange(min=1), default=None,
              help="Fold blocks deeper than this (folded rows show the block's totals); a large N shows all "
              "[default: 2; every node in csv].")
@columns_option(DEFAULT)
@handle_errors
def summary(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, batch: int | None, dtype: str,
            depth: int | None, columns: tuple[str, ...] | None) -> None:
    """Summarise SPEC on one screen: every layer's output shape, parameters, MACs and receptive
    field, then the totals and the memory a forward pass and a training step need."""
    analysis = Analysis(load_model(spec, sets, symbolic, limits), batch or 1, dtype, train_batch=batch)
    for warning in analysis.warnings:
        click.echo(warning.render(), err=True)
    if depth is None and fmt != "csv":
        depth = 2
    emit(summary_report(analysis, depth, columns or frozen_default(DEFAULT, analysis.model), fmt), fmt, terminal())


def summary_report(analysis: Analysis, depth: int | None = 2, columns: tuple[str, ...] = DEFAULT,
                   fmt: str = "json") -> Report:
    """The report, with what ``fmt`` shows: the JSON payload (which costs more than the table), or
    each row's exact values for CSV."""
    model, graph, total = analysis.model, analysis.graph, analysis.total
    at = analysis.final
    field = analysis.fields[at]
    forward, training = analysis.memory(analysis.batch), analysis.memory(analysis.train_batch)
    report = Report(f"{model.name}: summary (batch {analysis.batch}, {analysis.dtype})",
                    table_columns(columns, analysis), node_rows(analysis, columns, depth, raw=fmt == "csv"))
    elementwise = sum(total[1:])
    params = model.total_params
    by_dtype = [("Params size by dtype", " · ".join(f"{name} {scaled(params * n)}" for name, n in
                                                    (("fp32", 4), ("fp16/bf16", 2), ("int8", 1))))] \
        if isinstance(params, int) else []
    report.footer = [
        ("Total params", human(model.total_params)),
        ("Trainable params", human(model.trainable_params)),
        ("Non-trainable params", human(model.non_trainable_params)),
        ("Buffers", human(model.buffers)),
        ("MACs", human(total.macs)),
        ("FLOPs (2 × MACs)", human(2 * total.macs)),
        ("Element-wise ops", human(elementwise)),
        ("Receptive field", _rf_text(field, at, bool(analysis.rf_axes), analysis.warnings)),
        ("Input → output", f"{shape_text(graph.input_shape)} → {shape_text(graph.output_shape)}"),
        (f"Params size ({analysis.dtype})", size(forward.params)),
        *by_dtype,
        ("Forward activations", size(forward.activations)),
        ("Inference total", size(forward.inference)),
        *_kv_line(forward, graph),
        *_training_lines(training),
    ]
    report.notes.extend(conventions(graph))
    source = f" ({analysis.train_source})" if analysis.train_source else ""
    per = "" if symbolic.equal(model.non_trainable_params, 0) else "trainable "
    if training.saved is not None:
        report.notes.append(f"Memory in {analysis.dtype}: every tensor a forward pass creates, counted once. The "
                            f"training step at batch {training.batch}{source} holds the weights, a gradient per "
                            f"{per}parameter, the optimizer's state ({training.optimizer_text}) and what autograd "
                            "saves for backward, as `archcalc plan --precision fp32 --reserve 0` counts them "
                            "(docs/plan.md)")
    else:
        report.notes.append(f"Memory in {analysis.dtype}: every tensor a forward pass creates, counted once. The "
                            f"training step at batch {training.batch}{source} adds a gradient per {per}parameter "
                            f"and the optimizer's state: {training.optimizer_text} (docs/analysis.md)")
    if analysis.warned:
        report.notes.append("* paths join here without a common receptive field: see the warnings")
    if graph.free:
        report.notes.append(free_note(graph, "values"))
    if fmt == "json":
        report.data = _json(analysis, forward, training, elementwise, at)
    return report


def _rf_text(field, at, spatial: bool, warnings=()) -> str:
    """``427 × 427 at layer4 (jump 32, padding 213)``; one number per axis only when they differ. A
    field that varies says where paths of different fields first join, which is why."""
    if not spatial:
        return "none: the input has no positional axes"
    if field.status == VARIES:
        join = next((w.node.path for w in warnings if w.code == "rf-varies"), None)
        if join:
            return f"varies at {at.path}: {join} joins paths of different fields"
        return f"varies at {at.path}: its windows differ across the output"
    if not field.local:
        return f"{field.status} at {at.path}"
    sizes = " × ".join(fmt(v) for v in field.size)
    return f"{sizes} at {at.path} (jump {pair(field.stride)}, padding {pair(field.padding)})"


def _kv_line(m: Memory, graph) -> list[tuple[str, str]]:
    """The KV cache a decoder keeps, at the spec's sequence length (set it with --set T=…) and the batch."""
    if symbolic.is_int(m.kv_cache) and m.kv_cache == 0:
        return []
    length = graph.input_shape[0]
    return [(f"KV cache ({fmt(length)} positions, batch {m.batch})", size(m.kv_cache))]


def _training_lines(m: Memory) -> list[tuple[str, str]]:
    return [(f"Training step, batch {m.batch}", size(m.training)),
            ("  weights and buffers", size(m.params + m.buffers)),
            ("  gradients", size(m.gradients)),
            ("  optimizer state", size(m.optimizer)),
            *([("  saved activations", size(m.saved)), ("  temporary (bound)", size(m.temporary))]
              if m.saved is not None else [("  saved activations", size(m.activations)),
                                           ("  input batch", size(m.input))])]


def _training_json(m: Memory) -> dict:
    return {"batch_size": m.batch, "params": to_json(m.params), "buffers": to_json(m.buffers),
            "input": to_json(m.input), "activations": to_json(m.activations if m.saved is None else m.saved),
            "temporary": to_json(m.temporary), "gradients": to_json(m.gradients),
            "optimizer_state": to_json(m.optimizer), "optimizer": m.optimizer_text,
            "optimizer_slots": m.optimizer_slots, "training_total": to_json(m.training)}


def _json(analysis: Analysis, forward: Memory, training: Memory, elementwise: object, at) -> dict:
    model, graph, total = analysis.model, analysis.graph, analysis.total
    layers, blocks = [], []
    for node, level in graph.walk():
        w = analysis.work[node].times(analysis.batch)
        count = model.counts[node]
        row = {"path": node.path, "kind": node.kind, "depth": level, "output_shape": to_json(node.out_shape),
               "params": to_json(symbolic.total(count.params)), "frozen": to_json(count.frozen),
               "buffers": to_json(count.buffers), "macs": to_json(w.macs),
               "flops": to_json(2 * w.macs), "elementwise": {k: to_json(getattr(w, k)) for k in Work._fields[1:]},
               "receptive_field": analysis.fields[node].to_json(),
               "activation_bytes": to_json(analysis.activations[node] * analysis.batch * DTYPES[analysis.dtype])}
        (layers if isinstance(node, LayerNode) else blocks).append(row)
    return {"model": model.name, "input_shape": to_json(graph.input_shape), "output_shape": to_json(graph.output_shape),
            "batch_size": analysis.batch, "dtype": analysis.dtype, "free_symbols": graph.free,
            "total_params": to_json(model.total_params), "trainable_params": to_json(model.trainable_params),
            "non_trainable_params": to_json(model.non_trainable_params),
            "buffers": to_json(model.buffers), "total_macs": to_json(total.macs),
            "total_flops": to_json(2 * total.macs), "elementwise": {k: to_json(getattr(total, k))
                                                                    for k in Work._fields[1:]},
            "total_elementwise": to_json(elementwise), "convention": CONVENTION,
            "receptive_field": {"at": at.path, **analysis.fields[at].to_json()},
            "memory": {"dtype": analysis.dtype,
                       "params_bytes": {name: to_json(model.total_params * n) for name, n in DTYPES.items()},
                       "buffers_bytes": to_json(forward.buffers),
                       "forward": {"batch_size": forward.batch, "input": to_json(forward.input),
                                   "activations": to_json(forward.activations),
                                   "inference_total": to_json(forward.inference),
                                   "kv_cache": to_json(forward.kv_cache)},
                       "training": _training_json(training)},
            "warnings": [w.to_json() for w in analysis.warnings],
            "layers": layers, "blocks": blocks}
