"""The NumPy backend's tables, shapes, names, initialisation and state, checked against the core."""

from __future__ import annotations

import ast
import inspect
import itertools
from functools import partial

import numpy as np
import pytest

import archcalc
from archcalc.backends.numpy import build, layers, losses, optim, structures, to_numpy, training
from archcalc.graph import LayerNode
from archcalc.layers import LAYERS
from archcalc.spec.train import LOGIT_LOSSES, LOSSES
from archcalc.training import loop
from tests.conftest import SPECS
from tests.kinds import KINDS as RECORD
from tests.numpy_torch import KITCHENS

RUNTIME = (layers, structures, losses, optim, loop, training)


def test_every_registered_kind_has_a_table_entry():
    """Or its refusal is recorded in tests/kinds.py (the kinds issue 12 brings to NumPy)."""
    refused = {kind for kind, entry in RECORD.items() if "numpy" in entry.refuses}
    assert set(build.KINDS) | set(build.MERGES) == {cls.kind for cls in LAYERS.values()} - refused
    assert not refused & (set(build.KINDS) | set(build.MERGES))


def test_every_spec_loss_has_a_class():
    assert set(build.LOSSES) == set(LOSSES)


@pytest.mark.parametrize("module", RUNTIME, ids=lambda m: m.__name__.rsplit(".", 1)[-1])
def test_runtime_modules_import_only_numpy_and_each_other(module):
    """They are copied into the standalone export, which must need nothing but NumPy (the shared
    training loop, ``archcalc.training.loop``, is one of them, and so is ``archcalc.backends.rope``, the rotary
    frequencies written for NumPy and torch alike)."""
    tree = ast.parse(inspect.getsource(module))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            assert {a.name for a in node.names} <= {"math", "time", "numpy"}
        elif isinstance(node, ast.ImportFrom):
            assert node.module in {"__future__", "numpy.lib.stride_tricks", "archcalc.training.loop",
                                   "archcalc.backends.rope"} or \
                node.module.startswith("archcalc.backends.numpy."), node.module


def _torch_shape(fn, x, **args) -> tuple[int, ...] | None:
    """The output shape torch gives, or None when torch refuses the arguments."""
    import torch

    try:
        return tuple(fn(torch.from_numpy(x), **args).shape)
    except RuntimeError:
        return None


def test_window_sizes_are_torchs(one_thread):
    """The runtime's own copy of the sliding-window rule (the standalone export cannot import the core)
    gives the shapes torch gives, zero tensors through both, over sizes, kernels, strides, paddings,
    dilations and ceil_mode (pools with the padding torch allows them, at most kernel // 2)."""
    import torch
    import torch.nn.functional as F

    checked = 0
    for h, w, k, s, p, d in itertools.product(range(1, 10), (5, 8), range(1, 5), range(1, 4), range(3), (1, 2)):
        x = np.zeros((1, 2, h, w), dtype=np.float32)
        cases = [(layers.Conv2d(2, 3, (k, k), (s, s), (p, p), (d, d), rng=0),
                  partial(F.conv2d, weight=torch.zeros(3, 2, k, k), stride=s, padding=p, dilation=d))]
        for ceil in (False, True) if 2 * p <= k else ():
            cases.append((layers.MaxPool2d((k, k), (s, s), (p, p), (d, d), ceil),
                          partial(F.max_pool2d, kernel_size=k, stride=s, padding=p, dilation=d, ceil_mode=ceil)))
            if d == 1:
                cases.append((layers.AvgPool2d((k, k), (s, s), (p, p), ceil),
                              partial(F.avg_pool2d, kernel_size=k, stride=s, padding=p, ceil_mode=ceil)))
        for module, reference in cases:
            try:
                expected = tuple(reference(torch.from_numpy(x)).shape)
            except RuntimeError:  # the kernel does not fit: torch refuses, and so does the core
                continue
            assert module.forward(x).shape == expected, (h, w, k, s, p, d, module.__dict__)
            checked += 1
    assert checked == 3_369


