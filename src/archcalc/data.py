"""Data for ``archcalc train``: load it, fit it to the spec, split it.

Sources: ``digits`` (the 8×8 handwritten digits shipped inside scikit-learn, pixels scaled to
[0, 1]), an ``.npz`` file with arrays ``x`` (samples first) and ``y``, or a ``.csv`` file whose
last column is the target (a header row is skipped when it is not numeric). Every sample is
reshaped to the spec's input shape when the sizes agree (digits fit both ``[64]`` and
``[1, 8, 8]``); anything that does not fit is a located error, before any training starts.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

from archcalc.errors import Loc, SpecError
from archcalc.layers.base import shape_text
from archcalc.model import Model
from archcalc.spec.train import TrainSpec
from archcalc.training import Splits

SOURCES = "digits, FILE.npz or FILE.csv"


@dataclass(slots=True)
class Dataset:
    name: str
    x: np.ndarray  # float32, (N, *input shape)
    y: np.ndarray  # int64 class indices, or float targets
    loc: Loc | None = None  # the data file, where its problems are reported (None for the built-in digits)


def load_data(source: str, model: Model, train: TrainSpec) -> Dataset:
    """Read ``source`` and check it against the spec: input size, labels against the outputs.

    A problem with the data is reported at the data file (``data.npz:1:1``), a problem of the spec
    (a network whose outputs cannot hold the classes) at the spec, so every error is located."""
    where = None if source == "digits" else Loc(source, 1, 1)
    if source == "digits":
        name, x, y = "digits", *_digits()
    elif source.endswith(".npz"):
        name, (x, y) = os.path.basename(source), _npz(source)
    elif source.endswith(".csv"):
        name, (x, y) = os.path.basename(source), _csv(source)
    else:
        raise SpecError(None, f"--data {source}: not a data set archcalc knows", code="usage",
                        hint=f"give {SOURCES}")
    x = _fit_input(x, model, name, where)
    _check_range(x, model, name)
    y = _targets(np.asarray(y), model, train, name, where)
    return Dataset(name, x, y, where)


def _check_range(x: np.ndarray, model: Model, name: str) -> None:
    """The inputs must lie in the range the spec's ``data:`` declares: a declaration the data break would
    mislead the linter (which reads it to judge normalisation) and the reader alike."""
    data = getattr(model.spec, "data", None)
    if data is None or data.range is None or not x.size:
        return
    low, high = data.range
    if x.min() < low or x.max() > high:
        raise SpecError(data.locs.get("range", data.loc), f"{name} has inputs from {x.min():g} to {x.max():g}, "
                        f"outside the declared range [{low:g}, {high:g}]", code="data-mismatch",
                        hint=f"declare the range the data have (range: [{x.min():g}, {x.max():g}]), or scale the data")


def split(data: Dataset, seed: int, validation: float = 0.15, test: float = 0.15) -> Splits:
    """A shuffled split (the same for the same seed): 70 % training, 15 % validation, 15 % test."""
    n = len(data.x)
    n_val, n_test = round(n * validation), round(n * test)
    if n - n_val - n_test < 1 or n_val < 1 or n_test < 1:
        raise SpecError(data.loc, f"{data.name} has {n} samples, too few to split into training, validation and "
                        "test", code="bad-data", hint="give at least 10 samples")
    order = np.random.default_rng(seed).permutation(n)
    parts = np.split(order, [n - n_val - n_test, n - n_test])
    return Splits(*[(data.x[p], data.y[p]) for p in parts])


def _digits() -> tuple[np.ndarray, np.ndarray]:
    from archcalc.backends.optional import require

    digits = require("sklearn.datasets").load_digits()
    # pixels are integers 0…16: scaled to [0, 1] like image data, so a network trained here expects
    # inputs divided by 16 (the exported NumPy file's docstring says so too)
    return digits.data / 16.0, digits.target


def _npz(path: str) -> tuple[np.ndarray, np.ndarray]:
    arrays = read_npz(path, "np.savez(path, x=samples, y=targets)")
    if "y" not in arrays or not {"x", "X"} & set(arrays):
        raise SpecError(Loc(path, 1, 1), f"needs arrays 'x' and 'y', found {', '.join(arrays) or 'none'}",
                        code="bad-data", hint="np.savez(path, x=samples, y=targets)")
    return arrays["x" if "x" in arrays else "X"], arrays["y"]


def read_npz(path: str, hint: str) -> dict[str, np.ndarray]:
    """Every array in the ``.npz`` at ``path``, never unpickling anything; problems located at the file."""
    where = Loc(path, 1, 1)
    try:
        with open(path, "rb") as f:
            magic = f.read(4)
        if magic != b"PK\x03\x04":  # numpy would try other formats (pickle among them) and say so
            raise SpecError(where, "is not an .npz file (a zip archive of arrays)", code="bad-data", hint=hint)
        with np.load(path, allow_pickle=False) as data:
            return {key: data[key] for key in data.files}
    except FileNotFoundError:
        raise SpecError(where, "no such file", code="bad-data") from None
    except (OSError, ValueError, EOFError) as e:  # a folder, a broken zip, object arrays that would need pickle
        raise SpecError(where, f"cannot read it as .npz: {e}", code="bad-data", hint=hint) from None


def _csv(path: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        with open(path, encoding="utf-8") as f:
            lines = [line for line in f.read().splitlines() if line.strip()]
    except FileNotFoundError:
        raise SpecError(Loc(path, 1, 1), "no such file", code="bad-data") from None
    except (OSError, UnicodeDecodeError) as e:
        raise SpecError(Loc(path, 1, 1), f"cannot read it: {e}", code="bad-data") from None
    rows, start = [], 0
    for number, line in enumerate(lines, 1):
        try:
            rows.append([float(cell) for cell in line.split(",")])
        except ValueError:
            if number == 1 and not rows:
                start = 1  # a header
                continue
            raise SpecError(Loc(path, number, 1), "a value is not a number", code="bad-data") from None
        if len(rows[-1]) != len(rows[0]) or len(rows[-1]) < 2:
            raise SpecError(Loc(path, number, 1), f"{len(rows[-1])} columns, but the first row has {len(rows[0])}"
                            if len(rows[-1]) != len(rows[0]) else "needs at least one feature and the target",
                            code="bad-data")
    if not rows:
        raise SpecError(Loc(path, 1 + start, 1), "no data rows", code="bad-data")
    table = np.array(rows)
    return table[:, :-1], table[:, -1]


def _fit_input(x: np.ndarray, model: Model, name: str, where: Loc | None) -> np.ndarray:
    shape = tuple(model.input_shape)
    need = int(np.prod(shape))
    if x.ndim < 1 or len(x) == 0:
        raise SpecError(where, f"{name} has no samples", code="bad-data")
    have = int(np.prod(x.shape[1:]))
    if have != need:
        hint = ("the digits are 8×8 images: use input: [64] or [1, 8, 8]" if name == "digits" else
                f"a sample of {name} has shape {shape_text(x.shape[1:])}")
        raise SpecError(model.spec.input_loc, f"{name} has {have} values per sample but the input "
                        f"{shape_text(shape)} needs {need}", code="data-mismatch", hint=hint)
    if not np.issubdtype(x.dtype, np.number):
        raise SpecError(where, f"{name}: x must be numbers, got {x.dtype}", code="bad-data")
    return x.reshape(len(x), *shape).astype(np.float32)


def _targets(y: np.ndarray, model: Model, train: TrainSpec, name: str, where: Loc | None) -> np.ndarray:
    """Class indices in range of the outputs for classification; float targets of the output's size otherwise."""
    width = int(model.output_shape[-1]) if model.output_shape else 1
    output = _output_loc(model)
    if y.ndim < 1 or len(y) == 0:
        raise SpecError(where, f"{name} has no targets", code="bad-data")
    if not np.issubdtype(y.dtype, np.number):
        raise SpecError(where, f"{name}: y must be numbers, got {y.dtype}", code="bad-data")
    if train.task == "regression":
        if train.loss == "cross_entropy":  # its targets are class indices, whatever the task says
            raise SpecError(train.locs.get("loss", train.loc), "cross_entropy cannot train a regression: it compares "
                            "class scores with class indices, not real values", code="data-mismatch",
                            hint="use loss: mse for real-valued targets, or task: classification")
        if int(np.prod(y.shape[1:])) != int(np.prod(model.output_shape)):
            raise SpecError(where, f"{name}: a target has {int(np.prod(y.shape[1:]))} values but the network "
                            f"outputs {shape_text(model.output_shape)}", code="data-mismatch")
        return y.astype(np.float32).reshape(len(y), *model.output_shape)
    if train.multi_label:
        raise SpecError(train.locs.get("multi_label", train.loc), "archcalc train does not train multi-label "
                        "classifications yet (its data format holds one class index per sample)",
                        code="data-mismatch", hint="lint, export and the Python API read multi_label: as declared; "
                        "train the exported module on your label rows (loss: bce_with_logits)")
    if len(model.output_shape) != 1:
        raise SpecError(output, f"classification needs a vector of class scores, but the network outputs "
                        f"{shape_text(model.output_shape)}", code="data-mismatch",
                        hint="end the network with flatten (or global_avgpool2d) and a linear layer")
    y = y.reshape(len(y), -1)
    if y.shape[1] != 1 or not np.all(y == np.round(y)) or y.min() < 0:
        raise SpecError(where, f"{name}: classification needs one class index (0, 1, 2, …) per sample",
                        code="bad-data", hint="or set task: regression in the spec's train: section")
    y = y[:, 0].astype(np.int64)
    classes = max(width, 2) if train.classes is None else train.classes
    if y.max() >= classes:
        raise SpecError(train.locs.get("classes", train.loc), f"{name} has class {y.max()} but the spec has "
                        f"{classes} classes (0 … {classes - 1})", code="data-mismatch",
                        hint="give the last layer one output per class")
    per_class = width > 1 or train.loss == "cross_entropy"  # else one output stands for two classes
    if (per_class and width < classes) or (train.loss.startswith("bce") and width != 1):
        raise SpecError(output, f"the network has {width} output{'s' if width != 1 else ''} for {classes} classes",
                        code="data-mismatch",
                        hint="cross-entropy wants one output per class; binary cross-entropy one output")
    return y


def _output_loc(model: Model) -> Loc:
    """Where the network's output is made: its last layer, else (no layers at all) its input."""
    layers = model.layers
    return layers[-1].loc if layers else model.spec.input_loc
