"""Recurrent layers over a sequence ``[T, F]``: the base of ``lstm``, ``gru`` and ``rnn``.

torch's ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` differ only in how many gate blocks G each weight
holds (4, 3 and 1) and what a step computes with them; their arguments, parameter layout, shapes and
work follow one rule, written here once. Per layer l and direction (D = 2 when bidirectional):

    weight_ih_l{l} [G·h, i_l]   weight_hh_l{l} [G·h, h_r]   bias_ih_l{l}, bias_hh_l{l} [G·h]
    weight_hr_l{l} [h_r, h]     (LSTM with ``proj_size`` only; h_r = proj_size, else h_r = h)

with i_0 = F and i_l = D·h_r above the first layer, and ``_reverse`` after each name for the
backward direction. A step's work is its two matrix products, G·h·(i_l + h_r) MACs, plus the
projection's h·h_r: torch.utils.flop_counter counts exactly these (docs/analysis.md).
"""

from __future__ import annotations

from typing import ClassVar

from archcalc import symbolic
from archcalc.layers.args import Bool, Choice, Float, Int, Size
from archcalc.layers.base import MIX, WHOLE, Axis, AxisMap, Count, Derivation, Layer, Shape, Work, derive, shape_text
from archcalc.symbolic import Dim

#: what the layer gives: every step's output (torch's ``output``), the last step's (``output[:, -1]``),
#: or the last layer's final hidden state (``h_n``, the directions side by side)
OUTPUTS = ("sequence", "last", "hidden")


