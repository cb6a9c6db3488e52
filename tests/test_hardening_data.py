"""``train --data`` and ``export --weights`` on broken data files: each a located ``bad-data`` error naming
the file, the array and the row, before any training, and nothing written (issue 20).

Every file here is built the way a real one goes wrong: misaligned arrays, labels that are infinite, huge
or fractional, a zip signature on something else, a ``.npy`` header cut short or declaring more than the
member holds, a CSV saved with a byte-order mark, a data "file" that never ends.
"""

from __future__ import annotations

import io
import os
import zipfile

import numpy as np
import numpy.lib.format as npy
import pytest

SPEC = "input: [4]\nlayers:\n  - linear: 3\ntrain: {epochs: 1, batch_size: 8}\n"
REGRESSION = "input: [4]\nlayers:\n  - linear: 1\ntrain: {epochs: 1, task: regression, loss: mse}\n"


@pytest.fixture
def arrays():
    rng = np.random.default_rng(0)
    return rng.random((60, 4)), rng.integers(0, 3, 60)


def _train(run, write, data, spec=SPEC, *args):
    out = data.parent / "w.npz"
    result = run("train", write(spec), "--data", data, "-o", out, *args)
    assert result.exit_code == 2, result.output
    assert not out.exists()
    return result.stderr


def _one_error(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if not line.startswith("note: ")]
    return "\n".join(lines)


@pytest.mark.parametrize("x_rows, y_rows", [(60, 30), (30, 60)])
def test_x_and_y_with_different_row_counts(run, write, tmp_path, arrays, x_rows, y_rows):
    x, y = arrays
    data = tmp_path / "d.npz"
    np.savez(data, x=np.resize(x, (x_rows, 4)), y=np.resize(y, y_rows))
    assert _one_error(_train(run, write, data)) == (
        f"{data}:1:1: error: x has {x_rows} rows but y has {y_rows}: every sample needs its target, in the "
        "same order\n  hint: save x and y with one row per sample")


@pytest.mark.parametrize("label, shown", [(np.inf, "inf"), (-np.inf, "-inf"), (np.nan, "nan"), (1.5, "1.5"),
                                          (-1.0, "-1")])
def test_a_label_that_is_not_a_class_index_in_npz(run, write, tmp_path, arrays, label, shown):
    x, y = arrays
    y = y.astype(float)
    y[7] = label
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=y)
    assert _one_error(_train(run, write, data)) == (
        f"{data}:1:1: error: y row 7 is {shown}, not a class index (0, 1, 2, …)\n"
        "  hint: or set task: regression in the spec's train: section")


@pytest.mark.parametrize("label, shown", [("1e30", "1e+30"), ("3", "3"), ("9223372036854775808", "9.22337e+18")])
def test_a_label_past_the_classes_in_csv_names_the_spec_and_the_line(run, write, tmp_path, arrays, label, shown):
    x, y = arrays
    lines = [",".join(f"{v:.3f}" for v in row) + f",{c}" for row, c in zip(x, y)]
    lines[11] = lines[11].rsplit(",", 1)[0] + f",{label}"
    data = tmp_path / "d.csv"
    data.write_text("a,b,c,d,label\n" + "\n".join(lines) + "\n")
    stderr = _one_error(_train(run, write, data))
    column = len(lines[11].rsplit(",", 1)[0]) + 2  # the label's cell
    assert stderr.startswith(f"{data}:13:{column}: error: d.csv has class {shown} but the spec has 3 classes "
                             "(0 … 2): y row 11 (line 13)\n  hint: fix the label, or give the last layer one "
                             "output per class\n"
                             "  note: the spec's classes: ")
    assert stderr.endswith(".yaml:4:8")


def test_an_infinite_label_in_csv_is_located_at_its_cell(run, write, tmp_path, arrays):
    x, y = arrays
    lines = [",".join(f"{v:.3f}" for v in row) + f",{c}" for row, c in zip(x, y)]
    lines[10] = lines[10].rsplit(",", 1)[0] + ",inf"
    data = tmp_path / "d.csv"
    data.write_text("\n".join(lines) + "\n")
    column = len(lines[10].rsplit(",", 1)[0]) + 2
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:11:{column}: error: y row 10 (line 11) is inf, not a class index (0, 1, 2, …)")


def test_inputs_and_regression_targets_must_be_finite_float32(run, write, tmp_path, arrays):
    x, y = arrays
    x = x.copy()
    x[5, 2] = 1e39  # finite in float64, infinite as float32
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=y)
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:1:1: error: x row 5 holds 1e+39, which is not a finite float32")
    np.savez(data, x=arrays[0], y=np.where(np.arange(60) == 4, np.nan, 1.0))
    assert _one_error(_train(run, write, data, REGRESSION)).startswith(
        f"{data}:1:1: error: y row 4 is not a finite float32 target")


