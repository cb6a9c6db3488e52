"""The shipped transformer specs against Hugging Face ``transformers`` itself.

Each spec is built small (its symbols set to a small config) beside the real model made from the
same config with random weights, and the two must agree on everything archcalc claims: trainable
parameters (a tied weight once), persistent buffers, every layer's output shape, the state dict
(``load_state_dict(real.state_dict(), strict=True)``), the outputs in eval mode to 1e-5, and the
MACs (``torch.utils.flop_counter.FlopCounterMode`` / 2, with the real model's eager attention:
the counter does not see inside CPU's fused ``scaled_dot_product_attention``). The full-size
counts are asserted from the full configs, the large ones on the meta device (nothing allocated).
"""

from __future__ import annotations

import pytest
import torch
from torch.utils.flop_counter import FlopCounterMode

import archcalc
from archcalc.backends.torch.build import torch_paths
from archcalc.calc.flops import work
from tests.conftest import SPECS

transformers = pytest.importorskip("transformers")


def unique_parameters(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())  # parameters() yields a shared one once


def persistent_buffers(module: torch.nn.Module) -> int:
    names = {name for name, _ in module.named_parameters(remove_duplicate=False)}
    return sum(v.numel() for k, v in module.state_dict().items() if k not in names)


def output_shapes(module: torch.nn.Module, names: set[str], example: torch.Tensor) -> dict[str, tuple[int, ...]]:
    """Module name → the shape (batch excluded) of its tensor output on ``example``, for ``names``. Outputs on
    the batch's tokens flattened into rows (OPT's MLP runs on ``reshape(-1, D)``: [N·T, D]) are read as the
    [N, T, D] they stand for."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    rows = example.shape[0] * example.shape[1] if example.dim() == 2 and example.shape[0] > 1 else None
    for name, sub in module.named_modules():
        if name in names:
            def hook(_, __, out, name=name):
                if isinstance(out, torch.Tensor):
                    flat = rows is not None and out.dim() >= 1 and out.shape[0] == rows
                    shapes[name] = (example.shape[1], *out.shape[1:]) if flat else tuple(out.shape[1:])
            handles.append(sub.register_forward_hook(hook))
    with torch.no_grad():
        module(example)
    for handle in handles:
        handle.remove()
    return shapes


def macs(module: torch.nn.Module, example: torch.Tensor) -> int:
    with FlopCounterMode(display=False) as counter, torch.no_grad():
        module(example)
    return counter.get_total_flops() // 2


def logits(out: object) -> torch.Tensor:
    if isinstance(out, torch.Tensor):
        return out
    return out.logits if hasattr(out, "logits") else out.last_hidden_state


def check_against(spec: str, real: torch.nn.Module, symbols: dict[str, int], vocab: int, pooled: bool = False,
                  example: torch.Tensor | None = None):
    """Everything archcalc says about ``spec`` at ``symbols`` against ``real`` (random weights, eval), on two
    sequences of T random ids below ``vocab`` or on ``example`` (a batch of images)."""
    torch.manual_seed(0)
    model = archcalc.load(str(SPECS / spec), **symbols)
    real = real.eval()
    assert model.trainable_params == unique_parameters(real)
    assert model.buffers == persistent_buffers(real)
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert unique_parameters(ours) == model.trainable_params
    ids = torch.randint(0, vocab, (2, symbols["T"])) if example is None else example
    paths = {path: node for node, path in torch_paths(model.graph).items() if hasattr(node, "layer")}
    shapes = output_shapes(real, set(paths), ids)
    assert len(shapes) >= len(paths) // 2, "too few layers compared: the names do not match the real model's"
    assert {name: tuple(paths[name].out_shape) for name in shapes} == shapes
    with torch.no_grad():
        ours_out, real_out = ours(ids), real(ids)
    expected = real_out.pooler_output if pooled else logits(real_out)
    assert ours_out.shape == expected.shape
    torch.testing.assert_close(ours_out, expected, atol=1e-5, rtol=1e-5)
    real.config._attn_implementation = "eager"  # the counter sees the eager matmuls, not CPU's fused kernel
    if getattr(real.config, "num_experts_per_tok", None):  # nor torch._grouped_mm, the experts' default on the CPU
        real.config._experts_implementation = "eager"
    assert work(model.graph)[model.graph.root].macs == macs(real, ids[:1])
    return model


# -- GPT-2 ------------------------------------------------------------------------------------------


def small_gpt2():
    config = transformers.GPT2Config(n_layer=2, n_embd=32, n_head=4, vocab_size=101, n_positions=24,
                                     bos_token_id=0, eos_token_id=0)
    return transformers.GPT2LMHeadModel(config), dict(T=13, V=101, P=24, D=32, heads=4, depth=2)


def test_gpt2_against_hugging_face():
    real, symbols = small_gpt2()
    assert real.lm_head.weight is real.transformer.wte.weight
    check_against("gpt2.yaml", real, symbols, vocab=101)


def test_gpt2_ties_one_parameter_in_the_exported_module_and_in_generated_source(tmp_path):
    from archcalc.backends.torch.source import emit
    from tests.torch_helpers import import_file

    _, symbols = small_gpt2()
    model = archcalc.load(str(SPECS / "gpt2.yaml"), **symbols)
    built = archcalc.to_torch(model)
    assert built.lm_head.weight is built.transformer.wte.weight
    path = tmp_path / "gpt2_small.py"
    path.write_text(emit(model), encoding="utf-8")
    generated = import_file(path).build_model()
    assert generated.lm_head.weight is generated.transformer.wte.weight
    assert unique_parameters(generated) == model.trainable_params
    assert generated.state_dict().keys() == built.state_dict().keys()


def test_gpt2_full_size_is_hugging_faces_count():
    config = transformers.GPT2Config()
    with torch.device("meta"):
        real = transformers.GPT2LMHeadModel(config)
    model = archcalc.load(str(SPECS / "gpt2.yaml"))
    assert model.trainable_params == unique_parameters(real) == 124_439_808


# -- Llama 3 ----------------------------------------------------------------------------------------


def llama_config(**sizes):
    """Llama 3 8B's configuration (Meta's config.json), with ``sizes`` changed."""
    config = dict(vocab_size=128256, hidden_size=4096, intermediate_size=14336, num_hidden_layers=32,
                  num_attention_heads=32, num_key_value_heads=8, max_position_embeddings=8192, rms_norm_eps=1e-5,
                  rope_theta=500000.0, tie_word_embeddings=False, attention_bias=False, mlp_bias=False,
                  bos_token_id=0, eos_token_id=0)
    return transformers.LlamaConfig(**{**config, **sizes})


def test_llama_against_hugging_face():
    config = llama_config(vocab_size=101, hidden_size=48, intermediate_size=80, num_hidden_layers=2,
                          num_attention_heads=6, num_key_value_heads=2)
    real = transformers.LlamaForCausalLM(config)
    check_against("llama-3-8b.yaml", real, dict(T=11, V=101, D=48, F=80, heads=6, kv=2, depth=2), vocab=101)


def test_llama_3_8b_full_size_is_hugging_faces_count_without_building_it():
    with torch.device("meta"):
        real = transformers.LlamaForCausalLM(llama_config())
    model = archcalc.load(str(SPECS / "llama-3-8b.yaml"))
    assert model.trainable_params == unique_parameters(real) == 8_030_261_248
    assert model.buffers == persistent_buffers(real) == 0


def test_params_of_llama_3_8b_counts_without_allocating():
    """``archcalc params`` on the 8-billion-parameter spec imports no torch and stays small: the count
    is arithmetic on the spec, never a model in memory (8e9 float32 parameters would be 32 GB). The
    peak is the process's own (``VmHWM``, which starts afresh at exec), in kB."""
    import json
    import subprocess
    import sys

    code = ("import runpy, sys\n"
            "sys.argv = ['archcalc', 'params', sys.argv[1], '--format', 'json']\n"
            "try: runpy.run_module('archcalc', run_name='__main__')\n"
            "finally:\n"
            "    peak = next(line for line in open('/proc/self/status') if line.startswith('VmHWM'))\n"
            "    print('torch' in sys.modules, int(peak.split()[1]), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, str(SPECS / "llama-3-8b.yaml")], capture_output=True,
                          text=True)
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["trainable_params"] == 8_030_261_248
    torch_imported, peak_kb = proc.stderr.split()[-2:]
    assert torch_imported == "False"
    assert int(peak_kb) < 200_000


# -- BERT -------------------------------------------------------------------------------------------


def test_bert_base_against_hugging_face():
    config = transformers.BertConfig(num_hidden_layers=2, hidden_size=48, num_attention_heads=6, intermediate_size=80,
                                     vocab_size=101, max_position_embeddings=24)
    real = transformers.BertModel(config)
    check_against("bert-base.yaml", real, dict(T=13, V=101, P=24, D=48, F=80, heads=6, depth=2), vocab=101,
                  pooled=True)


def test_bert_base_full_size_is_hugging_faces_count():
    with torch.device("meta"):
        real = transformers.BertModel(transformers.BertConfig())
    model = archcalc.load(str(SPECS / "bert-base.yaml"))
    assert model.trainable_params == unique_parameters(real) == 109_482_240
