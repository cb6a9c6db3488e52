"""``archcalc import config.json`` against Hugging Face ``transformers`` itself.

Each family's config is saved by ``transformers`` (``save_pretrained``, as a user has it), imported
through the real CLI, and the spec is compared with the real model built from the same config with
random weights: parameters (a tied weight once), buffers, every layer's output shape, the state dict
loaded with ``strict=True``, outputs in eval mode to 1e-5 and MACs (tests/test_transformers.py's
``check_against``). Full-size configs are counted on the meta device. The import itself needs neither
torch nor transformers, which a subprocess proves.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import archcalc
from archcalc.cli import main
from tests.test_transformers import check_against, logits, unique_parameters
from tests.torch_helpers import assert_every_backend_gives

transformers = pytest.importorskip("transformers")


def imported(tmp_path: Path, config, *extra: str) -> Path:
    """``config`` saved as a user has it, then ``archcalc import``-ed to a spec file."""
    config.save_pretrained(tmp_path)
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(out), *extra])
    assert result.exit_code == 0, result.output
    return out


def small(kind: str, **sizes):
    """A small config of ``kind`` (Hugging Face's class), its architecture named as a hub config names it."""
    config_class, architecture = {
        "gpt2": (transformers.GPT2Config, "GPT2LMHeadModel"),
        "bert": (transformers.BertConfig, "BertModel"),
        "roberta": (transformers.RobertaConfig, "RobertaModel"),
        "xlm-roberta": (transformers.XLMRobertaConfig, "XLMRobertaModel"),
        "camembert": (transformers.CamembertConfig, "CamembertModel"),
        "electra": (transformers.ElectraConfig, "ElectraModel"),
        "distilbert": (transformers.DistilBertConfig, "DistilBertModel"),
        "vit": (transformers.ViTConfig, "ViTModel"),
        "llama": (transformers.LlamaConfig, "LlamaForCausalLM"),
        "mistral": (transformers.MistralConfig, "MistralForCausalLM"),
        "qwen2": (transformers.Qwen2Config, "Qwen2ForCausalLM"),
        "qwen3": (transformers.Qwen3Config, "Qwen3ForCausalLM"),
        "olmo2": (transformers.Olmo2Config, "Olmo2ForCausalLM"),
        "phi3": (transformers.Phi3Config, "Phi3ForCausalLM"),
        "mixtral": (transformers.MixtralConfig, "MixtralForCausalLM"),
        "qwen3_moe": (transformers.Qwen3MoeConfig, "Qwen3MoeForCausalLM"),
        "qwen2_moe": (transformers.Qwen2MoeConfig, "Qwen2MoeForCausalLM"),
        "olmoe": (transformers.OlmoeConfig, "OlmoeForCausalLM"),
        "gemma": (transformers.GemmaConfig, "GemmaForCausalLM"),
        "gemma2": (transformers.Gemma2Config, "Gemma2ForCausalLM"),
        "gemma3_text": (transformers.Gemma3TextConfig, "Gemma3ForCausalLM"),
        "gpt_neox": (transformers.GPTNeoXConfig, "GPTNeoXForCausalLM"),
        "phi": (transformers.PhiConfig, "PhiForCausalLM"),
        "starcoder2": (transformers.Starcoder2Config, "Starcoder2ForCausalLM"),
        "stablelm": (transformers.StableLmConfig, "StableLmForCausalLM"),
        "granite": (transformers.GraniteConfig, "GraniteForCausalLM"),
        "granitemoe": (transformers.GraniteMoeConfig, "GraniteMoeForCausalLM"),
        "cohere": (transformers.CohereConfig, "CohereForCausalLM"),
        "opt": (transformers.OPTConfig, "OPTForCausalLM"),
        "gptj": (transformers.GPTJConfig, "GPTJForCausalLM"),
        "gpt_bigcode": (transformers.GPTBigCodeConfig, "GPTBigCodeForCausalLM"),
    }[kind]
    config = config_class(**sizes)
    config.architectures = [architecture]
    return config


#: Meta's Llama 3 8B config.json's sizes
LLAMA_3_8B = dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192, rms_norm_eps=1e-5,
                  rope_theta=500000.0)

DECODER = dict(
    vocab_size=101,
    hidden_size=48,
    intermediate_size=80,
    num_hidden_layers=2,
    num_attention_heads=6,
    max_position_embeddings=32,
    bos_token_id=0,
    eos_token_id=0,
)

ENCODER = dict(vocab_size=101, hidden_size=48, num_attention_heads=6, intermediate_size=80, num_hidden_layers=2)

#: the base models whose output is the pooler's (the others': the last hidden state)
POOLED = (transformers.BertModel, transformers.RobertaModel, transformers.XLMRobertaModel, transformers.CamembertModel,
          transformers.ViTModel)

CASES = {
    "gpt2": (
        small("gpt2", n_layer=2, n_embd=32, n_head=4, vocab_size=101, n_positions=24, bos_token_id=0, eos_token_id=0),
        transformers.GPT2LMHeadModel,
    ),
    "gpt2-relu-untied-unscaled": (
        small(
            "gpt2",
            n_layer=2,
            n_embd=32,
            n_head=4,
            n_inner=40,
            vocab_size=101,
            n_positions=24,
            activation_function="relu",
            tie_word_embeddings=False,
            scale_attn_weights=False,
            layer_norm_epsilon=1e-6,
        ),
        transformers.GPT2LMHeadModel,
    ),
    "bert": (
        small(
            "bert",
            num_hidden_layers=2,
            hidden_size=48,
            num_attention_heads=6,
            intermediate_size=80,
            vocab_size=101,
            max_position_embeddings=24,
            type_vocab_size=3,
            hidden_act="gelu_new",
        ),
        transformers.BertModel,
    ),
    # RoBERTa's positions counted after the padding row 1 (13 tokens need 15 of the 16 rows); one token type
    "roberta": (small("roberta", **ENCODER, max_position_embeddings=16, type_vocab_size=1, layer_norm_eps=1e-5),
                transformers.RobertaModel),
    # XLM-RoBERTa's and CamemBERT's base models are RoBERTa's code: padding row 3, a relu MLP, two token types
    "xlm-roberta": (small("xlm-roberta", **ENCODER, max_position_embeddings=20, pad_token_id=3, hidden_act="relu"),
                    transformers.XLMRobertaModel),
    "camembert": (small("camembert", **ENCODER, max_position_embeddings=14, pad_token_id=0,
                        attention_probs_dropout_prob=0.0), transformers.CamembertModel),
    # ELECTRA's embeddings 24 wide, projected to 48 (embeddings_project); no pooler: the last hidden state
    "electra": (small("electra", **ENCODER, max_position_embeddings=24, embedding_size=24), transformers.ElectraModel),
    "electra-unprojected": (small("electra", **ENCODER, max_position_embeddings=24, embedding_size=48,
                                  hidden_act="gelu_new"), transformers.ElectraModel),
    # BERT's post-norm layers under other names, no token types, no pooler
    "distilbert": (small("distilbert", vocab_size=101, dim=48, n_heads=6, n_layers=2, hidden_dim=80,
                         max_position_embeddings=24, pad_token_id=5), transformers.DistilBertModel),
    "distilbert-relu-no-dropout": (small("distilbert", vocab_size=101, dim=48, n_heads=4, n_layers=2, hidden_dim=64,
                                         max_position_embeddings=16, activation="relu", dropout=0.0,
                                         attention_dropout=0.0), transformers.DistilBertModel),
    "llama-gqa": (small("llama", num_key_value_heads=2, rope_theta=500000.0, **DECODER), transformers.LlamaForCausalLM),
    "llama-biased-tied": (
        small("llama", attention_bias=True, mlp_bias=True, tie_word_embeddings=True, **DECODER),
        transformers.LlamaForCausalLM,
    ),
    "llama-head-dim": (small("llama", head_dim=12, num_key_value_heads=3, **DECODER), transformers.LlamaForCausalLM),
    "mistral": (small("mistral", num_key_value_heads=3, sliding_window=64, **DECODER), transformers.MistralForCausalLM),
    # a window of 5 on 13 tokens: each sees itself and the 4 before it, as the spec's window: 5 does
    "mistral-sliding": (small("mistral", num_key_value_heads=3, sliding_window=5, **DECODER),
                        transformers.MistralForCausalLM),
    "qwen2": (
        small("qwen2", num_key_value_heads=2, tie_word_embeddings=True, **DECODER),
        transformers.Qwen2ForCausalLM,
    ),
    # q_norm and k_norm over each head's 12 dimensions, which are not hidden_size / heads (48 / 6 = 8)
    "qwen3": (
        small("qwen3", num_key_value_heads=2, head_dim=12, tie_word_embeddings=True, **DECODER),
        transformers.Qwen3ForCausalLM,
    ),
    "qwen3-biased": (
        small("qwen3", num_key_value_heads=3, head_dim=8, attention_bias=True, rms_norm_eps=1e-5, **DECODER),
        transformers.Qwen3ForCausalLM,
    ),
    # q_norm over all 6 heads' features, k_norm over the 2 kv heads'; each sub-layer's output normalised
    "olmo2": (small("olmo2", num_key_value_heads=2, **DECODER), transformers.Olmo2ForCausalLM),
    # q, k, v fused in qkv_proj and gate, up in gate_up_proj; Phi-4-mini's partial rotary (here half of each head)
    "phi3": (small("phi3", num_key_value_heads=2, partial_rotary_factor=0.5, pad_token_id=100, **DECODER),
             transformers.Phi3ForCausalLM),
    "phi3-mha-gelu": (small("phi3", hidden_act="gelu_pytorch_tanh", resid_pdrop=0.1, tie_word_embeddings=True,
                            pad_token_id=3, **DECODER), transformers.Phi3ForCausalLM),
    # Mistral's decoder with a sparse MoE MLP: 4 experts, each token routed to 2 (the router is mlp.gate)
    "mixtral": (small("mixtral", num_key_value_heads=2, num_local_experts=4, **DECODER),
                transformers.MixtralForCausalLM),
    "mixtral-top-3-of-5": (small("mixtral", num_key_value_heads=3, num_local_experts=5, num_experts_per_tok=3,
                                 head_dim=12, **DECODER), transformers.MixtralForCausalLM),
    # Qwen3's decoder, experts moe_intermediate_size (24) wide, the kept probabilities as they are
    "qwen3-moe": (small("qwen3_moe", num_key_value_heads=2, head_dim=12, num_experts=6, num_experts_per_tok=2,
                        moe_intermediate_size=24, **DECODER), transformers.Qwen3MoeForCausalLM),
    "qwen3-moe-normalized": (small("qwen3_moe", num_key_value_heads=3, num_experts=4, num_experts_per_tok=3,
                                   moe_intermediate_size=16, norm_topk_prob=True, tie_word_embeddings=True,
                                   **DECODER), transformers.Qwen3MoeForCausalLM),
    # Qwen2's q, k, v biases; a shared expert of 40 every token runs, sigmoid-gated, beside 4 routed ones of 24
    "qwen2-moe": (small("qwen2_moe", num_key_value_heads=2, num_experts=4, num_experts_per_tok=2,
                        moe_intermediate_size=24, shared_expert_intermediate_size=40, **DECODER),
                  transformers.Qwen2MoeForCausalLM),
    "qwen2-moe-unbiased-normalized": (small("qwen2_moe", num_key_value_heads=6, num_experts=3, num_experts_per_tok=1,
                                            moe_intermediate_size=16, shared_expert_intermediate_size=8,
                                            qkv_bias=False, norm_topk_prob=True, **DECODER),
                                      transformers.Qwen2MoeForCausalLM),
    # OLMo 2's all-heads q and k norms in Llama's pre-norm order
    "olmoe": (small("olmoe", num_key_value_heads=2, num_experts=5, num_experts_per_tok=2, pad_token_id=1, **DECODER),
              transformers.OlmoeForCausalLM),
}


@pytest.mark.parametrize("name", CASES)
def test_an_imported_config_is_the_real_model(tmp_path, name):
    config, real_class = CASES[name]
    spec = imported(tmp_path, config)
    torch.manual_seed(0)
    real = real_class(config)
    vocab = config.vocab_size
    check_against(str(spec), real, dict(T=13), vocab=vocab, pooled=real_class in POOLED)


def test_roberta_counts_positions_after_padding_as_transformers_does(tmp_path):
    """RoBERTa's positions come from the ids: the k-th token that is not padding at row pad + k, a padding
    token at row pad. Sequences with padding at the end, the start and between tokens give the real model's
    outputs (the last hidden state, and the pooler's, which attends to every token)."""
    config, _ = CASES["roberta"]
    spec = archcalc.load(str(imported(tmp_path, config)), T=13)
    torch.manual_seed(0)
    real = transformers.RobertaModel(config).eval()
    ours = archcalc.to_torch(spec).eval()
    ours.load_state_dict(real.state_dict(), strict=True)
    ids = torch.randint(2, config.vocab_size, (3, 13))
    ids[0, 9:] = 1  # padded at the end
    ids[1, :4] = 1  # at the start
    ids[2, 3::3] = 1  # between tokens
    with torch.no_grad():
        torch.testing.assert_close(ours.embeddings(ids), real.embeddings(ids), atol=1e-6, rtol=1e-6)
        torch.testing.assert_close(ours(ids), real(ids).pooler_output, atol=1e-5, rtol=1e-5)
    assert "padding_idx: 1, name: position_embeddings" in (tmp_path / "spec.yaml").read_text(encoding="utf-8")


#: tiny ViT configs: square and oblong images and patches, q, k, v without bias, heads not D/h wide, a pooler
#: of another width and activation, dropout
VIT = dict(hidden_size=48, num_hidden_layers=2, num_attention_heads=6, intermediate_size=80, image_size=32,
           patch_size=8, num_channels=3)
