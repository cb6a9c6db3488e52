"""The slowest of ``archcalc import torchvision:NAME``'s round trips (tests/test_import_torchvision.py says what
each compares): the big ConvNeXts, EfficientNets, RegNets, ResNets, VGGs and vision transformers, in a file of
their own so that a quick run can leave them out; CI runs them (``.ci/run``)."""

from __future__ import annotations

import os

import pytest

pytest.importorskip("torch")
if not os.environ.get("ARCHCALC_TORCHVISION"):  # there it must import; elsewhere skip, as the main file does
    pytest.importorskip("torchvision", reason="needs torchvision: run in the second environment .ci/run builds "
                        "(README, Testing)")
from tests.test_import_torchvision import SLOW, round_trip

pytestmark = pytest.mark.torchvision


@pytest.fixture(scope="module", autouse=True)
def _one_thread(one_thread):
    """Deterministic, and faster on two shared cores."""


@pytest.mark.parametrize("name", sorted(SLOW))
def test_an_imported_large_torchvision_model_is_the_model(tmp_path, name):
    round_trip(tmp_path, name)
