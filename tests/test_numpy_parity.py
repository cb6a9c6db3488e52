"""The NumPy backend against PyTorch autograd: same weights, float64, outputs and every gradient.

Each network (every kind's cases in tests/kinds.py, the shipped specs, the kitchen specs) is built
twice — by the NumPy backend and, independently, from ``torch.nn`` (the reference in tests/kinds.py,
wired by tests/numpy_torch.py) — with the NumPy weights copied into torch. Forward in training mode
(batch statistics, dropout with the NumPy mask) and in evaluation mode; then the gradient of
Σ r·output for a random r, for the input and for every parameter, and the running statistics.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

import archcalc
from archcalc.backends.numpy import to_numpy
from tests.conftest import SPECS
from tests.export_cases import SIZES
from tests.kinds import PARITY, Input, cases, examples
from tests.numpy_torch import KITCHENS, numpy_grads, torch_model

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same' with even kernel lengths")

TOL = 1e-6
#: shipped specs small enough to run in float64 here, with the symbol values used
SHIPPED = {"seed-mlp": {}, "perceptron": {}, "lenet5": {}, "digits-mlp": {}, "digits-cnn": {}, "lstm-sign": {},
           "char-gpt": {"T": 16}, "unet-shapes": {"H": 16, "W": 16},
           "symbolic-mlp": {"D_i": 7, "D": 5, "D_o": 3}, "symbolic-cnn": {"H": 12, "W": 10},
           "resnet18": {"H": 32, "W": 32}, "cnn1d-timeseries": {"T": 16}, "tcn": {"T": 24},
           **{name: SIZES[name] for name in ("gpt2", "bert-base", "llama-3-8b", "vit_b_16", "lstm-classifier")}}
#: the rest hold 25M–138M parameters (about 1 GB of float64 with gradients), or take minutes of NumPy
#: convolutions at 224×224 (DenseNet-121's 120 convolutions, SqueezeNet's 26): too large for the test suite
#: (the U-Net's 31M parameters at any size: tests/test_numpy_export.py runs its forward pass against torch;
#: ConvNeXt-T, which has no symbols to shrink it, is KITCHEN_CONVNEXT's blocks at a small size)
TOO_LARGE = {"alexnet", "vgg11", "vgg16", "vgg16_bn", "resnet50", "densenet121", "squeezenet1_0", "mobilenet_v3_large",
             "efficientnet_b0", "unet", "convnext_tiny"}
#: shipped specs whose kinds NumPy cannot compute yet (issue 12; tests/kinds.py records the refusals)
NOT_YET: set[str] = set()


def compare(model: archcalc.Model, batch: int, training: bool, seed: int = 0,
            inputs: tuple[Input, ...] | None = None) -> tuple[dict[str, float], dict[str, np.ndarray]]:
    """Largest absolute differences between NumPy and torch (output, input gradients, parameter
    gradients, buffers), and torch's gradients (of the real inputs, then of the parameters)."""
    net = to_numpy(model, seed=seed, dtype="float64")
    reference = torch_model(model.graph, net)
    net.train(training)
    reference.train(training)
    rng = np.random.default_rng(seed + 1)
    inputs = inputs or (Input(model.input_shape),)
    xs = examples(inputs, batch, rng)
    out = net.forward(*xs)
    xts = [torch.from_numpy(x) if i.ids else torch.tensor(x, requires_grad=True) for x, i in zip(xs, inputs)]
    out_t = reference(*xts)
    r = rng.normal(size=out.shape)
    dxs = net.backward(r)
    dxs = dxs if isinstance(dxs, tuple) else (dxs,)
    (out_t * torch.from_numpy(r)).sum().backward()
    grads = numpy_grads(net)
    torch_grads = {name: p.grad.numpy() for name, p in reference.named_parameters()}
    assert set(grads) == set(torch_grads)
    state = reference.state_dict()
    assert set(net.state_dict()) == set(state)
    # an input torch never differentiates (a position embedding reads only its length) has a zero gradient
    unused = {n for n, xt in enumerate(xt for xt, i in zip(xts, inputs) if not i.ids) if xt.grad is None}
    real = [(dx, xt.grad.numpy() if xt.grad is not None else np.zeros_like(dx))
            for dx, xt, i in zip(dxs, xts, inputs) if not i.ids]
    errors = {
        "output": float(np.abs(out - out_t.detach().numpy()).max()),
        "input": max((float(np.abs(dx - dxt).max()) for dx, dxt in real), default=0.0),
        "params": max((float(np.abs(g - torch_grads[k]).max()) for k, g in grads.items()), default=0.0),
        "buffers": max((float(np.abs(v - state[k].numpy()).max()) for k, v in net.state_dict().items()), default=0.0),
    }
    return errors, {**{f"input {n}": dxt for n, (_, dxt) in enumerate(real) if n not in unused}, **torch_grads}


