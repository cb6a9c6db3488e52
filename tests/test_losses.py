"""Every loss of the spec language: the NumPy backend's forward and backward against PyTorch's autograd
through the torch backend's criterion, both built from the same ``train:`` section, in float64."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archcalc.backends.numpy.build import make_loss
from archcalc.backends.torch.training import criterion, targets
from archcalc.limits import default_limits
from archcalc.spec.parser import parse_spec
from archcalc.spec.source import parse_yaml
from archcalc.spec.train import LOSSES


def train_of(loss: str, task: str = "classification"):
    text = f"input: [4]\nlayers: [linear: 4]\ntrain: {{task: {task}, loss: {loss}}}\n"
    return parse_spec(parse_yaml(text, "x.yaml", default_limits()), "x.yaml").train


def logits(rng):
    return 3 * rng.normal(size=(6, 4))


def probabilities(rng):
    e = np.exp(rng.normal(size=(6, 4)))
    return e / e.sum(1, keepdims=True)


def log_probabilities(rng):
    return np.log(probabilities(rng))


def classes(rng):
    return rng.integers(0, 4, size=6)


def values(rng):
    return 2 * rng.normal(size=(6, 4))


def binary(rng):
    return rng.integers(0, 2, size=(6, 4)).astype(float)


def signs(rng):
    """Keras' own hinge targets, −1 and +1 (0/1 ones are read as −1/+1 by the loss)."""
    return rng.choice([-1.0, 1.0], size=(6, 4))


def one_score(rng):
    return 3 * rng.normal(size=(6, 1))


def yes_no(rng):
    return rng.integers(0, 2, size=6)


def counts(rng):
    return rng.poisson(2.5, size=(6, 4)).astype(float)


def rates(rng):
    return rng.uniform(0.05, 6, size=(6, 4))


#: spec loss → (task, network output, targets as the data give them)
CASES = {
    "cross_entropy": ("classification", logits, classes),
    "{cross_entropy: {inputs: probabilities}}": ("classification", probabilities, classes),
    "{cross_entropy: {label_smoothing: 0.1}}": ("classification", logits, classes),
    "{cross_entropy: {label_smoothing: 1}}": ("classification", logits, classes),
    "{cross_entropy: {inputs: probabilities, label_smoothing: 0.2}}": ("classification", probabilities, classes),
    "nll": ("classification", log_probabilities, classes),
    "bce": ("classification", lambda rng: rng.uniform(0.05, 0.95, size=(6, 4)), binary),
    "bce_with_logits": ("classification", logits, binary),
    "mse": ("regression", values, values),
    "l1": ("regression", values, values),
    "huber": ("regression", values, values),
    "{huber: {delta: 0.5}}": ("regression", values, values),
    "smooth_l1": ("regression", values, values),
    "{smooth_l1: {beta: 2.5}}": ("regression", values, values),
    "{smooth_l1: {beta: 0}}": ("regression", values, values),
    "kl_div": ("regression", log_probabilities, probabilities),
    "kl_div ": ("classification", log_probabilities, classes),  # class labels become one-hot distributions
    "cosine": ("regression", values, values),
    "dice": ("regression", lambda rng: rng.uniform(0.05, 0.95, size=(6, 4)), binary),
    "{dice: {smooth: 0}}": ("regression", lambda rng: rng.uniform(0.05, 0.95, size=(6, 4)), binary),
    "hinge": ("classification", logits, classes),  # one output per class, each against the rest
    "hinge ": ("classification", one_score, yes_no),  # one output for two classes
    "hinge  ": ("classification", logits, binary),  # rows of labels (multi_label)
    "hinge   ": ("classification", logits, signs),
    "squared_hinge": ("classification", logits, classes),
    "squared_hinge ": ("classification", one_score, yes_no),
    "squared_hinge  ": ("classification", logits, signs),
    "soft_margin": ("classification", logits, classes),
    "soft_margin ": ("classification", one_score, yes_no),
    "soft_margin  ": ("classification", logits, signs),
    "multi_margin": ("classification", logits, classes),
    "{multi_margin: {p: 2}}": ("classification", logits, classes),
    "{multi_margin: {p: 2, margin: 0.5}}": ("classification", logits, classes),
    "{multi_margin: {margin: 0}}": ("classification", logits, classes),
    "categorical_hinge": ("classification", logits, classes),
    # every other score below 0 in some rows: the largest "other" is the true class's 0 (Keras' definition)
    "categorical_hinge ": ("classification", lambda rng: -abs(logits(rng)), classes),
    "poisson_nll": ("regression", values, counts),
    "{poisson_nll: {full: true}}": ("regression", values, counts),
    "{poisson_nll: {log_input: false}}": ("regression", rates, counts),
    "{poisson_nll: {log_input: false, eps: 1.0e-7, full: true}}": ("regression", rates, counts),  # Keras' poisson
    "log_cosh": ("regression", values, values),
    "log_cosh ": ("regression", lambda rng: 20 * rng.normal(size=(6, 4)), values),  # |d| > 10: no overflow
}


