"""What a kind declares about its values (``Trait.KEEPS_RANGE``, ``Trait.IDEMPOTENT``, ``Layer.BOUNDS``) held
against the kind's own PyTorch reference in tests/kinds.py (the ``torch.nn`` module a user would write, not
archcalc's backend), on every case of the record: lint rules trust these declarations instead of naming kinds,
so a wrong one is a wrong finding (T105 on probabilities that are still probabilities, T108 on a regression)."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from archcalc.layers import LAYERS
from archcalc.layers.base import Up
from archcalc.layers.traits import Trait
from tests.kinds import CASES, PARITY, REFERENCE

#: the one-layer cases of one real-valued input that the torch reference runs (PARITY's)
SIMPLE = [case for case in CASES if not case.spec and len(case.inputs) == 1 and not case.inputs[0].ids
          and case.runs(PARITY)]


def build(case):
    """The case's built layer node and its torch reference, in float64."""
    node = next(case.load().graph.layers())
    return node, REFERENCE[case.kind](node.layer, node.in_shape, None).double()


def params(trait: Trait) -> list:
    return [pytest.param(case, id=case.id) for case in SIMPLE if trait in LAYERS[case.kind].TRAITS]


@pytest.mark.parametrize("training", [True, False], ids=["train", "eval"])
@pytest.mark.parametrize("case", params(Trait.KEEPS_RANGE))
def test_a_kind_that_keeps_the_range_keeps_it_in_torch(case, training):
    """Every output lies between the smallest input (or 0, an average pool's padding) and the largest."""
    node, module = build(case)
    x = torch.from_numpy(np.random.default_rng(0).uniform(0.2, 0.9, size=(64, *node.in_shape)))
    with torch.no_grad():
        y = module.train(training)(x)
    assert y.min() >= 0 and y.max() <= x.max()
    assert y.max() >= x.min()  # not all padding


def test_dropout_does_not_keep_the_range():
    """In training dropout scales what it keeps by 1/(1 − p): past 1, where PyTorch's BCELoss raises."""
    assert not any(Trait.KEEPS_RANGE in LAYERS[kind].TRAITS for kind in LAYERS if Trait.DROPOUT in LAYERS[kind].TRAITS)
    x = torch.full((4, 16), 0.9)
    assert torch.nn.Dropout(0.5).train()(x).max() == pytest.approx(1.8)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in SIMPLE  # glu halves an axis
                                  if Trait.ACTIVATION in LAYERS[case.kind].TRAITS and case.out == case.inputs[0].shape])
def test_an_activation_is_idempotent_exactly_when_torch_says_so(case):
    """f(f(x)) = f(x) for relu, relu6 and step (a second one changes nothing, A106 says so), for no other kind."""
    node, module = build(case)
    x = torch.from_numpy(np.random.default_rng(1).normal(scale=4.0, size=(16, *node.in_shape)))
    with torch.no_grad():
        once = module(x)
        twice = module(once)
    assert torch.equal(twice, once) == (Trait.IDEMPOTENT in node.layer.TRAITS)


@pytest.mark.parametrize("case", [pytest.param(case, id=case.id) for case in SIMPLE
                                  if LAYERS[case.kind].BOUNDS is not None])  # a property counts
def test_the_declared_bounds_are_torchs_and_tight(case):
    """Outputs of wide inputs stay within the bounds and come within 5 % of each finite one; an infinite side is
    really open (outputs beyond ±10)."""
    node, module = build(case)
    low, high = node.layer.BOUNDS
    scale = 20 * max(1.0, *(abs(b) for b in (low, high) if math.isfinite(b)))
    x = torch.from_numpy(np.random.default_rng(2).normal(scale=scale, size=(512, *node.in_shape)))
    with torch.no_grad():
        y = module(x)
    assert low <= y.min() and y.max() <= high
    for bound, reached in ((low, y.min().item()), (high, y.max().item())):
        if math.isfinite(bound):
            assert abs(reached - bound) <= 0.05 * max(1.0, abs(bound)), (bound, reached)
        else:
            assert abs(reached) > 10


def test_a_kind_enlarges_exactly_when_its_axes_spread_an_input_over_several_outputs():
    """``Trait.ENLARGES`` (G104 leaves the offset of such a path alone) on the kinds whose axis map reads an output
    from input ⌊i/s⌋ (an ``Up`` axis): upsample, pixel_shuffle, the transposed convolutions."""
    spreads = set()
    for case in SIMPLE:
        node = next(case.load().graph.layers())
        if any(isinstance(op, Up) for axis in node.layer.axes(node.in_shape) for _, op in axis):
            spreads.add(case.kind)
    assert spreads == {kind for kind in LAYERS if Trait.ENLARGES in LAYERS[kind].TRAITS}
    assert spreads == {"upsample", "pixel_shuffle", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d"}
