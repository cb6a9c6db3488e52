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
    """Module name → the shape (batch excluded) of its tensor output on ``example``, for ``names``."""
    shapes: dict[str, tuple[int, ...]] = {}
    handles = []
    for name, sub in module.named_modules():
        if name in names:
            def hook(_, __, out, name=name):
                if isinstance(out, torch.Tensor):
                    shapes[name] = tuple(out.shape[1:])
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


def check_against(spec: str, real: torch.nn.Module, symbols: dict[str, int], vocab: int, pooled: bool = False):
    """Everything archcalc says about ``spec`` at ``symbols`` against ``real`` (random weights, eval)."""
    torch.manual_seed(0)
    model = archcalc.load(str(SPECS / spec), **symbols)
    real = real.eval()
    assert model.trainable_params == unique_parameters(real)
    assert model.buffers == persistent_buffers(real)
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert unique_parameters(ours) == model.trainable_params
    ids = torch.randint(0, vocab, (2, symbols["T"]))
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