VIT_CASES = {
    "vit": (small("vit", **VIT), transformers.ViTModel, (3, 32, 32)),
    "vit-oblong-unbiased": (small("vit", **{**VIT, "image_size": [24, 40], "patch_size": [8, 10], "num_channels": 2,
                                            "qkv_bias": False, "hidden_act": "gelu_new", "layer_norm_eps": 1e-6}),
                            transformers.ViTModel, (2, 24, 40)),
    # head_dim 10 (60 wide q, k, v of a 48-wide model), a pooler of 20 with relu, dropout everywhere
    "vit-head-dim-pooler": (small("vit", **{**VIT, "head_dim": 10, "pooler_output_size": 20, "pooler_act": "relu",
                                            "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1}),
                            transformers.ViTModel, (3, 32, 32)),
    # 50 over 4 heads: each head 12 wide (ViTAttention's hidden_size // heads), o_proj 48 → 50
    "vit-uneven-heads": (small("vit", **{**VIT, "hidden_size": 50, "num_attention_heads": 4}), transformers.ViTModel,
                         (3, 32, 32)),
    "vit-classifier": (small("vit", **VIT, num_labels=7), transformers.ViTForImageClassification, (3, 32, 32)),
}


@pytest.mark.parametrize("name", VIT_CASES)
def test_an_imported_vit_config_is_the_real_model(tmp_path, name):
    """ViTModel's pooler output (ViTForImageClassification's logits) on two images, equal to 1e-5."""
    config, real_class, image = VIT_CASES[name]
    if real_class is transformers.ViTForImageClassification:
        config.architectures = ["ViTForImageClassification"]
    spec = imported(tmp_path, config)
    torch.manual_seed(0)
    real = real_class(config)
    check_against(str(spec), real, {}, vocab=0, pooled=real_class is transformers.ViTModel,
                  example=torch.randn(2, *image))


GEMMA = dict(vocab_size=101, hidden_size=48, intermediate_size=80, num_attention_heads=4, max_position_embeddings=32,
             bos_token_id=0, eos_token_id=0, pad_token_id=0)

#: tiny Gemma configs: tied and untied heads, multi-query, grouped-query and full attention, heads not D/h wide
GEMMA_CASES = {
    "gemma-mqa-tied": (small("gemma", num_hidden_layers=2, num_key_value_heads=1, head_dim=16, **GEMMA),
                       transformers.GemmaForCausalLM),
    # the first releases' "gelu", which GemmaConfig reads as the tanh form; biased projections
    "gemma-mha-untied-biased": (small("gemma", num_hidden_layers=2, num_key_value_heads=4, head_dim=12,
                                      tie_word_embeddings=False, attention_bias=True, hidden_act="gelu",
                                      rms_norm_eps=1e-5, **GEMMA), transformers.GemmaForCausalLM),
    "gemma-gqa-wide-heads": (small("gemma", num_hidden_layers=3, num_key_value_heads=2, head_dim=24,
                                   rope_parameters={"rope_type": "default", "rope_theta": 500.0}, **GEMMA),
                             transformers.GemmaForCausalLM),
    # every other layer sliding (a window of 5 on 13 tokens), scores scaled by 20^-1/2 and capped at 2, logits
    # capped at 3
    "gemma2-gqa-capped": (small("gemma2", num_hidden_layers=3, num_key_value_heads=2, head_dim=16, sliding_window=5,
                                query_pre_attn_scalar=20, attn_logit_softcapping=2.0, final_logit_softcapping=3.0,
                                **GEMMA), transformers.Gemma2ForCausalLM),
    # no caps, every layer sliding, query_pre_attn_scalar = head_dim (the default scale), untied, multi-query
    "gemma2-mqa-uncapped-untied": (small("gemma2", num_hidden_layers=2, num_key_value_heads=1, head_dim=12,
                                         sliding_window=4, query_pre_attn_scalar=12, attn_logit_softcapping=None,
                                         final_logit_softcapping=None, tie_word_embeddings=False,
                                         layer_types=["sliding_attention"] * 2, **GEMMA),
                                   transformers.Gemma2ForCausalLM),
    # 5 local : 1 global (the default pattern) over 7 layers, the global layers' rope scaled linearly by 8
    "gemma3-pattern-linear-rope": (small("gemma3_text", num_hidden_layers=7, num_key_value_heads=2, head_dim=16,
                                         sliding_window=4, query_pre_attn_scalar=16, rope_parameters={
                                             "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0},
                                             "full_attention": {"rope_type": "linear", "factor": 8.0,
                                                                "rope_theta": 1000000.0}}, **GEMMA),
                                   transformers.Gemma3ForCausalLM),
    # every third layer global, multi-query, untied, soft caps, eps 1e-5 on the q and k norms too
    "gemma3-mqa-period-3": (small("gemma3_text", num_hidden_layers=4, num_key_value_heads=1, head_dim=24,
                                  sliding_window=3, rms_norm_eps=1e-5, tie_word_embeddings=False,
                                  attn_logit_softcapping=4.0, final_logit_softcapping=6.0,
                                  layer_types=["sliding_attention", "sliding_attention", "full_attention",
                                               "sliding_attention"], **GEMMA), transformers.Gemma3ForCausalLM),
}


def stirred(real: torch.nn.Module) -> torch.nn.Module:
    """``real`` with every parameter moved off its initial value: Gemma starts its norms' γ at zero (their
    scale 1 + γ at one), which would hide a norm that forgot its offset."""
    with torch.no_grad():
        for parameter in real.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    return real


@pytest.mark.parametrize("name", GEMMA_CASES)
def test_an_imported_gemma_config_is_the_real_model(tmp_path, name):
    """Logits equal to 1e-5 on 13 tokens (longer than the windows of the Gemma 2 and 3 cases)."""
    config, real_class = GEMMA_CASES[name]
    config._attn_implementation = "eager"
    spec = imported(tmp_path, config)
    torch.manual_seed(0)
    real = stirred(real_class(config))
    check_against(str(spec), real, dict(T=13), vocab=config.vocab_size)


#: the LayerNorm decoders' sizes (their keys are DECODER's, without the intermediate size GPT-NeoX has too)
LAYERNORM = dict(vocab_size=101, hidden_size=48, intermediate_size=80, num_hidden_layers=2, max_position_embeddings=32,
                 bos_token_id=0, eos_token_id=0)

#: OPT's sizes under its keys
OPT = dict(vocab_size=101, hidden_size=48, ffn_dim=80, num_hidden_layers=2, num_attention_heads=4,
           max_position_embeddings=32, bos_token_id=0, eos_token_id=0)
#: GPT-J's and GPT-BigCode's sizes under GPT-2's names
GPT = dict(vocab_size=101, n_embd=48, n_head=4, n_layer=2, n_positions=32, bos_token_id=0, eos_token_id=0)

#: tiny GPT-NeoX, Phi, StarCoder2 and StableLM configs: parallel and sequential residuals, partial rotary, tied and
#: untied heads, biases on and off, grouped-query attention, a window shorter than the 13 tokens compared
LAYERNORM_CASES = {
    # Pythia's: x + attention(ln1 x) + mlp(ln2 x); q, k, v fused head by head; half of each 12-wide head rotated
    "gpt-neox-parallel": (small("gpt_neox", num_attention_heads=4, rotary_pct=0.5, rotary_emb_base=500,
                                hidden_dropout=0.1, **LAYERNORM), transformers.GPTNeoXForCausalLM),
    # one after the other, no attention biases, the head tied, a quarter of each 16-wide head rotated, tanh GELU
    "gpt-neox-sequential-tied": (small("gpt_neox", num_attention_heads=3, use_parallel_residual=False,
                                       attention_bias=False, tie_word_embeddings=True, hidden_act="gelu_new",
                                       layer_norm_eps=1e-6, **LAYERNORM), transformers.GPTNeoXForCausalLM),
    # Phi-2's: attention and MLP side by side on one norm, 0.4 of each head rotated (4 of 12), lm_head's bias
    "phi": (small("phi", num_attention_heads=4, partial_rotary_factor=0.4, resid_pdrop=0.1, **LAYERNORM),
            transformers.PhiForCausalLM),
    # grouped-query, the head tied (its bias its own), a padding row, 0.5 of 8-wide heads
    "phi-gqa-tied": (small("phi", num_attention_heads=6, num_key_value_heads=2, tie_word_embeddings=True,
                           pad_token_id=5, hidden_act="gelu", **LAYERNORM), transformers.PhiForCausalLM),
    # 4 heads on a hidden size of 50: PhiAttention's heads are 50 // 4 = 12 wide, q, k and v 48, dense back to 50
    "phi-heads-not-dividing": (small("phi", **dict(LAYERNORM, hidden_size=50), num_attention_heads=4),
                               transformers.PhiForCausalLM),
    # StarCoder2-3B's shape: grouped-query attention, biases, a window of 5 on every layer, the head tied
    "starcoder2": (small("starcoder2", num_attention_heads=6, num_key_value_heads=2, sliding_window=5,
                         residual_dropout=0.1, embedding_dropout=0.1, norm_epsilon=1e-6, **LAYERNORM),
                   transformers.Starcoder2ForCausalLM),
    "starcoder2-unbiased-untied-full": (small("starcoder2", num_attention_heads=6, num_key_value_heads=6,
                                              use_bias=False, tie_word_embeddings=False, sliding_window=None,
                                              **LAYERNORM), transformers.Starcoder2ForCausalLM),
    # heads of 16 whatever hidden_size / heads (8) says, as Starcoder2Attention reads head_dim
    "starcoder2-head-dim": (small("starcoder2", num_attention_heads=6, num_key_value_heads=3, head_dim=16,
                                  sliding_window=4, **LAYERNORM), transformers.Starcoder2ForCausalLM),
    # StableLM-2's: sequential, q, k, v biased (o_proj not), a quarter of 8-wide heads rotated
    "stablelm": (small("stablelm", num_attention_heads=6, num_key_value_heads=6, use_qkv_bias=True, hidden_dropout=0.1,
                       **LAYERNORM),
                 transformers.StableLmForCausalLM),
    # parallel on one shared norm, grouped-query, half of each head rotated, tied
    "stablelm-parallel-gqa": (small("stablelm", num_attention_heads=6, num_key_value_heads=2,
                                    use_parallel_residual=True, partial_rotary_factor=0.5, tie_word_embeddings=True,
                                    **LAYERNORM), transformers.StableLmForCausalLM),
    # StableLM 2 12B's: a LayerNorm of each head's own on q (6 heads) and k (2), parallel, grouped-query
    "stablelm-qk-layernorm": (small("stablelm", num_attention_heads=6, num_key_value_heads=2, qk_layernorm=True,
                                    use_parallel_residual=True, layer_norm_eps=1e-4, **LAYERNORM),
                              transformers.StableLmForCausalLM),
    # opt-125m's: pre-norm, biases, ReLU, positions from row 2 of the P + 2 rows, the head tied
    "opt": (small("opt", **OPT), transformers.OPTForCausalLM),
    # opt-350m's: post-norm (no final_layer_norm), tokens embedded 32 wide, project_in to 48 and project_out back
    "opt-350m-post-norm-projected": (small("opt", **OPT, do_layer_norm_before=False, word_embed_proj_dim=32,
                                           pad_token_id=3), transformers.OPTForCausalLM),
    # no biases, LayerNorms without γ and β, the final norm removed, GELU, untied, dropout on the scores
    "opt-unbiased-plain-norms-untied": (small("opt", **OPT, enable_bias=False, layer_norm_elementwise_affine=False,
                                              _remove_final_layer_norm=True, activation_function="gelu",
                                              tie_word_embeddings=False, attention_dropout=0.1, dropout=0.0),
                                        transformers.OPTForCausalLM),
    # projected and pre-norm, untied: lm_head reads the 32-wide project_out
    "opt-projected-pre-norm-untied": (small("opt", **OPT, word_embed_proj_dim=32, tie_word_embeddings=False),
                                      transformers.OPTForCausalLM),
    # GPT-J-6B's: attention and MLP side by side on ln_1, 4 of each 12-wide head rotated in interleaved pairs
    "gptj": (small("gptj", **GPT, rotary_dim=4, resid_pdrop=0.1, embd_pdrop=0.1), transformers.GPTJForCausalLM),
    # the whole 8-wide head rotated, the head tied (its bias its own), exact GELU, another eps
    "gptj-whole-head-tied": (small("gptj", **dict(GPT, n_head=6), rotary_dim=8, tie_word_embeddings=True,
                                   activation_function="gelu", layer_norm_epsilon=1e-6, n_inner=64),
                             transformers.GPTJForCausalLM),
    # SantaCoder's and StarCoder's: one key/value head (multi_query), learned positions, the head tied
    "gpt-bigcode": (small("gpt_bigcode", **GPT), transformers.GPTBigCodeForCausalLM),
    # c_attn head by head without multi_query, unscaled scores, untied, no dropout, n_inner given
    "gpt-bigcode-multi-head-untied": (small("gpt_bigcode", **GPT, multi_query=False, scale_attn_weights=False,
                                            tie_word_embeddings=False, n_inner=72, resid_pdrop=0.0, embd_pdrop=0.0,
                                            attn_pdrop=0.0), transformers.GPTBigCodeForCausalLM),
}


@pytest.mark.parametrize("name", LAYERNORM_CASES)
def test_an_imported_layernorm_decoder_config_is_the_real_model(tmp_path, name):
    """Every weight stirred off its initial value (a LayerNorm's β and the projections' biases start at zero,
    which would hide one read in the wrong place); logits equal to 1e-5 on 13 tokens, and the MACs."""
    config, real_class = LAYERNORM_CASES[name]
    spec = imported(tmp_path, config)
    torch.manual_seed(0)
    check_against(str(spec), stirred(real_class(config)), dict(T=13), vocab=config.vocab_size)


def test_base_imports_the_body_alone_whatever_the_head(tmp_path):
    config, _ = CASES["llama-gqa"]
    spec = imported(tmp_path, config, "--base")
    torch.manual_seed(0)
    check_against(str(spec), transformers.LlamaModel(config), dict(T=9), vocab=config.vocab_size)


#: the keys every Pythia config.json shares (the hub's: rotary_pct and rotary_emb_base at the top level)
PYTHIA = dict(vocab_size=50304, max_position_embeddings=2048, rotary_pct=0.25, rotary_emb_base=10000,
              use_parallel_residual=True, tie_word_embeddings=False, hidden_act="gelu", layer_norm_eps=1e-5,
              bos_token_id=0, eos_token_id=0)

#: the keys every facebook/opt-* config.json shares
OPT_HUB = dict(vocab_size=50272, max_position_embeddings=2048, activation_function="relu", dropout=0.1,
               attention_dropout=0.0, activation_dropout=0.0, layerdrop=0.0, _remove_final_layer_norm=False,
               prefix="</s>", pad_token_id=1, bos_token_id=2, eos_token_id=2)

#: FacebookAI/roberta-base's config.json's sizes (514 rows of positions: 512 tokens after the padding row)
ROBERTA_BASE = dict(vocab_size=50265, max_position_embeddings=514, type_vocab_size=1, layer_norm_eps=1e-5,
                    pad_token_id=1, bos_token_id=0, eos_token_id=2)
#: the large models' layers
LARGE = dict(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16, intermediate_size=4096)


def full_size(config, real_class) -> int:
    with torch.device("meta"):
        return unique_parameters(real_class(config))


@pytest.mark.parametrize(
    ("kind", "sizes", "real_class", "expected"),
    [
        ("gpt2", {}, transformers.GPT2LMHeadModel, 124_439_808),
        ("bert", {}, transformers.BertModel, 109_482_240),
        ("roberta", ROBERTA_BASE, transformers.RobertaModel, 124_645_632),  # FacebookAI/roberta-base, with the pooler
        ("roberta", dict(ROBERTA_BASE, **LARGE), transformers.RobertaModel, 355_359_744),  # roberta-large
        ("xlm-roberta", dict(ROBERTA_BASE, vocab_size=250002), transformers.XLMRobertaModel, 278_043_648),
        ("xlm-roberta", dict(ROBERTA_BASE, vocab_size=250002, **LARGE), transformers.XLMRobertaModel, 559_890_432),
        ("camembert", dict(ROBERTA_BASE, vocab_size=32005), transformers.CamembertModel, 110_621_952),
        ("distilbert", {}, transformers.DistilBertModel, 66_362_880),  # distilbert-base-uncased
        ("distilbert", dict(vocab_size=119547), transformers.DistilBertModel, 134_734_080),  # …-multilingual-cased
        ("electra", {}, transformers.ElectraModel, 13_483_008),  # google/electra-small-discriminator
        ("electra", dict(embedding_size=768, hidden_size=768, num_attention_heads=12, intermediate_size=3072),
         transformers.ElectraModel, 108_891_648),  # google/electra-base-discriminator
        ("electra", dict(embedding_size=1024, **LARGE), transformers.ElectraModel, 334_092_288),  # …-large-…
        ("vit", {}, transformers.ViTModel, 86_389_248),  # google/vit-base-patch16-224's ViTModel, with the pooler
        ("vit", dict(LARGE, image_size=384, patch_size=32), transformers.ViTModel, 306_657_280),  # …-large-patch32-384
        (
            "llama",
            LLAMA_3_8B,
            transformers.LlamaForCausalLM,
            8_030_261_248,
        ),
        ("mistral", {}, transformers.MistralForCausalLM, 7_241_732_096),
        (
            "qwen2",
            dict(
                vocab_size=151936,
                hidden_size=896,
                intermediate_size=4864,
                num_hidden_layers=24,
                num_attention_heads=14,
                num_key_value_heads=2,
                max_position_embeddings=32768,
                tie_word_embeddings=True,
                rope_theta=1000000.0,
            ),
            transformers.Qwen2ForCausalLM,
            494_032_768,
        ),
        (  # Qwen3-0.6B's config.json: 16 heads of 128 on a hidden size of 1024, tied embedding
            "qwen3",
            dict(vocab_size=151936, hidden_size=1024, intermediate_size=3072, num_hidden_layers=28,
                 num_attention_heads=16, num_key_value_heads=8, head_dim=128, max_position_embeddings=40960,
                 tie_word_embeddings=True, rope_theta=1000000.0),
            transformers.Qwen3ForCausalLM,
            596_049_920,
        ),
        (  # OLMo-2-1124-7B's config.json
            "olmo2",
            dict(vocab_size=100352, hidden_size=4096, intermediate_size=11008, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096, rms_norm_eps=1e-6,
                 pad_token_id=100277, rope_theta=500000.0),
            transformers.Olmo2ForCausalLM,
            7_298_617_344,
        ),
        (  # Phi-3-mini-4k-instruct's config.json (its 2047-token window warns)
            "phi3",
            dict(vocab_size=32064, hidden_size=3072, intermediate_size=8192, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096, sliding_window=2047,
                 pad_token_id=32000, bos_token_id=1, eos_token_id=32000),
            transformers.Phi3ForCausalLM,
            3_821_079_552,
        ),
        (  # Phi-4's config.json: model_type phi3, 10 key/value heads
            "phi3",
            dict(vocab_size=100352, hidden_size=5120, intermediate_size=17920, num_hidden_layers=40,
                 num_attention_heads=40, num_key_value_heads=10, max_position_embeddings=16384, rope_theta=250000.0,
                 pad_token_id=100349, bos_token_id=100257, eos_token_id=100265),
            transformers.Phi3ForCausalLM,
            14_659_507_200,
        ),
        # Mixtral-8x7B's config.json is MixtralConfig's defaults: 8 experts of 14336, 2 per token, rope_theta 1e6
        ("mixtral", {}, transformers.MixtralForCausalLM, 46_702_792_704),
        (  # Qwen3-30B-A3B's config.json: 128 experts of 768, 8 per token
            "qwen3_moe",
            dict(vocab_size=151936, hidden_size=2048, intermediate_size=6144, moe_intermediate_size=768,
                 num_hidden_layers=48, num_attention_heads=32, num_key_value_heads=4, head_dim=128, num_experts=128,
                 num_experts_per_tok=8, norm_topk_prob=True, max_position_embeddings=40960, rope_theta=1000000.0),
            transformers.Qwen3MoeForCausalLM,
            30_532_122_624,
        ),
        (  # Qwen1.5-MoE-A2.7B's config.json: 60 experts of 1408, 4 per token, a shared expert of 5632
            "qwen2_moe",
            dict(vocab_size=151936, hidden_size=2048, intermediate_size=5632, moe_intermediate_size=1408,
                 shared_expert_intermediate_size=5632, num_hidden_layers=24, num_attention_heads=16,
                 num_key_value_heads=16, num_experts=60, num_experts_per_tok=4, max_position_embeddings=8192,
                 rope_theta=1000000.0),
            transformers.Qwen2MoeForCausalLM,
            14_315_784_192,
        ),
        (  # OLMoE-1B-7B-0924's config.json: 64 experts of 1024, 8 per token
            "olmoe",
            dict(vocab_size=50304, hidden_size=2048, intermediate_size=1024, num_hidden_layers=16,
                 num_attention_heads=16, num_key_value_heads=16, num_experts=64, num_experts_per_tok=8,
                 max_position_embeddings=4096, pad_token_id=1),
            transformers.OlmoeForCausalLM,
            6_919_161_856,
        ),
        (  # gemma-2b's config.json: multi-query attention, 256-wide heads, the head tied
            "gemma",
            dict(vocab_size=256000, hidden_size=2048, intermediate_size=16384, num_hidden_layers=18,
                 num_attention_heads=8, num_key_value_heads=1, head_dim=256, max_position_embeddings=8192,
                 hidden_act="gelu", pad_token_id=0, bos_token_id=2, eos_token_id=1),
            transformers.GemmaForCausalLM,
            2_506_172_416,
        ),
        (  # gemma-7b's config.json: 16 heads of 256 on a hidden size of 3072
            "gemma",
            dict(vocab_size=256000, hidden_size=3072, intermediate_size=24576, num_hidden_layers=28,
                 num_attention_heads=16, num_key_value_heads=16, head_dim=256, max_position_embeddings=8192,
                 hidden_act="gelu", pad_token_id=0, bos_token_id=2, eos_token_id=1),
            transformers.GemmaForCausalLM,
            8_537_680_896,
        ),
        (  # gemma-2-9b's config.json: 42 layers alternating a 4096-token window and global attention
            "gemma2",
            dict(vocab_size=256000, hidden_size=3584, intermediate_size=14336, num_hidden_layers=42,
                 num_attention_heads=16, num_key_value_heads=8, head_dim=256, max_position_embeddings=8192,
                 query_pre_attn_scalar=256, sliding_window=4096, attn_logit_softcapping=50.0,
                 final_logit_softcapping=30.0, pad_token_id=0, bos_token_id=2, eos_token_id=1),
            transformers.Gemma2ForCausalLM,
            9_241_705_984,
        ),
        (  # gemma-2-27b's config.json: 128-wide heads, scores scaled by 144^-1/2 (hidden_size / heads)
            "gemma2",
            dict(vocab_size=256000, hidden_size=4608, intermediate_size=36864, num_hidden_layers=46,
                 num_attention_heads=32, num_key_value_heads=16, head_dim=128, max_position_embeddings=8192,
                 query_pre_attn_scalar=144, sliding_window=4096, pad_token_id=0, bos_token_id=2, eos_token_id=1),
            transformers.Gemma2ForCausalLM,
            27_227_128_320,
        ),
        (  # gemma-3-1b-it's config.json (model_type gemma3_text): 5 local layers of a 512-token window to 1 global
            "gemma3_text",
            dict(vocab_size=262144, hidden_size=1152, intermediate_size=6912, num_hidden_layers=26,
                 num_attention_heads=4, num_key_value_heads=1, head_dim=256, max_position_embeddings=32768,
                 query_pre_attn_scalar=256, sliding_window=512, sliding_window_pattern=6, rope_theta=1000000.0,
                 rope_local_base_freq=10000.0, final_logit_softcapping=None, attn_logit_softcapping=None,
                 pad_token_id=0, bos_token_id=2, eos_token_id=1),
            transformers.Gemma3ForCausalLM,
            999_885_952,
        ),
        (  # gemma-3-4b-it's text_config: a 1024-token window, the global layers' rope scaled linearly by 8
            "gemma3_text",
            dict(vocab_size=262208, hidden_size=2560, intermediate_size=10240, num_hidden_layers=34,
                 num_attention_heads=8, num_key_value_heads=4, head_dim=256, max_position_embeddings=131072,
                 query_pre_attn_scalar=256, sliding_window=1024, rope_scaling={"factor": 8.0, "rope_type": "linear"},
                 rope_theta=1000000.0, rope_local_base_freq=10000.0, pad_token_id=0, bos_token_id=2, eos_token_id=1),
            transformers.Gemma3ForCausalLM,
            3_880_263_168,
        ),
        (  # EleutherAI/pythia-70m's config.json (the hub's keys: rotary_pct, rotary_emb_base)
            "gpt_neox",
            dict(PYTHIA, hidden_size=512, intermediate_size=2048, num_hidden_layers=6, num_attention_heads=8),
            transformers.GPTNeoXForCausalLM,
            70_426_624,
        ),
        (  # EleutherAI/pythia-1.4b's config.json
            "gpt_neox",
            dict(PYTHIA, hidden_size=2048, intermediate_size=8192, num_hidden_layers=24, num_attention_heads=16),
            transformers.GPTNeoXForCausalLM,
            1_414_647_808,
        ),
        # GPTNeoXConfig's defaults are GPT-NeoX-20B's
        ("gpt_neox", {}, transformers.GPTNeoXForCausalLM, 20_554_567_680),
        (  # microsoft/phi-2's config.json: 0.4 of each 80-wide head rotated
            "phi",
            dict(vocab_size=51200, hidden_size=2560, intermediate_size=10240, num_hidden_layers=32,
                 num_attention_heads=32, num_key_value_heads=32, partial_rotary_factor=0.4, resid_pdrop=0.1,
                 max_position_embeddings=2048, rope_theta=10000.0, hidden_act="gelu_new", layer_norm_eps=1e-5,
                 tie_word_embeddings=False, qk_layernorm=False, bos_token_id=50256, eos_token_id=50256),
            transformers.PhiForCausalLM,
            2_779_683_840,
        ),
        (  # bigcode/starcoder2-3b's config.json: 2 key/value heads, a 4096-token window, biases, the head tied
            "starcoder2",
            dict(vocab_size=49152, hidden_size=3072, intermediate_size=12288, num_hidden_layers=30,
                 num_attention_heads=24, num_key_value_heads=2, max_position_embeddings=16384, sliding_window=4096,
                 rope_theta=999999.4420358813, norm_epsilon=1e-5, use_bias=True, attention_dropout=0.1,
                 residual_dropout=0.1, embedding_dropout=0.1, bos_token_id=0, eos_token_id=0),
            transformers.Starcoder2ForCausalLM,
            3_030_371_328,
        ),
        (  # stabilityai/stablelm-2-1_6b's config.json: q, k and v biased, a quarter of each head rotated
            "stablelm",
            dict(vocab_size=100352, hidden_size=2048, intermediate_size=5632, num_hidden_layers=24,
                 num_attention_heads=32, num_key_value_heads=32, max_position_embeddings=4096, use_qkv_bias=True,
                 partial_rotary_factor=0.25, rope_theta=10000.0, layer_norm_eps=1e-5, tie_word_embeddings=False,
                 bos_token_id=100257, eos_token_id=100257),
            transformers.StableLmForCausalLM,
            1_644_515_328,
        ),
        (  # facebook/opt-125m's config.json (with the keys transformers 5 no longer reads: activation_dropout,
            # prefix)
            "opt",
            dict(OPT_HUB, hidden_size=768, ffn_dim=3072, num_hidden_layers=12, num_attention_heads=12,
                 word_embed_proj_dim=768, do_layer_norm_before=True),
            transformers.OPTForCausalLM,
            125_239_296,
        ),
        (  # facebook/opt-350m's: post-norm, tokens embedded 512 wide and projected to 1024 and back
            "opt",
            dict(OPT_HUB, hidden_size=1024, ffn_dim=4096, num_hidden_layers=24, num_attention_heads=16,
                 word_embed_proj_dim=512, do_layer_norm_before=False),
            transformers.OPTForCausalLM,
            331_196_416,
        ),
        (  # facebook/opt-6.7b's
            "opt",
            dict(OPT_HUB, hidden_size=4096, ffn_dim=16384, num_hidden_layers=32, num_attention_heads=32,
                 word_embed_proj_dim=4096, do_layer_norm_before=True),
            transformers.OPTForCausalLM,
            6_658_473_984,
        ),
        (  # EleutherAI/gpt-j-6b's config.json: 64 of each 256-wide head rotated, lm_head biased and untied; its
            # rotary and scale_attn_weights, which GPT-J's code never reads
            "gptj",
            dict(vocab_size=50400, n_embd=4096, n_head=16, n_layer=28, n_positions=2048, rotary_dim=64, n_inner=None,
                 activation_function="gelu_new", layer_norm_epsilon=1e-5, resid_pdrop=0.0, embd_pdrop=0.0,
                 attn_pdrop=0.0, rotary=True, scale_attn_weights=True, tie_word_embeddings=False,
                 bos_token_id=50256, eos_token_id=50256),
            transformers.GPTJForCausalLM,
            6_050_882_784,
        ),
        (  # bigcode/gpt_bigcode-santacoder's config.json: one key/value head, the head tied
            "gpt_bigcode",
            dict(vocab_size=49280, n_embd=2048, n_head=16, n_layer=24, n_positions=2048, n_inner=8192,
                 multi_query=True, activation_function="gelu_pytorch_tanh", layer_norm_epsilon=1e-5,
                 scale_attn_weights=True, attention_softmax_in_fp32=True, scale_attention_softmax_in_fp32=True,
                 bos_token_id=49152, eos_token_id=49152),
            transformers.GPTBigCodeForCausalLM,
            1_124_886_528,
        ),
        (  # bigcode/starcoder's config.json (StarCoder 1, 15.5B)
            "gpt_bigcode",
            dict(vocab_size=49152, n_embd=6144, n_head=48, n_layer=40, n_positions=8192, n_inner=24576,
                 multi_query=True, activation_function="gelu_pytorch_tanh", layer_norm_epsilon=1e-5,
                 scale_attn_weights=True, attention_softmax_in_fp32=True, scale_attention_softmax_in_fp32=True,
                 bos_token_id=0, eos_token_id=0),
            transformers.GPTBigCodeForCausalLM,
            15_517_456_384,
        ),
    ],
)
def test_full_size_configs_count_as_the_real_model(tmp_path, kind, sizes, real_class, expected):
    """The published sizes (Qwen2-0.5B: 494,032,768 with its tied embedding), counted without building."""
    config = small(kind, **sizes)
    model = archcalc.load(str(imported(tmp_path, config)))
    assert model.trainable_params == full_size(config, real_class) == expected


def test_the_imported_llama_3_8b_is_the_shipped_spec(tmp_path):
    from tests.conftest import SPECS

    config = small(
        "llama",
        **LLAMA_3_8B,
    )
    ours, shipped = archcalc.load(str(imported(tmp_path, config))), archcalc.load(str(SPECS / "llama-3-8b.yaml"))
    assert ours.trainable_params == shipped.trainable_params
    assert [(n.path, n.out_shape) for n in ours.graph.layers()] == [
        (n.path, n.out_shape) for n in shipped.graph.layers()
    ]


def test_imported_specs_lint_without_errors(tmp_path):
    cases = {**{name: config for name, (config, _) in CASES.items()},
             **{name: config for name, (config, _, _) in VIT_CASES.items()},
             **{name: config for name, (config, _) in {**LAYERNORM_CASES, **GRANITE_COHERE_CASES}.items()}}
    for name in ("gpt2", "bert", "llama-gqa", "qwen2", "qwen3", "olmo2", "phi3", "mixtral", "qwen3-moe", "olmoe",
                 "qwen2-moe", "roberta", "electra", "distilbert", "vit", "vit-classifier", *LAYERNORM_CASES,
                 *GRANITE_COHERE_CASES):
        spec = imported(tmp_path / name, cases[name])
        result = CliRunner().invoke(main, ["lint", str(spec), "--format", "json"])
        findings = json.loads(result.output)
        assert not [f for f in findings if f["code"].startswith("E")], findings


def test_import_needs_neither_torch_nor_transformers(tmp_path):
    CASES["llama-gqa"][0].save_pretrained(tmp_path)
    code = (
        "import sys; from archcalc.cli import main\n"
        "try: main(['import', sys.argv[1]], standalone_mode=False)\n"
        "finally: print(sorted(m for m in ('torch', 'transformers', 'sympy') if m in sys.modules), "
        "file=sys.stderr)"
    )
    proc = subprocess.run([sys.executable, "-c", code, str(tmp_path / "config.json")], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.strip().splitlines()[-1] == "[]"
    assert "name: llama" in proc.stdout


# -- what cannot be imported: located, exit 2, nothing written ----------------------------------------


def refused(tmp_path: Path, text: str, *extra: str) -> str:
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out), *extra])
    assert result.exit_code == 2, result.output
    assert not out.exists()
    return result.output


