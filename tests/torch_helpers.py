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


def assert_every_backend_gives(model: object, weights: dict, ids: torch.Tensor, expected, tmp_path: Path) -> None:
    """With the real model's ``weights``, the generated torch source (ruff-clean at 88 columns, strict load),
    onnxruntime and the NumPy model each give ``expected`` (a NumPy array of the real model's logits on ``ids``)
    to 1e-5: one check for every importer test that compares all the backends with a real model."""
    import subprocess

    import numpy as np
    import onnxruntime as ort

    from archcalc.backends.numpy import to_numpy
    from archcalc.backends.onnx import to_onnx
    from archcalc.backends.torch.source import emit

    path = tmp_path / "generated.py"
    path.write_text(emit(model), encoding="utf-8")
    for args in (["check", "--isolated", "--select", "E,F,W,I,B,UP,SIM,RUF,N", "--ignore", "N801", str(path)],
                 ["format", "--isolated", "--check", str(path)]):
        proc = subprocess.run([sys.executable, "-m", "ruff", *args], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    generated = import_file(path).build_model().eval()
    assert str(generated.load_state_dict(weights, strict=True)) == "<All keys matched successfully>"
    with torch.no_grad():
        assert np.abs(generated(ids).numpy() - expected).max() <= 1e-5

    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    run = ort.InferenceSession(to_onnx(model, weights).SerializeToString(), options,
                               providers=["CPUExecutionProvider"])
    (got,) = run.run(["output"], {run.get_inputs()[0].name: ids.numpy()})
    assert np.abs(got - expected).max() <= 1e-5

    net = to_numpy(model, seed=0).eval()
    net.load_state_dict({key: weights[key].numpy() for key in net.state_dict()})
    assert np.abs(net.forward(ids.numpy()) - expected).max() <= 1e-5
