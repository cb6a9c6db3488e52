"""Data for ``archcalc train``: load it, fit it to the spec, split it.

Sources: ``digits`` (the 8×8 handwritten digits shipped inside scikit-learn, pixels scaled to
[0, 1]), the data sets of :data:`GENERATED` (made at run time: ``docstrings``, ``shapes``, ``sign-sum``),
an ``.npz`` file with arrays ``x`` (samples first) and ``y``, or a ``.csv`` file whose last column is
the target (a header row is skipped when it is not numeric). Every sample is reshaped to the spec's input shape
when the sizes agree (digits fit both ``[64]`` and ``[1, 8, 8]``); anything that does not fit is a
located error, before any training starts.
"""

from __future__ import annotations

import io
import math
import os
import re
import zipfile
from dataclasses import dataclass

import numpy as np

from archcalc import symbolic
from archcalc.errors import Loc, SpecError
from archcalc.layers.base import numel, shape_text
from archcalc.limits import Limits, default_limits
from archcalc.model import Model
from archcalc.spec.train import DENSE_LOSSES, INDEX_LOSSES, SIGN_LOSSES, YES_NO_LOSSES, TrainSpec
from archcalc.training import Splits

SOURCES = "digits, docstrings, shapes, sign-sum, FILE.npz or FILE.csv"
#: data sets made at run time: name → the module whose ``make(input_shape)`` returns ``(x, y)`` for a network
#: taking that input (each module's docstring says what it holds and how it is made)
GENERATED: dict[str, str] = {
    "docstrings": "archcalc.data_docstrings",  # the standard library's docstrings, for a character-level model
    "shapes": "archcalc.data_shapes",  # circles and squares on noise, a class per pixel, for segmentation
    "sign-sum": "archcalc.data_sign_sum",  # sequences classed by the sign of their sum, for a sequence model
}


@dataclass(slots=True)
class Dataset:
    name: str
    x: np.ndarray  # float32, (N, *input shape)
    y: np.ndarray  # int64 class indices, or float targets
    loc: Loc | None = None  # the data file, where its problems are reported (None for the built-in digits)


def load_data(source: str, model: Model, train: TrainSpec, limits: Limits | None = None) -> Dataset:
    """Read ``source`` and check it against the spec: input size, labels against the outputs.

    A problem with the data is reported at the data file (``data.npz:1:1``; a CSV's at its line and cell), naming
    the array and the row, a problem of the spec (a network whose outputs cannot hold the classes) at the
    spec, so every error is located. Everything is checked before training starts: as many targets as
    samples, numbers only, finite values, whole class indices in range. A data file may cost at most
    ``limits.max_data_bytes``, read and unpacked."""
    limits = limits or default_limits()
    where = None if source == "digits" or source in GENERATED else Loc(source, 1, 1)
    rows: Rows = Rows(source, None)
    if source == "digits":
        name, x, y = "digits", *_digits()
        rows = Rows("digits", None)
        if train.multi_label:  # a row of ten labels per image, one of them set: "is it a 3?" and so on
            y = np.eye(10)[y]
    elif source in GENERATED:
        name, (x, y) = source, _generated(source, model)
    elif source.endswith(".npz"):
        name, (x, y) = os.path.basename(source), _npz(source, limits)
    elif source.endswith(".csv"):
        name, (x, y, lines) = os.path.basename(source), _csv(source, limits, _target_columns(model, train))
        rows = Rows(source, lines, _target_columns(model, train))
    else:
        raise SpecError(None, f"--data {source}: not a data set archcalc knows", code="usage",
                        hint=f"give {SOURCES}")
    x, y = np.asarray(x), np.asarray(y)
    _check_arrays(x, y, name, where)
    x = _fit_input(x, model, name, where, rows)
    _check_range(x, model, name)
    y = _targets(y, model, train, name, where, rows)
    _token_ids(x, model, name, where, rows)
    return Dataset(name, x, y, where)


