"""What every layer kind is: its arguments, its shape rule, its parameter count, its geometry, its work.

A kind is one class in one file of this package, registered with :func:`layer`. Its methods come in
a fixed order (``output_shape``, ``params``, ``geometry``, ``work``, ``explain_*``) and take the input shape
(batch excluded, channels first). They are written with Python operators only, so the same code
gives exact ints on concrete specs and sympy expressions when symbols are free.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

from archcalc import symbolic
from archcalc.errors import Loc, SpecError
from archcalc.layers.args import Arg, PerAxis
from archcalc.layers.traits import Trait
from archcalc.notation import math_text, operand
from archcalc.symbolic import Dim

Shape = tuple[Dim, ...]

class Registry(Mapping[str, "type[Layer]"]):
    """Every kind by name and alias, its module imported the first time the kind is looked up.

    The names come from a static table (:data:`archcalc.layers.KINDS` and ``ALIASES``), so asking
    whether a name is a kind, listing the names (a did-you-mean, the schema's keys) or iterating
    in a fixed order costs no import; ``archcalc params`` of a CNN imports a dozen kind modules of
    about 90 (importing them all took about 15 ms of a 100 ms command). Each module registers its
    class with :func:`layer` when imported, as a plain module would; tests/test_layers.py holds
    the table equal to the modules present and to what they register.
    """

    def __init__(self) -> None:
        self._modules: dict[str, str] = {}  # name or alias → the module that registers it
        self._classes: dict[str, type[Layer]] = {}  # what the imported modules registered

    def declare(self, kinds: tuple[str, ...], aliases: dict[str, str]) -> None:
        """The table: each kind in the module named after it, each alias in its kind's module."""
        self._modules = {}
        for kind in kinds:  # in the table's order, each kind's aliases after it, as importing them all gave
            self._modules[kind] = kind
            self._modules.update((alias, kind) for alias, of in aliases.items() if of == kind)

    def register(self, name: str, cls: type[Layer]) -> None:
        """``cls`` under ``name``, which the table must give to ``cls``'s module (programming errors)."""
        if name not in self._modules:
            raise RuntimeError(f"layer kind '{name}' is not in archcalc.layers.KINDS (or ALIASES): add it there")
        if f"archcalc.layers.{self._modules[name]}" != cls.__module__:
            raise RuntimeError(f"layer kind '{name}' registered by {cls.__module__}, but archcalc.layers "
                               f"lists it in archcalc.layers.{self._modules[name]}")
        if name in self._classes:
            raise RuntimeError(f"layer kind '{name}' registered twice")
        self._classes[name] = cls

    def __getitem__(self, name: str) -> type[Layer]:
        cls = self._classes.get(name)
        if cls is None:
            module = self._modules[name]  # KeyError: no such kind
            importlib.import_module(f"archcalc.layers.{module}")
            cls = self._classes.get(name)
            if cls is None:
                raise RuntimeError(f"archcalc.layers.{module} does not register layer kind '{name}'")
        return cls

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __iter__(self) -> Iterator[str]:
        return iter(self._modules)

    def __len__(self) -> int:
        return len(self._modules)


#: every kind, by name and alias, imported on first use
LAYERS = Registry()


def layer(kind: str, *aliases: str):
    """Register a layer class under ``kind`` (and ``aliases``); duplicates are a programming error."""

    def register(cls: type[Layer]) -> type[Layer]:
        if cls.TRAITS is None:
            raise RuntimeError(f"layer kind '{kind}' declares no TRAITS (Trait(0) when none applies)")
        cls.kind = kind
        for name in (kind, *aliases):
            LAYERS.register(name, cls)
        return cls

    return register


class Count(NamedTuple):
    """Parameters of one layer or node: trainable ones, buffers (BatchNorm's running statistics) and frozen ones.

    A kind's ``params`` gives its parameters as ``trainable`` (a kind knows nothing of freezing); a node's count
    (:func:`archcalc.calc.params.param_counts`) moves those under ``trainable: false`` to ``frozen``: parameters
    that do not learn, torch's ``requires_grad=False`` and torchinfo's "Non-trainable params". Buffers are
    neither: they are not parameters (Keras, whose batch norm keeps its statistics as non-trainable weights,
    counts them among its non-trainable params; torch and torchinfo do not, and neither does archcalc).
    """

    trainable: Dim = 0
    buffers: Dim = 0
    frozen: Dim = 0

    @property
    def params(self) -> Dim:
        """Every parameter, trainable or frozen: what a module holds (torch's ``parameters()``)."""
        return self.trainable + self.frozen if self.frozen else self.trainable


@dataclass(frozen=True, slots=True)
class Axis:
    """How one spatial axis maps input to output: effective kernel d(k−1)+1, stride, left padding.

    A sliding-window kind's :meth:`Layer.geometry` gives one per spatial axis (1, 2 or 3 of them).
    """

    kernel: Dim
    stride: Dim
    padding: Dim


@dataclass(frozen=True, slots=True)
class Up:
    """How one axis of an upsampling kind (transposed convolution, upsample, pixel shuffle) maps input
    to output, for the receptive field: a stride-1 window of ``kernel`` taps with ``padding`` on the
    left, over the input with ``factor`` − 1 zeros inserted between positions (a transposed
    convolution's own definition). :meth:`Layer.axes` gives it; docs/analysis.md says what the field is.
    """

    factor: Dim
    kernel: Dim
    padding: Dim


class Work(NamedTuple):
    """The arithmetic of one forward pass on one example, by kind (conventions: docs/analysis.md).

    ``macs`` are the multiply-accumulates of convolutions and matrix products (FLOPs = 2·MACs). The
    others count element-wise operations, one per element: bias additions, normalised elements,
    activation outputs, pooling window reads, residual additions (the last counted from the graph).
    """

    macs: Dim = 0
    bias: Dim = 0
    norm: Dim = 0
    act: Dim = 0
    pool: Dim = 0
    add: Dim = 0

    def plus(self, other: Work) -> Work:
        return Work(*(a + b for a, b in zip(self, other)))

    def times(self, n: Dim) -> Work:
        return Work(*(a * n for a in self))


def numel(shape: Shape) -> Dim:
    """Number of elements of a tensor of ``shape`` (batch excluded).

    >>> numel((64, 112, 112))
    802816
    """
    size: Dim = 1
    for d in shape:
        size = size * d
    return size


#: geometry of a layer whose every output depends on the whole input (flatten, linear, global pooling)
GLOBAL = "global"
#: geometry of a layer whose windows differ in size from output to output (adaptive pooling that does not divide)
VARIES = "varies"

#: how an output axis reads an axis of its input (:meth:`Layer.axes`), besides a window (an :class:`Axis`):
#: element by element, saying nothing of what the axis is (activations, normalisation per channel)
KEEP = "keep"
#: every element of the input axis at once: a feature axis (channels); positions read this way become global
MIX = "mix"
#: every position of the input axis at once, the axis being a sequence (a bidirectional recurrent layer, a
#: recurrent layer's last step): the field along it becomes global, and an axis first read this way is
#: positional all the same (MIX would make it a feature axis)
WHOLE = "whole"
#: one position of the input for each position of the output (a linear layer's leading axes)
POINT = Axis(1, 1, 0)

#: per output axis, the input axes it reads and how (an Axis window, an Up window, KEEP, MIX, WHOLE or VARIES)
AxisMap = tuple[tuple[tuple[int, "Axis | Up | str"], ...], ...]


@dataclass(frozen=True, slots=True)
class Derivation:
    """A formula as a student writes it: symbols, then numbers, then the value, then a remark.

    >>> str(Derivation("2×C", "2×64", 128, note="γ and β"))
    '2×C = 2×64 = 128 (γ and β)'
    """

    formula: str
    numbers: str
    value: Dim
    label: str = ""
    #: why the value is what it is, or what else the layer holds, in parentheses after the value
    note: str = ""

    def __str__(self) -> str:
        parts = [self.label, self.formula] if self.label else [self.formula]
        if self.numbers and self.numbers != self.formula:
            parts.append(self.numbers)
        value = math_text(self.value)
        if value != parts[-1]:
            parts.append(value)
        return " = ".join(parts) + (f" ({self.note})" if self.note else "")


_PLACEHOLDER = re.compile(r"\{(\w+)\}")
_LITERAL = re.compile(r"``(.+?)``")


def kind_doc(cls: type) -> str:
    """A kind's docstring as a spec writer reads it (``archcalc layers``, the schema): RST literals as Markdown's."""
    import inspect

    return _LITERAL.sub(r"`\1`", inspect.getdoc(cls) or "")


def derive(template: str, value: Dim, label: str = "", note: str = "", **names: Dim) -> Derivation:
    """``derive("({D_i}×{D})+{D}", 1530, D_i=50, D=30)`` → ``(D_i×D)+D = (50×30)+30 = 1530``.

    >>> str(derive("({D_i}×{D})+{D}", 1530, D_i=50, D=30))
    '(D_i×D)+D = (50×30)+30 = 1530'
    """
    formula = _PLACEHOLDER.sub(lambda m: m.group(1), template)
    numbers = _PLACEHOLDER.sub(lambda m: operand(names[m.group(1)]), template)
    return Derivation(formula, numbers, value, label, note)


def shape_text(shape: Shape) -> str:
    return "[" + ", ".join(symbolic.fmt(d) for d in shape) + "]"


class Layer:
    """Base of every layer kind. Subclasses declare arguments as class attributes of :class:`Arg` types."""

    kind: ClassVar[str] = ""
    #: what the layer does (:class:`~archcalc.layers.traits.Trait`), for lint rules, memory and checks
    #: that reason about behaviour instead of names; every registered kind declares it
    TRAITS: ClassVar[Trait | None] = None
    #: the argument a scalar shorthand sets (``linear: 30`` = ``linear: {out: 30}``)
    PRIMARY: ClassVar[str | None] = None
    #: input ranks the kind accepts (batch excluded), with the shape it expects, for messages
    RANKS: ClassVar[tuple[int, ...] | None] = None
    EXPECTS: ClassVar[str] = ""
    #: spatial axes of a sliding-window kind (1, 2 or 3), which sizes its per-axis arguments
    RANK: ClassVar[int | None] = None
    #: the kind's one parameter is stored under the layer's own name (``class_token``), not as
    #: ``name.weight``: backends register it on the enclosing module, as torchvision's ViT does (a kind
    #: whose arguments decide it, ``pos_embedding`` with ``add``, makes it a property)
    BARE: ClassVar[bool] = False
    #: the kind reads integer ids (an embedding): a model whose first layer does takes ids as input
    READS_IDS: ClassVar[bool] = False
    #: the largest value of the derivative, for saturating kinds where it is below 1 (sigmoid' ≤ 0.25):
    #: a stack of them scales the gradient by at most the product (lint rule A102 says so)
    MAX_SLOPE: ClassVar[float | None] = None
    #: the values the layer can output whatever its input, (low, high) with ±inf for a side left open
    #: (sigmoid's (0, 1), relu's (0, inf)), None when neither side is bounded: a regression whose targets
    #: reach outside cannot be fitted (lint rule T108); a kind whose arguments set it (softcap) makes it a property
    BOUNDS: tuple[float, float] | None = None
    ARGS: ClassVar[dict[str, Arg]] = {}
    #: the spec's ``init:`` (:class:`archcalc.spec.init.LayerInit`; layers with weights only), None for
    #: PyTorch's default initialisation
    init: object = None
    #: the spec's ``weight_norm:`` or ``spectral_norm:`` (:class:`archcalc.spec.reparam.Reparam`; linear and
    #: convolutions only), None for a plain weight
    reparam: object = None

    def __init_subclass__(cls, **kw: object) -> None:
        super().__init_subclass__(**kw)
        args = dict(getattr(cls, "ARGS", {}))
        args.update({v.name: v for v in vars(cls).values() if isinstance(v, Arg)})
        if cls.RANK is not None:  # a rank-generic base's per-axis arguments, sized for this kind
            args = {name: arg.for_rank(cls.RANK) if isinstance(arg, PerAxis) and arg.rank != cls.RANK else arg
                    for name, arg in args.items()}
        cls.ARGS = args

    def __init__(self, values: dict[str, object], loc: Loc, arg_locs: dict[str, Loc] | None = None):
        self.loc = loc
        self.arg_locs = arg_locs or {}
        for name, value in values.items():
            setattr(self, self.ARGS[name].attr, value)

    # -- the kind's rules: override what applies -------------------------------------------------

    @property
    def tells_positions(self) -> bool:
        """Whether the layer gives each position of a sequence or map something of where it is: a table of
        positions, recurrence, a causal mask or rotary angles, windows that overlap or pad. Attention
        reads its input as a set, so with none of these before it the order is lost (lint S113)."""
        return False


    def output_shape(self, x: Shape) -> Shape:
        """The output shape for input shape ``x`` (batch excluded); raise :meth:`error` when invalid."""
        return x

    def params(self, x: Shape) -> Count:
        return Count()

    #: how many of the buffer values are int64 counters (PyTorch's ``num_batches_tracked``), stored
    #: in 8 bytes whatever the model's dtype
    COUNTERS = 0

    def geometry(self, x: Shape) -> tuple[Axis, ...] | str | None:
        """Per spatial axis (those after the channels) how outputs map to inputs; ``None`` pointwise,
        :data:`GLOBAL` all of it, :data:`VARIES` windows of different sizes."""
        return None

    def axes(self, x: Shape) -> AxisMap:
        """For each output axis, the input axes it reads and how: the receptive-field calculator follows
        positions through this (a linear layer on ``[T, D]`` keeps each position of T apart and mixes D).

        The default follows :meth:`geometry`: pointwise kinds keep every axis; sliding-window kinds mix
        the channels and window each spatial axis. Kinds whose geometry is :data:`GLOBAL` say which axes
        they mix, and kinds that move axes (reshape, permute) where each goes.
        """
        geometry = self.geometry(x)
        if geometry is None:
            return tuple(((i, KEEP),) for i in range(len(x)))
        if geometry == VARIES:
            return (((0, MIX),), *(((i, VARIES),) for i in range(1, len(x))))
        if isinstance(geometry, tuple):
            return (((0, MIX),), *(((i + 1, axis),) for i, axis in enumerate(geometry)))
        raise NotImplementedError(f"{self.kind}: a global geometry needs its own axes()")

    def work(self, x: Shape, y: Shape) -> Work:
        """The arithmetic of one forward pass from input ``x`` to output ``y`` (one example).

        Zero by default, which is right only for kinds that move data without computing (reshape,
        identity, dropout at inference); a test holds every other kind to defining its own.
        """
        return Work()

    def explain_params(self, x: Shape) -> Derivation | None:
        return None

    def explain_shape(self, x: Shape) -> list[Derivation]:
        return []

    # -- helpers -----------------------------------------------------------------------------------

    def config(self) -> dict[str, object]:
        """Argument name → normalised value, for backends and reports."""
        return {name: getattr(self, arg.attr) for name, arg in self.ARGS.items()}

    def error(self, message: str, arg: str | None = None, code: str = "bad-argument",
              hint: str | None = None) -> SpecError:
        """A located error about this layer (at ``arg``'s value when given; ``init`` is the layer's ``init:``)."""
        loc = self.init.loc if arg == "init" and self.init is not None else \
            self.arg_locs.get(arg, self.loc) if arg else self.loc
        return SpecError(loc, f"{self.kind}: {message}", code=code, hint=hint)

    def reparametrised(self, x: Shape, count: Count) -> Count:
        """``count`` with what the layer's ``weight_norm:`` or ``spectral_norm:`` adds, torch's count: weight
        norm's magnitude ``g`` among the parameters (its direction ``v`` is the weight's own count), spectral
        norm's ``u`` and ``v`` among the buffers. The kind gives its weight's shape as ``reparam_shape``."""
        if self.reparam is None:
            return count
        params, buffers = self.reparam.extra(self.reparam_shape(x))
        return Count(count.trainable + params, count.buffers + buffers, count.frozen)

    def reparam_explained(self, x: Shape, d: Derivation) -> Derivation:
        """A weighted kind's derivation with its ``weight_norm:`` magnitude added (``+g``, its shape in the note)
        or its ``spectral_norm:`` buffers noted (u and v are not parameters, so the sum is the same)."""
        if self.reparam is None:
            return d
        params, buffers = self.reparam.extra(self.reparam_shape(x))
        if self.reparam.weight_norm:
            note = f"g {shape_text(self.reparam.g_shape(self.reparam_shape(x)))}: weight_norm's magnitude"
            return Derivation(f"{d.formula}+g", f"{d.numbers}+{operand(params)}", d.value, d.label,
                              "; ".join(n for n in (d.note, note) if n))
        note = f"spectral_norm's u and v: {symbolic.fmt(buffers)} buffer values, not parameters"
        return Derivation(d.formula, d.numbers, d.value, d.label, "; ".join(n for n in (d.note, note) if n))

    def check_rank(self, x: Shape) -> None:
        if self.RANKS is not None and len(x) not in self.RANKS:
            raise self.error(f"needs {self.EXPECTS} input, got {shape_text(x)}", code="bad-input-shape",
                             hint=self.rank_hint(x))

    def rank_hint(self, x: Shape) -> str | None:
        return None

    def axis_of(self, arg: str, axis: int, x: Shape) -> int:
        """``axis`` (an :class:`~archcalc.layers.args.AxisIndex`) counted from 0 on input ``x``: ``-1`` on a
        ``[T, D]`` input is 1. Outside the input's axes it is an error at the argument."""
        if not -len(x) <= axis < len(x):
            last = len(x) - 1
            hint = "the input has only one axis: use 0 or -1" if last == 0 else \
                f"use 0..{last} (0 is the first axis after the batch) or -1..-{last + 1}"
            raise self.error(f"axis {axis} is outside an input with {len(x)} {'axis' if len(x) == 1 else 'axes'} "
                             f"({shape_text(x)})", arg=arg, code="bad-argument", hint=hint)
        return axis % len(x)

    def axes_of(self, arg: str, axes: tuple[int, ...], x: Shape) -> tuple[int, ...]:
        """Several axes counted from 0, sorted; naming one axis twice (``[1, -1]`` on ``[C, L]``) is an error."""
        out = [self.axis_of(arg, a, x) for a in axes]
        if len(set(out)) != len(out):
            twice = next(a for a in out if out.count(a) > 1)
            raise self.error(f"names axis {twice} of {shape_text(x)} twice", arg=arg, code="bad-argument",
                             hint="each axis once (negative axes count from the end: -1 is the last)")
        return tuple(sorted(out))

    def check_in(self, arg: str, declared: Dim | None, actual: Dim) -> None:
        """An explicitly declared input size (``in:``) must match the incoming one."""
        if declared is not None and not symbolic.equal(declared, actual):
            raise self.error(f"'{arg}' says {symbolic.fmt(declared)} but the input has {symbolic.fmt(actual)}",
                             arg=arg, code="channel-mismatch",
                             hint=f"remove '{arg}' (it is inferred) or fix the layer before")


class Activation(Layer):
    """Base of the element-wise activations (relu, sigmoid, …): no parameters, shape unchanged."""

    TRAITS = Trait.ACTIVATION

    def work(self, x: Shape, y: Shape) -> Work:
        """One function evaluation per element."""
        return Work(act=numel(y))