def _against_torch(module, reference, x: np.ndarray) -> float:
    """Largest difference between the NumPy layer and torch's function (float64): output and input gradient
    of Σ r·y for a random r."""
    import torch

    y = module.forward(x)
    xt = torch.tensor(x, requires_grad=True)
    yt = reference(xt)
    r = np.random.default_rng(1).normal(size=y.shape)
    (yt * torch.from_numpy(r)).sum().backward()
    assert y.shape == tuple(yt.shape)
    return max(float(np.abs(y - yt.detach().numpy()).max()), float(np.abs(module.backward(r) - xt.grad.numpy()).max()))


def test_transposed_convolutions_are_torchs_over_every_small_geometry(one_thread):
    """Every 1-D geometry torch accepts over lengths 1–4, kernels 1–3, strides 1–3, paddings 0–2, output
    paddings 0–2 and dilations 1–2, with 2 groups: the output, its input gradient and the weight's."""
    import torch
    import torch.nn.functional as F

    rng, checked, worst = np.random.default_rng(0), 0, 0.0
    for n, k, s, p, op, d in itertools.product(range(1, 5), range(1, 4), range(1, 4), range(3), range(3), (1, 2)):
        if (op >= s and op >= d) or (n - 1) * s - 2 * p + d * (k - 1) + op + 1 < 1:
            continue  # torch refuses these, and so does the core
        module = layers.ConvTranspose1d(4, 6, k, s, p, op, 2, True, d, rng=rng)
        weight = torch.from_numpy(module.weight).requires_grad_()
        x = rng.normal(size=(2, 4, n))
        reference = partial(F.conv_transpose1d, weight=weight, bias=torch.from_numpy(module.bias), stride=s,
                            padding=p, output_padding=op, groups=2, dilation=d)
        worst = max(worst, _against_torch(module, reference, x))
        worst = max(worst, float(np.abs(module.grads["weight"] - weight.grad.numpy()).max()))
        checked += 1
    assert checked == 403 and worst < 1e-12


def test_interpolation_is_torchs_over_sizes_scales_and_modes(one_thread):
    """F.interpolate on lengths 1–11 by 13 scales (fractions, and below 1) and to sizes, nearest and linear with
    align_corners both ways: the output and its input gradient. Not compared: nearest by a fractional scale whose
    output has n or 2n positions, where torch's CPU backward copies (or halves) the index while its forward
    floors i/scale, so torch's gradient is not the one of its own output (tests/kinds.py's cases avoid it)."""
    import torch.nn.functional as F

    rng, checked, worst = np.random.default_rng(0), 0, 0.0
    for n, scale in itertools.product(range(1, 12), (0.3, 0.5, 0.7, 1, 1.3, 1.5, 1.7, 2, 2.5, 3, 3.3, 4.1, 7 / 3)):
        o = int(n * scale)
        for mode, corners, given in itertools.product(("nearest", "linear"), (False, True), ("scale", "size")):
            torch_inconsistent = given == "scale" and o in (n, 2 * n) and scale not in (1, 2)
            if o < 1 or (mode == "nearest" and (corners or torch_inconsistent)):
                continue
            args = {"scale_factor": scale} if given == "scale" else {"size": o}
            module = layers.Upsample(**args, mode=mode, align_corners=corners)
            reference = partial(F.interpolate, **args, mode=mode, align_corners=corners if mode == "linear" else None)
            worst = max(worst, _against_torch(module, reference, rng.normal(size=(2, 3, n))))
            checked += 1
    assert checked == 820 and worst < 1e-12


def small_models():
    yield "lenet5", archcalc.load(str(SPECS / "lenet5.yaml"))
    yield "resnet18", archcalc.load(str(SPECS / "resnet18.yaml"), H=32, W=40)
    yield "digits-mlp", archcalc.load(str(SPECS / "digits-mlp.yaml"))
    for name, text in KITCHENS.items():
        yield name, archcalc.loads(text)


