"""The spec's ``train:`` section in torch: optimizers, losses (on logits when the spec ends in the
activation the loss applies), L1, and a loop that trains the shipped digits CNN past 90 %."""

from __future__ import annotations

import itertools
import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn

import archcalc
from archcalc.backends.torch import to_torch
from archcalc.backends.torch import training as T
from archcalc.backends.torch.source import emit
from archcalc.spec.train import LOGIT_LOSSES, dense_axes
from tests.conftest import SPECS
from tests.torch_helpers import import_file


def spec(layers: str, train: str, inputs: str = "[4]") -> archcalc.Model:
    return archcalc.loads(f"name: t\ninput: {inputs}\nlayers: {layers}\ntrain: {train}\n")


@pytest.mark.parametrize("train, cls, expected", [
    ("{optimizer: {sgd: {lr: 0.1, momentum: 0.9, nesterov: true}}, weight_decay: 0.0001}", torch.optim.SGD,
     {"lr": 0.1, "momentum": 0.9, "dampening": 0.0, "nesterov": True, "weight_decay": 0.0001}),
    ("{optimizer: {sgd: {momentum: 0.5, dampening: 0.1}}}", torch.optim.SGD,
     {"lr": 0.01, "momentum": 0.5, "dampening": 0.1, "nesterov": False, "weight_decay": 0.0}),
    ("{optimizer: {adagrad: {lr: 0.05, lr_decay: 0.01, initial_accumulator_value: 0.1, eps: 1.0e-8}}}",
     torch.optim.Adagrad, {"lr": 0.05, "lr_decay": 0.01, "initial_accumulator_value": 0.1, "eps": 1e-8}),
    ("{optimizer: {rmsprop: {alpha: 0.9, momentum: 0.5, centered: true}}, weight_decay: 0.01}", torch.optim.RMSprop,
     {"lr": 0.01, "alpha": 0.9, "eps": 1e-8, "momentum": 0.5, "centered": True, "weight_decay": 0.01}),
    ("{optimizer: {adam: {betas: [0.8, 0.99], amsgrad: true}}, weight_decay: 0.001}", torch.optim.Adam,
     {"lr": 0.001, "betas": (0.8, 0.99), "eps": 1e-8, "amsgrad": True, "weight_decay": 0.001}),
    ("{optimizer: adamw}", torch.optim.AdamW, {"lr": 0.001, "betas": (0.9, 0.999), "weight_decay": 0.01}),
    ("{optimizer: adadelta}", torch.optim.Adadelta, {"lr": 1.0, "rho": 0.9, "eps": 1e-6, "weight_decay": 0.0}),
    ("{optimizer: {adadelta: {lr: 0.5, rho: 0.95, eps: 1.0e-5}}, weight_decay: 0.001}", torch.optim.Adadelta,
     {"lr": 0.5, "rho": 0.95, "eps": 1e-5, "weight_decay": 0.001}),
    ("{optimizer: {adamax: {betas: [0.8, 0.99], eps: 1.0e-6}}, weight_decay: 0.01}", torch.optim.Adamax,
     {"lr": 0.002, "betas": (0.8, 0.99), "eps": 1e-6, "weight_decay": 0.01}),
    ("{optimizer: nadam}", torch.optim.NAdam, {"lr": 0.002, "betas": (0.9, 0.999), "eps": 1e-8,
                                               "momentum_decay": 0.004, "decoupled_weight_decay": False}),
    ("{optimizer: {nadam: {momentum_decay: 0.01, decoupled_weight_decay: true}}, weight_decay: 0.05}",
     torch.optim.NAdam, {"momentum_decay": 0.01, "decoupled_weight_decay": True, "weight_decay": 0.05}),
    ("{optimizer: {radam: {lr: 0.01, betas: [0.8, 0.99]}}, weight_decay: 0.01}", torch.optim.RAdam,
     {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-8, "decoupled_weight_decay": False, "weight_decay": 0.01}),
    ("{optimizer: {radam: {decoupled_weight_decay: true}}}", torch.optim.RAdam,
     {"lr": 0.001, "decoupled_weight_decay": True, "weight_decay": 0.0}),
])
def test_optimizers_are_torch_optim_with_the_specs_hyperparameters(train, cls, expected):
    model = spec("[linear: 3]", train)
    module = to_torch(model)
    optimizer = T.build_optimizer(model.spec.train, module)
    assert type(optimizer) is cls
    group = optimizer.param_groups[0]
    assert {key: group[key] for key in expected} == expected
    assert group["params"] == list(module.parameters())


