"""PyTorch agrees with the calculator on every spec: parameters, buffers and every node's output shape,
and the generated source agrees with the runtime module (state_dict keys, shapes and outputs)."""

from __future__ import annotations

import pytest
import torch

from archcalc.backends.torch import to_torch, torch_paths
from archcalc.backends.torch.source import emit
from archcalc.errors import SpecError
from tests.export_cases import cases
from tests.torch_helpers import import_file, randomize_norms


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
    randomize_norms(module)
    paths = torch_paths(model.graph)
    assert sum(p.numel() for p in module.parameters()) == model.trainable_params
    assert sum(b.numel() for b in module.buffers()) == model.buffers
    shapes: dict[str, tuple[int, ...]] = {}
    for node, path in paths.items():
        sub = module.get_submodule(path)
        count = model.counts[node]
        assert (sum(p.numel() for p in sub.parameters()), sum(b.numel() for b in sub.buffers())) == \
            (count.trainable, count.buffers), path
        sub.register_forward_hook(lambda m, args, out, path=path: shapes.__setitem__(path, tuple(out.shape)))
    x = torch.randn(2, *model.input_shape)
    with torch.no_grad():
        out = module(x)
    assert tuple(out.shape) == (2, *model.output_shape)
    assert {path: shapes.get(path) for path in paths.values()} == \
        {path: (2, *node.out_shape) for node, path in paths.items()}

    # the generated file: same keys and shapes; with the same weights, the same output
    file = tmp_path / f"{model.name}.py"
    file.write_text(emit(model), encoding="utf-8")
    with torch.device("meta"):
        generated = import_file(file).build_model()
    assert {k: tuple(v.shape) for k, v in generated.state_dict().items()} == \
        {k: tuple(v.shape) for k, v in module.state_dict().items()}
    generated.load_state_dict(module.state_dict(), assign=True)
    with torch.no_grad():
        torch.testing.assert_close(generated.eval()(x), out, rtol=0, atol=0)
