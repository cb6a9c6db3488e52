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
    # an unpinned 'torch' (as the archcalc[torch] extra says, torch>=2.1) can pull a multi-GB CUDA build
    "torch": ("PyTorch", "pip install torch==2.13.0 (the CPU build)"),
    "onnx": ("onnx", "pip install onnx"),
    "onnxruntime": ("onnxruntime", "pip install onnxruntime"),
    "numpy": ("NumPy", "pip install numpy"),
    "sklearn.datasets": ("scikit-learn (it ships the digits data)",
                         "pip install 'archcalc[train]', or give --data FILE.npz"),
}


class MissingDependency(SpecError, ImportError):
    """An optional package is not installed; the hint says how to install it."""


def require_all(modules: tuple[str, ...]) -> None:
    """Raise :class:`MissingDependency` naming every one of ``modules`` that is not installed (checked
    without importing them), so a user installs what a command needs in one go."""
    missing = [m for m in modules if not _installed(m.split(".")[0])]
    if missing:
        whats = [INSTALL[m][0] for m in missing]
        listed = whats[0] if len(whats) == 1 else f"{', '.join(whats[:-1])} and {whats[-1]}"
        raise MissingDependency(None, f"this needs {listed}, which {'is' if len(whats) == 1 else 'are'} not "
                                "installed", code="missing-dependency", hint="; ".join(INSTALL[m][1] for m in missing))


def _installed(name: str) -> bool:
    import importlib.util
    import sys

    if name in sys.modules:  # None there means "import fails" (how tests take a package away)
        return sys.modules[name] is not None
    return importlib.util.find_spec(name) is not None


def require(module: str) -> ModuleType:
    """Import ``module`` or raise :class:`MissingDependency` with the install command."""
    try:
        return importlib.import_module(module)
    except ImportError:
        what, how = INSTALL[module]
        raise MissingDependency(None, f"this needs {what}, which is not installed", code="missing-dependency",
                                hint=how) from None
