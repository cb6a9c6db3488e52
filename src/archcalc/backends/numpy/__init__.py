"""The NumPy backend: every layer kind with its forward and backward pass, PyTorch's losses and
optimizers, a training loop, and a standalone export, all in plain NumPy.

    >>> import archcalc
    >>> from archcalc.backends.numpy import to_numpy
    >>> net = to_numpy(archcalc.loads("input: [50]\\nlayers: [linear: 30, relu, linear: 3]"), seed=0)
    >>> sum(p.size for p in net.parameters())
    1623

``layers``, ``structures``, ``losses``, ``optim`` and ``training`` (one step, evaluation, ``fit``
over the shared loop of :mod:`archcalc.training.loop`) import only NumPy and that loop (the export
copies them); ``build`` maps spec layers onto them; ``source`` writes the standalone file;
``trainer`` is what ``archcalc train --backend numpy`` runs. See docs/numpy.md.
"""

from __future__ import annotations


def to_numpy(model, seed=None, dtype="float32"):
    """Build ``model`` (an :class:`archcalc.Model`) as NumPy modules initialised like PyTorch's."""
    from archcalc.backends.numpy.build import build_model

    model.require_values("build the network")
    return build_model(model.graph, seed, dtype)