@pytest.mark.parametrize(("name", "model"), list(small_models()), ids=lambda v: v if isinstance(v, str) else "")
def test_shapes_names_and_counts_agree_with_the_core(name, model):
    net = to_numpy(model, seed=0, dtype="float64").eval()
    modules = dict(net.named_modules())
    shapes = {}

    def recording(path, forward):
        def run(x):
            out = forward(x)
            shapes[path] = out.shape
            return out
        return run

    for path, module in modules.items():
        if path and not module.children():
            module.forward = recording(path, module.forward)
    net.forward(np.random.default_rng(0).normal(size=(2, *model.input_shape)))
    for node in model.graph.layers():
        assert shapes[node.path][1:] == node.out_shape, node.path
    # a bare-parameter kind (layer_scale) stores its one parameter under its own path, as torchvision does
    params = {p if m.BARE else f"{p}.{n}" for p, m in modules.items() for n in m.PARAMS if getattr(m, n) is not None}
    bare = {p for p, m in modules.items() if m.BARE}
    state = net.state_dict()
    assert sum(state[k].size for k in params) == sum(p.size for p in net.parameters()) == model.trainable_params
    assert sum(v.size for k, v in state.items() if k not in params) == model.buffers
    assert {k if k in bare else k.rsplit(".", 1)[0] for k in state} <= {node.path for node in model.graph.layers()}


def test_torch_default_initialisation_bounds():
    net = to_numpy(archcalc.loads("input: [8, 9, 9]\nlayers: [conv2d: {out: 60, kernel: 3, groups: 4}, flatten, "
                                  "linear: 300]"), seed=0, dtype="float64")
    conv, linear = net.layers[0][1], net.layers[2][1]
    for w, b, fan_in in ((conv.weight, conv.bias, 2 * 3 * 3), (linear.weight, linear.bias, 60 * 7 * 7)):
        bound = 1 / np.sqrt(fan_in)
        assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
        assert np.abs(b).max() <= bound
        assert abs(w.mean()) < 0.05 * bound
    assert conv.weight.shape == (60, 2, 3, 3) and linear.weight.shape == (300, 2940)


def test_same_seed_same_weights_and_dtype():
    model = archcalc.load(str(SPECS / "lenet5.yaml"))
    a, b = to_numpy(model, seed=5), to_numpy(model, seed=5)
    assert all(np.array_equal(a.state_dict()[k], v) for k, v in b.state_dict().items())
    assert a.parameters()[0].dtype == np.float32
    assert not np.array_equal(to_numpy(model, seed=6).parameters()[0], a.parameters()[0])


def test_batchnorm_statistics_follow_torch_conventions():
    bn = layers.BatchNorm2d(2, momentum=0.25)
    x = np.random.default_rng(0).normal(3, 2, size=(4, 2, 3, 3))
    y = bn.forward(x)
    mean, var = x.mean((0, 2, 3)), x.var((0, 2, 3))
    assert np.allclose(y.mean((0, 2, 3)), 0) and np.allclose(y.var((0, 2, 3)), var / (var + 1e-5))
    assert np.allclose(bn.running_mean, 0.25 * mean)
    assert np.allclose(bn.running_var, 0.75 + 0.25 * var * 36 / 35)  # unbiased: n/(n − 1), n = 4·3·3
    assert bn.num_batches_tracked == 1
    bn.eval()
    assert np.allclose(bn.forward(x), (x - bn.running_mean[:, None, None]) / np.sqrt(bn.running_var[:, None, None] +
                                                                                      1e-5))
    assert bn.num_batches_tracked == 1
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        layers.BatchNorm1d(3).forward(np.ones((1, 3)))


