"""Reshape: the same elements in a new shape (batch excluded), one size possibly inferred (-1)."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Dims
from archcalc.layers.base import GLOBAL, KEEP, AxisMap, Derivation, Layer, Shape, derive, layer, numel, shape_text
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


@layer("reshape", "view")
class Reshape(Layer):
    """Each example's elements, in order, laid out in ``shape`` (PyTorch ``x.reshape(N, *shape)``).

    One size may be ``-1``: it is inferred from the others (``[-1, 64]``). Sizes may be expressions of
    symbols (``[T, heads, D // heads]``); the element counts must agree for every value of the symbols.

    Receptive fields: axes whose sizes are unchanged keep their fields; axes that are split or joined
    carry the fields of all the input axes of their group (as ``flatten`` does), element by element.

    Example: ``- reshape: [16, 14, 14]`` (a ``[3136]`` vector as a ``[16, 14, 14]`` map)
    """

    TRAITS = Trait.ALIASES | Trait.LINEAR | Trait.KEEPS_RANGE
    PRIMARY = "shape"

    shape = Dims(doc="the output shape, batch excluded; one size may be -1 (inferred)")

    def output_shape(self, x: Shape) -> Shape:
        total = numel(x)
        known = numel(tuple(d for d in self.shape if not _inferred(d)))
        text = "[" + ", ".join(symbolic.fmt(d) for d in self.shape) + "]"
        if any(_inferred(d) for d in self.shape):
            size = _exact_quotient(total, known)
            if size is None:
                free = symbolic.is_symbolic(total) or symbolic.is_symbolic(known)
                raise self.error(f"cannot reshape {shape_text(x)} ({symbolic.fmt(total)} elements) to {text}: "
                                 f"{symbolic.fmt(total)} is not {'always ' if free else ''}a multiple of "
                                 f"{symbolic.fmt(known)}", arg="shape", code="bad-input-shape",
                                 hint="the sizes other than -1 must multiply to a divisor of the element count"
                                 + (" for every value of the symbols (or give them values with --set)" if free
                                    else ""))
            return tuple(size if _inferred(d) else d for d in self.shape)
        if not symbolic.equal(total, known):
            raise self.error(f"cannot reshape {shape_text(x)} ({symbolic.fmt(total)} elements) to {text} "
                             f"({symbolic.fmt(known)} elements)", arg="shape", code="bad-input-shape",
                             hint="the sizes must multiply to the input's element count; "
                             "write -1 for the one to infer")
        return self.shape

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """Input and output axes grouped where their running products meet; each output axis holds its
        group's input axes element by element. Without such groups (symbols that do not line up) every
        output axis holds every input axis."""
        y = self.output_shape(x)
        groups = _groups(x, y)
        if groups is None:
            return tuple(tuple((i, KEEP) for i in range(len(x))) for _ in y)
        out: list[tuple] = []
        for ins, outs in groups:
            out += [tuple((i, KEEP) for i in ins)] * len(outs)
        return tuple(out)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        if not any(_inferred(d) for d in self.shape):
            return []
        known = numel(tuple(d for d in self.shape if not _inferred(d)))
        return [derive("{N}/{K}", self.output_shape(x)[[_inferred(d) for d in self.shape].index(True)],
                       "-1", note="the element count over the other sizes", N=numel(x), K=known)]


def _inferred(d: Dim) -> bool:
    return symbolic.is_int(d) and d == -1


def _exact_quotient(total: Dim, known: Dim) -> Dim | None:
    """total/known when it is a whole number for every value of the symbols, else None."""
    if symbolic.is_int(total) and symbolic.is_int(known):
        return total // known if total % known == 0 else None
    quotient = symbolic.simplify(total / known)
    if symbolic.is_int(quotient):
        return quotient
    return quotient if symbolic.is_symbolic(quotient) and quotient.is_integer is True else None


def _groups(x: Shape, y: Shape) -> list[tuple[list[int], list[int]]] | None:
    """Pairs of (input axes, output axes) with equal products, in order (size-1 axes at the end join the
    last pair); None when the products cannot be lined up (symbols of unknown order)."""
    groups: list[tuple[list[int], list[int]]] = []
    i = j = 0
    while i < len(x) and j < len(y):
        ins, outs, a, b = [i], [j], x[i], y[j]
        i, j = i + 1, j + 1
        while not symbolic.equal(a, b):
            if _smaller(a, b) and i < len(x):
                a, i = a * x[i], i + 1
                ins.append(i - 1)
            elif _smaller(b, a) and j < len(y):
                b, j = b * y[j], j + 1
                outs.append(j - 1)
            else:
                return None
        groups.append((ins, outs))
    if not all(symbolic.equal(d, 1) for d in (*x[i:], *y[j:])) or not groups:
        return None
    groups[-1][0].extend(range(i, len(x)))
    groups[-1][1].extend(range(j, len(y)))
    return groups


def _smaller(a: Dim, b: Dim) -> bool:
    """a < b when that is known; symbols compare as unknown (False)."""
    difference = symbolic.simplify(b - a)
    return bool(symbolic.is_int(difference) and difference > 0) or \
        (symbolic.is_symbolic(difference) and difference.is_positive is True)
