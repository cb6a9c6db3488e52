"""torchvision's weights load into the modules built from the shipped specs.

The reference is torchvision's own ``state_dict`` (keys and shapes, in order), vendored in
``tests/data/torchvision_state_dicts.json`` (see ``tests/data/README.md``).
"""

from __future__ import annotations

import importlib.util
import json

import pytest

torch = pytest.importorskip("torch")

import archcalc  # noqa: E402
from archcalc.backends.numpy import to_numpy  # noqa: E402
from tests.conftest import ROOT, SPECS  # noqa: E402

REFERENCE = {name: [(key, tuple(shape)) for key, shape in pairs] for name, pairs in
             json.loads((ROOT / "tests/data/torchvision_state_dicts.json").read_text()).items()}


def _state(module) -> list[tuple[str, tuple[int, ...]]]:
    return [(key, tuple(value.shape)) for key, value in module.state_dict().items()]


@pytest.mark.parametrize("name", ["resnet18", "resnet50", "alexnet"])
def test_the_same_keys_and_shapes_as_torchvision(name):
    module = archcalc.to_torch(SPECS / f"{name}.yaml")
    assert _state(module) == REFERENCE[name]
    weights = {key: torch.randn(shape) if shape else torch.tensor(7) for key, shape in REFERENCE[name]}
    module.load_state_dict(weights, strict=True)  # what loading torchvision's checkpoint does
    key = REFERENCE[name][0][0]
    assert torch.equal(module.state_dict()[key], weights[key])


@pytest.mark.parametrize("name", ["vgg11", "vgg16", "vgg16_bn"])
def test_vgg_has_torchvisions_shapes_in_torchvisions_order(name):
    """The spec's stages are named (``conv1.0``) where torchvision counts one flat ``features``
    (``features.0``): the weights load by position."""
    module = archcalc.to_torch(SPECS / f"{name}.yaml")
    ours = _state(module)
    assert [shape for _, shape in ours] == [shape for _, shape in REFERENCE[name]]
    assert ours[0][0] == "conv1.0.weight" and REFERENCE[name][0][0] == "features.0.weight"


def test_the_generated_source_and_the_numpy_model_use_the_same_names(tmp_path):
    """``shortcut_name: downsample`` reaches every backend: exported source and NumPy weights."""
    spec = SPECS / "resnet18.yaml"
    model = archcalc.load(str(spec))
    path = tmp_path / "resnet18_torch.py"
    from archcalc.backends.torch.source import export

    export(model, str(path))
    loader = importlib.util.spec_from_file_location("resnet18_torch", path)
    generated = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(generated)
    assert _state(generated.build_model()) == REFERENCE["resnet18"]
    numpy_state = {key: tuple(value.shape) for key, value in to_numpy(model).state_dict().items()}
    assert numpy_state == dict(REFERENCE["resnet18"])
