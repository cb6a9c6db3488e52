"""``archcalc plan SPEC``: will a training or serving run fit, and how long will it take (docs/plan.md)."""

from __future__ import annotations

import click

from archcalc.calc.plan import GPUS, OPTIMIZER_STATE, PRECISIONS, Options, Plan, optimizer_from_spec, plan
from archcalc.calc.saved import CHECKPOINTING
from archcalc.cli.common import check_counts, handle_errors, load_model, report_format_option, spec_options, terminal
from archcalc.errors import SpecError
from archcalc.report import Column, Report, Row, emit

SUFFIXES = {"k": 10**3, "K": 10**3, "M": 10**6, "B": 10**9, "G": 10**9, "T": 10**12}


def _count(ctx: click.Context, param: click.Parameter, value: str | None) -> int | None:
    """``1T``, ``300B``, ``2.5M`` or a plain number of tokens."""
    if value is None:
        return None
    text = value.strip().replace("_", "").replace(",", "")
    scale = SUFFIXES.get(text[-1:], 1)
    try:
        number = float(text[:-1] if scale != 1 else text) * scale
    except ValueError:
        number = -1
    if not number >= 1:  # below one, NaN, or not a number
        raise click.BadParameter(f"{value!r}: give a positive number of tokens, e.g. 1T, 300B or 2.5M")
    if number > 2**62:
        raise click.BadParameter(f"{value!r}: more tokens than archcalc counts (at most 4.6e18)")
    return int(number)


