"""The ``init:`` argument of layers with weights: how their weights and biases start.

``init: xavier_uniform`` (the weight), ``init: {normal: {std: 0.02}}`` (the weight, with settings)
or ``init: {weight: kaiming_normal, bias: zeros}``. The names and settings are PyTorch's
``torch.nn.init`` functions and arguments (Keras' ``glorot_*`` and ``he_*`` are accepted as aliases
of ``xavier_*`` and ``kaiming_*``); a layer without ``init:`` starts as PyTorch starts it. Both
backends honour it: the torch export calls those functions, the NumPy backend draws from the same
distributions (tests compare the moments and the exact constant and orthogonal results).
"""

from __future__ import annotations

from dataclasses import dataclass

from archcalc.errors import Loc, SpecError, choices_hint
from archcalc.spec.source import YMap, YNode, YScalar, describe

#: the gains ``torch.nn.init.calculate_gain`` knows (kaiming's ``nonlinearity``)
NONLINEARITIES = ("linear", "conv1d", "conv2d", "conv3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu")
MODES = ("fan_in", "fan_out")
#: init name → its settings with torch.nn.init's defaults (``None``: required)
INITS: dict[str, dict[str, object]] = {
    "zeros": {},
    "ones": {},
    "constant": {"value": None},
    "uniform": {"a": 0.0, "b": 1.0},
    "normal": {"mean": 0.0, "std": 1.0},
    "xavier_uniform": {"gain": 1.0},
    "xavier_normal": {"gain": 1.0},
    "kaiming_uniform": {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
    "kaiming_normal": {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
    "orthogonal": {"gain": 1.0},
}
ALIASES = {"glorot_uniform": "xavier_uniform", "glorot_normal": "xavier_normal", "he_uniform": "kaiming_uniform",
           "he_normal": "kaiming_normal"}
#: inits that need a fan-in and fan-out, so a matrix: not for a bias (torch refuses them on vectors)
MATRIX_ONLY = ("xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal", "orthogonal")
#: inits that set every element to one value
CONSTANT = ("zeros", "ones", "constant")
WORDS = {"mode": MODES, "nonlinearity": NONLINEARITIES}


@dataclass(frozen=True, slots=True)
class Init:
    """One torch.nn.init function and its settings (``params`` as sorted pairs, so it is a plain value)."""

    name: str
    params: tuple[tuple[str, object], ...]
    loc: Loc

    @property
    def settings(self) -> dict[str, object]:
        return dict(self.params)

    @property
    def constant(self) -> float | None:
        """The value every element gets, for zeros, ones and constant; None for the random ones."""
        return {"zeros": 0.0, "ones": 1.0}.get(self.name, self.settings.get("value") if self.name == "constant"
                                                 else None)

    def plain(self) -> tuple[str, tuple[tuple[str, object], ...]]:
        """``(name, ((key, value), …))``: what the NumPy layers take, a literal the standalone export can write."""
        return self.name, self.params


@dataclass(frozen=True, slots=True)
class LayerInit:
    """A layer's ``init:``: the weight's and the bias's (None: PyTorch's default for that tensor)."""

    weight: Init | None
    bias: Init | None
    loc: Loc


def parse_init(node: YNode, kind: str) -> LayerInit:
    """Read ``init:`` of a layer of ``kind``; every mistake is located at its key or value."""
    if isinstance(node, YMap) and node.keys() and set(node.keys()) <= {"weight", "bias"}:
        weight, bias = node.get("weight"), node.get("bias")
        return LayerInit(_one(weight, kind, "weight") if weight is not None else None,
                         _one(bias, kind, "bias") if bias is not None else None, node.loc)
    return LayerInit(_one(node, kind, "weight"), None, node.loc)


def _one(node: YNode, kind: str, tensor: str) -> Init:
    if isinstance(node, YScalar) and isinstance(node.value, str):
        name, args = _name(node, kind), None
    elif isinstance(node, YMap) and len(node.items) == 1:
        key, args = node.items[0]
        name = _name(key, kind)
    else:
        raise SpecError(node.loc, f"{kind}: init must be a name, {{name: {{settings}}}} or {{weight: …, bias: …}}, "
                        f"got {describe(node)}", code="bad-argument",
                        hint="init: xavier_uniform, init: {normal: {std: 0.02}}, init: {weight: kaiming_normal, "
                        "bias: zeros}")
    if tensor == "bias" and name in MATRIX_ONLY:
        raise SpecError(node.loc, f"{kind}: {name} needs a fan-in and a fan-out, which a bias (a vector) does not have",
                        code="bad-argument", hint="a bias takes zeros, ones, constant, uniform or normal")
    settings = dict(INITS[name])
    if args is not None and not (isinstance(args, YScalar) and args.value is None):
        if name == "constant" and isinstance(args, YScalar):  # {constant: 0.1}
            settings["value"] = _number(args, kind, "value")
        elif not isinstance(args, YMap):
            raise SpecError(args.loc, f"{kind}: the settings of {name} must be a mapping, got {describe(args)}",
                            code="bad-argument", hint=_example(name))
        else:
            for key, value in args.items:
                if key.text not in settings:
                    hint = choices_hint(key.text, list(settings), f"settings of {name}") if settings \
                        else f"{name} takes no settings"
                    raise SpecError(key.loc, f"{kind}: init {name} has no setting '{key.text}'",
                                    code="unknown-argument", hint=hint)
                settings[key.text] = _word(value, kind, key.text) if key.text in WORDS else \
                    _number(value, kind, key.text)
    missing = [key for key, value in settings.items() if value is None]
    if missing:
        raise SpecError(node.loc, f"{kind}: init {name} needs '{missing[0]}'", code="missing-argument",
                        hint=_example(name))
    _check(name, settings, node, kind)
    return Init(name, tuple(sorted(settings.items())), node.loc)


def _name(node: YScalar, kind: str) -> str:
    text = node.text
    if text in ALIASES:
        return ALIASES[text]
    if text not in INITS:
        raise SpecError(node.loc, f"{kind}: unknown init '{text}'", code="bad-argument",
                        hint=choices_hint(text, [*INITS, *ALIASES], "inits"))
    return text


def _number(node: YNode, kind: str, key: str) -> float:
    value = getattr(node, "value", None)
    if not isinstance(node, YScalar) or isinstance(value, bool) or not isinstance(value, (int, float)) \
            or value != value or abs(value) == float("inf"):
        raise SpecError(node.loc, f"{kind}: init setting '{key}' must be a number, got {describe(node)}",
                        code="bad-argument")
    return float(value)


def _word(node: YNode, kind: str, key: str) -> str:
    if not isinstance(node, YScalar) or node.text not in WORDS[key]:
        text = node.text if isinstance(node, YScalar) else ""
        raise SpecError(node.loc, f"{kind}: init setting '{key}' must be one of {', '.join(WORDS[key])}, got "
                        f"{describe(node)}", code="bad-argument", hint=choices_hint(text, WORDS[key], "words"))
    return node.text


def _check(name: str, settings: dict[str, object], node: YNode, kind: str) -> None:
    """The values torch.nn.init refuses or that make no distribution."""
    if name == "uniform" and not settings["a"] < settings["b"]:
        raise SpecError(node.loc, f"{kind}: uniform needs a < b, got a = {settings['a']:g}, b = {settings['b']:g}",
                        code="bad-argument", hint="uniform: {a: -0.05, b: 0.05}")
    if name == "normal" and settings["std"] < 0:
        raise SpecError(node.loc, f"{kind}: normal needs std ≥ 0, got {settings['std']:g}", code="bad-argument")


def _example(name: str) -> str:
    settings = ", ".join(f"{k}: {v if v is not None else 0.1}" for k, v in INITS[name].items())
    return f"init: {{{name}: {{{settings}}}}}" if settings else f"init: {name}"
