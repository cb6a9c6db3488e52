"""Rope scaling (``rotary_scaling: llama3``, ``yarn``) against transformers' own ``modeling_rope_utils``.

The inverse frequencies and the factor on cos and sin equal transformers' bit for bit in torch (and to
float32 rounding in NumPy); tiny Llama 3.1 and Qwen2.5-YaRN configs imported with ``archcalc import`` give
the real models' logits in every backend at lengths past ``original_max_position_embeddings`` (chosen so that
llama3's three bands all occur); the published Llama 3.1, 3.2 and 3.3 configs import and count as
transformers counts them; wrong settings are located errors.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from click.testing import CliRunner

import archcalc
from archcalc.backends.rope import rotary_frequencies
from archcalc.cli import main
from tests.torch_helpers import assert_every_backend_gives

transformers = pytest.importorskip("transformers")
from transformers.modeling_rope_utils import ROPE_INIT_FUNCTIONS  # noqa: E402

#: llama3 with original_max_position_embeddings 32 on heads of 32: wavelengths 6.3 (kept: below 32 / 4), 11 and
#: 20 (blended), 35 and longer (divided by 8)
LLAMA3 = dict(rope_type="llama3", factor=8.0, low_freq_factor=1.0, high_freq_factor=4.0,
              original_max_position_embeddings=32)
YARN = dict(type="yarn", factor=4.0, original_max_position_embeddings=32)  # Qwen2.5's keys (the older "type")

RULES = {
    "llama3": LLAMA3,
    "llama3-2-1b": dict(LLAMA3, factor=32.0, original_max_position_embeddings=8192),
    "llama3-bands-2-3": dict(LLAMA3, low_freq_factor=2.0, high_freq_factor=3.0, original_max_position_embeddings=40),
    "yarn": YARN,
    "yarn-untruncated-betas": dict(YARN, truncate=False, beta_fast=8.0, beta_slow=2.0),
    "yarn-attention-factor": dict(YARN, attention_factor=1.5),
    "yarn-mscale": dict(YARN, mscale=0.8, mscale_all_dim=0.6),
    "yarn-factor-from-lengths": dict(YARN, factor=None),
    "linear": dict(rope_type="linear", factor=2.0),
}


def spec_scaling(rule: dict, max_positions: int = 128) -> dict:
    """The rope scaling a config gives, as ``rotary_frequencies`` (and the spec) takes it, read with
    ``archcalc import`` itself from a config.json."""
    from archcalc.importers.hf_config import Config, _rope
    from archcalc.limits import Limits
    from archcalc.spec.source import parse_yaml

    text = json.dumps({"rope_scaling": rule, "max_position_embeddings": max_positions})
    _, _, args = _rope(Config(parse_yaml(text, "config.json", Limits()), "config.json"), partial=False)
    read = {key: float(value) if key in ("rotary_factor", "low_freq_factor", "high_freq_factor", "beta_fast",
                                         "beta_slow", "attention_factor") else value
            for key, value in args.items() if value is not None}
    read["truncate"] = read.get("truncate") != "false"
    return {"factor": read.pop("rotary_factor", 1.0), **read}


@pytest.mark.parametrize("name", RULES)
def test_the_frequencies_are_transformers_own(name):
    """torch: the same float32 tensor and factor as transformers' init function (head_dim 32, base 10000);
    NumPy to 1e-5 (its float32 pow is not torch's, and a blended band carries the difference on)."""
    rule = RULES[name]
    config = transformers.LlamaConfig(hidden_size=64, num_attention_heads=2, max_position_embeddings=128,
                                      rope_theta=10000.0, rope_scaling=dict(rule))
    expected, gain = ROPE_INIT_FUNCTIONS[rule.get("rope_type") or rule["type"]](config)
    scaling = spec_scaling(rule)
    inv, ours = rotary_frequencies(torch, 32, 10000.0, **scaling)
    assert inv.dtype == torch.float32 and torch.equal(inv, expected)
    assert ours == gain
    inv_np, ours_np = rotary_frequencies(np, 32, 10000.0, **scaling)
    assert inv_np.dtype == np.float32 and ours_np == gain
    np.testing.assert_allclose(inv_np, expected.numpy(), rtol=1e-5, atol=0)
    if name == "llama3":  # all three bands occur
        wavelength = 2 * np.pi / (1.0 / 10000.0 ** (np.arange(0, 32, 2) / 32))
        assert (wavelength < 8).sum() == 1 and ((wavelength > 8) & (wavelength < 32)).sum() == 2


def imported(tmp_path: Path, config) -> Path:
    config.save_pretrained(tmp_path)
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", str(tmp_path / "config.json"), "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


DECODER = dict(vocab_size=101, hidden_size=64, intermediate_size=80, num_hidden_layers=2, num_attention_heads=2,
               num_key_value_heads=1, max_position_embeddings=128, rope_theta=10000.0)
CASES = {
    "llama-3.1": (transformers.LlamaConfig, transformers.LlamaForCausalLM, LLAMA3),
    "qwen2.5-yarn": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM, YARN),
    "qwen2.5-yarn-attention-factor": (transformers.Qwen2Config, transformers.Qwen2ForCausalLM,
                                      dict(YARN, attention_factor=1.5, beta_fast=16.0)),
}