@dataclass(slots=True)
class Rows:
    """Where a row of a data file is: a CSV's rows are its lines, an array's its index (the file itself)."""

    path: str
    lines: list[int] | None  # the CSV line of each row
    targets: int = 1  # how many of a CSV row's last cells are its targets

    def loc(self, row: int, cell: int | None = None) -> Loc | None:
        """Row ``row`` of the data; in a CSV at its ``cell`` (a feature's index, or a target's: ``target``)."""
        if self.path == "digits" or self.path in GENERATED:
            return None
        if not self.lines:
            return Loc(self.path, 1, 1)
        return Loc(self.path, self.lines[row], 1 if cell is None else self._column(self.lines[row], cell))

    def target(self, index: int) -> int:
        """The cell of a row's target ``index`` (0: the first target column)."""
        return index - self.targets

    def _column(self, number: int, cell: int) -> int:
        """The column where cell ``cell`` of line ``number`` starts. Read again only on this error path, so
        that reading a large file keeps no text per row."""
        with open(self.path, encoding="utf-8-sig", errors="replace", newline="") as f:
            line = re.split("\r\n|\r|\n", f.read())[number - 1]
        cells = line.split(",")
        cell %= len(cells)
        return 1 + sum(len(c) + 1 for c in cells[:cell]) + len(cells[cell]) - len(cells[cell].lstrip())

    def name(self, array: str, row: int) -> str:
        return f"{array} row {row}" + (f" (line {self.lines[row]})" if self.lines else "")


def _check_arrays(x: np.ndarray, y: np.ndarray, name: str, where: Loc | None) -> None:
    """Numbers only, and one target per sample: a shorter y would fail mid-epoch, a longer one train on
    misaligned pairs."""
    for array, values in (("x", x), ("y", y)):
        if values.dtype.kind not in "biuf":
            raise SpecError(where, f"{_about(name, where)}{array} must hold real numbers, got {values.dtype}",
                            code="bad-data",
                            hint="save integers or floats (complex numbers, strings and objects are not data)")
        if values.ndim < 1:
            raise SpecError(where, f"{_about(name, where)}{array} is a single number, not one row per sample",
                            code="bad-data",
                            hint="save x and y with one row per sample")
        if len(values) == 0:
            raise SpecError(where, f"{name} has no {'samples' if array == 'x' else 'targets'} ({array} is empty)",
                            code="bad-data")
    if len(x) != len(y):
        raise SpecError(where, f"{_about(name, where)}x has {len(x):,} rows but y has {len(y):,}: every sample "
                        "needs its target, in the same order", code="bad-data",
                        hint="save x and y with one row per sample")


def _shown(value: np.generic) -> str:
    """A number from a data file as a reader writes it: ``7``, ``1.5``, ``1e+30``, ``inf``, ``nan``."""
    value = value.item()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    return f"{value:g}" if isinstance(value, float) else str(value)


def _first_bad(flat: np.ndarray) -> int | None:
    """The first row of a 2-D array that holds a value that is not finite."""
    bad = ~np.isfinite(flat).all(axis=1)
    return int(np.argmax(bad)) if bad.any() else None


def _check_range(x: np.ndarray, model: Model, name: str) -> None:
    """The inputs must lie in the range the spec's ``data:`` declares: a declaration the data break would
    mislead the linter (which reads it to judge normalisation) and the reader alike."""
    data = getattr(model.spec, "data", None)
    if data is None or data.range is None or not x.size:
        return
    low, high = np.array(data.range, dtype=x.dtype) if x.dtype.kind == "f" else data.range  # 0.3 as the data hold it
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


def _generated(source: str, model: Model) -> tuple[np.ndarray, np.ndarray]:
    """A data set of :data:`GENERATED`, made for the spec's input shape; a shape it cannot fill is an error at
    the spec's input (the module says which shapes it fills)."""
    import importlib

    module = importlib.import_module(GENERATED[source])
    shape = tuple(int(d) for d in model.input_shape)
    problem = module.unfit(shape)
    if problem:
        raise SpecError(model.spec.input_loc, f"--data {source}: {problem}", code="data-mismatch",
                        hint=module.FITS)
    return module.make(shape)


def _npz(path: str, limits: Limits) -> tuple[np.ndarray, np.ndarray]:
    arrays = read_npz(path, "np.savez(path, x=samples, y=targets)", limits)
    if "y" not in arrays or not {"x", "X"} & set(arrays):
        raise SpecError(Loc(path, 1, 1), f"needs arrays 'x' and 'y', found {', '.join(arrays) or 'none'}",
                        code="bad-data", hint="np.savez(path, x=samples, y=targets)")
    return arrays["x" if "x" in arrays else "X"], arrays["y"]


