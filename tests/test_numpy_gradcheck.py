"""Central finite differences in float64 for every layer kind (tests/kinds.py), every structure and every loss.

The analytic gradient (backward) of f = Σ r·layer(x) is compared with (f(θ+h) − f(θ−h))/2h for
every element of the input and of every parameter; the relative error ‖a − n‖/(‖a‖ + ‖n‖) must
be below 1e-6. Inputs keep away from kinks: distinct values (no max-pool ties) with none within
0.02 of 0, ±3 or 6 (ReLU, ReLU6, leaky ReLU, sign, the hard sigmoid and swish), and dropout draws the
same mask on every pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import archcalc
from archcalc.backends.numpy import losses, to_numpy
from archcalc.backends.numpy.layers import Attention, Dropout
from tests.kinds import GRAD, Input, cases, examples
from tests.numpy_torch import KITCHEN_UNET

H = 1e-6
TOL = 1e-6

#: whole networks, for the structures between layers (the layer kinds' cases are in tests/kinds.py);
#: no bias before the batch norm: its gradient is exactly 0, which a relative error cannot judge
NETWORKS = {
    "structures": """
input: [3, 5, 5]
layers:
  - residual:
      body: [conv2d: {out: 4, kernel: 3, stride: 2, padding: 1, bias: false}, batchnorm2d, tanh]
      shortcut: auto
  - concat: [[], [conv2d: {out: 2, kernel: 1}, sigmoid]]
  - residual: [conv2d: {out: 6, kernel: 1}]
  - flatten""",
    "skips": KITCHEN_UNET,  # a small U-Net: gradients of outputs read by later branches summed
}


def kink_free(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Distinct values spread over (−8, 8), none within 0.02 of 0, ±3 or 6."""
    n = int(np.prod(shape))
    values = (rng.permutation(n) + 0.5) / n * 16 - 8
    values = np.where(np.abs(values) < 0.02, values + 0.04 * np.where(values < 0, -1, 1), values)  # 0 itself too
    for kink in (-3, 3, 6):
        values = np.where(np.abs(values - kink) < 0.02, values + 0.04, values)
    return values.reshape(shape)


#: below this norm both gradients are zero up to rounding: a gradient that is zero by symmetry (the key
#: projection's bias in attention, which adds one constant to a softmax row) is judged absolutely
ZERO = 1e-7


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > ZERO else 0.0


def numeric(f, array: np.ndarray) -> np.ndarray:
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        old = array[i]
        array[i] = old + H
        up = f()
        array[i] = old - H
        down = f()
        array[i] = old
        grad[i] = (up - down) / (2 * H)
    return grad


def gradient_errors(model: archcalc.Model, inputs: tuple[Input, ...], training: bool) -> dict[str, float]:
    """Relative error of the analytic gradient of Σ r·net(x) against central differences, for every
    real input and every parameter (a random r; integer inputs are ids, which have no gradient)."""
    net = to_numpy(model, seed=0, dtype="float64").train(training)
    rng = np.random.default_rng(1)
    xs = examples(inputs, 3, rng, real=kink_free)
    if not training:  # give the running statistics values other than 0 and 1
        for m in [m for _, m in net.named_modules() if getattr(m, "running_mean", None) is not None]:
            m.running_mean[...] = rng.normal(size=m.running_mean.shape)
            m.running_var[...] = rng.uniform(0.5, 2, size=m.running_var.shape)
    dropouts = [m for _, m in net.named_modules() if isinstance(m, (Dropout, Attention))]  # attention's on weights

    def forward() -> np.ndarray:
        for m in dropouts:
            m.rng = np.random.default_rng(7)  # the same mask on every pass
        return net.forward(*xs)

    r = rng.normal(size=forward().shape)

    def f() -> float:
        return float((forward() * r).sum())

    forward()
    dxs = net.backward(r)
    dxs = dxs if isinstance(dxs, tuple) else (dxs,)
    names = ["input"] if len(xs) == 1 else [f"input {i}" for i in range(len(xs))]
    analytic = {name: dx for name, dx, i in zip(names, dxs, inputs) if not i.ids}
    arrays = {name: x for name, x, i in zip(names, xs, inputs) if not i.ids}
    for p, m in net.named_modules():
        for n in m.PARAMS:
            if getattr(m, n) is not None:
                analytic[f"{p}.{n}"], arrays[f"{p}.{n}"] = m.grads[n], getattr(m, n)
    return {name: relative_error(analytic[name], numeric(f, array)) for name, array in arrays.items()}


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", cases(GRAD))
def test_layer_gradients_match_finite_differences(case, training):
    for name, error in gradient_errors(case.load(), case.inputs, training).items():
        assert error < case.tol.grad, f"{case.id} {name}: relative error {error:.2e}"


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("name", sorted(NETWORKS))
def test_network_gradients_match_finite_differences(name, training):
    model = archcalc.loads(NETWORKS[name])
    for part, error in gradient_errors(model, (Input(model.input_shape),), training).items():
        assert error < TOL, f"{name} {part}: relative error {error:.2e}"


def test_step_gradient_is_zero_and_dropout_really_drops():
    net = to_numpy(archcalc.loads("input: [1000]\nlayers: [dropout: 0.25, step]"), seed=3, dtype="float64")
    out = net.forward(np.ones((4, 1000)))
    assert set(np.unique(out)) == {0.0, 1.0}
    assert abs((out == 0).mean() - 0.25) < 0.02
    dropout = net.layers[0][1]
    assert set(np.unique(dropout.mask)) == {0.0, 4 / 3}
    assert not net.backward(np.ones_like(out)).any()


LOSS_CASES = {
    "mse": (losses.MSELoss, lambda rng: rng.normal(size=(5, 3)), lambda rng: rng.normal(size=(5, 3))),
    "mse-regression-column": (losses.MSELoss, lambda rng: rng.normal(size=(5, 1)), lambda rng: rng.normal(size=5)),
    "cross_entropy": (losses.CrossEntropyLoss, lambda rng: 3 * rng.normal(size=(6, 4)),
                      lambda rng: rng.integers(0, 4, size=6)),
    "bce": (losses.BCELoss, lambda rng: rng.uniform(0.05, 0.95, size=(6, 1)),
            lambda rng: rng.integers(0, 2, size=6).astype(float)),
    "bce_with_logits": (losses.BCEWithLogitsLoss, lambda rng: 3 * rng.normal(size=(6, 2)),
                        lambda rng: rng.uniform(0, 1, size=(6, 2))),
}


@pytest.mark.parametrize("case", sorted(LOSS_CASES))
def test_loss_gradients_match_finite_differences(case):
    cls, make_out, make_target = LOSS_CASES[case]
    rng = np.random.default_rng(0)
    out, target = make_out(rng), make_target(rng)
    loss = cls()
    loss.forward(out, target)
    analytic = loss.backward()
    error = relative_error(analytic, numeric(lambda: cls().forward(out, target), out))
    assert error < TOL, f"{case}: relative error {error:.2e}"


def test_cross_entropy_is_stable_for_huge_logits():
    loss = losses.CrossEntropyLoss()
    value = loss.forward(np.array([[1000.0, 0.0], [0.0, -1000.0]]), np.array([1, 0]))
    assert value == pytest.approx(500.0)
    assert np.isfinite(loss.backward()).all()
    assert losses.BCEWithLogitsLoss().forward(np.array([[800.0], [-800.0]]), np.array([0, 1])) == pytest.approx(800)
