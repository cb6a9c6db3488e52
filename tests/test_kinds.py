"""The per-kind test record (tests/kinds.py) against the registry: one entry per kind, a case for every
check its backends support, archcalc's exact numbers for every case, and the refusals it records."""

from __future__ import annotations

import pytest

from archcalc.errors import SpecError
from archcalc.layers import LAYERS
from archcalc.layers.merge import Merge
from tests.conftest import output_file
from tests.kinds import BACKENDS, CASES, CHECKS, KINDS, NEEDS, PARITY, RECORD, REFERENCE, Input

REGISTERED = {cls.kind for cls in LAYERS.values()}


def test_the_record_has_one_entry_per_registered_kind():
    assert len(KINDS) == len(RECORD), "a kind has two entries"
    assert sorted(REGISTERED - set(KINDS)) == [], "kinds without an entry in tests/kinds.py"
    assert sorted(set(KINDS) - REGISTERED) == [], "entries for kinds that are not registered (or an alias)"


def test_every_kind_is_checked_by_every_backend_or_refused_by_it():
    """A check that no case of a kind runs must be because its backend refuses a case, which
    test_the_backend_refuses_with_a_located_error then proves; never because no case was written."""
    missing = [f"{entry.kind}: no case runs the {check} check, and none records a refusal by "
               f"{' or '.join(NEEDS[check])}"
               for entry in RECORD for check in CHECKS
               if not any(case.runs(check) for case in entry.cases)
               and not any(set(NEEDS[check]) & set(case.refuses) for case in entry.cases)]
    assert missing == []


def test_the_record_is_well_formed():
    assert len({case.id for case in CASES}) == len(CASES), "two cases have one id: give one a name"
    for case in CASES:
        assert set(case.refuses) <= set(BACKENDS), case.id
        assert set(case.skip) <= set(CHECKS) and all(case.skip.values()), f"{case.id}: skip says check → why"
        assert case.layer or case.spec, case.id
        assert case.spec or len(case.inputs) == 1, f"{case.id}: several inputs need the whole spec in spec="
        assert all(isinstance(i, Input) and i.shape and (i.ids is None or i.ids >= 1) for i in case.inputs), case.id
        assert not case.zero_gradient or case.params == 0, f"{case.id}: parameters with a zero gradient never learn"
    merges = {kind for kind, cls in LAYERS.items() if issubclass(cls, Merge)}  # the harness computes these itself
    parity = {case.kind for case in CASES if case.runs(PARITY)}
    assert parity - merges <= set(REFERENCE), "kinds without a torch reference"


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in CASES])
def test_archcalc_gives_the_recorded_parameters_buffers_and_shape(case):
    model = case.load()
    kinds = [node.layer.kind for node, _ in model.graph.walk() if hasattr(node, "layer")]
    assert case.kind in kinds and (case.spec or kinds == [case.kind])
    assert (model.trainable_params, model.buffers, model.output_shape) == (case.params, case.buffers, case.out)
    if len(case.inputs) == 1:
        assert model.input_shape == case.inputs[0].shape


def _build(backend: str, model) -> None:
    if backend == "numpy":
        from archcalc.backends.numpy import to_numpy

        to_numpy(model)
    elif backend == "torch":
        from archcalc.backends.torch import to_torch

        to_torch(model)
    else:
        from archcalc.backends.onnx import to_onnx

        to_onnx(model)


REFUSALS = [pytest.param(case, backend, id=f"{case.id}-{backend}") for case in CASES for backend in case.refuses]


@pytest.mark.parametrize("case, backend", REFUSALS)
def test_the_backend_refuses_with_a_located_error(case, backend, run, write, tmp_path):
    """The runtime builder raises the recorded message at the layer (or one of its arguments), with a
    hint; ``archcalc export`` prints it as ``path:line:col: error:``, exits 2 and writes nothing."""
    model = case.load()
    node = next(node for node, _ in model.graph.walk() if getattr(node, "layer", None) and node.layer.kind == case.kind)
    with pytest.raises(SpecError) as raised:
        _build(backend, model)
    error = raised.value
    assert (error.code, error.message) == ("export-unsupported", case.refuses[backend])
    assert error.loc in {node.loc, *node.layer.arg_locs.values()} and error.hint
    spec = write(case.text)
    out = output_file(["export", spec, "--to", backend], tmp_path)
    result = run("export", spec, "--to", backend, "-o", out)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:{error.loc.line}:{error.loc.col}: error: {error.message}\n"
                                    f"  hint: {error.hint}")
    assert list(tmp_path.iterdir()) == [spec]


