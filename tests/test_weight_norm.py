"""``weight_norm:`` and ``spectral_norm:``: weights reparametrised as torch.nn.utils does it, counted as torch counts
them (weight norm's magnitude g among the parameters, spectral norm's u and v among the buffers) and built with
torch's own functions, so published models' state dicts (locuslab's TCN, an SNGAN discriminator) load strictly
and compute the same outputs."""

from __future__ import annotations

import json
import math
import warnings

import numpy as np
import pytest
import torch
from torch import nn
from torch.nn.utils import spectral_norm, weight_norm

import archcalc
from archcalc.backends.numpy import to_numpy
from archcalc.backends.numpy.source import render
from archcalc.backends.torch.source import emit

# locuslab/TCN's TemporalBlock (TCN/tcn.py): two weight-normalised causal convolutions, a 1×1 downsample
TCN_SPEC = """\
input: [34, T]
symbols: {T: 60}
blocks:
  causal(c, k, d):
    - pad: [(k - 1) * d, 0]
    - conv1d: {out: c, kernel: k, dilation: d, weight_norm: true}
    - relu
    - dropout: 0.2
layers:
  - residual:
      body: [causal: [48, 3, 1], causal: [48, 3, 1]]
      shortcut: [conv1d: {out: 48, kernel: 1, name: downsample}]
      then: [relu]
  - repeat: 3
    index: i
    layers:
      - residual:
          body: [causal: [48, 3, 2 ** (i + 1)], causal: [48, 3, 2 ** (i + 1)]]
          then: [relu]
  - select: {index: -1, axis: 1}
  - linear: 5
"""


class Chomp1d(nn.Module):
    def __init__(self, chomp_size):
        super().__init__()
        self.chomp_size = chomp_size

    def forward(self, x):
        return x[:, :, :-self.chomp_size].contiguous()


class TemporalBlock(nn.Module):
    def __init__(self, n_inputs, n_outputs, kernel_size, stride, dilation, padding, dropout=0.2):
        super().__init__()
        self.conv1 = weight_norm(nn.Conv1d(n_inputs, n_outputs, kernel_size, stride=stride, padding=padding,
                                           dilation=dilation))
        self.chomp1 = Chomp1d(padding)
        self.relu1 = nn.ReLU()
        self.dropout1 = nn.Dropout(dropout)
        self.conv2 = weight_norm(nn.Conv1d(n_outputs, n_outputs, kernel_size, stride=stride, padding=padding,
                                           dilation=dilation))
        self.chomp2 = Chomp1d(padding)
        self.relu2 = nn.ReLU()
        self.dropout2 = nn.Dropout(dropout)
        self.net = nn.Sequential(self.conv1, self.chomp1, self.relu1, self.dropout1,
                                 self.conv2, self.chomp2, self.relu2, self.dropout2)
        self.downsample = nn.Conv1d(n_inputs, n_outputs, 1) if n_inputs != n_outputs else None
        self.relu = nn.ReLU()

    def forward(self, x):
        out = self.net(x)
        res = x if self.downsample is None else self.downsample(x)
        return self.relu(out + res)


class TCN(nn.Module):
    """locuslab's TemporalConvNet and a linear layer on the last step (their adding-problem model)."""

    def __init__(self, input_size, output_size, num_channels, kernel_size):
        super().__init__()
        layers = []
        for i, out in enumerate(num_channels):
            d = 2 ** i
            n_in = input_size if i == 0 else num_channels[i - 1]
            layers.append(TemporalBlock(n_in, out, kernel_size, stride=1, dilation=d, padding=(kernel_size - 1) * d))
        self.network = nn.Sequential(*layers)
        self.linear = nn.Linear(num_channels[-1], output_size)

    def forward(self, x):
        return self.linear(self.network(x)[:, :, -1])


def unique_state(module: nn.Module) -> list[tuple[str, torch.Tensor]]:
    """The state dict's tensors, each once (locuslab's block registers conv1 twice: as conv1 and as net.0)."""
    seen, out = set(), []
    for key, value in module.state_dict(keep_vars=True).items():
        if id(value) not in seen:
            seen.add(id(value))
            out.append((key, value.detach()))
    return out