def test_data_outside_the_declared_input_or_target_range_is_refused_at_the_declaration(run, write, tmp_path, arrays):
    x, _ = arrays
    data = tmp_path / "d.npz"
    np.savez(data, x=x * 300, y=np.linspace(5, 900, 60))
    spec = REGRESSION.replace("loss: mse}", "loss: mse, target_range: [5, 500]}")
    assert _one_error(_train(run, write, data, spec.replace("layers:", "data: {range: [0, 255]}\nlayers:"))) == (
        f"{tmp_path / 'spec0.yaml'}:2:15: error: d.npz has inputs from {x.min() * 300:g} to {x.max() * 300:g}, outside "
        f"the declared range [0, 255]\n  hint: declare the range the data have (range: [{x.min() * 300:g}, "
        f"{x.max() * 300:g}]), or scale the data")
    assert _one_error(_train(run, write, data, spec)) == (
        f"{tmp_path / 'spec1.yaml'}:4:63: error: d.npz has targets from 5 to 900, outside the declared target_range "
        "[5, 500]\n  hint: declare the range the targets have (target_range: [5, 900]), or scale the targets")


def test_complex_or_text_arrays_are_not_data(run, write, tmp_path, arrays):
    x, y = arrays
    data = tmp_path / "d.npz"
    np.savez(data, x=x.astype(complex), y=y)
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:1:1: error: x must hold real numbers, got complex128")
    np.savez(data, x=x, y=y.astype(str))
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:1:1: error: y must hold real numbers, got <U")


def _weights_export(run, tmp_path, weights):
    spec = tmp_path / "s.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "m.onnx"
    result = run("export", spec, "--to", "onnx", "--weights", weights, "-o", out)
    assert result.exit_code == 2, result.output
    assert not out.exists()
    return result.stderr


def test_a_zip_signature_on_something_else(run, write, tmp_path):
    data = tmp_path / "d.npz"
    data.write_bytes(b"PK\x03\x04" + b"not a zip at all" * 4)
    message = "starts like a zip archive but is not one: File is not a zip file"
    assert _one_error(_train(run, write, data)) == (
        f"{data}:1:1: error: {message}\n  hint: np.savez(path, x=samples, y=targets)")
    assert _weights_export(run, tmp_path, data).startswith(f"{data}:1:1: error: {message}\n")


def _npz_with(path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for name, raw in members.items():
            archive.writestr(name, raw)


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


@pytest.mark.parametrize("cut", [8, 12, 30, 60])
def test_a_truncated_npy_header_inside_npz(run, write, tmp_path, arrays, cut):
    x, y = arrays
    data = tmp_path / "d.npz"
    _npz_with(data, {"x.npy": _npy_bytes(x), "y.npy": _npy_bytes(y)[:cut]})
    stderr = _one_error(_train(run, write, data))
    assert stderr.startswith(f"{data}:1:1: error: array 'y' has a damaged .npy header ("), stderr
    assert _weights_export(run, tmp_path, data).startswith(f"{data}:1:1: error: array 'y' has a damaged .npy header")


def test_a_header_that_declares_more_than_the_member_holds(run, write, tmp_path, arrays):
    """numpy allocates what the header declares before it reads a byte; archcalc checks it first."""
    x, _ = arrays
    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**11,)})
    data = tmp_path / "d.npz"
    _npz_with(data, {"x.npy": _npy_bytes(x), "y.npy": header.getvalue() + b"\0" * 80})
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:1:1: error: array 'y' is truncated: its header declares [100000000000] of float64 "
        "(800,000,000,000 bytes) but it holds 80")


def test_object_arrays_are_refused_without_unpickling(run, write, tmp_path, arrays):
    x, _ = arrays
    data = tmp_path / "d.npz"
    np.savez(data, x=x, y=np.array([object()] * 60, dtype=object))
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:1:1: error: array 'y' holds object values, which are not numbers")


def test_a_csv_with_a_byte_order_mark_keeps_its_first_row(run, write, tmp_path):
    """The first row of a CSV saved with a BOM is data, not a header: all 20 rows train (14 in training)."""
    rng = np.random.default_rng(1)
    lines = [",".join(f"{v:.3f}" for v in rng.random(4)) + f",{i % 3}" for i in range(20)]
    data = tmp_path / "d.csv"
    data.write_text("\n".join(lines) + "\n", encoding="utf-8-sig")
    result = run("train", write(SPEC), "--data", data, "--format", "json")
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout)["samples"] == {"train": 14, "validation": 3, "test": 3}


def test_a_data_file_that_never_ends_is_bounded(run, write, tmp_path):
    """``--data /dev/zero`` (here through a link named .csv) reads at most max_data_bytes, then stops."""
    data = tmp_path / "zero.csv"
    os.symlink("/dev/zero", data)
    assert _one_error(_train(run, write, data, SPEC, "--limit", "max_data_bytes=1000000")) == (
        f"{data}:1:1: error: is larger than the 1,000,000-byte limit for data files\n"
        "  hint: raise it with --limit max_data_bytes=N if the file is right")


