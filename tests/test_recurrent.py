"""The recurrent kinds (lstm, gru, rnn) against torch itself, beyond the per-kind record (tests/kinds.py):
state_dict keys by name, every output choice, MACs as torch.utils.flop_counter counts them, sequence
length T free, receptive fields along T, the lint rules, located errors, and the shipped classifier
against a hand-written PyTorch model."""

from __future__ import annotations

import json
import time
import warnings

import pytest
import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

import archcalc
from archcalc.backends.torch import to_torch
from archcalc.calc.flops import work
from archcalc.calc.rf import GLOBAL, receptive_fields
from archcalc.errors import SpecError
from tests.conftest import SPECS
from tests.torch_helpers import import_file

#: (spec arguments, the torch module a user writes for them on F = 6 input features)
CONFIGS = [
    ("lstm: {hidden: 5}", lambda: nn.LSTM(6, 5, batch_first=True)),
    ("lstm: {hidden: 5, num_layers: 3, bidirectional: true, dropout: 0.1}",
     lambda: nn.LSTM(6, 5, 3, batch_first=True, bidirectional=True, dropout=0.1)),
    ("lstm: {hidden: 5, proj_size: 3, num_layers: 2, bidirectional: true, bias: false}",
     lambda: nn.LSTM(6, 5, 2, bias=False, batch_first=True, bidirectional=True, proj_size=3)),
    ("gru: {hidden: 4, num_layers: 2, bidirectional: true}",
     lambda: nn.GRU(6, 4, 2, batch_first=True, bidirectional=True)),
    ("gru: {hidden: 4, bias: false}", lambda: nn.GRU(6, 4, bias=False, batch_first=True)),
    ("rnn: {hidden: 3, num_layers: 2, nonlinearity: relu}",
     lambda: nn.RNN(6, 3, 2, nonlinearity="relu", batch_first=True)),
    ("rnn: {hidden: 3, bidirectional: true}", lambda: nn.RNN(6, 3, batch_first=True, bidirectional=True)),
]
IDS = [c[0].split(":")[0] + str(i) for i, c in enumerate(CONFIGS)]


def spec(layer: str, t: object = 7, output: str = "sequence") -> str:
    layer = layer[:-1] + f", output: {output}, name: r}}"
    return f"input: [{t}, 6]\nlayers:\n  - {layer}\n"


def pick(real: nn.Module, y: torch.Tensor, state: object, output: str) -> torch.Tensor:
    """What a PyTorch user writes for each output choice."""
    h = state[0] if isinstance(state, tuple) else state
    if output == "sequence":
        return y
    if output == "last":
        return y[:, -1]
    return torch.cat([h[-2], h[-1]], dim=-1) if real.bidirectional else h[-1]


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
@pytest.mark.parametrize("output", ["sequence", "last", "hidden"])
def test_torch_parameters_names_and_outputs(config, output):
    """torch's own parameter count; the real module's state_dict loads by name with strict=True; the
    outputs agree to 1e-5 in eval mode for every output choice (batch 3, T = 7)."""
    layer, make = config
    torch.manual_seed(0)
    real = make().eval()
    model = archcalc.loads(spec(layer, output=output))
    assert model.trainable_params == sum(p.numel() for p in real.parameters())
    ours = to_torch(model).eval()
    assert list(ours.state_dict()) == [f"r.{key}" for key in real.state_dict()]
    ours.load_state_dict({f"r.{key}": value for key, value in real.state_dict().items()}, strict=True)
    x = torch.randn(3, 7, 6)
    with torch.no_grad():
        y, state = real(x)
        expected = pick(real, y, state, output)
        got = ours(x)
    assert tuple(got.shape[1:]) == model.output_shape
    torch.testing.assert_close(got, expected, rtol=0, atol=1e-5)


