"""What conv1d, conv2d and conv3d share: C_i/g × C_o × ∏k weights + C_o biases over any number of axes."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Choice, Int, Padding, PerAxis
from archcalc.layers.base import Count, Derivation, Shape, Work, derive, numel, shape_text
from archcalc.layers.pad import copy_problem
from archcalc.layers.spatial import Spatial
from archcalc.layers.traits import Trait
from archcalc.symbolic import Dim


class Conv(Spatial):
    """Convolution over ``RANK`` spatial axes (PyTorch ``nn.Conv1d``/``Conv2d``/``Conv3d``).

    Output size per axis: ⌊(n + 2P − d(F−1) − 1)/S⌋ + 1 (the lecture's (H+2P−F)/S+1 when d = 1).
    Parameters: (C_i/g)×C_o×∏F weights + C_o biases. ``groups: C`` gives a depthwise conv.
    ``padding_mode`` (torch's) fills the padding with zeros or copies of the input (reflect, replicate,
    circular); it changes no shape, parameter or MAC.
    """

    TRAITS = Trait.WEIGHTED | Trait.LINEAR
    PRIMARY = "out"

    out = Int(doc="output channels C_o (number of filters)")
    kernel = PerAxis(doc="kernel size F: {k}")
    stride = PerAxis(1, doc="stride S: {s}")
    padding = Padding(0, doc="padding P: {p}, same (stride 1) or valid; zeros unless padding_mode")
    dilation = PerAxis(1, doc="spacing d between kernel taps; the kernel spans d(F−1)+1")
    groups = Int(1, doc="split channels into g groups; C_i and C_o must be multiples of g")
    bias = Bool(True, doc="add one learned bias per output channel")
    inputs = Int(None, doc="input channels C_i; inferred, checked when given", key="in")
    padding_mode = Choice(("zeros", "reflect", "replicate", "circular"), "zeros",
                          doc="what the padding holds: zeros, or the input mirrored, its edge repeated, wrapped around")

    def output_shape(self, x: Shape) -> Shape:
        """torch pads a non-zeros mode with F.pad before an unpadded convolution: its limits hold here too."""
        if self.padding_mode != "zeros" and len(x) == self.RANK + 1:
            for axis, n, pair in zip(self.axis_names, x[1:], self.pad_pairs()):
                for amount in pair:
                    problem = copy_problem(self.padding_mode, n, amount)
                    if problem:
                        raise self.error(f"padding_mode {self.padding_mode} pads {axis}={symbolic.fmt(n)} of "
                                         f"{shape_text(x)} by {symbolic.fmt(amount)}: {problem[0]}", arg="padding",
                                         code="bad-input-shape", hint=problem[1])
        return super().output_shape(x)

    @property
    def tells_positions(self) -> bool:
        """Overlapping windows share their neighbours' inputs, and padding marks the borders (zeros, a mirror, a
        repeated edge): either gives a feature map position information (a patchify convolution, kernel = stride
        and no padding, has none; nor has circular padding, which leaves no border)."""
        spans = [d * (k - 1) + 1 for k, d in zip(self.kernel, self.dilation)]
        pads = self.padding_mode != "circular" and \
            any(not symbolic.is_int(p) or p != 0 for pair in self.pad_pairs() for p in pair)
        return pads or \
            any(not (symbolic.is_int(k) and symbolic.is_int(s)) or k > s for k, s in zip(spans, self.strides))

    def out_channels(self, x: Shape) -> Dim:
        self.check_in("in", self.inputs, x[0])
        for what, n in (("input channels", x[0]), ("output channels", self.out)):
            if symbolic.is_int(n) and symbolic.is_int(self.groups) and n % self.groups:
                raise self.error(f"groups={self.groups} does not divide the {what} ({n})", arg="groups",
                                 hint="groups must divide both the input and the output channels")
        return self.out

    def reparam_shape(self, x: Shape) -> Shape:
        """torch's weight, ``[C_o, C_i/g, *F]``, which ``weight_norm:`` or ``spectral_norm:`` reparametrises."""
        return (self.out, symbolic.floordiv(x[0], self.groups), *self.kernel)

    def params(self, x: Shape) -> Count:
        weights = symbolic.floordiv(x[0], self.groups) * self.out * numel(self.kernel)
        return self.reparametrised(x, Count(weights + (self.out if self.bias else 0)))

    def work(self, x: Shape, y: Shape) -> Work:
        """Each of the C_o·∏n_o outputs is a (C_i/g)·∏F dot product, plus its bias."""
        outputs = numel(y)
        return Work(macs=outputs * symbolic.floordiv(x[0], self.groups) * numel(self.kernel),
                    bias=outputs if self.bias else 0)

    def explain_params(self, x: Shape) -> Derivation:
        channels = "{C_i}" if self.groups == 1 else "({C_i}/{g})"
        taps = {"k": self.kernel[0]} if self.RANK == 1 else \
            {f"k_{a.lower()}": k for a, k in zip(self.axis_names, self.kernel)}
        template = channels + "×{C_o}" + "".join(f"×{{{name}}}" for name in taps) + ("+{C_o}" if self.bias else "")
        return self.reparam_explained(x, derive(template, self.params(x).trainable, C_i=x[0], g=self.groups,
                                                C_o=self.out, **taps))
