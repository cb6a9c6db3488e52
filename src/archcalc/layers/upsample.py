"""Upsampling by interpolation (PyTorch ``nn.Upsample``): nearest or (bi/tri)linear, by a scale or to a size."""

from __future__ import annotations

import math

from archcalc import symbolic
from archcalc.errors import Loc, SpecError
from archcalc.layers.args import Arg, Bool, Choice
from archcalc.layers.base import (
    KEEP,
    VARIES,
    AxisMap,
    Derivation,
    Layer,
    Shape,
    Up,
    Work,
    derive,
    layer,
    numel,
    shape_text,
)
from archcalc.layers.spatial import AXIS_NAMES
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim

#: the interpolating mode of each number of spatial axes (torch's rule: 'linear' needs [N, C, L], …)
LINEAR = {1: "linear", 2: "bilinear", 3: "trilinear"}
SHAPES = {1: "[C, L]", 2: "[C, H, W]", 3: "[C, D, H, W]"}


class Scales(Arg):
    """One positive number for every spatial axis, or a list of one per axis (torch's ``scale_factor``):
    integers (expressions too) or decimals; normalised to a tuple, sized against the input by the layer."""

    type_name = "number or [numbers]"
    expected = "a positive number or a list of one per spatial axis"

    def convert(self, value: object, loc: Loc) -> object:
        values = value if isinstance(value, tuple) else (value,)
        if not values or len(values) > 3:
            raise self.fail(loc, value)
        return tuple(self.one(v, loc) for v in values)

    def one(self, value: object, loc: Loc) -> object:
        if symbolic.is_symbolic(value):
            value = symbolic.exact(value)
        if symbolic.is_symbolic(value):
            raise SpecError(loc, f"'{self.name}' = {value} is not a number: a scale cannot depend on a free size",
                            code="bad-argument", hint="give the scale as a number, or the output size with 'size'")
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
            raise self.fail(loc, value, "a positive number")
        return int(value) if isinstance(value, float) and value.is_integer() else value


class Sizes(Arg):
    """One output size for every spatial axis, or one per axis: integers ≥ 1 or expressions of symbols."""

    type_name = "int or [ints]"
    expected = "an integer ≥ 1 or a list of one per spatial axis"

    def convert(self, value: object, loc: Loc) -> object:
        values = value if isinstance(value, tuple) else (value,)
        if not values or len(values) > 3:
            raise self.fail(loc, value)
        out = []
        for v in values:
            if symbolic.is_symbolic(v):
                v = symbolic.exact(v)
            if symbolic.is_int(v):
                if v < 1:
                    raise self.fail(loc, value)
            elif not symbolic.is_symbolic(v) or v.is_integer is not True:
                raise self.fail(loc, value, hint="use // for integer division" if symbolic.is_symbolic(v) else None)
            out.append(v)
        return tuple(out)