LLAMA = {
    "model_type": "llama",
    "architectures": ["LlamaForCausalLM"],
    "hidden_size": 64,
    "intermediate_size": 96,
    "num_attention_heads": 4,
    "num_key_value_heads": 2,
    "num_hidden_layers": 2,
    "vocab_size": 100,
}


#: a Phi-3 config's keys for config_text
PHI3 = dict(model_type="phi3", architectures=["Phi3ForCausalLM"], pad_token_id=0)


def config_text(**changes) -> str:
    return json.dumps({**LLAMA, **changes}, indent=2)


@pytest.mark.parametrize(
    ("changes", "key", "message"),
    [
        (dict(model_type="falcon"), "model_type", "archcalc cannot express model type 'falcon'"),
        (dict(model_type="lama"), "model_type", "did you mean 'llama'?"),
        (dict(rope_scaling={"rope_type": "llama3", "factor": 8.0}), "rope_scaling",
         "'rope_scaling': rope type llama3 needs 'low_freq_factor'"),
        (dict(rope_scaling={"rope_type": "dynamic", "factor": 2.0}), "rope_type",
         "'rope_scaling': archcalc's rotary embedding cannot compute rope type 'dynamic'"),
        (dict(num_key_value_heads=3), "num_key_value_heads", "num_key_value_heads 3 does not divide"),
        (dict(num_attention_heads=6), "num_attention_heads", "num_attention_heads 6 does not divide hidden_size 64"),
        (dict(hidden_size=-4), "hidden_size", "'hidden_size' must be a whole number ≥ 1, got -4"),
        (dict(hidden_size="64"), "hidden_size", "must be a whole number"),
        (dict(hidden_act="quick_gelu"), "hidden_act", "archcalc cannot express activation 'quick_gelu'"),
        (dict(architectures=["LlamaForSequenceClassification"]), "LlamaForSequenceClassification", "pass --base"),
        (dict(pretraining_tp=2), "pretraining_tp", "tensor parallelism"),
        (dict(pad_token_id=100), "pad_token_id", "is not a token id below vocab_size 100"),
    ],
)
def test_a_config_archcalc_cannot_express_is_a_located_error(tmp_path, changes, key, message):
    text = config_text(**changes)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if f'"{key}"' in row)
    output = refused(tmp_path, text)
    assert f"config.json:{line}:" in output
    assert message in output


