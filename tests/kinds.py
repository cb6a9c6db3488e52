"""The per-kind test record: every layer kind's test cases, in one place, for every backend check.

Every kind registered in ``archcalc.layers.LAYERS`` (aliases aside) has one :class:`Kind` entry in
:data:`RECORD` below. Each entry holds the kind's :class:`Case` s and ``torch``, the test harness's own
PyTorch reference for the kind. A case is a small input, the layer as spec text, and what archcalc
must give for it, exactly: trainable parameters, buffers and the output shape (batch excluded).
The checks that read the record, each on every case that applies to it:

============  =======================================================================  ===========
check         what it compares                                                          backends
============  =======================================================================  ===========
``GRAD``      NumPy backward against central finite differences, float64, train and    numpy
              eval mode (tests/test_numpy_gradcheck.py)
``PARITY``    NumPy against ``torch`` below, the same weights, float64, train and      numpy
              eval: outputs, every gradient, running statistics
              (tests/test_numpy_parity.py)
``TORCH``     ``archcalc.to_torch`` against the calculator (parameters, buffers,       torch
              every node's output shape) and its generated source against it, to the
              bit (tests/test_torch_equality.py)
``ONNX``      onnxruntime against ``archcalc.to_torch``, batch 2 and 3                  onnx, torch
              (tests/test_onnx.py)
============  =======================================================================  ===========

tests/test_kinds.py checks the record itself: the entries are exactly the registered kinds; every
case builds, has its kind, and gives the recorded parameters, buffers and output shape; every kind
has a case for every check whose backends support it, and a backend that does not support a case
refuses it as the case records (a located ``export-unsupported`` error, from the runtime builder
and from ``archcalc export``, and no file written).

``torch`` is deliberately not archcalc's torch backend: it is the ``torch.nn`` module a PyTorch user
would write for the layer, given the layer's arguments ``a`` (``a.out``, ``a.kernel``, …, as the
kind's class holds them), its input shape ``x`` (batch excluded) and ``t``, the NumPy module built
for it (only dropout needs it, for the mask the NumPy layer drew). An independent reference is what
makes the NumPy–torch comparison mean something. tests/numpy_torch.py wires these modules into
whole networks (residual, concat) for the kitchen and shipped specs.

Adding a kind
-------------
Add one ``Kind("name", torch=..., cases=(...))`` to :data:`RECORD`, then run
``python -m pytest tests/test_kinds.py`` (it says what is missing) and the four checks
(``-k name`` on tests/test_numpy_gradcheck.py, test_numpy_parity.py, test_torch_equality.py and
test_onnx.py).

- One case per argument family worth its own run (bias off, groups, dilation, ``same`` padding,
  ``ceil_mode`` …), each as small as shows it: every case runs in every check, the gradient
  check perturbs every element of the input and of every parameter.
- ``params``, ``buffers`` and ``out`` are the real library's numbers (``torch.nn``'s own
  parameter count for the module), worked out by hand, not copied from archcalc's output.
- A backend that cannot express the kind yet: ``refuses={"onnx": "<kind>: <the error's message>"}``
  on the ``Kind`` (every case) or on one case (some arguments only). Its checks are then not run
  for those cases; the refusal is tested instead. Backends: ``numpy``, ``torch``, ``onnx``.
- A case that should skip a check for another reason says why: ``skip={PARITY: "why"}``.
- Inputs of integer token ids (an embedding): ``Input((12,), ids=100)``: the checks feed int64
  ids in [0, 100), the gradient check leaves them alone and checks the parameters' gradients.
- Several inputs (cross attention, a kind that merges): ``input=(Input(...), Input(...))`` in the
  order the model takes them, and the whole spec text in ``spec=``; the checks call the model
  with one array per input (ONNX: the graph's inputs in order).
- Looser tolerances for a kind whose float32 ONNX result is further from torch (a long reduction)
  go in ``tol=Tol(onnx=...)``; the NumPy checks are float64 and should stay at 1e-6.
- A kind whose every gradient is zero (``step``) says ``zero_gradient=True``: the parity check then
  demands zero gradients, and otherwise demands non-zero ones (a comparison of zeros proves nothing).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import KW_ONLY, dataclass, field, replace

import numpy as np
import torch
from torch import nn

#: the checks (see the module docstring)
GRAD, PARITY, TORCH, ONNX = "grad", "parity", "torch", "onnx"
CHECKS = (GRAD, PARITY, TORCH, ONNX)
#: the backends each check builds; a case a backend refuses skips the checks that need it
NEEDS: dict[str, tuple[str, ...]] = {GRAD: ("numpy",), PARITY: ("numpy",), TORCH: ("torch",), ONNX: ("onnx", "torch")}
BACKENDS = ("numpy", "torch", "onnx")


@dataclass(frozen=True)
class Input:
    """One input of a case, batch excluded: real numbers, or integer token ids in ``[0, ids)``."""

    shape: tuple[int, ...]
    ids: int | None = None


@dataclass(frozen=True)
class Tol:
    """How close each comparison must be. The torch check has none: the generated source and the
    runtime module are one construction and must agree to the bit."""

    #: relative error ‖a − n‖/(‖a‖ + ‖n‖) of the analytic gradient against finite differences
    grad: float = 1e-6
    #: largest absolute difference, NumPy (float64) against the torch reference (float64)
    parity: float = 1e-6
    #: largest absolute difference, onnxruntime (float32) against archcalc.to_torch (float32)
    onnx: float = 1e-5


@dataclass(frozen=True)
class Case:
    """One network of one layer (or a whole spec in ``spec``) and what archcalc must say about it."""

    #: the input shape, an :class:`Input`, or one :class:`Input` per model input
    input: tuple[int, ...] | Input | tuple[Input, ...]
    #: the layer as a spec writes it (``conv2d: {out: 4, kernel: 3}``)
    layer: str | None
    _: KW_ONLY
    #: trainable parameters, buffers and output shape (batch excluded) archcalc must give
    params: int
    out: tuple[int, ...]
    buffers: int = 0
    #: the test id is the kind's name, or ``kind-name``
    name: str = ""
    #: the whole spec text, for what the one-layer template cannot write (several inputs)
    spec: str = ""
    #: backend → the message of the located error it refuses the case with
    refuses: Mapping[str, str] = field(default_factory=dict)
    #: check → why this case does not run it (a refusal needs no entry here)
    skip: Mapping[str, str] = field(default_factory=dict)
    tol: Tol = Tol()
    #: every gradient of the layer is zero (a step function)
    zero_gradient: bool = False
    #: set by the :class:`Kind` that holds the case
    kind: str = ""

    @property
    def id(self) -> str:
        return f"{self.kind}-{self.name}" if self.name else self.kind

    @property
    def inputs(self) -> tuple[Input, ...]:
        if isinstance(self.input, Input):
            return (self.input,)
        if self.input and all(isinstance(i, Input) for i in self.input):
            return tuple(self.input)
        return (Input(tuple(self.input)),)

    @property
    def text(self) -> str:
        """The spec: ``spec`` when given, else the one-layer spec (the layer at line 3, column 5)."""
        if self.spec:
            return self.spec
        (single,) = self.inputs
        return f"input: {list(single.shape)}\nlayers:\n  - {self.layer}\n"

    def runs(self, check: str) -> bool:
        """Whether ``check`` runs on this case: not skipped, and no backend it needs refuses the case."""
        return check not in self.skip and not set(NEEDS[check]) & set(self.refuses)

    def load(self):
        import archcalc

        return archcalc.loads(self.text)

    def examples(self, batch: int, rng: np.random.Generator, real: Real | None = None) -> list[np.ndarray]:
        return examples(self.inputs, batch, rng, real)


#: (shape with the batch, generator) → an array of real numbers
Real = Callable[[tuple[int, ...], np.random.Generator], np.ndarray]


def examples(inputs: tuple[Input, ...], batch: int, rng: np.random.Generator, real: Real | None = None) -> list:
    """One array per input: float64 from ``real`` (standard normal by default), int64 ids for ids."""
    real = real or (lambda shape, rng: rng.normal(size=shape))
    return [rng.integers(0, i.ids, size=(batch, *i.shape)) if i.ids else real((batch, *i.shape), rng)
            for i in inputs]


def tensors(arrays: list[np.ndarray]) -> list[torch.Tensor]:
    """Arrays as torch tensors in what the exported modules compute with: float32, and int64 ids."""
    return [torch.from_numpy(x if x.dtype == np.int64 else x.astype(np.float32)) for x in arrays]


@dataclass(frozen=True)
class Kind:
    """A layer kind's entry: its cases, its torch reference, and what backends refuse all of it."""

    kind: str
    #: (a, x, t) → the torch.nn module for the layer; None only if no case runs PARITY
    torch: Callable[..., nn.Module] | None
    cases: tuple[Case, ...]
    #: backend → message, for every case (a backend that cannot express the kind at all)
    refuses: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "cases", tuple(replace(c, kind=self.kind, refuses={**self.refuses, **c.refuses})
                                                for c in self.cases))