def read_bounded(path: str, limits: Limits) -> bytes:
    """The bytes of the data file ``path``, at most ``limits.max_data_bytes`` of them (a device such as
    /dev/zero never ends), or a located error."""
    where = Loc(path, 1, 1)
    try:
        with open(path, "rb") as f:
            data = f.read(limits.max_data_bytes + 1)
    except FileNotFoundError:
        raise SpecError(where, "no such file", code="bad-data") from None
    except OSError as e:  # a folder, no permission
        raise SpecError(where, f"cannot read it: {e.strerror or e}", code="bad-data") from None
    if len(data) > limits.max_data_bytes:
        raise SpecError(where, f"is larger than the {limits.max_data_bytes:,}-byte limit for data files",
                        code="resource-limit", hint="raise it with --limit max_data_bytes=N if the file is right")
    return data


def read_npz(path: str, hint: str, limits: Limits | None = None) -> dict[str, np.ndarray]:
    """Every array in the ``.npz`` at ``path``, never unpickling anything; problems located at the file.

    The archive is read here rather than by ``np.load``, which trusts each ``.npy`` header: a header may
    declare any shape (numpy allocates it before reading a byte) or be cut short (numpy's tokenizer
    raises). Each member's header is read and its declared size checked against the bytes the member
    really holds, and the members together may unpack to at most ``limits.max_data_bytes``."""
    limits = limits or default_limits()
    where = Loc(path, 1, 1)
    data = read_bounded(path, limits)
    # a member's header, or the end record alone (np.savez of no arrays: a parameter-free model's weights);
    # numpy would try other formats (pickle among them) and say so
    if data[:4] not in (b"PK\x03\x04", b"PK\x05\x06"):
        raise SpecError(where, "is not an .npz file (a zip archive of arrays)", code="bad-data", hint=hint)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception as e:  # BadZipFile, NotImplementedError for a version or method it lacks, and more
        raise SpecError(where, f"starts like a zip archive but is not one: {e}", code="bad-data", hint=hint) from None
    unpacked = sum(info.file_size for info in members)
    if unpacked > limits.max_data_bytes:
        raise SpecError(where, f"its arrays unpack to {unpacked:,} bytes, past the {limits.max_data_bytes:,}-byte "
                        "limit for data files", code="resource-limit", hint="raise it with --limit max_data_bytes=N")
    arrays = {}
    with archive:
        for info in members:
            key = info.filename[:-4] if info.filename.endswith(".npy") else info.filename
            try:
                raw = archive.read(info)
            except Exception as e:  # zipfile and zlib raise many kinds on damaged members
                raise SpecError(where, f"array '{key}' cannot be unpacked: {type(e).__name__}: {e}", code="bad-data",
                                hint=hint) from None
            arrays[key] = _npy(raw, key, where, hint, limits.max_data_bytes)
    return arrays


def _npy(raw: bytes, key: str, where: Loc, hint: str, most: int) -> np.ndarray:
    """One ``.npy`` member: its header read and checked, its data taken only when it holds what the header says."""
    fp = io.BytesIO(raw)
    try:
        version = np.lib.format.read_magic(fp)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(fp)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(fp)
        else:
            raise ValueError(f".npy format version {version[0]}.{version[1]} is not one archcalc reads")
    except Exception as e:  # ValueError, tokenize's TokenError, SyntaxError: a damaged or truncated header
        raise SpecError(where, f"array '{key}' has a damaged .npy header ({type(e).__name__}: {e})", code="bad-data",
                        hint=hint) from None
    if dtype.hasobject or dtype.itemsize == 0:
        raise SpecError(where, f"array '{key}' holds {dtype} values, which are not numbers (reading them could need "
                        "pickle)", code="bad-data", hint=hint)
    count = math.prod(shape)
    need, have = count * dtype.itemsize, len(raw) - fp.tell()
    if need > have:
        raise SpecError(where, f"array '{key}' is truncated: its header declares {shape_text(shape)} of {dtype} "
                        f"({need:,} bytes) but it holds {have:,}", code="bad-data", hint=hint)
    if math.prod(max(d, 1) for d in shape) * dtype.itemsize > most:  # an empty array of (10**18, 0, 4) too
        raise SpecError(where, f"array '{key}' declares {shape_text(shape)} of {dtype}, past the {most:,}-byte limit "
                        "for data files", code="bad-data", hint=hint)
    array = np.frombuffer(raw, dtype=dtype, count=count, offset=fp.tell())
    return array.reshape(shape, order="F" if fortran else "C").copy()