def test_instance_norm_statistics_follow_torch_conventions():
    """Each example's channel over its positions; running statistics (when tracked) average the examples' means
    and unbiased variances, num_batches_tracked stays 0 as torch leaves it, and eval uses them."""
    norm = layers.InstanceNorm2d(2, momentum=0.25, track_running_stats=True)
    x = np.random.default_rng(0).normal(3, 2, size=(4, 2, 3, 3))
    y = norm.forward(x)
    var = x.var((2, 3))
    assert np.allclose(y.mean((2, 3)), 0) and np.allclose(y.var((2, 3)), var / (var + 1e-5))
    assert np.allclose(norm.running_mean, 0.25 * x.mean((2, 3)).mean(0))
    assert np.allclose(norm.running_var, 0.75 + 0.25 * (var * 9 / 8).mean(0))  # unbiased over the 3·3 positions
    assert norm.num_batches_tracked == 0
    norm.eval()
    assert np.allclose(norm.forward(x), (x - norm.running_mean[:, None, None]) /
                       np.sqrt(norm.running_var[:, None, None] + 1e-5))
    plain = layers.InstanceNorm1d(3).eval()  # no running statistics: its own, in eval too
    assert plain.state_dict() == {} and np.allclose(plain.forward(x[:, :, 0]).mean(2), 0)
    with pytest.raises(ValueError, match="more than 1 position per channel"):
        plain.forward(np.ones((2, 3, 1)))


@pytest.mark.parametrize("rank", [1, 2, 3])
def test_channel_dropout_zeroes_whole_channels_as_torch_does(rank):
    """One mask value per example and channel, as nn.Dropout1d/2d/3d draws it: every position of a channel is
    dropped or kept (and scaled by 1/(1 − p)) together; the identity in eval."""
    import torch

    shape = (8, 16) + (3,) * rank
    ours = getattr(layers, f"Dropout{rank}d")(0.5, rng=0)
    real = getattr(torch.nn, f"Dropout{rank}d")(0.5)
    for y in (ours.forward(np.ones(shape)), real(torch.ones(shape)).numpy()):
        per_channel = y.reshape(8, 16, -1)
        assert set(np.unique(per_channel)) == {0.0, 2.0}
        assert (per_channel == per_channel[..., :1]).all()
    assert ours.mask.shape == (8, 16) + (1,) * rank
    assert np.array_equal(ours.backward(np.ones(shape)), np.broadcast_to(ours.mask, shape))
    assert np.array_equal(ours.eval().forward(np.ones(shape)), np.ones(shape))


def test_weights_round_trip_through_npz(tmp_path):
    model = archcalc.load(str(SPECS / "resnet18.yaml"), H=32, W=32)
    a, b = to_numpy(model, seed=1), to_numpy(model, seed=2)
    a.forward(np.ones((2, 3, 32, 32), np.float32))  # moves the running statistics
    training.save_weights(a, str(tmp_path / "w.npz"))
    params = b.parameters()
    training.load_weights(b, str(tmp_path / "w.npz"))
    assert all(np.array_equal(v, a.state_dict()[k]) for k, v in b.state_dict().items())
    assert all(p is q for p, q in zip(params, b.parameters()))  # loaded in place: optimizers keep working
    with np.load(tmp_path / "w.npz") as data:
        assert "layer2.0.downsample.0.weight" in data.files and data["bn1.num_batches_tracked"] == 1
    with pytest.raises(ValueError, match="missing"):
        to_numpy(archcalc.load(str(SPECS / "lenet5.yaml"))).load_state_dict(a.state_dict())


def test_logits_view_drops_a_final_softmax_only_for_losses_that_apply_it():
    model = archcalc.loads("input: [4]\nlayers: [linear: 3, {layers: [relu, softmax], name: head}]")
    net = to_numpy(model, seed=0, dtype="float64")
    x = np.random.default_rng(0).normal(size=(5, 4))
    logits = training.logits_view(net, losses.CrossEntropyLoss()).forward(x)
    probabilities = net.forward(x)
    assert np.allclose(np.exp(logits) / np.exp(logits).sum(1, keepdims=True), probabilities)
    assert training.logits_view(net, losses.MSELoss()) is net
    assert training.logits_view(net, losses.BCEWithLogitsLoss()) is net
    sig = to_numpy(archcalc.loads("input: [4]\nlayers: [linear: 1, sigmoid]"), seed=0)
    assert len(training.logits_view(sig, losses.BCEWithLogitsLoss()).layers) == 1
    assert len(training.logits_view(sig, losses.BCELoss()).layers) == 2  # BCE takes probabilities