@pytest.mark.parametrize(("name", "hyper"), [
    ("adadelta", {"rho": 1.0}), ("adadelta", {"rho": 0.0}), ("adadelta", {"rho": 1.001}), ("adadelta", {"rho": -0.1}),
    ("adadelta", {"eps": 0.0}), ("adadelta", {"eps": -1e-6}),
    ("adamax", {"betas": (0.0, 0.0)}), ("adamax", {"betas": (0.9, 1.0)}), ("adamax", {"betas": (-0.1, 0.9)}),
    ("nadam", {"momentum_decay": 0.0}), ("nadam", {"momentum_decay": -1e-3}), ("nadam", {"betas": (1.0, 0.999)}),
    ("radam", {"betas": (0.9, 0.0)}), ("radam", {"betas": (0.9, 1.0)}), ("radam", {"eps": -1.0}),
])
def test_the_spec_refuses_what_torchs_constructor_refuses(name, hyper):
    """At the edges of each bound: the spec takes a value exactly when torch.optim's constructor does (lr ≤ 0,
    which torch lets through as 0, the spec refuses for every optimizer)."""
    def written(value):
        return f"[{value[0]}, {value[1]}]" if isinstance(value, tuple) else value

    settings = ", ".join(f"{key}: {written(value)}" for key, value in hyper.items())
    try:
        T.OPTIMIZERS[name]([torch.zeros(1, requires_grad=True)], **hyper)
        torch_takes = True
    except ValueError:
        torch_takes = False
    try:
        spec("[linear: 3]", f"{{optimizer: {{{name}: {{{settings}}}}}}}")
        spec_takes = True
    except archcalc.SpecError:
        spec_takes = False
    assert spec_takes == torch_takes


def test_weight_decay_is_torchs_l2_through_the_gradient():
    model = spec("[linear: {out: 1, bias: false}]", "{optimizer: {sgd: {lr: 0.5}}, weight_decay: 0.1}", "[2]")
    module = to_torch(model)
    weight = module.get_submodule("0").weight
    with torch.no_grad():
        weight.copy_(torch.tensor([[1.0, -2.0]]))
    optimizer = T.build_optimizer(model.spec.train, module)
    module(torch.tensor([[1.0, 1.0]])).sum().backward()
    optimizer.step()
    # w − lr·(g + wd·w) with g = x = [1, 1]
    torch.testing.assert_close(weight, torch.tensor([[1 - 0.5 * (1 + 0.1), -2 - 0.5 * (1 - 0.2)]]))


def test_l1_is_lambda_times_the_sum_of_absolute_parameters():
    model = spec("[linear: 3]", "{l1: 0.01}")
    module = to_torch(model)
    expected = 0.01 * sum(p.abs().sum() for p in module.parameters())
    torch.testing.assert_close(T.l1_penalty(model.spec.train, module), expected, rtol=0, atol=0)
    penalty = T.l1_penalty(model.spec.train, module)
    penalty.backward()
    weight = module.get_submodule("0").weight
    torch.testing.assert_close(weight.grad, 0.01 * weight.sign())
    assert T.l1_penalty(spec("[linear: 3]", "{}").spec.train, module).item() == 0.0


def test_cross_entropy_on_a_softmax_output_is_computed_from_the_logits():
    model = spec("[linear: 3, softmax]", "{loss: cross_entropy, classes: 3}")
    torch.manual_seed(0)
    module = to_torch(model)
    loss = T.build_loss(model.spec.train, module)
    assert loss.dropped == "1" and isinstance(loss.criterion, nn.CrossEntropyLoss)
    x, y = torch.randn(5, 4), torch.tensor([0, 2, 1, 1, 0])
    logits = module.get_submodule("0")(x)
    torch.testing.assert_close(loss(x, y), F.cross_entropy(logits, y), rtol=0, atol=0)
    assert not math.isclose(loss(x, y).item(), F.cross_entropy(module(x), y).item(), rel_tol=1e-3)  # twice
    torch.testing.assert_close(module(x), logits.softmax(dim=1))  # the module still outputs probabilities
    # the gradient with respect to the logits is (softmax − onehot)/N, torch's fused form
    leaf = logits.detach().requires_grad_()
    T.build_loss(model.spec.train, nn.Sequential()).criterion(leaf, y).backward()
    torch.testing.assert_close(leaf.grad, (leaf.softmax(dim=1) - F.one_hot(y, 3)) / 5)


