"""Measure what one real PyTorch training step saves for backward (tests/test_plan.py).

``torch.autograd.graph.saved_tensors_hooks`` sees every tensor an operation saves; each storage is
counted once, parameters and buffers left out (they are model state). Checkpointed units run under
``torch.utils.checkpoint`` (reentrant: it saves the unit's inputs through the same hook), and what
their recomputation saves during the backward pass is measured per unit.
"""

from __future__ import annotations

import torch
from torch.utils.checkpoint import checkpoint


def measure(module: torch.nn.Module, x: torch.Tensor, loss, units: list[str] = ()) -> tuple[int, int]:
    """(bytes saved from the forward pass to the backward pass, the most one unit's recomputation
    saves besides them) for one training step of ``module`` on ``x`` with ``loss(output)``."""
    module.train()
    state = {t.untyped_storage().data_ptr() for t in [*module.parameters(), *module.buffers()]}
    alive: list[torch.Tensor] = []  # keep every saved storage alive, so no address is reused
    forward: dict[int, int] = {}
    recomputed: dict[str, dict[int, int]] = {}
    where = {"phase": "forward", "unit": ""}

    def pack(t: torch.Tensor) -> torch.Tensor:
        storage = t.untyped_storage()
        alive.append(t)
        if storage.data_ptr() in state:
            return t
        if where["phase"] == "forward":
            forward.setdefault(storage.data_ptr(), storage.nbytes())
        elif storage.data_ptr() not in forward:
            recomputed.setdefault(where["unit"], {}).setdefault(storage.data_ptr(), storage.nbytes())
        return t

    for path in units:
        unit = module.get_submodule(path)
        run = unit.forward

        def wrapped(*args, _run=run, _path=path):
            def inner(*a):
                where["unit"] = _path
                return _run(*a)
            return checkpoint(inner, *args, use_reentrant=True)

        unit.forward = wrapped
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = loss(module(x))
        where["phase"] = "backward"
        out.backward()
    return sum(forward.values()), max((sum(r.values()) for r in recomputed.values()), default=0)
