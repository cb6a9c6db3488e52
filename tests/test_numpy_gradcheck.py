"""Central finite differences in float64 for every layer kind, every structure and every loss.

The analytic gradient (backward) of f = Σ r·layer(x) is compared with (f(θ+h) − f(θ−h))/2h for
every element of the input and of every parameter; the relative error ‖a − n‖/(‖a‖ + ‖n‖) must
be below 1e-6. Inputs keep away from kinks: distinct values (no max-pool ties) with none within
0.02 of 0 or 6 (ReLU, ReLU6, leaky ReLU, sign), and dropout draws the same mask on every pass.
"""

from __future__ import annotations

import numpy as np
import pytest

import archcalc
from archcalc.backends.numpy import losses, to_numpy
from archcalc.backends.numpy.layers import Dropout
from archcalc.layers import LAYERS

H = 1e-6
TOL = 1e-6

#: (input shape, layer) per case; every kind has at least one
CASES = {
    "linear": ("[5]", "linear: 3"),
    "linear-rank2": ("[2, 5]", "linear: {out: 3, bias: false}"),
    "conv2d": ("[4, 6, 6]", "conv2d: {out: 4, kernel: 3, stride: 2, padding: 1, groups: 2}"),
    "conv1d": ("[4, 9]", "conv1d: {out: 6, kernel: 3, stride: 2, padding: 1, groups: 2}"),
    "conv1d-dilated-same": ("[2, 8]", "conv1d: {out: 3, kernel: 2, padding: same, dilation: 2}"),
    "conv2d-dilated-same": ("[2, 6, 5]", "conv2d: {out: 3, kernel: [2, 3], padding: same, dilation: [1, 2]}"),
    "maxpool2d": ("[2, 7, 7]", "maxpool2d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}"),
    "maxpool2d-dilated": ("[2, 7, 6]", "maxpool2d: {kernel: 2, stride: 1, dilation: 2}"),
    "avgpool2d": ("[2, 7, 7]", "avgpool2d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}"),
    "avgpool2d-exclude-pad": ("[2, 6, 7]", "avgpool2d: {kernel: 2, padding: 1, count_include_pad: false}"),
    "adaptive_avgpool2d": ("[2, 7, 5]", "adaptive_avgpool2d: {out: [3, 2]}"),
    "global_avgpool2d": ("[3, 4, 4]", "global_avgpool2d"),
    "batchnorm1d": ("[4]", "batchnorm1d"),
    "batchnorm1d-rank2": ("[3, 4]", "batchnorm1d: {momentum: 0.5}"),
    "batchnorm2d": ("[3, 4, 4]", "batchnorm2d"),
    "batchnorm2d-no-affine": ("[3, 3, 3]", "batchnorm2d: {affine: false}"),
    "dropout": ("[12]", "dropout: 0.4"),
    "flatten": ("[2, 3, 3]", "flatten"),
    "identity": ("[2, 3]", "identity"),
    "relu": ("[2, 6]", "relu"),
    "relu6": ("[2, 6]", "relu6"),
    "leaky_relu": ("[2, 6]", "leaky_relu: 0.2"),
    "sigmoid": ("[2, 6]", "sigmoid"),
    "tanh": ("[2, 6]", "tanh"),
    "softmax": ("[3, 4]", "softmax"),
    "log_softmax": ("[3, 4]", "log_softmax"),
    "softmax-last": ("[3, 4]", "softmax: {dim: -1}"),
    "gelu": ("[2, 6]", "gelu"),
    "gelu-tanh": ("[2, 6]", "gelu: {approximate: tanh}"),
    "step": ("[2, 6]", "step"),
    # (no bias before the batch norm: its gradient is exactly 0, which a relative error cannot judge)
    "structures": ("[3, 5, 5]", """
  - residual:
      body: [conv2d: {out: 4, kernel: 3, stride: 2, padding: 1, bias: false}, batchnorm2d, tanh]
      shortcut: auto
  - concat: [[], [conv2d: {out: 2, kernel: 1}, sigmoid]]
  - residual: [conv2d: {out: 6, kernel: 1}]
  - flatten"""),
}


def kink_free(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """Distinct values spread over (−8, 8), none within 0.02 of 0 or 6."""
    n = int(np.prod(shape))
    values = (rng.permutation(n) + 0.5) / n * 16 - 8
    values = np.where(np.abs(values) < 0.02, values + 0.04 * np.sign(values), values)
    values = np.where(np.abs(values - 6) < 0.02, values + 0.04, values)
    return values.reshape(shape)


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    scale = np.linalg.norm(a) + np.linalg.norm(b)
    return float(np.linalg.norm(a - b) / scale) if scale > 0 else 0.0


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


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_layer_gradients_match_finite_differences(case, training):
    shape, layer = CASES[case]
    body = layer if layer.startswith("\n") else f"\n  - {layer}"
    model = archcalc.loads(f"input: {shape}\nlayers:{body}")
    net = to_numpy(model, seed=0, dtype="float64").train(training)
    rng = np.random.default_rng(1)
    x = kink_free((3, *model.input_shape), rng)
    if not training:  # give the running statistics values other than 0 and 1
        for m in [m for _, m in net.named_modules() if "running_mean" in m.BUFFERS]:
            m.running_mean[...] = rng.normal(size=m.running_mean.shape)
            m.running_var[...] = rng.uniform(0.5, 2, size=m.running_var.shape)
    dropouts = [m for _, m in net.named_modules() if isinstance(m, Dropout)]

    def forward() -> np.ndarray:
        for m in dropouts:
            m.rng = np.random.default_rng(7)  # the same mask on every pass
        return net.forward(x)

    r = rng.normal(size=forward().shape)

    def f() -> float:
        return float((forward() * r).sum())

    forward()
    dx = net.backward(r)
    analytic = {"input": dx, **{f"{p}.{n}": m.grads[n] for p, m in net.named_modules() for n in m.PARAMS
                                if getattr(m, n) is not None}}
    arrays = {"input": x, **{f"{p}.{n}": getattr(m, n) for p, m in net.named_modules() for n in m.PARAMS
                             if getattr(m, n) is not None}}
    for name, array in arrays.items():
        error = relative_error(analytic[name], numeric(f, array))
        assert error < TOL, f"{case} {name}: relative error {error:.2e}"


def test_every_kind_has_a_gradient_case():
    covered = {archcalc.loads(f"input: {s}\nlayers:{t if t.startswith(chr(10)) else chr(10) + '  - ' + t}")
               .layers[0].kind for s, t in CASES.values()}
    assert {cls.kind for cls in LAYERS.values()} <= covered


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