class Recurrent(Layer):
    """Base of the recurrent kinds; a subclass sets ``GATES`` (weight blocks per matrix) and ``ACTS``
    (non-linear functions evaluated per hidden unit and step)."""

    GATES: ClassVar[int] = 1
    ACTS: ClassVar[int] = 1
    PRIMARY = "hidden"
    RANKS = (2,)
    EXPECTS = "a [T, F] sequence"

    hidden = Size(doc="hidden features h per direction (torch's hidden_size)")
    num_layers = Size(1, doc="recurrent layers stacked, each reading the one below's sequence")
    bias = Bool(True, doc="the two bias vectors bias_ih and bias_hh of every layer")
    bidirectional = Bool(False, doc="a second direction reads the sequence backwards; outputs side by side")
    dropout = Float(0.0, doc="dropout on each layer's output but the last's, while training", lo=0, hi=1)
    output = Choice(OUTPUTS, "sequence", doc="sequence: every step [T, D·h]; last: the last step output[:, -1] "
                                             "[D·h]; hidden: the last layer's final hidden state h_n [D·h]")
    inputs = Int(None, doc="input features F; inferred, checked when given", key="in")

    @property
    def tells_positions(self) -> bool:
        return True  # output t has read steps 0 … t in order

    # -- sizes --------------------------------------------------------------------------------------

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1

    @property
    def projection(self) -> Dim:
        """proj_size (LSTM only; 0 without a projection)."""
        return 0

    @property
    def state(self) -> Dim:
        """h_r: the size of each direction's output and hidden state (proj_size when projected)."""
        return self.projection or self.hidden

    def per_layer(self, x: Shape, f) -> Dim:
        """``f(i)`` summed over the layers: the first reads the sequence's F features, the L − 1 above it
        the layer below's D·h_r (a sum in closed form, so ``num_layers`` may be a symbol)."""
        return f(x[1]) + (self.num_layers - 1) * f(self.directions * self.state)

    def check(self, x: Shape) -> None:
        """The input is a sequence ``[T, F]`` and the arguments fit it; a located error where not."""
        if len(x) != 2:
            raise self.error(f"needs {self.EXPECTS} input, got {shape_text(x)}", code="bad-input-shape",
                             hint="a recurrent layer reads a sequence of T vectors of F features: "
                                  "input: [T, F] (reshape or permute first)")
        self.check_in("in", self.inputs, x[1])

    # -- the kind's rules ---------------------------------------------------------------------------

    def output_shape(self, x: Shape) -> Shape:
        self.check(x)
        features = self.directions * self.state
        return (x[0], features) if self.output == "sequence" else (features,)

    def per_direction(self, i: Dim) -> tuple[Dim, Dim]:
        """(weights, biases) of one layer and direction reading ``i`` features."""
        g, h, r = self.GATES * self.hidden, self.hidden, self.state
        weights = g * i + g * r + (h * self.projection if self.projection else 0)
        return weights, (2 * g if self.bias else 0)

    def tensors(self, x: Shape) -> list[Shape]:
        """Every parameter tensor's shape, in torch's registration order (per layer, the forward direction
        then ``_reverse``): what an optimizer keeps state for, one step counter each. Concrete sizes only."""
        g, h, r = self.GATES * self.hidden, self.hidden, self.state
        shapes: list[Shape] = []
        for layer in range(self.num_layers):
            i = x[1] if layer == 0 else self.directions * r
            one = [(g, i), (g, r), *([(g,), (g,)] if self.bias else []), *([(r, h)] if self.projection else [])]
            shapes += one * self.directions
        return shapes

    def params(self, x: Shape) -> Count:
        total = self.directions * self.per_layer(x, lambda i: sum(self.per_direction(i)))
        return Count(symbolic.simplify(total) if symbolic.is_symbolic(total) else total)

    def axes(self, x: Shape) -> AxisMap:
        """Along T: output t of a forward layer has read steps 0…t, the whole prefix, which is a causal
        window of T steps (t−T+1…t, those before 0 being padding); a bidirectional layer has read the
        whole sequence at every step, and the last step or final state has read all of it: :data:`WHOLE`,
        global, with T still a positional axis.
        The features are mixed."""
        if self.output != "sequence":
            return (((0, WHOLE), (1, MIX)),)
        along = WHOLE if self.bidirectional else Axis(x[0], 1, x[0] - 1)
        return (((0, along),), ((1, MIX),))

    def work(self, x: Shape, y: Shape) -> Work:
        """Per step, layer and direction: the products with weight_ih and weight_hh, G·h·(i_l + h_r) MACs,
        and the projection's h·h_r; the two bias additions, 2·G·h; ``ACTS``·h gate functions."""
        g, h = self.GATES * self.hidden, self.hidden
        macs = self.per_layer(x, lambda i: g * (i + self.state) + h * self.projection)
        steps = x[0] * self.directions
        layers = self.num_layers
        return Work(macs=steps * macs, bias=steps * layers * 2 * self.GATES * self.hidden if self.bias else 0,
                    act=steps * layers * self.ACTS * self.hidden)

    # -- explanations -------------------------------------------------------------------------------

    def explain_params(self, x: Shape) -> Derivation:
        names: dict[str, Dim] = dict(G=self.GATES, h=self.hidden, F=x[1])
        r = "{p}" if self.projection else "{h}"
        if self.projection:
            names["p"] = self.projection

        def one(i: str) -> str:
            """One layer and direction reading ``i`` features."""
            return "{G}×{h}×(" + i + "+" + r + ")" + ("+2×{G}×{h}" if self.bias else "") + \
                ("+{h}×{p}" if self.projection else "")

        body = one("{F}")
        if not (symbolic.is_int(self.num_layers) and self.num_layers == 1):
            names["L"] = self.num_layers
            above = "2×" + r if self.bidirectional else r
            body += "+({L}−1)×(" + one(above) + ")"
        template = f"2×({body})" if self.bidirectional else body
        gates = {4: "i, f, g, o", 3: "r, z, n", 1: "no gates"}[self.GATES]
        parts = ["weight_ih", "weight_hh", *(["biases"] if self.bias else []), *(["weight_hr"] if self.projection
                                                                              else [])]
        note = f"per layer and direction: {', '.join(parts)}; {gates}"
        return derive(template, self.params(x).trainable, note=note, **names)

    def explain_shape(self, x: Shape) -> list[Derivation]:
        features = self.directions * self.state
        what = {"sequence": "every step", "last": "the last step, output[:, -1]",
                "hidden": "the last layer's final hidden state h_n"}[self.output]
        if self.bidirectional:
            return [derive("2×{h}", features, label="features", h=self.state, note=f"both directions; {what}")]
        return [derive("{h}", features, label="features", h=self.state, note=what)]


def check_projection(layer: Recurrent) -> None:
    """torch's rule for ``proj_size``: below ``hidden`` (a projection that does not shrink is refused)."""
    p, h = layer.projection, layer.hidden
    if p and symbolic.is_int(p) and symbolic.is_int(h) and p >= h:
        raise layer.error(f"proj_size {p} must be smaller than hidden {h}", arg="proj_size",
                          hint=f"use a proj_size below {h} (torch refuses proj_size >= hidden_size), or 0 for none")

