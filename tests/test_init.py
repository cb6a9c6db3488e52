"""``init:``: the spec's per-layer initialisation, read with located errors and honoured by the torch export
(runtime module and generated source) and the NumPy backend (runtime and standalone file)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import archcalc
from archcalc.backends.numpy import to_numpy
from archcalc.backends.numpy.layers import _initial
from archcalc.backends.numpy.source import render
from archcalc.backends.torch.source import emit
from archcalc.errors import SpecError

SPEC = """\
input: [2, 9, 9]
layers:
  - conv2d: {out: 6, kernel: 3, init: {kaiming_normal: {nonlinearity: relu}}, name: c1}
  - relu
  - conv2d: {out: 4, kernel: 3, init: orthogonal}
  - relu
  - flatten
  - linear: {out: 30, init: {weight: xavier_uniform, bias: {constant: 0.25}}}
  - tanh
  - linear: {out: 5, init: {weight: {normal: {std: 0.01}}, bias: zeros}}
"""


def load(text: str = SPEC) -> archcalc.Model:
    return archcalc.loads(text)


@pytest.mark.parametrize(("init", "message", "at"), [
    ("xavier", "unknown init 'xavier'", "xavier"),
    ("{normal: {sd: 1}}", "init normal has no setting 'sd'", "sd"),
    ("{normal: {std: -1}}", "normal needs std ≥ 0", "{normal"),
    ("{uniform: {a: 1, b: 0}}", "uniform needs a < b", "{uniform"),
    ("{kaiming_normal: {mode: fan_out, nonlinearity: gelu}}", "'nonlinearity' must be one of", "gelu"),
    ("{bias: orthogonal}", "orthogonal needs a fan-in and a fan-out", "orthogonal"),
    ("{constant: {}}", "init constant needs 'value'", "{constant"),
    ("[zeros]", "init must be a name", "[zeros]"),
])
def test_a_bad_init_is_a_located_error(init, message, at):
    line = f"  - linear: {{out: 3, init: {init}}}"
    with pytest.raises(SpecError) as error:
        load(f"input: [4]\nlayers:\n{line}\n")
    assert message in error.value.message
    assert (error.value.loc.line, error.value.loc.col) == (3, line.index(at) + 1)


def test_init_belongs_to_layers_with_weights_and_to_a_bias_that_exists():
    with pytest.raises(SpecError, match="relu has no argument 'init'"):
        load("input: [4]\nlayers: [relu: {init: zeros}]\n")
    with pytest.raises(SpecError, match="bias: false") as error:
        load("input: [4]\nlayers:\n  - linear: {out: 3, bias: false, init: {bias: zeros}}\n")
    assert error.value.code == "bad-argument"


def test_aliases_are_torch_names():
    layer = load("input: [4]\nlayers: [linear: {out: 3, init: he_normal}]\n").layers[0].layer
    assert layer.init.weight.name == "kaiming_normal"


def test_the_torch_module_and_the_generated_source_initialise_alike():
    model = load()
    torch.manual_seed(0)
    module = archcalc.to_torch(model)
    namespace: dict = {}
    exec(compile(emit(model), "generated.py", "exec"), namespace)
    torch.manual_seed(0)
    generated = namespace["build_model"]()
    for key, value in module.state_dict().items():
        assert torch.equal(value, generated.state_dict()[key]), key
    state = module.state_dict()
    assert torch.all(state["5.bias"] == 0.25) and torch.all(state["7.bias"] == 0)
    w = state["2.weight"].reshape(4, -1)
    assert torch.allclose(w @ w.T, torch.eye(4), atol=1e-5)  # orthogonal rows
    assert abs(float(state["c1.weight"].std()) - math.sqrt(2 / 18)) < 0.1


def test_numpy_runtime_and_standalone_file_initialise_as_the_spec_says():
    model = load()
    net = to_numpy(model, seed=3, dtype="float64")
    state = net.state_dict()
    assert np.all(state["5.bias"] == 0.25) and np.all(state["7.bias"] == 0)
    w = state["2.weight"].reshape(4, -1)
    np.testing.assert_allclose(w @ w.T, np.eye(4), atol=1e-12)
    namespace: dict = {}
    exec(compile(render(model), "model.py", "exec"), namespace)
    standalone = namespace["build_model"](3, dtype="float64").state_dict()
    for key, value in state.items():
        np.testing.assert_array_equal(value, standalone[key], err_msg=key)


def test_numpy_orthogonal_is_torchs_construction():
    """torch.nn.init.orthogonal_: QR of a normal matrix (transposed when wide), columns signed by R's diagonal."""
    for shape in ((4, 2, 3, 3), (30, 5), (5, 30)):
        rng = np.random.default_rng(1)
        ours = _initial(rng, shape, ("orthogonal", (("gain", 2.0),)), 1)
        flat = np.random.default_rng(1).normal(0.0, 1.0, (shape[0], math.prod(shape[1:])))
        t = torch.tensor(flat.T if shape[0] < flat.shape[1] else flat)
        q, r = torch.linalg.qr(t)
        q = q * torch.sign(torch.diagonal(r))
        expected = (q.T if shape[0] < flat.shape[1] else q).numpy().reshape(shape) * 2.0
        np.testing.assert_allclose(ours, expected, atol=1e-12)


@pytest.mark.parametrize("init", [
    ("xavier_uniform", (("gain", 1.5),)), ("xavier_normal", (("gain", 1.0),)),
    ("kaiming_uniform", (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "relu"))),
    ("kaiming_normal", (("a", 0.2), ("mode", "fan_out"), ("nonlinearity", "leaky_relu"))),
    ("kaiming_normal", (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "tanh"))),
    ("uniform", (("a", -0.3), ("b", 0.1))), ("normal", (("mean", 0.5), ("std", 0.2))),
])
def test_numpy_draws_from_torchs_distributions(init):
    shape = (64, 32, 3, 3)
    ours = _initial(np.random.default_rng(0), shape, init, 1)
    torch.manual_seed(0)
    theirs = torch.empty(shape, dtype=torch.float64)
    kwargs = {k: v for k, v in init[1]}
    getattr(torch.nn.init, f"{init[0]}_")(theirs, **kwargs)
    theirs = theirs.numpy()
    assert ours.std() == pytest.approx(theirs.std(), rel=0.02)
    assert ours.mean() == pytest.approx(theirs.mean(), abs=0.02 * theirs.std() + 1e-3)
    if init[0].endswith("uniform"):
        assert ours.min() >= theirs.min() - 0.01 * theirs.std() and ours.max() <= theirs.max() + 0.01 * theirs.std()
