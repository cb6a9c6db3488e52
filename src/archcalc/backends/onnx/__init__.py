"""``archcalc export SPEC --to onnx``: the model as an ONNX file, built node by node with ``onnx.helper``.

Opset 17 with IR version 8, the oldest IR that opset 17 allows, so current and older onnxruntime
builds load it (onnx 1.23 would stamp IR 14, which runtimes before 1.20 reject). The input is named
``input`` with a symbolic batch dimension ``N`` (int64 token ids when the first layer is an embedding,
float32 otherwise), and a symbolic axis where the spec leaves one free (a sequence length ``T``:
:func:`_free_axes`); the output is ``output``. The graph is exported in
evaluation mode: batch norm uses its running statistics, dropout is the identity.

Weights come from a torch module of the same spec (``archcalc.to_torch``), so ONNX and torch compute
the same function; ``export`` initialises one with a fixed seed, so the same spec gives the same file.
"""

from __future__ import annotations

from collections.abc import Mapping

from archcalc.backends.optional import require

onnx = require("onnx")

import numpy as np  # noqa: E402  (after the check that says how to install onnx)
from onnx import TensorProto, helper  # noqa: E402

from archcalc import __version__  # noqa: E402
from archcalc.backends.onnx.builder import Builder  # noqa: E402
from archcalc.errors import SpecError  # noqa: E402
from archcalc.files import write_atomic  # noqa: E402
from archcalc.model import Model  # noqa: E402

OPSET = 17
IR_VERSION = 8
#: the most one ONNX file can hold: a protobuf message is at most 2 GiB, weights included
MAX_FILE_BYTES = 2**31 - 1
#: the seed of the weights ``export`` writes
SEED = 0


def to_onnx(model: Model, weights: Mapping[str, object] | None = None) -> onnx.ModelProto:
    """The ONNX model of ``model``, checked with ``onnx.checker.check_model(full_check=True)``.

    ``weights`` maps torch ``state_dict`` keys to arrays or tensors (``module.state_dict()``); without
    them, a module is built with torch's initialisation and seed :data:`SEED`.
    """
    return _build(model, weights)[0]


def export(model: Model, path: str, force: bool = False, weights: Mapping[str, object] | None = None) -> None:
    """Write ``model`` as ONNX to ``path`` (never over an existing file unless ``force``), with
    ``weights`` (``state_dict`` keys to arrays) or torch's initialisation at seed :data:`SEED`."""
    write_atomic(path, _build(model, weights)[1], force=force)


def _build(model: Model, weights: Mapping[str, object] | None) -> tuple[onnx.ModelProto, bytes]:
    """The model and its serialised bytes, which the checker reads (so a large model is serialised once)."""
    from archcalc.backends.torch import as_model

    model = as_model(model)
    _check_size(model)
    arrays = {key: _array(value) for key, value in (weights if weights is not None else _initial(model)).items()}
    builder = Builder(model.graph, arrays)
    final = builder.run(model.graph.root.items, "input")
    if builder.nodes and builder.nodes[-1].output[0] == final:
        builder.nodes[-1].output[0] = "output"
    else:  # the model is empty or ends in the input itself
        builder.nodes.append(helper.make_node("Identity", [final], ["output"], name="output"))
    ids = model.input_ids is not None  # token ids for an embedding: int64, as torch.nn.Embedding takes them
    names_in, names_out = _free_axes(model)
    graph = helper.make_graph(builder.nodes, _graph_name(model.name),
                              [_value("input", model.input_shape, ids, names_in)],
                              [_value("output", model.output_shape, False, names_out)])
    proto = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="archcalc",
                              producer_version=__version__)
    proto.ir_version = IR_VERSION
    builder.add_initializers(proto.graph)
    data = proto.SerializeToString()
    onnx.checker.check_model(data, full_check=True)
    return proto, data


def _check_size(model: Model) -> None:
    """Refuse, before a single weight is made, a model whose weights do not fit in one ONNX file.

    A protobuf message holds at most 2 GiB, and building the weights takes a few times their size in
    memory: Llama 3 8B's 32 GB would be built for minutes and then fail to serialise. The error is placed
    at the layer that holds the most weights, which is what a smaller ``--set`` has to shrink."""
    size = 4 * model.weights()  # float32
    if size <= MAX_FILE_BYTES:
        return
    largest = model.heaviest_layer()
    raise SpecError(largest.loc, f"the ONNX file would hold {size / 1e9:.1f} GB of float32 weights, and one ONNX "
                    f"file holds at most 2 GiB (this layer alone holds {4 * model.weights(largest):,} "
                    "bytes)", code="resource-limit",
                    hint="export a smaller configuration of the same network with --set (fewer layers, a smaller "
                         "vocabulary or width), as the ONNX tests do")


def _initial(model: Model) -> Mapping[str, object]:
    torch = require("torch")
    from archcalc.backends.torch import build_module

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(SEED)
        return build_module(model.graph).state_dict()


def _array(value: object) -> np.ndarray:
    detach = getattr(value, "detach", None)
    return np.asarray(detach().cpu().numpy() if detach else value)


def _value(name: str, shape: tuple, ids: bool = False, free: Mapping[int, str] | None = None) -> onnx.ValueInfoProto:
    """The tensor's type: the batch ``N``, then each axis's size, or its symbol's name where it is free."""
    free = free or {}
    return helper.make_tensor_value_info(name, TensorProto.INT64 if ids else TensorProto.FLOAT,
                                         ["N", *(free.get(i, int(d)) for i, d in enumerate(shape))])


#: kinds whose ops hold a shape read at export (a Reshape's target, a pooling window): a graph with one
#: keeps every axis at its exported size
FIXED_SHAPES = frozenset({"reshape", "flatten", "groupnorm", "adaptive_avgpool2d"})


def _free_axes(model: Model) -> tuple[dict[int, str], dict[int, str]]:
    """Input and output axes (batch excluded) that the spec leaves free, by the name of their symbol.

    An input axis written as a bare symbol (``input: [T]``) is free when the spec builds with that symbol
    one smaller and one larger (where it can), with the same parameters, and no op holds an exported
    shape (:data:`FIXED_SHAPES`): the graph reads the length from its input (positions, masks, rotary
    angles), as GPT-2's, BERT's and Llama's do. Output axes whose size moves with it are free too."""
    import ast

    from archcalc.graph import build_graph

    graph, spec = model.graph, model.spec
    if any(node.layer.kind in FIXED_SHAPES for node in graph.layers()) or not spec.input:
        return {}, {}
    free_in: dict[int, str] = {}
    free_out: dict[int, str] = {}
    for axis, dim in enumerate(spec.input):
        name = dim.tree.id if isinstance(getattr(dim, "tree", None), ast.Name) else None
        value = graph.symbols.get(name) if name else None
        if not isinstance(value, int) or value < 2:
            continue
        try:
            other = build_graph(spec, {**graph.symbols, name: value - 1})
        except SpecError:
            continue
        if Model(other).total_params != model.total_params or len(other.output_shape) != \
                len(graph.output_shape):
            continue
        free_in[axis] = name
        free_out.update({i: name for i, (a, b) in enumerate(zip(graph.output_shape, other.output_shape)) if a != b})
    return free_in, free_out


def _graph_name(name: str) -> str:
    return name if name.isprintable() else "model"


__all__ = ["IR_VERSION", "OPSET", "SEED", "export", "to_onnx"]
