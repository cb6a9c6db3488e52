"""Padding of the trailing axes (PyTorch ``nn.ZeroPad1d/2d/3d``, ``nn.ConstantPad1d/2d/3d``,
``nn.ReflectionPad*d``, ``nn.ReplicationPad*d``, ``nn.CircularPad*d``, ``F.pad`` and its modes).

The amounts are written as torch writes them, so they can be copied from a model: a flat list of
(before, after) pairs, the **last** axis first — ``[left, right]``, ``[left, right, top, bottom]``,
``[left, right, top, bottom, front, back]``. Other spellings (``{left: 2}``, one number for every
side) are refused rather than guessed: one number does not say how many axes it pads (torch's
``ZeroPad1d(2)`` pads one axis, ``ZeroPad2d(2)`` two), and a mapping would be a second order to
remember. A negative amount crops, as in torch (``nn.ZeroPad2d(-1)`` removes a row on every side).

``mode`` is F.pad's: ``constant`` adds ``value``; ``reflect``, ``replicate`` and ``circular`` copy the
input's own values, under torch's rules (a reflection shorter than the axis, a wrap at most once
around it, the padded axes the last 1–3 of a tensor with at most one more besides the batch). They
take no negative amounts here: torch's reflect and replicate index the uncropped input while its
circular mode crops first (and reads outside the tensor for some amounts), so a crop there is written
as a constant pad of its own, whose meaning is plain.
"""

from __future__ import annotations

from archcalc import symbolic
from archcalc.errors import Loc, SpecError
from archcalc.layers.args import Arg, Choice, Float
from archcalc.layers.base import KEEP, Axis, AxisMap, Derivation, Layer, Shape, Work, derive, layer, shape_text
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim

#: how the pairs of a pad list are named, the last axis first (torch's documentation's words)
SIDES = (("left", "right"), ("top", "bottom"), ("front", "back"))
#: F.pad's modes; all but constant copy the input's own values
MODES = ("constant", "reflect", "replicate", "circular")
ORDER_HINT = ("torch's order, the last axis first: [left, right] pads the last axis, [left, right, top, bottom] the "
              "last two, [left, right, top, bottom, front, back] the last three")


class PadList(Arg):
    """(before, after) amounts for 1 to 3 trailing axes, the last axis first (torch's ``pad``): 2, 4 or 6
    whole numbers or expressions, negative to crop. Normalised to a tuple; the layer checks it against its
    input. An expression must have a known sign (a pad or a crop whatever the symbols' values): the
    shape rule and every backend need to know which it is."""

    type_name = "[left, right(, top, bottom(, front, back))]"
    expected = "a list of 2, 4 or 6 integers: (before, after) for each padded axis, the last axis first"

    def convert(self, value: object, loc: Loc) -> object:
        if not isinstance(value, tuple):
            hint = ORDER_HINT
            if symbolic.is_int(value):
                hint = (f"one number does not say how many axes it pads: [{value}, {value}] pads the last axis, "
                        f"[{value}, {value}, {value}, {value}] the last two (torch's ZeroPad2d({value}))")
            raise self.fail(loc, value, hint=hint)
        if len(value) not in (2, 4, 6):
            raise self.fail(loc, value, hint=ORDER_HINT)
        return tuple(self.one(v, value, loc) for v in value)

    def one(self, v: object, whole: tuple, loc: Loc) -> Dim:
        if symbolic.is_symbolic(v):
            v = symbolic.exact(v)
        if symbolic.is_int(v):
            return v
        if symbolic.is_symbolic(v) and v.is_integer:
            if v.is_nonnegative or v.is_negative:
                return symbolic.simplify(v)
            raise SpecError(loc, f"'{self.name}' entry {v} may pad or crop depending on "
                            f"{', '.join(sorted(map(str, v.free_symbols)))}", code="bad-argument",
                            hint="give the symbols values with --set, or write an amount whose sign is fixed")
        hint = "use // for integer division" if symbolic.is_symbolic(v) else \
            "each amount is a whole number of positions (negative crops)"
        raise self.fail(loc, whole, "a list of whole numbers", hint=hint)


