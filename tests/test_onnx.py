"""``archcalc export --to onnx``: opset 17 / IR 8 files that pass the full checker and compute in
onnxruntime what torch computes, on every spec and every kind's cases (tests/kinds.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch

import archcalc
from archcalc.backends.onnx import IR_VERSION, OPSET, to_onnx
from archcalc.backends.onnx.ops import OPS
from archcalc.backends.torch import to_torch
from archcalc.errors import SpecError
from archcalc.layers import LAYERS
from tests.conftest import SPECS
from tests.export_cases import LARGE, cases
from tests.kinds import KINDS as RECORD
from tests.kinds import ONNX, tensors
from tests.kinds import cases as kind_cases
from tests.torch_helpers import randomize_norms


def session(proto: onnx.ModelProto) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # run the graph as written
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")  # idle threads leave the cores
    return ort.InferenceSession(proto.SerializeToString(), options, providers=["CPUExecutionProvider"])


def test_every_registered_kind_has_exactly_one_onnx_entry():
    """Or its refusal is recorded in tests/kinds.py (the kinds issue 12 brings to ONNX)."""
    refused = {kind for kind, entry in RECORD.items() if "onnx" in entry.refuses}
    assert set(OPS) == {cls.kind for cls in LAYERS.values()} - refused


def agrees(module: torch.nn.Module, proto: onnx.ModelProto, examples, batches: tuple[int, ...], tol: float) -> None:
    """onnxruntime computes with ``proto`` what ``module`` (in eval mode) computes, on ``examples(batch)``
    for each batch size (the batch dimension is symbolic); the model's inputs in the order of the graph's."""
    run = session(proto)
    names = [i.name for i in run.get_inputs()]
    for batch in batches:
        xs = examples(batch)
        with torch.no_grad():
            expected = module(*xs).numpy()
        (got,) = run.run(["output"], {name: x.numpy() for name, x in zip(names, xs)})
        assert got.shape == expected.shape
        # float32 rounds relative to the values' size: outputs in the thousands (a constant init) differ by ulps
        assert np.abs(got - expected).max() <= tol * max(1.0, float(np.abs(expected).max()))


@pytest.mark.parametrize("case", cases())
def test_onnxruntime_computes_what_torch_computes(case):
    model = case.load()
    if any(node.layer.init is not None and node.layer.init.weight is not None
           and node.layer.init.weight.constant not in (None, 0.0) for node in model.layers):
        pytest.skip("weights that all start at one non-zero value (the benchmark cases' faulty init) make logits in "
                    "the thousands, where two float32 runtimes round apart by more than 1e-5 after a softmax")
    torch.manual_seed(0)
    module = to_torch(model).eval()
    randomize_norms(module)
    try:
        proto = to_onnx(model, module.state_dict())
    except SpecError as e:
        if e.code != "export-unsupported" or case.shipped:  # every shipped spec exports (issue 12)
            raise
        pytest.skip(e.message)
    ids = model.input_ids  # the transformers take int64 token ids

    def examples(batch: int) -> list[torch.Tensor]:
        shape = (batch, *model.input_shape)
        return [torch.randint(0, ids, shape) if ids else torch.randn(shape)]

    agrees(module, proto, examples, (2,) if case.path.stem in LARGE else (2, 3), 1e-5)


@pytest.mark.parametrize("case", kind_cases(ONNX))
def test_each_kind_computes_what_torch_computes(case, one_thread):
    model = case.load()
    torch.manual_seed(0)
    module = to_torch(model).eval()
    randomize_norms(module)
    proto = to_onnx(model, module.state_dict())
    rng = np.random.default_rng(0)
    agrees(module, proto, lambda batch: tensors(case.examples(batch, rng)), (2, 3), case.tol.onnx)


def test_the_file_is_opset_17_ir_8_with_a_symbolic_batch_and_torchs_weights(run, tmp_path):
    out = tmp_path / "resnet18.onnx"
    assert run("export", SPECS / "resnet18.yaml", "--to", "onnx", "--set", "H=64,W=64", "-o", out).exit_code == 0
    proto = onnx.load(str(out))
    onnx.checker.check_model(proto, full_check=True)
    assert proto.ir_version == IR_VERSION == 8
    assert [(o.domain, o.version) for o in proto.opset_import] == [("", OPSET)] and OPSET == 17
    (inp,), (outp,) = proto.graph.input, proto.graph.output
    assert inp.name == "input" and [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == \
        ["N", 3, 64, 64]
    assert outp.name == "output" and [d.dim_param or d.dim_value for d in outp.type.tensor_type.shape.dim] == \
        ["N", 1000]
    state = to_torch(SPECS / "resnet18.yaml", H=64, W=64).state_dict()
    assert {i.name for i in proto.graph.initializer} == {k for k in state if not k.endswith("num_batches_tracked")}
    assert sum(int(np.prod(i.dims)) for i in proto.graph.initializer) == 11_689_512 + 2 * 4800
    ops = [n.op_type for n in proto.graph.node]
    assert ops.count("Conv") == 20 and ops.count("Add") == 8 and ops[-1] == "Gemm"
    assert proto.graph.node[0].name == "conv1" and "layer2.0.downsample.0" in {n.name for n in proto.graph.node}
    again = tmp_path / "again.onnx"
    assert run("export", SPECS / "resnet18.yaml", "--to", "onnx", "--set", "H=64,W=64", "-o", again).exit_code == 0
    assert again.read_bytes() == out.read_bytes()  # fixed seed: the same spec gives the same file


def test_export_writes_once_and_overwrites_only_with_force(run, tmp_path):
    out = tmp_path / "lenet5.onnx"
    out.write_bytes(b"mine")
    result = run("export", SPECS / "lenet5.yaml", "--to", "onnx", "-o", out)
    assert result.exit_code == 2 and "already exists" in result.stderr and out.read_bytes() == b"mine"
    assert run("export", SPECS / "lenet5.yaml", "--to", "onnx", "-o", out, "--force").exit_code == 0
    assert onnx.load(str(out)).graph.name == "lenet5"


def test_weights_too_large_for_one_file_are_refused_before_any_is_built(run, tmp_path):
    """Llama 3 8B's 32 GB of float32 weights do not fit in an ONNX file (a protobuf message holds 2 GiB):
    the export said so only after building them for minutes (or was killed for memory). Now it is refused
    at once, at the layer that holds the most, and nothing is written."""
    out = tmp_path / "llama.onnx"
    result = run("export", SPECS / "llama-3-8b.yaml", "--to", "onnx", "-o", out)
    assert result.exit_code == 2 and not out.exists()
    first = result.stderr.splitlines()[0]
    assert first.startswith(f"{SPECS / 'llama-3-8b.yaml'}:34:9: error: the ONNX file would hold 32.1 GB"), first
    assert "at most 2 GiB" in first and "hint: export a smaller configuration" in result.stderr


@pytest.mark.parametrize("layers, message", [
    ("[adaptive_avgpool2d: [3, 3]]", "adaptive_avgpool2d: pooling 10×10 to 3×3 uses windows of different sizes, "
                                     "which ONNX cannot express"),
    ("[avgpool2d: {kernel: 4, stride: 3, padding: 2, ceil_mode: true}]",
     "avgpool2d: ceil_mode drops a last window that starts in the padding, which ONNX cannot express"),
])
def test_what_onnx_cannot_express_is_a_located_error_and_no_file(run, write, tmp_path, layers, message):
    spec = write(f"input: [2, 10, 10]\nlayers: {layers}\n")
    out = tmp_path / "m.onnx"
    result = run("export", spec, "--to", "onnx", "-o", out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:2:10: error: {message}\n  hint: ")
    assert not out.exists()
    assert to_torch(spec)(torch.randn(1, 2, 10, 10)).shape[1] == 2  # torch can


def test_batchnorm_momentum_follows_onnxs_convention():
    model = archcalc.loads("input: [3, 4, 4]\nlayers: [batchnorm2d: {momentum: 0.2, eps: 0.001}]")
    (node,) = to_onnx(model).graph.node
    attributes = {a.name: onnx.helper.get_attribute_value(a) for a in node.attribute}
    assert attributes == {"epsilon": pytest.approx(0.001), "momentum": pytest.approx(0.8)}


REFUSED = {"maxpool2d": Counter({"ceil_mode here needs end padding as wide as the kernel": 1}),
           "avgpool2d": Counter({"ceil_mode drops a last window that starts in the padding": 13})}


@pytest.mark.parametrize("kind", ["maxpool2d", "avgpool2d"])
def test_ceil_mode_pooling_matches_torch_or_is_refused(kind):
    """Every ceil_mode pool over a grid of sizes, kernels, strides, paddings and dilations: onnxruntime
    computes torch's result, or (average pooling that drops a window) the export is refused."""
    refused = []
    for h, w in ((4, 7), (5, 6), (7, 7)):
        for kernel in range(1, 5):
            for stride in (1, 2, 3):
                for padding in range(kernel // 2 + 1):
                    for dilation in (1, 2) if kind == "maxpool2d" else (1,):
                        extra = f", dilation: {dilation}" if kind == "maxpool2d" else ""
                        try:
                            model = archcalc.loads(f"input: [1, {h}, {w}]\nlayers:\n  - {kind}: {{kernel: {kernel}, "
                                                   f"stride: {stride}, padding: {padding}{extra}, ceil_mode: true}}\n")
                        except SpecError as e:
                            assert e.code == "non-positive-size"
                            continue
                        module = to_torch(model).eval()
                        try:
                            proto = to_onnx(model)
                        except SpecError as e:
                            assert e.code == "export-unsupported"
                            refused.append(e.message.split(": ")[1].split(" (")[0].split(",")[0])
                            continue
                        x = torch.randn(2, 1, h, w)
                        (got,) = session(proto).run(["output"], {"input": x.numpy()})
                        np.testing.assert_allclose(got, module(x).numpy(), atol=1e-6, err_msg=model.spec.source)
    assert Counter(refused) == REFUSED[kind]


@pytest.mark.parametrize("name", ["gpt2", "bert-base", "llama-3-8b"])
def test_a_free_sequence_length_stays_free(name, one_thread):
    """The shipped transformers leave T free: the file's input is [N, T] (int64 ids) and its output's
    sequence axis T too, and onnxruntime computes torch's output at other lengths, one token included."""
    from tests.export_cases import SIZES

    model = archcalc.load(str(SPECS / f"{name}.yaml"), **SIZES[name])
    torch.manual_seed(0)
    module = to_torch(model).eval()
    proto = to_onnx(model, module.state_dict())
    (inp,), (outp,) = proto.graph.input, proto.graph.output
    assert inp.type.tensor_type.elem_type == onnx.TensorProto.INT64
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["N", "T"]
    dims = [d.dim_param or d.dim_value for d in outp.type.tensor_type.shape.dim]
    assert dims == (["N", model.output_shape[0]] if name == "bert-base" else ["N", "T", model.output_shape[1]])
    for length in (1, 5):
        agrees(module, proto, lambda batch, length=length: [torch.randint(0, model.input_ids, (batch, length))],
               (2,), 1e-5)


def test_a_length_baked_into_an_op_stays_fixed():
    """A reshape holds its exported shape, so the sequence axis of a spec with one stays a number."""
    model = archcalc.loads("input: [T, 4]\nsymbols: {T: 6}\nlayers: [linear: 4, reshape: [-1, 2]]\n")
    (inp,) = to_onnx(model).graph.input
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["N", 6, 4]
    free = archcalc.loads("input: [T, 4]\nsymbols: {T: 6}\nlayers: [linear: 4, layernorm]\n")
    (inp,) = to_onnx(free).graph.input
    assert [d.dim_param or d.dim_value for d in inp.type.tensor_type.shape.dim] == ["N", "T", 4]
