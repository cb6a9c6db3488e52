"""``archcalc import`` of DeepSeek-V2 and V3 configs (V3's code serves R1 and Kimi-K2) against ``transformers``.

Small configs saved by transformers, imported through the real CLI, against the real model built from the same
config with random weights and a random ``e_score_correction_bias`` (zeros would hide it): parameters, buffers,
every layer's shape, the state dict loaded strictly, logits to 1e-5 and MACs equal to the flop counter's
(tests/test_transformers.py's ``check_against``); the generated torch source, onnxruntime and the NumPy model
with the real weights; the published sizes counted on the meta device; and every setting archcalc cannot express
refused at its key.
"""

from __future__ import annotations

import copy
import json
import math
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import archcalc
from archcalc.cli import main
from tests.test_import_config import full_size, imported, refused, stirred
from tests.test_transformers import check_against, logits
from tests.torch_helpers import assert_every_backend_gives

transformers = pytest.importorskip("transformers")

SMALL = dict(vocab_size=101, hidden_size=48, intermediate_size=80, moe_intermediate_size=24, num_hidden_layers=3,
             num_attention_heads=4, num_key_value_heads=4, kv_lora_rank=12, qk_nope_head_dim=8, qk_rope_head_dim=4,
             v_head_dim=6, max_position_embeddings=32, bos_token_id=0, eos_token_id=0)


#: DeepSeek-V3's YaRN (V2-Lite's has mscale and mscale_all_dim 0.707)
YARN = {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
        "original_max_position_embeddings": 4096, "type": "yarn"}


def config(kind: str, **sizes):
    cls, architecture = {"deepseek_v3": (transformers.DeepseekV3Config, "DeepseekV3ForCausalLM"),
                         "deepseek_v2": (transformers.DeepseekV2Config, "DeepseekV2ForCausalLM")}[kind]
    made = cls(**copy.deepcopy({**SMALL, **sizes}))  # transformers writes into a rope_scaling it is given
    made.architectures = [architecture]
    return made


CASES = {
    # q through q_a_proj → q_a_layernorm → q_b_proj; 2 of 4 groups of 2 experts by their two best, top 2 of those;
    # the first layer dense; two shared experts (one MLP of 48); V3's defaults: sigmoid, normalised, × 2.5
    "v3-low-rank-groups-dense-first": (config("deepseek_v3", q_lora_rank=16, n_routed_experts=8,
                                              num_experts_per_tok=2, n_group=4, topk_group=2, first_k_dense_replace=1,
                                              n_shared_experts=2), transformers.DeepseekV3ForCausalLM),
    # one q_proj, rotate-half (rope_interleave false), 1 of 2 groups of 3, the weights as they are × 1.5
    "v3-q-proj-half-raw": (config("deepseek_v3", q_lora_rank=None, n_routed_experts=6, num_experts_per_tok=3,
                                  n_group=2, topk_group=1, first_k_dense_replace=0, rope_interleave=False,
                                  norm_topk_prob=False, routed_scaling_factor=1.5, n_shared_experts=1,
                                  attention_bias=True, tie_word_embeddings=True),
                           transformers.DeepseekV3ForCausalLM),
    # V2's group_limited_greedy: softmax, 2 of 4 groups by their best expert, × 2
    "v2-group-limited": (config("deepseek_v2", q_lora_rank=16, n_routed_experts=8, num_experts_per_tok=2, n_group=4,
                                topk_group=2, topk_method="group_limited_greedy", first_k_dense_replace=1,
                                routed_scaling_factor=2.0, n_shared_experts=2), transformers.DeepseekV2ForCausalLM),
    # the published configs' YaRN (here from 8 positions, factor 4, on 13 tokens): the rotary frequencies blended,
    # cos and sin times mscale / mscale_all_dim's ratio, the softmax scale times mscale_all_dim's mscale²
    "v3-yarn": (config("deepseek_v3", q_lora_rank=16, n_routed_experts=8, num_experts_per_tok=2, n_group=4,
                       topk_group=2, first_k_dense_replace=1, rope_theta=5000.0, rope_scaling=dict(
                           YARN, factor=4.0, mscale=0.8, mscale_all_dim=0.707, original_max_position_embeddings=8)),
                transformers.DeepseekV3ForCausalLM),
    "v2-yarn": (config("deepseek_v2", q_lora_rank=None, n_routed_experts=5, num_experts_per_tok=2,
                       rope_scaling=dict(YARN, factor=4.0, original_max_position_embeddings=8, mscale=0.707,
                                         mscale_all_dim=0.707)), transformers.DeepseekV2ForCausalLM),
    # DeepSeek-V2-Lite's shape: one q_proj, greedy top 2 of 5
    "v2-lite-greedy": (config("deepseek_v2", q_lora_rank=None, n_routed_experts=5, num_experts_per_tok=2,
                              first_k_dense_replace=1, n_shared_experts=1, hidden_act="gelu"),
                       transformers.DeepseekV2ForCausalLM),
}


