"""The data checks a generated training file runs before it trains, as source lines.

``archcalc train`` refuses unusable data with a located error before its first step (archcalc.data);
the files ``archcalc export --to torch`` and ``--to numpy`` write take any ``.npz`` a user gives them,
so they carry a small ``check_data(x, y)`` of their own: numbers only, one target per sample, finite
values, and targets the spec's loss can read (class indices for cross-entropy, NLL and the multi-class
margins, a 0/1 per output for binary cross-entropy, Dice and the hinges, counts ≥ 0 for poisson_nll). A
problem is a ``ValueError`` that names the array and the value; the file's ``main`` turns it into
argparse's usage error (exit 2) instead of a traceback mid-epoch or a loss of NaN. The lines are the same
in both files, written as ``ruff format`` writes them.
"""

from __future__ import annotations

from archcalc.spec.train import INDEX_LOSSES, SIGN_LOSSES, YES_NO_LOSSES, TrainSpec


def check_data_lines(train: TrainSpec | None, classes: int | None, output: tuple[int, ...]) -> list[str]:
    """``def check_data(x, y)`` for a file that trains with ``train`` (None: a spec without a ``train:``
    section, which trains a classifier with cross-entropy); ``classes`` the class count a sample's one class
    index must stay below (None: a class per position, whose count the file reads from the output);
    ``output`` the network's output shape, which a 0/1 per output must be laid out as (axes of 1 aside)."""
    task = train.task if train is not None else "classification"
    loss = train.loss if train is not None else "cross_entropy"
    lines = [
        "def check_data(x, y) -> None:",
        '    """Refuse, before training, data it cannot train on: a ValueError that names the',
        '    array and the value (archcalc train checks the same)."""',
        "    import numpy as np",
        "",
        '    for name, a in (("x", x), ("y", y)):',
        '        if a.dtype.kind not in "biuf":',
        '            raise ValueError(f"{name} must hold numbers, not {a.dtype}")',
        "        if a.ndim == 0 or len(a) == 0:",
        '            raise ValueError(f"{name} holds no samples")',
        '        if a.dtype.kind == "f" and not np.isfinite(a).all():',
        "            row = int(np.argmax(~np.isfinite(a.reshape(len(a), -1)).all(1)))",
        '            raise ValueError(f"{name} row {row} holds NaN or an infinity")',
        "    if len(x) != len(y):",
        '        raise ValueError(f"x has {len(x)} rows, y {len(y)}: one target per sample")',
    ]
    multi_label = train is not None and train.multi_label
    if task == "classification" and loss in INDEX_LOSSES + SIGN_LOSSES and not multi_label:
        lines += [
            "    wrong = (y < 0) | (y != np.round(y))" + (f" | (y >= {classes})" if classes else ""),
            "    if wrong.any():",
            "        value = y.reshape(-1)[np.argmax(wrong.reshape(-1))]",
            f'        raise ValueError(f"y holds {{value}}, not a class index {_range(classes)}")',
        ]
    elif task == "classification" and loss in SIGN_LOSSES:  # rows of labels, each one side of the margin
        lines += [
            f"    output = {list(output)}  # one 0/1 per output, laid out as the output (axes of 1 aside)",
            "    if [d for d in y.shape[1:] if d != 1] != [d for d in output if d != 1]:",
            '        raise ValueError(f"y holds {list(y.shape[1:])} per sample, not {output}")',
            "    wrong = (y != 0) & (y != 1)",
            "    if wrong.any():",
            "        value = y.reshape(-1)[np.argmax(wrong.reshape(-1))]",
            f'        raise ValueError(f"y holds {{value}}, not a 0 or 1 ({loss} reads 0 as -1)")',
        ]
    elif task == "classification" and loss in YES_NO_LOSSES:
        lines += [
            f"    output = {list(output)}  # one 0/1 per output, laid out as the output (axes of 1 aside)",
            "    if [d for d in y.shape[1:] if d != 1] != [d for d in output if d != 1]:",
            '        raise ValueError(f"y holds {list(y.shape[1:])} per sample, not {output}")',
            "    wrong = (y < 0) | (y > 1)",
            "    if wrong.any():",
            "        value = y.reshape(-1)[np.argmax(wrong.reshape(-1))]",
            '        raise ValueError(f"y holds {value}, not a 0 or 1 (a probability between)")',
        ]
    elif task == "regression" and loss == "poisson_nll":
        lines += [
            "    if (y < 0).any():",
            "        value = y.reshape(-1)[np.argmax((y < 0).reshape(-1))]",
            '        raise ValueError(f"y holds {value}, not a count (poisson_nll: at least 0)")',
        ]
    return lines


def _range(classes: int | None) -> str:
    """The class indices a target may hold, as the message names them."""
    return f"0 ... {classes - 1}" if classes else "(whole, at least 0)"