def test_head_dim_odd_under_rotary_is_located_at_the_config(tmp_path):
    output = refused(tmp_path, config_text(head_dim=15, num_attention_heads=4))
    assert "config.json:1:1: error: these sizes do not make a llama model" in output


@pytest.mark.parametrize("text", ["[1, 2]", "{", "", '{"architectures": ["LlamaModel"]}'])
def test_not_a_config_is_a_located_error(tmp_path, text):
    output = refused(tmp_path, text)
    assert "config.json:" in output and "error:" in output and "Traceback" not in output


@pytest.mark.parametrize(("text", "message"), [
    ('{"model_type": "llama", "hidden_size": 64,}',
     "config.json:1:43: error: invalid JSON: Expecting property name enclosed in double quotes"),
    ("{'model_type': 'llama'}", "config.json:1:2: error: invalid JSON: Expecting property name enclosed in double"),
    ('// saved by hand\n{"model_type": "llama"}', "config.json:1:1: error: invalid JSON: Expecting value"),
    ("", "config.json:1:1: error: the file is empty: a config.json holds one JSON object"),
    ('{"hidden_size": 64}', "config.json:1:1: error: the config has no model_type, which names the family"),
])
def test_a_config_that_json_or_transformers_would_refuse_is_refused(tmp_path, text, message):
    """Read as YAML (for the locations), a trailing comma, single quotes or a comment used to import; the
    file is JSON, which json.load and transformers refuse there."""
    assert message in refused(tmp_path, text)


@pytest.mark.parametrize("family", ["llama", "mistral", "qwen2", "qwen3", "olmo2", "phi3", "mixtral", "qwen3_moe",
                                    "olmoe", "qwen2_moe", "granite", "granitemoe"])
def test_a_key_the_config_leaves_out_takes_its_familys_default(tmp_path, family):
    """A hand-written or trimmed config.json is read as transformers reads it: Mistral's 14336-wide MLP,
    8 key/value heads and 4096-token window, Qwen2's 151936-token vocabulary and 32 key/value heads, Qwen3's
    128-wide heads whatever the hidden size, OLMo 2's eps 1e-5 and padding row 1."""
    from archcalc.importers.hf_config import DEFAULTS

    config = transformers.AutoConfig.for_model(family)
    defaults = DEFAULTS[family]
    assert (defaults.T, defaults.V, defaults.F, defaults.sliding_window) == (
        config.max_position_embeddings, config.vocab_size,
        config.moe_intermediate_size if family.endswith("_moe") else config.intermediate_size,  # the experts' width
        getattr(config, "sliding_window", None) if family not in ("qwen2", "qwen2_moe") else None)
    kv = transformers.AutoConfig.for_model(family, num_attention_heads=64).num_key_value_heads
    assert defaults.kv == (None if kv == 64 else kv)  # None: one key/value head per query head, as Llama's
    narrow = transformers.AutoConfig.for_model(family, hidden_size=1024)  # head_dim None: hidden / heads
    # Mixtral's config holds head_dim None, which its attention reads as hidden / heads
    per_head = getattr(narrow, "head_dim", None) or 1024 // narrow.num_attention_heads
    assert (defaults.head_dim or 1024 // narrow.num_attention_heads) == per_head
    assert (defaults.eps, defaults.pad) == (config.rms_norm_eps, config.pad_token_id)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": family}), encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with torch.device("meta"):
        real = transformers.AutoModel.from_config(config)
    assert archcalc.load(out).total_params == sum(p.numel() for p in real.parameters())
    assert "sliding_window" not in result.output  # Mistral's window is written: window: 4096
    assert ("window: 4096" in out.read_text(encoding="utf-8")) == (family == "mistral")


@pytest.mark.parametrize("family", ["bert", "roberta", "xlm-roberta", "camembert", "electra", "distilbert", "vit"])
def test_a_key_an_encoder_config_leaves_out_takes_its_familys_default(tmp_path, family):
    """A config.json of its model_type alone counts what transformers builds from its config class's defaults:
    XLM-RoBERTa's and CamemBERT's 30522-token vocabulary (not RoBERTa's 50265), ELECTRA's 128-wide embeddings
    projected to 256, RoBERTa's padding row 1 (512 rows then serve 510 tokens), BERT's and ELECTRA's row 0."""
    from archcalc.importers.hf_config import ENCODERS

    config = transformers.AutoConfig.for_model(family)
    if family in ENCODERS:
        e = ENCODERS[family]
        assert (e.V, e.pad, e.D, e.F, e.heads, e.embedding_size) == (
            config.vocab_size, config.pad_token_id, config.hidden_size, config.intermediate_size,
            config.num_attention_heads, getattr(config, "embedding_size", None))
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": family}), encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out), "--base"])
    assert result.exit_code == 0, result.output
    with torch.device("meta"):
        real = transformers.AutoModel.from_config(config)
    assert archcalc.load(out).total_params == sum(p.numel() for p in real.parameters())
    text = out.read_text(encoding="utf-8")
    pad = getattr(config, "pad_token_id", None)
    assert (f"padding_idx: {pad}, name: word_embeddings" in text) == (family != "vit")
    if family in ("roberta", "xlm-roberta", "camembert"):
        assert "symbols: {T: 510," in text and "padding_idx: 1, name: position_embeddings" in text


def test_a_vit_classifier_as_the_hub_saves_it_counts_the_real_model(tmp_path):
    """google/vit-base-patch16-224's config: ViTForImageClassification, 1000 classes named in id2label, no pooler
    (86,567,656 parameters, torchvision's vit_b_16's too); its base model, --base, has the pooler (86,389,248)."""
    config = small("vit", id2label={str(i): f"class {i}" for i in range(1000)})
    config.architectures = ["ViTForImageClassification"]
    with torch.device("meta"):
        head, body = transformers.ViTForImageClassification(config), transformers.ViTModel(config)
    assert archcalc.load(imported(tmp_path, config)).trainable_params == unique_parameters(head) == 86_567_656
    base = imported(tmp_path / "base", config, "--base")
    assert archcalc.load(base).trainable_params == unique_parameters(body) == 86_389_248


def test_a_vit_spec_at_another_image_size_is_the_model_of_that_size(tmp_path):
    """The image's sizes are symbols and the position table a formula of them: --set H=48,W=64 counts and shapes
    what ViTConfig(image_size=[48, 64]) builds (6 × 8 patches of 8, and the class token)."""
    config, _, _ = VIT_CASES["vit"]
    model = archcalc.load(str(imported(tmp_path, config)), H=48, W=64)
    other = transformers.ViTConfig(**{**config.to_dict(), "image_size": [48, 64]})
    with torch.device("meta"):
        real = transformers.ViTModel(other)
    assert model.trainable_params == unique_parameters(real)
    assert next(n for n in model.graph.layers() if n.kind == "pos_embedding").out_shape == (6 * 8 + 1, 48)


def test_distilbert_sinusoidal_positions_are_a_table_all_the_same(tmp_path):
    """sinusoidal_pos_embds fills the position table with sines and cosines at the start; it stays a parameter
    (counted and stored), so the model's weights give its outputs: a warning at the key, not a refusal."""
    config = small("distilbert", vocab_size=101, dim=48, n_heads=6, n_layers=2, hidden_dim=80,
                   max_position_embeddings=24, sinusoidal_pos_embds=True)
    config.save_pretrained(tmp_path)
    text = (tmp_path / "config.json").read_text(encoding="utf-8")
    line = next(i for i, row in enumerate(text.splitlines(), 1) if '"sinusoidal_pos_embds"' in row)
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert f"config.json:{line}:27: warning: sinusoidal_pos_embds: transformers starts the position table at " \
           "sines and cosines, a parameter all the same" in result.output
    torch.manual_seed(0)
    real = transformers.DistilBertModel(config)
    assert real.embeddings.position_embeddings.weight[1, 0].item() == pytest.approx(0.8414709848)  # sin(1)
    check_against(str(out), real, dict(T=13), vocab=config.vocab_size)


#: a RoBERTa config's keys for the refusals
ROBERTA = dict(model_type="roberta", architectures=["RobertaModel"], hidden_size=64, num_attention_heads=4,
               intermediate_size=96, num_hidden_layers=2, vocab_size=100, max_position_embeddings=34, pad_token_id=1)


@pytest.mark.parametrize(("changes", "key", "message"), [
    (dict(position_embedding_type="relative_key"), "position_embedding_type",
     "'position_embedding_type': archcalc cannot express position embedding 'relative_key'"),
    (dict(is_decoder=True), "is_decoder", "'is_decoder': roberta as a decoder (a causal mask, cross-attention)"),
    (dict(pad_token_id=None), "pad_token_id", "roberta counts its positions after the padding row, pad_token_id, "
     "which is null"),
    (dict(max_position_embeddings=2), "max_position_embeddings", "max_position_embeddings 2 leaves no position "
     "after the padding row 1: the positions are rows 2 onwards"),
    (dict(architectures=["RobertaForMaskedLM"]), "RobertaForMaskedLM", "archcalc imports RobertaModel, not "
     "RobertaForMaskedLM"),
    (dict(model_type="xlm-roberta", architectures=["XLMRobertaForMaskedLM"]), "XLMRobertaForMaskedLM",
     "archcalc imports XLMRobertaModel, not XLMRobertaForMaskedLM"),
    (dict(model_type="electra", architectures=["ElectraModel"], num_attention_heads=5), "num_attention_heads",
     "num_attention_heads 5 does not divide hidden_size 64"),
    (dict(model_type="electra", architectures=["ElectraModel"], position_embedding_type="relative_key_query"),
     "position_embedding_type", "archcalc cannot express position embedding 'relative_key_query'"),
    (dict(model_type="distilbert", architectures=["DistilBertModel"], dim=64, hidden_size=32), "hidden_size",
     "'hidden_size' is 32 but 'dim' is 64: two names for the width disagree"),
    (dict(model_type="distilbert", architectures=["DistilBertModel"], n_heads=5, num_attention_heads=None),
     "n_heads", "n_heads 5 does not divide the width 64"),
    (dict(model_type="distilbert", architectures=["DistilBertModel"], n_heads=8), "num_attention_heads",
     "'num_attention_heads' is 4 but 'n_heads' is 8: two names for the heads disagree"),
    (dict(model_type="distilbert", architectures=["DistilBertModel"], activation="quick_gelu"), "activation",
     "archcalc cannot express activation 'quick_gelu'"),
    (dict(model_type="vit", architectures=["ViTModel"], patch_size=300), "patch_size",
     "patch_size 300×300 is larger than image_size 224×224"),
    (dict(model_type="vit", architectures=["ViTModel"], image_size=[224]), "image_size",
     "'image_size' must be a whole number ≥ 1 or two of them, [height, width], got a list"),
    (dict(model_type="vit", architectures=["ViTModel"], num_attention_heads=100), "num_attention_heads",
     "num_attention_heads 100 is more than hidden_size 64: each head would get 0 dimensions"),
    (dict(model_type="vit", architectures=["ViTForImageClassification"], num_labels=3, id2label={"0": "a", "1": "b"}),
     "num_labels", "num_labels 3 but id2label names 2 classes"),
    (dict(model_type="vit", architectures=["ViTModel"], pooler_act="quick_gelu"), "pooler_act",
     "archcalc cannot express activation 'quick_gelu'"),
])
def test_an_encoder_config_archcalc_cannot_express_is_a_located_error(tmp_path, changes, key, message):
    text = json.dumps({k: v for k, v in {**ROBERTA, **changes}.items() if v is not None or k == "pad_token_id"},
                      indent=2)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if f'"{key}"' in row)
    output = refused(tmp_path, text)
    assert f"config.json:{line}:" in output and message in output, output


