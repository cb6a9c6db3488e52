"""A JSON ``null`` in a config.json, read as transformers reads it (tests/null_probe.py measures it).

transformers' config classes keep most nulls as None and then refuse them (their type check) or fail
building or running the model (Granite's ``hidden * None``); a few keys they or the model code read as
left out, as "off" or as another key's value. ``archcalc import`` refuses a null exactly where
transformers does, at the key, with the value to write, and elsewhere computes transformers' model.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import archcalc
from archcalc.cli import main
from archcalc.importers.hf_config import NULLABLE

transformers = pytest.importorskip("transformers")

from tests.null_probe import FAMILY_CASES, probe  # noqa: E402 - needs transformers

#: transformers builds GPT-NeoX with the default rope when rope_parameters is null: rotary_pct 0.25 of the case's
#: 12-wide heads, 3 dimensions, which archcalc refuses whatever the null (rotary embedding turns pairs)
ODD_ROTATION = {("gpt_neox", "rope_parameters")}


@pytest.mark.slow
@pytest.mark.parametrize("family", FAMILY_CASES)
def test_a_null_is_refused_exactly_where_transformers_refuses_it(family):
    """Each key the importer reads for the family, set to null: transformers refuses it (config class, model,
    forward pass) iff archcalc refuses it, with a message about the null; where transformers accepts it, the
    imported spec with transformers' weights gives transformers' outputs (1e-5)."""
    for o in probe(family):
        if (o.family, o.key) in ODD_ROTATION:
            continue
        if o.transformers == "refused":
            assert o.archcalc == "refused" and "null" in o.message, o
        else:
            assert o.archcalc == "same", o


def test_every_family_has_its_null_policy():
    """Every family the importer registers has its table, measured by a probe case (DeepSeek's came after it)."""
    from archcalc.importers.hf_config import FAMILIES

    assert set(NULLABLE) == set(FAMILY_CASES) == set(FAMILIES)


def refused(tmp_path: Path, config: dict, key: str) -> str:
    """``config`` imported through the CLI: exit 2, nothing written; stderr with the location of ``key``'s value
    replaced by ``AT``."""
    text = json.dumps(config)
    path = tmp_path / "config.json"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    assert result.exit_code == 2 and not (tmp_path / "spec.yaml").exists(), result.output
    column = text.index(f'"{key}": ') + len(f'"{key}": ') + 1
    return result.stderr.replace(f"{path}:1:{column}: ", "AT ")


def imported(tmp_path: Path, config: dict) -> str:
    tmp_path.mkdir(exist_ok=True)
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml"), "--force"])
    assert result.exit_code == 0, result.output
    return (tmp_path / "spec.yaml").read_text(encoding="utf-8")


DECODER = dict(vocab_size=101, hidden_size=48, intermediate_size=80, num_hidden_layers=2, num_attention_heads=6,
               max_position_embeddings=32)
LLAMA = dict(model_type="llama", architectures=["LlamaForCausalLM"], **DECODER)


@pytest.mark.parametrize(("config", "key", "message"), [
    (dict(model_type="granite", residual_multiplier=None), "residual_multiplier",
     "'residual_multiplier' is null, which transformers refuses for granite: it takes a number\n"
     "  hint: write \"residual_multiplier\": 1.0 (granite's default), or leave \"residual_multiplier\" out for it"),
    (dict(model_type="opt", ffn_dim=None), "ffn_dim",
     "'ffn_dim' is null, which transformers refuses for opt: it takes a whole number\n"
     "  hint: write \"ffn_dim\": 3072 (opt's default), or leave \"ffn_dim\" out for it"),
    (dict(model_type="gptj", n_embd=None), "n_embd",
     "'n_embd' is null, which transformers refuses for gptj: it takes a whole number\n"
     "  hint: write \"n_embd\": 4096 (gptj's default), or leave \"n_embd\" out for it"),
    # a key Llama's config reads a null of as left out, refused by Qwen2's (its head_dim is no optional field)
    (dict(model_type="qwen2", head_dim=None), "head_dim",
     "'head_dim' is null, which transformers refuses for qwen2: it takes a whole number\n"
     "  hint: leave \"head_dim\" out for qwen2's default"),
    (dict(model_type="mistral", attention_dropout=None), "attention_dropout",
     "'attention_dropout' is null, which transformers refuses for mistral: it takes a number\n"
     "  hint: write \"attention_dropout\": 0.0 (mistral's default), or leave \"attention_dropout\" out for it"),
    # Mixtral's config refuses a null under the other name of its experts' count
    (dict(model_type="mixtral", num_experts=None), "num_experts",
     "'num_experts' is null, which transformers refuses for mixtral\n"
     "  hint: leave \"num_experts\" out for mixtral's default"),
    (dict(model_type="gpt2", num_hidden_layers=None), "num_hidden_layers",
     "'num_hidden_layers' is null, which transformers refuses for gpt2: it takes a whole number\n"
     "  hint: write \"num_hidden_layers\": 12 (gpt2's default), or leave \"num_hidden_layers\" out for it"),
    (dict(model_type="llama", tie_word_embeddings=None), "tie_word_embeddings",
     "'tie_word_embeddings' is null, which transformers refuses for llama: it takes true or false\n"
     "  hint: write \"tie_word_embeddings\": false (llama's default), or leave \"tie_word_embeddings\" out for it"),
    (dict(model_type="llama", hidden_act=None), "hidden_act",
     "'hidden_act' is null, which transformers refuses for llama: it takes a name\n"
     "  hint: write \"hidden_act\": \"silu\" (llama's default), or leave \"hidden_act\" out for it"),
])
def test_a_null_transformers_refuses_is_refused_at_its_key(tmp_path, config, key, message):
    assert refused(tmp_path, config, key) == f"AT error: {message}\n"


@pytest.mark.parametrize(("rope", "key", "message"), [
    ({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
      "original_max_position_embeddings": None}, "original_max_position_embeddings",
     "'rope_scaling': original_max_position_embeddings is null, which transformers' llama3 scaling refuses\n"
     "  hint: the context length the model was trained at (Llama 3.1: \"factor\": 8.0, \"low_freq_factor\": 1.0, "
     "\"high_freq_factor\": 4.0, \"original_max_position_embeddings\": 8192); or leave the key out for "
     "max_position_embeddings"),
    (1.5, "rope_scaling", "'rope_scaling' must be a mapping, got 1.5\n  hint: as transformers reads it: "
     "{\"rope_type\": \"linear\", \"factor\": 1.5}, or null for none"),
    ("linear", "rope_scaling", "'rope_scaling' must be a mapping, got 'linear'\n  hint: as transformers reads it: "
     "{\"rope_type\": \"linear\", \"factor\": 2.0}, or null for none"),
    ("yarn", "rope_scaling", "'rope_scaling' must be a mapping, got 'yarn'\n  hint: as transformers reads it: "
     "{\"rope_type\": \"yarn\", …} (Qwen2.5's YaRN: \"factor\": 4.0, \"original_max_position_embeddings\": 32768)"),
    ([8.0], "rope_scaling", "'rope_scaling' must be a mapping, got a list\n  hint: a mapping of the rope type and its "
     "keys, as transformers reads it: {\"rope_type\": \"linear\", \"factor\": 2.0}, or null for none"),
])
def test_a_rope_scaling_transformers_refuses_is_refused_with_a_hint(tmp_path, rope, key, message):
    assert refused(tmp_path, dict(LLAMA, rope_scaling=rope), key) == f"AT error: {message}\n"


def test_a_yarn_without_factor_is_told_yarns_keys(tmp_path):
    config = dict(LLAMA, rope_scaling={"rope_type": "yarn", "original_max_position_embeddings": 16})
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config), encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(path), "-o", str(tmp_path / "spec.yaml")])
    column = json.dumps(config).index('"rope_scaling": ') + len('"rope_scaling": ') + 1
    assert result.exit_code == 2 and result.stderr == (
        f"{path}:1:{column}: error: 'rope_scaling': rope type yarn needs 'factor'\n  hint: transformers refuses yarn "
        "scaling without it (Qwen2.5's YaRN: \"factor\": 4.0, \"original_max_position_embeddings\": 32768)\n")