def test_last_step_and_final_state_differ_only_when_bidirectional():
    """``last`` is output[:, -1]: the forward direction's final state beside the backward direction's
    first step (it has read only the last position); ``hidden`` is h_n: both directions' final states."""
    torch.manual_seed(0)
    real = nn.GRU(6, 4, batch_first=True, bidirectional=True).eval()
    y, h = real(torch.randn(2, 5, 6))
    torch.testing.assert_close(y[:, -1, :4], h[0])  # forward: the same state
    assert not torch.allclose(y[:, -1, 4:], h[1])  # backward: h_n is its state after all 5 steps
    torch.testing.assert_close(y[:, 0, 4:], h[1])


@pytest.mark.parametrize("config", CONFIGS, ids=IDS)
def test_macs_are_flop_counters_half(config):
    """MACs equal torch.utils.flop_counter's FLOPs / 2 (oneDNN off: its fused CPU LSTM hides the
    products from the counter, docs/analysis.md)."""
    layer, make = config
    real = make().eval()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # LSTM with projections: "not supported with oneDNN"
        with torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter, torch.no_grad():
            real(torch.randn(1, 7, 6))
    model = archcalc.loads(spec(layer))
    assert work(model.graph)[model.graph.root].macs == counter.get_total_flops() // 2


def test_lstm_macs_by_hand():
    """4·h·(i + h_r) per step, layer and direction, and the projection's h·h_r: F = 6, h = 5, p = 3,
    two bidirectional layers over T = 7 steps."""
    model = archcalc.loads(spec("lstm: {hidden: 5, proj_size: 3, num_layers: 2, bidirectional: true}"))
    per_step = (4 * 5 * (6 + 3) + 5 * 3) + (4 * 5 * (2 * 3 + 3) + 5 * 3)
    assert work(model.graph)[model.graph.root].macs == 7 * 2 * per_step


def test_sequence_length_stays_a_formula(run, write):
    """T free: the shapes and MACs are formulas in T, the parameters a number, in under 2 s; T set
    gives the formulas' values."""
    path = write("input: [T, 6]\nlayers:\n  - lstm: {hidden: 5, num_layers: 2}\n  - rnn: {hidden: 3, output: last}\n")
    start = time.perf_counter()
    result = run("summary", path, "--format", "json")
    assert time.perf_counter() - start < 2
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert data["total_params"] == (4 * 5 * 11 + 40) + (4 * 5 * 10 + 40) + (3 * 8 + 6)
    assert [layer["output_shape"] for layer in data["layers"]] == [["T", 5], [3]]
    assert data["total_macs"] == "444*T"  # 4·5·(6 + 5) + 4·5·(5 + 5) + 3·(5 + 3) per step
    fixed = json.loads(run("summary", path, "--format", "json", "--set", "T=9").stdout)
    assert fixed["total_macs"] == 9 * 444


def test_receptive_field_along_t():
    """A forward layer's output t has read the prefix 0…t: a causal window of T (padding T − 1);
    stacked layers add as causal convolutions do. Bidirectional, or the last step: the whole sequence."""
    def field(text: str):
        model = archcalc.loads(text)
        found, _ = receptive_fields(model.graph)
        return {node.path: found[node] for node in model.layers}

    one = field("input: [8, 4]\nlayers:\n  - lstm: 3\n  - gru: 3\n  - linear: 2\n")
    assert (one["0"].size, one["0"].padding) == ((8,), (7,))
    assert (one["1"].size, one["1"].padding) == ((15,), (14,))
    assert one["2"].size == (15,)  # a linear layer keeps each position apart
    both = field("input: [8, 4]\nlayers:\n  - rnn: {hidden: 3, bidirectional: true}\n")
    assert both["0"].status == GLOBAL
    last = field("input: [8, 4]\nlayers:\n  - lstm: {hidden: 3, output: last}\n")
    assert last["0"].status == GLOBAL


def test_explain_derives_torch_count(run, write):
    path = write("input: [T, 10]\nlayers:\n  - lstm: {hidden: 20, num_layers: 2, bidirectional: true}\n")
    result = run("params", path, "--explain")
    assert result.exit_code == 0, result.output
    text = " ".join(result.stdout.split())
    assert "2×(G×h×(F+h)+2×G×h+(L−1)×(G×h×(2×h+h)+2×G×h)) = " \
           "2×(4×20×(10+20)+2×4×20+(2−1)×(4×20×(2×20+20)+2×4×20)) = 15040" in text
    assert 2 * (4 * 20 * 30 + 160) + 2 * (4 * 20 * 60 + 160) == 15040
    shapes = run("shapes", path, "--explain")
    assert "features = 2×h = 2×20 = 40 (both directions; every step)" in " ".join(shapes.stdout.split())