@pytest.mark.parametrize("family", ["gemma", "gemma2", "gemma3_text"])
def test_a_key_a_gemma_config_leaves_out_takes_its_generations_default(tmp_path, family):
    """GemmaConfig's defaults are gemma-7b's (16 key/value heads whatever the heads), Gemma 2's and 3's
    gemma-2-2b's (8 heads, 4 key/value heads, 26 layers), every generation's heads 256 wide."""
    from archcalc.importers.hf_config import DEFAULTS, GEMMA_HIDDEN

    config = transformers.AutoConfig.for_model(family)
    defaults = DEFAULTS[family]
    assert (defaults.T, defaults.V, defaults.F, GEMMA_HIDDEN[family], defaults.heads, defaults.depth) == (
        config.max_position_embeddings, config.vocab_size, config.intermediate_size, config.hidden_size,
        config.num_attention_heads, config.num_hidden_layers)
    assert (defaults.kv, defaults.head_dim, defaults.eps, defaults.pad) == (
        config.num_key_value_heads, config.head_dim, config.rms_norm_eps, config.pad_token_id)
    assert defaults.sliding_window == getattr(config, "sliding_window", None)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": family}), encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with torch.device("meta"):
        real = transformers.AutoModel.from_config(config)
    assert archcalc.load(out).total_params == sum(p.numel() for p in real.parameters())
    findings = json.loads(CliRunner().invoke(main, ["lint", str(out), "--format", "json"]).output)
    assert not [f for f in findings if f["code"].startswith("E")], findings


@pytest.mark.parametrize("family", ["mistral", "qwen2"])
def test_mlp_bias_is_llamas_alone(tmp_path, family):
    """Mistral's and Qwen2's MLPs have no bias whatever mlp_bias says (their modeling files hard-code it)."""
    config = small(family, **DECODER, num_key_value_heads=2)
    config.mlp_bias = True
    check_against(str(imported(tmp_path, config)), transformers.AutoModelForCausalLM.from_config(config), dict(T=9),
                  vocab=config.vocab_size)


@pytest.mark.parametrize(("changes", "message"), [
    (dict(rope_parameters={"rope_type": "default", "rope_theta": 10000.0, "partial_rotary_factor": 0.5}),
     "'partial_rotary_factor': rotary embedding on part of each head"),
    (dict(hidden_size=48, num_attention_heads=5, num_key_value_heads=5, head_dim=8),
     "num_attention_heads 5 does not divide hidden_size 48"),  # LlamaConfig refuses it too
    (dict(head_dim=0), "'head_dim' must be a whole number ≥ 1, got 0"),
    # transformers reads the older "type" key as rope_type: Phi-3's "su" is its longrope scaling
    (dict(PHI3, rope_parameters={"type": "su", "rope_theta": 10000.0}), "'su'"),
    # 0.625 of a head of 8 rotates 5 dimensions (Phi3RotaryEmbedding's int(head_dim · factor)): not pairs
    (dict(PHI3, num_attention_heads=8, num_key_value_heads=8, partial_rotary_factor=0.625),
     "partial_rotary_factor 0.625 of a head of 8 rotates 5 dimensions"),
    (dict(model_type="phi3", architectures=["Phi3ForCausalLM"], vocab_size=101), "pad_token_id 32000 (the family "
     "default) is not a token id below vocab_size 101"),
])
def test_configs_transformers_refuses_or_cannot_build_are_refused(tmp_path, changes, message):
    assert message in refused(tmp_path, config_text(**changes))


def test_a_null_config_and_a_qwen2_window_no_layer_uses(tmp_path):
    assert "a config.json holds one JSON object, got null" in refused(tmp_path, "null")
    config = small("qwen2", **DECODER, num_key_value_heads=2, use_sliding_window=True, sliding_window=8,
                   max_window_layers=2)  # both layers below max_window_layers: full attention
    config.save_pretrained(tmp_path)
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(tmp_path / "s.yaml")])
    assert result.exit_code == 0 and "sliding_window" not in result.output


def test_a_mistral_config_without_a_window_imports_without_the_window_warning(tmp_path):
    """MistralConfig(sliding_window=None) saves "sliding_window": null: no window, not the class default."""
    config = small("mistral", **DECODER, num_key_value_heads=2, sliding_window=None)
    config.save_pretrained(tmp_path)
    assert json.loads((tmp_path / "config.json").read_text())["sliding_window"] is None
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(tmp_path / "s.yaml")])
    assert result.exit_code == 0 and "sliding_window" not in result.output