def _target_columns(model: Model, train: TrainSpec) -> int:
    """How many of a CSV's last columns are a sample's target: a row of labels (multi-label) or a regression's
    values fill the network's output, a class index is one column."""
    if train.multi_label or train.task == "regression":
        size = numel(model.output_shape)
        return int(size) if symbolic.is_int(size) and size >= 1 else 1
    return 1


def _csv(path: str, limits: Limits, targets: int = 1) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """Features and the last ``targets`` columns (the targets) of a CSV, and each row's line. A byte-order
    mark is dropped before the first cell is read (else the first row reads as a header and is lost)."""
    try:
        text = read_bounded(path, limits).decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SpecError(Loc(path, 1, 1), f"cannot read it: {e}", code="bad-data", hint="save it as UTF-8") from None
    rows, lines, header = [], [], False
    for number, line in enumerate(re.split("\r\n|\r|\n", text), 1):  # a spreadsheet may save CR lines
        if not line.strip():
            continue
        try:
            rows.append([float(cell) for cell in line.split(",")])
        except ValueError:
            if not rows and not header:
                header = True  # a header: the first line that holds anything, when it is not numbers
                continue
            raise _not_a_number(path, number, line) from None
        lines.append(number)
        if len(rows[-1]) != len(rows[0]) or len(rows[-1]) < targets + 1:
            what = "the target" if targets == 1 else f"the {targets} target columns (the network's outputs)"
            raise SpecError(Loc(path, number, 1), f"{len(rows[-1])} columns, but the first row has {len(rows[0])}"
                            if len(rows[-1]) != len(rows[0]) else f"needs at least one feature and {what}",
                            code="bad-data")
    if not rows:
        raise SpecError(Loc(path, 1, 1), "no data rows", code="bad-data")
    table = np.array(rows)
    return table[:, :-targets], (table[:, -1] if targets == 1 else table[:, -targets:]), lines


def _about(name: str, where: Loc | None) -> str:
    """What a message about the data starts with: the data's name, unless the location already names its file."""
    return "" if where is not None else f"{name}: "


def _not_a_number(path: str, number: int, line: str) -> SpecError:
    """The error for a CSV line with a cell that is not a number, located at that cell."""
    column = 1
    for cell in line.split(","):
        try:
            float(cell)
        except ValueError:
            break
        column += len(cell) + 1
    column += len(cell) - len(cell.lstrip())
    if not cell.strip():
        return SpecError(Loc(path, number, column), "an empty cell: a missing value", code="bad-data",
                         hint="fill in the missing values, or drop the rows that have them")
    return SpecError(Loc(path, number, column), f"{cell.strip()!r} is not a number", code="bad-data",
                     hint="every cell after the header must be a number: encode categories as numbers "
                          "(one-hot columns, or class indices for the target)")


def _fit_input(x: np.ndarray, model: Model, name: str, where: Loc | None, rows: Rows) -> np.ndarray:
    shape = tuple(model.input_shape)
    need = int(np.prod(shape))
    have = int(np.prod(x.shape[1:]))
    if have != need:
        hint = ("the digits are 8×8 images: use input: [64] or [1, 8, 8]" if name == "digits" else
                f"a sample of {name} has shape {shape_text(x.shape[1:])}")
        values = f"{have} value{'s' if have != 1 else ''}"
        raise SpecError(model.spec.input_loc, f"{name} has {values} per sample but the input {shape_text(shape)} "
                        f"needs {need}", code="data-mismatch", hint=hint)
    with np.errstate(over="ignore", invalid="ignore"):
        fitted = x.reshape(len(x), *shape).astype(np.float32)
    row = _first_bad(fitted.reshape(len(x), -1))
    if row is not None:
        values = x.reshape(len(x), -1)[row]
        with np.errstate(over="ignore", invalid="ignore"):
            cell = int(np.argmax(~np.isfinite(values.astype(np.float32))))
        value = values[cell]
        raise SpecError(rows.loc(row, cell) or where,
                        f"{_about(name, where)}{rows.name('x', row)} holds {_shown(value)}, "
                        "which is not a finite float32", code="bad-data",
                        hint="inputs must be finite numbers below about 3.4e38")
    return fitted