def test_locuslab_tcn_counts_and_loads_strictly():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        torch.manual_seed(0)
        real = TCN(34, 5, [48] * 4, 3).eval()
    theirs = unique_state(real)
    assert sum(p.numel() for p in real.parameters()) == 55_973
    model = archcalc.loads(TCN_SPEC)
    assert model.trainable_params == 55_973 and model.buffers == 0
    ours = archcalc.to_torch(model).eval()
    state = ours.state_dict()
    # torch's names, in torch's order: bias, then weight_g and weight_v (weight_norm re-registers the weight)
    assert [k.rsplit(".", 1)[-1] for k in state] == [k.rsplit(".", 1)[-1] for k, _ in theirs]
    assert [tuple(v.shape) for v in state.values()] == [tuple(v.shape) for _, v in theirs]
    ours.load_state_dict(dict(zip(state, (v for _, v in theirs))), strict=True)
    x = torch.randn(3, 34, 60)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)


# Miyato et al.'s SNGAN discriminator for CIFAR-10 (the standard CNN of their Table 3): every weight spectrally
# normalised, leaky ReLU 0.1
SNGAN_SPEC = """\
input: [3, 32, 32]
blocks:
  sn(c, k, s, p):
    - conv2d: {out: c, kernel: k, stride: s, padding: p, spectral_norm: true}
    - leaky_relu: 0.1
layers:
  - sn: [64, 3, 1, 1]
  - sn: [64, 4, 2, 1]
  - sn: [128, 3, 1, 1]
  - sn: [128, 4, 2, 1]
  - sn: [256, 3, 1, 1]
  - sn: [256, 4, 2, 1]
  - sn: [512, 3, 1, 1]
  - flatten
  - linear: {out: 1, spectral_norm: true}
"""


def sngan_discriminator() -> nn.Sequential:
    layers: list[nn.Module] = []
    c_in = 3
    for c, k, s, p in [(64, 3, 1, 1), (64, 4, 2, 1), (128, 3, 1, 1), (128, 4, 2, 1), (256, 3, 1, 1), (256, 4, 2, 1),
                       (512, 3, 1, 1)]:
        layers += [spectral_norm(nn.Conv2d(c_in, c, k, s, p)), nn.LeakyReLU(0.1)]
        c_in = c
    return nn.Sequential(*layers, nn.Flatten(), spectral_norm(nn.Linear(512 * 4 * 4, 1)))


def test_sngan_discriminator_counts_buffers_and_agrees_in_eval_mode():
    torch.manual_seed(0)
    real = sngan_discriminator()
    x = torch.randn(2, 3, 32, 32)
    real(x)  # a training step: the power iteration moves u and v away from their random start
    real.eval()
    model = archcalc.loads(SNGAN_SPEC)
    assert model.trainable_params == sum(p.numel() for p in real.parameters()) == 2_935_873
    assert model.buffers == sum(b.numel() for b in real.buffers()) == 20_828
    ours = archcalc.to_torch(model)
    assert [k.rsplit(".", 1)[-1] for k in ours.state_dict()] == [k.rsplit(".", 1)[-1] for k in real.state_dict()]
    ours.load_state_dict(dict(zip(ours.state_dict(), real.state_dict().values())), strict=True)
    ours.eval()
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)
    summary = archcalc.loads(SNGAN_SPEC).to_dict()
    assert (summary["trainable_params"], summary["buffers"]) == (2_935_873, 20_828)