@pytest.mark.parametrize("family", ["llama", "olmo2"])
def test_a_family_without_a_window_ignores_a_sliding_window_key(tmp_path, family):
    """Llama's and OLMo 2's code reads no sliding_window, so a config that carries one attends to everything, as
    the spec does: no warning that outputs differ."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": family, "sliding_window": 4096, "hidden_size": 64,
                                "num_attention_heads": 4, "num_hidden_layers": 1}), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "s.yaml")])
    assert result.exit_code == 0 and "sliding_window" not in result.output, result.output


@pytest.mark.parametrize(("text", "where", "message"), [
    ('{"model_type": "bert", "hidden_dropout_prob": 2}', "1:47", "'hidden_dropout_prob' must be a probability from "
     "0 to 1, got 2"),
    ('{"model_type": "llama", "pretraining_tp": "x"}', "1:43", "'pretraining_tp' must be a whole number, got 'x'"),
    ('{"model_type": "gpt2", "add_cross_attention": 1}', "1:47", "'add_cross_attention' must be true or false, "
     "got 1"),
])
def test_a_setting_of_the_wrong_kind_is_located_at_its_key(tmp_path, text, where, message):
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path)])
    assert result.exit_code == 2 and f"config.json:{where}: error: {message}" in result.output, result.output


def test_a_config_without_architectures_says_it_is_the_base_model(tmp_path):
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "llama", "hidden_size": 64, "intermediate_size": 128,
                                "num_attention_heads": 4, "num_hidden_layers": 2, "vocab_size": 100}), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "s.yaml")])
    assert result.exit_code == 0
    assert "warning: the config names no architectures: this is the base model, LlamaModel, without " \
           "LlamaForCausalLM's head" in result.output
    assert "lm_head" not in (tmp_path / "s.yaml").read_text(encoding="utf-8")
    quiet = CliRunner().invoke(main, ["import", str(path), "--base", "-o", str(tmp_path / "b.yaml")])
    assert quiet.exit_code == 0 and "warning" not in quiet.output


def test_mixtral_reads_its_own_rope_default_and_routing(tmp_path):
    """MixtralConfig's rope_theta is 1e6 when the config leaves it out (the shared readers' default is 10000);
    the experts and top_k become the symbols E and k, so --set changes them."""
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": "mixtral", "num_local_experts": 16, "num_experts_per_tok": 4}),
                    encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    assert "theta: 1000000.0" in text and "E: 16, k: 4}" in text
    assert "- moe: {experts: E, top_k: k, hidden: f, name: mlp}" in text
    d, f, e = 4096, 14336, 16
    assert archcalc.load(out, E=8, k=2).total_params == archcalc.load(out).total_params - 32 * (e - 8) * (d + 3 * d * f)


@pytest.mark.parametrize(("changes", "where", "message"), [
    (dict(num_local_experts=2, num_experts_per_tok=3), "num_experts_per_tok",
     "error: num_experts_per_tok 3 is more than the 2 experts (num_local_experts)"),
    (dict(num_experts_per_tok=0), "num_experts_per_tok", "error: 'num_experts_per_tok' must be a whole number ≥ 1, "
     "got 0"),
    (dict(router_jitter_noise=0.1), "router_jitter_noise", "warning: router_jitter_noise 0.1 scales the input by "
     "random factors while training only"),
])
def test_mixtral_routing_settings_are_checked_at_their_keys(tmp_path, changes, where, message):
    path = tmp_path / "config.json"
    text = json.dumps({"model_type": "mixtral", **changes})
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    column = text.index(f'"{where}": ') + len(f'"{where}": ') + 1  # at the value
    assert f"config.json:1:{column}: {message}" in result.output, result.output
    assert result.exit_code == (0 if message.startswith("warning") else 2)


@pytest.mark.parametrize(("text", "message"), [
    ('{"model_type": "qwen3_moe", "mlp_only_layers": [0, 5]}', "error: 'mlp_only_layers': layers with a dense MLP "
     "among the sparse ones"),
    ('{"model_type": "qwen2_moe", "mlp_only_layers": "1"}', "error: 'mlp_only_layers' must be a list of layer "
     "indices, got '1'"),
    ('{"model_type": "qwen3_moe", "decoder_sparse_step": 2}', "error: 'decoder_sparse_step': a dense MLP in every "
     "layer but each decoder_sparse_step-th"),
    ('{"model_type": "olmoe", "clip_qkv": 8.0}', "error: 'clip_qkv': q, k and v clamped to a range"),
    ('{"model_type": "qwen3_moe", "num_experts": 4, "num_experts_per_tok": 8}', "error: num_experts_per_tok 8 is "
     "more than the 4 experts (num_experts)"),
])
def test_moe_settings_without_a_spec_form_are_refused(tmp_path, text, message):
    """A layer-dependent MLP (Qwen-MoE's dense layers) or OLMoE's clamped projections, at their keys."""
    assert message in refused(tmp_path, text)


def test_a_gemma3_config_as_the_hub_writes_it_is_the_real_model(tmp_path):
    """The hub's Gemma 3 configs predate rope_parameters: rope_theta (the global layers'), rope_local_base_freq
    (the sliding layers'), rope_scaling (the global layers' alone: gemma-3-4b's linear factor 8) and
    sliding_window_pattern; transformers reads them into rope_parameters per layer type, and so does the import."""
    config = dict(GEMMA, model_type="gemma3_text", architectures=["Gemma3ForCausalLM"], num_hidden_layers=5,
                  num_key_value_heads=2, head_dim=16, query_pre_attn_scalar=16, sliding_window=4,
                  sliding_window_pattern=3, rope_theta=50000.0, rope_local_base_freq=500.0,
                  rope_scaling={"factor": 8.0, "rope_type": "linear"}, final_logit_softcapping=None,
                  attn_logit_softcapping=None, hidden_activation="gelu_pytorch_tanh")
    (tmp_path / "config.json").write_text(json.dumps(config, indent=2), encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert "(i + 1) // 3 * 3 != i + 1" in text and "theta: 500.0" in text and "rotary_factor: 8.0" in text
    real_config = transformers.AutoConfig.from_pretrained(tmp_path)
    real_config._attn_implementation = "eager"
    torch.manual_seed(0)
    check_against(str(out), stirred(transformers.Gemma3ForCausalLM(real_config)), dict(T=13), vocab=101)


#: a Gemma 2 config's keys for the refusals below
GEMMA2 = dict(GEMMA, model_type="gemma2", architectures=["Gemma2ForCausalLM"], num_hidden_layers=4,
              num_key_value_heads=2, head_dim=16)
GEMMA3 = dict(model_type="gemma3_text", architectures=["Gemma3ForCausalLM"])


@pytest.mark.parametrize(("changes", "key", "message"), [
    (dict(use_bidirectional_attention=True), "use_bidirectional_attention",
     "error: 'use_bidirectional_attention': attention to every position (an encoder), not a causal decoder's\n"
     "  hint: the spec language cannot express it; only \"use_bidirectional_attention\": false imports"),
    (dict(layer_types=["full_attention", "sliding_attention"] * 2), "layer_types",
     "error: 'layer_types' is no pattern archcalc writes: every p-th layer 'full_attention', the others "
     "'sliding_attention'\n  hint: the spec chooses each layer's attention by its index; a list without such a "
     "period would need a block per layer"),
    (dict(layer_types=["sliding_attention"] * 3), "layer_types",
     "error: 'layer_types' names 3 layers, but num_hidden_layers is 4\n  hint: one type per layer"),
    (dict(layer_types=["sliding_attention", "chunked_attention", "sliding_attention", "full_attention"]),
     "chunked_attention", "error: 'layer_types': archcalc cannot express layer type 'chunked_attention'\n"
     "  hint: Gemma's layers are 'sliding_attention' or 'full_attention'"),
    (dict(query_pre_attn_scalar=0), "query_pre_attn_scalar",
     "error: 'query_pre_attn_scalar' must be a number > 0, got 0"),
    (dict(attn_logit_softcapping=-1.0), "attn_logit_softcapping",
     "error: 'attn_logit_softcapping' must be a number > 0, got -1.0"),
    (dict(sliding_window=0), "sliding_window", "error: 'sliding_window' must be a whole number ≥ 1, got 0"),
    (dict(hidden_activation="quick_gelu"), "hidden_activation",
     "error: 'hidden_activation': archcalc cannot express activation 'quick_gelu'"),
    (dict(num_attention_heads=5, num_key_value_heads=1), "num_attention_heads",
     "error: num_attention_heads 5 does not divide hidden_size 48\n  hint: every head gets the same number of "
     "dimensions"),
    (dict(GEMMA3, rope_scaling={"rope_type": "yarn", "factor": 4.0}), "yarn",
     "error: 'rope_type': archcalc cannot express rope type 'yarn'"),
    (dict(GEMMA3, rope_parameters={"rope_type": "default", "rope_theta": 10000.0}),
     "rope_parameters", "error: 'rope_parameters': Gemma 3 gives one per layer type ('sliding_attention', "
     "'full_attention')"),
])
def test_a_gemma_config_archcalc_cannot_express_is_a_located_error(tmp_path, changes, key, message):
    text = json.dumps({**GEMMA2, **changes}, indent=2)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if f'"{key}"' in row)
    output = refused(tmp_path, text)
    assert f"config.json:{line}:" in output and message in output, output
    assert "Traceback" not in output


def test_gemma3_attention_softcapping_is_ignored_as_transformers_ignores_it(tmp_path):
    config = small("gemma3_text", num_hidden_layers=2, num_key_value_heads=1, head_dim=16, sliding_window=4,
                   attn_logit_softcapping=4.0, **GEMMA)
    config.save_pretrained(tmp_path)
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(tmp_path / "s.yaml")])
    assert result.exit_code == 0, result.output
    assert "attn_logit_softcapping 4: Gemma 3's attention code never applies it" in result.output
    assert "softcap" not in (tmp_path / "s.yaml").read_text()


@pytest.mark.parametrize("name", ["gemma-mqa-tied", "gemma2-gqa-capped", "gemma3-pattern-linear-rope",
                                  "gpt-neox-parallel", "phi-gqa-tied", "starcoder2", "stablelm-parallel-gqa",
                                  "stablelm-qk-layernorm", "granite", "granitemoe", "cohere", "cohere-qk-norm",
                                  "opt-350m-post-norm-projected", "gptj", "gpt-bigcode"])
def test_an_imported_decoder_runs_as_the_real_model_in_every_backend(tmp_path, name):
    """One config per Gemma generation and per LayerNorm family (GPT-NeoX's head-by-head packing, Phi's shared
    norm, StarCoder2's window, StableLM's parallel residual): the generated torch source (ruff-clean at 88
    columns), onnxruntime and the NumPy model, each with the real model's weights, give its logits to 1e-5
    (float32)."""



    config, real_class = {**GEMMA_CASES, **LAYERNORM_CASES, **GRANITE_COHERE_CASES}[name]
    config._attn_implementation = "eager"
    model = archcalc.load(str(imported(tmp_path, config)), T=13)
    torch.manual_seed(0)
    real = stirred(real_class(config)).eval()
    weights = real.state_dict()
    ids = torch.randint(0, config.vocab_size, (2, 13))
    with torch.no_grad():
        expected = logits(real(ids)).numpy()

    assert_every_backend_gives(model, weights, ids, expected, tmp_path)


def test_a_gemma2_base_model_has_no_head_and_no_logit_cap(tmp_path):
    config, _ = GEMMA_CASES["gemma2-gqa-capped"]
    config._attn_implementation = "eager"
    spec = imported(tmp_path, config, "--base")
    assert "softcap: {cap" not in spec.read_text() and "lm_head" not in spec.read_text()
    torch.manual_seed(0)
    check_against(str(spec), stirred(transformers.Gemma2Model(config)), dict(T=13), vocab=config.vocab_size)


def test_a_multimodal_config_points_at_its_text_config(tmp_path):
    """Gemma 3's (and LLaVA's) config.json holds the language model under text_config: the error says so, and
    names its model_type when archcalc imports it."""
    path = tmp_path / "config.json"
    text = json.dumps({"model_type": "gemma3", "text_config": {"model_type": "gemma3_text"}, "vision_config": {}})
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 2 and not (tmp_path / "spec.yaml").exists()
    assert result.stderr == (
        f"{path}:1:16: error: 'model_type': 'gemma3' is a model of several parts; archcalc imports its language "
        "model, whose config is text_config (model_type gemma3_text)\n  hint: save the text_config object as a "
        "config.json of its own (with its model_type) and import that\n")


@pytest.mark.parametrize(("config", "message"), [
    # a billion Gemma layers: refused at the key at once (the layer types were laid out one by one first)
    ({"model_type": "gemma2", "num_hidden_layers": 1000000000},
     "error: num_hidden_layers 1,000,000,000 exceeds the 100,000-layer limit"),
    # DistilBERT's and GPT-2's own names for it
    ({"model_type": "distilbert", "n_layers": 1000000000}, "error: n_layers 1,000,000,000 exceeds the 100,000-layer "
     "limit"),
    ({"model_type": "gpt2", "n_layer": 1000000000}, "error: n_layer 1,000,000,000 exceeds the 100,000-layer limit"),
    # transformers keeps whichever name comes last: two that disagree are refused
    ({"model_type": "mixtral", "num_local_experts": 4, "num_experts": 8},
     "error: 'num_experts' is 8 but 'num_local_experts' is 4: two names for the number of experts disagree"),
    # the experts' width is read from moe_intermediate_size, and the message names that key
    ({"model_type": "qwen3_moe", "moe_intermediate_size": 0},
     "error: 'moe_intermediate_size' must be a whole number ≥ 1, got 0"),
])
def test_import_refuses_at_the_key_it_reads(tmp_path, config, message):
    path = tmp_path / "config.json"
    text = json.dumps(config)
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 2 and not (tmp_path / "spec.yaml").exists()
    key = message.split("'")[1] if "'" in message else message.split()[1]
    column = text.index(f'"{key}": ') + len(f'"{key}": ') + 1
    assert result.stderr.startswith(f"{path}:1:{column}: {message}"), result.stderr


# -- the LayerNorm decoders: GPT-NeoX, Phi, StarCoder2, StableLM ---------------------------------------


@pytest.mark.parametrize("family", ["gpt_neox", "phi", "starcoder2", "stablelm", "cohere"])
def test_a_key_a_layernorm_decoder_config_leaves_out_takes_its_familys_default(tmp_path, family):
    """GPTNeoXConfig's defaults are GPT-NeoX-20B's, PhiConfig's Phi-1.5's, Starcoder2Config's the 3B model's
    (2 key/value heads), StableLmConfig's stablelm-3b-4e1t's (32 key/value heads whatever the heads),
    CohereConfig's c4ai-command-r-v01's (rope_theta 500000, which the hub-format test reads)."""
    from archcalc.importers.hf_layernorm import KEYS, SIZES

    config = transformers.AutoConfig.for_model(family)
    assert {name: getattr(config, KEYS[name]) for name in SIZES[family]} == SIZES[family]
    fewer = transformers.AutoConfig.for_model(family, num_attention_heads=4)  # key/value heads follow the heads
    assert getattr(fewer, "num_key_value_heads", 4) == SIZES[family].get("kv", 4)
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": family}), encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with torch.device("meta"):
        real = transformers.AutoModel.from_config(config)
    assert archcalc.load(out).total_params == sum(p.numel() for p in real.parameters())


@pytest.mark.parametrize("family", ["opt", "gptj", "gpt_bigcode"])
def test_a_key_an_opt_gptj_or_bigcode_config_leaves_out_takes_its_familys_default(tmp_path, family):
    """OPTConfig's defaults are opt-125m's (ReLU, the head tied, padding row 1), GPTJConfig's GPT-J-6B's (64 of
    each head rotated, untied), GPTBigCodeConfig's GPT-2's sizes with one key/value head."""
    from archcalc.importers.hf_layernorm import GPT_KEYS, GPT_SIZES, OPT_KEYS, OPT_SIZES

    config = transformers.AutoConfig.for_model(family)
    if family == "opt":
        assert {name: getattr(config, OPT_KEYS[name]) for name in OPT_SIZES} == OPT_SIZES
    else:
        keys = dict(GPT_KEYS, V=("vocab_size",))
        assert {name: getattr(config, keys[name][0]) for name in GPT_SIZES[family]} == GPT_SIZES[family]
        assert config.n_inner is None  # 4 × n_embd
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"model_type": family}), encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(out)])
    assert result.exit_code == 0, result.output
    with torch.device("meta"):
        real = transformers.AutoModel.from_config(config)
    assert archcalc.load(out).total_params == sum(p.numel() for p in real.parameters())


#: config.json files as the hub has them (written before transformers 5's rope_parameters), the keys that shape
#: the layers left out where the family's default is meant; transformers reads the same file
HUB_CONFIGS = {
    # rotary_pct and rotary_emb_base at the top level; rope_theta, partial_rotary_factor and num_key_value_heads
    # there are ignored by GPT-NeoX's code, which reads none of them; use_parallel_residual, hidden_act and
    # attention_bias left to their defaults
    "gpt_neox": dict(model_type="gpt_neox", architectures=["GPTNeoXForCausalLM"], vocab_size=101, hidden_size=64,
                     intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=32,
                     rotary_pct=0.5, rotary_emb_base=100, rope_theta=5.0, partial_rotary_factor=1.0,
                     num_key_value_heads=2, tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
    # phi-2's keys: partial_rotary_factor and rope_theta at the top level, rope_scaling null, qk_layernorm false
    "phi": dict(model_type="phi", architectures=["PhiForCausalLM"], vocab_size=101, hidden_size=64,
                intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                max_position_embeddings=32, partial_rotary_factor=0.25, rope_theta=300.0, rope_scaling=None,
                qk_layernorm=False, resid_pdrop=0.1, embd_pdrop=0.0, bos_token_id=0, eos_token_id=0),
    # starcoder2-3b's keys, with its mlp_type and norm_type, which transformers ignores
    "starcoder2": dict(model_type="starcoder2", architectures=["Starcoder2ForCausalLM"], vocab_size=101,
                       hidden_size=64, intermediate_size=96, num_hidden_layers=2, num_attention_heads=4,
                       num_key_value_heads=2, max_position_embeddings=32, sliding_window=6,
                       rope_theta=999999.4420358813, mlp_type="default", norm_type="layer_norm", bos_token_id=0,
                       eos_token_id=0),
    # granite-3.0-2b's keys: rope_theta at the top level, rope_scaling null, every multiplier given
    "granite": dict(model_type="granite", architectures=["GraniteForCausalLM"], vocab_size=101, hidden_size=64,
                    intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                    max_position_embeddings=32, embedding_multiplier=12.0, residual_multiplier=0.22,
                    attention_multiplier=0.015625, logits_scaling=8.0, rope_theta=10000.0, rope_scaling=None,
                    rms_norm_eps=1e-5, mlp_bias=False, attention_bias=False, tie_word_embeddings=True,
                    pad_token_id=0, bos_token_id=0, eos_token_id=0),
    # c4ai-command-r-v01's keys, without rope_theta: CohereConfig's 500000 is meant
    "cohere": dict(model_type="cohere", architectures=["CohereForCausalLM"], vocab_size=101, hidden_size=64,
                   intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                   max_position_embeddings=32, layer_norm_eps=1e-5, logit_scale=0.0625, use_qk_norm=False,
                   pad_token_id=0, bos_token_id=5, eos_token_id=0),
    # facebook/opt-350m's keys (post-norm, projected), with those transformers 5 no longer reads
    "opt": dict(model_type="opt", architectures=["OPTForCausalLM"], vocab_size=101, hidden_size=64, ffn_dim=96,
                num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=32, word_embed_proj_dim=48,
                do_layer_norm_before=False, activation_dropout=0.0, layerdrop=0.0, prefix="</s>", pad_token_id=1,
                bos_token_id=2, eos_token_id=2),
    # gpt-j-6b's keys, hidden_size as transformers' attribute_map reads it (n_embd), the rotary and
    # scale_attn_weights GPT-J's code never reads, n_inner null
    "gptj": dict(model_type="gptj", architectures=["GPTJForCausalLM"], vocab_size=101, hidden_size=64, n_head=4,
                 n_layer=2, n_positions=32, rotary_dim=8, n_inner=None, rotary=True, scale_attn_weights=True,
                 tie_word_embeddings=False, bos_token_id=0, eos_token_id=0),
    # santacoder's keys
    "gpt_bigcode": dict(model_type="gpt_bigcode", architectures=["GPTBigCodeForCausalLM"], vocab_size=101,
                        n_embd=64, n_head=4, n_layer=2, n_positions=32, n_inner=96, multi_query=True,
                        attention_softmax_in_fp32=True, scale_attention_softmax_in_fp32=True, bos_token_id=0,
                        eos_token_id=0),
    # a quarter of each head rotated by default
    "stablelm": dict(model_type="stablelm", architectures=["StableLmForCausalLM"], vocab_size=101, hidden_size=64,
                     intermediate_size=96, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=4,
                     max_position_embeddings=32, bos_token_id=0, eos_token_id=0),
}


@pytest.mark.parametrize("family", HUB_CONFIGS)
def test_a_layernorm_decoder_config_as_the_hub_writes_it_is_the_real_model(tmp_path, family):
    (tmp_path / "config.json").write_text(json.dumps(HUB_CONFIGS[family], indent=2), encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    config = transformers.AutoConfig.from_pretrained(tmp_path)
    torch.manual_seed(0)
    real = stirred(transformers.AutoModelForCausalLM.from_config(config))
    check_against(str(out), real, dict(T=13), vocab=101)


@pytest.mark.parametrize(("config", "key", "message"), [
    (dict(model_type="gpt_neox", hidden_size=48, num_attention_heads=4, rotary_pct=0.1), "rotary_pct",
     "error: rotary_pct 0.1 of a head of 12 rotates 1 dimensions: rotary embedding turns pairs of them\n"
     "  hint: a factor that gives an even number of dimensions, at least 2\n"),
    (dict(model_type="gpt_neox", rotary_pct=1.5), "rotary_pct",
     "error: rotary_pct 1.5 is more than the whole head\n  hint: a share of each head's dimensions: at most 1\n"),
    (dict(model_type="gpt_neox", rope_scaling={"type": "dynamic", "factor": 2.0}), "type",
     "error: 'rope_scaling': archcalc's rotary embedding cannot compute rope type 'dynamic'\n"),
    (dict(model_type="gpt_neox", hidden_size=50, num_attention_heads=4), "num_attention_heads",
     "error: num_attention_heads 4 does not divide hidden_size 50\n"),
    (dict(model_type="phi", qk_layernorm=True), "qk_layernorm",
     "error: 'qk_layernorm': q and k normalised by a LayerNorm over each head's dimensions before rotary\n"
     "  hint: the spec language cannot express it; only \"qk_layernorm\": false imports\n"),
    (dict(model_type="phi", hidden_act="quick_gelu"), "hidden_act",
     "error: 'hidden_act': archcalc cannot express activation 'quick_gelu'\n"),
    (dict(model_type="phi", rope_parameters={"rope_type": "default", "partial_rotary_factor": 0.01}),
     "partial_rotary_factor", "error: partial_rotary_factor 0.01 of a head of 64 rotates 0 dimensions: rotary "
     "embedding turns pairs of them\n"),
    (dict(model_type="stablelm", qk_layernorm="yes"), "qk_layernorm",
     "error: 'qk_layernorm' must be true or false, got 'yes'\n"),
    (dict(model_type="stablelm", head_dim=64), "head_dim",
     "error: head_dim 64 is not hidden_size / num_attention_heads (80): StableLmAttention's heads are 80 wide, "
     "and its rotary table would be sized for the other\n  hint: remove head_dim\n"),
    (dict(model_type="starcoder2", sliding_window=0), "sliding_window",
     "error: 'sliding_window' must be a whole number ≥ 1, got 0\n"),
])
def test_a_layernorm_decoder_config_archcalc_cannot_express_is_refused_at_its_key(tmp_path, config, key, message):
    text = json.dumps(config)
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 2 and not (tmp_path / "spec.yaml").exists()
    column = text.index(f'"{key}": ') + len(f'"{key}": ') + 1  # at the value
    assert result.stderr.startswith(f"{path}:1:{column}: {message}"), result.stderr


# -- Granite and Command-R: constant multipliers, interleaved rotary --------------------------------------

#: tiny IBM Granite and Cohere Command-R configs: every multiplier other than 1 (the scores' scale far from
#: 1/√head_dim), grouped and full attention, heads not D/h wide, biases, tied and untied heads
GRANITE_COHERE_CASES = {
    # granite-3.0's shape: embeddings ×12, each sub-layer's output ×0.22, scores ×0.05, logits / 8, tied
    "granite": (small("granite", num_attention_heads=6, num_key_value_heads=2, embedding_multiplier=12.0,
                      residual_multiplier=0.22, attention_multiplier=0.05, logits_scaling=8.0,
                      tie_word_embeddings=True, pad_token_id=0, **LAYERNORM), transformers.GraniteForCausalLM),
    # GraniteConfig's defaults: every multiplier 1 (the scores unscaled, not 1/√d), untied; biases everywhere,
    # heads of 16 whatever hidden_size / heads (8) says, logits divided by 3 (no power of two)
    "granite-biased-head-dim": (small("granite", num_attention_heads=6, head_dim=16, attention_bias=True,
                                      mlp_bias=True, logits_scaling=3.0, rms_norm_eps=1e-5, **LAYERNORM),
                                transformers.GraniteForCausalLM),
    # Command-R's: one bias-free LayerNorm feeding attention and the MLP, interleaved rotary, logits × 0.5, tied
    "cohere": (small("cohere", num_attention_heads=6, num_key_value_heads=2, logit_scale=0.5,
                     rope_parameters={"rope_type": "default", "rope_theta": 300.0}, **LAYERNORM),
               transformers.CohereForCausalLM),
    "cohere-biased-untied-head-dim": (small("cohere", num_attention_heads=4, head_dim=16, attention_bias=True,
                                            tie_word_embeddings=False, layer_norm_eps=1e-6, **LAYERNORM),
                                      transformers.CohereForCausalLM),
    # granite-3.0-1b-a400m's shape: Granite's multipliers around a sparse block_sparse_moe (router.weight), 2 of 5
    # experts per token
    "granitemoe": (small("granitemoe", num_attention_heads=6, num_key_value_heads=2, num_local_experts=5,
                         num_experts_per_tok=2, embedding_multiplier=12.0, residual_multiplier=0.22,
                         attention_multiplier=0.05, logits_scaling=6.0, tie_word_embeddings=True, pad_token_id=0,
                         **LAYERNORM), transformers.GraniteMoeForCausalLM),
    # GraniteMoeConfig's defaults: multipliers 1, untied; biases on q, k, v and o, one expert of 3 per token
    "granitemoe-top-1-biased": (small("granitemoe", num_attention_heads=4, num_local_experts=3, num_experts_per_tok=1,
                                      attention_bias=True, logits_scaling=3.0, **LAYERNORM),
                                transformers.GraniteMoeForCausalLM),
    # Command R+'s: q_norm [6, 8] and k_norm [2, 8], LayerNorms over each head with a weight of each head's own
    "cohere-qk-norm": (small("cohere", num_attention_heads=6, num_key_value_heads=2, use_qk_norm=True,
                             layer_norm_eps=1e-4, **LAYERNORM), transformers.CohereForCausalLM),
}


@pytest.mark.parametrize("name", GRANITE_COHERE_CASES)
def test_an_imported_granite_or_cohere_config_is_the_real_model(tmp_path, name):
    """Every weight stirred off its initial value (a LayerNorm's γ starts at one, which would hide a norm
    that lost its weight); logits equal to 1e-5 on 13 tokens, and the MACs."""
    config, real_class = GRANITE_COHERE_CASES[name]
    spec = imported(tmp_path, config)
    torch.manual_seed(0)
    check_against(str(spec), stirred(real_class(config)), dict(T=13), vocab=config.vocab_size)


def test_granite_and_cohere_write_their_constants_where_transformers_applies_them(tmp_path):
    granite = imported(tmp_path / "g", GRANITE_COHERE_CASES["granite"][0]).read_text(encoding="utf-8")
    assert granite.count("- scale: 0.22   # residual_multiplier") == 2 and "            scale: 0.05\n" in granite
    assert "scale: 12.0, name: embed_tokens}" in granite and granite.endswith("- scale: 0.125   # logits / "
                                                                              "logits_scaling\n")
    default = imported(tmp_path / "d", GRANITE_COHERE_CASES["granite-biased-head-dim"][0]).read_text()
    assert "residual_multiplier" not in default and "            scale: 1.0\n" in default  # the scores unscaled
    cohere = imported(tmp_path / "c", GRANITE_COHERE_CASES["cohere"][0]).read_text(encoding="utf-8")
    assert "rotary: interleaved" in cohere and "layernorm: {bias: false, name: input_layernorm}" in cohere
    assert cohere.endswith("- scale: 0.5   # logits times logit_scale\n")
    base = imported(tmp_path / "b", GRANITE_COHERE_CASES["granite"][0], "--base").read_text(encoding="utf-8")
    assert "logits_scaling" not in base and "lm_head" not in base
    torch.manual_seed(0)
    config = GRANITE_COHERE_CASES["granite"][0]
    check_against(str(tmp_path / "b" / "spec.yaml"), stirred(transformers.GraniteModel(config)), dict(T=13),
                  vocab=config.vocab_size)


def test_per_head_qk_norms_are_written_as_each_family_stores_them(tmp_path):
    """StableLM's per-head LayerNorm modules (q_layernorm.norms.i) and Command R+'s [heads, head_dim] weights: both
    qk_norm: per_head, bias-free LayerNorms at the config's layer_norm_eps; without the key, no q and k norms."""
    stablelm = imported(tmp_path / "s", LAYERNORM_CASES["stablelm-qk-layernorm"][0]).read_text(encoding="utf-8")
    cohere = imported(tmp_path / "c", GRANITE_COHERE_CASES["cohere-qk-norm"][0]).read_text(encoding="utf-8")
    for text in (stablelm, cohere):
        assert "qk_norm: per_head\n" in text and "qk_norm_kind: layernorm\n" in text, text
        assert "qk_norm_bias: false\n" in text and "qk_norm_eps: 0.0001\n" in text, text
    assert "qk_norm_layout: stablelm\n" in stablelm and "# q_proj, k_proj, v_proj, o_proj, q_layernorm, k_layernorm" \
        in stablelm
    assert "qk_norm_layout" not in cohere and "# q_proj, k_proj, v_proj, o_proj, q_norm, k_norm" in cohere
    plain = imported(tmp_path / "p", GRANITE_COHERE_CASES["cohere"][0]).read_text(encoding="utf-8")
    assert "qk_norm" not in plain and "k_norm" not in plain