def real(name: str) -> torch.nn.Module:
    """The case's transformers model, random weights moved off their start (the norms' γ off 1, sharper scores:
    ``stirred``) and a random correction bias."""
    made, cls = CASES[name]
    torch.manual_seed(0)
    model = stirred(cls(made))
    with torch.no_grad():
        for key, buffer in model.named_buffers():
            if key.endswith("e_score_correction_bias"):
                buffer.uniform_(-0.1, 0.1)
    return model.eval()


@pytest.mark.parametrize("name", CASES)
def test_an_imported_deepseek_config_is_the_real_model(tmp_path, name):
    check_against(str(imported(tmp_path, CASES[name][0])), real(name), dict(T=13), vocab=101)


def test_the_routing_and_attention_the_spec_writes_are_what_the_outputs_depend_on(tmp_path):
    """The same weights in a spec without the group limit, without the correction bias, with softmax scores, with
    rotate-half or without the scaling give other logits: the comparisons above see each of them."""
    path = imported(tmp_path, CASES["v3-low-rank-groups-dense-first"][0])
    text = path.read_text()
    weights = real("v3-low-rank-groups-dense-first").state_dict()
    ids = torch.randint(0, 101, (2, 13))

    def run(spec: str) -> torch.Tensor:
        model = archcalc.to_torch(archcalc.loads(spec, T=13)).eval()
        model.load_state_dict(weights, strict=False)
        with torch.no_grad():
            return model(ids)

    expected = run(text)
    for old, new in (("                groups: 4\n                top_groups: 2\n", ""),
                     ("correction_bias: true", "correction_bias: false"), ("scoring: sigmoid", "scoring: softmax"),
                     ("            causal: true\n", "            causal: true\n            rotary: half\n"),
                     ("scaling: 2.5", "scaling: 1.0")):  # each changes what the real model computes
        assert old in text
        assert (run(text.replace(old, new)) - expected).abs().max() > 1e-3, old


def test_yarn_and_its_softmax_scale_are_what_the_outputs_depend_on(tmp_path):
    """The YaRN case without its scaling, or without mscale² on the softmax scale, gives other logits."""
    text = imported(tmp_path, CASES["v3-yarn"][0]).read_text()
    weights = real("v3-yarn").state_dict()
    ids = torch.randint(0, 101, (2, 13))

    def run(spec: str) -> torch.Tensor:
        model = archcalc.to_torch(archcalc.loads(spec, T=13)).eval()
        model.load_state_dict(weights, strict=True)
        with torch.no_grad():
            return model(ids)

    expected = run(text)
    scale = next(line for line in text.splitlines() if line.strip().startswith("scale:")) + "\n"
    scaling = "".join(line + "\n" for line in text.splitlines() if line.strip().split(":")[0] in (
        "rotary_factor", "rotary_scaling", "original_positions", "attention_factor"))
    for old in (scale, scaling):
        assert old in text
        assert (run(text.replace(old, "")) - expected).abs().max() > 1e-3, old


