"""2-D convolution: C_i/g × C_o × k_h × k_w weights + C_o biases."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Int, Padding, Pair
from archcalc.layers.base import Count, Derivation, Shape, Work, derive, layer, numel
from archcalc.layers.spatial import Spatial
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


@layer("conv2d", "conv")
class Conv2d(Spatial):
    """2-D convolution over a ``[C, H, W]`` input (PyTorch ``nn.Conv2d``).

    Output size per axis: ⌊(H + 2P − d(F−1) − 1)/S⌋ + 1 (the lecture's (H+2P−F)/S+1 when d = 1).
    Parameters: (C_i/g)×C_o×k_h×k_w weights + C_o biases. ``groups: C`` gives a depthwise conv.

    Example: ``- conv2d: {out: 64, kernel: 3, padding: 1}``
    """

    TRAITS = Trait.WEIGHTED | Trait.LINEAR
    PRIMARY = "out"

    out = Int(doc="output channels C_o (number of filters)")
    kernel = Pair(doc="kernel size F: k or [k_h, k_w]")
    stride = Pair(1, doc="stride S: s or [s_h, s_w]")
    padding = Padding(0, doc="zero padding P: p, [p_h, p_w], same (stride 1) or valid")
    dilation = Pair(1, doc="spacing d between kernel taps; the kernel spans d(F−1)+1")
    groups = Int(1, doc="split channels into g groups; C_i and C_o must be multiples of g")
    bias = Bool(True, doc="add one learned bias per output channel")
    inputs = Int(None, doc="input channels C_i; inferred, checked when given", key="in")

    def out_channels(self, x: Shape) -> Dim:
        self.check_in("in", self.inputs, x[0])
        for what, n in (("input channels", x[0]), ("output channels", self.out)):
            if symbolic.is_int(n) and symbolic.is_int(self.groups) and n % self.groups:
                raise self.error(f"groups={self.groups} does not divide the {what} ({n})", arg="groups",
                                 hint="groups must divide both the input and the output channels")
        return self.out

    def params(self, x: Shape) -> Count:
        kh, kw = self.kernel
        weights = symbolic.floordiv(x[0], self.groups) * self.out * kh * kw
        return Count(weights + (self.out if self.bias else 0))

    def work(self, x: Shape, y: Shape) -> Work:
        """Each of the C_o·H_o·W_o outputs is a (C_i/g)·k_h·k_w dot product, plus its bias."""
        kh, kw = self.kernel
        outputs = numel(y)
        return Work(macs=outputs * symbolic.floordiv(x[0], self.groups) * kh * kw, bias=outputs if self.bias else 0)

    def explain_params(self, x: Shape) -> Derivation:
        kh, kw = self.kernel
        channels = "{C_i}" if self.groups == 1 else "({C_i}/{g})"
        template = channels + "×{C_o}×{k_h}×{k_w}" + ("+{C_o}" if self.bias else "")
        return derive(template, self.params(x).trainable, C_i=x[0], g=self.groups, C_o=self.out, k_h=kh, k_w=kw)