def _token_ids(x: np.ndarray, model: Model, name: str, where: Loc | None, rows: Rows) -> None:
    """An embedding reads the input: every value must be a row of its table (checked after the targets, whose
    error names the spec's vocabulary when a generated text has more characters than it)."""
    vocab = model.input_ids
    if vocab is not None:
        flat = x.reshape(len(x), -1)
        with np.errstate(invalid="ignore"):
            bad = (flat != np.round(flat)) | (flat < 0) | (flat >= vocab) if flat.dtype.kind == "f" else \
                (flat < 0) | (flat >= vocab)
        if bad.any():
            row = int(np.argmax(bad.any(axis=1)))
            cell = int(np.argmax(bad[row]))
            raise SpecError(rows.loc(row, cell) or where, f"{_about(name, where)}{rows.name('x', row)} holds "
                            f"{_shown(flat[row][cell])}, not a token id (0 … {vocab - 1}: the embedding's rows)",
                            code="bad-data", hint="the first layer is an embedding: give each sample whole token "
                            f"ids below its vocab {vocab}")


def _targets(y: np.ndarray, model: Model, train: TrainSpec, name: str, where: Loc | None, rows: Rows) -> np.ndarray:
    """Class indices in range of the outputs for classification; float targets of the output's size otherwise."""
    width = int(model.output_shape[-1]) if model.output_shape else 1
    output = _output_loc(model)
    if train.task == "regression":
        if train.loss in INDEX_LOSSES:  # its targets are class indices, whatever the task says
            raise SpecError(train.locs.get("loss", train.loc), f"{train.loss} cannot train a regression: it compares "
                            "class scores with class indices, not real values", code="data-mismatch",
                            hint="use loss: mse for real-valued targets, or task: classification")
        if int(np.prod(y.shape[1:])) != int(np.prod(model.output_shape)):
            raise SpecError(where, f"{_about(name, where)}a target has {int(np.prod(y.shape[1:]))} values but the "
                            f"network outputs {shape_text(model.output_shape)}", code="data-mismatch")
        with np.errstate(over="ignore", invalid="ignore"):
            targets = y.astype(np.float32).reshape(len(y), *model.output_shape)
        row = _first_bad(targets.reshape(len(y), -1))
        if row is not None:
            cell = int(np.argmax(~np.isfinite(targets.reshape(len(y), -1)[row])))
            raise SpecError(rows.loc(row, rows.target(cell)) or where,
                            f"{_about(name, where)}{rows.name('y', row)} is not a finite float32 target",
                            code="bad-data", hint="targets must be finite numbers below about 3.4e38")
        if train.target_range is not None and targets.size:  # a declaration the data break misleads the linter
            low, high = np.array(train.target_range, dtype=targets.dtype)  # 0.3 as float32 holds it
            if targets.min() < low or targets.max() > high:
                raise SpecError(train.locs.get("target_range", train.loc), f"{name} has targets from "
                                f"{targets.min():g} to {targets.max():g}, outside the declared target_range "
                                f"[{low:g}, {high:g}]", code="data-mismatch",
                                hint=f"declare the range the targets have (target_range: [{targets.min():g}, "
                                f"{targets.max():g}]), or scale the targets")
        if train.loss == "poisson_nll" and targets.size and targets.min() < 0:
            flat = targets.reshape(len(y), -1)
            row = int(np.argmax((flat < 0).any(axis=1)))
            cell = int(np.argmax(flat[row] < 0))
            raise SpecError(rows.loc(row, rows.target(cell)) or where, f"{_about(name, where)}{rows.name('y', row)} "
                            f"holds {_shown(y.reshape(len(y), -1)[row][cell])}, not a count: poisson_nll is the "
                            "likelihood of counts (0, 1, 2, … or a mean of them), which are never negative",
                            code="bad-data", hint="shift or rescale the targets to be ≥ 0, or use loss: mse")
        return targets
    if train.multi_label:
        return _label_rows(y, model, train, name, where, rows)
    if len(model.output_shape) > 1 and y.ndim > 1 and (y.ndim == len(model.output_shape) or y[0].size > 1):
        return _dense_targets(y, model, train, name, where, rows)
    if len(model.output_shape) != 1:
        raise SpecError(output, f"classification needs a vector of class scores, but the network outputs "
                        f"{shape_text(model.output_shape)}", code="data-mismatch",
                        hint="end the network with flatten (or global_avgpool2d) and a linear layer")
    y = y.reshape(len(y), -1)
    if y.shape[1] != 1:
        raise SpecError(where, f"{_about(name, where)}classification needs one class index (0, 1, 2, …) per sample, "
                        "y has "
                        f"{y.shape[1]} values per row", code="bad-data",
                        hint="or set task: regression in the spec's train: section")
    y = y[:, 0]
    if train.loss in YES_NO_LOSSES + SIGN_LOSSES and width == 1 and train.classes not in (None, 2):
        raise SpecError(train.locs.get("classes", train.loc), f"classes: {train.classes}, but {train.loss} on one "
                        "output tells two classes apart (a yes/no)", code="data-mismatch",
                        hint="classes: 2; for more classes, one output per class and cross_entropy")
    classes = max(width, 2) if train.classes is None else train.classes
    # checked as the values they are, before any conversion: inf, NaN or 1e30 would become a wrapped int64
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(y) | (y != np.round(y)) | (y < 0) if y.dtype.kind == "f" else y < 0
    if bad.any():
        row = int(np.argmax(bad))
        raise SpecError(rows.loc(row, rows.target(0)) or where,
                        f"{_about(name, where)}{rows.name('y', row)} is {_shown(y[row])}, "
                        "not a class index (0, 1, 2, …)", code="bad-data",
                        hint=f"{train.loss} reads the classes 0 and 1 as −1 and +1 itself, as Keras converts 0/1 "
                        "labels: write the −1 labels as 0" if train.loss in SIGN_LOSSES and y[row] == -1 else
                        "or set task: regression in the spec's train: section")
    high = int(np.argmax(y))
    if y[high] >= classes:
        # at the label when there is a data file (its row is what to look at), else at the spec's classes
        spec_loc = train.locs.get("classes", train.loc)
        at = rows.loc(high, rows.target(0))
        error = SpecError(at or spec_loc, f"{name} has class {_shown(y[high])} but the spec has {classes} classes "
                          f"(0 … {classes - 1}): {rows.name('y', high)}", code="bad-data" if at else "data-mismatch",
                          hint="fix the label, or give the last layer one output per class")
        if at is not None and spec_loc is not None:
            error.notes.append(f"the spec's classes: {spec_loc}")
        raise error
    y = y.astype(np.int64)
    per_class = width > 1 or train.loss in INDEX_LOSSES  # else one output stands for two classes
    if train.loss.startswith("bce") and width != 1:
        raise SpecError(output, f"{train.loss} scores one output as a yes/no, but the network has {width} outputs "
                        f"for {classes} classes", code="data-mismatch",
                        hint="one output for two classes; for more, cross_entropy (one class per sample) or "
                        "multi_label: true (any number of labels per sample)")
    if per_class and width < classes:
        raise SpecError(output, f"the network has {width} output{'s' if width != 1 else ''} for {classes} classes",
                        code="data-mismatch",
                        hint="cross-entropy wants one output per class; binary cross-entropy one output")
    return y