def test_the_final_softmax_is_found_inside_nested_groups_and_not_over_other_axes():
    model = spec("[linear: 6, {name: head, layers: [linear: 3, softmax]}]", "{loss: cross_entropy, classes: 3}")
    module = to_torch(model)
    loss = T.build_loss(model.spec.train, module)
    assert loss.dropped == "head.1"
    x = torch.randn(2, 4)
    torch.testing.assert_close(loss.logits(x), module.get_submodule("head.0")(module.get_submodule("0")(x)))
    assert list(dict(loss.logits.named_parameters())) == list(dict(module.named_parameters()))
    # a softmax over another axis than the classes: run apart, and applied to the logits before the loss
    other = spec("[linear: 3, softmax: {dim: -2}]", "{loss: cross_entropy, classes: 3}", "[2, 4]")
    module = to_torch(other)
    loss = T.build_loss(other.spec.train, module)
    x, y = torch.randn(5, 2, 4), torch.tensor([[0, 2], [1, 1], [0, 0], [2, 1], [1, 0]])  # a class per position
    assert loss.dropped == "1" and loss.class_dim(loss.logits(x), y) == 2
    torch.testing.assert_close(loss(x, y), F.cross_entropy(module(x).movedim(2, 1), y), rtol=0, atol=0)


def test_the_final_modules_are_what_the_torch_backend_builds_for_the_fused_kinds():
    assert set(T.FINAL_MODULES) == set(LOGIT_LOSSES.values())
    for kind, cls in T.FINAL_MODULES.items():
        assert type(to_torch(archcalc.loads(f"input: [3]\nlayers: [{kind}]"))[0]) is cls


def test_bce_with_logits_drops_a_final_sigmoid_and_plain_bce_keeps_it():
    x, y = torch.randn(6, 4), torch.tensor([0, 1, 1, 0, 1, 0])
    model = spec("[linear: 1, sigmoid]", "{loss: bce_with_logits, classes: 2}")
    module = to_torch(model)
    loss = T.build_loss(model.spec.train, module)
    assert loss.dropped == "1"
    logits = module.get_submodule("0")(x)
    torch.testing.assert_close(loss(x, y), F.binary_cross_entropy_with_logits(logits, y[:, None].float()))
    plain = spec("[linear: 1, sigmoid]", "{loss: bce, classes: 2}")
    loss = T.build_loss(plain.spec.train, module)
    assert loss.dropped is None and isinstance(loss.criterion, nn.BCELoss)
    torch.testing.assert_close(loss(x, y), F.binary_cross_entropy(module(x), y[:, None].float()))


def test_mse_compares_outputs_with_targets_of_the_same_shape():
    model = spec("[linear: 1]", "{task: regression, loss: mse}")
    module = to_torch(model)
    x, y = torch.randn(5, 4), torch.randn(5)
    loss = T.build_loss(model.spec.train, module)
    torch.testing.assert_close(loss(x, y), ((module(x)[:, 0] - y) ** 2).mean())


def test_a_generated_module_trains_on_its_logits(tmp_path):
    model = spec("[linear: 3, softmax]", "{loss: cross_entropy, classes: 3}")
    file = tmp_path / "probs.py"
    file.write_text(emit(model), encoding="utf-8")
    generated = import_file(file).build_model()
    loss = T.build_loss(model.spec.train, generated)
    assert loss.dropped == "logits"
    x, y = torch.randn(5, 4), torch.tensor([0, 2, 1, 1, 0])
    torch.testing.assert_close(loss(x, y), F.cross_entropy(generated(x, logits=True), y), rtol=0, atol=0)
    torch.testing.assert_close(generated(x), generated(x, logits=True).softmax(dim=1))


def test_a_layer_named_logits_is_just_a_layer():
    model = spec("[linear: {out: 3, name: logits}, softmax]", "{loss: cross_entropy, classes: 3}")
    module = to_torch(model)
    loss = T.build_loss(model.spec.train, module)
    assert loss.dropped == "1"
    x = torch.randn(2, 4)
    torch.testing.assert_close(loss.logits(x), module.logits(x))


