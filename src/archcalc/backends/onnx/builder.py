"""Graph → ONNX nodes: the structure (sequences, residual additions, concatenations) and the bookkeeping
(tensor names, weights, constants) that the per-kind emitters in :mod:`.ops` use.

Tensor names are the layers' module paths (``layer2.0.conv1``), so a node in Netron reads like the
spec; weights are initialisers named like the torch ``state_dict`` keys they come from.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from onnx import GraphProto, NodeProto, TensorProto, helper

from archcalc.backends.onnx.ops import OPS
from archcalc.backends.torch.build import torch_paths
from archcalc.errors import SpecError
from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode, SeqNode


def folded(reparam, path: str, weights: Mapping[str, np.ndarray]) -> np.ndarray:
    """The weight a ``weight_norm:`` or ``spectral_norm:`` layer computes in evaluation mode, from its torch
    tensors (``g`` and ``v``; ``weight_orig`` and the stored ``u``, ``v``), in float64: the file holds this one
    weight, as ``torch.onnx.export`` of an evaluation-mode module computes it (an ONNX file does not train, so
    the power iteration, which runs in training mode only, has no place in it)."""
    def get(name: str) -> np.ndarray:
        key = f"{path}.{name}"
        if key not in weights:
            raise KeyError(f"no weight {key!r}: the weights do not belong to this spec")
        return np.asarray(weights[key], dtype=np.float64)

    if reparam.weight_norm:
        g, v = (get(name) for name in reparam.state_names())
        axes = None if reparam.dim is None else tuple(i for i in range(v.ndim) if i != reparam.dim)
        return v * (g / np.sqrt(np.sum(v * v, axis=axes, keepdims=axes is not None)))
    w, u, v = (get(name) for name in reparam.state_names())
    matrix = np.moveaxis(w, reparam.dim, 0).reshape(w.shape[reparam.dim], -1)
    return w / float(u @ matrix @ v)


class Builder:
    """Collects the nodes and initialisers of one ONNX graph while the spec's graph is walked."""

    def __init__(self, graph: Graph, weights: Mapping[str, np.ndarray]):
        self.graph = graph
        self.weights = weights
        self.paths = torch_paths(graph)
        self.nodes: list[NodeProto] = []
        #: initialiser name → its float32 data, added to the model last (a protobuf copy per step is costly)
        self.initializers: dict[str, np.ndarray] = {}
        self.names: set[str] = {"input", "output"}
        #: graph node → the name of its output tensor, for branches that read an earlier node's (``from:``)
        self.outputs: dict[Node, str] = {}

    # -- for the emitters --------------------------------------------------------------------------

    def name(self, wanted: str) -> str:
        """A tensor or node name not used yet."""
        name, n = wanted, 2
        while name in self.names:
            name, n = f"{wanted}_{n}", n + 1
        self.names.add(name)
        return name

    def op(self, op_type: str, inputs: list[str], node: LayerNode, part: str = "", **attributes: object) -> str:
        """Add ``op_type(inputs)`` for ``node`` and return its output's name (the node's path, or
        ``path/part`` for one step of a layer that takes several ops)."""
        path = self.paths.get(node, node.path)  # an inline merge (attention on branches) has no module
        output = self.name(f"{path}/{part}" if part else path)
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output

    def weight(self, node: LayerNode, name: str | None) -> str:
        """The initialiser for the torch parameter or buffer ``<path>.<name>``; ``<path>`` itself for
        ``name`` None (a bare-parameter kind, stored under the layer's own name)."""
        key = self.paths[node] if name is None else f"{self.paths[node]}.{name}"
        if key not in self.names and name == "weight" and getattr(node.layer, "reparam", None) is not None:
            self.initializers[key] = folded(node.layer.reparam, self.paths[node], self.weights).astype(np.float32)
            self.names.add(key)
        if key not in self.names:
            if key not in self.weights:
                raise KeyError(f"no weight {key!r}: the weights do not belong to this spec")
            self.initializers[key] = np.asarray(self.weights[key], dtype=np.float32)
            self.names.add(key)
        return key

    def tied(self, node: LayerNode) -> str:
        """The initialiser of the weight ``node`` ties to (``tie:``): the owner's, one array for both uses."""
        owner = next(n for n in self.graph.layers() if n.path == node.layer.tie)
        return self.weight(owner, "weight")

    def constant(self, node: LayerNode, part: str, value: object, dtype: type = np.float32) -> str:
        """A constant initialiser (``value`` as an array of ``dtype``) named ``path/part``."""
        name = self.name(f"{self.paths.get(node, node.path)}/{part}")
        self.initializers[name] = np.asarray(value, dtype=dtype)
        return name

    def add_initializers(self, graph: GraphProto) -> None:
        """Write the initialisers straight into ``graph`` (``make_graph`` would copy each one twice)."""
        for name, array in self.initializers.items():
            tensor = graph.initializer.add()
            whole = array.dtype == np.int64  # a shape (Reshape's), the one integer constant
            tensor.name, tensor.data_type = name, TensorProto.INT64 if whole else TensorProto.FLOAT
            tensor.dims.extend(array.shape)
            # ONNX stores little-endian
            tensor.raw_data = np.ascontiguousarray(array, dtype="<i8" if whole else "<f4").tobytes()

    def unsupported(self, node: LayerNode, message: str, hint: str | None = None) -> SpecError:
        return SpecError(node.loc, f"{node.kind}: {message}, which ONNX cannot express", code="export-unsupported",
                         hint=hint)

    # -- structure ---------------------------------------------------------------------------------

    def run(self, nodes: list[Node], x: str) -> str:
        for node in nodes:
            x = self.node(node, x)
        return x

    def node(self, node: Node, x: str) -> str:
        """The ops of ``node`` on tensor ``x``; each node's output tensor is kept by node, for a later
        branch that reads it (``from:``)."""
        self.outputs[node] = out = self.ops_of(node, x)
        return out

    def ops_of(self, node: Node, x: str) -> str:
        if isinstance(node, LayerNode):
            return self.ops(node)(self, node, x)
        if isinstance(node, SeqNode):
            return self.run(node.items, x)
        if isinstance(node, ResidualNode):
            return self.residual(node, x)
        assert isinstance(node, MergeNode)
        return self.ops(node)(self, node, [self.node(branch, self.outputs[source] if source is not None else x)
                                           for branch, source in zip(node.branches, node.sources or
                                                                     [None] * len(node.branches))])

    def ops(self, node: LayerNode | MergeNode):
        """The kind's entry in :data:`~.ops.OPS`, or a located error when ONNX export lacks one."""
        entry = OPS.get(node.layer.kind)
        if entry is None:
            raise SpecError(node.loc, f"{node.layer.kind}: the ONNX export cannot write this kind yet",
                            code="export-unsupported", hint="export it --to torch")
        return entry

    def residual(self, node: ResidualNode, x: str) -> str:
        y = self.run(node.body, x)
        other = self.run(node.shortcut.items, x) if node.shortcut is not None else x
        if node.mode != "none":
            y = self.join("Add", [y, other], node)
        return self.run(node.then, y)

    def join(self, op_type: str, inputs: list[str], node: Node, **attributes: object) -> str:
        output = self.name(f"{self.paths.get(node, node.path)}/{op_type.lower()}")  # an inline node has no module
        self.nodes.append(helper.make_node(op_type, inputs, [output], name=output, **attributes))
        return output
