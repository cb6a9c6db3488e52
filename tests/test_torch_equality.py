"""PyTorch agrees with the calculator on every spec and every kind's cases (tests/kinds.py): parameters,
buffers and every node's output shape, and the generated source agrees with the runtime module
(state_dict keys, shapes and outputs)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from archcalc.backends.torch import to_torch, torch_paths
from archcalc.backends.torch.build import ties
from archcalc.backends.torch.source import emit
from archcalc.errors import SpecError
from archcalc.model import Model
from tests.export_cases import cases
from tests.kinds import TORCH, tensors
from tests.kinds import cases as kind_cases
from tests.torch_helpers import import_file, randomize_norms


def agrees(model: Model, module: torch.nn.Module, xs: list[torch.Tensor], folder) -> None:
    """``module`` (``to_torch(model)``, in eval mode) against the calculator, and the generated source against it."""
    randomize_norms(module)
    paths = torch_paths(model.graph)
    borrowed = {f"{tied}.weight" for tied, _ in ties(model.graph)}  # counted where the weight is owned
    assert sum(p.numel() for p in module.parameters()) == model.total_params
    assert sum(p.numel() for p in module.parameters() if p.requires_grad) == model.trainable_params  # trainable: false
    assert sum(b.numel() for b in module.buffers()) == model.buffers
    shapes: dict[str, tuple[int, ...]] = {}
    bare = {path for node, path in paths.items() if getattr(node, "layer", None) is not None and node.layer.BARE}
    for node, path in paths.items():
        count = model.counts[node]
        if path in bare:  # one parameter under the layer's own name (class_token): no module to hook
            parameter = module.get_parameter(path)
            assert (parameter.numel(), parameter.numel() * (not parameter.requires_grad), 0) == \
                (count.params, count.frozen, count.buffers), path
            continue
        sub = module.get_submodule(path)
        owned = [p for name, p in sub.named_parameters(remove_duplicate=False) if f"{path}.{name}" not in borrowed]
        own, frozen = sum(p.numel() for p in owned), sum(p.numel() for p in owned if not p.requires_grad)
        assert (own, frozen, sum(b.numel() for b in sub.buffers())) == (count.params, count.frozen, count.buffers), \
            path
        sub.register_forward_hook(lambda m, args, out, path=path: shapes.__setitem__(path, tuple(out.shape)))
    batch = len(xs[0])
    with torch.no_grad():
        out = module(*xs)
    assert tuple(out.shape) == (batch, *model.output_shape)
    assert {path: shapes.get(path) for path in paths.values() if path not in bare} == \
        {path: (batch, *node.out_shape) for node, path in paths.items() if path not in bare}

    # the generated file: same keys and shapes; with the same weights, the same output
    file = folder / f"{model.name}.py"
    file.write_text(emit(model), encoding="utf-8")
    with torch.device("meta"):
        generated = import_file(file).build_model()
    assert {k: tuple(v.shape) for k, v in generated.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in module.state_dict().items()}
    generated.load_state_dict(module.state_dict(), assign=True)
    with torch.no_grad():
        torch.testing.assert_close(generated.eval()(*xs), out, rtol=0, atol=0)


@pytest.mark.parametrize("case", cases())
def test_torch_equals_the_calculator(case, tmp_path):
    model = case.load()
    torch.manual_seed(0)
    try:
        module = to_torch(model).eval()
    except SpecError as e:  # a test spec made for another purpose may use what torch cannot do
        if case.shipped or e.code != "export-unsupported":
            raise
        pytest.skip(e.message)
    ids = model.input_ids
    x = torch.randint(0, ids, (2, *model.input_shape)) if ids else torch.randn(2, *model.input_shape)
    agrees(model, module, [x], tmp_path)


@pytest.mark.parametrize("case", kind_cases(TORCH))
def test_each_kind_equals_the_calculator(case, tmp_path, one_thread):
    model = case.load()
    torch.manual_seed(0)
    module = to_torch(model).eval()
    assert (sum(p.numel() for p in module.parameters()), sum(b.numel() for b in module.buffers())) == \
        (case.params, case.buffers)
    agrees(model, module, tensors(case.examples(2, np.random.default_rng(0))), tmp_path)


@pytest.mark.parametrize("dtype", ["float64", "float32", "bfloat16"])
def test_eager_attention_keeps_the_inputs_precision(dtype):
    """Gemma's eager path (window, soft cap) takes its softmax in float32 at least: a bf16 model as
    transformers computes it, a float64 one exact (a window longer than the sequence is plain causal
    attention, which SDPA computes in the inputs' dtype)."""
    import torch

    from archcalc.backends.torch.modules import Attention

    dt = getattr(torch, dtype)
    q, k, v = (torch.randn(1, 2, 9, 8, dtype=torch.float64).to(dt) for _ in range(3))
    eager = Attention.eager(q, k, v, causal=True, scale=None, dropout=0.0, window=100, softcap=None)
    sdpa = torch.nn.functional.scaled_dot_product_attention(q.double(), k.double(), v.double(), is_causal=True)
    assert eager.dtype == dt
    tolerance = {"float64": 1e-12, "float32": 1e-6, "bfloat16": 2e-2}[dtype]
    torch.testing.assert_close(eager.double(), sdpa, atol=tolerance, rtol=tolerance)