# -- the torch reference's own modules, for what torch.nn has no class for ------------------------------


class MaskedDropout(nn.Module):
    """Dropout with the mask the NumPy layer drew (torch's generator cannot be reproduced)."""

    def __init__(self, twin):
        super().__init__()
        self.twin = [twin]  # a list, so torch does not register the NumPy object

    def forward(self, x):
        mask = self.twin[0].mask if self.training else None
        return x if mask is None else x * torch.from_numpy(mask)


class Sign(nn.Module):
    def forward(self, x):
        return torch.sign(x)


class GlobalAvgPool(nn.Module):
    def forward(self, x):
        return x.mean((2, 3))


class Fn(nn.Module):
    """A tensor method as a module: the reference for the kinds that only move axes."""

    def __init__(self, fn: Callable[[torch.Tensor], torch.Tensor]):
        super().__init__()
        self.fn = fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(x)


class ClassTokenReference(nn.Module):
    """torchvision VisionTransformer's class token, as its ``forward`` prepends it."""

    def __init__(self, dim: int):
        super().__init__()
        self.class_token = nn.Parameter(torch.zeros(1, 1, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.class_token.expand(x.shape[0], -1, -1), x], dim=1)


class LayerScaleReference(nn.Module):
    """torchvision ConvNeXt's ``layer_scale * block(x)``."""

    def __init__(self, shape: tuple[int, ...], value: float):
        super().__init__()
        self.layer_scale = nn.Parameter(torch.ones(shape) * value)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer_scale * x


