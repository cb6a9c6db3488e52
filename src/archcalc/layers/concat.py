"""Concatenation of branches along one axis: the channels by default (Inception, DenseNet)."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import AxisIndex
from archcalc.layers.base import Derivation, Shape, layer, shape_text
from archcalc.layers.merge import Merge
from archcalc.layers.traits import Trait
from archcalc.notation import math_text


@layer("concat")
class Concat(Merge):
    """Joins the branches' outputs along one axis (PyTorch ``torch.cat``); every other axis must agree.

    ``axis: 0`` (the default) stacks channels, as Inception and DenseNet do; ``axis: 0`` of a
    ``[T, D]`` sequence prepends tokens. An empty branch (``[]``) passes the input itself.

    Example: ``- concat: [[conv2d: {out: 64, kernel: 1}], [conv2d: {out: 32, kernel: 3, padding: 1}]]``
    """

    TRAITS = Trait.LINEAR

    axis = AxisIndex(0, doc="the axis to join along (batch excluded); 0 = channels, negative counts from the end")

    def merge_shape(self, xs: list[Shape]) -> Shape:
        first = xs[0]
        a = self.axis_of("axis", self.axis, first)
        where = "along channels" if a == 0 else f"along axis {a}"
        for i, x in enumerate(xs):
            others = (symbolic.equal(p, q) for j, (p, q) in enumerate(zip(x, first)) if j != a)
            if len(x) != len(first) or not all(others):
                hint = f"branches are joined {where}, so every other dimension must agree"
                pairs = [(p, q) for j, (p, q) in enumerate(zip(x, first)) if j != a and not symbolic.equal(p, q)]
                if len(x) == len(first) and pairs and all(symbolic.differ(p, q) is None for p, q in pairs):
                    hint += "; " + _some_values(pairs)
                elif len(x) == len(first) and pairs and all(_one_apart(p, q) for p, q in pairs):
                    hint += ("; one row apart: a branch that pooled an odd size and upsampled it back lost one "
                             "(25 → 12 → 24): give the input sizes divisible by the total downsampling, or pad: the "
                             "smaller branch (milesial's U-Net pads with F.pad)")
                raise self.branch_error(i, f"branch {i} gives {shape_text(x)} but branch 0 gives {shape_text(first)}",
                                        code="concat-mismatch", hint=hint)
        size = first[a]
        for x in xs[1:]:
            size = size + x[a]
        return (*first[:a], symbolic.simplify(size), *first[a + 1:])

    def explain_merge(self, xs: list[Shape], y: Shape) -> list[Derivation | str]:
        """``C_o = ΣC = 64 + 128 + 32 + 32 = 256``, and the axes every branch shares."""
        a = self.axis % len(y)
        sizes = [x[a] for x in xs]
        label, what = ("C_o", "channels") if a == 0 else (f"n_{a}", f"axis {a}")
        lines: list[Derivation | str] = [Derivation(f"Σ{label[0]}", " + ".join(math_text(s) for s in sizes), y[a],
                                                    label=label, note=f"{len(xs)} branches joined along {what}")]
        rest = [math_text(d) for j, d in enumerate(y) if j != a]
        if rest:
            lines.append(f"{' × '.join(rest)}: the other axes, the same in every branch")
        return lines


def _one_apart(p: object, q: object) -> bool:
    """Two sizes one row apart, as pooling an odd size and upsampling it back leaves them."""
    return symbolic.is_int(p) and symbolic.is_int(q) and abs(p - q) == 1


def _some_values(pairs: list[tuple]) -> str:
    """Why free sizes that meet only for some values (2·⌊H/2⌋ against H: even H) fail, and what to write:
    values, or each size as the multiple of the downsampling that makes them meet (H = 2·h)."""
    names = symbolic.free_names([d for pair in pairs for d in pair])
    text = f"with free sizes they agree only for some values of {', '.join(names)}: give them values (--set, or " \
        "leave out --symbolic)"
    if len(names) != 1 and any(len(symbolic.free_names(pair)) != 1 for pair in pairs):
        return text
    step = next((k for k in range(2, 65) if all(
        symbolic.subs(p, {n: k * m for n in names}) == symbolic.subs(q, {n: k * m for n in names})
        for p, q in pairs for m in range(1, 6))), None)
    if step is None:
        return text
    example = ", ".join(f"{name} = {step}*{name.lower() if name.lower() != name else name + '_'}" for name in names)
    return f"{text}, or write each as a multiple of {step} with a symbol of its own ({example})"
