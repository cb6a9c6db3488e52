"""The spec vocabulary the linter reads: losses with settings and an input convention, multi-label classes,
a regression's target range and the data's range; every mistake is a located error with a hint."""

from __future__ import annotations

import pytest

import archcalc
from archcalc.errors import SpecError

HEAD = "input: [4]\nlayers: [linear: 3]\n"


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as caught:
        archcalc.loads(text)
    return caught.value


@pytest.mark.parametrize(("train", "message", "at"), [
    ("{loss: {huber: {delta: 0}}}", "delta must be > 0", "0}"),
    ("{loss: {huber: {beta: 1}}}", "huber has no setting 'beta'", "beta"),
    ("{loss: {cross_entropy: {label_smoothing: 1.5}}}", "label_smoothing must be in [0, 1], got 1.5", "1.5"),
    ("{loss: {cross_entropy: {label_smoothing: -0.1}}}", "label_smoothing must be in [0, 1]", "-0.1"),
    ("{loss: {nll: {label_smoothing: 0.1}}}", "nll has no setting 'label_smoothing'", "label_smoothing"),
    ("{loss: {nll: {inputs: probabilities}}}", "inputs of nll must be one of log_probabilities", "probabilities"),
    ("{loss: {mse: {inputs: logits}}}", "inputs of mse must be one of values", "logits"),
    ("{loss: [mse]}", "loss must be a name or {name: {settings}}", "[mse]"),
    ("{loss: {dice: 3}}", "the settings of dice must be a mapping", "3}"),
    ("{task: regression, multi_label: true}", "multi_label is a kind of classification", "true"),
    ("{multi_label: 1}", "multi_label must be true or false", "1}"),
    ("{task: classification, target_range: [0, 1]}", "target_range describes a regression", "[0, 1]"),
    ("{task: regression, target_range: [5, 1]}", "low < high", "[5, 1]"),
    ("{loss: {multi_margin: {p: 3}}}", "p must be 1 or 2, got 3", "3}"),
    ("{loss: {multi_margin: {p: 1.5}}}", "p must be 1 or 2, got 1.5", "1.5"),
    ("{loss: {multi_margin: {p: true}}}", "p must be 1 or 2, got True", "true"),
    ("{loss: {multi_margin: {margin: -1}}}", "margin must be ≥ 0, got -1", "-1"),
    ("{loss: {multi_margin: {delta: 1}}}", "multi_margin has no setting 'delta'", "delta"),
    ("{loss: {hinge: {margin: 1}}}", "hinge has no setting 'margin'", "margin"),
    ("{loss: {hinge: {inputs: probabilities}}}", "inputs of hinge must be one of logits", "probabilities"),
    ("{task: regression, loss: {poisson_nll: {log_input: 0}}}", "log_input must be true or false, got 0", "0}"),
    ("{task: regression, loss: {poisson_nll: {full: yes}}}", "full must be true or false", "yes"),
    ("{task: regression, loss: {poisson_nll: {eps: -1.0e-8}}}", "eps must be ≥ 0", "-1.0e-8"),
    ("{task: regression, loss: {poisson_nll: {eps: 1.0e-7}}}", "eps is added to the rate before its log", "1.0e-7"),
    ("{task: regression, loss: {poisson_nll: {log_input: true, eps: 1.0e-7}}}", "only log_input: false", "1.0e-7"),
    ("{task: regression, loss: poisson}", "got 'poisson'", "poisson"),
    ("{task: regression, loss: {poisson: {eps: 1.0e-7}}}", "got 'poisson'", "poisson"),
    ("{task: regression, loss: logcosh}", "got 'logcosh'", "logcosh"),
])
def test_a_bad_train_value_is_located(train, message, at):
    line = f"train: {train}"
    caught = error(HEAD + line + "\n")
    assert message in caught.message
    assert (caught.loc.line, caught.loc.col) == (3, line.index(at) + 1)


def test_loss_settings_and_conventions_are_read():
    train = archcalc.loads(HEAD + "train: {loss: {cross_entropy: {inputs: probabilities}}}\n").spec.train
    assert (train.loss, train.takes, train.fuses) == ("cross_entropy", "probabilities", None)
    train = archcalc.loads(HEAD + "train: {task: regression, loss: {smooth_l1: {beta: 0}}}\n").spec.train
    assert train.loss_params == {"beta": 0.0}
    assert archcalc.loads(HEAD).spec.train is None
    default = archcalc.loads(HEAD + "train: {classes: 3, multi_label: true}\n").spec.train
    assert default.loss == "bce_with_logits" and default.fuses == "sigmoid"
    train = archcalc.loads(HEAD + "train: {task: regression, loss: {poisson_nll: {log_input: false, eps: 1.0e-7}}}\n"
                           ).spec.train
    assert train.loss_params == {"log_input": False, "full": False, "eps": 1e-7}
    assert train.loss_settings == {"log_input": False, "eps": 1e-7}  # what nn.PoissonNLLLoss is given
    train = archcalc.loads(HEAD + "train: {loss: {multi_margin: {p: 2.0, margin: 0}}}\n").spec.train
    assert train.loss_params == {"p": 2, "margin": 0.0} and type(train.loss_params["p"]) is int
    assert (train.takes, train.fuses) == ("logits", None)  # raw scores, and no final layer of its own


@pytest.mark.parametrize(("data", "message", "at"), [
    ("{range: [1, 0]}", "low < high", "[1, 0]"),
    ("{range: [0]}", "range must be [low, high]", "[0]"),
    ("{normalized: yes}", "normalized must be true or false", "yes"),
    ("{scale: 255}", "unknown key 'scale' in 'data:'", "scale"),
    ("[0, 1]", "'data:' must be a mapping", "[0, 1]"),
])
def test_a_bad_data_section_is_located(data, message, at):
    line = f"data: {data}"
    caught = error(HEAD + line + "\n")
    assert message in caught.message
    assert (caught.loc.line, caught.loc.col) == (3, line.index(at) + 1)


def test_the_data_section_is_read():
    data = archcalc.loads(HEAD + "data: {range: [0, 255], normalized: false}\n").spec.data
    assert (data.range, data.normalized) == ((0.0, 255.0), False)


@pytest.mark.parametrize(("train", "hint"), [
    ("{classes: V}", "leave classes out: it is taken from the output layer; train: takes numbers as written"),
    ("{epochs: N}", "train: takes numbers as written: symbols and expressions are for the layers"),
    ("{epochs: 2.5}", None),
])
def test_a_symbol_in_train_says_that_train_takes_numbers(train, hint):
    caught = error("input: [4]\nsymbols: {V: 3, N: 2}\nlayers: [linear: V]\ntrain: " + train + "\n")
    assert caught.hint == hint and (caught.loc.line, caught.loc.col) == (4, 18 if "classes" in train else 17)