ERRORS = [
    ("proj-not-smaller", "input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, proj_size: 4}\n", (3, 34),
     "proj_size 4 must be smaller than hidden 4"),
    ("zero-layers", "input: [5, 3]\nlayers:\n  - gru: {hidden: 4, num_layers: 0}\n", (3, 34),
     "'num_layers' must be an integer ≥ 1"),
    ("zero-hidden", "input: [5, 3]\nlayers:\n  - rnn: 0\n", (3, 10), "'hidden' must be an integer ≥ 1"),
    ("image-input", "input: [3, 8, 8]\nlayers:\n  - lstm: 4\n", (3, 5), "needs a [T, F] sequence input"),
    ("vector-input", "input: [8]\nlayers:\n  - gru: 4\n", (3, 5), "needs a [T, F] sequence input"),
    ("in-mismatch", "input: [5, 3]\nlayers:\n  - rnn: {hidden: 4, in: 6}\n", (3, 26), "'in' says 6"),
    ("nonlinearity", "input: [5, 3]\nlayers:\n  - rnn: {hidden: 4, nonlinearity: sigmoid}\n", (3, 36),
     "'nonlinearity' must be one of 'tanh', 'relu'"),
    ("output-word", "input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, output: final}\n", (3, 31),
     "'output' must be one of 'sequence', 'last', 'hidden'"),
    ("gru-proj", "input: [5, 3]\nlayers:\n  - gru: {hidden: 4, proj_size: 2}\n", (3, 22),
     "gru has no argument 'proj_size'"),
    ("dropout-range", "input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, num_layers: 2, dropout: 1.5}\n", (3, 47),
     "'dropout' must be in [0, 1]"),
    ("proj-negative", "input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, proj_size: -1}\n", (3, 34),
     "'proj_size' must be an integer ≥ 0"),
]


@pytest.mark.parametrize("case", ERRORS, ids=[c[0] for c in ERRORS])
def test_bad_arguments_are_located(case, run, write):
    name, text, (line, col), fragment = case
    with pytest.raises(SpecError) as raised:
        archcalc.loads(text)
    assert raised.value.hint
    path = write(text, f"{name}.yaml")
    result = run("params", path)
    assert result.exit_code == 2 and result.stdout == ""
    assert result.stderr.startswith(f"{path}:{line}:{col}: error: "), result.stderr
    assert fragment in result.stderr and "Traceback" not in result.stderr


def test_torch_refuses_what_the_errors_refuse():
    """The refusals are torch's own: it rejects the same projection and layer count."""
    with pytest.raises(ValueError):
        nn.LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError):
        nn.GRU(3, 4, num_layers=0)


def test_dropout_with_one_layer_is_torchs_warning_and_n109(run, write):
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        nn.LSTM(3, 4, dropout=0.3)
    path = write("input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, dropout: 0.3}\n")
    result = run("lint", path, "--select", "N109")
    assert result.exit_code == 1 and "N109" in result.stdout
    clean = write("input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, num_layers: 2, dropout: 0.3}\n")
    assert run("lint", clean, "--select", "N109").exit_code == 0


@pytest.mark.parametrize(("layers", "fires"), [
    ("[rnn: {hidden: 4, num_layers: 3}]", True),
    ("[rnn: {hidden: 4, num_layers: 2}, relu, rnn: 4]", True),
    ("[rnn: {hidden: 4, num_layers: 2}]", False),
    ("[rnn: {hidden: 4, num_layers: 2}, gru: 4, rnn: 4]", False),
    ("[lstm: {hidden: 4, num_layers: 5}]", False),
])
def test_deep_plain_rnn_counts_ungated_layers(layers, fires, run, write):
    path = write(f"input: [5, 3]\nlayers: {layers}\n")
    result = run("lint", path, "--select", "S110")
    assert (result.exit_code == 1) == fires, result.stdout
    assert ("S110" in result.stdout) == fires


