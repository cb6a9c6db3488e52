"""Layer scale: each channel multiplied by a learned factor that starts small (ConvNeXt, CaiT)."""

from __future__ import annotations

from typing import ClassVar

from archcalc.layers.args import AxisIndex, Bool, Float
from archcalc.layers.base import Count, Derivation, Layer, Shape, Work, derive, layer, numel
from archcalc.layers.traits import Trait


@layer("layer_scale")
class LayerScale(Layer):
    """Multiplies the input by a learned per-channel scale γ, all γ starting at ``value`` (Touvron et al.
    2021; torchvision ConvNeXt's ``layer_scale``, 1e-6 at the start, so a residual block begins close to
    the identity).

    The channels are axis ``axis`` (0, the first after the batch, by default); the parameter has that
    axis's size followed by a 1 for every later axis, so it broadcasts: ``[C, 1, 1]`` on ``[C, H, W]``
    as torchvision's ConvNeXt holds it, ``[D]`` with ``axis: -1`` on a ``[T, D]`` sequence. With
    ``flat: true`` it is stored as the vector ``[C]`` and broadcast when applied, as timm's ConvNeXt
    holds its ``gamma``. It is stored under the layer's own name (``layer_scale``), as torchvision's
    state dict has it.

    Example: ``- layer_scale`` at the end of a ConvNeXt block's body, or ``- layer_scale: {value: 1e-5, axis: -1}``
    """

    TRAITS = Trait.LINEAR
    BARE: ClassVar[bool] = True
    PRIMARY = "value"

    value = Float(1e-6, doc="every γ's value at the start")
    axis = AxisIndex(0, doc="the channel axis, scaled per position along it (0 is the first after the batch)")
    flat = Bool(False, doc="store γ as the vector [C] and broadcast it when applied (timm), not as [C, 1, …]")

    def shape(self, x: Shape) -> Shape:
        """The parameter's shape as stored: the channel axis, then 1 for each later axis (or not, when flat)."""
        broadcast = self.broadcast(x)
        return broadcast[:1] if self.flat else broadcast

    def broadcast(self, x: Shape) -> Shape:
        """The shape γ is applied in: the channel axis, then 1 for each later axis."""
        a = self.axis_of("axis", self.axis, x)
        return (x[a], *(1,) * (len(x) - 1 - a))

    def output_shape(self, x: Shape) -> Shape:
        self.shape(x)
        return x

    def params(self, x: Shape) -> Count:
        return Count(numel(self.shape(x)))

    def work(self, x: Shape, y: Shape) -> Work:
        """One multiplication per element (counted with the element-wise activations)."""
        return Work(act=numel(y))

    def explain_params(self, x: Shape) -> Derivation:
        a = self.axis % len(x)
        return derive("{C}", x[a], note=f"one scale γ per position of axis {a}", C=x[a])
