"""``weight_norm:`` and ``spectral_norm:`` on a layer with one weight: the weight reparametrised as torch does it.

``torch.nn.utils.weight_norm`` replaces a weight ``w`` by two parameters, a magnitude ``g`` and a direction
``v``, with ``w = g · v / ‖v‖`` (the norm over every axis but ``dim``; ``dim: null``, the whole tensor);
``torch.nn.utils.spectral_norm`` divides the weight by its largest singular value, estimated by power
iteration with two vectors ``u`` and ``v`` kept as buffers. Published models (locuslab's TCN, WaveNet and
HiFi-GAN vocoders, SNGAN discriminators) use them on every convolution, so a spec that cannot say so counts
them wrong (weight norm adds one parameter per output channel) and cannot load their state dicts.

The spelling is torch's: ``weight_norm: true`` (``dim`` 0, the old API's names ``weight_g`` and
``weight_v``), ``weight_norm: {dim: null, names: new}`` (``torch.nn.utils.parametrizations.weight_norm``'s
``parametrizations.weight.original0`` and ``original1``); ``spectral_norm: true`` or
``{n_power_iterations: 1, eps: 1e-12, dim: 0}`` (torch's defaults; ``dim`` 1 for a transposed convolution).
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.errors import Loc, SpecError, choices_hint
from archcalc.spec.source import YMap, YNode, YScalar, describe

KEYS = ("weight_norm", "spectral_norm")
#: the kinds that take them: one weight each, as torch's ``weight`` parameter
KINDS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d")
#: the state-dict names of each API: (magnitude, direction) for weight norm
NAMES = {"old": ("weight_g", "weight_v"),
         "new": ("parametrizations.weight.original0", "parametrizations.weight.original1")}
SETTINGS = {"weight_norm": ("dim", "names"), "spectral_norm": ("dim", "n_power_iterations", "eps")}


@dataclass(frozen=True, slots=True)
class Reparam:
    """One layer's weight reparametrisation, its settings resolved to torch's defaults.

    ``dim`` is the weight's axis kept apart (weight norm: None is the whole tensor; spectral norm: the axis
    made the rows of the matrix whose σ is estimated). ``names`` is the weight-norm API whose state-dict
    names the layer uses (``old`` or ``new``; spectral norm has the old one, ``weight_orig``, ``weight_u``,
    ``weight_v``).
    """

    kind: str
    dim: int | None
    loc: Loc
    names: str = "old"
    n_power_iterations: int = 1
    eps: float = 1e-12

    @property
    def weight_norm(self) -> bool:
        return self.kind == "weight_norm"

    def g_shape(self, weight: tuple) -> tuple:
        """Weight norm's magnitude: the weight's shape with 1s but on ``dim`` (a scalar, ``()``, for None)."""
        return () if self.dim is None else tuple(n if i == self.dim else 1 for i, n in enumerate(weight))

    def uv_sizes(self, weight: tuple) -> tuple:
        """Spectral norm's buffers ``u`` (the weight's size on ``dim``) and ``v`` (the rest, multiplied)."""
        from archcalc.layers.base import numel

        h = weight[self.dim]
        return h, numel(weight) // h

    def extra(self, weight: tuple) -> tuple[object, object]:
        """(parameters, buffers) the reparametrisation adds to the layer's: ``g`` for weight norm (``v`` takes
        the weight's place), ``u`` and ``v`` for spectral norm (``weight_orig`` takes the weight's place)."""
        from archcalc.layers.base import numel

        if self.weight_norm:
            return numel(self.g_shape(weight)), 0
        h, w = self.uv_sizes(weight)
        return 0, h + w

    def state_names(self) -> tuple[str, ...]:
        """The layer's state-dict names for its weight, as torch's function writes them."""
        return NAMES[self.names] if self.weight_norm else ("weight_orig", "weight_u", "weight_v")


def parse_reparam(key: YScalar, node: YNode, kind: str, rank: int, transposed: bool) -> Reparam | None:
    """Read ``weight_norm:`` or ``spectral_norm:`` (``key``) of a layer of ``kind`` whose weight has ``rank``
    axes; ``false`` is None (no reparametrisation). Every mistake is located at its key or value."""
    which = key.text
    dim: int | None = 1 if which == "spectral_norm" and transposed else 0
    settings: dict[str, object] = {}
    if isinstance(node, YScalar) and isinstance(node.value, bool):
        if not node.value:
            return None
    elif isinstance(node, YMap):
        for k, value in node.items:
            if k.text not in SETTINGS[which]:
                raise SpecError(k.loc, f"{kind}: {which} has no setting '{k.text}'", code="unknown-argument",
                                hint=choices_hint(k.text, list(SETTINGS[which]), f"settings of {which}"))
            settings[k.text] = value
    else:
        raise SpecError(node.loc, f"{kind}: {which} must be true, false or a mapping of its settings, got "
                        f"{describe(node)}", code="bad-argument", hint=_example(which))
    if "dim" in settings:
        dim = _dim(settings["dim"], kind, which, rank)
    names = "old"
    if "names" in settings:
        value = settings["names"]
        if not isinstance(value, YScalar) or value.text not in NAMES:
            raise SpecError(value.loc, f"{kind}: weight_norm names must be old or new, got {describe(value)}",
                            code="bad-argument", hint="old: torch.nn.utils.weight_norm's weight_g, weight_v; new: "
                            "torch.nn.utils.parametrizations.weight_norm's parametrizations.weight.original0/1")
        names = value.text
    iterations, eps = 1, 1e-12
    if "n_power_iterations" in settings:
        value = settings["n_power_iterations"]
        if not isinstance(value, YScalar) or isinstance(value.value, bool) or not isinstance(value.value, int) \
                or value.value < 1:
            raise SpecError(value.loc, f"{kind}: spectral_norm n_power_iterations must be a whole number ≥ 1, got "
                            f"{describe(value)}", code="bad-argument",
                            hint="torch refuses 0 and below; its default is 1")
        iterations = value.value
    if "eps" in settings:
        value = settings["eps"]
        number = getattr(value, "value", None)
        if not isinstance(value, YScalar) or isinstance(number, bool) or not isinstance(number, (int, float)) \
                or not 0 < number < float("inf"):
            raise SpecError(value.loc, f"{kind}: spectral_norm eps must be a positive number, got {describe(value)}",
                            code="bad-argument", hint="torch's default is 1e-12")
        eps = float(number)
    return Reparam(which, dim, key.loc, names, iterations, eps)


def _dim(node: YNode, kind: str, which: str, rank: int) -> int | None:
    whole = which == "weight_norm"
    if whole and isinstance(node, YScalar) and node.value is None:
        return None
    value = getattr(node, "value", None)
    if isinstance(node, YScalar) and isinstance(value, int) and not isinstance(value, bool) and 0 <= value < rank:
        return value
    allowed = f"0 to {rank - 1}" + (", or null for the whole tensor" if whole else "")
    axes = ["D", "D_i"] if rank == 2 else (["C_i", "C_o/g"] if "transpose" in kind else ["C_o", "C_i/g"]) + \
        (["k"] if rank == 3 else [f"k{i + 1}" for i in range(rank - 2)])
    hint = f"the {kind} weight is [{', '.join(axes)}]: dim is the axis kept apart"
    if isinstance(value, int) and not isinstance(value, bool) and value < 0:
        hint += "; torch reads dim=-1 as the whole tensor, written dim: null here" if whole else \
            "; count the axes from 0"
    raise SpecError(node.loc, f"{kind}: {which} dim must be {allowed}, got {describe(node)}", code="bad-argument",
                    hint=hint)


def _example(which: str) -> str:
    return "weight_norm: true, or weight_norm: {dim: 0, names: old}" if which == "weight_norm" else \
        "spectral_norm: true, or spectral_norm: {n_power_iterations: 1, eps: 1e-12}"