class Classifier(nn.Module):
    """specs/lstm-classifier.yaml as a PyTorch user writes it."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(10000, 100, padding_idx=0)
        self.lstm = nn.LSTM(100, 128, num_layers=2, batch_first=True, dropout=0.2)
        self.fc = nn.Linear(128, 4)

    def forward(self, ids: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(ids))
        return self.fc(out[:, -1])


def test_the_lstm_classifier_is_the_hand_written_model(tmp_path, run):
    """Parameters equal; the hand-written model's state_dict loads with strict=True into the runtime
    module and into the generated file's; the outputs agree to 1e-5 (T = 12, batch 3); MACs are the
    flop counter's at T = 12."""
    torch.manual_seed(0)
    real = Classifier().eval()
    model = archcalc.load(SPECS / "lstm-classifier.yaml", T=12)
    assert model.trainable_params == sum(p.numel() for p in real.parameters()) == 1_250_372
    ids = torch.randint(0, 10000, (3, 12))
    with torch.no_grad():
        expected = real(ids)
    ours = to_torch(model).eval()
    ours.load_state_dict(real.state_dict(), strict=True)
    file = tmp_path / "classifier.py"
    assert run("export", SPECS / "lstm-classifier.yaml", "--to", "torch", "--set", "T=12", "-o", file).exit_code == 0
    generated = import_file(file).build_model().eval()
    generated.load_state_dict(real.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), expected, rtol=0, atol=1e-5)
        torch.testing.assert_close(generated(ids), expected, rtol=0, atol=1e-5)
    with torch.backends.mkldnn.flags(enabled=False), FlopCounterMode(display=False) as counter, torch.no_grad():
        real(ids[:1])
    assert work(model.graph)[model.graph.root].macs == counter.get_total_flops() // 2


@pytest.mark.parametrize("config", [c for c in CONFIGS if "proj_size" not in c[0]],
                         ids=[i for i, c in zip(IDS, CONFIGS) if "proj_size" not in c[0]])
@pytest.mark.parametrize("output", ["sequence", "last", "hidden"])
def test_onnx_computes_what_torch_computes(config, output):
    """``export --to onnx`` with a real torch module's weights: a valid opset-17 model whose onnxruntime
    outputs equal torch's to 1e-5 at batch 2 and 3 (ONNX's gate orders are not torch's: the export
    reorders them)."""
    import onnx
    import onnxruntime as ort

    layer, make = config
    torch.manual_seed(1)
    real = make().eval()
    model = archcalc.loads(spec(layer, output=output))
    state = {f"r.{key}": value for key, value in real.state_dict().items()}
    ours = to_torch(model)
    ours.load_state_dict(state, strict=True)
    from archcalc.backends.onnx import to_onnx

    proto = to_onnx(model, ours.state_dict())
    onnx.checker.check_model(proto, full_check=True)
    assert sorted({n.op_type for n in proto.graph.node} & {"LSTM", "GRU", "RNN"}) == [layer.split(":")[0].upper()]
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    for batch in (2, 3):
        x = torch.randn(batch, 7, 6)
        with torch.no_grad():
            y, state_ = real(x)
            expected = pick(real, y, state_, output).numpy()
        (got,) = session.run(["output"], {"input": x.numpy()})
        assert got.shape == expected.shape
        assert abs(got - expected).max() <= 1e-5


def test_onnx_refuses_a_projection_at_its_argument(run, write, tmp_path):
    path = write("input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, proj_size: 2}\n")
    out = tmp_path / "m.onnx"
    result = run("export", path, "--to", "onnx", "-o", out)
    assert result.exit_code == 2 and not out.exists()
    assert result.stderr.startswith(f"{path}:3:34: error: lstm: ONNX's LSTM has no projection of the hidden "
                                    "state (proj_size)"), result.stderr
    assert "hint:" in result.stderr


