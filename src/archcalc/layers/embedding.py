"""Token embedding: each integer id in the input picks one learned row of a [vocab, dim] table."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Float, Int, LayerPath
from archcalc.layers.base import POINT, AxisMap, Count, Derivation, Layer, Shape, Work, derive, layer, numel
from archcalc.layers.traits import Trait


@layer("embedding")
class Embedding(Layer):
    """A table of ``vocab`` learned vectors of ``dim`` values, looked up by token id (PyTorch ``nn.Embedding``).

    The input holds integer ids in ``[0, vocab)`` (``input: [T]`` for a sequence of T tokens); each
    becomes its row of the table: ``[T]`` → ``[T, dim]``. Parameters: vocab×dim. ``padding_idx``
    is a row that stays zero and gets no gradient (still counted, as torch counts it). ``tie``
    shares the table with another layer's weight of the same shape (counted once). ``scale`` multiplies
    each row looked up by a constant (Gemma's √dim, rounded to float32 and then to the table's dtype, as Gemma casts it;
    "Attention Is All You Need" scales its embeddings so too); the table itself stays as stored.

    Example: ``- embedding: {vocab: 50257, dim: 768, name: wte}``
    """

    TRAITS = Trait(0)  # a lookup: it reads one row per id and mixes nothing
    PRIMARY = "vocab"
    READS_IDS = True

    vocab = Int(doc="number of token ids V (rows of the table)")
    dim = Int(doc="values per token D")
    padding_idx = Int(None, doc="a row kept at zero with no gradient (a padding token's id; negative counts from "
                                "the end, as torch's: -1 is the last row)", min=None)
    tie = LayerPath(None, doc="share the table with this layer's weight (its path); counted once")
    scale = Float(None, doc="the factor each row looked up is multiplied by (Gemma: √dim) [default: none]", lo=0,
                  lo_open=True)

    def output_shape(self, x: Shape) -> Shape:
        if not x:
            raise self.error("needs an input of token ids with at least one axis, got a scalar",
                             code="bad-input-shape", hint="write the input as a sequence of ids: input: [T]")
        if self.padding_idx is not None and symbolic.is_int(self.vocab) \
                and not -self.vocab <= self.padding_idx < self.vocab:
            raise self.error(f"padding_idx {self.padding_idx} is not a row of the {self.vocab}-row table",
                             arg="padding_idx", hint=f"use an id in 0…{self.vocab - 1}, or -1…-{self.vocab} from the "
                             "end (torch's rule)")
        return (*x, self.dim)

    def weight_shape(self, x: Shape) -> Shape:
        """The table, ``[vocab, dim]``, as torch stores it (what a tie must match)."""
        return (self.vocab, self.dim)

    def params(self, x: Shape) -> Count:
        return Count(0 if self.tie else self.vocab * self.dim)

    def axes(self, x: Shape) -> AxisMap:
        """Each position becomes one vector on its own: the input's axes point by point, the new
        feature axis read from nothing of the input but the id."""
        return (*(((i, POINT),) for i in range(len(x))), ())

    def work(self, x: Shape, y: Shape) -> Work:
        """A lookup copies rows and computes nothing (torch.utils.flop_counter counts it as 0 too); a
        ``scale`` is one product per output element, counted with the activations."""
        return Work(act=numel(y)) if self.scale is not None else Work()

    def explain_params(self, x: Shape) -> Derivation:
        if self.tie:
            return Derivation("0", "0", 0, note=f"the table is {self.tie}'s weight, counted there")
        return derive("{V}×{D}", self.vocab * self.dim, V=self.vocab, D=self.dim, note="one row per id")
