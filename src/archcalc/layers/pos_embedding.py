"""Learned positional embedding: row t of a [positions, dim] table for the token at position t."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Choice, Int
from archcalc.layers.base import (
    KEEP,
    Axis,
    AxisMap,
    Count,
    Derivation,
    Layer,
    Shape,
    Work,
    derive,
    layer,
    numel,
    shape_text,
)
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

    ``add: true`` adds the rows to a ``[T, D]`` input itself (``x + pos_embedding``, D its width) and
    stores the table as torchvision's ViT encoder does: one bare ``[1, positions, D]`` parameter under
    the layer's own name (``encoder.pos_embedding``, not ``….weight``).

    ``padding_idx: p`` counts the positions from the token ids, as RoBERTa (after fairseq's
    ``make_positions``) does: the k-th token that is not ``p`` takes row p + k (k from 1), a padding token
    row p, which stays zero and gets no gradient (RoBERTa's ``nn.Embedding(…, padding_idx=p)``). Without
    padding in the sequence the rows are p + 1 … p + T, so T may not exceed positions − p − 1 (514 rows
    serve 512 tokens with p = 1). It reads the ids themselves: the input must be the model's ``[T]`` ids.

    ``offset: k`` starts the positions k rows down: position t reads row t + k, so T may not exceed
    positions − k. OPT's table (fairseq's) keeps its first two rows unused, ``max_position_embeddings + 2``
    rows read from row 2 (``OPTLearnedPositionalEmbedding``'s offset of 2).

    Example: ``- pos_embedding: {positions: 1024, dim: 768, name: wpe}``, or
    ``- pos_embedding: {positions: 197, add: true, name: pos_embedding}`` on ViT-B/16's ``[197, 768]``
    """

    TRAITS = Trait(0)
    PRIMARY = "positions"

    positions = Int(doc="rows of the table: the longest sequence it serves (or the number of token types)")
    dim = Int(None, doc="values per position D [required without add; with add: the input's D]")
    index = Choice(("position", "first"), "position", doc="row t for position t, or row 0 for every position")
    add = Bool(False, doc="add the rows to the [T, D] input, stored as one bare [1, positions, D] parameter "
                          "(torchvision ViT)")
    padding_idx = Int(None, doc="count the positions from the ids, RoBERTa's way: the k-th token that is not "
                                "this id takes row padding_idx + k, a padding token this row (kept at zero) "
                                "[default: rows 0 … T−1]", min=0)
    offset = Int(0, doc="the row of position 0: position t reads row t + offset (OPT's 2)", min=0)

    @property
    def first_row(self) -> int:
        """The row of the first position: ``offset`` (0), or padding_idx + 1 (RoBERTa's, with no padding
        before it)."""
        return self.offset if self.padding_idx is None else self.padding_idx + 1

    @property
    def tells_positions(self) -> bool:
        return self.index == "position"  # row 0 for every position (token types) tells none apart

    @property
    def BARE(self) -> bool:  # the backends' flag, decided here by an argument
        """Stored under the layer's own name when it adds itself to its input (torchvision's ViT)."""
        return bool(self.add)

    def width(self, x: Shape) -> object:
        """D, the values per position: ``dim``, or the input's with ``add``; a located error if neither."""
        if self.add:
            if self.index != "position":
                raise self.error("add: true adds rows 0 … T−1 (row t to position t); it takes no index: first",
                                 arg="index", hint="remove index, or add the rows with an add: merge instead")
            if len(x) != 2:
                raise self.error(f"add: true needs a [T, D] sequence of vectors, got {shape_text(x)}",
                                 code="bad-input-shape", hint="embed the tokens first; the rows are added to them")
            if self.dim is not None and symbolic.is_int(self.dim) and symbolic.is_int(x[1]) and self.dim != x[1]:
                raise self.error(f"dim {self.dim} differs from the input's {x[1]}, which the rows are added to",
                                 arg="dim", hint=f"use dim: {x[1]}, or leave it out")
            return x[1]
        if self.dim is None:
            raise self.error("needs dim, the values per position", hint="give dim, or add: true to add the rows "
                                                                         "to a [T, D] input of that width")
        return self.dim

    def output_shape(self, x: Shape) -> Shape:
        if len(x) > 2:  # [G…, T, D]: sequences side by side (windows) that attention reads apart
            raise self.error(f"needs a sequence [T] of ids or [T, D] of vectors, got {shape_text(x)}",
                             code="bad-input-shape", hint="one table numbers the positions of one sequence: add it "
                             "before partitioning into windows (on the [T, D] sequence or a flattened map), or give "
                             "the attention within each window relative_bias: [w_h, w_w] (Swin)")
        if len(x) not in (1, 2):
            raise self.error(f"needs a sequence [T] of ids or [T, D] of vectors, got {shape_text(x)}",
                             code="bad-input-shape", hint="the first axis of the input is the sequence")
        if self.padding_idx is not None:
            self.check_padding(x)
        if self.offset:
            self.check_offset()
        t = x[0]
        if self.index == "position" and symbolic.is_int(t) and symbolic.is_int(self.positions) \
                and t + self.first_row > self.positions:
            if self.padding_idx is None and not self.offset:
                raise self.error(f"the sequence has {t} positions but the table only {self.positions}",
                                 arg="positions", hint=f"use positions ≥ {t}, or a shorter sequence")
            if self.padding_idx is None:
                raise self.error(f"the sequence has {t} positions, rows {self.offset} … {t + self.offset - 1} "
                                 f"with offset {self.offset}, but the table only {self.positions} rows",
                                 arg="positions", hint=f"use positions ≥ {t + self.offset} (the sequence and the "
                                 "offset), or a shorter sequence")
            raise self.error(f"the sequence has {t} positions, rows {self.first_row} … {t + self.first_row - 1} "
                             f"with padding_idx {self.padding_idx}, but the table only {self.positions} rows",
                             arg="positions", hint=f"use positions ≥ {t + self.first_row} (the sequence and "
                             f"padding_idx + 1), or a shorter sequence")
        return (t, self.width(x))

    def check_offset(self) -> None:
        """``offset`` moves rows 0 … T−1 down; padding_idx counts its own rows, and the others have none to move."""
        for arg, given, other in (("padding_idx", self.padding_idx is not None,
                                   "padding_idx, which counts the rows from the ids"),
                                  ("index", self.index == "first", "index: first, which reads row 0 alone"),
                                  ("add", bool(self.add), "add: true")):
            if given:
                raise self.error(f"offset cannot go with {other}", arg="offset", hint=f"remove offset or {arg}")
        if symbolic.is_int(self.positions) and self.offset >= self.positions:
            raise self.error(f"offset {self.offset} leaves no row of the {self.positions}-row table",
                             arg="offset", hint=f"an offset below {self.positions}")

    def check_padding(self, x: Shape) -> None:
        """``padding_idx`` reads the ids: a ``[T]`` input, rows counted, neither ``index: first`` nor ``add``."""
        if self.add or self.index != "position":
            other = "add: true" if self.add else "index: first"
            raise self.error(f"padding_idx counts positions from the ids; it cannot go with {other}",
                             arg="padding_idx", hint=f"remove {other} or padding_idx")
        if len(x) != 1:
            raise self.error(f"padding_idx counts positions from the token ids, so it needs the [T] ids, got "
                             f"{shape_text(x)}", arg="padding_idx", code="bad-input-shape",
                             hint="give it the model's input of ids, beside the token embedding (add: [[embedding: "
                             "…], [pos_embedding: …]])")
        if symbolic.is_int(self.positions) and self.padding_idx >= self.positions:
            raise self.error(f"padding_idx {self.padding_idx} is not a row of the {self.positions}-row table",
                             arg="padding_idx", hint=f"use a row below {self.positions}")

    def weight_shape(self, x: Shape) -> Shape:
        return (1, self.positions, self.width(x)) if self.add else (self.positions, self.width(x))

    def params(self, x: Shape) -> Count:
        return Count(self.positions * self.width(x))

    def axes(self, x: Shape) -> AxisMap:
        """Position t's vector depends on t alone, never on the input's values: every axis kept (with
        ``add``, each output element reads its own input element). With ``padding_idx`` it reads the ids
        0 … t, whose padding it does not count: a causal window of T steps, as a forward recurrent layer's."""
        if self.padding_idx is not None:
            return (((0, Axis(x[0], 1, x[0] - 1)),), ())
        return (((0, KEEP),), ((1, KEEP),) if self.add else ())

    def work(self, x: Shape, y: Shape) -> Work:
        """A lookup: no arithmetic (the addition to the tokens is the ``add`` merge's, or with ``add``
        one addition per element)."""
        return Work(add=numel(y)) if self.add else Work()

    def explain_params(self, x: Shape) -> Derivation:
        d = self.width(x)
        return derive("{P}×{D}", self.positions * d, P=self.positions, D=d,
                      note="one row per position" if self.index == "position" else "one row per token type")