def test_the_reference_examples_claim_what_they_give():
    """docs/spec.md's recurrent examples and numbers."""
    from tests.test_spec_doc import example

    classifier = example("name: lstm-classifier")
    assert classifier.trainable_params == 1_250_372 and classifier.output_shape == (4,)
    kinds = example("name: recurrent-kinds")
    assert [(n.out_shape, n.layer.params(n.in_shape).trainable) for n in kinds.layers] == [
        ((50, 64), 9600), ((8,), 592)]
    assert sum(p.numel() for p in nn.LSTM(10, 20, 2, bidirectional=True).parameters()) == 15_040
    shipped = archcalc.load(SPECS / "lstm-classifier.yaml")  # the text shows the shipped spec's layers
    layers = [(n.path, n.layer.config()) for n in shipped.layers]
    assert [(n.path, n.layer.config()) for n in classifier.layers] == layers


def test_gru_and_rnn_are_counted_with_torchs_default_kernels():
    """Only a plain LSTM's fused CPU kernel hides its products from the flop counter: GRU and RNN are
    counted as they run by default (PyTorch 2.13)."""
    for layer, make in CONFIGS[3:]:
        with FlopCounterMode(display=False) as counter, torch.no_grad():
            make().eval()(torch.randn(1, 7, 6))
        model = archcalc.loads(spec(layer))
        assert work(model.graph)[model.graph.root].macs == counter.get_total_flops() // 2


def test_free_sizes_and_layer_counts_are_formulas(run, write):
    """hidden, proj_size and num_layers may be symbols: the counts are formulas whose values are torch's."""
    path = write("input: [T, F]\nsymbols: [H, L, P]\nlayers:\n"
                 "  - lstm: {hidden: H, num_layers: L, proj_size: P, bidirectional: true}\n")
    free = run("summary", path, "--format", "json")
    assert free.exit_code == 0, free.output
    data = json.loads(free.stdout)
    assert data["free_symbols"] == ["F", "H", "L", "P", "T"] and isinstance(data["total_params"], str)
    for values in ({"F": 6, "H": 5, "L": 3, "P": 2}, {"F": 4, "H": 7, "L": 1, "P": 3}):
        fixed = run("params", path, "--format", "json", "--set", ",".join(f"{k}={v}" for k, v in {**values, "T": 9}
                                                                             .items()))
        real = nn.LSTM(values["F"], values["H"], values["L"], bidirectional=True, proj_size=values["P"])
        assert json.loads(fixed.stdout)["total_params"] == sum(p.numel() for p in real.parameters())
    assert run("params", path, "--explain").exit_code == 0
    assert run("lint", path).exit_code in (0, 1)


def test_plan_says_a_recurrent_layers_saved_tensors_are_not_modelled(run):
    """What autograd saves inside nn.LSTM depends on the kernel (oneDNN's workspace on CPU): archcalc counts
    the layer's input and output and says that this is less than torch saves, which is measured here."""
    from tests.saved_hooks import measure

    result = run("plan", SPECS / "lstm-classifier.yaml", "--set", "T=20")
    assert result.exit_code == 0, result.output
    assert "saved tensors of lstm are not modelled" in " ".join(result.stdout.split())
    lstm = nn.LSTM(6, 5, batch_first=True)
    x = torch.randn(2, 7, 6)
    saved, _ = measure(nn.Sequential(Pick(lstm)), x, lambda y: y.sum())
    assert saved > 4 * 2 * 7 * (6 + 5)  # more than the input and output, fp32, batch 2


class Pick(nn.Module):
    def __init__(self, rnn: nn.Module):
        super().__init__()
        self.rnn = rnn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rnn(x)[0]


def test_the_torch_backend_leaves_one_layer_dropout_to_lint(recwarn):
    """torch warns (a UserWarning printed during ``train``) when a one-layer LSTM has dropout, which drops
    nothing; archcalc reports that itself, located, as lint's N109, so the backend does not repeat torch's."""
    spec = "input: [5, 3]\nlayers:\n  - lstm: {hidden: 4, dropout: 0.3, output: last}\n  - linear: 2\n"
    archcalc.to_torch(archcalc.loads(spec))
    assert not [w for w in recwarn if "dropout" in str(w.message)]
