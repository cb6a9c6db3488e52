"""archcalc: exact shapes, parameter counts and more for neural networks written as YAML specs.

    >>> import archcalc
    >>> model = archcalc.loads("input: [50]\\nlayers: [linear: 30, relu, linear: 3]")
    >>> model.trainable_params
    1623
"""

from __future__ import annotations

from archcalc.errors import Loc, SpecError
from archcalc.model import Model, load, loads

__version__ = "0.1.0"


def to_torch(spec, **symbols):
    """Build a ``torch.nn.Module`` from a :class:`Model`, a spec path or a parsed spec (needs torch).

    Keyword arguments set symbols for a path or a spec: ``to_torch("specs/resnet50.yaml", H=64, W=64)``.
    """
    from archcalc.backends.torch import to_torch as build

    return build(spec, **symbols)


__all__ = ["Loc", "Model", "SpecError", "__version__", "load", "loads", "to_torch"]
