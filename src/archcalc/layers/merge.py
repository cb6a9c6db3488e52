"""What the kinds that combine several tensors share: concat, add, multiply, attention.

A merge kind is written with branches, each run on the same input, and combines their outputs::

    - add: [[embedding: {vocab: 50257, dim: 768}], [embedding: {vocab: 1024, dim: 768, index: position}]]
    - concat: {axis: 0, branches: [[class_token...], []]}

Its methods take the list of the branches' output shapes ``xs``. A kind whose ``ARITY`` allows one
input may also be written as a plain layer (``- attention: {heads: 12}`` on a fused q, k, v input);
it then gets its own input as the only element of ``xs``.
"""

from __future__ import annotations

from typing import ClassVar

from archcalc import symbolic
from archcalc.errors import Loc, SpecError
from archcalc.layers.base import Count, Derivation, Layer, Shape, Work, shape_text
from archcalc.symbolic import Dim


class Merge(Layer):
    """Base of the kinds that take several inputs. ``ARITY`` is (fewest, most) inputs; most None = any."""

    ARITY: ClassVar[tuple[int, int | None]] = (2, None)

    def __init__(self, values: dict[str, object], loc: Loc, arg_locs: dict[str, Loc] | None = None,
                 branch_locs: list[Loc] | None = None):
        super().__init__(values, loc, arg_locs)
        self.branch_locs = branch_locs or []

    # -- the kind's rules, over the inputs xs ----------------------------------------------------

    def merge_shape(self, xs: list[Shape]) -> Shape:
        raise NotImplementedError

    def merge_params(self, xs: list[Shape]) -> Count:
        return Count()

    def merge_work(self, xs: list[Shape], y: Shape) -> Work:
        return Work()

    def explain_merge(self, xs: list[Shape], y: Shape) -> list[Derivation | str]:
        return []

    # -- a single input: the same rules ---------------------------------------------------------

    def output_shape(self, x: Shape) -> Shape:
        return self.merge_shape([x])

    def params(self, x: Shape) -> Count:
        return self.merge_params([x])

    def work(self, x: Shape, y: Shape) -> Work:
        return self.merge_work([x], y)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        return [line for line in self.explain_merge([x], self.output_shape(x)) if isinstance(line, Derivation)]

    # -- helpers ------------------------------------------------------------------------------------

    def branch_error(self, i: int, message: str, code: str = "bad-argument", hint: str | None = None) -> SpecError:
        """An error about input ``i``, located at its branch when the layer has branches."""
        loc = self.branch_locs[i] if i < len(self.branch_locs) else self.loc
        return SpecError(loc, f"{self.kind}: {message}", code=code, hint=hint)

    def broadcast(self, xs: list[Shape]) -> Shape:
        """The shape PyTorch's broadcasting gives ``xs`` (aligned at the last axis; a 1 stretches), or a
        located error naming the first branch that does not fit."""
        rank = max(len(x) for x in xs)
        out: list[Dim] = [1] * rank
        for i, x in enumerate(xs):
            padded = (1,) * (rank - len(x)) + tuple(x)
            for axis, (a, b) in enumerate(zip(out, padded)):
                if symbolic.is_int(b) and b == 1:
                    continue
                if symbolic.is_int(a) and a == 1:
                    out[axis] = b
                elif not symbolic.equal(a, b):
                    raise self.branch_error(i, f"branch {i} gives {shape_text(x)}, which does not broadcast with "
                                            f"the branches before it ({shape_text(tuple(out))})",
                                            code="broadcast-mismatch",
                                            hint="each axis must be equal or 1 (aligned from the last axis)")
        return tuple(out)