def _label_rows(y: np.ndarray, model: Model, train: TrainSpec, name: str, where: Loc | None,
                rows: Rows) -> np.ndarray:
    """A multi-label classification's targets: per sample a row of labels, one per output, each 1 (the
    sample has it) or 0, or a probability between (a soft label), as float32 shaped like the output."""
    if train.loss in INDEX_LOSSES:
        raise SpecError(train.locs.get("loss", train.loc), f"{train.loss} picks one class per sample, but "
                        "multi_label data hold a row of labels per sample", code="data-mismatch",
                        hint="loss: bce_with_logits scores each label on its own (or bce after a sigmoid)")
    outputs = int(np.prod(model.output_shape))
    if int(np.prod(y.shape[1:])) == outputs and not _same_layout(y, model, rows):
        raise SpecError(where, f"{_about(name, where)}a sample's {outputs} labels are laid out "
                        f"{shape_text(y.shape[1:])}, but the network outputs {shape_text(model.output_shape)}",
                        code="data-mismatch", hint=f"save each sample's labels shaped as the output, "
                        f"{shape_text(model.output_shape)} (a CSV's rows are read in that order)")
    if int(np.prod(y.shape[1:])) != outputs:
        given, laid = int(np.prod(y.shape[1:])), f" {shape_text(y.shape[1:])}" if y.ndim > 2 else ""
        raise SpecError(where, f"{_about(name, where)}a sample has {given} label{'s' if given != 1 else ''}{laid} "
                        f"but the network outputs {shape_text(model.output_shape)}",
                        code="data-mismatch",
                        hint=f"give each sample a row of {outputs} labels (1: it has the label, 0: not)" + (
                            "; a class index per sample is single-label data: drop multi_label" if given == 1
                            else ""))
    if train.classes is not None and train.classes != outputs:
        raise SpecError(train.locs.get("classes", train.loc), f"classes: {train.classes}, but a multi-label network "
                        f"has one output per label and this one has {outputs}", code="data-mismatch",
                        hint=f"classes: {outputs}, or give the last layer {train.classes} outputs")
    if train.loss in SIGN_LOSSES:  # a margin needs a side: −1 or +1, not a probability between
        return _yes_no(y, model, name, where, rows, f"a label (1: the sample has it, 0: not, which {train.loss} "
                       "reads as −1)", "multi_label data hold a row of 0s and 1s per sample", exact=True)
    return _yes_no(y, model, name, where, rows, "a label (1: the sample has it, 0: not; a probability between)",
                   "multi_label data hold a row of 0s and 1s per sample")


