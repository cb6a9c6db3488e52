"""``archcalc import timm:NAME`` against timm itself (the torchvision environment, which has timm: see
tests/test_torchvision.py and the README, *Testing*). Each model of :data:`MODELS` imports through the CLI, and
the spec it writes is the model: the same trainable parameters and buffers, timm's ``state_dict`` loads into
``archcalc.to_torch(spec)`` with ``strict=True``, the same outputs in eval mode to 1e-5 (on 64×64 where the spec's
sizes are free, else at the model's own input size), and lint (every rule) gives no warning. Each of
:data:`REFUSED` exits 2 with an error located in timm's source that names what archcalc lacks."""

from __future__ import annotations

import json
import os

import pytest
from click.testing import CliRunner

torch = pytest.importorskip("torch")
if os.environ.get("ARCHCALC_TORCHVISION"):  # the environment that must have it: a missing timm fails
    import timm
else:
    timm = pytest.importorskip("timm", reason="needs timm: run in the second environment .ci/run builds")

import archcalc  # noqa: E402
from archcalc.cli import main  # noqa: E402

pytestmark = pytest.mark.torchvision

#: one or two of each family that imports, smallest first where a family has several sizes
MODELS = ["resnet18", "resnet50d", "resnetrs50", "resnetv2_50", "seresnet50", "legacy_seresnet18", "resnext26ts",
          "efficientnet_b0", "efficientnet_lite0", "mobilenetv2_100", "mobilenetv3_small_100", "mnasnet_100",
          "fbnetc_100", "lcnet_050", "hardcorenas_a", "tinynet_a", "repghostnet_050", "regnetx_002", "regnety_002",
          "densenet121", "darknet53", "xception41", "inception_v3", "inception_v4", "repvgg_a0", "gernet_s",
          "mixer_s16_224", "wide_resnet50_2", "vit_tiny_patch16_224", "deit_tiny_patch16_224", "flexivit_small",
          "convnext_atto", "convnext_tiny", "ecaresnet26t", "cspresnet50"]
#: what archcalc cannot write, with where the refusal points and what it says
REFUSED = {
    "deit_tiny_distilled_patch16_224": ("timm/models/deit.py:", "its branches do not start from one value"),
    "beit_base_patch16_224": ("timm/models/beit.py:", "call_function 'getitem'"),
    "convnextv2_atto": ("timm/layers/grn.py:", "call_function 'addcmul'"),
    "skresnet18": ("timm/layers/selective_kernel.py:", "call_function 'sum'"),
    "botnet26t_256": ("timm/layers/bottleneck_attn.py:", "a reshape that moves elements across the batch"),
}


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_thread):
    """Deterministic, and faster on two shared cores."""


@pytest.mark.parametrize("name", MODELS)
def test_a_timm_model_imports_to_a_spec_that_is_the_model(tmp_path, name):
    out = tmp_path / f"{name}.yaml"
    result = CliRunner().invoke(main, ["import", f"timm:{name}", "-o", str(out)])
    assert result.exit_code == 0, result.output
    torch.manual_seed(0)
    real = timm.create_model(name, pretrained=False).eval()
    text = out.read_text(encoding="utf-8")
    free = "symbols:" in text
    model = archcalc.load(str(out), **({"H": 64, "W": 64} if free else {}))
    trainable = sum(p.numel() for p in real.parameters() if p.requires_grad)
    assert (model.trainable_params, model.buffers) == (trainable, sum(b.numel() for b in real.buffers()))
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert list(model.input_shape) == ([3, 64, 64] if free else list(real.pretrained_cfg["input_size"]))
    x = torch.randn(2, *model.input_shape)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), rtol=1e-5, atol=1e-5)
    lint = CliRunner().invoke(main, ["lint", str(out), "--format", "json", "--isolated", "--select", "ALL"])
    assert [f["code"] for f in json.loads(lint.output) if f["severity"] != "info"] == []


@pytest.mark.parametrize("name", REFUSED)
def test_a_timm_model_archcalc_cannot_write_is_refused_located_in_timm(tmp_path, name):
    out = tmp_path / f"{name}.yaml"
    result = CliRunner().invoke(main, ["import", f"timm:{name}", "-o", str(out)])
    where, says = REFUSED[name]
    assert result.exit_code == 2 and where in result.output and says in result.output, result.output
    assert "internal error" not in result.output and not out.exists()


@pytest.mark.parametrize(("source", "args", "says"), [
    ("timm:resnet_18", "{}", "timm has no model 'resnet_18'\n  hint: did you mean 'resnet18'?"),
    ("timm:resnet18", '{"bogus": 1}', "building timm's resnet18 fails (TypeError: ResNet.__init__() got an "
     "unexpected keyword argument 'bogus')"),
    ("torchvision:resnet18", '{"bogus": 1}', "building torchvision's resnet18 fails (TypeError"),
])
def test_a_name_or_arguments_the_library_refuses_are_a_usage_error(tmp_path, source, args, says):
    out = tmp_path / "x.yaml"
    result = CliRunner().invoke(main, ["import", source, "--args", args, "-o", str(out)])
    assert result.exit_code == 2 and says in result.output, result.output
    assert not out.exists()
