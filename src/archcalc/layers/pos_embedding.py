"""Learned positional embedding: row t of a [positions, dim] table for the token at position t."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Choice, Int
from archcalc.layers.base import KEEP, AxisMap, Count, Derivation, Layer, Shape, Work, derive, layer, shape_text
from archcalc.layers.traits import Trait


@layer("pos_embedding")
class PosEmbedding(Layer):
    """A learned vector per position, GPT-2's ``wpe`` and BERT's ``position_embeddings`` (an ``nn.Embedding``
    looked up with the positions 0 … T−1 instead of token ids).

    The input's first axis is the sequence, ``[T]`` of token ids or ``[T, D]`` of vectors; only its
    length T is read: the output is rows 0 … T−1 of the table, ``[T, dim]``, which a spec adds to the
    token embedding (``add: [[embedding…], [pos_embedding…]]``). T may not exceed ``positions``.
    ``index: first`` gives row 0 to every position instead: BERT's token-type embedding when every
    token is of type 0. Parameters: positions×dim; no buffers (the positions are made on the fly).

    Example: ``- pos_embedding: {positions: 1024, dim: 768, name: wpe}``
    """

    TRAITS = Trait(0)
    PRIMARY = "positions"

    positions = Int(doc="rows of the table: the longest sequence it serves (or the number of token types)")
    dim = Int(doc="values per position D")
    index = Choice(("position", "first"), "position", doc="row t for position t, or row 0 for every position")

    def output_shape(self, x: Shape) -> Shape:
        if len(x) not in (1, 2):
            raise self.error(f"needs a sequence [T] of ids or [T, D] of vectors, got {shape_text(x)}",
                             code="bad-input-shape", hint="the first axis of the input is the sequence")
        t = x[0]
        if self.index == "position" and symbolic.is_int(t) and symbolic.is_int(self.positions) and t > self.positions:
            raise self.error(f"the sequence has {t} positions but the table only {self.positions}",
                             arg="positions", hint=f"use positions ≥ {t}, or a shorter sequence")
        return (t, self.dim)

    def weight_shape(self, x: Shape) -> Shape:
        return (self.positions, self.dim)

    def params(self, x: Shape) -> Count:
        return Count(self.positions * self.dim)

    def axes(self, x: Shape) -> AxisMap:
        """Position t's vector depends on t alone, never on the input's values: every axis kept."""
        return (((0, KEEP),), ())

    def work(self, x: Shape, y: Shape) -> Work:
        """A lookup: no arithmetic (the addition to the tokens is the ``add`` merge's)."""
        return Work()

    def explain_params(self, x: Shape) -> Derivation:
        return derive("{P}×{D}", self.positions * self.dim, P=self.positions, D=self.dim,
                      note="one row per position" if self.index == "position" else "one row per token type")
