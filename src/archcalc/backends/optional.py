"""Optional dependencies: torch, onnx, onnxruntime, NumPy and scikit-learn are extras, imported only by the
commands that need them.

``import archcalc`` and every command that does not export or train work without them. A command that
needs one raises :class:`MissingDependency`, a :class:`SpecError` (so the CLI prints it and exits 2)
that is also an :class:`ImportError` (so Python callers can catch it the usual way).
"""

from __future__ import annotations

import importlib
from types import ModuleType

from archcalc.errors import SpecError

#: module → how to install it (pinned where an unpinned install pulls a multi-GB CUDA build)
INSTALL = {
    "torch": ("PyTorch", "pip install torch==2.13.0 (the CPU build), or pip install 'archcalc[torch]'"),
    "onnx": ("onnx", "pip install onnx, or pip install 'archcalc[onnx]'"),
    "onnxruntime": ("onnxruntime", "pip install onnxruntime, or pip install 'archcalc[onnx]'"),
    "numpy": ("NumPy", "pip install 'archcalc[train]'"),
    "sklearn.datasets": ("scikit-learn (it ships the digits data)",
                         "pip install 'archcalc[train]', or give --data FILE.npz"),
}


class MissingDependency(SpecError, ImportError):
    """An optional package is not installed; the hint says how to install it."""


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` with the install command."""
    try:
        return importlib.import_module(module)
    except ImportError:
        what, how = INSTALL[module]
        raise MissingDependency(None, f"this needs {what}, which is not installed", code="missing-dependency",
                                hint=how) from None
