"""The parsed spec: what the user wrote, checked for structure, not yet evaluated.

Names, kinds, argument names and expression syntax are checked while parsing; values are not,
because inside a block they depend on the call. :mod:`archcalc.graph.build` evaluates them.
Every node keeps its :class:`~archcalc.errors.Loc`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

from archcalc.errors import Loc
from archcalc.spec.expr import Expr


class Lit(NamedTuple):
    """A literal number, bool or word (``same``) written in the spec."""

    value: object
    loc: Loc


class ArgList(NamedTuple):
    """A list argument such as ``kernel: [3, 5]``."""

    items: tuple[Value, ...]
    loc: Loc


Value = Lit | Expr | ArgList


class NameTemplate(NamedTuple):
    """A name with parts computed per copy or per use: ``denselayer{i + 1}`` is text and expressions in
    turn (``parts``), each expression evaluated to a whole number where the item is built."""

    text: str
    parts: tuple[str | Expr, ...]
    loc: Loc

    def __str__(self) -> str:
        return self.text


Name = str | NameTemplate


@dataclass(slots=True)
class LayerItem:
    """One layer: a registered kind with its arguments (``conv2d: {out: 64, kernel: 3}``)."""

    kind: str
    args: dict[str, Value]
    name: Name | None
    loc: Loc
    arg_keys: dict[str, Loc] = field(default_factory=dict)  # where each argument's key was written
    source: object = None  # the YAML node of the arguments (a YMap, a scalar, or None), for --fix edits
    init: object = None  # archcalc.spec.init.LayerInit: the layer's init:, for layers with weights
    #: ``trainable:`` as written, a boolean :class:`Lit` (None: inherited from the enclosing item; see :data:`Item`)
    trainable: Lit | None = None
    reparam: object = None  # archcalc.spec.reparam.Reparam: the layer's weight_norm: or spectral_norm:


@dataclass(slots=True)
class BlockCall:
    """A use of a named block with arguments (``stage: {n: 2, c: 64}``). ``inline``: its layers are spliced
    into the caller's sequence, numbered and named there (VGG's flat ``features.N``)."""

    block: str
    args: dict[str, Value]
    name: Name | None
    loc: Loc
    inline: bool = False
    #: the layers given to the block's layer parameters (``mlp: {act: gelu}``, ``wrap: {body: [...]}``)
    layer_args: dict[str, list[Item]] = field(default_factory=dict)
    #: the YAML of each argument, and the block the use is written in: an argument is read as layers or as
    #: a value only once every block's layer parameters are known (a body may use a block defined below it)
    raw: dict[str, object] = field(default_factory=dict, repr=False)
    scope: str | None = None
    trainable: Lit | None = None


@dataclass(slots=True)
class Repeat:
    """``repeat: n`` copies of ``layers``; ``index: i`` names the copy number inside them."""

    count: Value
    index: str | None
    body: list[Item]
    name: Name | None
    loc: Loc
    trainable: Lit | None = None


@dataclass(slots=True)
class Group:
    """A named run of layers (``{name: layer1, layers: [...]}``)."""

    body: list[Item]
    name: Name | None
    loc: Loc
    trainable: Lit | None = None


@dataclass(slots=True)
class Residual:
    """``y = then(body(x) + shortcut(x))``; the shortcut is ``identity``, ``auto``, ``if_same`` or layers.
    ``inline``: its layers are named in the enclosing block, with no level of their own."""

    body: list[Item]
    shortcut: str | list[Item]
    name: Name | None
    loc: Loc
    shortcut_loc: Loc
    then: list[Item] = field(default_factory=list)
    shortcut_name: str = "shortcut"  # torchvision's ResNets call it ``downsample``
    inline: bool = False
    trainable: Lit | None = None


@dataclass(slots=True)
class Merge:
    """Branches run on the same input, their outputs combined by a merge kind (concat, add, multiply,
    attention) with its arguments; an empty branch is the input itself. ``inline`` as for Residual.
    A branch written ``{from: PATH}`` runs on the output of that earlier node instead (a U-Net's skip
    connection): ``sources`` holds those paths, None for a branch on the merge's input."""

    kind: str
    args: dict[str, Value]
    branches: list[list[Item]]
    name: Name | None
    loc: Loc
    branch_locs: list[Loc]
    inline: bool = False
    arg_keys: dict[str, Loc] = field(default_factory=dict)
    sources: list[Name | None] = field(default_factory=list)
    source_locs: list[Loc] = field(default_factory=list)  # where each ``from:`` value is (the branch's otherwise)
    trainable: Lit | None = None


@dataclass(slots=True)
class If:
    """``if: condition`` with ``then:`` and ``else:`` layers: the layers of the branch that holds are spliced
    into the enclosing block. Both branches are parsed and their names checked; only the chosen one is built."""

    condition: Expr
    then: list[Item]
    orelse: list[Item]
    loc: Loc
    name: None = None  # a conditional has no level of its own
    trainable: None = None  # nor a setting of its own: its layers take their own or the enclosing one


@dataclass(slots=True)
class LayerArg:
    """A block parameter written as a layer in the block's body (``- act`` in ``mlp(d, act = relu)``): the
    layers the use passes (a kind, a layer with arguments, a block, or a list of them) take its place."""

    param: str
    name: Name | None
    loc: Loc
    trainable: Lit | None = None


#: Every item but ``if:`` carries ``trainable``: its ``trainable:`` key's value (a boolean :class:`Lit`,
#: located), None when it has none. False freezes the parameters of every layer inside it (their counts move
#: from trainable to frozen, the backends set ``requires_grad_(False)`` and leave them out of the optimizer);
#: an item inside it may say ``trainable: true`` again, and the nearest setting wins (torch's
#: ``requires_grad_(False)`` on a module, then ``requires_grad_(True)`` on part of it).
Item = LayerItem | BlockCall | Repeat | Group | Residual | Merge | If | LayerArg


@dataclass(slots=True)
class Param:
    """A block parameter. ``words`` are the bare words it may carry: those of the arguments the body
    passes it to (``pad(mode)`` with ``padding: mode`` takes ``same`` and ``valid``). A ``layer``
    parameter carries layers instead of a value."""

    name: str
    default: Value | None
    loc: Loc
    words: frozenset[str] = frozenset()
    #: a layer parameter: the body writes it as a layer (``- act``), so a use passes layers
    layer: bool = False
    #: a layer parameter's default (``act = relu``) read as a layer
    layer_default: list[Item] | None = None


@dataclass(slots=True)
class BlockDef:
    """``name(p1, p2 = default): [items]`` under ``blocks:``."""

    name: str
    params: list[Param]
    body: list[Item]
    loc: Loc


@dataclass(slots=True)
class Symbol:
    name: str
    default: int | None
    loc: Loc


@dataclass(slots=True)
class Spec:
    name: str
    path: str
    input: list[Value]
    input_loc: Loc
    symbols: dict[str, Symbol]
    blocks: dict[str, BlockDef]
    layers: list[Item]
    layers_loc: Loc
    train: object | None  # archcalc.spec.train.TrainSpec
    loc: Loc
    source: str = field(repr=False, default="")
    budget: object | None = None  # archcalc.spec.budget.Budget
    data: object | None = None  # archcalc.spec.data.DataSpec: what the inputs are (the ``data:`` section)