@layer("pad")
class Pad(Layer):
    """Constant padding of the last 1, 2 or 3 axes (PyTorch ``nn.ZeroPad1d``/``2d``/``3d``, ``nn.ConstantPad*d``,
    ``F.pad(x, pad, value=v)``): ``padding`` lists (before, after) per axis in torch's order, the **last**
    axis first, ``[left, right, top, bottom, front, back]``; each output axis is n + before + after. A
    negative amount crops (torch's rule). No parameters.

    A causal convolution (TCN, WaveNet) pads only the past: ``- pad: [2, 0]`` then ``conv1d: {kernel: 3}``
    (with dilation d, ``[2·d, 0]``): output t then sees inputs t − 2d … t, and the sequence keeps its length.

    ``mode: reflect`` (``nn.ReflectionPad*d``, CycleGAN's generators) mirrors the input at each edge without
    repeating the edge (each amount below the axis's size), ``replicate`` repeats the edge value, ``circular``
    wraps around (each amount at most the axis's size); these take no ``value`` and no negative amounts.

    Example: ``- pad: [1, 2, 0, 3]`` turns ``[C, 8, 8]`` into ``[C, 11, 11]``; ``- pad: {padding: [2, 0], value: -1}``;
    ``- pad: {padding: [1, 1, 1, 1], mode: reflect}``
    """

    TRAITS = Trait.LINEAR  # affine when value ≠ 0, as batch norm (its β) is: what LINEAR means here
    PRIMARY = "padding"

    padding = PadList(doc="(before, after) per padded axis, the last axis first; a negative amount crops")
    #: within float32, which every backend computes in (1e300 would be inf in the tensor)
    value = Float(0.0, doc="the value of the added positions", lo=-3.4028234663852886e38, hi=3.4028234663852886e38)
    mode = Choice(MODES, "constant", doc="F.pad's mode: add value, or copy the input (reflect, replicate, circular)")

    @property
    def rank(self) -> int:
        """How many trailing axes the layer pads."""
        return len(self.padding) // 2

    def pairs(self, x: Shape) -> tuple[tuple[Dim, Dim], ...]:
        """(before, after) for every axis of ``x`` in order (0, 0 for those left alone), checked against ``x``."""
        if self.rank > len(x):
            raise self.error(f"pads {self.rank} axes, but the input {shape_text(x)} has {len(x)}", arg="padding",
                             code="bad-input-shape", hint=ORDER_HINT)
        if self.mode != "constant":
            self.check_copying(x)
        return ((0, 0),) * (len(x) - self.rank) + tuple(reversed(self.padding_pairs()))

    def check_copying(self, x: Shape) -> None:
        """torch's rules for the modes that copy the input (F.pad's reflect, replicate, circular), as located
        errors: no value, the padded axes the last of an input with at most one axis more (torch: a 2–5-D
        tensor, batch included), and amounts the input can give (a reflection shorter than the axis, one
        wrap at most); negative amounts are refused (see the module's docstring)."""
        mode = self.mode
        if "value" in self.arg_locs:
            raise self.error(f"'value' is given but mode is {mode}: only constant padding adds a value", arg="value",
                             hint=f"remove value ({mode} copies the input's own values), or use mode: constant")
        if len(x) > self.rank + 1:
            hint = f"list (before, after) for every axis after the first ({2 * (len(x) - 1)} amounts, 0 where " \
                   "nothing is added), or use mode: constant" if len(x) <= 4 else \
                f"torch pads at most 3 axes in mode {mode}: use mode: constant"
            raise self.error(f"mode {mode} pads {self.rank} axis{'es' if self.rank > 1 else ''} of an input with at "
                             f"most one axis more (torch pads the last 1–3 axes of a 2–5-D tensor, batch included, "
                             f"in this mode), but the input {shape_text(x)} has {len(x)}", arg="padding",
                             code="bad-input-shape", hint=hint)
        for i, (n, pair) in enumerate(zip(x[len(x) - self.rank:], reversed(self.padding_pairs()))):
            axis = len(x) - self.rank + i
            for side, amount in zip(self.side(axis, len(x)), pair):
                self.check_amount(axis, n, side, amount, x)

    def check_amount(self, axis: int, n: Dim, side: str, amount: Dim, x: Shape) -> None:
        """One amount of a copying mode against the size ``n`` of the axis it pads."""
        where = f"axis {axis} ({symbolic.fmt(n)} positions of {shape_text(x)}) by {symbolic.fmt(amount)} ({side})"
        if _crop(amount) != 0:
            raise self.error(f"mode {self.mode} cannot crop: {where}", arg="padding",
                             hint=f"crop with a constant pad before it (negative amounts), then pad with mode "
                                  f"{self.mode} by amounts ≥ 0")
        problem = copy_problem(self.mode, n, amount)
        if problem:
            raise self.error(f"mode {self.mode} pads {where}: {problem[0]}", arg="padding", code="bad-input-shape",
                             hint=problem[1])

    def padding_pairs(self) -> list[tuple[Dim, Dim]]:
        """(before, after) per padded axis in torch's order, the last axis first."""
        return [(self.padding[2 * i], self.padding[2 * i + 1]) for i in range(self.rank)]

    def output_shape(self, x: Shape) -> Shape:
        out = []
        for i, (n, (before, after)) in enumerate(zip(x, self.pairs(x))):
            kept = n + _crop(before) + _crop(after)  # torch narrows by the negative amounts first
            if symbolic.positive(kept) is False:
                side = self.side(i, len(x))
                raise self.error(f"crops axis {i} ({symbolic.fmt(n)} positions of {shape_text(x)}) by "
                                 f"{symbolic.fmt(-_crop(before))} ({side[0]}) and {symbolic.fmt(-_crop(after))} "
                                 f"({side[1]}): nothing of the input would be left", arg="padding",
                                 code="non-positive-size", hint="crop less, or pad instead (amounts ≥ 0)")
            out.append(symbolic.simplify(n + before + after))
        return tuple(out)

    def side(self, axis: int, rank: int) -> tuple[str, str]:
        """How torch's documentation names the two sides of ``axis`` of a rank-``rank`` input."""
        return SIDES[rank - 1 - axis]

    def axes(self, x: Shape) -> AxisMap:
        """Output i of a padded axis reads input i − before (a window of one, shifted as a convolution's padding
        shifts it, so ``pad: [k − 1, 0]`` before an unpadded conv1d has the field of torch's causal layout);
        an axis padded only after its end keeps its positions, so it is KEEP and says nothing of what the
        axis is (a feature axis padded to a multiple stays a feature axis).

        Every mode maps alike: the field is an interior unit's size, jump and start, which the border's
        contents do not move. What a border unit reads differs (zeros, or copies: a reflection reads inside
        the input, a circular pad the far end), as it does for a convolution's padding_mode."""
        out = []
        for i, (before, _) in enumerate(self.pairs(x)):
            out.append(((i, KEEP),) if symbolic.is_int(before) and before == 0 else ((i, Axis(1, 1, before)),))
        return tuple(out)

    def work(self, x: Shape, y: Shape) -> Work:
        """A copy into a larger (or smaller) tensor: no arithmetic (torch.utils.flop_counter counts none)."""
        return Work()

    def explain_shape(self, x: Shape) -> list[Derivation]:
        y = self.output_shape(x)
        lines = []
        for i, (n, (before, after), o) in enumerate(zip(x, self.pairs(x), y)):
            if symbolic.is_int(before) and symbolic.is_int(after) and before == after == 0:
                continue
            first, second = self.side(i, len(x))
            lines.append(derive(f"{{n}}+{{{first}}}+{{{second}}}", o, f"axis {i}", n=n,
                                **{first: before, second: after}))
        return lines


def copy_problem(mode: str, n: Dim, amount: Dim) -> tuple[str, str] | None:
    """Why torch refuses to pad an axis of ``n`` positions by ``amount`` (≥ 0) in ``mode``, and the fix, or
    None: a reflection must be shorter than the axis, a circular pad wraps around once at most (replicate
    needs only a non-empty axis, which every archcalc shape has). Shared by ``pad`` and the convolutions'
    ``padding_mode``. Unknown for free sizes is not a problem: the backends check the real size."""
    if mode == "reflect" and symbolic.positive(n - amount) is False:
        return "a reflection must be shorter than the axis", \
            f"pad at most {symbolic.fmt(n - 1)}, or use replicate or circular"
    if mode == "circular" and symbolic.positive(n - amount + 1) is False:
        return "it would wrap around more than once", f"pad at most {symbolic.fmt(n)}, or use replicate"
    return None


def _crop(amount: Dim) -> Dim:
    """The negative part of an amount (min(amount, 0)): what torch narrows the input by. Amounts have a known
    sign (:class:`PadList`), so this is exact for formulas too."""
    if symbolic.is_int(amount):
        return min(amount, 0)
    return amount if amount.is_negative else 0
