"""Trained weights from a file: what ``archcalc train -o weights.npz`` writes, read back for
``archcalc export --to onnx --weights weights.npz``.

The file holds one array per ``state_dict`` key (``layer2.0.conv1.weight``, batch norm's running
statistics and ``num_batches_tracked`` included), as both training backends save them. Reading
checks it against the spec before anything is exported: every key the network has, no key it
lacks, every shape equal, numbers only, so weights from another spec (or another ``--set``) are a
located error rather than a model that computes something else.
"""

from __future__ import annotations

import numpy as np

from archcalc.errors import Loc, SpecError
from archcalc.layers.base import shape_text
from archcalc.limits import Limits
from archcalc.model import Model
from archcalc.spec.train import FLOAT32_MAX

HINT = "use the file 'archcalc train SPEC -o weights.npz' wrote for this spec (with the same --set values)"


def read_weights(path: str, model: Model, limits: Limits | None = None) -> dict[str, np.ndarray]:
    """The arrays in ``path``, each checked against ``model``'s parameters and buffers (the file bounded by
    ``limits.max_data_bytes``)."""
    from archcalc.backends.numpy import to_numpy
    from archcalc.data import read_npz

    where = Loc(path, 1, 1)
    arrays = read_npz(path, "weights are saved with numpy.savez(path, **state_dict)", limits)
    expected = {key: value.shape for key, value in to_numpy(model).state_dict().items()}
    missing = [key for key in expected if key not in arrays]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise SpecError(where, f"has no weights for {missing[0]}{more}", code="data-mismatch", hint=HINT)
    extra = [key for key in arrays if key not in expected]
    if extra:
        more = f" (and {len(extra) - 1} more)" if len(extra) > 1 else ""
        raise SpecError(where, f"holds {extra[0]}{more}, which {model.name} has no place for", code="data-mismatch",
                        hint=HINT)
    for key, shape in expected.items():
        array = arrays[key]
        if array.shape != shape:
            raise SpecError(where, f"{key} is {shape_text(array.shape)} but {model.name}'s is {shape_text(shape)}",
                            code="data-mismatch", hint=HINT)
        if array.dtype.kind not in "fiu":
            raise SpecError(where, f"{key} holds {array.dtype} values, not numbers", code="bad-data", hint=HINT)
        if array.dtype.kind == "f" and not np.isfinite(array).all():
            raise SpecError(where, f"{key} holds NaN or infinite values", code="bad-data",
                            hint="the training run that saved it diverged; train again with a lower learning rate")
        if array.size and array.dtype.kind == "f" and (largest := float(np.abs(array).max())) > FLOAT32_MAX:
            raise SpecError(where, f"{key} holds values beyond float32 (up to {largest:.3g}; float32 stops at "
                            f"{FLOAT32_MAX:.3g}), which the models compute in", code="bad-data",
                            hint="the training run that saved it diverged; train again with a lower learning rate")
    return arrays