def test_fit_steps_once_per_shuffled_mini_batch(monkeypatch):
    model = spec("[linear: 1]", "{task: regression, loss: mse, batch_size: 4, epochs: 2, seed: 3}", "[1]")
    module = to_torch(model)
    seen: list[list[float]] = []
    module.register_forward_pre_hook(lambda m, args: seen.append(args[0][:, 0].tolist()))
    x = torch.arange(10.0)[:, None]
    history = T.fit(module, model.spec.train, x, torch.zeros(10))
    assert [len(batch) for batch in seen] == [4, 4, 2, 4, 4, 2]
    first, second = [v for batch in seen[:3] for v in batch], [v for batch in seen[3:] for v in batch]
    assert sorted(first) == sorted(second) == x[:, 0].tolist() and first != second
    assert [e.epoch for e in history.epochs] == [1, 2] and module.training
    again = to_torch(model)  # the same seed gives the same order
    repeat: list[list[float]] = []
    again.register_forward_pre_hook(lambda m, args: repeat.append(args[0][:, 0].tolist()))
    T.fit(again, model.spec.train, x, torch.zeros(10))
    assert [v for batch in repeat for v in batch] == first + second


def test_early_stopping_follows_the_spec():
    train = "{task: regression, loss: mse, epochs: 5, early_stopping: {patience: 1, min_delta: 100}}"
    model = spec("[linear: 1]", train, "[1]")
    x, y = torch.randn(8, 1), torch.randn(8)
    history = T.fit(to_torch(model), model.spec.train, x, y, validation=(x, y))
    assert len(history.epochs) == 2 and history.stopped_early
    assert all(e.val_loss is not None and e.val_accuracy is None for e in history.epochs)

def test_early_stopping_restores_the_best_epochs_weights_and_buffers():
    train = ("{classes: 3, optimizer: {adam: {lr: 0.05}}, batch_size: 10, epochs: 100, "
             "early_stopping: {patience: 3, monitor: val_accuracy}}")
    model = spec("[linear: 64, batchnorm1d, relu, linear: 3]", train)
    torch.manual_seed(0)
    module = to_torch(model)
    generator = torch.Generator().manual_seed(0)  # noise: validation accuracy soon stops improving
    x, y = torch.randn(60, 4, generator=generator), torch.randint(0, 3, (60,), generator=generator)
    vx, vy = torch.randn(30, 4, generator=generator), torch.randint(0, 3, (30,), generator=generator)
    states = {}

    def keep(epoch):
        states[epoch.epoch] = {k: v.clone() for k, v in module.state_dict().items()}

    history = T.fit(module, model.spec.train, x, y, validation=(vx, vy), seed=1, on_epoch=keep)
    best = history.best_epoch
    assert history.stopped_early and len(history.epochs) == best + 3
    accuracies = [e.val_accuracy for e in history.epochs]
    assert accuracies.index(max(accuracies)) == best - 1  # the first epoch with the highest
    for key, value in module.state_dict().items():  # running statistics too
        assert torch.equal(value, states[best][key]), key
    assert T.evaluate(module, model.spec.train, vx, vy)[1] == accuracies[best - 1]


def test_fit_reports_every_step_and_the_best_epoch_without_validation():
    model = spec("[linear: 3]", "{classes: 3, optimizer: {sgd: {lr: 0.5}}, batch_size: 4, epochs: 3}")
    x, y = torch.randn(10, 4), torch.tensor([0, 1, 2, 0, 1, 2, 0, 1, 2, 0])
    steps = []
    history = T.fit(to_torch(model), model.spec.train, x, y, seed=0, on_batch=lambda *args: steps.append(args))
    assert [s[:3] for s in steps] == [(e, b, 3) for e in (1, 2, 3) for b in (1, 2, 3)]
    assert [s[5] for s in steps[:3]] == [4, 8, 10]
    for epoch, (*_, loss, accuracy, _samples) in zip(history.epochs, steps[2::3]):
        assert (epoch.loss, epoch.accuracy) == (loss, accuracy)
        assert epoch.val_loss is None and epoch.seconds > 0
    losses = history.losses
    assert history.best_epoch == 1 + losses.index(min(losses)) and not history.stopped_early
    assert 0 <= steps[0][4] <= 1 and steps[0][4] * 4 == round(steps[0][4] * 4)