def test_each_loss_fuses_the_layer_the_spec_language_names():
    """The runtime is copied into standalone exports (NumPy only), so FUSES stays a literal there, bound
    here to the one table, archcalc.spec.train.LOGIT_LOSSES."""
    for loss in LOSSES:
        kind = LOGIT_LOSSES.get(loss)
        built = to_numpy(archcalc.loads(f"input: [3]\nlayers: [{kind}]")).layers[0][1] if kind else None
        assert build.LOSSES[loss].FUSES is (type(built) if built is not None else None), loss


def test_node_types_each_have_a_plan():
    kinds = {type(node) for _, text in KITCHENS.items() for node, _ in archcalc.loads(text).graph.walk()}
    assert kinds <= set(build._PLANS)
    assert LayerNode in kinds


TIED = """
input: [5]
layers:
  - embedding: {vocab: 7, dim: 4, name: wte}
  - linear: {out: 6, transposed: true, name: up}
  - linear: {out: 4, transposed: true, bias: false, name: down}
  - linear: {out: 7, bias: false, name: head, tie: wte}
"""


def test_a_tied_weight_is_one_array_and_its_gradient_sums_both_uses():
    """GPT-2's tie: one array in parameters() and in the state dict (under both names, as torch's), updated
    once, its gradient the sum of the embedding's rows and the output projection's, as autograd's; and
    Hugging Face's Conv1D layout ``transposed: true`` (weight [in, out]) computes what the torch export does."""
    import torch

    from archcalc.backends.torch import to_torch
    from tests.numpy_torch import numpy_grads

    model = archcalc.loads(TIED)
    net = to_numpy(model, seed=0, dtype="float64")
    state = net.state_dict()
    assert state["head.weight"] is state["wte.weight"] and state["up.weight"].shape == (4, 6)
    assert len(net.parameters()) == 4
    assert sum(p.size for p in net.parameters()) == model.trainable_params == 7 * 4 + 4 * 6 + 6 + 6 * 4
    reference = to_torch(model).double()
    reference.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in state.items()})
    ids = np.random.default_rng(1).integers(0, 7, size=(3, 5))
    out = net.forward(ids)
    out_t = reference(torch.from_numpy(ids))
    r = np.random.default_rng(2).normal(size=out.shape)
    assert net.backward(r) is None
    (out_t * torch.from_numpy(r)).sum().backward()
    np.testing.assert_allclose(out, out_t.detach().numpy(), atol=1e-12)
    expected = dict(reference.named_parameters())  # the tied weight once, under its owner's name
    grads = dict(zip(numpy_grads(net), net.gradients()))
    assert list(grads) == list(expected)
    for name, grad in grads.items():
        np.testing.assert_allclose(grad, expected[name].grad.numpy(), atol=1e-12, err_msg=name)
    modules = dict(net.named_modules())
    head, wte = modules["head"].grads["weight"], modules["wte"].grads["weight"]
    assert np.abs(head).max() > 0 and np.abs(wte).max() > 0  # both uses contribute to the sum
    np.testing.assert_allclose(grads["wte.weight"], head + wte)
    optimizer = optim.SGD(net.parameters(), lr=0.1)
    before = state["wte.weight"].copy()
    optimizer.step(net.gradients())
    np.testing.assert_allclose(state["wte.weight"], before - 0.1 * grads["wte.weight"])
    assert net.state_dict()["head.weight"] is net.state_dict()["wte.weight"]
