"""One model's analyses (work, receptive fields, activations, memory), each computed on first use.

The ``flops``, ``rf`` and ``summary`` commands build one :class:`Analysis` and read what their
columns need from it, so a command never pays for an analysis it does not show.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING

from archcalc.errors import SpecError, did_you_mean
from archcalc.graph import Node
from archcalc.model import Model
from archcalc.symbolic import Dim

if TYPE_CHECKING:  # the calculators load on first use: params needs none of them
    from archcalc.calc.memory import Memory
    from archcalc.calc.rf import Field, RFWarning
    from archcalc.layers.base import Work


class Analysis:
    """``model`` analysed for ``batch`` examples stored as ``dtype``. ``train_batch`` is the batch of
    the training estimate: the spec's ``train.batch_size`` unless given (``train_source`` says which)."""

    def __init__(self, model: Model, batch: int = 1, dtype: str = "fp32", train_batch: int | None = None):
        self.model = model
        self.graph = model.graph
        self.batch = batch
        self.dtype = dtype
        train = model.spec.train
        if train_batch is None and train is not None:  # the batch_size it gives, or train:'s default
            written = "batch_size" in train.locs
            self.train_batch = train.batch_size
            self.train_source = "the spec's train.batch_size" if written else "the default train.batch_size"
        else:
            self.train_batch, self.train_source = train_batch or batch, ""

    @cached_property
    def work(self) -> dict[Node, Work]:
        """Per example; scale with :meth:`Work.times`."""
        from archcalc.calc.flops import work

        return work(self.graph)

    @property
    def total(self) -> Work:
        return self.work[self.graph.root].times(self.batch)

    @cached_property
    def _rf(self) -> tuple[dict[Node, Field], list[RFWarning]]:
        from archcalc.calc.rf import receptive_fields

        return receptive_fields(self.graph)

    @property
    def fields(self) -> dict[Node, Field]:
        return self._rf[0]

    @property
    def rf_axes(self) -> tuple[str, ...]:
        """The names of the input's positional axes (``H``, ``W``), which have receptive fields; none for an MLP."""
        return next((f.names for f in self.fields.values() if f.names), ())

    @property
    def warnings(self) -> list[RFWarning]:
        return self._rf[1]

    @cached_property
    def warned(self) -> set[Node]:
        return {w.node for w in self.warnings}

    @property
    def final(self) -> Node:
        from archcalc.calc.rf import final_field

        return final_field(self.graph, self.fields)

    @cached_property
    def activations(self) -> dict[Node, Dim]:
        """New tensor elements per node, per example."""
        from archcalc.calc.memory import activations

        return activations(self.graph)

    def memory(self, batch: int) -> Memory:
        from archcalc.calc.memory import memory

        return memory(self.graph, self.model.total_params, self.model.buffers, batch, self.dtype,
                      self.model.spec.train, self.activations, self.model.non_trainable_params)

    def find(self, name: str, option: str = "--at") -> Node:
        """The node at path ``name`` (or the one node called ``name``); a usage error naming ``option``
        otherwise, with a did-you-mean."""
        node = self.graph.find(name)
        if node is not None:
            return node
        nodes = [n for n, _ in self.graph.walk()]
        named = [n for n in nodes if n.name == name]
        if len(named) == 1:
            return named[0]
        if named:
            more = ", …" if len(named) > 3 else ""
            raise SpecError(None, f"{option} {name}: {len(named)} nodes are named '{name}'", code="usage",
                            hint=f"give one's full path: {', '.join(n.path for n in named[:3])}{more}")
        else:
            hint = did_you_mean(name, [n.path for n in nodes]) or \
                "paths are written as in PyTorch (layer4.1.conv2); `archcalc shapes SPEC` lists them"
        raise SpecError(None, f"{option} {name}: the spec has no layer or block '{name}'", code="usage", hint=hint)
