"""The spec-language reference runs: every complete example in docs/spec.md builds, with the
results the text claims."""

from __future__ import annotations

import re

import pytest

import archcalc
from tests.conftest import ROOT

DOC = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
EXAMPLES = [block for block in re.findall(r"```yaml\n(.*?)```", DOC, re.S) if "input:" in block and "layers:" in block]


def test_the_reference_has_examples():
    assert len(EXAMPLES) >= 12


@pytest.mark.parametrize("text", EXAMPLES, ids=[f"example{i}" for i in range(len(EXAMPLES))])
def test_every_example_builds(text):
    model = archcalc.loads(text, path="docs/spec.md", D=30) if "D_o" in text else archcalc.loads(text, path="doc")
    assert model.output_shape


def example(fragment: str) -> archcalc.Model:
    [text] = [e for e in EXAMPLES if fragment in e]
    return archcalc.loads(text)


def test_claims_in_the_text():
    assert [str(d) for d in example("every shape becomes a formula").output_shape] == [
        "16", "floor(H/2 + 1/2)", "floor(W/2 + 1/2)"]
    assert [n.path for n in example("name: c1").layers] == ["c1", "act1", "s2", "3", "4"]
    vgg = example("name: vgg-like")
    assert [n.path for n in vgg.graph.root.items] == ["0", "1", "last", "3"]
    assert [n.path for n in example("- repeat: 3\n").layers] == [str(i) for i in range(7)]
    assert example("16 * 2**i").graph.find("features.4").out_shape == (64, 32, 32)
    resnet = example("name: resnet-basic")
    paths = [n.path for n in resnet.layers]
    assert "layer2.0.conv1" in paths and "layer2.0.shortcut.0" in paths and "layer1.0.shortcut.0" not in paths
    assert example("name: inception-like").output_shape == (416, 28, 28)
    plateau = example("Keras' callbacks").spec.train.scheduler
    assert (plateau.name, plateau.monitor, plateau.settings["mode"], plateau.warmup_epochs) == (
        "plateau", "val_loss", "min", 0)
    train = example("early_stopping").spec.train
    assert (train.optimizer.name, train.optimizer.lr, train.optimizer.hyper["betas"]) == ("adam", 0.001, (0.9, 0.999))
    assert (train.weight_decay, train.early_stopping.patience) == (1e-4, 5)


def test_claims_about_names_splicing_input_names_and_conditions():
    dense = example("denselayer{i + 1}")
    assert [n.path for n in dense.layers][:3] == ["denseblock1.denselayer1.norm1", "denseblock1.denselayer1.relu1",
                                                  "denseblock1.denselayer1.conv1"]
    assert dense.layers[-1].path == "denseblock1.denselayer3.conv1" and dense.output_shape == (160, 56, 56)
    flat = example("name: vgg-flat")
    assert [n.path for n in flat.layers] == [*(f"features.{i}" for i in range(8)), "1", "2"]
    assert [flat.graph.find(p).layer.kind for p in ("features.2", "features.3", "features.5")] == [
        "maxpool2d", "conv2d", "conv2d"]
    reading = example("in_shape[1]")
    assert reading.output_shape == (24, 1, 16)
    assert [str(d) for d in archcalc.loads(reading.spec.source, symbolic_dims=True).output_shape] == [
        "2*floor(C/2)", "1", "16"]
    mobile = example("name: inverted-residuals")
    assert [len(mobile.graph.find(p).children) for p in ("0", "1")] == [5, 8]
    assert mobile.graph.find("1.0").out_shape == (96, 32, 32) and mobile.output_shape == (24, 16, 16)


def test_extension_keys_and_merge_keys():
    model = example("x-conv3")
    first, second = model.layers
    assert first.layer.config()["out"] == 16 and second.layer.config()["out"] == 32
    for node in (first, second):
        assert (node.layer.kernel, node.layer.padding, node.layer.bias) == ((3, 3), (1, 1), False)
    assert model.output_shape == (32, 32, 32)


def test_own_keys_win_over_merged_ones():
    model = archcalc.loads("x-a: &a {out: 8, kernel: 3}\ninput: [3, 8, 8]\nlayers:\n  - conv2d: {<<: *a, out: 4}\n")
    assert model.output_shape == (4, 6, 6)


def test_transformer_claims():
    gpt = example("name: tiny-gpt")
    assert gpt.trainable_params == 1000 * 64 + 32 * 64 + 2 * (2 * (2 * 64) + (64 * 192 + 192) + (64 * 64 + 64)
                                                            + (64 * 256 + 256) + (256 * 64 + 64)) + 2 * 64 == 166_144
    assert gpt.graph.find("h.0.attn.c_attn").out_shape == (32, 192)
    gqa = example("name: gqa\n")
    assert [n.path for n in gqa.layers] == ["q_proj", "k_proj", "v_proj", "o_proj"]
    assert gqa.trainable_params == 256 * 256 + 2 * 256 * 64 + 256 * 256
    layer = example("name: gqa-layer")
    assert layer.trainable_params == gqa.trainable_params == 163_840


def test_the_gemma_example_counts_what_the_text_says():
    gemma = example("name: gemma2-like")
    assert gemma.trainable_params == 64_000 + 4 * (2 * 64 + 64 * 64 + 2 * 64 * 32 + 64 * 64) + 64 == 113_728
    windows = [node.layer.window for node in gemma.layers if node.kind == "multihead_attention"]
    assert windows == [8, None, 8, None]