#: ibm-granite/granite-3.0-2b-base's and -8b-base's config.json values (the 8B model: 4096 wide, 12800-wide MLP,
#: logits / 16)
GRANITE_3_0 = dict(vocab_size=49155, max_position_embeddings=4096, num_hidden_layers=40, num_attention_heads=32,
                   num_key_value_heads=8, embedding_multiplier=12.0, residual_multiplier=0.22, rms_norm_eps=1e-5,
                   rope_theta=10000.0, attention_dropout=0.1, tie_word_embeddings=True, pad_token_id=0,
                   bos_token_id=0, eos_token_id=0)
#: CohereForAI/c4ai-command-r-v01's config.json values
COMMAND_R = dict(vocab_size=256000, hidden_size=8192, intermediate_size=22528, num_hidden_layers=40,
                 num_attention_heads=64, num_key_value_heads=64, max_position_embeddings=8192, layer_norm_eps=1e-5,
                 logit_scale=0.0625, rope_theta=8000000.0, use_qk_norm=False, pad_token_id=0, bos_token_id=5,
                 eos_token_id=255001)
#: ibm-granite/granite-3.0-1b-a400m-base's and -3b-a800m-base's config.json values (3b-a800m: 1536 wide, 24 heads,
#: 40 experts, 32 layers)
GRANITE_MOE = dict(vocab_size=49155, max_position_embeddings=4096, intermediate_size=512, num_key_value_heads=8,
                   num_experts_per_tok=8, embedding_multiplier=12.0, residual_multiplier=0.22,
                   attention_multiplier=0.015625, logits_scaling=6.0, rms_norm_eps=1e-6, rope_theta=10000.0,
                   attention_dropout=0.1, router_aux_loss_coef=0.01, tie_word_embeddings=True, pad_token_id=0,
                   bos_token_id=0, eos_token_id=0)
#: CohereForAI/c4ai-command-r-plus's config.json values: q and k normalised per head (use_qk_norm)
COMMAND_R_PLUS = dict(vocab_size=256000, hidden_size=12288, intermediate_size=33792, num_hidden_layers=64,
                      num_attention_heads=96, num_key_value_heads=8, max_position_embeddings=8192, layer_norm_eps=1e-5,
                      logit_scale=0.8333333333333334, rope_theta=75000000.0, use_qk_norm=True, attention_bias=False,
                      pad_token_id=0, bos_token_id=5, eos_token_id=255001)
#: stabilityai/stablelm-2-12b's config.json values: a LayerNorm of each head's own on q and k (qk_layernorm)
STABLELM_2_12B = dict(vocab_size=100352, hidden_size=5120, intermediate_size=13824, num_hidden_layers=40,
                      num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=4096, layer_norm_eps=1e-5,
                      partial_rotary_factor=0.25, rope_theta=10000, qk_layernorm=True, use_parallel_residual=True,
                      use_qkv_bias=False, tie_word_embeddings=False, hidden_act="silu", bos_token_id=100257,
                      eos_token_id=100257)
#: their parameters, the tied embedding once (transformers' sum(p.numel()) on the meta device)
GRANITE_2B, GRANITE_8B, COMMAND_R_V01 = 2_533_531_648, 8_170_848_256, 34_980_831_232
COMMAND_R_PLUS_SIZE, STABLELM_2_12B_SIZE = 103_810_674_688, 12_143_185_920
GRANITE_1B_A400M, GRANITE_3B_A800M = 1_334_628_352, 3_298_793_472


@pytest.mark.parametrize(("kind", "sizes", "real_class", "expected"), [
    ("granite", dict(GRANITE_3_0, hidden_size=2048, intermediate_size=8192, attention_multiplier=0.015625,
                     logits_scaling=8.0), transformers.GraniteForCausalLM, GRANITE_2B),
    ("granite", dict(GRANITE_3_0, hidden_size=4096, intermediate_size=12800, attention_multiplier=0.0078125,
                     logits_scaling=16.0), transformers.GraniteForCausalLM, GRANITE_8B),
    ("cohere", COMMAND_R, transformers.CohereForCausalLM, COMMAND_R_V01),
    ("cohere", COMMAND_R_PLUS, transformers.CohereForCausalLM, COMMAND_R_PLUS_SIZE),
    ("stablelm", STABLELM_2_12B, transformers.StableLmForCausalLM, STABLELM_2_12B_SIZE),
    ("granitemoe", dict(GRANITE_MOE, hidden_size=1024, num_attention_heads=16, num_hidden_layers=24,
                        num_local_experts=32), transformers.GraniteMoeForCausalLM, GRANITE_1B_A400M),
    ("granitemoe", dict(GRANITE_MOE, hidden_size=1536, num_attention_heads=24, num_hidden_layers=32,
                        num_local_experts=40), transformers.GraniteMoeForCausalLM, GRANITE_3B_A800M),
])
def test_published_granite_and_command_r_sizes_count_as_the_real_model(tmp_path, kind, sizes, real_class, expected):
    config = small(kind, **sizes)
    model = archcalc.load(str(imported(tmp_path, config)))
    assert model.trainable_params == full_size(config, real_class) == expected


