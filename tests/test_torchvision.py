"""The shipped specs of torchvision's models against torchvision itself, built in this process.

torchvision does not work with the torch these tests otherwise use (its compiled ops are built for
another torch), so these tests run in a second environment, torch 2.14.1 with torchvision 0.29.1,
which ``.ci/run`` builds and runs them in (``pytest -m torchvision``, with ``ARCHCALC_TORCHVISION=1``
so that a failing import fails); elsewhere they are skipped.
See the README, *Testing*.

For every model: the same trainable parameters and buffers; torchvision's ``state_dict`` loads into
``archcalc.to_torch(spec)`` with ``strict=True`` (by name, or, for the VGGs, whose specs name their
stages where torchvision counts one flat ``features``, by position); the same outputs in eval mode;
every layer's output shape equal to what the real module gives; MACs equal to half of what
``torch.utils.flop_counter.FlopCounterMode`` counts (it counts a multiply-add as two FLOPs).
"""

from __future__ import annotations

import importlib.util
import os

import pytest

torch = pytest.importorskip("torch")
if os.environ.get("ARCHCALC_TORCHVISION"):  # set by .ci/run in the torchvision environment: it must import there
    import torchvision
else:
    torchvision = pytest.importorskip("torchvision", reason="needs torchvision: run in the second environment "
                                      ".ci/run builds (README, Testing)")

import archcalc  # noqa: E402
from archcalc.backends.numpy import to_numpy  # noqa: E402
from archcalc.calc.flops import work  # noqa: E402
from archcalc.graph.nodes import LayerNode  # noqa: E402
from tests.conftest import SPECS  # noqa: E402

pytestmark = pytest.mark.torchvision

#: spec → whether torchvision's state_dict keys are the spec's own (else: the same shapes in the same order)
MODELS = {
    "alexnet": True, "resnet18": True, "resnet50": True, "densenet121": True, "squeezenet1_0": True,
    "mobilenet_v3_large": True, "efficientnet_b0": True, "vit_b_16": True, "convnext_tiny": True,
    "vgg11": False, "vgg16": False, "vgg16_bn": False,
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_thread):
    """Deterministic, and faster on two shared cores."""


class Pair:
    """The real model and the spec's, with torchvision's weights loaded into the spec's module."""

    def __init__(self, name: str):
        torch.manual_seed(0)
        self.model = archcalc.load(str(SPECS / f"{name}.yaml"))
        self.real = getattr(torchvision.models, name)().eval()
        self.ours = archcalc.to_torch(self.model).eval()
        state = self.real.state_dict()
        if not MODELS[name]:  # by position: the keys differ, the shapes agree one by one
            state = dict(zip(self.ours.state_dict(), state.values()))
        self.ours.load_state_dict(state, strict=True)
        # our module path → the real module's name, from the order of the state dicts' keys
        self.names = {ours.rsplit(".", 1)[0]: real.rsplit(".", 1)[0]
                      for ours, real in zip(self.ours.state_dict(), self.real.state_dict())}
        if MODELS[name]:
            self.names.update((n, n) for n, _ in self.real.named_modules() if n)


@pytest.fixture(scope="module", params=sorted(MODELS))
def pair(request) -> Pair:
    return Pair(request.param)


def _input(model: archcalc.Model, batch: int = 2):
    torch.manual_seed(1)
    return torch.randn(batch, *model.input_shape)


def test_parameters_and_buffers(pair):
    trainable = sum(p.numel() for p in pair.real.parameters() if p.requires_grad)
    buffers = sum(b.numel() for b in pair.real.buffers())
    assert (pair.model.trainable_params, pair.model.buffers) == (trainable, buffers)


def test_the_real_state_dict_loads_strictly_by_name(pair):
    ours, real = pair.ours.state_dict(), pair.real.state_dict()
    assert [tuple(v.shape) for v in ours.values()] == [tuple(v.shape) for v in real.values()]
    if MODELS[pair.model.name]:
        assert list(ours) == list(real)
    else:  # the VGG specs name their stages (conv1.0) where torchvision counts one flat features (features.0)
        assert next(iter(ours)) == "conv1.0.weight" and next(iter(real)) == "features.0.weight"
    for (key, value), expected in zip(ours.items(), real.values()):
        assert torch.equal(value, expected), key


def test_the_same_outputs_in_eval_mode(pair):
    x = _input(pair.model)
    with torch.no_grad():
        expected, got = pair.real(x), pair.ours(x)
    assert got.shape == expected.shape == (2, *pair.model.output_shape)
    torch.testing.assert_close(got, expected, rtol=1e-5, atol=1e-5)


def test_every_layer_has_the_real_modules_output_shape(pair):
    """Each layer of the spec against the real module it stands for (a module torchvision calls more
    than once, as ResNet's shared ``relu``, has no single shape and is left out; ``nn.MultiheadAttention``
    returns its output and the attention weights, so its output is the first of the two)."""
    modules = dict(pair.real.named_modules())
    seen: dict[str, list[tuple[int, ...]]] = {}

    def record(name: str, out) -> None:
        out = out[0] if isinstance(out, tuple) else out
        seen.setdefault(name, []).append(tuple(out.shape[1:]))

    hooks = [modules[name].register_forward_hook(lambda _m, _i, out, name=name: record(name, out))
             for name in set(pair.names.values()) if name in modules]
    with torch.no_grad():
        pair.real(_input(pair.model, 1))
    for hook in hooks:
        hook.remove()
    compared = 0
    for node in pair.model.layers:
        outs = seen.get(pair.names.get(node.path, ""), [])
        if len(outs) == 1:
            assert node.out_shape == outs[0], node.path
            compared += 1
    weighted = [n for n in pair.model.layers if isinstance(n, LayerNode) and pair.model.counts[n].trainable]
    assert compared >= len(weighted) > 0  # every layer with parameters, and the others torchvision names


def test_macs_are_half_the_flop_counters_flops(pair):
    """Attention (ViT's ``nn.MultiheadAttention``) runs unfused here, as in training: in eval mode without
    gradients torch fuses the whole layer into ``_native_multi_head_attention`` and the products into
    a CPU attention kernel, and the counter has no formula for either (docs/analysis.md)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with torch.no_grad(), sdpa_kernel(SDPBackend.MATH), counter:
            pair.real(_input(pair.model, 1))
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
    assert work(pair.model.graph)[pair.model.graph.root].macs * 2 == counter.get_total_flops()


def test_the_generated_source_and_the_numpy_model_use_torchvisions_names(tmp_path):
    """``shortcut_name: downsample`` reaches every backend: exported source and NumPy weights."""
    from archcalc.backends.torch.source import export

    model = archcalc.load(str(SPECS / "resnet18.yaml"))
    expected = [(k, tuple(v.shape)) for k, v in torchvision.models.resnet18().state_dict().items()]
    path = tmp_path / "resnet18_torch.py"
    export(model, str(path))
    loader = importlib.util.spec_from_file_location("resnet18_torch", path)
    generated = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(generated)
    assert [(k, tuple(v.shape)) for k, v in generated.build_model().state_dict().items()] == expected
    assert {k: tuple(v.shape) for k, v in to_numpy(model).state_dict().items()} == dict(expected)