@pytest.mark.parametrize(("option", "real"), [
    ("spectral_norm: true", lambda m: spectral_norm(m)),  # dim 1 for a transposed convolution, as torch's default
    ("weight_norm: {dim: 1}", lambda m: weight_norm(m, dim=1)),
    ("weight_norm: {dim: null, names: new}", lambda m: nn.utils.parametrizations.weight_norm(m, dim=None)),
    ("spectral_norm: {dim: 2, n_power_iterations: 3, eps: 1e-6}",
     lambda m: spectral_norm(m, n_power_iterations=3, eps=1e-6, dim=2)),
])
def test_options_name_and_count_as_torch_does(option, real):
    spec = f"input: [4, 5, 5]\nlayers:\n  - conv_transpose2d: {{out: 6, kernel: 3, stride: 2, {option}}}\n"
    torch.manual_seed(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        theirs = real(nn.ConvTranspose2d(4, 6, 3, 2))
    model = archcalc.loads(spec)
    ours = archcalc.to_torch(model)
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == \
        {f"0.{k}": tuple(v.shape) for k, v in theirs.state_dict().items()}
    assert model.trainable_params == sum(p.numel() for p in theirs.parameters())
    assert model.buffers == sum(b.numel() for b in theirs.buffers())
    ours.load_state_dict({f"0.{k}": v for k, v in theirs.state_dict().items()}, strict=True)
    ours.eval(), theirs.eval()
    x = torch.randn(2, 4, 5, 5)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), theirs(x), atol=1e-5, rtol=1e-5)


def test_the_generated_source_builds_the_same_module():
    convs = "spectral_norm: true}\n    - leaky"
    model = archcalc.loads(SNGAN_SPEC.replace(convs, convs.replace("spectral", "weight"), 1))
    torch.manual_seed(0)
    module = archcalc.to_torch(model)
    namespace: dict = {}
    exec(compile(emit(model), "generated.py", "exec"), namespace)
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        generated = namespace["build_model"]()
    assert list(generated.state_dict()) == list(module.state_dict())
    for key, value in module.state_dict().items():
        assert torch.equal(value, generated.state_dict()[key]), key
    assert "nn.utils.weight_norm(" in emit(model) and "nn.utils.spectral_norm(" in emit(model)


def errors(run, write, layer: str) -> str:
    path = write(f"input: [4, 9]\nlayers:\n  - {layer}\n", "x.yaml")
    result = run("params", path)
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    return result.stderr.replace(str(path), "x.yaml")


@pytest.mark.parametrize(("layer", "at", "message"), [
    ("linear: {out: 3, weight_norm: true, spectral_norm: true}",
     "spectral_norm: true}", "error: linear: spectral_norm and weight_norm on one weight\n"
     "  hint: choose one: weight_norm (w = g·v/‖v‖) or spectral_norm (w/σ(w))\n"),
    ("relu: {weight_norm: true}",
     "weight_norm", "error: relu has no weight for weight_norm\n"
     "  hint: weight_norm applies to linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, "
     "conv_transpose3d\n"),
    ("conv1d: {out: 3, kernel: 3, weight_norm: {dim: 3}}",
     "3}}", "error: conv1d: weight_norm dim must be 0 to 2, or null for the whole tensor, got 3\n"
     "  hint: the conv1d weight is [C_o, C_i/g, k]: dim is the axis kept apart\n"),
    ("linear: {out: 3, weight_norm: {dim: -1}}",
     "-1}", "error: linear: weight_norm dim must be 0 to 1, or null for the whole tensor, got -1\n"
     "  hint: the linear weight is [D, D_i]: dim is the axis kept apart; torch reads "
     "dim=-1 as the whole tensor, written dim: null here\n"),
    ("conv_transpose1d: {out: 3, kernel: 3, spectral_norm: {dim: null}}",
     "null}", "error: conv_transpose1d: spectral_norm dim must be 0 to 2, got nothing\n"
     "  hint: the conv_transpose1d weight is [C_i, C_o/g, k]: dim is the axis kept apart\n"),
    ("linear: {out: 3, weight_norm: {names: newer}}",
     "newer", "error: linear: weight_norm names must be old or new, got 'newer'\n"
     "  hint: old: torch.nn.utils.weight_norm's weight_g, weight_v; new: "
     "torch.nn.utils.parametrizations.weight_norm's parametrizations.weight.original0/1\n"),
    ("linear: {out: 3, spectral_norm: {n_power_iterations: 0}}",
     "0}}", "error: linear: spectral_norm n_power_iterations must be a whole number ≥ 1, got 0\n"
     "  hint: torch refuses 0 and below; its default is 1\n"),
    ("linear: {out: 3, spectral_norm: {eps: 0}}",
     "0}}", "error: linear: spectral_norm eps must be a positive number, got 0\n"
     "  hint: torch's default is 1e-12\n"),
    ("linear: {out: 3, spectral_norm: {names: new}}",
     "names", "error: linear: spectral_norm has no setting 'names'\n"
     "  hint: valid settings of spectral_norm: dim, eps, n_power_iterations\n"),
    ("linear: {out: 3, weight_norm: yes}",
     "yes", "error: linear: weight_norm must be true, false or a mapping of its settings, got 'yes'\n"
     "  hint: weight_norm: true, or weight_norm: {dim: 0, names: old}\n"),
])
def test_bad_options_are_located_errors(run, write, layer, at, message):
    assert errors(run, write, layer) == f"x.yaml:3:{layer.index(at) + 5}: " + message