@pytest.mark.parametrize("name", ["v3-low-rank-groups-dense-first", "v3-q-proj-half-raw", "v2-group-limited",
                                  "v3-yarn"])
def test_an_imported_deepseek_runs_as_the_real_model_in_every_backend(tmp_path, name):
    """The generated torch source (ruff-clean at 88 columns), onnxruntime and the NumPy model, each with the real
    model's weights, give its logits to 1e-5 (float32)."""



    model = archcalc.load(str(imported(tmp_path, CASES[name][0])), T=13)
    source = real(name)
    weights = source.state_dict()
    ids = torch.randint(0, 101, (2, 13))
    with torch.no_grad():
        expected = logits(source(ids)).numpy()

    assert_every_backend_gives(model, weights, ids, expected, tmp_path)


# -- the published sizes ------------------------------------------------------------------------------

#: deepseek-ai/DeepSeek-V3's config.json (R1's is the same); num_nextn_predict_layers is its MTP layer, which
#: transformers does not build (its weights are ignored on loading), so neither count holds it
DEEPSEEK_V3 = dict(vocab_size=129280, hidden_size=7168, intermediate_size=18432, moe_intermediate_size=2048,
                   num_hidden_layers=61, num_nextn_predict_layers=1, num_attention_heads=128, num_key_value_heads=128,
                   n_shared_experts=1, n_routed_experts=256, routed_scaling_factor=2.5, kv_lora_rank=512,
                   q_lora_rank=1536, qk_rope_head_dim=64, v_head_dim=128, qk_nope_head_dim=128, n_group=8,
                   topk_group=4, num_experts_per_tok=8, first_k_dense_replace=3, norm_topk_prob=True,
                   hidden_act="silu", max_position_embeddings=163840, rms_norm_eps=1e-6, rope_theta=10000,
                   rope_scaling=YARN, tie_word_embeddings=False, bos_token_id=0, eos_token_id=1)
#: deepseek-ai/DeepSeek-V2-Lite's config.json
DEEPSEEK_V2_LITE = dict(vocab_size=102400, hidden_size=2048, intermediate_size=10944, moe_intermediate_size=1408,
                        num_hidden_layers=27, num_attention_heads=16, num_key_value_heads=16, n_shared_experts=2,
                        n_routed_experts=64, routed_scaling_factor=1.0, kv_lora_rank=512, q_lora_rank=None,
                        qk_rope_head_dim=64, v_head_dim=128, qk_nope_head_dim=128, topk_method="greedy", n_group=1,
                        topk_group=1, num_experts_per_tok=6, first_k_dense_replace=1, norm_topk_prob=False,
                        max_position_embeddings=163840, rope_theta=10000,
                        rope_scaling={**YARN, "mscale": 0.707, "mscale_all_dim": 0.707}, bos_token_id=100000,
                        eos_token_id=100001)


@pytest.mark.parametrize(("kind", "sizes", "real_class", "expected"), [
    ("deepseek_v3", DEEPSEEK_V3, transformers.DeepseekV3ForCausalLM, 671_026_404_352),
    ("deepseek_v2", DEEPSEEK_V2_LITE, transformers.DeepseekV2ForCausalLM, 15_706_484_224),
])
def test_the_published_sizes_count_as_the_real_model(tmp_path, kind, sizes, real_class, expected):
    """The configs as published, YaRN and all: the spec counts transformers' parameters to the one, and writes
    YaRN as the rotary scaling with the softmax scale times mscale_all_dim's mscale² (V3: 1/√192 × 1.3689²)."""
    made = config(kind, **sizes)
    spec = imported(tmp_path, made)
    assert archcalc.load(str(spec)).trainable_params == full_size(made, real_class) == expected
    text = spec.read_text()
    assert "rotary_scaling: yarn" in text and "rotary_factor: 40.0" in text and "original_positions: 4096" in text
    mscale = 0.1 * sizes["rope_scaling"]["mscale_all_dim"] * math.log(40.0) + 1.0
    assert f"scale: {192 ** -0.5 * mscale * mscale!r}" in text


