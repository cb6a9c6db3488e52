"""``archcalc import torchvision:NAME`` against torchvision itself (the second environment; see
tests/test_torchvision.py and the README, *Testing*).

For one model of each family archcalc can write: the import succeeds through the CLI, and the spec it
writes is the model: the same trainable parameters and buffers, torchvision's ``state_dict`` loads into
``archcalc.to_torch(spec)`` with ``strict=True``, the same outputs in eval mode to 1e-5, and no lint
error. The families it cannot write yet fail with an error located in torchvision's source. The sweep
over every classification model is ``bench/importing.py`` (README, *Import*)."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")
if os.environ.get("ARCHCALC_TORCHVISION"):
    import torchvision
else:
    torchvision = pytest.importorskip("torchvision", reason="needs torchvision: run in the second environment "
                                      ".ci/run builds (README, Testing)")

import archcalc  # noqa: E402
from archcalc.cli import main  # noqa: E402

pytestmark = pytest.mark.torchvision


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_thread):
    """Deterministic, and faster on two shared cores."""


@pytest.mark.parametrize("name", ["resnet18", "squeezenet1_1", "mobilenet_v3_small", "efficientnet_b0",
                                  "regnet_x_400mf", "mnasnet0_5", "convnext_tiny"])
def test_an_imported_torchvision_model_is_the_model(tmp_path, name):
    out = tmp_path / f"{name}.yaml"
    result = CliRunner().invoke(main, ["import", f"torchvision:{name}", "-o", str(out)])
    assert result.exit_code == 0, result.output
    model = archcalc.load(str(out))
    torch.manual_seed(0)
    real = torchvision.models.get_model(name, weights=None).eval()
    ours = archcalc.to_torch(model).eval()
    assert model.trainable_params == sum(p.numel() for p in real.parameters())
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)
    lint = CliRunner().invoke(main, ["lint", str(out), "--format", "json", "--isolated"])
    assert not [f for f in json.loads(lint.output) if f["code"].startswith("E")]


def test_resnet50_imports_to_a_spec_of_the_shipped_ones_size(tmp_path):
    out = tmp_path / "resnet50.yaml"
    assert CliRunner().invoke(main, ["import", "torchvision:resnet50", "-o", str(out)]).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert "bottleneck" in text and "repeat:" in text
    assert len(text.splitlines()) < 80  # specs/resnet50.yaml: 42 lines; torchvision's module tree: 170 layers
    assert archcalc.load(str(out)).trainable_params == 25_557_032


@pytest.mark.parametrize(("name", "where", "says"), [
    ("densenet121", "torchvision/models/densenet.py:", "_DenseLayer"),
    ("inception_v3", "torchvision/models/inception.py:", "'AuxLogits' (InceptionAux) holds weights"),
    ("googlenet", "torchvision/models/googlenet.py:", "'aux1' (InceptionAux) holds weights its forward never uses"),
])
def test_a_model_archcalc_cannot_write_is_located_in_torchvision(tmp_path, name, where, says):
    out = tmp_path / "x.yaml"
    result = CliRunner().invoke(main, ["import", f"torchvision:{name}", "-o", str(out)])
    assert result.exit_code == 2 and where in result.output and says in result.output, result.output
    assert not out.exists()