def _same_layout(y: np.ndarray, model: Model, rows: Rows) -> bool:
    """Whether a sample's targets are laid out as the output is, axes of size 1 aside (a mask [H, W] for the
    output [1, H, W]): a CSV's rows are flat by nature, an array's axes must match, so that a mask saved
    [W, H] or flattened is not read into [H, W] by its element count alone."""
    if rows.lines is not None:
        return True
    return tuple(d for d in y.shape[1:] if d != 1) == tuple(int(d) for d in model.output_shape if d != 1)


def _yes_no(y: np.ndarray, model: Model, name: str, where: Loc | None, rows: Rows, what: str,
            hint: str, exact: bool = False) -> np.ndarray:
    """Targets of 1 (yes) or 0 (no), or a probability between (not when ``exact``), one per output: as float32
    shaped like the output, or a located error at the first value outside [0, 1] (NaN and inf included)."""
    with np.errstate(over="ignore", invalid="ignore"):
        targets = y.astype(np.float32).reshape(len(y), *model.output_shape)
        flat = targets.reshape(len(y), -1)
        bad = ~np.isfinite(flat) | (flat < 0) | (flat > 1) | ((flat != 0) & (flat != 1) if exact else False)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        cell = int(np.argmax(bad[row]))
        value = y.reshape(len(y), -1)[row][cell]
        raise SpecError(rows.loc(row, rows.target(cell)) or where,
                        f"{_about(name, where)}{rows.name('y', row)} holds {_shown(value)}, "
                        f"not {what}", code="bad-data", hint=hint)
    return targets


def _output_loc(model: Model) -> Loc:
    """Where the network's output is made: its last layer, else (no layers at all) its input."""
    layers = model.layers
    return layers[-1].loc if layers else model.spec.input_loc


