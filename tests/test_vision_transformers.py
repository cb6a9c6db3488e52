"""What torchvision's ViT and ConvNeXt need, in the main environment (tests/test_torchvision.py checks
the shipped specs against torchvision itself): ``multihead_attention``'s ``layout: torch``,
``pos_embedding``'s ``add: true`` and ``layernorm2d``, against ``torch.nn``'s own modules, and their
located errors."""

from __future__ import annotations

import importlib.util

import pytest
import torch
from torch import nn

import archcalc
from archcalc.calc.flops import work
from archcalc.calc.rf import receptive_fields
from archcalc.errors import SpecError
from tests.conftest import SPECS

SEQ = "input: [T, 64]\nsymbols: {T: 16}\nlayers:\n"
MHA = "  - multihead_attention: {heads: 8, layout: torch, "


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as raised:
        archcalc.loads(text)
    return raised.value


@pytest.mark.parametrize("layers, where, code, says, hint", [
    (MHA + "kv_heads: 2}\n", (4, 62), "bad-argument", "as many k and v heads as q heads, not kv_heads 2",
     "remove kv_heads, or use layout: llama"),
    (MHA + "head_dim: 4}\n", (4, 62), "bad-argument", "D/heads dimensions per head", "remove head_dim"),
    (MHA + "out: 32}\n", (4, 57), "bad-argument", "as wide as its input", "remove out"),
    (MHA + "bias: false, out_bias: true}\n", (4, 75), "bad-argument", "one bias switch", "remove out_bias"),
    (MHA + "rotary: half}\n", (4, 60), "bad-argument", "no rotary position embedding", "remove rotary"),
    (MHA + "scale: 0.5}\n", (4, 59), "bad-argument", "by 1/√head_dim", "remove scale"),
    (MHA + "qk_norm: head}\n", (4, 61), "bad-argument", "has no q and k norms", "remove qk_norm"),
    ("  - multihead_attention: {heads: 8, qk_norm: rms}\n", (4, 46), "bad-argument",
     "one of 'none', 'head', 'all', 'per_head'", ""),
    ("  - multihead_attention: {heads: 8, qk_norm_eps: 1.0e-5}\n", (4, 50), "bad-argument",
     "qk_norm_eps is given but qk_norm is none", "add qk_norm: head (or all, or per_head), or drop qk_norm_eps"),
    ("  - multihead_attention: {heads: 6, layout: torch}\n", (4, 34), "attention-mismatch",
     "dim 64 is not divisible by heads 6", "use a number of heads that divides 64"),
    ("  - pos_embedding: {positions: 16, dim: 32, add: true}\n", (4, 41), "bad-argument",
     "dim 32 differs from the input's 64", "use dim: 64, or leave it out"),
    ("  - pos_embedding: {positions: 8, add: true}\n", (4, 32), "bad-argument",
     "the sequence has 16 positions but the table only 8", "positions ≥ 16"),
    ("  - pos_embedding: {positions: 16, add: true, index: first}\n", (4, 54), "bad-argument",
     "it takes no index: first", "remove index"),
    ("  - pos_embedding: {positions: 16}\n", (4, 5), "bad-argument", "needs dim", "give dim, or add: true"),
    ("  - layernorm2d\n", (4, 5), "bad-input-shape", "needs a [C, H, W] input, got [16, 64]",
     "normalise the last axis with layernorm"),
])
def test_the_new_arguments_have_located_errors(layers, where, code, says, hint):
    e = error(SEQ + layers)
    assert (e.code, (e.loc.line, e.loc.col)) == (code, where), e
    assert says in e.message and hint in e.hint, e


def test_a_bad_layout_reaches_the_cli_with_exit_2(run, write):
    spec = write(SEQ + MHA + "kv_heads: 2}\n")
    result = run("params", spec)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:4:62: error: multihead_attention: layout: torch: nn.MultiheadAttention")