class LayerNorm2dReference(nn.Module):
    """torchvision ConvNeXt's ``LayerNorm2d``: permute to channels-last, ``F.layer_norm``, permute back."""

    def __init__(self, channels: int, eps: float, affine: bool, bias: bool):
        super().__init__()
        self.norm = nn.LayerNorm(channels, eps, affine, bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def later(kind: str) -> dict[str, str]:
    """The refusals of a kind the NumPy and ONNX backends do not have yet (issue 12 adds them)."""
    return {"numpy": f"{kind}: the NumPy backend cannot compute this kind yet",
            "onnx": f"{kind}: the ONNX export cannot write this kind yet"}


SAME_POOL = "torch pools take no 'same' padding, so the reference cannot be built either (the gradient check runs)"

# -- the record -----------------------------------------------------------------------------------------

RECORD: tuple[Kind, ...] = (
    Kind("linear", lambda a, x, t: nn.Linear(x[-1], a.out, bias=a.bias), (
        Case((5,), "linear: 3", params=5 * 3 + 3, out=(3,)),
        Case((2, 5), "linear: {out: 3, bias: false}", params=5 * 3, out=(2, 3), name="rank2"),
    )),
    # merge kinds: the harness computes them itself (tests/numpy_torch.py, ``merge``), so no torch module
    Kind("add", None, (
        Case((3, 4), None, params=4 * 4 + 4 + 4 * 1 + 1, out=(3, 4), spec="""input: [3, 4]
layers:
  - add: [[linear: 4], [], [linear: 1]]
"""),
    )),
    Kind("concat", None, (
        Case((3, 4), None, params=4 * 2 + 2 + 4 * 3, out=(3, 9), name="last-axis", spec="""input: [3, 4]
layers:
  - concat: {axis: 1, branches: [[linear: 2], [], [linear: {out: 3, bias: false}]]}
"""),
        Case((2, 3, 3), None, params=2 * 4 + 4, out=(6, 3, 3), name="channels", spec="""input: [2, 3, 3]
layers:
  - concat: [[conv2d: {out: 4, kernel: 1}], []]
"""),
    )),
    Kind("multiply", None, (
        Case((3, 4), None, params=4 * 1 + 1 + 4 * 4 + 4, out=(3, 4), name="broadcast", spec="""input: [3, 4]
layers:
  - multiply: [[], [linear: {out: 1}, sigmoid], [linear: 4, tanh]]
"""),
    )),
    Kind("conv1d", lambda a, x, t: nn.Conv1d(x[0], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups,
                                             a.bias), (
        Case((4, 9), "conv1d: {out: 6, kernel: 3, stride: 2, padding: 1, groups: 2}",
             params=6 * 2 * 3 + 6, out=(6, 5)),
        Case((2, 8), "conv1d: {out: 3, kernel: 2, padding: same, dilation: 2}",
             params=3 * 2 * 2 + 3, out=(3, 8), name="dilated-same"),
    )),
    Kind("conv2d", lambda a, x, t: nn.Conv2d(x[0], a.out, a.kernel, a.stride, a.padding, a.dilation, a.groups,
                                             a.bias), (
        Case((4, 6, 6), "conv2d: {out: 4, kernel: 3, stride: 2, padding: 1, groups: 2}",
             params=4 * 2 * 3 * 3 + 4, out=(4, 3, 3)),
        Case((2, 6, 5), "conv2d: {out: 3, kernel: [2, 3], padding: same, dilation: [1, 2]}",
             params=3 * 2 * 2 * 3 + 3, out=(3, 6, 5), name="dilated-same"),
    )),
    Kind("maxpool2d", lambda a, x, t: nn.MaxPool2d(a.kernel, a.strides, a.padding, a.dilation,
                                                   ceil_mode=a.ceil_mode), (
        Case((2, 7, 7), "maxpool2d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", params=0, out=(2, 4, 4)),
        Case((2, 7, 6), "maxpool2d: {kernel: 2, stride: 1, dilation: 2}", params=0, out=(2, 5, 4), name="dilated"),
        Case((2, 5, 6), "maxpool2d: {kernel: 2, stride: 1, padding: same}", params=0, out=(2, 5, 6),
             name="even-same", skip={PARITY: SAME_POOL}, refuses=dict.fromkeys(
                 ("torch", "onnx"), "maxpool2d: padding 'same' with an even kernel pads one side more, which torch "
                 "pools cannot do")),
    )),
    Kind("avgpool2d", lambda a, x, t: nn.AvgPool2d(a.kernel, a.strides, a.padding, a.ceil_mode,
                                                   a.count_include_pad), (
        Case((2, 7, 7), "avgpool2d: {kernel: 3, stride: 2, padding: 1, ceil_mode: true}", params=0, out=(2, 4, 4)),
        Case((2, 6, 7), "avgpool2d: {kernel: 2, padding: 1, count_include_pad: false}", params=0, out=(2, 4, 4),
             name="exclude-pad"),
        Case((2, 5, 6), "avgpool2d: {kernel: [2, 3], stride: 1, padding: same}", params=0, out=(2, 5, 6),
             name="even-same", skip={PARITY: SAME_POOL}, refuses=dict.fromkeys(
                 ("torch", "onnx"), "avgpool2d: padding 'same' with an even kernel pads one side more, which torch "
                 "pools cannot do")),
    )),
    Kind("adaptive_avgpool2d", lambda a, x, t: nn.AdaptiveAvgPool2d(a.out), (
        Case((2, 7, 5), "adaptive_avgpool2d: {out: [3, 2]}", params=0, out=(2, 3, 2), name="uneven",
             refuses={"onnx": "adaptive_avgpool2d: pooling 7×5 to 3×2 uses windows of different sizes, which ONNX "
                              "cannot express"}),
        Case((2, 6, 4), "adaptive_avgpool2d: {out: [3, 2]}", params=0, out=(2, 3, 2)),
    )),
    Kind("global_avgpool2d", lambda a, x, t: GlobalAvgPool(), (
        Case((3, 4, 4), "global_avgpool2d", params=0, out=(3,)),
    )),
    # buffers: running mean and variance per channel, and one num_batches_tracked
    Kind("batchnorm1d", lambda a, x, t: nn.BatchNorm1d(x[0], a.eps, a.momentum, a.affine), (
        Case((4,), "batchnorm1d", params=2 * 4, buffers=2 * 4 + 1, out=(4,)),
        Case((3, 4), "batchnorm1d: {momentum: 0.5}", params=2 * 3, buffers=2 * 3 + 1, out=(3, 4), name="rank2"),
    )),
    # nn.GroupNorm(G, C): γ and β per channel (2C), no buffers; any rank from [C] up
    Kind("groupnorm", lambda a, x, t: nn.GroupNorm(a.groups, x[0], a.eps, a.affine), (
        Case((4, 3, 3), "groupnorm: 2", params=2 * 4, out=(4, 3, 3)),
        Case((6, 5), "groupnorm: {groups: 3, affine: false, eps: 0.001}", params=0, out=(6, 5), name="plain"),
        Case((4, 2, 2, 2), "groupnorm: {groups: 4, channels: 4}", params=2 * 4, out=(4, 2, 2, 2), name="instance"),
    ), refuses=later("groupnorm")),
    Kind("batchnorm2d", lambda a, x, t: nn.BatchNorm2d(x[0], a.eps, a.momentum, a.affine), (
        Case((3, 4, 4), "batchnorm2d", params=2 * 3, buffers=2 * 3 + 1, out=(3, 4, 4)),
        Case((3, 3, 3), "batchnorm2d: {affine: false}", params=0, buffers=2 * 3 + 1, out=(3, 3, 3),
             name="no-affine"),
    )),
    Kind("dropout", lambda a, x, t: MaskedDropout(t), (
        Case((12,), "dropout: 0.4", params=0, out=(12,)),
    )),
    Kind("flatten", lambda a, x, t: nn.Flatten(a.start % len(x) + 1, a.end % len(x) + 1), (
        Case((2, 3, 3), "flatten", params=0, out=(18,)),
        Case((2, 3, 4), "flatten: {start: 1}", params=0, out=(2, 12), name="start"),
        Case((2, 3, 4, 2), "flatten: {start: -3, end: 2}", params=0, out=(2, 12, 2), name="middle"),
    )),
    # -- axis moves (torch.Tensor methods, wrapped), issue 11 ------------------------------------------
    Kind("reshape", lambda a, x, t: Fn(lambda y: y.reshape(y.shape[0], *a.output_shape(x))), (
        Case((4, 6), "reshape: [2, -1, 3]", params=0, out=(2, 4, 3)),
        Case((2, 3, 4), "reshape: [24]", params=0, out=(24,), name="flat"),
    ), refuses=later("reshape")),
    Kind("permute", lambda a, x, t: Fn(lambda y: y.permute(0, *(d % len(x) + 1 for d in a.dims))), (
        Case((2, 3, 4), "permute: [1, 2, 0]", params=0, out=(3, 4, 2)),
        Case((2, 3), "permute: [-1, 0]", params=0, out=(3, 2), name="negative"),
    ), refuses=later("permute")),
    Kind("transpose", lambda a, x, t: Fn(lambda y: y.transpose(a.dim0 % len(x) + 1, a.dim1 % len(x) + 1)), (
        Case((2, 5), "transpose", params=0, out=(5, 2)),
        Case((2, 3, 4), "transpose: {dim0: 0, dim1: 2}", params=0, out=(4, 3, 2), name="outer"),
    ), refuses=later("transpose")),
    Kind("select", lambda a, x, t: Fn(lambda y: y.select(a.axis % len(x) + 1, a.index)), (
        Case((5, 3), "select", params=0, out=(3,)),
        Case((2, 5, 3), "select: {axis: 1, index: -1}", params=0, out=(2, 3), name="last"),
    ), refuses=later("select")),
    Kind("mean", lambda a, x, t: Fn(lambda y: y.mean(tuple(d % len(x) + 1 for d in a.axes_), a.keepdim)), (
        Case((5, 3), "mean: 0", params=0, out=(3,)),
        Case((2, 3, 4), "mean: {axes: [1, -1], keepdim: true}", params=0, out=(2, 1, 1), name="keepdim"),
    ), refuses=later("mean")),
    # torchvision ViT: class_token = nn.Parameter(torch.zeros(1, 1, hidden_dim)), concatenated before the patches
    Kind("class_token", lambda a, x, t: ClassTokenReference(x[1]), (
        Case((4, 6), "class_token", params=6, out=(5, 6)),
    ), refuses=later("class_token")),
    # torchvision ConvNeXt CNBlock: layer_scale = nn.Parameter(torch.ones(dim, 1, 1) * layer_scale)
    Kind("layer_scale", lambda a, x, t: LayerScaleReference(a.shape(x), a.value), (
        Case((3, 2, 2), "layer_scale", params=3, out=(3, 2, 2)),
        Case((4, 6), "layer_scale: {value: 0.1, axis: -1}", params=6, out=(4, 6), name="last-axis"),
    ), refuses=later("layer_scale")),
    # torchvision.ops.StochasticDepth is the identity in eval mode (tests/test_axis_kinds.py checks training)
    Kind("stochastic_depth", lambda a, x, t: nn.Identity(), (
        Case((3, 4), "stochastic_depth: 0.2", params=0, out=(3, 4)),
        Case((3, 2, 2), "stochastic_depth: {p: 0.5, mode: batch}", params=0, out=(3, 2, 2), name="batch"),
    ), refuses=later("stochastic_depth")),
    Kind("identity", lambda a, x, t: nn.Identity(), (
        Case((2, 3), "identity", params=0, out=(2, 3)),
    )),
    Kind("relu", lambda a, x, t: nn.ReLU(), (Case((2, 6), "relu", params=0, out=(2, 6)),)),
    Kind("relu6", lambda a, x, t: nn.ReLU6(), (Case((2, 6), "relu6", params=0, out=(2, 6)),)),
    Kind("leaky_relu", lambda a, x, t: nn.LeakyReLU(a.slope), (Case((2, 6), "leaky_relu: 0.2", params=0, out=(2, 6)),)),
    Kind("sigmoid", lambda a, x, t: nn.Sigmoid(), (Case((2, 6), "sigmoid", params=0, out=(2, 6)),)),
    Kind("tanh", lambda a, x, t: nn.Tanh(), (Case((2, 6), "tanh", params=0, out=(2, 6)),)),
    Kind("log_softmax", lambda a, x, t: nn.LogSoftmax(dim=a.dim + 1 if a.dim >= 0 else a.dim), (
        Case((3, 4), "log_softmax", params=0, out=(3, 4)),
        Case((3, 4), "log_softmax: {dim: -1}", params=0, out=(3, 4), name="last"),
    )),
    Kind("softmax", lambda a, x, t: nn.Softmax(dim=a.dim + 1 if a.dim >= 0 else a.dim), (
        Case((3, 4), "softmax", params=0, out=(3, 4)),
        Case((3, 4), "softmax: {dim: -1}", params=0, out=(3, 4), name="last"),
    )),
    Kind("gelu", lambda a, x, t: nn.GELU(approximate=a.approximate), (
        Case((2, 6), "gelu", params=0, out=(2, 6)),
        Case((2, 6), "gelu: {approximate: tanh}", params=0, out=(2, 6), name="tanh"),
    )),
    Kind("step", lambda a, x, t: Sign(), (Case((2, 6), "step", params=0, out=(2, 6), zero_gradient=True),)),
    # -- transformers (issue 11); NumPy and ONNX come with issue 12 --------------------------------------
    Kind("embedding", lambda a, x, t: nn.Embedding(a.vocab, a.dim, a.padding_idx), (
        Case(Input((7,), ids=11), "embedding: {vocab: 11, dim: 4}", params=11 * 4, out=(7, 4)),
        Case(Input((7,), ids=11), "embedding: {vocab: 11, dim: 4, padding_idx: 0}", params=11 * 4, out=(7, 4),
             name="padding"),
    ), refuses=later("embedding")),
    Kind("pos_embedding", None, (
        Case((5, 3), None, params=8 * 3, out=(5, 3), spec="""input: [5, 3]
layers:
  - add: [[], [pos_embedding: {positions: 8, dim: 3}]]
"""),
        Case((5, 3), "pos_embedding: {positions: 2, dim: 3, index: first}", params=2 * 3, out=(5, 3), name="first"),
        # torchvision ViT's Encoder: pos_embedding = nn.Parameter(torch.empty(1, seq_length, hidden_dim)), added
        Case((5, 3), "pos_embedding: {positions: 5, add: true}", params=5 * 3, out=(5, 3), name="add"),
        Case((4, 3), "pos_embedding: {positions: 6, dim: 3, add: true}", params=6 * 3, out=(4, 3), name="add-shorter"),
    ), refuses=later("pos_embedding")),
    Kind("layernorm", lambda a, x, t: nn.LayerNorm(x[len(x) - a.axes_:], a.eps, a.affine, a.bias), (
        Case((3, 6), "layernorm", params=2 * 6, out=(3, 6)),
        Case((2, 3, 4), "layernorm: {axes: 2, bias: false, eps: 1.0e-12}", params=3 * 4, out=(2, 3, 4),
             name="two-axes"),
        Case((3, 6), "layernorm: {affine: false}", params=0, out=(3, 6), name="plain"),
        Case((2, 4, 4), "layernorm: {axes: 2}", params=2 * 4 * 4, out=(2, 4, 4), name="square"),  # shape (4, 4)
    ), refuses=later("layernorm")),
    # torchvision ConvNeXt's LayerNorm2d: nn.LayerNorm(C) on the channels-last view, permuted back
    Kind("layernorm2d", lambda a, x, t: LayerNorm2dReference(x[0], a.eps, a.affine, a.bias), (
        Case((4, 3, 5), "layernorm2d: 1.0e-6", params=2 * 4, out=(4, 3, 5)),
        Case((3, 2, 2), "layernorm2d: {bias: false}", params=3, out=(3, 2, 2), name="no-bias"),
        Case((3, 2, 4), "layernorm2d: {affine: false}", params=0, out=(3, 2, 4), name="plain"),
    ), refuses=later("layernorm2d")),
    Kind("rmsnorm", lambda a, x, t: nn.RMSNorm(x[len(x) - a.axes_:], a.eps, a.affine), (
        Case((3, 6), "rmsnorm: {eps: 1.0e-6}", params=6, out=(3, 6)),
        Case((2, 3, 4), "rmsnorm: {axes: 2, affine: false}", params=0, out=(2, 3, 4), name="plain"),
    ), refuses=later("rmsnorm")),
    Kind("attention", None, (
        Case((5, 24), "attention: {heads: 2, causal: true}", params=0, out=(5, 8), name="fused"),
        Case((6, 8), None, params=8 * 8 + 2 * (8 * 4 + 4), out=(6, 8), name="gqa-rotary", spec="""input: [6, 8]
layers:
  - attention:
      heads: 4
      kv_heads: 2
      rotary: half
      causal: true
      branches: [[linear: {out: 8, bias: false}], [linear: 4], [linear: 4]]
"""),
        Case((6, 8), None, params=3 * (8 * 8), out=(6, 8), name="interleaved", spec="""input: [6, 8]
layers:
  - attention:
      heads: 1
      rotary: interleaved
      rotary_dim: 4
      theta: 500000.0
      branches: [[linear: {out: 8, bias: false}], [linear: {out: 8, bias: false}], [linear: {out: 8, bias: false}]]
"""),
    ), refuses=later("attention")),
    Kind("multihead_attention", None, (
        Case((6, 16), "multihead_attention: 4", params=4 * (16 * 16 + 16), out=(6, 16)),
        Case((6, 16), "multihead_attention: {heads: 4, kv_heads: 2, bias: false, causal: true, rotary: half, out: 8}",
             params=16 * 16 + 2 * 16 * 8 + 16 * 8, out=(6, 8), name="gqa"),
        Case((6, 16), "multihead_attention: {heads: 2, head_dim: 4, out_bias: false}",
             params=3 * (16 * 8 + 8) + 8 * 16, out=(6, 16), name="head-dim"),
        # nn.MultiheadAttention(16, 4): in_proj_weight [48, 16], in_proj_bias [48], out_proj 16 → 16
        Case((6, 16), "multihead_attention: {heads: 4, layout: torch}", params=4 * (16 * 16 + 16), out=(6, 16),
             name="torch-layout"),
        Case((5, 8), "multihead_attention: {heads: 2, layout: torch, bias: false, causal: true}",
             params=4 * 8 * 8, out=(5, 8), name="torch-layout-causal"),
    ), refuses=later("multihead_attention")),
    Kind("silu", lambda a, x, t: nn.SiLU(), (Case((2, 6), "silu", params=0, out=(2, 6)),), refuses=later("silu")),
    Kind("hardswish", lambda a, x, t: nn.Hardswish(), (Case((3, 8), "hardswish", params=0, out=(3, 8)),),
         refuses=later("hardswish")),
    Kind("hardsigmoid", lambda a, x, t: nn.Hardsigmoid(), (Case((3, 8), "hardsigmoid", params=0, out=(3, 8)),),
         refuses=later("hardsigmoid")),
    Kind("elu", lambda a, x, t: nn.ELU(a.alpha), (
        Case((2, 6), "elu", params=0, out=(2, 6)),
        Case((2, 6), "elu: 0.5", params=0, out=(2, 6), name="alpha"),
    ), refuses=later("elu")),
    # nn.PReLU(num_parameters): one slope, or one per channel (the axis after the batch)
    Kind("prelu", lambda a, x, t: nn.PReLU(x[0] if a.per_channel else 1, a.slope_init), (
        Case((3, 4, 4), "prelu", params=1, out=(3, 4, 4)),
        Case((3, 4, 4), "prelu: {per_channel: true, init: 0.1}", params=3, out=(3, 4, 4), name="per-channel"),
        Case((5,), "prelu: {per_channel: true}", params=5, out=(5,), name="vector"),
    ), refuses=later("prelu")),
    Kind("mish", lambda a, x, t: nn.Mish(), (Case((2, 6), "mish", params=0, out=(2, 6)),), refuses=later("mish")),
    Kind("softplus", lambda a, x, t: nn.Softplus(a.beta, a.threshold), (
        Case((2, 6), "softplus", params=0, out=(2, 6)),
        Case((2, 6), "softplus: {beta: 2, threshold: 1}", params=0, out=(2, 6), name="threshold"),
    ), refuses=later("softplus")),
)

#: kind → its entry
KINDS: dict[str, Kind] = {entry.kind: entry for entry in RECORD}
#: every case of every kind, in record order
CASES: tuple[Case, ...] = tuple(case for entry in RECORD for case in entry.cases)
#: kind → the torch reference (tests/numpy_torch.py builds whole networks from it)
REFERENCE: dict[str, Callable[..., nn.Module]] = {entry.kind: entry.torch for entry in RECORD if entry.torch}


def cases(check: str) -> list:
    """pytest params: the cases ``check`` runs on, by id."""
    import pytest

    return [pytest.param(case, id=case.id) for case in CASES if case.runs(check)]