def test_an_npz_that_unpacks_past_the_limit(run, write, tmp_path):
    data = tmp_path / "d.npz"
    np.savez_compressed(data, x=np.zeros((5000, 4)), y=np.zeros(5000))
    assert os.path.getsize(data) < 10_000
    assert _one_error(_train(run, write, data, SPEC, "--limit", "max_data_bytes=100000")) == (
        f"{data}:1:1: error: its arrays unpack to 200,256 bytes, past the 100,000-byte limit for data files\n"
        "  hint: raise it with --limit max_data_bytes=N")


def test_a_csv_with_cr_line_ends_reads_every_row(run, write, tmp_path):
    rows = [f"{i % 5},{i % 7},{i % 3},{i % 2},{i % 3}" for i in range(20)]
    data = tmp_path / "d.csv"
    data.write_bytes(("\r".join(rows) + "\r").encode())
    result = run("train", write(SPEC), "--data", data, "--format", "json")
    assert result.exit_code == 0, result.output
    import json

    assert json.loads(result.stdout)["samples"] == {"train": 14, "validation": 3, "test": 3}
    rows[12] = "1,2,3,4,inf"
    data.write_bytes(("\r".join(rows) + "\r").encode())
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:13:9: error: y row 12 (line 13) is inf, not a class index")


def test_an_empty_array_that_declares_a_huge_shape(run, write, tmp_path, arrays):
    """(10**18, 0, 4) holds no values, but numpy cannot make it: refused from its header (found by fuzzing)."""
    _, y = arrays
    header = io.BytesIO()
    npy.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**18, 0, 4)})
    data = tmp_path / "d.npz"
    _npz_with(data, {"x.npy": header.getvalue(), "y.npy": _npy_bytes(y)})
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:1:1: error: array 'x' declares [1000000000000000000, 0, 4] of float64, past the 1,000,000,000-byte "
        "limit for data files")


def test_a_zip_that_needs_a_version_python_lacks(run, write, tmp_path, arrays):
    """A damaged 'version needed' field (6.4) made zipfile raise NotImplementedError (found by fuzzing)."""
    x, y = arrays
    data = tmp_path / "d.npz"
    np.savez_compressed(data, x=x, y=y)
    raw = bytearray(data.read_bytes())
    raw[raw.find(b"PK\x01\x02") + 6] = 64
    data.write_bytes(bytes(raw))
    assert _one_error(_train(run, write, data)) == (
        f"{data}:1:1: error: starts like a zip archive but is not one: zip file version 6.4\n"
        "  hint: np.savez(path, x=samples, y=targets)")


def test_a_csv_value_that_is_not_finite_is_located_at_its_cell(run, write, tmp_path):
    """An input at its feature's cell, a regression target at its own target column, leading spaces skipped:
    the column to look at, not the start of the line."""
    data = tmp_path / "d.csv"
    data.write_text("a,b,c,d,y\n1,2,3,4,0\n1, 1e39,3,4,1\n")
    assert _one_error(_train(run, write, data)).startswith(
        f"{data}:3:4: error: x row 1 (line 3) holds 1e+39, which is not a finite float32")
    spec = write("input: [3]\nlayers:\n  - linear: 2\ntrain:\n  task: regression\n  loss: mse\n"
                 "  optimizer: {sgd: {lr: 0.1}}\n  epochs: 1\n")
    data.write_text("a,b,c,y,z\n1,2,3,0,1\n1,2,3,0,nan\n")
    result = run("train", spec, "--data", data, "-o", tmp_path / "w.npz")
    assert result.exit_code == 2 and not (tmp_path / "w.npz").exists()
    assert result.stderr.startswith(f"{data}:3:9: error: y row 1 (line 3) is not a finite float32 target")


def test_an_embedding_models_inputs_must_be_token_ids(run, write, tmp_path):
    """Real numbers given to a model whose first layer is an embedding: a located data error (torch raised an
    internal IndexError, NumPy wrapped negative values around the table; found by CI's fuzz test)."""
    import numpy as np

    spec = write("input: [8]\nlayers:\n  - embedding: {vocab: 10, dim: 4}\n  - mean: 0\n  - linear: 2\n"
                 "train: {task: classification, classes: 2}\n")
    data = tmp_path / "d.npz"
    x = np.tile(np.arange(8), (6, 1)).astype(np.float32)
    x[3, 5] = -1
    np.savez(data, x=x, y=np.arange(6) % 2)
    for backend in ("numpy", "torch"):
        result = run("train", spec, "--data", data, "--backend", backend, "-o", tmp_path / "w.npz")
        assert result.exit_code == 2 and not (tmp_path / "w.npz").exists()
        assert result.stderr.startswith(f"{data}:1:1: error: x row 3 holds -1, not a token id (0 … 9: the "
                                        "embedding's rows)"), result.stderr
