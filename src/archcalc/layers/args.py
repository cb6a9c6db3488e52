"""Typed layer arguments: each layer kind declares its arguments with these, like dataclass fields.

An argument type knows its default, its documentation and how to turn an evaluated value into
the normalised form the layer's formulas use (``kernel: 3`` → ``(3, 3)``). Every refusal names the
argument and echoes the value it received, at the value's location.
"""

from __future__ import annotations

import re

from archcalc import symbolic
from archcalc.errors import Loc, SpecError, choices_hint, did_you_mean

REQUIRED = object()


def yaml_text(value: object) -> str:
    """``value`` as a spec writes it: ``true``, ``false``, ``null``, ``[1, 2]``, ``1e-05``, formulas as text.

    >>> [yaml_text(v) for v in (True, None, (1, 2), 1e-05, "none")]
    ['true', 'null', '[1, 2]', '1e-05', 'none']
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (tuple, list)):
        return "[" + ", ".join(yaml_text(v) for v in value) + "]"
    return repr(value) if isinstance(value, float) else symbolic.fmt(value)


class Arg:
    """Base of all argument types. ``words`` are bare strings accepted as themselves (``same``).

    ``type_name`` is the short form for ``archcalc layers``; ``expected`` is how an error says what the
    argument accepts (``'padding' must be an integer, [ph, pw], 'same' or 'valid', got 'full'``).
    """

    words: tuple[str, ...] = ()
    type_name = "value"
    expected = "a value"

    def __init__(self, default: object = REQUIRED, doc: str = "", key: str | None = None):
        self.default = default
        self.doc = doc
        self.name = key or ""  # the key written in the spec
        self.attr = ""  # the Python attribute (differs for keys like 'in')

    def __set_name__(self, owner: type, name: str) -> None:
        self.attr = name
        self.name = self.name or name

    @property
    def required(self) -> bool:
        return self.default is REQUIRED

    @property
    def normal_default(self) -> object:
        """The default in normalised form (``1`` → ``(1, 1)`` for a pair); None stays None."""
        if self.default is None or self.default is REQUIRED:
            return self.default
        return self.convert(self.default, Loc("<default>", 1, 1))

    def convert(self, value: object, loc: Loc) -> object:
        return value

    def fail(self, loc: Loc, value: object, expected: str | None = None, hint: str | None = None) -> SpecError:
        """``'name' must be …, got …``; the layer being built puts its kind in front (``conv2d: …``)."""
        shown = f"'{value}'" if isinstance(value, str) else yaml_text(value)
        return SpecError(loc, f"'{self.name}' must be {expected or self.expected}, got {shown}", code="bad-argument",
                         hint=hint)

    def word_error(self, word: str, loc: Loc, names: list[str]) -> SpecError | None:
        """The error for an undefined bare name given to this argument, or None to call it an undefined symbol.

        An argument that takes words reads ``padding: full`` as a misspelt word, not as a symbol
        nobody declared; one that takes only numbers reads ``out: cc`` as a symbol. ``names`` are
        the symbols and block parameters in scope, in case the word was meant as one of them.
        """
        if not self.words:
            return None
        return self.fail(loc, word, hint=did_you_mean(word, [*self.words, *names])
                         or f"valid words: {', '.join(self.words)}")


class Int(Arg):
    """An integer (or a positive-integer expression of symbols) with a lower bound."""

    type_name = "int"

    def __init__(self, default: object = REQUIRED, doc: str = "", min: int | None = 1, key: str | None = None):
        super().__init__(default, doc, key)
        self.min = min
        self.expected = "an integer" if min is None else f"an integer ≥ {min}"

    def convert(self, value: object, loc: Loc) -> object:
        return self.one(value, loc)

    def one(self, value: object, loc: Loc) -> object:
        if symbolic.is_symbolic(value):
            value = symbolic.exact(value)
        if symbolic.is_int(value):
            if self.min is not None and value < self.min:
                raise self.fail(loc, value)
            return value
        if symbolic.is_symbolic(value):
            if value.is_integer is not True:
                raise SpecError(loc, f"'{self.name}' = {value} is not always an integer", code="bad-argument",
                                hint="use // for integer division")
            if self.min is not None and self.min >= 1 and value.is_positive is False:
                raise self.fail(loc, value)
            return symbolic.simplify(value)
        if isinstance(value, float) and value.is_integer():
            raise self.fail(loc, value, "an integer (write it without a decimal point)")
        raise self.fail(loc, value)


class Size(Int):
    """An integer count whose refusal says, as its hint, what it counts (``'num_layers': recurrent layers
    stacked``): for arguments whose name alone does not say why 0 is wrong."""

    def fail(self, loc: Loc, value: object, expected: str | None = None, hint: str | None = None) -> SpecError:
        return super().fail(loc, value, expected, hint or f"'{self.name}': {self.doc}")


#: the spatial axes of a 1-, 2- and 3-D window, as argument docs and messages name them
AXES = {1: ("l",), 2: ("h", "w"), 3: ("d", "h", "w")}


def per_axis(letter: str, rank: int) -> str:
    """``k or [k_h, k_w]`` for rank 2: how a per-axis argument is written (one value for a 1-D window).

    >>> per_axis("k", 3), per_axis("s", 1)
    ('k or [k_d, k_h, k_w]', 's')
    """
    if rank == 1:
        return letter
    return f"{letter} or [" + ", ".join(f"{letter}_{a}" for a in AXES[rank]) + "]"


class PerAxis(Int):
    """One integer for every spatial axis, or a list of one per axis (``[h, w]`` in 2-D); normalised
    to a tuple of ``rank`` values. The rank is the layer kind's (``Layer.RANK``): a base class
    declares the argument once and each of its 1-, 2- and 3-D kinds gets a copy bound to its rank
    (:meth:`for_rank`). In the doc string, ``{k}`` stands for the per-axis form (:func:`per_axis`)."""

    def __init__(self, default: object = REQUIRED, doc: str = "", min: int = 1, key: str | None = None,
                 rank: int = 2):
        super().__init__(default, doc, min, key)
        self.template = doc
        self.rank = rank
        self.doc = re.sub(r"\{(\w+)\}", lambda m: per_axis(m.group(1), rank), doc)
        self.expected = f"an integer ≥ {min}" + ("" if rank == 1 else f" or {self.form()}")
        self.type_name = "int" + ("" if rank == 1 else f" or {self.form()}")

    def form(self, prefix: str = "") -> str:
        """The list form of the argument: ``[h, w]``, or with ``prefix`` ``[ph, pw]``."""
        return "[" + ", ".join(prefix + a for a in AXES[self.rank]) + "]"

    def for_rank(self, rank: int) -> PerAxis:
        """A copy of this argument for a kind with ``rank`` spatial axes."""
        twin = type(self)(self.default, self.template, self.min, self.name, rank)
        twin.attr = self.attr
        return twin

    def convert(self, value: object, loc: Loc) -> object:
        if isinstance(value, tuple):
            if len(value) != self.rank:
                count = {1: "one", 2: "two", 3: "three"}[self.rank]
                raise self.fail(loc, value, f"one integer or a list {self.form()} of {count}")
            return tuple(self.one(v, loc) for v in value)
        return (self.one(value, loc),) * self.rank


class Padding(PerAxis):
    """``same``, ``valid``, one integer, or one per axis (symmetric padding per axis)."""

    words = ("same", "valid")

    def __init__(self, default: object = 0, doc: str = "", min: int = 0, key: str | None = None, rank: int = 2):
        super().__init__(default, doc, min, key, rank)
        listed = "" if rank == 1 else f", {self.form('p')}"
        self.expected = f"an integer ≥ 0{listed}, 'same' or 'valid'"
        self.type_name = f"int{listed}, same or valid"

    def convert(self, value: object, loc: Loc) -> object:
        if isinstance(value, str):
            if value not in self.words:
                raise self.fail(loc, value, hint=choices_hint(value, self.words, "words"))
            return (0,) * self.rank if value == "valid" else "same"
        return super().convert(value, loc)


class Float(Arg):
    """A real number in ``[lo, hi)`` (``hi_open``) or ``[lo, hi]``."""

    type_name = "number"
    expected = "a number"

    def __init__(self, default: object = REQUIRED, doc: str = "", lo: float | None = None, hi: float | None = None,
                 hi_open: bool = False, lo_open: bool = False, key: str | None = None):
        super().__init__(default, doc, key)
        self.lo, self.hi, self.hi_open, self.lo_open = lo, hi, hi_open, lo_open

    def convert(self, value: object, loc: Loc) -> object:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise self.fail(loc, value, "a number")
        value = float(value)
        if value != value or value in (float("inf"), float("-inf")):
            raise self.fail(loc, value, "a finite number")
        lo_bad = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        hi_bad = self.hi is not None and (value >= self.hi if self.hi_open else value > self.hi)
        if lo_bad or hi_bad:
            raise self.fail(loc, value, f"in {self.range_text()}",
                            hint=f"'{self.name}' is {self.doc}" if self.doc else None)
        return value

    def range_text(self) -> str:
        lo = "-∞" if self.lo is None else f"{self.lo:g}"
        hi = "∞" if self.hi is None else f"{self.hi:g}"
        return f"{'(' if self.lo_open else '['}{lo}, {hi}{')' if self.hi_open or self.hi is None else ']'}"


class Bool(Arg):
    """``true`` or ``false``. The spec reader follows YAML 1.2, so YAML 1.1's ``yes``/``no``/``on``/``off``
    are words here; since a bool takes no words, they are refused with a hint rather than guessed."""

    type_name = "true or false"
    expected = "true or false"

    def convert(self, value: object, loc: Loc) -> object:
        if not isinstance(value, bool):
            raise self.fail(loc, value)
        return value

    def word_error(self, word: str, loc: Loc, names: list[str]) -> SpecError | None:
        return self.fail(loc, word, hint=yaml11_bool_hint(word) or did_you_mean(word, names))


#: the YAML 1.1 booleans that YAML 1.2 (and so a spec) reads as plain words
_YAML11_BOOLS = {"y": True, "yes": True, "on": True, "n": False, "no": False, "off": False}


def yaml11_bool_hint(value: object) -> str | None:
    """The hint for a YAML 1.1 boolean word (``yes``, ``off``) where a boolean belongs, else None."""
    meant = _YAML11_BOOLS.get(value.lower()) if isinstance(value, str) else None
    return None if meant is None else f"YAML 1.2 reads '{value}' as a word, not a boolean: write {yaml_text(meant)}"


class Choice(Arg):
    """One of a fixed set of words."""

    type_name = "word"

    def __init__(self, words: tuple[str, ...], default: object = REQUIRED, doc: str = ""):
        super().__init__(default, doc)
        self.words = words
        self.type_name = " | ".join(words)
        self.expected = "one of " + ", ".join(f"'{w}'" for w in words)

    def convert(self, value: object, loc: Loc) -> object:
        if value not in self.words:
            raise self.fail(loc, value, hint=choices_hint(str(value), self.words, "words"))
        return value


class LayerPath(Arg):
    """The path of another layer of the network (``transformer.wte``), written as plain text.

    The spec reads the value as text, never as an expression (``text = True``); it is checked
    against the built network afterwards (a path that names no layer is a located error there).
    """

    type_name = "layer path"
    expected = "a layer path such as transformer.wte"
    text = True

    def convert(self, value: object, loc: Loc) -> object:
        if not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*", value):
            raise self.fail(loc, value, hint="name the layer by its path, parts joined by dots (layer4.1.conv2)")
        return value
class AxisIndex(Arg):
    """An axis of the input, batch excluded: 0 is the first (the channels), negative counts from the end.

    Only a number: an axis is a place in the shape, so a symbol (a size) is refused here, and the
    layer checks the number against its input's rank (:meth:`~archcalc.layers.base.Layer.axis_of`).
    """

    type_name = "axis"
    expected = "an axis: an integer, 0 for the first axis after the batch, negative from the end"
    hint = "an axis is a position in the shape, not a size: 0 is the first axis (batch excluded), -1 the last"

    def convert(self, value: object, loc: Loc) -> object:
        return self.one(value, loc)

    def one(self, value: object, loc: Loc) -> int:
        if symbolic.is_symbolic(value):
            value = symbolic.exact(value)
        if not symbolic.is_int(value):
            raise self.fail(loc, value, hint=self.hint)
        return value


class Axes(AxisIndex):
    """One axis or a list of them (``[1, 2]``), normalised to a tuple; the layer checks them against its
    input's rank and refuses repeats."""

    type_name = "axis or [axes]"
    expected = "an axis or a list of axes (integers; 0 is the first axis after the batch, negative from the end)"

    def convert(self, value: object, loc: Loc) -> object:
        values = value if isinstance(value, tuple) else (value,)
        if not values:
            raise self.fail(loc, value, hint="name at least one axis")
        return tuple(self.one(v, loc) for v in values)


