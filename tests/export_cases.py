"""The specs every export test runs on: the shipped ones, the test suite's own, at sizes that keep a
forward pass quick on two cores (fixed-size specs such as VGG-16 run at their own 224×224)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.model import Model
from tests.conftest import ROOT, SPECS, shipped_specs

#: symbol values per spec; a spec not listed keeps its defaults (and gets 32 for a symbol without one)
SIZES = {
    "resnet18": {"H": 64, "W": 64},
    "resnet50": {"H": 64, "W": 64},
    "symbolic-cnn": {"H": 32, "W": 24},
    "symbolic-mlp": {"D_i": 50, "D": 30, "D_o": 3},
    "gpt2": {"T": 16, "V": 101, "P": 16, "D": 32, "heads": 4, "depth": 2},
    "llama-3-8b": {"T": 12, "V": 101, "D": 48, "F": 80, "heads": 6, "kv": 2, "depth": 2},
    "bert-base": {"T": 12, "V": 101, "P": 16, "D": 48, "F": 80, "heads": 6, "depth": 2},
    "lstm-classifier": {"T": 12, "V": 101},
    "unet": {"H": 32, "W": 32},
    "cnn1d-timeseries": {"T": 32},
    "tcn": {"T": 64},
    "vit_b_16": {"D": 32, "heads": 4, "F": 64, "depth": 2},  # its 224×224 input is fixed; the width is not
}
#: fixed-size specs whose forward pass at 224×224 dominates the run: marked slow
LARGE = {"alexnet", "vgg11", "vgg16", "vgg16_bn", "resnet50", "densenet121", "squeezenet1_0", "mobilenet_v3_large",
         "efficientnet_b0", "unet", "convnext_tiny",
         "deep_CNN_asymetry_blocks", "deep_CNN_ineffective_poolings"}  # NeuraLint's VGG-like lint cases


@dataclass(frozen=True)
class Case:
    path: Path
    symbols: dict[str, int] = field(default_factory=dict)

    @property
    def shipped(self) -> bool:
        return self.path.parent == SPECS

    @property
    def id(self) -> str:
        return str(self.path.relative_to(ROOT).with_suffix(""))

    def load(self) -> Model:
        """The spec at concrete sizes; a spec that does not build (a linter fixture) is skipped."""
        try:
            model = archcalc.load(str(self.path), **self.symbols)
            if model.graph.free:
                model = archcalc.load(str(self.path), **self.symbols, **dict.fromkeys(model.graph.free, 32))
        except SpecError as e:
            pytest.skip(f"{self.id} does not build: {e.message}")
        return model


def suite_specs() -> list[Path]:
    """Every spec file under tests/, including the ones other test modules add (not the YAML of the Node
    packages that tests/node installs)."""
    return sorted(p for p in (ROOT / "tests").rglob("*.yaml") if "node_modules" not in p.parts)


def cases() -> list:
    """pytest params for every shipped and test spec; the large ones carry the ``slow`` mark."""
    out = []
    for path in [*shipped_specs(), *suite_specs()]:
        if path.parent.name == "fixtures" and path.stem[:1] == "E" and not path.stem.endswith(".ok"):
            continue  # a linter fixture for a core error: meant not to build

        case = Case(path, SIZES.get(path.stem, {}))
        marks = [pytest.mark.slow] if path.stem in LARGE else []
        out.append(pytest.param(case, id=case.id, marks=marks))
    return out
