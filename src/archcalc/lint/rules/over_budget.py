"""The network exceeds a limit of the spec's `budget:`.

## What it does
Checks each limit of the spec's `budget:` section (`params`, `macs`, `flops`, `activations`,
`training`) against what archcalc computes for the network, and reports every one it exceeds,
with the overshoot in bytes or units and in percent, and the top-level part that contributes
most. Memory is measured as `archcalc summary` measures it, at the budget's `batch_size`
(default 1) and `dtype` (default fp32). A limit that cannot be checked because the measure
depends on a free symbol is reported too: a budget is never passed unproven.

## Why is this bad?
A budget is a promise the model has to keep: it must fit a device's memory, a latency target or
a download size. Written in the spec, it is checked on every change (by the pre-commit hook and
in CI), so a change that blows it is stopped in review instead of discovered on the device.

## Example
```yaml
input: [784]
budget: {params: 100K}
layers:
  - linear: 256
  - relu
  - linear: 10
```

Use instead:
```yaml
input: [784]
budget: {params: 100K}
layers:
  - linear: 64
  - relu
  - linear: 10
```

## References
- The `budget:` section of the spec language (docs/spec.md); `archcalc summary` for the measures.
- Howard et al., "MobileNets", 2017: networks designed to a parameter and multiply-add budget.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

from archcalc import symbolic
from archcalc.analysis import Analysis
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import ERROR, Finding
from archcalc.spec.budget import BYTES, LIMITS, Budget, Limit

SEVERITY = ERROR

#: budget key → its value for the whole network, and each top-level node's share of it
_MEASURES: dict[str, Callable[[Analysis, Budget], object]] = {
    "params": lambda a, b: a.model.total_params,  # the model's size: frozen parameters included
    "macs": lambda a, b: a.work[a.graph.root].macs,
    "flops": lambda a, b: 2 * a.work[a.graph.root].macs,
    "activations": lambda a, b: a.memory(b.batch_size).activations,
    "training": lambda a, b: a.memory(b.batch_size).training,
}
_PARTS: dict[str, Callable[[Analysis, object, Budget], object]] = {
    "params": lambda a, n, b: symbolic.total(a.model.counts[n].params),
    "macs": lambda a, n, b: a.work[n].macs,
    "flops": lambda a, n, b: 2 * a.work[n].macs,
    "activations": lambda a, n, b: a.activations[n] * b.batch_size * _size(b.dtype),
}


def check(ctx: Context) -> Iterator[Finding]:
    budget: Budget | None = ctx.spec.budget  # type: ignore[assignment]
    if budget is None:
        return
    analysis = Analysis(ctx.model, budget.batch_size, budget.dtype)
    for limit in budget.limits:
        value = _MEASURES[limit.key](analysis, budget)
        if not symbolic.is_int(value):
            free = ", ".join(symbolic.free_names([value]))
            yield Finding(limit.loc, f"the {limit.key} budget ({limit.text}) cannot be checked: {limit.key} depends "
                          f"on {free}, which the spec leaves free", hint=f"give {free} a default under symbols:")
        elif value > limit.value:
            yield Finding(limit.loc, _message(limit, value, budget), hint=_largest(analysis, limit, value, budget))


def _message(limit: Limit, value: int, budget: Budget) -> str:
    over = value - limit.value
    share = f"{over / limit.value:.1%}" if limit.value else "∞"
    if LIMITS[limit.key][0] == BYTES:
        from archcalc.calc.memory import scaled

        where = f" at batch {budget.batch_size} in {budget.dtype}"
        return (f"{limit.key} need {scaled(value)} ({value:,} B){where}, over the budget of {limit.text} "
                f"({limit.value:,} B) by {scaled(over)} ({over:,} B, {share})")
    from archcalc.report.columns import human

    exact = "" if limit.text.replace(",", "").replace("_", "") == str(limit.value) else f" ({limit.value:,})"
    return f"{limit.key} {human(value)} exceed the budget of {limit.text}{exact} by {over:,} ({share})"


def _largest(analysis: Analysis, limit: Limit, value: int, budget: Budget) -> str | None:
    """Where most of it goes: the top-level part with the largest share."""
    part = _PARTS.get(limit.key)
    if part is None or not value:
        return "the training step is mostly weights, gradients and optimizer state: see `archcalc summary`" \
            if limit.key == "training" else None
    shares = [(part(analysis, node, budget), node) for node in analysis.graph.root.items]
    shares = [(v, node) for v, node in shares if symbolic.is_int(v)]
    if not shares:
        return None
    amount, node = max(shares, key=lambda pair: pair[0])
    return f"the largest part is `{node.path}` ({node.kind}) with {amount / value:.1%} of it; " \
        f"`archcalc summary` shows every layer's share"


def _size(dtype: str) -> int:
    from archcalc.calc.memory import DTYPES

    return DTYPES[dtype]