def test_a_tied_weight_is_normalised_where_it_is(run, write):
    spec = ("input: [9]\nlayers:\n  - linear: {out: 9, name: a, weight_norm: true}\n"
            "  - linear: {out: 9, tie: a}\n")
    path = write(spec, "x.yaml")
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stderr.replace(str(path), "x.yaml") == (
        "x.yaml:4:27: error: linear: ties its weight to 'a', whose weight is reparametrised by weight_norm: a tie "
        "shares a parameter, and it has none named weight\n  hint: drop the tie, or weight_norm on 'a'\n")
    path = write("input: [9]\nlayers:\n  - linear: {out: 9, name: a}\n"
                 "  - linear: {out: 9, tie: a, spectral_norm: true}\n", "y.yaml")
    result = run("params", path)
    assert result.exit_code == 2
    assert result.stderr.replace(str(path), "y.yaml") == (
        "y.yaml:4:30: error: linear: spectral_norm on a tied weight, which is a's\n"
        "  hint: normalise the weight where it is: spectral_norm on a\n")


GRADIENT_SPEC = """\
input: [3, 9]
layers:
  - conv1d: {out: 4, kernel: 3, weight_norm: true}
  - tanh
  - conv_transpose1d: {out: 5, kernel: 3, stride: 2, groups: 1, spectral_norm: true}
  - tanh
  - conv1d: {out: 4, kernel: 2, spectral_norm: {dim: 1, n_power_iterations: 2}}
  - tanh
  - conv1d: {out: 4, kernel: 3, weight_norm: {dim: 2, names: new}}
  - flatten
  - linear: {out: 6, weight_norm: {dim: null}}
  - tanh
  - linear: {out: 2, bias: false, spectral_norm: true}
"""


@pytest.mark.parametrize("training", [True, False])
def test_numpy_forward_backward_and_power_iteration_are_torchs(training):
    """The NumPy layers against torch's own weight_norm and spectral_norm (archcalc.to_torch), float64: outputs,
    the u and v the power iteration leaves (training mode), and the gradients of g, v and weight_orig."""
    model = archcalc.loads(GRADIENT_SPEC)
    net = to_numpy(model, seed=2, dtype="float64").train(training)
    module = archcalc.to_torch(model).double().train(training)
    state = net.state_dict()
    assert list(state) == list(module.state_dict())
    module.load_state_dict({k: torch.tensor(v) for k, v in state.items()}, strict=True)
    rng = np.random.default_rng(0)
    x, r = rng.normal(size=(4, 3, 9)), rng.normal(size=(4, 2))
    for _ in range(2):  # the second step starts from the u and v the first one left
        out = net(x)
        net.backward(r, input_grad=False)
        module.zero_grad()
        theirs = module(torch.tensor(x))
        (theirs * torch.tensor(r)).sum().backward()
        np.testing.assert_allclose(out, theirs.detach().numpy(), rtol=0, atol=1e-12)
        for key, value in module.state_dict().items():  # u and v moved alike (training) or not at all (eval)
            np.testing.assert_allclose(state[key], value.numpy(), rtol=0, atol=1e-12, err_msg=key)
        names = {id(v): k for k, v in state.items()}
        grads = {names[id(p)]: g for p, g in zip(net.trainable_parameters(), net.gradients())}
        named = dict(module.named_parameters())
        assert set(grads) == set(named)
        for key, parameter in named.items():
            np.testing.assert_allclose(grads[key], parameter.grad.numpy(), rtol=0, atol=1e-10, err_msg=key)