@layer("upsample")
class Upsample(Layer):
    """Upsampling of a ``[C, L]``, ``[C, H, W]`` or ``[C, D, H, W]`` input (PyTorch ``nn.Upsample``), per channel.

    Give ``scale`` (each axis becomes ⌊n·scale⌋, torch's rule) or ``size``. ``mode: nearest`` (the default)
    repeats each value; ``linear``, ``bilinear`` and ``trilinear`` (for 1, 2 and 3 spatial axes, as torch
    requires) interpolate, with ``align_corners`` as torch's. No parameters.

    Example: ``- upsample: 2`` doubles H and W; ``- upsample: {scale: 2, mode: bilinear}``
    """

    #: KEEPS_RANGE: nearest repeats values and the linear modes weigh two neighbours per axis by t and 1 − t
    #: (torch's bicubic, which overshoots, is not a mode here)
    TRAITS = Trait.LINEAR | Trait.KEEPS_RANGE | Trait.ENLARGES
    PRIMARY = "scale"
    RANKS = (2, 3, 4)
    EXPECTS = "a [C, L], [C, H, W] or [C, D, H, W]"

    scale = Scales(None, doc="multiply each spatial size by this (s or one per axis); the size is ⌊n·s⌋")
    size = Sizes(None, doc="the output's spatial size (n or one per axis), instead of scale")
    mode = Choice(("nearest", "linear", "bilinear", "trilinear"), "nearest",
                  doc="nearest repeats values; linear, bilinear, trilinear interpolate over 1, 2, 3 axes")
    align_corners = Bool(False, doc="interpolating modes: align the corner pixels' centres (torch's flag)")

    def output_shape(self, x: Shape) -> Shape:
        self.check_rank(x)
        return (x[0], *self.spatial_out(x))

    def per_axis(self, arg: str, values: tuple, x: Shape) -> tuple:
        """``values`` of ``arg`` for each spatial axis of ``x``: one for all, or exactly one per axis."""
        rank = len(x) - 1
        if len(values) == 1:
            return values * rank
        if len(values) != rank:
            names = ", ".join(AXIS_NAMES[rank])
            raise self.error(f"'{arg}' gives {len(values)} values for the {rank} spatial "
                             f"{'axis' if rank == 1 else 'axes'} of {shape_text(x)}", arg=arg,
                             hint=f"give one value, or one per axis: [{names}]")
        return values

    def check_arguments(self, x: Shape) -> None:
        rank = len(x) - 1
        if (self.scale is None) == (self.size is None):
            raise self.error("give exactly one of 'scale' and 'size'", arg="size" if self.size is not None else None,
                             hint="upsample: 2 doubles every spatial size; size: [h, w] sets it")
        if self.mode != "nearest" and self.mode != LINEAR[rank]:
            need = next(r for r, mode in LINEAR.items() if mode == self.mode)
            raise self.error(f"mode '{self.mode}' is for {SHAPES[need]} inputs, not {shape_text(x)}", arg="mode",
                             hint=f"use '{LINEAR[rank]}' (or 'nearest') on a {SHAPES[rank]} input")
        if self.mode == "nearest" and self.align_corners:
            raise self.error("align_corners applies to the interpolating modes only", arg="align_corners",
                             hint="remove it, or choose mode linear, bilinear or trilinear")

    def spatial_out(self, x: Shape) -> tuple[Dim, ...]:
        self.check_arguments(x)
        if self.size is not None:
            return self.per_axis("size", self.size, x)
        out = []
        for name, n, s in zip(AXIS_NAMES[len(x) - 1], x[1:], self.per_axis("scale", self.scale, x)):
            if symbolic.is_int(s):
                out.append(n * s)
            elif symbolic.is_int(n):
                out.append(math.floor(float(n) * s))  # torch's own float arithmetic
            else:
                raise self.error(f"{name} × {s} is not a whole number for every {name}: the output size "
                                 f"⌊{name}·{s}⌋ is not one formula", arg="scale",
                                 hint=f"give {symbolic.fmt(n)} a value with --set, or use a whole scale")
            if symbolic.positive(out[-1]) is False:
                raise self.error(f"output {name} would be {out[-1]}: {n} × {s} is below 1", arg="scale",
                                 code="non-positive-size", hint="use a larger scale or input")
        return tuple(out)

    def factors(self, x: Shape) -> tuple[Dim | None, ...]:
        """Per spatial axis the whole factor f with output = f·input, or None where there is none."""
        out = []
        for n, o in zip(x[1:], self.spatial_out(x)):
            if symbolic.is_int(n) and symbolic.is_int(o):
                out.append(o // n if o % n == 0 else None)
            else:
                f = symbolic.simplify(o / n)
                out.append(f if symbolic.is_int(f) else None)
        return tuple(out)

    def geometry(self, x: Shape) -> str:
        """Not a downsampling window: the receptive field reads :meth:`axes`."""
        return VARIES

    def axes(self, x: Shape) -> AxisMap:
        """Channels kept; each spatial axis upsampled by a whole factor f is nearest's window of f, or the
        (bi)linear one's 2f − f mod 2 taps padded ⌈(f − 1)/2⌉ (docs/analysis.md); otherwise it varies."""
        out: list = [((0, KEEP),)]
        for i, f in enumerate(self.factors(x)):
            if f is None or self.align_corners:
                out.append(((i + 1, VARIES),))
            elif self.mode == "nearest":
                out.append(((i + 1, Up(f, f, f - 1)),))
            else:
                k, p = 2 * f - f % 2, (f - 1 + 1) // 2
                out.append(((i + 1, Up(f, k, k - 1 - p)),))
        return tuple(out)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        out = self.spatial_out(x)
        names = AXIS_NAMES[len(x) - 1]
        if self.size is not None:
            return [Derivation("size", "", o, f"{name}_o") for name, o in zip(names, out)]
        lines = []
        for name, n, s, o in zip(names, x[1:], self.per_axis("scale", self.scale, x), out):
            template = f"{{{name}}}×{{s}}" if symbolic.is_int(s) else f"⌊{{{name}}}×{{s}}⌋"
            lines.append(derive(template, o, f"{name}_o", **{name: n, "s": s}))
        return lines

    def work(self, x: Shape, y: Shape) -> Work:
        """Input values read per output (in the pool column): one for nearest, 2 per interpolated axis."""
        taps = 1 if self.mode == "nearest" else 2 ** (len(x) - 1)
        return Work(pool=numel(y) * taps)
