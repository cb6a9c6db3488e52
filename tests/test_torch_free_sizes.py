"""``export --to torch`` keeps what the spec leaves free free: the symbols that size a module are the
generated model's constructor arguments, and each size that depends on them is written as its formula."""

from __future__ import annotations

import pytest
import sympy
import torch

import archcalc
from archcalc.backends.torch.source import emit
from archcalc.symbolic import python_source
from tests.torch_helpers import import_file

POOLED = """\
name: pooled
input: [3, H, W]
symbols: {H: 32, W: 48}
blocks:
  squeeze(c):
    - conv2d: {out: c, kernel: 3, padding: 1}
    - adaptive_avgpool2d: [H // 4, W // 4]
layers:
  - squeeze: {c: 8, name: first}
  - {name: group, layers: [squeeze: 4]}
  - flatten
  - linear: 10
"""


def _export(tmp_path, text: str, **sets):
    spec = tmp_path / "model.yaml"
    spec.write_text(text, encoding="utf-8")
    source = emit(archcalc.load(str(spec), **sets))
    out = tmp_path / "model_torch.py"
    out.write_text(source, encoding="utf-8")
    return spec, source, import_file(out)


def _params(module: torch.nn.Module) -> int:
    return sum(p.numel() for p in module.parameters())


def test_free_sizes_are_constructor_arguments_with_their_formulas(tmp_path):
    spec, source, module = _export(tmp_path, POOLED)
    assert "def __init__(self, H: int = 32, W: int = 48) -> None:" in source
    assert "nn.Linear(4 * (H // 4) * (W // 4), 10)" in source
    assert "def build_model(H: int = 32, W: int = 48) -> Pooled:" in source
    for sizes in ({}, {"H": 64, "W": 40}, {"H": 20, "W": 20}):
        net = module.build_model(**sizes).eval()
        reference = archcalc.load(str(spec), **sizes)
        assert _params(net) == reference.trainable_params
        x = torch.randn(2, *reference.input_shape)
        assert tuple(net(x).shape[1:]) == tuple(reference.output_shape)


def test_the_runtime_module_and_the_file_agree_at_other_sizes(tmp_path):
    spec, _, module = _export(tmp_path, POOLED)
    runtime = archcalc.to_torch(archcalc.load(str(spec), H=64, W=40)).eval()
    generated = module.build_model(H=64, W=40).eval()
    generated.load_state_dict(runtime.state_dict(), strict=True)
    x = torch.randn(2, 3, 64, 40)
    torch.testing.assert_close(generated(x), runtime(x), rtol=0, atol=0)


def test_sizes_that_do_not_depend_on_symbols_stay_literal(tmp_path):
    text = "input: [3, H, W]\nsymbols: {H: 32, W: 32}\nlayers:\n  - conv2d: {out: 8, kernel: 3}\n" \
           "  - adaptive_avgpool2d: 1\n  - flatten\n  - linear: 10\n"
    _, source, _ = _export(tmp_path, text)
    assert "def __init__(self) -> None:" in source and "nn.Linear(8, 10)" in source
    assert "H: int" not in source


def test_a_structure_that_changes_with_the_sizes_keeps_the_exported_values(tmp_path):
    """An if_same shortcut is there at C = 16 only: a free C would give a module that breaks elsewhere
    (with C free the spec does not build at all: the shortcut cannot be decided)."""
    text = "input: [C, 8, 8]\nsymbols: {C: 16}\nlayers:\n  - residual:\n" \
           "      body: [conv2d: {out: 16, kernel: 3, padding: 1}]\n      shortcut: if_same\n"
    _, source, module = _export(tmp_path, text)
    assert "def __init__(self) -> None:" in source
    assert "Sizes are fixed at the values exported with:" in " ".join(source.split())
    assert _params(module.build_model()) == 2320


def test_a_symbol_named_like_the_generated_code_is_not_an_argument(tmp_path):
    text = "input: [nn]\nsymbols: {nn: 8}\nlayers:\n  - linear: 4\n"
    _, source, module = _export(tmp_path, text)
    assert "nn.Linear(8, 4)" in source and "a symbol's name is taken by the generated code" in " ".join(
        source.split())
    assert _params(module.build_model()) == 36


@pytest.mark.parametrize("make", [
    lambda H, W: sympy.floor(H / 2) + 1,
    lambda H, W: sympy.floor((H - 3) / 2) + 1,
    lambda H, W: 8 * sympy.floor(H / 2) * sympy.floor(W / 2),
    lambda H, W: sympy.ceiling(H / 3),
    lambda H, W: H * W - 2 * H,
    lambda H, W: 3 * H ** 2,
    lambda H, W: 10 - H,
    lambda H, W: sympy.Max(H, 3),
    lambda H, W: (H + 1) ** 2,
    lambda H, W: sympy.floor((sympy.floor(H / 2) - 1) / 2) * W,
])
def test_python_code_of_a_size_is_the_size(make):
    H, W = sympy.symbols("H W", positive=True, integer=True)
    expr = make(H, W)
    code = compile(python_source(expr), "<size>", "eval")
    for h in range(1, 40):
        for w in (1, 7, 9):
            assert eval(code, {"H": h, "W": w}) == expr.subs({H: h, W: w})  # our own formula, not a user's string