def test_every_shipped_spec_is_checked_or_named_too_large():
    assert {p.stem for p in SPECS.glob("*.yaml")} == set(SHIPPED) | TOO_LARGE | NOT_YET


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", [pytest.param(n, marks=[pytest.mark.slow] if n == "resnet18" else [])
                                  for n in sorted(SHIPPED)])
def test_shipped_spec_matches_torch(name, training):
    model = archcalc.load(str(SPECS / f"{name}.yaml"), **SHIPPED[name])
    inputs = (Input(model.input_shape, ids=model.input_ids),)  # token ids for the transformers
    errors, _ = compare(model, batch=3 if name != "resnet18" else 2, training=training, inputs=inputs)
    assert max(errors.values()) < TOL, errors


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(KITCHENS))
def test_every_kind_and_structure_matches_torch(name, training):
    errors, _ = compare(archcalc.loads(KITCHENS[name]), batch=4, training=training)
    assert max(errors.values()) < TOL, errors
    assert errors["input"] > 0 or not training  # the gradient really flows (no all-zero comparison)


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", cases(PARITY))
def test_each_kind_matches_torch(case, training):
    errors, grads = compare(case.load(), batch=4, training=training, inputs=case.inputs)
    assert max(errors.values()) < case.tol.parity, errors
    # the gradients really flow (a comparison of zeros proves nothing), unless the kind's are all zero
    flowing = {name: bool(np.abs(g).max() > 0) for name, g in grads.items()}
    assert flowing == {name: not case.zero_gradient and name.rsplit(".", 1)[-1] not in case.zero_grads
                       for name in grads}


def test_the_kitchen_specs_use_every_structure():
    """The kinds are covered one by one in tests/kinds.py; these specs cover how they combine."""
    structures, modes = set(), set()
    for text in KITCHENS.values():
        for node, _ in archcalc.loads(text).graph.walk():
            structures.add(type(node).__name__)
            modes.add(getattr(node, "mode", None))
    assert structures == {"LayerNode", "SeqNode", "ResidualNode", "MergeNode"}
    assert {"identity", "projection", "layers", "none"} <= modes


def test_gradients_flow_through_every_parameter_of_the_kitchen_cnn():
    """No gradient in the comparison is trivially zero (a zero-gradient layer upstream would hide bugs)."""
    net = to_numpy(archcalc.loads(KITCHENS["kitchen-cnn"]), seed=0, dtype="float64")
    out = net.forward(np.random.default_rng(0).normal(size=(4, 4, 11, 11)))
    net.backward(np.random.default_rng(1).normal(size=out.shape))
    assert all(np.abs(g).max() > 0 for g in numpy_grads(net).values())


def test_the_embedding_scale_is_rounded_to_float32_as_the_torch_export_rounds_it():
    """Gemma's normaliser √D is a float32 number cast to the model's dtype: NumPy in float64 multiplies by the
    same number torch's ScaledEmbedding does (it multiplied by the float64 √D, 1.7e-8 apart)."""
    import numpy as np
    import torch

    model = archcalc.loads("input: [T]\nsymbols: {T: 5}\nlayers:\n"
                           "  - embedding: {vocab: 10, dim: 8, scale: 45.254833995939045}\n")
    net = to_numpy(model, seed=0, dtype="float64")
    module = archcalc.to_torch(model).double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    ids = np.array([[1, 2, 3, 4, 9]])
    with torch.no_grad():
        expected = module(torch.from_numpy(ids)).numpy()
    assert np.array_equal(net.forward(ids), expected)