def test_a_case_can_take_token_ids_and_several_inputs():
    """What the embedding and attention kinds will need, held here until a kind uses it."""
    import numpy as np
    import torch

    from tests.kinds import Case, tensors

    rng = np.random.default_rng(0)
    ids = Case(Input((5,), ids=7), "embedding: {vocab: 7, dim: 3}", params=21, out=(5, 3))
    (x,) = ids.examples(4, rng)
    assert x.dtype == np.int64 and x.shape == (4, 5) and x.min() >= 0 and x.max() < 7
    assert tensors([x])[0].dtype == torch.int64
    assert ids.text == "input: [5]\nlayers:\n  - embedding: {vocab: 7, dim: 3}\n"
    pair = Case((Input((6, 8)), Input((4, 8))), None, spec="…", params=0, out=(6, 8))
    q, kv = pair.examples(2, rng)
    assert (q.shape, kv.shape, q.dtype) == ((2, 6, 8), (2, 4, 8), np.float64)
    assert [t.dtype for t in tensors([q, kv])] == [torch.float32] * 2
    assert Case((3, 4), "relu", params=0, out=(3, 4)).inputs == (Input((3, 4)),)


#: the one-layer cases with a reference module that the torch backend builds
REFERENCED = [pytest.param(case, id=case.id) for case in CASES
              if case.kind in REFERENCE and case.layer and not case.spec and "torch" not in case.refuses
              and case.inputs[0].ids is None]


@pytest.mark.parametrize("case", REFERENCED)
def test_the_torch_export_is_the_real_module(case):
    """The reference ``torch.nn`` module has the recorded parameters and buffers (torch's own count, not
    archcalc's), and ``archcalc.to_torch`` holds the same tensors and, given the reference's weights,
    computes the same outputs in eval mode: the check for kinds the NumPy parity check cannot run yet."""
    import torch

    from archcalc.backends.torch import to_torch

    model = case.load()
    node = model.layers[0]
    reference = REFERENCE[case.kind](node.layer, node.in_shape, None)
    assert sum(p.numel() for p in reference.parameters()) == case.params
    assert sum(b.numel() for b in reference.buffers()) == case.buffers
    ours = to_torch(model)
    theirs = reference.state_dict()
    assert [v.shape for v in ours.state_dict().values()] == [v.shape for v in theirs.values()]
    torch.manual_seed(0)
    with torch.no_grad():
        for value in theirs.values():
            if value.is_floating_point():
                value.uniform_(0.5, 1.5)  # positive: running variances too
    ours.load_state_dict(dict(zip(ours.state_dict(), theirs.values())), strict=True)
    ours.eval()
    reference.eval()
    # in float64, so that a reference that sums in another order (a mixture of experts computed densely) agrees
    # to rounding with weights this large; relative to float32's rounding too, which a layer that computes in
    # float32 whatever its input (Gemma's RMSNorm, as transformers' does) keeps
    ours.double()
    reference.double()
    x = torch.randn(3, *case.inputs[0].shape, dtype=torch.float64)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), reference(x), rtol=1e-6, atol=1e-6)


def test_torch_refuses_the_avgpool3d_windows_the_kind_refuses():
    """avg_pool3d, alone among torch's pools, checks the window against the unpadded input."""
    import torch

    with pytest.raises(RuntimeError, match="smaller than kernel size"):
        torch.nn.functional.avg_pool3d(torch.zeros(1, 2, 12, 15, 4), (2, 1, 5), (1, 3, 3), (0, 0, 2))
    assert torch.nn.functional.avg_pool2d(torch.zeros(1, 2, 15, 4), (1, 5), (3, 3), (0, 2)).shape == (1, 2, 5, 2)