@pytest.mark.parametrize(("kind", "given", "base"), [
    ("deepseek_v3", {}, transformers.DeepseekV3Model),
    ("deepseek_v2", {"num_experts_per_tok": 6}, transformers.DeepseekV2Model),  # V2's default is None
])
def test_a_key_the_config_leaves_out_takes_its_generations_default(tmp_path, kind, given, base):
    """A config of model_type alone is transformers' default model (V3: the 671B one), the base model."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": kind, **given}))
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    defaults = {transformers.DeepseekV3Model: transformers.DeepseekV3Config,
                transformers.DeepseekV2Model: transformers.DeepseekV2Config}[base](**given)
    assert archcalc.load(str(out)).trainable_params == full_size(defaults, base)


# -- what cannot be imported ----------------------------------------------------------------------------

V3 = dict(model_type="deepseek_v3", architectures=["DeepseekV3ForCausalLM"], hidden_size=64, intermediate_size=96,
          moe_intermediate_size=32, num_attention_heads=4, num_key_value_heads=4, num_hidden_layers=2, vocab_size=100,
          n_routed_experts=8, num_experts_per_tok=2, n_group=4, topk_group=2, first_k_dense_replace=1)
V2 = dict(V3, model_type="deepseek_v2", architectures=["DeepseekV2ForCausalLM"])


@pytest.mark.parametrize(("base", "changes", "key", "message"), [
    (V3, dict(rope_scaling={"rope_type": "dynamic", "factor": 2.0}), '"rope_type": "dynamic"',
     "'rope_scaling': archcalc's rotary embedding cannot compute rope type 'dynamic'"),
    (V2, dict(topk_method="noaux_tc"), "topk_method", "archcalc cannot express topk_method 'noaux_tc'"),
    (V2, dict(topk_method="group_limited_greedy", n_group=None), "n_group",
     "'n_group' is null, which transformers refuses for deepseek_v2: it takes a whole number"),
    (V2, dict(num_experts_per_tok=None), "num_experts_per_tok",
     "'num_experts_per_tok' is null, which transformers refuses for deepseek_v2: it takes a whole number"),
    (V3, dict(n_group=3), "n_group", "n_group 3 does not divide the 8 experts (n_routed_experts)"),
    (V3, dict(n_group=8, topk_group=2), "n_group", "n_group 8 leaves 1 expert per group, but a group's score is its "
     "two best experts' sum"),
    (V3, dict(topk_group=5), "topk_group", "topk_group 5 is more than the 4 groups (n_group)"),
    (V3, dict(topk_group=1, num_experts_per_tok=3), "num_experts_per_tok",
     "num_experts_per_tok 3 is more than the 2 experts of topk_group 1 groups"),
    (V3, dict(num_experts_per_tok=9), "num_experts_per_tok", "num_experts_per_tok 9 is more than the 8 experts"),
    (V2, dict(mlp_bias=True), "mlp_bias", "'mlp_bias': biases on the shared experts' projections"),
    (V3, dict(n_shared_experts=0), "n_shared_experts", "'n_shared_experts' 0: transformers still builds the shared "
     "experts, zero features wide"),
    (V3, dict(qk_rope_head_dim=5), "qk_rope_head_dim", "qk_rope_head_dim 5 is odd"),
    (V3, dict(pretraining_tp=2), "pretraining_tp", "tensor parallelism"),
    (V3, dict(hidden_act="quick_gelu"), "hidden_act", "archcalc cannot express activation 'quick_gelu'"),
    (V3, dict(q_lora_rank="16"), "q_lora_rank", '"q_lora_rank": 16, a number, without quotes'),
    (V3, dict(rope_interleave=1), "rope_interleave", '"rope_interleave": true, JSON\'s true or false'),
    (V3, dict(n_group=None), "n_group", "'n_group' is null, which transformers' DeepSeek-V3 router cannot route by"),
])
def test_a_deepseek_config_archcalc_cannot_express_is_refused_at_its_key(tmp_path, base, changes, key, message):
    text = json.dumps({**base, **changes}, indent=2)
    marker = key if key is None or key.startswith('"') else f'"{key}"'
    line = 1 if key is None else next(i for i, row in enumerate(text.splitlines(), 1) if marker in row)
    output = refused(tmp_path, text)
    assert f"config.json:{line}:" in output
    assert message in output


def test_a_null_flag_is_false_as_transformers_tests_it(tmp_path):
    """``if config.rope_interleave`` and ``if self.norm_topk_prob``: null is false there, not the default true."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**V3, "rope_interleave": None, "norm_topk_prob": None}))
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "rotary: half" in text and "normalize: false" in text


