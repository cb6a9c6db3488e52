"""Every shipped spec through the exports, against ``archcalc.to_torch``: the standalone NumPy file the CLI
writes runs the forward pass torch runs (the same weights, float64), ONNX keeps the sequence length free
where the spec leaves it free, and the full-size vision transformers (ViT-B/16, ConvNeXt-T) export to
both and run.

ONNX's parity on every shipped and test spec at batches 2 and 3 is tests/test_onnx.py's
``test_onnxruntime_computes_what_torch_computes`` (a shipped spec may not be refused there); each
kind's NumPy gradients are tests/test_numpy_gradcheck.py's and test_numpy_parity.py's.
"""

from __future__ import annotations

import runpy

import numpy as np
import onnx
import pytest
import torch

import archcalc
from archcalc.backends.onnx import _free_axes, to_onnx
from archcalc.backends.torch import to_torch
from archcalc.errors import SpecError
from tests.conftest import SPECS, shipped_specs
from tests.export_cases import LARGE, SIZES
from tests.test_onnx import session
from tests.torch_helpers import randomize_norms

#: the full-size vision transformers: test_full_size_vision_transformers_export_and_run (ViT-B/16 runs the
#: NumPy comparison at its small ``--set`` too; ConvNeXt-T has no symbols, so its full size is its only one)
FULL_SIZE = ("vit_b_16", "convnext_tiny")
#: the shipped specs whose ONNX input keeps an axis free besides the batch: the sequence length T
FREE_LENGTH = ("bert-base", "cnn1d-timeseries", "gpt2", "llama-3-8b", "lstm-classifier", "tcn")


def sizes_option(name: str) -> list[str]:
    sizes = SIZES.get(name, {})
    return ["--set", ",".join(f"{k}={v}" for k, v in sizes.items())] if sizes else []


def example(model: archcalc.Model, batch: int, rng: np.random.Generator, shape: tuple | None = None) -> np.ndarray:
    """Token ids for a spec that embeds them, else standard normal values."""
    shape = (batch, *(shape or model.input_shape))
    return rng.integers(0, model.input_ids, size=shape) if model.input_ids else rng.normal(size=shape)


def torch_reference(model: archcalc.Model) -> torch.nn.Module:
    """``archcalc.to_torch`` in evaluation mode, batch norm's statistics moved off 0 and 1."""
    torch.manual_seed(0)
    module = to_torch(model).eval()
    randomize_norms(module)
    return module


def test_the_lists_name_shipped_specs():
    names = {p.stem for p in shipped_specs()}
    assert set(FULL_SIZE) | set(FREE_LENGTH) <= names
    assert set(SIZES) & names >= {name for name in names if archcalc.load(str(SPECS / f"{name}.yaml")).graph.free}


@pytest.mark.parametrize("name", [pytest.param(p.stem, marks=[pytest.mark.slow] if p.stem in LARGE else [])
                                  for p in shipped_specs() if p.stem != "convnext_tiny"])
def test_the_exported_numpy_file_computes_what_torch_computes(name, run, tmp_path, one_thread):
    """``archcalc export --to numpy`` at the spec's small ``--set``; the file's ``build_model`` in float64
    with torch's weights and statistics loaded computes torch's evaluation output (float64) to 1e-6."""
    out = tmp_path / "model.py"
    result = run("export", SPECS / f"{name}.yaml", "--to", "numpy", *sizes_option(name), "-o", out)
    assert result.exit_code == 0, result.output
    model = archcalc.load(str(SPECS / f"{name}.yaml"), **SIZES.get(name, {}))
    module = torch_reference(model).double()
    net = runpy.run_path(str(out))["build_model"](seed=0, dtype="float64").eval()
    net.load_state_dict({key: value.numpy() for key, value in module.state_dict().items()})
    x = example(model, 1 if name in LARGE else 3, np.random.default_rng(0))
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    got = net.forward(x)
    assert got.shape == expected.shape == (len(x), *model.output_shape)
    assert np.abs(got - expected).max() <= 1e-6 * max(1.0, float(np.abs(expected).max()))


def test_the_free_lengths_are_these():
    """The specs whose ONNX input has a free sequence axis, as the exporter decides it (:func:`_free_axes`)."""
    free = {p.stem for p in shipped_specs()
            if _free_axes(archcalc.load(str(p), **SIZES.get(p.stem, {})))[0]}
    assert free == set(FREE_LENGTH)


