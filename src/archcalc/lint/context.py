"""What a rule's ``check(ctx)`` sees: the built model, its spec, source and YAML tree, and shared views of it.

Views that several rules need (the runs of layers, the output layer, parameter counts, the spec's
layer items by location, receptive fields, the YAML nodes that aliases and merge keys share) are
computed once per file, on first use.
"""

from __future__ import annotations

from functools import cached_property

from archcalc.calc.rf import Field, RFWarning, receptive_fields
from archcalc.errors import Loc
from archcalc.graph.nodes import Graph, LayerNode, Node
from archcalc.layers import LAYERS
from archcalc.layers.traits import Trait
from archcalc.lint import fixes, structure
from archcalc.lint.diagnostic import Edit
from archcalc.model import Model
from archcalc.spec.ast import LayerItem, Spec
from archcalc.spec.source import YMap, YNode
from archcalc.spec.train import TrainSpec

#: the ``train:`` keys that say what the network learns. A section without any of them gives only the
#: optimizer's settings (a GAN generator's, trained through another network's loss): its loss is archcalc's
#: default, cross_entropy, which nobody chose, so the rules about the loss do not judge it
OBJECTIVE_KEYS = ("loss", "task", "classes", "multi_label", "target_range", "class_axis")


class Context:
    def __init__(self, path: str, source: str, model: Model, root: YNode, partial: bool = False):
        self.path = path
        self.source = source
        self.model = model
        self.root = root
        #: the model is the prefix that built before a core error: its last layer is not the network's output
        self.partial = partial

    @property
    def spec(self) -> Spec:
        return self.model.spec

    @property
    def graph(self) -> Graph:
        return self.model.graph

    @property
    def train(self) -> TrainSpec | None:
        return self.spec.train  # type: ignore[return-value]

    @property
    def objective(self) -> TrainSpec | None:
        """The ``train:`` section when it says what the network learns (:data:`OBJECTIVE_KEYS`), else None:
        what the rules about the loss and the task read."""
        train = self.train
        return train if train is not None and any(key in train.locs for key in OBJECTIVE_KEYS) else None

    @cached_property
    def chains(self) -> list[list[Node]]:
        return structure.chains(self.graph)

    @cached_property
    def output_run(self) -> list[LayerNode]:
        return structure.output_run(self.graph)

    @property
    def output_layer(self) -> LayerNode | None:
        return self.output_run[-1] if self.output_run else None

    @property
    def output_head(self) -> LayerNode | None:
        """The last layer with weights at the model's end (its ``out`` sets the output's width), or None."""
        return next((node for node in reversed(self.output_run) if Trait.WEIGHTED in node.layer.TRAITS), None)

    @cached_property
    def receptive_fields(self) -> tuple[dict[Node, Field], list[RFWarning]]:
        """Every node's receptive field and the joins whose paths disagree (:mod:`archcalc.calc.rf`)."""
        return receptive_fields(self.graph)

    @cached_property
    def layers(self) -> list[LayerNode]:
        return list(self.graph.layers())

    @cached_property
    def _items(self) -> dict[tuple[int, int], LayerItem]:
        return structure.layer_items(self.spec)

    def item(self, node: LayerNode) -> LayerItem | None:
        """The spec item a layer node was built from (None for layers archcalc added, such as projections)."""
        item = self._items.get((node.loc.line, node.loc.col))
        return item if item is not None and LAYERS.get(item.kind) is type(node.layer) else None

    @cached_property
    def text(self) -> fixes.Text:
        return fixes.Text(self.source)

    @cached_property
    def shared(self) -> frozenset[int]:
        return fixes.shared_nodes(self.root)

    def set_argument(self, item: LayerItem, arg: str, value: str) -> tuple[Edit, ...] | None:
        """Edits that make ``item``'s ``arg`` read ``value``, or None when that cannot be done safely (see
        :func:`fixes.set_argument`): never in YAML that an alias or merge key shares with other places."""
        return fixes.set_argument(item, arg, value, self.text, LAYERS[item.kind].PRIMARY, self.shared)

    def shares(self, item: LayerItem) -> bool:
        """Whether ``item``'s arguments are YAML used in other places too: an alias, or a merge key's mapping."""
        node = item.source
        return id(node) in self.shared or (isinstance(node, YMap) and any(id(k) in self.shared for k, _ in node.items))

    def arg_loc(self, node: LayerNode, arg: str) -> Loc:
        """Where ``arg`` of a layer was written, or the layer itself when it was left at its default."""
        return node.layer.arg_locs.get(arg, node.loc)

    def train_loc(self, key: str) -> Loc:
        """Where a ``train:`` key's value was written, or the ``train:`` section when it was left out."""
        train = self.train
        assert train is not None
        return train.locs.get(key, train.loc)

