"""Long short-term memory (torch ``nn.LSTM``): four gate blocks, an optional projection of the hidden state."""

from __future__ import annotations

from archcalc.layers.args import Size
from archcalc.layers.base import Shape, layer
from archcalc.layers.recurrent import Recurrent, check_projection
from archcalc.layers.traits import Trait


@layer("lstm")
class LSTM(Recurrent):
    """An LSTM over a ``[T, F]`` sequence (PyTorch ``nn.LSTM`` with ``batch_first``, the batch excluded).

    Input ``[T, F]`` → ``[T, D·h]`` (``output: sequence``), or ``[D·h]`` for ``output: last`` (the last
    step, torch's ``output[:, -1]``) and ``output: hidden`` (the last layer's final hidden state
    ``h_n``, directions side by side), D = 2 when ``bidirectional``. With ``proj_size: p`` the
    hidden state is projected to p features, which replace h in the output and in weight_hh.
    Parameters per layer and direction: 4·h·(i + h) + 2·4·h (biases), i = F in the first layer and
    D·h above, e.g. F = 10, h = 20: 4·20·(10 + 20) + 160 = 2560; with proj_size p: 4·h·(i + p) + 8·h + p·h.
    The parameters are torch's, under torch's names (weight_ih_l0, weight_hh_l0_reverse, weight_hr_l0).

    Example: ``- lstm: {hidden: 128, num_layers: 2, bidirectional: true, output: last}``
    """

    TRAITS = Trait.RECURRENT | Trait.GATED
    GATES = 4
    ACTS = 5  # σ for the input, forget and output gates, tanh for the cell input and the cell

    proj_size = Size(0, doc="project each hidden state to this many features (below hidden; 0: none)", min=0)

    @property
    def projection(self) -> object:
        return self.proj_size

    def output_shape(self, x: Shape) -> Shape:
        check_projection(self)
        return super().output_shape(x)