def _dense_targets(y: np.ndarray, model: Model, train: TrainSpec, name: str, where: Loc | None,
                   rows: Rows) -> np.ndarray:
    """A class index per position (a language model's [T] against its output [T, V]) or per pixel (a
    segmentation's [H, W] against [C, H, W]): the targets must have the output's shape without its class
    axis, the spec's ``class_axis`` or the one axis whose removal leaves the targets' shape, and every value
    must be a class index below that axis's size. Trained with a class-index loss (cross-entropy, NLL).
    Under a binary loss (bce, bce_with_logits, dice) targets with as many values as the output are a yes/no
    per position instead: a binary segmentation's [H, W] mask against its one-channel [1, H, W] output."""
    from archcalc.spec.train import class_axes, class_axis

    output, target = tuple(int(d) for d in model.output_shape), tuple(y.shape[1:])
    out_loc, loss_loc = _output_loc(model), train.locs.get("loss", train.loc)
    if train.loss in YES_NO_LOSSES:
        if int(np.prod(target)) != int(np.prod(output)) or not _same_layout(y, model, rows):
            raise SpecError(where or out_loc, f"{_about(name, where)}a sample's targets are {shape_text(target)}, "
                            f"but {train.loss} compares a yes/no with each output: {shape_text(output)}",
                            code="data-mismatch", hint=f"give each sample a mask of the output's shape "
                            f"{shape_text(output)} (or [{', '.join(map(str, output[1:]))}] for one channel)"
                            if len(output) > 1 and output[0] == 1 else "give each sample one target per output")
        if train.classes not in (None, 2):
            raise SpecError(train.locs.get("classes", train.loc), f"classes: {train.classes}, but a yes/no per "
                            f"position ({train.loss} on a mask) has 2", code="data-mismatch",
                            hint="classes: 2 (or leave it out); for more classes, one output channel per class and "
                            "cross_entropy")
        return _yes_no(y, model, name, where, rows, "a yes/no per position (1 or 0; a probability between)",
                       "a binary mask holds 0s and 1s")
    if train.loss not in DENSE_LOSSES:
        raise SpecError(loss_loc, f"{name} has a class index per position ({shape_text(target)} per sample), which "
                        f"{train.loss} cannot compare with the output {shape_text(output)}", code="data-mismatch",
                        hint="loss: cross_entropy (or nll after log_softmax over the class axis)")
    axis = class_axis(train, output, target)
    if axis is None:
        fits = class_axes(output, target)
        if train.class_axis is not None:
            raise SpecError(train.locs["class_axis"], f"class_axis {train.class_axis}: the output "
                            f"{shape_text(output)} without that axis is not the shape of {name}'s targets "
                            f"{shape_text(target)}", code="data-mismatch",
                            hint=f"class_axis: {fits[0]}" if fits else "the targets need the output's shape "
                            "without its class axis")
        if fits:
            raise SpecError(out_loc, f"the class axis is ambiguous: the output {shape_text(output)} without axis "
                            f"{' or '.join(str(a) for a in fits)} is {name}'s target shape {shape_text(target)}",
                            code="data-mismatch", hint=f"say which in the train: section, e.g. class_axis: {fits[0]}")
        raise SpecError(out_loc, f"{name} has targets of shape {shape_text(target)} per sample, but the output "
                        f"{shape_text(output)} has no axis whose removal leaves that shape (a class index per "
                        "position needs the output's shape with one more axis: the class scores)",
                        code="data-mismatch", hint="give the output a class axis, e.g. [classes, H, W] for "
                        "[H, W] targets or [T, V] for [T]")
    classes = output[axis]
    if train.classes is not None and train.classes != classes:
        raise SpecError(train.locs.get("classes", train.loc), f"classes: {train.classes}, but the output "
                        f"{shape_text(output)} has {classes} class scores on its class axis {axis}",
                        code="data-mismatch", hint=f"classes: {classes}, or give the output {train.classes}")
    flat = y.reshape(len(y), -1)
    with np.errstate(invalid="ignore"):
        bad = (~np.isfinite(flat) | (flat != np.round(flat)) | (flat < 0) | (flat >= classes)) \
            if flat.dtype.kind == "f" else (flat < 0) | (flat >= classes)
    if bad.any():
        row = int(np.argmax(bad.any(axis=1)))
        cell = int(np.argmax(bad[row]))
        value = flat[row][cell]
        raise SpecError(rows.loc(row, rows.target(cell)) or where or out_loc,
                        f"{_about(name, where)}{rows.name('y', row)} holds {_shown(value)}, "
                        f"not a class index 0 … {classes - 1} (the output has {classes} on its class axis {axis})",
                        code="bad-data", hint=_more_classes(flat, classes))
    return y.astype(np.int64)


def _more_classes(labels: np.ndarray, classes: int) -> str:
    """The hint for a label past the classes: how many scores the class axis needs for the largest label."""
    with np.errstate(invalid="ignore"):
        whole = labels[np.isfinite(labels) & (labels == np.round(labels))] if labels.dtype.kind == "f" else labels
    high = int(whole.max()) if whole.size else -1
    if high >= classes and high < 2 ** 31:
        return f"give the class axis {high + 1} scores (the largest label is {high}), or fix the label"
    return "fix the label, or give the class axis one score per class"
