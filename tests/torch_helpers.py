"""Helpers for the torch and ONNX tests: import a generated file, make batch norm non-trivial."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import torch
from torch import nn


def import_file(path: Path) -> ModuleType:
    """Import a generated file as a module of its own (as a user's ``import model`` would)."""
    name = f"generated_{path.stem.replace('-', '_')}_{abs(hash(str(path)))}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def randomize_norms(module: nn.Module, seed: int = 0) -> None:
    """Give every batch and instance norm running statistics (where it keeps them) and an affine transform far
    from the identity, so a comparison in evaluation mode shows a wrong epsilon, momentum or argument order."""
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for norm in module.modules():
            if isinstance(norm, nn.modules.batchnorm._NormBase):  # batch and instance norm
                size = (norm.num_features,)
                if norm.running_mean is not None:
                    norm.running_mean.copy_(torch.randn(size, generator=generator) * 0.5)
                    norm.running_var.copy_(torch.rand(size, generator=generator) * 1.5 + 0.5)
                if norm.affine:
                    norm.weight.copy_(torch.rand(size, generator=generator) + 0.5)
                    norm.bias.copy_(torch.randn(size, generator=generator) * 0.2)