def test_every_loss_is_checked():
    names = {case.strip().strip("{").split(":")[0] for case in CASES}
    assert names == set(LOSSES)


@pytest.mark.parametrize("case", sorted(CASES))
def test_numpy_loss_matches_torch_autograd(case):
    task, make_out, make_target = CASES[case]
    train = train_of(case.strip(), task)
    rng = np.random.default_rng(len(case))
    out, y = make_out(rng), make_target(rng)
    numpy_loss = make_loss(train)
    target = numpy_loss.targets(y, out.shape[1], task == "classification")
    value = numpy_loss.forward(out, target)
    grad = numpy_loss.backward()
    out_t = torch.tensor(out, dtype=torch.float64, requires_grad=True)
    module = criterion(train)
    expected = module(out_t, targets(module, torch.tensor(y), out_t))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12, abs=1e-12)
    np.testing.assert_allclose(grad, out_t.grad.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_a_probability_of_zero_has_no_gradient_in_either_backend(smoothing):
    """A float32 softmax gives exact zeros; their log is clamped at -100, with no gradient (not 0/0 = NaN)."""
    prob = np.array([[0, 0.3, 0.7], [0.5, 0.5, 0], [1e-50, 0.2, 0.8]])
    target = np.array([1, 0, 0])
    train = train_of(f"{{cross_entropy: {{inputs: probabilities, label_smoothing: {smoothing}}}}}")
    numpy_loss = make_loss(train)
    value, grad = numpy_loss.forward(prob, target), numpy_loss.backward()
    prob_t = torch.tensor(prob, requires_grad=True)
    expected = criterion(train)(prob_t, torch.tensor(target))
    expected.backward()
    assert value == pytest.approx(expected.item(), rel=1e-12)
    assert torch.isfinite(prob_t.grad).all() and np.array_equal(grad == 0, prob_t.grad.numpy() == 0)
    np.testing.assert_allclose(grad, prob_t.grad.numpy(), rtol=1e-12, atol=1e-15)


def test_probability_cross_entropy_clamps_the_log_like_bce():
    train = train_of("{cross_entropy: {inputs: probabilities}}")
    loss = make_loss(train)
    assert loss.forward(np.array([[0.0, 1.0], [0.5, 0.5]]), np.array([0, 1])) == pytest.approx((100 + np.log(2)) / 2)
    assert loss.backward()[0, 0] == 0  # clamped: no gradient, as torch.clamp gives none


@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.5])
def test_smoothed_cross_entropy_of_probabilities_is_torchs_of_their_logits(smoothing):
    """``{inputs: probabilities, label_smoothing: ε}`` on softmax(x) is ``nn.CrossEntropyLoss(label_smoothing=ε)``
    on x: torch's own definition, per sample and per position (class scores at dim 1)."""
    for shape, target in (((6, 4), (6,)), ((3, 4, 5, 2), (3, 5, 2))):
        x = torch.randn(*shape, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
        t = torch.randint(0, 4, target, generator=torch.Generator().manual_seed(2))
        ours = criterion(train_of(f"{{cross_entropy: {{inputs: probabilities, label_smoothing: {smoothing}}}}}"))
        torch.testing.assert_close(ours(x.softmax(1), t), torch.nn.CrossEntropyLoss(label_smoothing=smoothing)(x, t))


def test_label_smoothing_is_written_only_when_it_smooths():
    assert make_loss(train_of("cross_entropy")).smoothing == 0
    assert make_loss(train_of("{cross_entropy: {label_smoothing: 0.1}}")).smoothing == 0.1
    assert criterion(train_of("cross_entropy")).label_smoothing == 0
    assert criterion(train_of("{cross_entropy: {label_smoothing: 0.1}}")).label_smoothing == 0.1


def test_saying_what_a_logits_loss_takes_keeps_the_final_layer():
    assert make_loss(train_of("cross_entropy")).FUSES is not None
    assert make_loss(train_of("{cross_entropy: {inputs: logits}}")).FUSES is None
    assert make_loss(train_of("{bce_with_logits: {inputs: logits}}")).FUSES is None