def test_a_nan_size_is_told_what_to_write(tmp_path):
    text = json.dumps(dict(LLAMA, head_dim=8)).replace('"head_dim": 8', '"head_dim": NaN')  # json.dumps writes it so
    (tmp_path / "config.json").write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(tmp_path / "s.yaml")])
    column = text.index('"head_dim": ') + len('"head_dim": ') + 1
    assert result.exit_code == 2 and result.stderr == (
        f"{tmp_path / 'config.json'}:1:{column}: error: 'head_dim' must be a whole number ≥ 1, got 'NaN'\n"
        "  hint: a whole number, not NaN (Python's json reads it as a float, but no setting is NaN); or leave "
        "\"head_dim\" out for the default\n")


def real_logits(config: dict) -> tuple[torch.nn.Module, torch.Tensor, torch.Tensor]:
    """transformers' model of ``config`` (as from_pretrained reads it), its logits on 13 tokens."""
    data = {k: v for k, v in config.items() if k not in ("model_type", "architectures")}
    real_class = getattr(transformers, config["architectures"][0])
    hf = transformers.AutoConfig.for_model(config["model_type"]).__class__.from_dict(data)
    torch.manual_seed(0)
    real = real_class(hf).eval()
    ids = torch.randint(0, hf.vocab_size, (2, 13))
    with torch.no_grad():
        return real, ids, real(ids).logits


