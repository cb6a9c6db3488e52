"""The PyTorch backend: :func:`to_torch` builds a module, :mod:`.source` writes one as Python,
:mod:`.training` trains it with the spec's ``train:`` section.

torch is optional. Importing this package without it raises
:class:`~archcalc.backends.optional.MissingDependency`, which says how to install it (and makes the
CLI exit 2).
"""

from archcalc.backends.optional import require

require("torch")

from archcalc.backends.torch.build import as_model, build_module, module_plan, to_torch, torch_paths  # noqa: E402

__all__ = ["as_model", "build_module", "module_plan", "to_torch", "torch_paths"]