def test_the_standalone_numpy_file_builds_the_same_network():
    model = archcalc.loads(GRADIENT_SPEC)
    namespace: dict = {}
    exec(compile(render(model), "model.py", "exec"), namespace)
    standalone = namespace["build_model"](3, dtype="float64")
    state = to_numpy(model, seed=3, dtype="float64").state_dict()
    assert list(standalone.state_dict()) == list(state)
    for key, value in state.items():
        np.testing.assert_array_equal(value, standalone.state_dict()[key], err_msg=key)
    x = np.random.default_rng(1).normal(size=(2, 3, 9))
    np.testing.assert_array_equal(standalone.eval()(x), to_numpy(model, seed=3, dtype="float64").eval()(x))


def test_onnx_folds_the_evaluation_mode_weight():
    """The ONNX file holds each layer's weight as torch computes it in evaluation mode (g·v/‖v‖; W/uᵀWv with the
    stored u and v): onnxruntime agrees with the torch module after a training step moved u and v."""
    onnxruntime = pytest.importorskip("onnxruntime")
    from archcalc.backends.onnx import to_onnx

    model = archcalc.loads(GRADIENT_SPEC)
    torch.manual_seed(0)
    module = archcalc.to_torch(model)
    x = torch.randn(2, 3, 9)
    module(x)  # a training step: u and v move
    module.eval()
    proto = to_onnx(model, module.state_dict())
    names = {t.name for t in proto.graph.initializer}
    assert "0.weight" in names and "0.weight_g" not in names and "2.weight_u" not in names
    session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    (out,) = session.run(None, {"input": x.numpy()})
    with torch.no_grad():
        np.testing.assert_allclose(out, module(x).numpy(), rtol=1e-5, atol=1e-5)


IMPORTED = '''\
import torch
from torch import nn
from torch.nn.utils import spectral_norm, weight_norm
from torch.nn.utils.parametrizations import weight_norm as new_weight_norm


class Net(nn.Module):
    def __init__(self, api="old"):
        super().__init__()
        wn = weight_norm if api == "old" else new_weight_norm
        self.c1 = wn(nn.Conv1d(3, 8, 3))
        self.c2 = spectral_norm(nn.Conv1d(8, 8, 3), n_power_iterations=2)
        self.t = wn(nn.ConvTranspose1d(8, 4, 3), dim=None)
        self.fc = spectral_norm(nn.Linear(4 * 7, 5))

    def forward(self, x):
        x = torch.relu(self.c1(x))
        x = torch.relu(self.c2(x))
        x = self.t(x)
        return self.fc(x.flatten(1))
'''