def _gib(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """GiB kept back per GPU: a finite number from 0 to 1024 (a TiB; nan and inf are not sizes)."""
    if not 0 <= value <= 1024:
        raise click.BadParameter(f"{value!r}: give the GiB kept per GPU, from 0 to 1024 (1 is typical)")
    return value


def _mfu(ctx: click.Context, param: click.Parameter, value: float) -> float:
    """A share of the GPU's peak: above 0, at most 1 (nan compares false with both bounds, so it is named)."""
    if not 0 < value <= 1:
        raise click.BadParameter(f"{value!r}: give the share of the GPU's peak FLOPs reached, above 0 and at most "
                                 "1 (0.4 is typical for a large model)")
    return value


@click.command()
@spec_options
@report_format_option()
@click.option("--precision", type=click.Choice(tuple(PRECISIONS)), default="mixed-bf16", show_default=True,
              help="fp32; mixed-bf16/mixed-fp16 (16-bit compute, fp32 master weights); bf16 (pure).")
@click.option("--optimizer", type=click.Choice(sorted(OPTIMIZER_STATE)), default=None,
              help="Optimizer state to hold [default: the spec's train.optimizer, else adamw].")
@click.option("--batch", type=click.IntRange(min=1), default=None,
              help="Examples (sequences) per GPU; a micro-batch with --pp [default: train.batch_size, else 1].")
@click.option("--seq-len", type=click.IntRange(min=1), default=None,
              help="Sequence length: the value of the symbol that is the input's first axis.")
@click.option("--checkpointing", type=click.Choice(CHECKPOINTING), default="none", show_default=True,
              help="Activation checkpointing: recompute nothing, the attention cores, or every block.")
@click.option("--checkpoint-block", default=None, metavar="BLOCK",
              help="The spec block whose instances full checkpointing recomputes [default: the most used].")
@click.option("--dp", type=click.IntRange(min=1), default=1, show_default=True, help="Data-parallel GPUs.")
@click.option("--zero", type=click.IntRange(0, 3), default=None, help="DeepSpeed ZeRO stage 0–3.")
@click.option("--fsdp", type=click.Choice(("full", "hybrid")), default=None,
              help="PyTorch FSDP: full sharding over --dp, or hybrid (shard within --shard-size, replicate across).")
@click.option("--shard-size", type=click.IntRange(min=1), default=8, show_default=True,
              help="GPUs per shard group of hybrid sharding (one node).")
@click.option("--tp", type=click.IntRange(min=1), default=1, show_default=True, help="Tensor-parallel GPUs.")
@click.option("--pp", type=click.IntRange(min=1), default=1, show_default=True, help="Pipeline stages.")
@click.option("--gpu", type=click.Choice(tuple(GPUS)), default="h100-sxm", show_default=True, help="The device.")
@click.option("--reserve", type=float, callback=_gib, default=1.0, show_default=True,
              help="GiB per GPU kept for the CUDA context, NCCL and allocator slack.")
@click.option("--inference", is_flag=True, help="Plan serving: weights, KV cache and the forward pass only.")
@click.option("--context", type=click.IntRange(min=1), default=None,
              help="Tokens held in the KV cache per sequence (inference) [default: the input's length].")
@click.option("--tokens", callback=_count, default=None, help="Training tokens (examples for a CNN), e.g. 1T.")
@click.option("--mfu", type=float, callback=_mfu, default=0.4, show_default=True,
              help="Model FLOPs utilisation assumed for the time estimate.")
@click.option("--explain", is_flag=True,
              help="Show each formula with its numbers and the saved activations per layer.")
@handle_errors
def plan_command(spec: str, sets: dict[str, int], symbolic: bool, limits, fmt: str, precision: str,
                 optimizer: str | None, batch: int | None, seq_len: int | None, checkpointing: str,
                 checkpoint_block: str | None, dp: int, zero: int | None, fsdp: str | None, shard_size: int,
                 tp: int, pp: int, gpu: str, reserve: float, inference: bool, context: int | None,
                 tokens: int | None, mfu: float, explain: bool) -> None:
    """Plan a run of SPEC on GPUs: memory per GPU (weights, gradients, optimizer state, saved
    activations layer by layer, KV cache), whether it fits and the largest batch that does, and
    the training FLOPs and time."""
    # times and fractions divide these as floats: a machine word each keeps every product in a float's range
    check_counts({"batch": batch, "seq_len": seq_len, "dp": dp, "shard_size": shard_size, "tp": tp, "pp": pp,
                  "context": context, "tokens": tokens}, 2**62)
    if zero is not None and fsdp is not None:
        raise click.UsageError("give --zero or --fsdp, not both: FSDP full sharding is ZeRO stage 3")
    if inference and (checkpointing != "none" or zero or fsdp or optimizer or tokens):
        raise click.UsageError("--inference plans a forward pass: drop --checkpointing, --zero, --fsdp, "
                               "--optimizer and --tokens")
    if checkpoint_block is not None and checkpointing != "full":
        raise click.UsageError("--checkpoint-block names the units of --checkpointing full")
    if context is not None and not inference:
        raise click.UsageError("--context sizes the KV cache of --inference")
    if precision in ("mixed-bf16", "bf16") and not GPUS[gpu][1]:
        raise click.BadParameter(f"{gpu} has no bf16 arithmetic: use --precision mixed-fp16 or fp32",
                                 param_hint="'--gpu'")
    model = _load(spec, sets, symbolic, limits, seq_len)
    graph = model.graph
    where = model.spec.input_loc
    model.require_values("plan", cli=True)  # at the line declaring the first free symbol
    train = model.spec.train
    sharding = "none" if not (zero or fsdp) else f"zero{zero}" if zero else "fsdp" if fsdp == "full" else "hsdp"
    if sharding != "none" and dp == 1:
        raise click.UsageError(f"{'--zero' if zero else '--fsdp'} shards over data-parallel GPUs: give --dp N > 1")
    given = click.get_current_context().get_parameter_source("shard_size") == click.core.ParameterSource.COMMANDLINE
    if given and sharding != "hsdp":
        raise click.UsageError("--shard-size sizes the shard groups of hybrid sharding: give --fsdp hybrid too")
    if given and (shard_size > dp or dp % shard_size):  # left out: a node's 8, or all of --dp when fewer
        raise click.UsageError(f"--shard-size {shard_size} must divide --dp {dp}: hybrid sharding splits the "
                               "data-parallel GPUs into groups of that size")
    if checkpoint_block is not None:
        blocks = {n.block for n, _ in graph.walk() if n.block}
        if checkpoint_block not in blocks:
            from archcalc.errors import did_you_mean

            raise SpecError(where, f"--checkpoint-block {checkpoint_block}: the spec has no block instance "
                            f"'{checkpoint_block}'", code="usage",
                            hint=did_you_mean(checkpoint_block, sorted(blocks)) or
                            f"its blocks: {', '.join(sorted(blocks)) or 'none'}")
    from archcalc.calc.plan import kv_cache_per_token

    if context is not None and not kv_cache_per_token(graph):
        raise SpecError(where, "--context sizes a KV cache, but the spec has no attention layer", code="usage",
                        hint="drop --context (a network without attention caches nothing between tokens)")
    tables = [n for n in graph.layers() if n.kind == "pos_embedding" and n.layer.index == "position"]
    # the tokens a table serves: its rows, less those before the first position (RoBERTa's padding_idx + 1,
    # OPT's offset)
    short = min(tables, key=lambda n: n.layer.positions - n.layer.first_row, default=None)
    longest = None if short is None else short.layer.positions - short.layer.first_row
    if context is not None and longest is not None and context > longest:  # as --seq-len is refused
        raise SpecError(short.layer.arg_locs.get("positions", short.loc), f"--context {context}: the position table "
                        f"`{short.path}` holds {longest} positions", code="usage",
                        hint=f"a context of at most {longest} tokens, or a longer table")
    if tp > 1 and not _splits(graph, tp):
        raise SpecError(where, f"--tp {tp}: no weighted layer's output features divide by {tp}", code="usage",
                        hint="use a degree that divides the layers' widths, or --tp 1")
    n_layers = sum(1 for _ in graph.layers())
    if pp > n_layers:
        raise SpecError(where, f"--pp {pp}: the spec has only {n_layers} layers to split into stages", code="usage",
                        hint=f"use at most {n_layers} stages")
    options = Options(precision=precision, optimizer=optimizer or optimizer_from_spec(train),
                      batch=batch or (train.batch_size if train is not None else 1), checkpointing=checkpointing,
                      checkpoint_block=checkpoint_block, dp=dp, sharding=sharding, shard_size=shard_size, tp=tp,
                      pp=pp, gpu=gpu, reserve=int(reserve * 2**30), inference=inference, context=context,
                      tokens=tokens, mfu=mfu, loss=train.loss if train is not None else None)
    result = plan(graph, options)
    emit(plan_report(model.name, result, explain, fmt), fmt, terminal())


def _load(spec: str, sets: dict[str, int], symbolic: bool, limits, seq: int | None):
    """The model, with ``seq`` given to the symbol that is the input's first axis (read once, built once)."""
    if seq is None:
        return load_model(spec, sets, symbolic, limits)
    import ast

    from archcalc.graph import build_graph
    from archcalc.model import Model
    from archcalc.spec import read_spec

    parsed = read_spec(spec, limits)
    first = parsed.input[0] if parsed.input else None
    tree = getattr(first, "tree", None)
    if not isinstance(tree, ast.Name):
        shown = getattr(first, "text", getattr(first, "value", first))
        raise SpecError(getattr(first, "loc", parsed.input_loc), f"--seq-len {seq}: the input's first axis is "
                        f"{shown}, not a symbol", code="usage",
                        hint="write the sequence length as a symbol (input: [T]) to vary it")
    return Model(build_graph(parsed, {**sets, tree.id: seq}, free=symbolic, limits=limits))


def _splits(graph, tp: int) -> bool:
    return any(getattr(n.layer, "out", None) and n.layer.out % tp == 0 for n in graph.layers()
               if n.layer.params(n.in_shape).trainable)


def _gb(n: int) -> str:
    return f"{n / 2**30:,.2f} GiB"


def plan_report(name: str, p: Plan, explain: bool, fmt: str) -> Report:
    o = p.options
    parts = [("weights", "weights", p.weights), ("buffers", "buffers", p.buffers),
             ("gradients", "gradients", p.gradients), ("master", "fp32 master weights and gradients", p.master),
             ("optimizer_state", "optimizer state", p.optimizer),
             ("gathered", "gathered for one unit (ZeRO-3/FSDP)", p.gathered),
             ("saved_activations", "saved activations", p.saved),
             ("recomputation", "recomputation (checkpointing)", p.recompute), ("kv_cache", "KV cache", p.kv_cache),
             ("temporary", "temporary buffers (bound)", p.temporary),
             ("reserve", "reserve (CUDA context, NCCL, slack)", o.reserve), ("total", "total", p.total)]
    rows = [Row(label, 1, {"bytes": f"{value:,}", "size": _gb(value)}, last=label == "total",
                values={"part": key, "bytes": value}) for key, label, value in parts if value or key == "total"]
    mode = "inference" if o.inference else "training"
    capacity = p.capacity
    verdict = f"fits: {_gb(capacity - p.total)} free of {_gb(capacity)}" if p.fits else \
        f"does not fit: {_gb(p.total - capacity)} over {_gb(capacity)}"
    per = "token" if p.tokens_per_example > 1 else "example"
    tpe = p.tokens_per_example
    report = Report(f"{name}: {mode} plan per GPU ({o.gpu}, {o.precision}, batch {o.batch})",
                    [Column("layer", "Part", csv=("part",)), Column("bytes", "Bytes", True, ("bytes",), 2),
                     Column("size", "Size", True, (), 1)], rows, pick_columns=False)
    report.footer = [("Verdict", verdict), ("Largest batch that fits", f"{p.max_batch:,}")]
    if not o.inference:
        report.footer += [(f"Training FLOPs per {per}", f"{p.training_flops // tpe:,} (6·N = {p.six_n:,})"),
                          (f"Forward FLOPs per {per}", f"{p.forward_flops // tpe:,}")]
        if p.seconds is not None:
            gpus = o.dp * o.tp * o.pp
            report.footer.append((f"Time for {o.tokens:,} {per}s",
                                  f"{p.seconds / 86400:,.2f} days on {gpus} GPUs at {o.mfu:.0%} MFU "
                                  f"({p.seconds * gpus / 86400:,.1f} GPU-days)"))
    else:
        report.footer.append((f"Forward FLOPs per {per}", f"{p.forward_flops // tpe:,}"))
    parallel = f"dp {o.dp}, {o.sharding}, tp {o.tp}, pp {o.pp}"
    training = "" if o.inference else f"; optimizer {o.optimizer}; checkpointing {o.checkpointing}"
    report.notes.append(f"{parallel}{training}; GPU memory "
                        f"{_gb(capacity)} ({GPUS[o.gpu][4]}); formulas in docs/plan.md")
    report.notes.extend(p.notes)
    if explain:
        report.text += [f"{label}: {text}" for label, text in p.explain]
        if p.layers:
            report.text.append("saved activations by the layer that saves them first:")
            report.text += [f"  {path} ({kind}): {value:,} B" for path, kind, value in p.layers if value]
    if fmt == "json":
        report.data = {"model": name, "mode": mode, "gpu": o.gpu, "capacity_bytes": capacity,
                       "options": {"precision": o.precision, "optimizer": o.optimizer, "batch": o.batch,
                                   "checkpointing": o.checkpointing, "dp": o.dp, "sharding": o.sharding,
                                   "tp": o.tp, "pp": o.pp, "reserve_bytes": o.reserve, "context": o.context,
                                   "tokens": o.tokens, "mfu": o.mfu},
                       "params": p.params,
                       "bytes": {key: value for key, _, value in parts},
                       "fits": p.fits, "max_batch": p.max_batch,
                       "forward_flops_per_example": p.forward_flops,
                       "training_flops_per_example": p.training_flops, "tokens_per_example": tpe,
                       "six_n_per_token": p.six_n, "seconds": p.seconds,
                       "explain": [{"part": label, "formula": text} for label, text in p.explain],
                       "layers": [{"path": q, "kind": k, "saved_bytes": v} for q, k, v in p.layers],
                       "notes": report.notes}
    return report
