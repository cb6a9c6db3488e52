"""``archcalc export --to onnx --weights weights.npz``: trained weights into a deployable file,
checked against the spec first."""

from __future__ import annotations

import os

import numpy as np
import pytest

ort = pytest.importorskip("onnxruntime")
pytest.importorskip("onnx")

import archcalc  # noqa: E402
from archcalc.backends.numpy import to_numpy  # noqa: E402
from tests.conftest import SPECS  # noqa: E402

HINT = "  hint: use the file 'archcalc train SPEC -o weights.npz' wrote for this spec (with the same --set values)\n"


def _outputs(path, x: np.ndarray) -> np.ndarray:
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return session.run(None, {"input": x})[0]


def test_trained_weights_reach_the_onnx_file(run, tmp_path):
    spec = SPECS / "digits-cnn.yaml"
    weights = tmp_path / "weights.npz"
    assert run("train", spec, "--epochs", "2", "-o", weights, "--format", "json").exit_code == 0
    trained, fresh = tmp_path / "trained.onnx", tmp_path / "fresh.onnx"
    result = run("export", spec, "--to", "onnx", "--weights", weights, "-o", trained)
    assert result.exit_code == 0 and result.stderr == f"wrote {trained}\n"
    assert run("export", spec, "--to", "onnx", "-o", fresh).exit_code == 0

    network = to_numpy(archcalc.load(str(spec)))  # the same arrays through the NumPy backend, in eval mode
    with np.load(weights) as saved:
        network.load_state_dict({key: saved[key] for key in saved.files})
    network.train(False)
    x = np.random.default_rng(0).random((5, 1, 8, 8), dtype=np.float32)
    expected = network.forward(x)
    np.testing.assert_allclose(_outputs(trained, x), expected, rtol=1e-5, atol=1e-5)
    assert not np.allclose(_outputs(fresh, x), expected, atol=1e-3)


@pytest.fixture
def mlp_weights(tmp_path):
    """A state dict of specs/digits-mlp.yaml, as training saves it."""
    state = to_numpy(archcalc.load(str(SPECS / "digits-mlp.yaml"))).state_dict()
    return tmp_path, state


def _export(run, folder, state: dict, spec: str = "digits-mlp.yaml", target: str = "onnx"):
    weights = folder / "w.npz"
    np.savez(weights, **state)
    out = folder / ("model.onnx" if target == "onnx" else "model.py")
    result = run("export", SPECS / spec, "--to", target, "--weights", weights, "-o", out)
    assert result.exit_code == 2 and result.stdout == "" and not out.exists()
    return weights, result.stderr


def test_weights_of_another_spec(run, mlp_weights):
    folder, state = mlp_weights
    weights, stderr = _export(run, folder, state, spec="digits-cnn.yaml")
    assert stderr == f"{weights}:1:1: error: has no weights for conv1.weight (and 13 more)\n" + HINT


def test_a_missing_an_extra_and_a_misshapen_array(run, mlp_weights):
    folder, state = mlp_weights
    first = next(iter(state))
    weights, stderr = _export(run, folder, {k: v for k, v in state.items() if k != first})
    assert stderr == f"{weights}:1:1: error: has no weights for {first}\n" + HINT
    weights, stderr = _export(run, folder, {**state, "head.weight": np.zeros(3, np.float32)})
    assert stderr == f"{weights}:1:1: error: holds head.weight, which digits-mlp has no place for\n" + HINT
    shape = state[first].shape
    weights, stderr = _export(run, folder, {**state, first: np.zeros((shape[0] + 1, *shape[1:]), np.float32)})
    assert stderr == (f"{weights}:1:1: error: {first} is [{shape[0] + 1}, {shape[1]}] but digits-mlp's is "
                      f"[{shape[0]}, {shape[1]}]\n" + HINT)
    weights, stderr = _export(run, folder, {**state, first: np.full(shape, np.nan, np.float32)})
    assert stderr.startswith(f"{weights}:1:1: error: {first} holds NaN or infinite values\n")
    weights, stderr = _export(run, folder, {**state, first: np.full(shape, 1e300, np.float64)})
    assert stderr.startswith(f"{weights}:1:1: error: {first} holds values beyond float32 (up to 1e+300; float32 "
                             "stops at 3.4e+38), which the models compute in\n")


def test_not_weights_and_not_onnx(run, mlp_weights):
    folder, state = mlp_weights
    text = folder / "w.npz"
    text.write_text("input: [3]\n")
    out = folder / "model.onnx"
    result = run("export", SPECS / "digits-mlp.yaml", "--to", "onnx", "--weights", text, "-o", out)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr == (f"{text}:1:1: error: is not an .npz file (a zip archive of arrays)\n"
                             "  hint: weights are saved with numpy.savez(path, **state_dict)\n")
    _, stderr = _export(run, folder, state, target="torch")
    assert "Invalid value for '--weights': the torch export is code that builds its own weights" in stderr
    assert os.listdir(folder) == ["w.npz"]


def test_a_parameter_free_models_weights_are_an_empty_archive(run, tmp_path):
    """np.savez of no arrays writes a zip of its end record alone ("PK\\x05\\x06"): a model without parameters
    (a reflection pad) exports with it (it was 'is not an .npz file')."""
    spec, weights, out = tmp_path / "pad.yaml", tmp_path / "w.npz", tmp_path / "pad.onnx"
    spec.write_text("input: [3, 8]\nlayers:\n  - pad: {padding: [1, 1], mode: reflect}\n", encoding="utf-8")
    np.savez(weights)
    result = run("export", spec, "--to", "onnx", "--weights", weights, "-o", out)
    assert result.exit_code == 0, result.output
    assert out.exists()