def test_a_last_batch_of_one_sample_joins_the_one_before():
    generator = torch.Generator().manual_seed(0)
    assert [len(b) for b in T.batches(65, 32, generator)] == [32, 33]
    assert [len(b) for b in T.batches(66, 32, generator)] == [32, 32, 2]
    assert [len(b) for b in T.batches(1, 32, generator)] == [1]
    assert sorted(torch.cat(T.batches(65, 32, generator)).tolist()) == list(range(65))
    model = spec("[linear: 3, batchnorm1d]", "{task: regression, batch_size: 4}")
    history = T.fit(to_torch(model), model.spec.train, torch.randn(9, 4), torch.randn(9, 3), epochs=1)
    assert len(history.epochs) == 1  # torch's batch norm refuses a training batch of one


def test_mse_on_a_classifier_compares_with_one_hot_rows():
    model = spec("[linear: 3]", "{classes: 3, loss: mse}")
    module = to_torch(model)
    x, y = torch.randn(4, 4), torch.tensor([2, 0, 1, 2])
    loss = T.build_loss(model.spec.train, module)
    torch.testing.assert_close(loss(x, y), F.mse_loss(module(x), F.one_hot(y, 3).float()), rtol=0, atol=0)



def test_the_digits_cnn_learns_the_digits(one_thread):
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    images = (digits.images / 16.0).astype(np.float32)[:, None]
    x, x_test, y, y_test = train_test_split(images, digits.target, test_size=0.25, random_state=0,
                                            stratify=digits.target)
    model = archcalc.load(str(SPECS / "digits-cnn.yaml"))
    assert model.input_shape == (1, 8, 8) and model.spec.train.epochs == 10
    torch.manual_seed(0)
    module = to_torch(model)
    _, before = T.evaluate(module, model.spec.train, x_test, y_test)
    history = T.fit(module, model.spec.train, x, y, validation=(x_test, y_test))
    losses = history.losses
    assert len(losses) == 10 and losses[-1] < losses[0] / 5
    assert all(b < a * 1.5 for a, b in itertools.pairwise(losses))
    assert before < 0.3 and history.epochs[-1].val_accuracy > 0.9
    assert T.evaluate(module, model.spec.train, x_test, y_test)[1] == history.epochs[-1].val_accuracy


@pytest.mark.parametrize("shape, dim, target, folded", [
    ("[6]", 0, [], True), ("[6]", -1, [], True),  # a vector's only axis is the classes'
    ("[4, 6]", 0, [3], True), ("[4, 6]", -2, [3], True), ("[4, 6]", -1, [3], False), ("[4, 6]", 1, [3], False),
    # a class per position ([4, 3] against [4]): the class axis is the last, and so must the softmax's be
    ("[4, 6]", -1, [4], True), ("[4, 6]", 1, [4], True), ("[4, 6]", 0, [4], False), ("[4, 6]", -2, [4], False),
])
def test_both_trainers_leave_out_the_same_final_softmax(shape, dim, target, folded):
    """The softmax over the class axis (and only it) is left to cross-entropy, in torch and in NumPy: the
    loss is cross-entropy of the logits then, else of the softmax's output, the same number in both."""
    from archcalc.backends.numpy import losses, to_numpy, training

    model = archcalc.loads(f"input: {shape}\nlayers: [linear: 3, softmax: {{dim: {dim}}}]\ntrain: {{}}\n")
    net = to_numpy(model, seed=0, dtype="float64")
    module = archcalc.to_torch(model).double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(5, *json.loads(shape)))
    y = np.random.default_rng(1).integers(0, 3, (5, *target))
    loss = losses.per_position_loss(losses.CrossEntropyLoss(), y, dense_axes(model.spec.train, model.output_shape))
    assert (training.logits_view(net, loss) is not net) is folded
    value = loss.forward(training.logits_view(net, loss).forward(x), y)
    scores = net.layers[0][1].forward(x) if folded else net.forward(x)  # the logits, or the probabilities
    scores = np.moveaxis(scores, -1, 1) if target == [4] else scores  # the class axis to dim 1, as torch wants
    expected = F.cross_entropy(torch.from_numpy(np.ascontiguousarray(scores)), torch.from_numpy(y))
    assert abs(value - expected.item()) < 1e-12
    ours = T.build_loss(model.spec.train, module)(torch.from_numpy(x), torch.from_numpy(y))
    assert abs(ours.item() - expected.item()) < 1e-12