@pytest.mark.parametrize(("config", "key", "message"), [
    (dict(model_type="granite", residual_multiplier=0), "residual_multiplier",
     "error: 'residual_multiplier' must be a number > 0, got 0\n"),
    (dict(model_type="granite", attention_multiplier=-0.5), "attention_multiplier",
     "error: 'attention_multiplier' must be a number > 0, got -0.5\n"),
    (dict(model_type="granite", logits_scaling="8"), "logits_scaling",
     "error: 'logits_scaling' must be a number > 0, got '8'\n"),
    (dict(model_type="granite", embedding_multiplier=float("inf")), "embedding_multiplier",
     "error: 'embedding_multiplier' must be finite, got inf\n"),
    (dict(model_type="granite", rope_scaling={"rope_type": "longrope", "factor": 2.0}), "rope_type",
     "error: 'rope_scaling': archcalc's rotary embedding cannot compute rope type 'longrope'\n"),
    (dict(model_type="granite", pretraining_tp=2), "pretraining_tp",
     "error: 'pretraining_tp': weights split into slices for tensor parallelism while pre-training\n"),
    (dict(model_type="granitemoe", num_local_experts=2, num_experts_per_tok=3), "num_experts_per_tok",
     "error: num_experts_per_tok 3 is more than the 2 experts (num_local_experts)\n"),
    (dict(model_type="granitemoe", logits_scaling=0), "logits_scaling",
     "error: 'logits_scaling' must be a number > 0, got 0\n"),
    (dict(model_type="cohere", use_qk_norm=1), "use_qk_norm", "error: 'use_qk_norm' must be true or false, got 1\n"),
    (dict(model_type="cohere", use_qk_norm=True, layer_norm_eps=0), "layer_norm_eps",
     "error: 'layer_norm_eps' must be a number > 0, got 0\n"),
    (dict(model_type="cohere", architectures=["CohereForCausalLM"], logit_scale=None), "logit_scale",
     "error: 'logit_scale' is null, but CohereForCausalLM multiplies its logits by it\n  hint: give a number "
     "(\"logit_scale\": 0.0625 is Command-R's), or import the base model with --base\n"),
    (dict(model_type="cohere", architectures=["CohereForCausalLM"], logit_scale=0), "logit_scale",
     "error: 'logit_scale' must be a number > 0, got 0\n"),
    (dict(model_type="cohere", hidden_size=50, num_attention_heads=4), "num_attention_heads",
     "error: num_attention_heads 4 does not divide hidden_size 50\n"),
    (dict(model_type="cohere", num_key_value_heads=5), "num_key_value_heads",
     "error: num_key_value_heads 5 does not divide num_attention_heads 64\n"),
    (dict(model_type="cohere", hidden_act="quick_gelu"), "hidden_act",
     "error: 'hidden_act': archcalc cannot express activation 'quick_gelu'\n"),
])
def test_a_granite_or_cohere_config_archcalc_cannot_express_is_refused_at_its_key(tmp_path, config, key, message):
    text = json.dumps(config).replace("Infinity", "1e999")  # JSON has no infinity; 1e999 reads as one
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 2 and not (tmp_path / "spec.yaml").exists()
    column = text.index(f'"{key}": ') + len(f'"{key}": ') + 1  # at the value
    assert result.stderr.startswith(f"{path}:1:{column}: {message}"), result.stderr
# -- OPT, GPT-J, GPT-BigCode: what they cannot express; a value of the wrong kind in every LayerNorm family ----


def refused_at(tmp_path: Path, config: dict, key: str | None) -> tuple[str, str]:
    """``config`` imported through the CLI: refused with exit 2, nothing written; (the error's expected
    location prefix at ``key``'s value, stderr)."""
    text = json.dumps(config)
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 2 and not (tmp_path / "spec.yaml").exists(), result.output
    column = text.index(f'"{key}": ') + len(f'"{key}": ') + 1 if key else 1  # at the value, or the config
    return f"{path}:1:{column}: ", result.stderr


@pytest.mark.parametrize(("config", "key", "message"), [
    # transformers 5's GPTJConfig refuses null (transformers 4 read it as the whole hidden size)
    (dict(model_type="gptj", rotary_dim=None), "rotary_dim",
     "error: 'rotary_dim' null: transformers' GPTJConfig takes a whole number of each head's dimensions to rotate\n"
     "  hint: \"rotary_dim\": 256 rotates every dimension of a head (GPT-J-6B rotates 64 of 256)\n"),
    (dict(model_type="gptj", rotary_dim=63), "rotary_dim",
     "error: rotary_dim 63 is odd: rotary embedding turns pairs of dimensions\n"
     "  hint: an even number of dimensions from 2 to 256\n"),
    # GPT-J's default 64 is more than a head of 16: refused at the config, which leaves rotary_dim out
    (dict(model_type="gptj", n_embd=64, n_head=4), None,
     "error: rotary_dim 64 is more than a head's 16 dimensions\n  hint: 64 is GPT-J's default: give \"rotary_dim\", "
     "an even number of dimensions from 2 to 16\n"),
    (dict(model_type="gptj", n_embd=64, n_head=4, rotary_dim=32), "rotary_dim",
     "error: rotary_dim 32 is more than a head's 16 dimensions\n  hint: an even number of dimensions from 2 to 16\n"),
    (dict(model_type="gptj", n_embd=64, hidden_size=48), "hidden_size",
     "error: 'hidden_size' is 48 but 'n_embd' is 64: two names for the width disagree\n"
     "  hint: keep one of them (n_embd is gptj's own)\n"),
    (dict(model_type="gpt_bigcode", add_cross_attention=True), "add_cross_attention",
     "error: 'add_cross_attention': cross-attention to an encoder's output\n"
     "  hint: the spec language cannot express it; only \"add_cross_attention\": false imports\n"),
    (dict(model_type="gpt_bigcode", n_embd=64, n_head=5), "n_head", "error: n_head 5 does not divide n_embd 64\n"
     "  hint: every head gets the same number of dimensions\n"),
    (dict(model_type="gpt_bigcode", activation_function="quick_gelu"), "activation_function",
     "error: 'activation_function': archcalc cannot express activation 'quick_gelu'\n  hint: valid activations: "
     "gelu, gelu_new, gelu_pytorch_tanh, relu, sigmoid, silu, swish, tanh\n"),
    (dict(model_type="opt", hidden_size=64, num_attention_heads=5), "num_attention_heads",
     "error: num_attention_heads 5 does not divide hidden_size 64\n"
     "  hint: every head gets the same number of dimensions\n"),
    (dict(model_type="opt", pad_token_id=50272), "pad_token_id",
     "error: pad_token_id 50272 is not a token id below vocab_size 50272\n"
     "  hint: a token id from 0 to 50271, or null for no padding row\n"),
])
def test_an_opt_gptj_or_bigcode_config_archcalc_cannot_express_is_refused_at_its_key(tmp_path, config, key, message):
    where, stderr = refused_at(tmp_path, config, key)
    assert stderr == where + message, stderr


@pytest.mark.parametrize(("config", "key", "message"), [
    # a number in quotes, a list for a flag, a negative size, a flag written as a number or a string …
    (dict(model_type="gpt_neox", hidden_size="64"), "hidden_size",
     "'hidden_size' must be a whole number ≥ 1, got '64'\n  hint: \"hidden_size\": 64, a number, without quotes; or "
     "leave \"hidden_size\" out for the default, 6144"),
    (dict(model_type="gpt_neox", use_parallel_residual=[True]), "use_parallel_residual",
     "'use_parallel_residual' must be a single value, got a list\n  hint: \"use_parallel_residual\": true, one "
     "value, not a list; or leave \"use_parallel_residual\" out for the default, true"),
    (dict(model_type="gpt_neox", rotary_pct="0.25"), "rotary_pct",
     "'rotary_pct' must be a number > 0, got '0.25'\n  hint: \"rotary_pct\": 0.25, a number, without quotes; or "
     "leave \"rotary_pct\" out for the default, 0.25"),
    (dict(model_type="gpt_neox", num_hidden_layers=-2), "num_hidden_layers",
     "'num_hidden_layers' must be a whole number ≥ 1, got -2\n  hint: a whole number of at least 1; or leave "
     "\"num_hidden_layers\" out for the default, 44"),
    (dict(model_type="gpt_neox", hidden_dropout=True), "hidden_dropout",
     "'hidden_dropout' must be a number ≥ 0, got True\n  hint: a number, not true; or leave \"hidden_dropout\" out "
     "for the default, 0.0"),
    (dict(model_type="phi", head_dim=[8]), "head_dim",
     "'head_dim' must be a single value, got a list\n  hint: \"head_dim\": 8, one value, not a list"),
    (dict(model_type="phi", pad_token_id="0"), "pad_token_id",
     "pad_token_id '0' is not a token id below vocab_size 51200\n  hint: \"pad_token_id\": 0, a number, without "
     "quotes; or null for no padding row"),
    (dict(model_type="phi", rope_parameters=[1]), "rope_parameters",
     "'rope_parameters' must be a mapping\n  hint: as transformers saves it: {\"rope_type\": \"default\", "
     "\"rope_theta\": 10000.0}, or null for the default"),
    (dict(model_type="starcoder2", use_bias=1), "use_bias",
     "'use_bias' must be true or false, got 1\n  hint: \"use_bias\": true, JSON's true or false, not a number; or "
     "leave \"use_bias\" out for the default, true"),
    (dict(model_type="starcoder2", sliding_window="4096"), "sliding_window",
     "'sliding_window' must be a whole number ≥ 1, got '4096'\n  hint: \"sliding_window\": 4096, a number, "
     "without quotes"),
    (dict(model_type="stablelm", hidden_act=["silu"]), "hidden_act",
     "'hidden_act' must be a single value, got a list\n  hint: \"hidden_act\": \"silu\", one value, not a list; or "
     "leave \"hidden_act\" out for the default, \"silu\""),
    (dict(model_type="stablelm", num_key_value_heads=0), "num_key_value_heads",
     "'num_key_value_heads' must be a whole number ≥ 1, got 0\n  hint: a whole number of at least 1; or leave "
     "\"num_key_value_heads\" out for the default, 32"),
    (dict(model_type="opt", do_layer_norm_before="true"), "do_layer_norm_before",
     "'do_layer_norm_before' must be true or false, got 'true'\n  hint: \"do_layer_norm_before\": true, JSON's "
     "true or false, without quotes; or leave \"do_layer_norm_before\" out for the default, true"),
    (dict(model_type="opt", ffn_dim=-1), "ffn_dim",
     "'ffn_dim' must be a whole number ≥ 1, got -1\n  hint: a whole number of at least 1; or leave \"ffn_dim\" out "
     "for the default, 3072"),
    (dict(model_type="opt", word_embed_proj_dim="512"), "word_embed_proj_dim",
     "'word_embed_proj_dim' must be a whole number ≥ 1, got '512'\n  hint: \"word_embed_proj_dim\": 512, a number, "
     "without quotes; or leave \"word_embed_proj_dim\" out for the default, 768"),
    (dict(model_type="opt", dropout=1.5), "dropout",
     "'dropout' must be a probability from 0 to 1, got 1.5\n  hint: a share such as 0.1 (10 %); or leave "
     "\"dropout\" out for the default, 0.1"),
    (dict(model_type="gptj", n_embd=64.0), "n_embd",
     "'n_embd' must be a whole number ≥ 1, got 64.0\n  hint: \"n_embd\": 64, a whole number; or leave \"n_embd\" "
     "out for the default, 4096"),
    (dict(model_type="gptj", rotary_dim="64"), "rotary_dim",
     "'rotary_dim' must be a whole number ≥ 1, got '64'\n  hint: \"rotary_dim\": 64, a number, without quotes; or "
     "leave \"rotary_dim\" out for the default, 64"),
    (dict(model_type="gpt_bigcode", multi_query="true"), "multi_query",
     "'multi_query' must be true or false, got 'true'\n  hint: \"multi_query\": true, JSON's true or false, without "
     "quotes; or leave \"multi_query\" out for the default, true"),
    (dict(model_type="gpt_bigcode", attention_softmax_in_fp32=1), "attention_softmax_in_fp32",
     "'attention_softmax_in_fp32' must be true or false, got 1\n  hint: \"attention_softmax_in_fp32\": true, "
     "JSON's true or false, not a number; or leave \"attention_softmax_in_fp32\" out for the default, true"),
    (dict(model_type="gpt_bigcode", architectures="GPTBigCodeForCausalLM"), "architectures",
     "'architectures' must be a list of class names\n  hint: \"architectures\": [\"GPTBigCodeForCausalLM\"]"),
])
def test_a_layernorm_decoder_setting_of_the_wrong_kind_is_located_with_a_fix(tmp_path, config, key, message):
    """Every LayerNorm family reads its keys through the shared readers: a value of the wrong kind is an error at
    the value, with the value as it should be written where it evidently means one, and the default."""
    where, stderr = refused_at(tmp_path, config, key)
    assert stderr == f"{where}error: {message}\n", stderr


@pytest.mark.parametrize("name", ["opt-350m-post-norm-projected", "gptj", "gpt-bigcode"])
def test_an_opt_gptj_or_bigcode_base_model_is_the_real_one(tmp_path, name):
    """--base: OPTModel's layers under ``decoder`` (project_out its last), GPTJModel's and GPTBigCodeModel's at the
    top level, the last hidden state compared."""
    config, real_class = LAYERNORM_CASES[name]
    spec = imported(tmp_path, config, "--base")
    assert "lm_head" not in spec.read_text(encoding="utf-8")
    base = {transformers.OPTForCausalLM: transformers.OPTModel, transformers.GPTJForCausalLM: transformers.GPTJModel,
            transformers.GPTBigCodeForCausalLM: transformers.GPTBigCodeModel}[real_class]
    torch.manual_seed(0)
    check_against(str(spec), stirred(base(config)), dict(T=13), vocab=config.vocab_size)


def test_opt_layerdrop_is_a_warning(tmp_path):
    """layerdrop skips whole layers while training only: the spec is the model, with a warning at the key."""
    config = small("opt", **OPT, layerdrop=0.25)
    spec = imported(tmp_path, config)
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json")])
    assert "warning: layerdrop 0.25 skips whole layers at random while training only" in result.output
    torch.manual_seed(0)
    check_against(str(spec), stirred(transformers.OPTForCausalLM(config)), dict(T=13), vocab=config.vocab_size)