def test_torch_layout_is_nn_multihead_attention_itself():
    """The state dict of ``nn.MultiheadAttention(64, 8, batch_first=True)`` loads strictly, and the outputs
    are its own, with and without a causal mask (torch's own mask for a causal model)."""
    for causal in (False, True):
        spec = archcalc.loads(SEQ + MHA + f"causal: {str(causal).lower()}, name: self_attention}}\n")
        assert spec.trainable_params == 4 * 64 * 64 + 4 * 64  # in_proj [192, 64] + [192], out_proj [64, 64] + [64]
        torch.manual_seed(0)
        real = nn.MultiheadAttention(64, 8, batch_first=True).eval()
        ours = archcalc.to_torch(spec).eval()
        ours.load_state_dict({f"self_attention.{k}": v for k, v in real.state_dict().items()}, strict=True)
        assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
            "self_attention.in_proj_weight": (192, 64), "self_attention.in_proj_bias": (192,),
            "self_attention.out_proj.weight": (64, 64), "self_attention.out_proj.bias": (64,)}
        x = torch.randn(2, 16, 64)
        mask = nn.Transformer.generate_square_subsequent_mask(16) if causal else None
        with torch.no_grad():
            expected = real(x, x, x, attn_mask=mask, need_weights=False)[0]
            torch.testing.assert_close(ours(x), expected, rtol=1e-6, atol=1e-6)


def test_torch_layout_counts_and_explains_one_packed_projection(run, write):
    spec = write(SEQ + MHA + "bias: false}\n")
    model = archcalc.load(str(spec))
    assert model.trainable_params == 3 * 64 * 64 + 64 * 64
    # the projections (4·T·D² MACs) and q·kᵀ and the weighted sum of v (2·T²·D), as with layout: llama
    assert work(model.graph)[model.graph.root].macs == 4 * 16 * 64 * 64 + 2 * 16 * 16 * 64
    llama = archcalc.loads(SEQ + "  - multihead_attention: {heads: 8, bias: false}\n")
    assert work(llama.graph)[llama.graph.root].macs == work(model.graph)[model.graph.root].macs
    out = " ".join(run("params", spec, "--explain").stdout.split())
    assert "3×D×D+D×D = 3×64×64+64×64 = 16384" in out and "in_proj_weight (q, k, v packed), out_proj" in out


def test_pos_embedding_add_is_a_bare_parameter_added_to_the_input():
    """torchvision's ViT Encoder: ``input + self.pos_embedding``, a [1, T, D] parameter of its own."""
    spec = archcalc.loads("input: [5, 3]\nlayers:\n  - name: encoder\n    layers:\n"
                          "      - pos_embedding: {positions: 5, add: true, name: pos_embedding}\n")
    assert spec.trainable_params == 5 * 3
    module = archcalc.to_torch(spec)
    assert {k: tuple(v.shape) for k, v in module.state_dict().items()} == {"encoder.pos_embedding": (1, 5, 3)}
    x = torch.randn(2, 5, 3)
    torch.testing.assert_close(module(x), x + module.encoder.pos_embedding, rtol=0, atol=0)
    pointwise = archcalc.loads("input: [5, 3]\nlayers:\n  - pos_embedding: {positions: 5, add: true}\n"
                               "  - linear: 4\n")
    fields, _ = receptive_fields(pointwise.graph)
    assert fields[pointwise.graph.root].size == (1,)  # position t reads position t alone, not global along T


def test_layernorm2d_is_torchvisions_channels_last_layer_norm():
    spec = archcalc.loads("input: [6, 5, 4]\nlayers:\n  - layernorm2d: {eps: 1.0e-6, name: norm}\n")
    assert spec.trainable_params == 2 * 6
    module = archcalc.to_torch(spec).eval()
    with torch.no_grad():
        module.norm.weight.normal_()
        module.norm.bias.normal_()
    x = torch.randn(2, 6, 5, 4)
    expected = nn.functional.layer_norm(x.permute(0, 2, 3, 1), (6,), module.norm.weight, module.norm.bias,
                                        1e-6).permute(0, 3, 1, 2)
    torch.testing.assert_close(module(x), expected, rtol=0, atol=0)
    fields, _ = receptive_fields(spec.graph)
    assert fields[spec.graph.root].size == (1, 1)  # the channels at one position: H and W untouched


@pytest.mark.parametrize("name, params, macs", [
    ("vit_b_16", 86_567_656, 17_563_828_224),  # torch.utils.flop_counter: 35,127,656,448 FLOPs
    ("convnext_tiny", 28_589_128, 4_455_531_264),  # 8,911,062,528 FLOPs
])
def test_the_shipped_specs_count_torchvisions_numbers(name, params, macs, run):
    model = archcalc.load(str(SPECS / f"{name}.yaml"))
    assert (model.trainable_params, model.buffers) == (params, 0)
    assert work(model.graph)[model.graph.root].macs == macs
    assert run("lint", "--isolated", SPECS / f"{name}.yaml").exit_code == 0