@pytest.mark.parametrize("name", FREE_LENGTH)
def test_a_free_length_stays_free_in_onnx(name, one_thread):
    """The file's input is [N, …, T, …] with T named, and onnxruntime computes at other lengths what
    ``archcalc.to_torch`` built at that length computes, with the same weights, to 1e-5."""
    model = archcalc.load(str(SPECS / f"{name}.yaml"), **SIZES[name])
    module = torch_reference(model)
    state = module.state_dict()
    proto = to_onnx(model, state)
    (axis, symbol), = _free_axes(model)[0].items()
    (inp,) = proto.graph.input
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == \
        ["N", *(symbol if i == axis else n for i, n in enumerate(model.input_shape))]
    assert inp.type.tensor_type.elem_type == (onnx.TensorProto.INT64 if model.input_ids else onnx.TensorProto.FLOAT)
    value = model.input_shape[axis]
    lengths = []
    for length in (1, 5, value - 1, value + 3):
        try:
            other = archcalc.load(str(SPECS / f"{name}.yaml"), **{**SIZES[name], symbol: length})
        except SpecError:
            continue  # too short for its pooling, or longer than its position table
        if length != value and other.trainable_params == model.trainable_params:
            lengths.append(length)
    assert len(lengths) >= 2
    run = session(proto)
    rng = np.random.default_rng(0)
    for length in lengths:
        other = archcalc.load(str(SPECS / f"{name}.yaml"), **{**SIZES[name], symbol: length})
        reference = to_torch(other).eval()
        reference.load_state_dict(state)
        x = example(other, 2, rng)
        with torch.no_grad():
            expected = reference(torch.from_numpy(x if model.input_ids else x.astype(np.float32))).numpy()
        (got,) = run.run(["output"], {"input": x if model.input_ids else x.astype(np.float32)})
        assert got.shape == expected.shape == (2, *other.output_shape)
        assert np.abs(got - expected).max() <= 1e-5 * max(1.0, float(np.abs(expected).max()))


@pytest.mark.slow
@pytest.mark.parametrize("name", FULL_SIZE)
def test_full_size_vision_transformers_export_and_run(name, run, tmp_path, one_thread):
    """ViT-B/16 (86,567,656 parameters) and ConvNeXt-T (28,589,128) at full size, 224×224: the CLI writes
    the ONNX file and the NumPy file; torch's module gets the ONNX file's weights (every parameter and
    statistic), the NumPy file's network the same; onnxruntime and the NumPy forward pass (float32) give
    torch's output on one image to 1e-5."""
    spec = SPECS / f"{name}.yaml"
    for target, suffix in (("onnx", ".onnx"), ("numpy", ".py")):
        result = run("export", spec, "--to", target, "-o", tmp_path / f"model{suffix}")
        assert result.exit_code == 0, result.output
    model = archcalc.load(str(spec))
    proto = onnx.load(str(tmp_path / "model.onnx"))
    module = to_torch(model).eval()
    state = module.state_dict()  # the initialisers are its keys (batch norm's counter aside), and constants
    weights = {i.name: torch.from_numpy(onnx.numpy_helper.to_array(i).copy()) for i in proto.graph.initializer
               if i.name in state}
    assert all(key.endswith("num_batches_tracked") for key in set(state) - set(weights))
    module.load_state_dict(weights, strict=False)
    assert sum(w.numel() for key, w in weights.items() if key in dict(module.named_parameters())) == \
        model.trainable_params
    net = runpy.run_path(str(tmp_path / "model.py"))["build_model"](seed=0).eval()
    net.load_state_dict({key: value.numpy() for key, value in module.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(1, *model.input_shape)).astype(np.float32)
    with torch.no_grad():
        expected = module(torch.from_numpy(x)).numpy()
    (got,) = session(proto).run(["output"], {"input": x})
    scale = max(1.0, float(np.abs(expected).max()))
    assert got.shape == expected.shape == (1, 1000)
    assert np.abs(got - expected).max() <= 1e-5 * scale
    computed = net.forward(x)
    assert computed.dtype == np.float32 and computed.shape == (1, 1000)
    assert np.abs(computed - expected).max() <= 1e-5 * scale
