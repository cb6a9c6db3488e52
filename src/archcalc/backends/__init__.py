"""Backends turn a built graph into something that runs: a PyTorch module, an ONNX file, NumPy code.

Each backend keeps a table from layer kind to emitter, one entry per kind, and a test checks that
every registered kind has an entry. ``EXPORTERS`` lists what ``archcalc export --to`` can write;
each entry names a module whose ``export(model, path, force)`` writes the file.
"""

from __future__ import annotations

#: --to target → (module, function, default file suffix)
EXPORTERS: dict[str, tuple[str, str, str]] = {
    "torch": ("archcalc.backends.torch.source", "export", ".py"),
    "onnx": ("archcalc.backends.onnx", "export", ".onnx"),
    "numpy": ("archcalc.backends.numpy.source", "export", ".py"),
}