def test_vit_state_dict_keys_are_torchvisions_in_the_runtime_and_the_generated_source(tmp_path):
    """The bare ``class_token`` and ``encoder.pos_embedding``, the packed ``self_attention.in_proj_weight``:
    torchvision's keys and shapes (its first ones, as torchvision 0.29 lists them), from both builders."""
    from archcalc.backends.torch.source import export

    model = archcalc.load(str(SPECS / "vit_b_16.yaml"))
    path = tmp_path / "vit.py"
    export(model, str(path))
    loader = importlib.util.spec_from_file_location("vit", path)
    generated = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(generated)
    layer = "encoder.layers.encoder_layer_0"
    expected = [("class_token", (1, 1, 768)), ("conv_proj.weight", (768, 3, 16, 16)), ("conv_proj.bias", (768,)),
                ("encoder.pos_embedding", (1, 197, 768)), (f"{layer}.ln_1.weight", (768,)),
                (f"{layer}.ln_1.bias", (768,)), (f"{layer}.self_attention.in_proj_weight", (2304, 768)),
                (f"{layer}.self_attention.in_proj_bias", (2304,)),
                (f"{layer}.self_attention.out_proj.weight", (768, 768))]
    for module in (archcalc.to_torch(model), generated.build_model()):
        state = [(k, tuple(v.shape)) for k, v in module.state_dict().items()]
        assert state[:len(expected)] == expected
        assert state[-2:] == [("heads.head.weight", (1000, 768)), ("heads.head.bias", (1000,))]
        assert len(state) == 152


def test_missing_flatten_leaves_a_map_made_channels_last_on_purpose(run, write):
    """ConvNeXt's MLP runs on each position's channels after ``permute``; a linear on a map no permute
    made channels-last is still reported."""
    head = "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: 1}\n"
    chosen = write(head + "  - permute: [1, 2, 0]\n  - layernorm\n  - linear: 16\n  - gelu\n  - linear: 4\n")
    assert run("lint", "--isolated", "--select", "S106", chosen).exit_code == 0
    pooled = write(head + "  - permute: [1, 2, 0]\n  - maxpool2d: 2\n  - linear: 16\n")
    assert "S106" in run("lint", "--isolated", "--select", "S106", pooled).stdout


def test_the_reference_examples_count_what_the_text_says():
    """docs/spec.md's ViT encoder layer and ConvNeXt block, counted by hand from torch's modules."""
    from tests.test_spec_doc import example

    vit = example("name: vit-tiny")
    conv_proj, token, pos, norms, attention = 64 * 3 * 8 * 8 + 64, 64, 17 * 64, 3 * 2 * 64, 4 * 64 * 64 + 4 * 64
    mlp, head = (64 * 256 + 256) + (256 * 64 + 64), 64 * 10 + 10
    assert vit.trainable_params == conv_proj + token + pos + norms + attention + mlp + head == 64_266
    assert vit.graph.find("encoder.self_attention").out_shape == (17, 64)
    convnext = example("name: convnext-block")
    stem, dw, mlp, scale, head = 32 * 3 * 4 * 4 + 32, 32 * 7 * 7 + 32, (32 * 128 + 128) + (128 * 32 + 32), 32, 330
    assert convnext.trainable_params == stem + dw + mlp + scale + 3 * 2 * 32 + head == 12_074
    assert convnext.graph.find("2.block.3").out_shape == (8, 8, 128)


def _example_file(tmp_path, fragment: str):
    from tests.test_spec_doc import EXAMPLES

    [text] = [e for e in EXAMPLES if fragment in e]
    path = tmp_path / "example.yaml"
    path.write_text(text, encoding="utf-8")
    return str(path)


@pytest.mark.parametrize("fragment", ["name: vit-tiny", "name: convnext-block"])
@pytest.mark.parametrize("mode", ["none", "selective"])
def test_saved_activations_are_what_autograd_saves(tmp_path, fragment, mode):
    """What ``archcalc plan`` counts for the new kinds and their neighbours (``layout: torch`` saves a
    copy of its input; the class token, views and layer scale as torch's ops save)."""
    from tests.test_plan import _saved

    measured, predicted = _saved(_example_file(tmp_path, fragment), mode, torch.tensor([1, 2]))
    assert predicted == measured


@pytest.mark.slow
@pytest.mark.parametrize("name", ["vit_b_16", "convnext_tiny"])
@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_the_shipped_specs_saved_activations_are_what_autograd_saves(name, mode):
    """vit_b_16 none: 236,329,380 bytes at batch 2; convnext_tiny: 218,319,772 (about 20 s each here)."""
    from tests.test_plan import _saved

    measured, predicted = _saved(str(SPECS / f"{name}.yaml"), mode, torch.tensor([1, 2]))
    assert predicted == measured