@pytest.mark.parametrize("api", ["old", "new"])
def test_a_module_with_weight_and_spectral_norm_imports_with_the_options(run, tmp_path, api):
    import importlib.util

    path = tmp_path / "net.py"
    path.write_text(IMPORTED, encoding="utf-8")
    out = tmp_path / "net.yaml"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        result = run("import", f"{path}:Net", "--args", f'{{"api": "{api}"}}', "--input", "3,9", "-o", out)
        assert result.exit_code == 0, result.output
        text, names = out.read_text(), "" if api == "old" else ", names: new"
        assert ("weight_norm: true, name: c1" if api == "old" else "weight_norm: {names: new}, name: c1") in text
        assert f"weight_norm: {{dim: null{names}}}, name: t" in text
        assert "spectral_norm: {n_power_iterations: 2}, name: c2" in text and "spectral_norm: true, name: fc" in text
        loaded = importlib.util.spec_from_file_location("wn_net", path)
        module = importlib.util.module_from_spec(loaded)
        loaded.loader.exec_module(module)
        torch.manual_seed(0)
        real = module.Net(api)
    x = torch.randn(2, 3, 9)
    real(x)  # a training step moves u and v
    real.eval()
    model = archcalc.load(str(out))
    assert model.trainable_params == sum(p.numel() for p in real.parameters())
    assert model.buffers == sum(b.numel() for b in real.buffers())
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("wrap", "says"), [
    ("nn.utils.parametrizations.spectral_norm(nn.Linear(4, 4))",
     "its 'weight' is parametrised by _SpectralNorm, which no spec says\n"
     "  hint: a spec reads torch.nn.utils.parametrizations.weight_norm on a weight; for spectral norm, "
     "torch.nn.utils.spectral_norm (weight_orig, weight_u, weight_v)\n"),
    ("nn.utils.weight_norm(nn.Linear(4, 4), name='bias', dim=0)",
     "torch.nn.utils.weight_norm on its 'bias', which no spec says\n"
     "  hint: a spec normalises the weight of linear, conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d, "
     "conv_transpose3d\n"),
])
def test_a_reparametrisation_no_spec_says_is_refused(run, tmp_path, wrap, says):
    path = tmp_path / "net.py"
    path.write_text(f"from torch import nn\n\n\nclass Net(nn.Module):\n    def __init__(self):\n"
                    f"        super().__init__()\n        self.a = {wrap}\n\n    def forward(self, x):\n"
                    f"        return self.a(x)\n", encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        result = run("import", f"{path}:Net", "--input", "4", "-o", tmp_path / "out.yaml")
    assert result.exit_code == 2
    assert result.stderr.endswith(says), result.stderr
    assert ": error: " in result.stderr and f"{path}:" in result.stderr


@pytest.mark.parametrize("backend", ["numpy", "torch"])
def test_archcalc_train_learns_the_digits_through_the_reparametrisations(run, write, backend):
    spec = write("""
name: digits-normed
input: [1, 8, 8]
layers:
  - conv2d: {out: 8, kernel: 3, padding: 1, weight_norm: true}
  - relu
  - maxpool2d: 2
  - conv2d: {out: 16, kernel: 3, padding: 1, spectral_norm: true}
  - relu
  - flatten
  - linear: {out: 10, weight_norm: {dim: null}}
train: {classes: 10, optimizer: {adam: {lr: 0.01}}, epochs: 4, batch_size: 64}
""")
    result = run("train", spec, "--backend", backend, "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["test_accuracy"] > 0.85


def test_explain_adds_g_and_notes_the_buffers(run, write):
    spec = write("input: [3, 9]\nlayers:\n  - conv1d: {out: 4, kernel: 3, weight_norm: true}\n  - flatten\n"
                 "  - linear: {out: 2, spectral_norm: true}\n")
    lines = run("params", spec, "--explain").stdout.splitlines()
    text = " ".join(" ".join(line.split()) for line in lines)
    assert "C_i×C_o×k+C_o+g = 3×4×3+4+4 = 44 (g [4, 1, 1]: weight_norm's magnitude)" in text
    assert "(D_i×D)+D = (28×2)+2 = 58 (spectral_norm's u and v: 30 buffer values, not parameters)" in text
    assert "= 102" in text


def test_plan_holds_g_as_a_tensor_of_its_own():
    """An optimizer holds state per parameter tensor: weight norm's g is one, beside v (Adafactor factors by shape)."""
    from archcalc.calc.plan import param_tensors

    model = archcalc.loads("input: [3, 9]\nlayers:\n  - conv1d: {out: 4, kernel: 3, weight_norm: true}\n"
                           "  - flatten\n  - linear: {out: 2, weight_norm: {dim: null}, spectral_norm: false}\n")
    shapes = [shape for _, shape in param_tensors(model.graph)]
    assert shapes == [(4, 3, 3), (4,), (4, 1, 1), (2, 28), (2,), ()]
    module = archcalc.to_torch(model)
    assert sorted(tuple(p.shape) for p in module.parameters()) == sorted(shapes)
    assert sum(math.prod(s) for s in shapes) == model.trainable_params
