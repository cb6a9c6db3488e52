"""Element-wise activations: no parameters, shape unchanged, each one a small kind of its own."""

from __future__ import annotations

from archcalc.layers.args import Choice, Float
from archcalc.layers.base import Layer, Shape, Work, layer, numel


class Activation(Layer):
    ROLE = "activation"

    def work(self, x: Shape, y: Shape) -> Work:
        """One function evaluation per element."""
        return Work(act=numel(y))


@layer("relu")
class ReLU(Activation):
    """max(x, 0); derivative 1 for x > 0 and 0 otherwise, so it does not vanish (but units can "die").

    Example: ``- relu``
    """


@layer("relu6")
class ReLU6(Activation):
    """min(max(x, 0), 6), as in MobileNet.

    Example: ``- relu6``
    """


@layer("leaky_relu")
class LeakyReLU(Activation):
    """x for x > 0, slope·x otherwise: a small gradient keeps negative units alive.

    Example: ``- leaky_relu: {slope: 0.1}``
    """

    PRIMARY = "slope"

    slope = Float(0.01, doc="gradient for negative inputs (PyTorch negative_slope)")


@layer("sigmoid")
class Sigmoid(Activation):
    """1/(1 + e^−x) ∈ (0, 1); its derivative s(1 − s) is at most 0.25, so deep stacks vanish.

    Example: ``- sigmoid``
    """

    SATURATING = True


@layer("tanh")
class Tanh(Activation):
    """tanh x ∈ (−1, 1); saturates like the sigmoid (derivative ≤ 1, → 0 away from 0).

    Example: ``- tanh``
    """

    SATURATING = True


@layer("gelu")
class GELU(Activation):
    """x·Φ(x), the Gaussian error linear unit (``approximate: tanh`` for the faster form).

    Example: ``- gelu``
    """

    approximate = Choice(("none", "tanh"), "none", doc="none (exact erf) or tanh approximation")


@layer("step", "sign")
class Step(Activation):
    """The perceptron's threshold unit: sign(h) = −1, 0 or +1. Its gradient is zero everywhere.

    Example: ``- step`` after the perceptron's single ``linear``.
    """


@layer("identity")
class Identity(Layer):
    """Passes its input through unchanged (a placeholder, or a concat branch that keeps the input).

    Example: ``- identity``
    """

    ROLE = "identity"