class Dims(Arg):
    """A target shape (batch excluded): sizes ≥ 1, symbols and expressions allowed, and at most one ``-1``
    for the size the layer infers (PyTorch's ``reshape`` rule); normalised to a tuple."""

    type_name = "[sizes]"
    expected = "a list of sizes (integers ≥ 1 or expressions, at most one -1)"

    def __init__(self, default: object = REQUIRED, doc: str = "", key: str | None = None):
        super().__init__(default, doc, key)
        self.size = Int(doc=doc, key=key)

    def __set_name__(self, owner: type, name: str) -> None:
        super().__set_name__(owner, name)
        self.size.name = self.name

    def convert(self, value: object, loc: Loc) -> object:
        values = value if isinstance(value, tuple) else (value,)
        if not values:
            raise self.fail(loc, value, hint="give at least one size")
        if sum(symbolic.is_int(v) and v == -1 for v in values) > 1:
            raise self.fail(loc, value, hint="only one size can be -1: the one inferred from the others")
        out = []
        for v in values:
            if symbolic.is_int(v) and v == -1:
                out.append(-1)
                continue
            try:
                out.append(self.size.one(v, loc))
            except SpecError:
                raise self.fail(loc, value, hint="each size is an integer ≥ 1 or an expression of symbols; "
                                "-1 (once) stands for the size inferred from the others") from None
        return tuple(out)