@pytest.mark.parametrize("name", CASES)
def test_an_imported_scaled_config_is_the_real_model_in_every_backend(tmp_path, name):
    """40 tokens, past original_max_position_embeddings (32): archcalc.to_torch (strict load) equals the real
    model exactly, the generated torch source (ruff-clean at 88 columns), onnxruntime and the NumPy model to
    1e-5; the same spec without its scaling is far off, so the scaling is what makes them equal."""


    config_class, real_class, rule = CASES[name]
    config = config_class(**DECODER, rope_scaling=dict(rule))
    config.architectures = [real_class.__name__]
    spec = imported(tmp_path, config)
    model = archcalc.load(str(spec), T=40)
    torch.manual_seed(0)
    real = real_class(config).eval()
    weights = real.state_dict()
    ids = torch.randint(0, config.vocab_size, (2, 40))
    with torch.no_grad():
        expected = real(ids).logits
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(weights, strict=True)) == "<All keys matched successfully>"
    with torch.no_grad():
        assert torch.equal(ours(ids), expected)
    expected = expected.numpy()

    assert_every_backend_gives(model, weights, ids, expected, tmp_path)

    text = spec.read_text()
    plain = "\n".join(line for line in text.splitlines() if not any(
        key in line for key in ("rotary_factor", "rotary_scaling", "freq_factor", "original_positions", "beta_",
                                "attention_factor")))
    (tmp_path / "plain.yaml").write_text(plain)
    unscaled = archcalc.to_torch(archcalc.load(str(tmp_path / "plain.yaml"), T=40)).eval()
    unscaled.load_state_dict(weights, strict=True)
    with torch.no_grad():
        assert np.abs(unscaled(ids).numpy() - expected).max() > 1e-3


#: the published config.json values (meta-llama/Llama-3.1-8B, Llama-3.2-1B, Llama-3.3-70B-Instruct)
PUBLISHED = {
    "Llama-3.1-8B": (dict(hidden_size=4096, intermediate_size=14336, num_hidden_layers=32, num_attention_heads=32,
                          tie_word_embeddings=False), 8.0, 8_030_261_248),
    "Llama-3.2-1B": (dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
                          head_dim=64, tie_word_embeddings=True), 32.0, 1_235_814_400),
    "Llama-3.3-70B": (dict(hidden_size=8192, intermediate_size=28672, num_hidden_layers=80, num_attention_heads=64,
                           tie_word_embeddings=False), 8.0, 70_553_706_496),
}


@pytest.mark.parametrize("name", PUBLISHED)
def test_published_llama_3_configs_import_and_count_as_transformers(tmp_path, name):
    sizes, factor, expected = PUBLISHED[name]
    config = transformers.LlamaConfig(
        vocab_size=128256, num_key_value_heads=8, max_position_embeddings=131072, rms_norm_eps=1e-5,
        rope_theta=500000.0, bos_token_id=128000, eos_token_id=128001, **sizes,
        rope_scaling=dict(factor=factor, low_freq_factor=1.0, high_freq_factor=4.0,
                          original_max_position_embeddings=8192, rope_type="llama3"))
    config.architectures = ["LlamaForCausalLM"]
    spec = imported(tmp_path, config)
    text = spec.read_text()
    assert f"rotary_factor: {factor}\n" in text and "rotary_scaling: llama3\n" in text
    assert "original_positions: 8192\n" in text
    with torch.device("meta"):
        real = transformers.LlamaForCausalLM(config)
    assert archcalc.load(str(spec)).trainable_params == sum(p.numel() for p in real.parameters()) == expected


# -- refused: located, exit 2 -----------------------------------------------------------------------------------