def same_as_real(tmp_path: Path, config: dict) -> str:
    """The import of ``config``, checked to compute transformers' model of it (logits to 1e-5)."""
    text = imported(tmp_path, config)
    real, ids, expected = real_logits(config)
    ours = archcalc.to_torch(archcalc.load(str(tmp_path / "spec.yaml"), T=13)).eval()
    ours.load_state_dict(real.state_dict(), strict=True)
    with torch.no_grad():
        torch.testing.assert_close(ours(ids), expected, atol=1e-5, rtol=1e-5)
    return text


def test_a_null_num_key_value_heads_is_one_per_query_head(tmp_path):
    """Qwen2Config's default is 32 key/value heads, but its null is num_attention_heads, as Llama's."""
    config = dict(model_type="qwen2", architectures=["Qwen2ForCausalLM"], num_key_value_heads=None, **DECODER)
    text = same_as_real(tmp_path, config)
    assert "kv" not in text.split("symbols: ")[1].split("\n")[0]


@pytest.mark.parametrize(("config", "absent"), [
    # GPT-2's and GPT-J's n_inner null: 4 · n_embd
    (dict(model_type="gpt2", architectures=["GPT2LMHeadModel"], vocab_size=101, n_embd=32, n_head=4, n_layer=2,
          n_positions=24, n_inner=None), "n_inner"),
    (dict(model_type="gptj", architectures=["GPTJForCausalLM"], vocab_size=101, n_embd=48, n_head=4, n_layer=2,
          n_positions=32, rotary_dim=4, n_inner=None), "n_inner"),
    # OPT's word_embed_proj_dim null: hidden_size, no projection
    (dict(model_type="opt", architectures=["OPTForCausalLM"], vocab_size=101, hidden_size=48, ffn_dim=80,
          num_hidden_layers=2, num_attention_heads=4, max_position_embeddings=32, word_embed_proj_dim=None),
     "word_embed_proj_dim"),
    # Llama's head_dim null: hidden_size / heads
    (dict(LLAMA, head_dim=None), "head_dim"),
    # YaRN's attention_factor null: 0.1 · ln(factor) + 1, as left out
    (dict(LLAMA, rope_scaling={"rope_type": "yarn", "factor": 4.0, "original_max_position_embeddings": 16,
                               "attention_factor": None}), None),
])
def test_a_null_transformers_reads_as_left_out_imports_as_left_out(tmp_path, config, absent):
    text = same_as_real(tmp_path / "null", config)
    if absent is None:
        left_out = dict(config, rope_scaling={k: v for k, v in config["rope_scaling"].items() if v is not None})
    else:
        left_out = {k: v for k, v in config.items() if k != absent}
    assert text == imported(tmp_path, left_out)