def test_key_value_heads_other_than_the_heads_are_a_warning(tmp_path):
    """DeepseekV3Config's default num_key_value_heads is 128 whatever the heads; transformers' sdpa attention ignores
    it (every head has its key), its eager attention fails on it: the spec ignores it with a warning."""
    path = tmp_path / "config.json"
    text = json.dumps({**V3, "num_key_value_heads": 128}, indent=2)
    path.write_text(text)
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 0, result.output
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"num_key_value_heads"' in row)
    assert (f"config.json:{line}:26: warning: num_key_value_heads 128 is not num_attention_heads 4: latent attention "
            "expands a key and a value for every head") in result.output


def test_every_layer_dense_is_a_decoder_without_experts(tmp_path):
    """first_k_dense_replace at num_hidden_layers: transformers builds no mixture at all, and the spec has none."""
    made = config("deepseek_v3", q_lora_rank=None, n_routed_experts=4, num_experts_per_tok=2, n_group=2,
                  topk_group=1, first_k_dense_replace=3)
    spec = imported(tmp_path, made)
    assert "moe" not in spec.read_text() and "E:" not in spec.read_text()
    check_against(str(spec), stirred(transformers.DeepseekV3ForCausalLM(made)).eval(), dict(T=13), vocab=101)


def test_a_v2_norm_topk_prob_is_ignored_as_transformers_ignores_it(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({**V2, "norm_topk_prob": True}))
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 0, result.output
    assert "norm_topk_prob: transformers' DeepSeek-V2 router never renormalises the kept weights" in result.output
    assert "normalize: false" in (tmp_path / "spec.yaml").read_text()


def test_the_latent_cache_is_what_a_decoder_keeps(tmp_path):
    """MLA's point: a decoder caches the normalised latent and the rotated key, kv_lora_rank + qk_rope_head_dim
    values per position and layer (576 for V3), not 2 × heads × head_dim."""
    from archcalc.calc.plan import kv_cache_at, kv_cache_per_token

    path = tmp_path / "config.json"
    data = {**DEEPSEEK_V3, "model_type": "deepseek_v3"}
    data.pop("rope_scaling")
    path.write_text(json.dumps(data))
    out = tmp_path / "spec.yaml"
    assert CliRunner().invoke(main, ["import", str(path), "-o", str(out)]).exit_code == 0
    graph = archcalc.load(str(out), T=16).graph
    per_layer = kv_cache_per_token(graph)
    assert len(per_layer) == 61 and {n for _, n in per_layer} == {512 + 64}
    assert kv_cache_at(graph, 4096) == (61 * 576 * 4096, 0)  # every position kept: no window


def test_imported_deepseek_specs_lint_without_errors(tmp_path):
    for name, (made, _) in CASES.items():
        spec = imported(tmp_path / name, made)
        findings = json.loads(CliRunner().invoke(main, ["lint", str(spec), "--format", "json"]).output)
        assert not [f for f in findings if f["code"].startswith("E")], findings


def test_the_spec_path_is_the_one_imported(tmp_path: Path):
    """The import writes a spec that ``archcalc params`` reads (the real CLI, this checkout)."""
    spec = imported(tmp_path, CASES["v2-lite-greedy"][0])
    result = CliRunner().invoke(main, ["params", str(spec)])
    assert result.exit_code == 0, result.output
    assert "mla" in result.output and "moe" in result.output