def refused(tmp_path: Path, name: str, text: str, *command: str) -> str:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(main, [*command, str(path)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    return result.output


ATTENTION = "input: [5, 24]\nlayers:\n  - attention: {{heads: 2, causal: true, {}}}\n"


@pytest.mark.parametrize(("args", "at", "message"), [
    ("rotary_scaling: llama3, original_positions: 8", "rotary_scaling",
     "error: attention: rotary_scaling is given but rotary is none\n"
     "  hint: add rotary: half (or interleaved), or drop rotary_scaling\n"),
    ("rotary: half, rotary_factor: 8.0, low_freq_factor: 2.0", "low_freq_factor",
     "error: attention: low_freq_factor is given but rotary_scaling is linear\n"
     "  hint: add rotary_scaling: llama3, or drop low_freq_factor\n"),
    ("rotary: half, rotary_scaling: llama3, original_positions: 8, beta_fast: 4.0", "beta_fast",
     "error: attention: beta_fast is given but rotary_scaling is llama3\n"
     "  hint: add rotary_scaling: yarn, or drop beta_fast\n"),
    ("rotary: half, rotary_factor: 8.0, rotary_scaling: llama3", "rotary_scaling",
     "error: attention: rotary_scaling: llama3 needs original_positions, the context length the model was trained "
     "at\n  hint: add original_positions (transformers' original_max_position_embeddings, Llama 3.1's 8192)\n"),
    ("rotary: half, rotary_scaling: llama3, original_positions: 8, high_freq_factor: 1.0", "high_freq_factor",
     "error: attention: high_freq_factor 1 is not more than low_freq_factor 1\n"
     "  hint: the kept short waves end at original_positions / high_freq_factor, before the divided long ones "
     "begin at original_positions / low_freq_factor (Llama 3.1: 4 and 1)\n"),
    ("rotary: half, rotary_scaling: yarn, original_positions: 8, beta_fast: 0.5", "beta_fast",
     "error: attention: beta_fast 0.5 is less than beta_slow 1\n"
     "  hint: pairs turning more than beta_fast times are kept, less than beta_slow divided: beta_fast ≥ "
     "beta_slow (YaRN's 32 and 1)\n"),
    ("rotary: half, rotary_scaling: ntk, original_positions: 8", "rotary_scaling",
     "error: attention: 'rotary_scaling' must be one of 'linear', 'llama3', 'yarn', got 'ntk'\n"
     "  hint: valid words: linear, llama3, yarn\n"),
    ("rotary: half, rotary_scaling: yarn, original_positions: 8, attention_factor: 0", "attention_factor",
     "error: attention: 'attention_factor' must be in (0, ∞), got 0.0\n"),
])
def test_a_wrong_rope_scaling_setting_is_a_located_error(tmp_path, args, at, message):
    text = ATTENTION.format(args)
    column = text.splitlines()[2].index(f"{at}: ") + len(at) + 3
    output = refused(tmp_path, "spec.yaml", text, "params")
    assert f"spec.yaml:3:{column}: {message}" in output


LLAMA = dict(model_type="llama", architectures=["LlamaForCausalLM"], hidden_size=64, intermediate_size=96,
             num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2, vocab_size=100,
             max_position_embeddings=256)


@pytest.mark.parametrize(("scaling", "key", "message"), [
    ({"rope_type": "dynamic", "factor": 2.0}, "rope_type",
     "error: 'rope_scaling': archcalc's rotary embedding cannot compute rope type 'dynamic'\n"
     "  hint: valid rope types: default, linear, llama3, yarn (as transformers' modeling_rope_utils computes them)\n"),
    ({"type": "longrope", "short_factor": [1.0], "long_factor": [1.0]}, "type",
     "error: 'rope_scaling': archcalc's rotary embedding cannot compute rope type 'longrope'\n"),
    ({"rope_type": "lama3", "factor": 2.0}, "rope_type", "hint: did you mean 'llama3'?"),
    ({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0}, "rope_scaling",
     "error: 'rope_scaling': rope type llama3 needs 'high_freq_factor'\n"),
    ({"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 4.0, "high_freq_factor": 1.0}, "high_freq_factor",
     "error: 'rope_scaling': high_freq_factor 1 is not more than low_freq_factor 4\n"),
    ({"rope_type": "llama3", "factor": -8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0}, "factor",
     "error: 'factor' must be a number > 0, got -8.0\n"),
    ({"rope_type": "yarn", "original_max_position_embeddings": 64}, "rope_scaling",
     "error: 'rope_scaling': rope type yarn needs 'factor'\n"),
    ({"rope_type": "yarn", "factor": 4.0, "beta_fast": 1.0, "beta_slow": 2.0}, "beta_fast",
     "error: 'rope_scaling': beta_fast 1 is less than beta_slow 2\n"),
])
def test_a_rope_scaling_archcalc_cannot_compute_is_refused_at_its_key(tmp_path, scaling, key, message):
    text = json.dumps({**LLAMA, "rope_scaling": scaling}, indent=2)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if f'"{key}"' in row)
    output = refused(tmp_path, "config.json", text, "import")
    assert f"config.json:{line}:" in output
    assert message in output


def test_rope_parameters_as_transformers_5_saves_them_import_the_same(tmp_path):
    """transformers 5 writes the scaling and the base together in rope_parameters; rope_scaling, when given, wins."""
    texts = {}
    for name, keys in {"scaling": {"rope_theta": 500000.0, "rope_scaling": LLAMA3},
                       "parameters": {"rope_parameters": dict(LLAMA3, rope_theta=500000.0)},
                       "both": {"rope_scaling": LLAMA3, "rope_theta": 500000.0,
                                "rope_parameters": {"rope_type": "default", "rope_theta": 7.0}}}.items():
        folder = tmp_path / name
        folder.mkdir()
        (folder / "config.json").write_text(json.dumps({**LLAMA, **keys}))
        result = CliRunner().invoke(main, ["import", str(folder / "config.json")])
        assert result.exit_code == 0, result.output
        texts[name] = result.output
    assert texts["scaling"] == texts["parameters"] == texts["both"]
    assert "rotary_scaling: llama3" in texts["both"] and "theta: 500000.0" in texts["both"]
