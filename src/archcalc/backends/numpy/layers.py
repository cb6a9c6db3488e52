"""Every layer kind in plain NumPy: forward and backward side by side, one small class per kind.

Each class keeps what its backward needs on ``self`` during ``forward`` (tinygrad ≤ 0.10's
``Function``, micrograd's closures) and copies PyTorch exactly: weights in torch's layouts
((out, in) and (out, in/groups, k_h, k_w)), torch's default initialisation U(±1/√fan_in), and
torch's rules for padding, ``ceil_mode``, ``count_include_pad``, adaptive windows, batch-norm
statistics and inverted dropout. ``backward(dout, input_grad)`` stores the parameter gradients in
``self.grads`` and returns the gradient of the input (or None when ``input_grad`` is false, which
the first layer of a network uses to skip work PyTorch skips too).

This module imports only NumPy: ``archcalc export --to numpy`` copies these classes, unchanged,
into the standalone file it writes (see ``source.py``), so there is one implementation.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from archcalc.backends.rope import rotary_frequencies


class Module:
    """Base of layers and structures: parameters are attributes named in ``PARAMS``, gradients in ``grads``."""

    PARAMS: tuple[str, ...] = ()
    BUFFERS: tuple[str, ...] = ()
    #: takes ``rng=`` (initialisation or dropout masks)
    RANDOM = False
    #: its one parameter is stored under the module's own name (``class_token``), not ``class_token.weight``
    BARE = False
    training = True
    #: whether its own parameters learn: torch's ``requires_grad``, per module (a spec freezes whole layers)
    requires_grad = True

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return self.forward(x)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout

    def children(self) -> list[tuple[str, Module]]:
        return []

    def named_modules(self, prefix: str = ""):
        """Every module with its path; a child named ``""`` (an inline construct) adds no level."""
        yield prefix, self
        for name, child in self.children():
            yield from child.named_modules(".".join(part for part in (prefix, name) if part))

    def parameters(self) -> list[np.ndarray]:
        """Every parameter array, in a fixed order, once (a tied weight is one array held by two
        layers); optimizers update them in place."""
        return list({id(p): p for _, m in self.named_modules() for n in m.PARAMS
                     if (p := getattr(m, n)) is not None}.values())

    def trainable_parameters(self) -> list[np.ndarray]:
        """The parameters that learn, in the order of :meth:`parameters`: what an optimizer holds (torch's
        ``[p for p in model.parameters() if p.requires_grad]``); a frozen module's are left out."""
        return list({id(p): p for _, m in self.named_modules() if m.requires_grad for n in m.PARAMS
                     if (p := getattr(m, n)) is not None}.values())

    def requires_grad_(self, requires_grad: bool = True) -> Module:
        """Whether the parameters of this module and of every module inside it learn, as torch's method sets
        it: a frozen module is left out of :meth:`trainable_parameters` and :meth:`gradients`, and a backward
        pass stops before modules that neither learn nor lead to one that does."""
        for _, m in self.named_modules():
            m.requires_grad = requires_grad
        return self

    def learns(self) -> bool:
        """Whether a parameter in this module learns, so that a backward pass has to reach it."""
        return any(m.requires_grad and any(getattr(m, n) is not None for n in m.PARAMS)
                   for _, m in self.named_modules())

    def gradients(self) -> list[np.ndarray]:
        """The gradients of the last backward pass, in the order of :meth:`trainable_parameters`: a tied weight's
        is the sum of the gradients of its uses, as autograd sums them into one ``.grad``. A frozen module's
        gradients are not among them (its layer may have computed them, on its way to its input's gradient)."""
        total: dict[int, np.ndarray] = {}
        for _, m in self.named_modules():
            if not m.requires_grad:
                continue
            for n in m.PARAMS:
                if (p := getattr(m, n)) is not None:
                    total[id(p)] = total[id(p)] + m.grads[n] if id(p) in total else m.grads[n]
        return list(total.values())

    def state_dict(self) -> dict[str, np.ndarray]:
        """Parameters and buffers under PyTorch's names (``layer1.0.conv1.weight``), in torch's order."""
        state = {}
        for prefix, m in self.named_modules():
            for name in (*m.PARAMS, *m.BUFFERS):
                if getattr(m, name) is not None:
                    state[prefix if m.BARE else f"{prefix}.{name}" if prefix else name] = getattr(m, name)
        return state

    def load_state_dict(self, state: dict[str, np.ndarray]) -> None:
        """Copy ``state`` into the arrays in place (so an optimizer built earlier keeps working)."""
        own = self.state_dict()
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise ValueError(f"weights do not fit this model: missing {missing}, unexpected {unexpected}")
        for name, array in own.items():
            value = np.asarray(state[name])
            if value.shape != array.shape:
                raise ValueError(f"{name}: shape {value.shape} does not fit {array.shape}")
            array[...] = value

    def astype(self, dtype) -> Module:
        """Cast every floating parameter and buffer (float32 trains fast, float64 checks gradients); a
        tied weight stays one array."""
        cast: dict[int, np.ndarray] = {}
        for _, m in self.named_modules():
            for name in (*m.PARAMS, *m.BUFFERS):
                value = getattr(m, name)
                if value is not None and value.dtype.kind == "f":
                    if id(value) not in cast:
                        cast[id(value)] = value.astype(dtype)
                    setattr(m, name, cast[id(value)])
        return self

    def train(self, mode: bool = True) -> Module:
        for _, m in self.named_modules():
            m.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)


def _uniform(rng: np.random.Generator, fan_in: int, shape: tuple[int, ...]) -> np.ndarray:
    """PyTorch's default for weights and biases: kaiming_uniform_(a=√5) comes to U(±1/√fan_in)."""
    bound = 1 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, shape)


def _initial(rng: np.random.Generator, shape: tuple[int, ...], init, default_fan_in: int) -> np.ndarray:
    """A parameter of ``shape`` drawn as ``torch.nn.init`` draws it for the spec's ``init:`` ``(name, ((key,
    value), …))``; PyTorch's layer default U(±1/√fan_in) when ``init`` is None.

    Fans follow torch: fan_in = shape[1]·k, fan_out = shape[0]·k with k the product of the kernel's sizes.
    Orthogonal is torch's construction: the QR factor of a normal matrix, its columns' signs fixed by R's
    diagonal, scaled by the gain.
    """
    if init is None:
        return _uniform(rng, default_fan_in, shape)
    name, params = init
    p = dict(params)
    receptive = math.prod(shape[2:])
    fan_in, fan_out = (shape[1] * receptive, shape[0] * receptive) if len(shape) > 1 else (0, 0)
    if name in ("zeros", "ones", "constant"):
        return np.full(shape, {"zeros": 0.0, "ones": 1.0}.get(name, p.get("value")))
    if name == "uniform":
        return rng.uniform(p["a"], p["b"], shape)
    if name == "normal":
        return rng.normal(p["mean"], p["std"], shape)
    if name.startswith("xavier"):
        std = p["gain"] * math.sqrt(2.0 / (fan_in + fan_out))
        return rng.uniform(-math.sqrt(3) * std, math.sqrt(3) * std, shape) if name.endswith("uniform") \
            else rng.normal(0.0, std, shape)
    if name.startswith("kaiming"):  # torch.nn.init.calculate_gain (leaky_relu's uses ``a``)
        gains = {"tanh": 5 / 3, "relu": math.sqrt(2.0), "selu": 3 / 4, "leaky_relu": math.sqrt(2.0 / (1 + p["a"] ** 2))}
        gain = gains.get(p["nonlinearity"], 1.0)
        std = gain / math.sqrt(fan_in if p["mode"] == "fan_in" else fan_out)
        return rng.uniform(-math.sqrt(3) * std, math.sqrt(3) * std, shape) if name.endswith("uniform") \
            else rng.normal(0.0, std, shape)
    if name == "orthogonal":
        rows, cols = shape[0], math.prod(shape[1:])
        flat = rng.normal(0.0, 1.0, (rows, cols))
        if rows < cols:
            flat = flat.T
        q, r = np.linalg.qr(flat)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return p["gain"] * q.reshape(shape)
    raise ValueError(f"unknown init {name!r}")


def _axes(value, rank: int) -> tuple:
    """A per-axis argument as a tuple of ``rank`` values: torch's modules take one int for every axis, or
    one per axis; ``'same'`` (a convolution's padding word) stays as it is."""
    if isinstance(value, str):
        return value
    return tuple(value) if isinstance(value, (tuple, list)) else (value,) * rank


def _spatial(pairs) -> tuple[slice, ...]:
    """The index of every sample and channel and, per spatial axis, the (start, stop, step) it gives."""
    return (slice(None), slice(None), *(slice(*pair) for pair in pairs))


def _pad(x: np.ndarray, pads: tuple[tuple[int, int], ...], value: float = 0.0) -> np.ndarray:
    """Pad each spatial axis (every axis after N and C) by its (before, after) pair; the input itself when
    there is nothing to add."""
    if not any(before or after for before, after in pads):
        return x
    shape = (*x.shape[:2], *(n + before + after for n, (before, after) in zip(x.shape[2:], pads)))
    out = np.full(shape, value, dtype=x.dtype)
    out[_spatial((before, before + n) for n, (before, _) in zip(x.shape[2:], pads))] = x
    return out


def _crop(dxp: np.ndarray, pads: tuple[tuple[int, int], ...], shape: tuple[int, ...]) -> np.ndarray:
    """The inverse of :func:`_pad` for gradients: the part of ``shape`` (N, C, *spatial) after each axis's
    leading padding, dropping what lies in the padding."""
    return dxp[_spatial((before, before + n) for n, (before, _) in zip(shape[2:], pads))]


def _windows(xp: np.ndarray, kernel, stride, dilation, out) -> np.ndarray:
    """A read-only (N, C, *out, *kernel) view of the windows of a padded input (no copy), any number of
    spatial axes."""
    span = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    view = sliding_window_view(xp, span, axis=tuple(range(2, xp.ndim)))
    return view[_spatial([(None, (o - 1) * s + 1, s) for o, s in zip(out, stride)] +
                         [(None, None, d) for d in dilation])]


def _taps(kernel, stride, dilation, out) -> list[tuple[slice, ...]]:
    """For each of the ∏k kernel taps (in the weight's order), the slices of the padded input it reads at
    every output position: ``xp[_spatial(tap)]`` is an (N, C, *out) strided view."""
    return [tuple((i * d, i * d + (o - 1) * s + 1, s) for i, s, d, o in zip(tap, stride, dilation, out))
            for tap in np.ndindex(*kernel)]


def _fold(grads, shape: tuple[int, ...], taps: list[tuple[tuple[int, int, int], ...]]) -> np.ndarray:
    """The adjoint of reading windows: add each tap's gradient (N, C, *out) back where it was read.

    One strided slice per kernel tap, each covering every sample and position at once; overlapping
    windows accumulate without ``np.add.at``. ``grads`` is indexable by tap (an array or a list).
    """
    dxp = np.zeros(shape, dtype=grads[0].dtype)
    for k, tap in enumerate(taps):
        dxp[_spatial(tap)] += grads[k]
    return dxp


def _columns(xp: np.ndarray, kernel, stride, dilation, out, groups: int) -> np.ndarray:
    """The windows of a padded input copied once into columns (N, groups, C/groups·∏k, ∏out) (im2col):
    a convolution is then one matrix product per sample and group."""
    rank = len(kernel)
    windows = _windows(xp, kernel, stride, dilation, out)
    order = (0, 1, *range(2 + rank, 2 + 2 * rank), *range(2, 2 + rank))
    return windows.transpose(order).reshape(xp.shape[0], groups, -1, math.prod(out))  # the one copy


def _uncolumns(cols: np.ndarray, shape: tuple[int, ...], kernel, stride, dilation, out) -> np.ndarray:
    """The adjoint of :func:`_columns` (col2im): columns (N, groups, C/groups·∏k, ∏out) added back into
    an array of ``shape`` (N, C, *padded) over the kernel taps."""
    n, channels = shape[:2]
    taps = cols.reshape(n, channels, math.prod(kernel), *out)
    return _fold(np.moveaxis(taps, 2, 0), shape, _taps(kernel, stride, dilation, out))


def _pad_pairs(padding, kernel, dilation) -> tuple[tuple[int, int], ...]:
    """(before, after) per spatial axis from (p, …), or from 'same', where PyTorch puts the odd
    position of an even kernel at the end (bottom/right)."""
    if padding == "same":
        return tuple((d * (k - 1) // 2, d * (k - 1) - d * (k - 1) // 2) for k, d in zip(kernel, dilation))
    return tuple((p, p) for p in padding)


def _along(x: np.ndarray, matrix: np.ndarray, axis: int) -> np.ndarray:
    """``matrix`` (out, in) applied to ``axis`` of ``x``: out_i = Σ_j matrix[i, j]·x_j along that axis."""
    if axis == x.ndim - 1:
        return x @ matrix.T
    return np.moveaxis(np.moveaxis(x, axis, -1) @ matrix.T, -1, axis)


def _pool_size(n: int, kernel: int, stride: int, pads: tuple[int, int], dilation: int, ceil_mode: bool) -> int:
    """PyTorch's pooling output length: ⌊(n + 2p − d(k−1) − 1)/s⌋ + 1, or ⌈…⌉ + 1 with ``ceil_mode``,
    where a last window that would start in the right padding is dropped.

    The core's ``archcalc.layers.spatial.out_size`` again, for ints only, because the standalone
    export cannot import archcalc; a test runs it against torch's own output shapes.
    """
    span = n + pads[0] + pads[1] - dilation * (kernel - 1) - 1
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= n + pads[0]:
        out -= 1
    return out


class _Pool(Module):
    """Shared by max and average pooling over ``RANK`` spatial axes: the output size, and the padding the
    windows need (the leading padding as given, at the end only as far as the last window reaches)."""

    RANK = 2

    def __init__(self, kernel_size, stride=None, padding=0, dilation=1, ceil_mode: bool = False):
        self.kernel_size = _axes(kernel_size, self.RANK)
        self.stride = _axes(stride, self.RANK) if stride is not None else self.kernel_size
        self.dilation, self.ceil_mode = _axes(dilation, self.RANK), ceil_mode
        self.padding = _pad_pairs(_axes(padding, self.RANK), self.kernel_size, self.dilation)

    def _geometry(self, x: np.ndarray):
        axes = list(zip(x.shape[2:], self.kernel_size, self.stride, self.padding, self.dilation))
        out = tuple(_pool_size(n, k, s, p, d, self.ceil_mode) for n, k, s, p, d in axes)
        pads = tuple((p[0], max(0, (o - 1) * s + d * (k - 1) + 1 - n - p[0])) for (n, k, s, p, d), o in zip(axes, out))
        return out, pads

# -- affine layers ---------------------------------------------------------------------------------


class Linear(Module):
    """y = x Wᵀ + b on the last axis (``nn.Linear``); W is (out, in).

    ``transposed`` stores W as (in, out), y = x W + b, as Hugging Face's GPT-2 ``Conv1D`` does, with
    its initialisation (W from N(0, 0.02²), b zero).
    """

    PARAMS = ("weight", "bias")
    RANDOM = True

    def __init__(self, in_features: int, out_features: int, bias: bool = True, rng=None, init=None, bias_init=None,
                 transposed: bool = False):
        rng = np.random.default_rng(rng)
        self.transposed = transposed
        if transposed:
            shape = (in_features, out_features)
            self.weight = rng.normal(0.0, 0.02, shape) if init is None else _initial(rng, shape, init, in_features)
            self.bias = (np.zeros(out_features) if bias_init is None else
                         _initial(rng, (out_features,), bias_init, in_features)) if bias else None
            return
        self.weight = _initial(rng, (out_features, in_features), init, in_features)
        self.bias = _initial(rng, (out_features,), bias_init, in_features) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        # as one 2-D product: numpy multiplies a 3-D array by a transposed matrix without BLAS, ~50× slower
        x2 = x.reshape(-1, x.shape[-1])
        out = (x2 @ self.weight if self.transposed else x2 @ self.weight.T).reshape(*x.shape[:-1], -1)
        return out + self.bias if self.bias is not None else out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        d2 = dout.reshape(-1, dout.shape[-1])
        grad = d2.T @ self.x.reshape(-1, self.x.shape[-1])
        self.grads = {"weight": grad.T if self.transposed else grad}
        if self.bias is not None:
            self.grads["bias"] = d2.sum(0)
        if not input_grad:
            return None
        return (d2 @ self.weight.T if self.transposed else d2 @ self.weight).reshape(*dout.shape[:-1], -1)




class _Conv(Module):
    """Convolution over ``RANK`` spatial axes (``nn.Conv1d``, ``nn.Conv2d``, ``nn.Conv3d``) with stride,
    padding (or 'same'), dilation and groups; one implementation for every rank.

    Forward: the windows of the padded input copied once into columns (N, g, C/g·∏k, ∏out), then
    one matrix product per sample and group, which leaves the output in N, C, *spatial order.
    Backward: the weight gradient is the output gradient times the same columns, summed over the
    batch; the input gradient is the columns' gradient folded back over the ∏k kernel taps.
    """

    PARAMS = ("weight", "bias")
    RANDOM = True
    RANK = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, dilation=1,
                 groups: int = 1, bias: bool = True, padding_mode: str = "zeros", rng=None, init=None,
                 bias_init=None):
        rng = np.random.default_rng(rng)
        kernel = _axes(kernel_size, self.RANK)
        self.stride, self.dilation, self.groups = _axes(stride, self.RANK), _axes(dilation, self.RANK), groups
        self.padding = _pad_pairs(_axes(padding, self.RANK), kernel, self.dilation)
        self.padding_mode = padding_mode
        fan_in = in_channels // groups * math.prod(kernel)
        self.weight = _initial(rng, (out_channels, in_channels // groups, *kernel), init, fan_in)
        self.bias = _initial(rng, (out_channels,), bias_init, fan_in) if bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        o, _, *kernel = self.weight.shape
        g, n = self.groups, x.shape[0]
        xp = _pad(x, self.padding) if self.padding_mode == "zeros" else \
            _copy_pad(x, ((0, 0), (0, 0), *self.padding), self.padding_mode)
        out = tuple((size - d * (k - 1) - 1) // s + 1 for size, k, s, d in
                    zip(xp.shape[2:], kernel, self.stride, self.dilation))
        cols = _columns(xp, kernel, self.stride, self.dilation, out, g)
        y = np.matmul(self.weight.reshape(g, o // g, -1), cols).reshape(n, o, *out)
        if self.bias is not None:
            y += self.bias.reshape(-1, *(1,) * len(out))
        self.cache = (x.shape, xp.shape, cols, out)
        return y

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_shape, xp_shape, cols, out = self.cache
        o, _, *kernel = self.weight.shape
        g, n = self.groups, dout.shape[0]
        d = np.ascontiguousarray(dout).reshape(n, g, o // g, -1)
        self.grads = {"weight": np.matmul(d, cols.transpose(0, 1, 3, 2)).sum(0).reshape(self.weight.shape)}
        if self.bias is not None:
            self.grads["bias"] = d.sum((0, 3)).reshape(o)
        if not input_grad:
            return None
        dcols = np.matmul(self.weight.reshape(g, o // g, -1).transpose(0, 2, 1), d)
        dxp = _uncolumns(dcols, xp_shape, kernel, self.stride, self.dilation, out)
        if self.padding_mode == "zeros":
            return _crop(dxp, self.padding, x_shape)
        return _copy_pad_grad(dxp, ((0, 0), (0, 0), *self.padding), self.padding_mode, x_shape)


class Conv1d(_Conv):
    """1-D convolution (``nn.Conv1d``) over [N, C, L]; weight (out, in/groups, k)."""

    RANK = 1


class Conv2d(_Conv):
    """2-D convolution (``nn.Conv2d``) over [N, C, H, W]; weight (out, in/groups, k_h, k_w)."""


class Conv3d(_Conv):
    """3-D convolution (``nn.Conv3d``) over [N, C, D, H, W]; weight (out, in/groups, k_d, k_h, k_w)."""

    RANK = 3


class _ConvTranspose(Module):
    """Transposed convolution over ``RANK`` spatial axes (``nn.ConvTranspose1d``/``2d``/``3d``): the
    adjoint of the convolution with the same weight, stride, dilation and groups.

    The weight is torch's (in, out/groups, *k), initialised from fan_in = out/groups·∏k as torch
    computes it for that layout. Forward is the convolution's input gradient: one matrix product
    per sample and group gives each input position's (out/g)·∏k patch as columns, which
    :func:`_uncolumns` (col2im) adds into a buffer of (n − 1)·s + d(k − 1) + 1 positions per axis;
    the output is that buffer without ``padding`` positions at each end, ``output_padding`` extra
    positions at the end (zeros before the bias). Backward is the convolution's forward: the output
    gradient placed back into the buffer, read as columns (:func:`_columns`), gives the weight
    gradient (input times columns) and the input gradient (weight times columns).
    """

    PARAMS = ("weight", "bias")
    RANDOM = True
    RANK = 2

    def __init__(self, in_channels: int, out_channels: int, kernel_size, stride=1, padding=0, output_padding=0,
                 groups: int = 1, bias: bool = True, dilation=1, rng=None, init=None, bias_init=None):
        rng = np.random.default_rng(rng)
        kernel = _axes(kernel_size, self.RANK)
        self.stride, self.padding = _axes(stride, self.RANK), _axes(padding, self.RANK)
        self.output_padding, self.dilation = _axes(output_padding, self.RANK), _axes(dilation, self.RANK)
        self.groups = groups
        fan_in = out_channels // groups * math.prod(kernel)
        self.weight = _initial(rng, (in_channels, out_channels // groups, *kernel), init, fan_in)
        self.bias = _initial(rng, (out_channels,), bias_init, fan_in) if bias else None

    def _sizes(self, n: tuple[int, ...]):
        """The output size per axis, and the buffer the patches are added into, with its padding pairs."""
        kernel = self.weight.shape[2:]
        full = [(m - 1) * s + d * (k - 1) + 1 for m, k, s, d in zip(n, kernel, self.stride, self.dilation)]
        out = tuple(f - 2 * p + op for f, p, op in zip(full, self.padding, self.output_padding))
        buffer = tuple(max(f, p + o) for f, p, o in zip(full, self.padding, out))
        pads = tuple((p, b - p - o) for p, b, o in zip(self.padding, buffer, out))
        return out, buffer, pads

    def forward(self, x: np.ndarray) -> np.ndarray:
        i, o_g, *kernel = self.weight.shape
        g, n = self.groups, x.shape[0]
        out, buffer, pads = self._sizes(x.shape[2:])
        cols = np.matmul(self.weight.reshape(g, i // g, -1).transpose(0, 2, 1), x.reshape(n, g, i // g, -1))
        full = _uncolumns(cols, (n, g * o_g, *buffer), kernel, self.stride, self.dilation, x.shape[2:])
        y = _crop(full, pads, (n, g * o_g, *out))
        self.cache = (x, pads)
        return y + self.bias.reshape(-1, *(1,) * len(out)) if self.bias is not None else np.ascontiguousarray(y)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x, pads = self.cache
        i, _, *kernel = self.weight.shape
        g, n = self.groups, x.shape[0]
        dcols = _columns(_pad(dout, pads), kernel, self.stride, self.dilation, x.shape[2:], g)
        xs = x.reshape(n, g, i // g, -1)
        self.grads = {"weight": np.matmul(xs, dcols.transpose(0, 1, 3, 2)).sum(0).reshape(self.weight.shape)}
        if self.bias is not None:
            self.grads["bias"] = dout.sum((0, *range(2, dout.ndim)))
        if not input_grad:
            return None
        return np.matmul(self.weight.reshape(g, i // g, -1), dcols).reshape(x.shape)


class ConvTranspose1d(_ConvTranspose):
    """``nn.ConvTranspose1d`` over [N, C, L]; weight (in, out/groups, k)."""

    RANK = 1


class ConvTranspose2d(_ConvTranspose):
    """``nn.ConvTranspose2d`` over [N, C, H, W]; weight (in, out/groups, k_h, k_w)."""


class ConvTranspose3d(_ConvTranspose):
    """``nn.ConvTranspose3d`` over [N, C, D, H, W]; weight (in, out/groups, k_d, k_h, k_w)."""

    RANK = 3


# -- reparametrised weights ------------------------------------------------------------------------


class _Reparametrised(Module):
    """A linear or convolution layer whose weight is computed from other tensors before each forward, as torch's
    ``weight_norm`` and ``spectral_norm`` hooks compute it: the wrapped layer runs with that weight, and its
    weight gradient is carried back to the tensors it came from. The wrapper is the layer (no level of its own
    in the names): its parameters are the layer's bias and the reparametrisation's tensors, under torch's names."""

    def __init__(self, layer: Module):
        self.layer = layer

    @property
    def bias(self) -> np.ndarray | None:
        return self.layer.bias

    @bias.setter
    def bias(self, value: np.ndarray | None) -> None:
        self.layer.bias = value

    def effective_weight(self) -> np.ndarray:
        raise NotImplementedError

    def weight_grads(self, dweight: np.ndarray) -> dict[str, np.ndarray]:
        raise NotImplementedError

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.layer.weight = self.effective_weight()
        return self.layer.forward(x)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dx = self.layer.backward(dout, input_grad)
        self.grads = self.weight_grads(self.layer.grads["weight"])
        if self.bias is not None:
            self.grads["bias"] = self.layer.grads["bias"]
        return dx


def _norm_except(v: np.ndarray, dim: int | None) -> np.ndarray:
    """torch.norm_except_dim(v, 2, dim): the 2-norm over every axis but ``dim``, kept as 1s (None: all of them)."""
    if dim is None:
        return np.sqrt(np.sum(v * v))
    axes = tuple(i for i in range(v.ndim) if i != dim)
    return np.sqrt(np.sum(v * v, axis=axes, keepdims=True))


class WeightNorm(_Reparametrised):
    """``torch.nn.utils.weight_norm``: w = g · v / ‖v‖, the norm over every axis but ``dim`` (None: the whole
    tensor, g a scalar). g starts as the norm of the layer's initial weight and v as that weight, so w starts as
    it. ``names`` picks the state-dict names: ``old`` (``weight_g``, ``weight_v``) or ``new``
    (``torch.nn.utils.parametrizations.weight_norm``'s ``parametrizations.weight.original0``/``original1``).

    Backward: with G = ∂L/∂w and n = ‖v‖, ∂L/∂g = Σ G·v / n and ∂L/∂v = (g/n)·(G − v·Σ G·v / n²), the sums
    over the axes of the norm."""

    def __init__(self, layer: Module, dim: int | None = 0, names: str = "old"):
        super().__init__(layer)
        self.dim = dim
        self.g_name, self.v_name = ("weight_g", "weight_v") if names == "old" else \
            ("parametrizations.weight.original0", "parametrizations.weight.original1")
        self.PARAMS = ("bias", self.g_name, self.v_name)
        setattr(self, self.g_name, np.array(_norm_except(layer.weight, dim)))
        setattr(self, self.v_name, layer.weight)

    def effective_weight(self) -> np.ndarray:
        g, v = getattr(self, self.g_name), getattr(self, self.v_name)
        self.norm = _norm_except(v, self.dim)
        return v * (g / self.norm)

    def weight_grads(self, dweight: np.ndarray) -> dict[str, np.ndarray]:
        g, v, n = getattr(self, self.g_name), getattr(self, self.v_name), self.norm
        if self.dim is None:
            dot = np.sum(dweight * v)
        else:
            dot = np.sum(dweight * v, axis=tuple(i for i in range(v.ndim) if i != self.dim), keepdims=True)
        return {self.g_name: np.asarray(dot / n).reshape(np.shape(g)),
                self.v_name: (g / n) * (dweight - v * (dot / (n * n)))}


def _normalize(x: np.ndarray, eps: float) -> np.ndarray:
    """torch.nn.functional.normalize(x, dim=0, eps): x / max(‖x‖, eps)."""
    return x / max(float(np.sqrt(np.sum(x * x))), eps)


class SpectralNorm(_Reparametrised):
    """``torch.nn.utils.spectral_norm``: w = W / σ(W), σ estimated as uᵀ W v with W the weight as a matrix
    (axis ``dim`` its rows, the rest flattened into its columns). In training mode each forward first runs
    ``n_power_iterations`` steps of power iteration on the buffers u and v (v = normalize(Wᵀu), then
    u = normalize(Wv), in place, without gradient); in evaluation mode the stored u and v are used as they are.
    Both start as normalised draws from N(0, 1), as torch's do. Parameters ``weight_orig`` (W) and the layer's
    bias; buffers ``weight_u`` and ``weight_v``.

    Backward, u and v held constant as torch holds them: ∂L/∂W = G/σ − (Σ G·W / σ²) · u vᵀ."""

    PARAMS = ("bias", "weight_orig")
    BUFFERS = ("weight_u", "weight_v")
    RANDOM = True

    def __init__(self, layer: Module, n_power_iterations: int = 1, eps: float = 1e-12, dim: int = 0, rng=None):
        super().__init__(layer)
        rng = np.random.default_rng(rng)
        self.n_power_iterations, self.eps, self.dim = n_power_iterations, eps, dim
        self.weight_orig = layer.weight
        h, w = self.matrix(layer.weight).shape
        self.weight_u = _normalize(rng.normal(0.0, 1.0, h), eps)
        self.weight_v = _normalize(rng.normal(0.0, 1.0, w), eps)

    def matrix(self, weight: np.ndarray) -> np.ndarray:
        """The weight as torch's ``reshape_weight_to_matrix``: axis ``dim`` first, the rest flattened."""
        return np.moveaxis(weight, self.dim, 0).reshape(weight.shape[self.dim], -1)

    def effective_weight(self) -> np.ndarray:
        mat = self.matrix(self.weight_orig)
        if self.training:
            for _ in range(self.n_power_iterations):
                self.weight_v[...] = _normalize(mat.T @ self.weight_u, self.eps)
                self.weight_u[...] = _normalize(mat @ self.weight_v, self.eps)
        self.uv = (self.weight_u.copy(), self.weight_v.copy())
        self.sigma = float(self.weight_u @ mat @ self.weight_v)
        return self.weight_orig / self.sigma

    def weight_grads(self, dweight: np.ndarray) -> dict[str, np.ndarray]:
        u, v = self.uv
        shape = np.moveaxis(self.weight_orig, self.dim, 0).shape
        outer = np.moveaxis(np.outer(u, v).reshape(shape), 0, self.dim)
        dot = float(np.sum(dweight * self.weight_orig))
        return {"weight_orig": dweight / self.sigma - (dot / self.sigma**2) * outer}


# -- pooling ---------------------------------------------------------------------------------------


class _MaxPool(_Pool):
    """Window maximum over ``RANK`` spatial axes (``nn.MaxPool1d``/``2d``/``3d``): −∞ padding, dilation,
    ``ceil_mode``; the gradient goes to the first maximum of each window, as in PyTorch."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, pads = self._geometry(x)
        xp = _pad(x, pads, -np.inf)
        taps = _taps(self.kernel_size, self.stride, self.dilation, out)
        best, index = xp[_spatial(taps[0])].copy(), np.zeros((*x.shape[:2], *out), dtype=np.int64)
        for k, tap in enumerate(taps[1:], 1):  # a strict > keeps the first maximum
            part = xp[_spatial(tap)]
            index[part > best] = k
            np.maximum(best, part, out=best)
        self.cache = (x.shape, xp.shape, pads, taps, index)
        return best

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_shape, xp_shape, pads, taps, index = self.cache
        grads = [np.where(index == k, dout, 0) for k in range(len(taps))]
        return _crop(_fold(grads, xp_shape, taps), pads, x_shape)


class MaxPool1d(_MaxPool):
    """``nn.MaxPool1d`` over [N, C, L]."""

    RANK = 1


class MaxPool2d(_MaxPool):
    """``nn.MaxPool2d`` over [N, C, H, W]."""


class MaxPool3d(_MaxPool):
    """``nn.MaxPool3d`` over [N, C, D, H, W]."""

    RANK = 3


class _AvgPool(_Pool):
    """Window mean over ``RANK`` spatial axes (``nn.AvgPool1d``/``2d``/``3d``): zero padding, ``ceil_mode``,
    and PyTorch's divisor — the window clipped to the padded input with ``count_include_pad``, to the
    input itself without."""

    def __init__(self, kernel_size, stride=None, padding=0, ceil_mode: bool = False, count_include_pad: bool = True):
        super().__init__(kernel_size, stride, padding, 1, ceil_mode)
        self.count_include_pad = count_include_pad

    def _divisor(self, x: np.ndarray, out: tuple[int, ...]) -> np.ndarray:
        divisor = np.ones((), dtype=x.dtype)
        for n, k, s, (before, after), o in zip(x.shape[2:], self.kernel_size, self.stride, self.padding, out):
            start = np.arange(o) * s - before
            end = np.minimum(start + k, n + after)
            if not self.count_include_pad:
                start, end = np.maximum(start, 0), np.minimum(end, n)
            divisor = np.multiply.outer(divisor, end - start)
        return divisor.astype(x.dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        out, pads = self._geometry(x)
        xp = _pad(x, pads)
        divisor = self._divisor(x, out)
        taps = _taps(self.kernel_size, self.stride, self.dilation, out)
        self.cache = (x.shape, xp.shape, pads, taps, divisor)
        total = xp[_spatial(taps[0])].copy()
        for tap in taps[1:]:
            total += xp[_spatial(tap)]
        return total / divisor

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x_shape, xp_shape, pads, taps, divisor = self.cache
        share = dout / divisor
        return _crop(_fold([share] * len(taps), xp_shape, taps), pads, x_shape)


class AvgPool1d(_AvgPool):
    """``nn.AvgPool1d`` over [N, C, L]."""

    RANK = 1


class AvgPool2d(_AvgPool):
    """``nn.AvgPool2d`` over [N, C, H, W]."""


class AvgPool3d(_AvgPool):
    """``nn.AvgPool3d`` over [N, C, D, H, W]."""

    RANK = 3


class _AdaptiveAvgPool(Module):
    """Average pooling to a fixed size over ``RANK`` spatial axes (``nn.AdaptiveAvgPool1d``/``2d``/``3d``):
    output i averages inputs ⌊i·n/o⌋ … ⌈(i+1)·n/o⌉ − 1 (PyTorch's rule, windows may overlap). Written
    as one averaging matrix per axis, so forward and backward are one matrix product per axis."""

    RANK = 2

    def __init__(self, output_size):
        self.output_size = _axes(output_size, self.RANK)

    @staticmethod
    def _matrix(n: int, o: int, dtype) -> np.ndarray:
        i = np.arange(o)[:, None]
        start, end = i * n // o, -(-(i + 1) * n // o)
        inside = (np.arange(n) >= start) & (np.arange(n) < end)
        return (inside / inside.sum(1, keepdims=True)).astype(dtype)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.matrices = [self._matrix(n, o, x.dtype) for n, o in zip(x.shape[2:], self.output_size)]
        for axis, matrix in enumerate(self.matrices, 2):
            x = _along(x, matrix, axis)
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        for axis, matrix in enumerate(self.matrices, 2):
            dout = _along(dout, matrix.T, axis)
        return dout


class AdaptiveAvgPool1d(_AdaptiveAvgPool):
    """``nn.AdaptiveAvgPool1d`` over [N, C, L]."""

    RANK = 1


class AdaptiveAvgPool2d(_AdaptiveAvgPool):
    """``nn.AdaptiveAvgPool2d`` over [N, C, H, W]."""


class AdaptiveAvgPool3d(_AdaptiveAvgPool):
    """``nn.AdaptiveAvgPool3d`` over [N, C, D, H, W]."""

    RANK = 3


class _GlobalAvgPool(Module):
    """Mean of each channel over every spatial axis: [N, C, *spatial] → [N, C]; each input gets the
    output's gradient divided by the number of positions."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return x.mean(tuple(range(2, x.ndim)))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        count = math.prod(self.shape[2:])
        return np.broadcast_to((dout / count).reshape(*dout.shape, *(1,) * (len(self.shape) - 2)), self.shape)


class GlobalAvgPool1d(_GlobalAvgPool):
    """Mean over L: [N, C, L] → [N, C]."""


class GlobalAvgPool2d(_GlobalAvgPool):
    """Mean over H and W: [N, C, H, W] → [N, C]."""


class GlobalAvgPool3d(_GlobalAvgPool):
    """Mean over D, H and W: [N, C, D, H, W] → [N, C]."""


# -- upsampling ------------------------------------------------------------------------------------


def _interpolation(n: int, o: int, mode: str, align_corners: bool, scale: float | None, dtype) -> np.ndarray:
    """The (o, n) matrix of one axis's interpolation, as ``F.interpolate`` computes it.

    ``scale`` is the user's scale factor (torch then steps 1/scale input positions per output), or
    None when a size was given (n/o). Nearest: output i copies input min(⌊i·step⌋, n − 1), the step
    and the product in float32 as torch's kernel has them (even when o = n: a scale of 1.3 on 2
    inputs gives 2 outputs that both copy input 0). Linear: an axis whose size does not change is
    copied (torch's shortcut); otherwise source position step·(i + ½) − ½ (clamped at 0), or with
    ``align_corners`` i·(n − 1)/(o − 1), mixing inputs ⌊src⌋ and the next (the last input alone at
    the end) with weights 1 − λ and λ.
    """
    rows = np.arange(o)
    matrix = np.zeros((o, n))
    if mode == "nearest":
        step = np.float32(1.0 / scale) if scale is not None else np.float32(n) / np.float32(o)
        source = np.minimum(np.floor(rows.astype(np.float32) * step).astype(np.int64), n - 1)
        matrix[rows, source] = 1.0
        return matrix.astype(dtype)
    if o == n:  # torch copies an axis whose size does not change, whatever the scale
        return np.eye(n, dtype=dtype)
    if align_corners:
        src = rows * ((n - 1) / (o - 1) if o > 1 else 0.0)
    else:
        step = 1.0 / scale if scale is not None else n / o
        src = np.maximum(step * (rows + 0.5) - 0.5, 0.0)
    low = np.minimum(np.floor(src).astype(np.int64), n - 1)
    weight = np.clip(src - low, 0.0, 1.0)
    high = low + (low < n - 1)
    np.add.at(matrix, (rows, low), 1 - weight)
    np.add.at(matrix, (rows, high), weight)
    return matrix.astype(dtype)


class Upsample(Module):
    """Upsampling (``nn.Upsample``) over 1, 2 or 3 spatial axes: ``nearest``, or ``linear``,
    ``bilinear``, ``trilinear`` with ``align_corners`` as torch's, to ``size`` or by ``scale_factor``
    (each axis ⌊n·scale⌋, torch's rule). The modes are separable, so each axis is one interpolation
    matrix: forward applies them axis by axis, backward applies their transposes (the exact adjoint,
    which is what torch's backward kernels compute)."""

    def __init__(self, size=None, scale_factor=None, mode: str = "nearest", align_corners: bool = False):
        self.size, self.scale_factor, self.mode, self.align_corners = size, scale_factor, mode, align_corners

    def forward(self, x: np.ndarray) -> np.ndarray:
        rank = x.ndim - 2
        scales = _axes(self.scale_factor, rank) if self.scale_factor is not None else (None,) * rank
        sizes = _axes(self.size, rank) if self.size is not None else \
            tuple(math.floor(n * s) for n, s in zip(x.shape[2:], scales))
        self.matrices = [_interpolation(n, o, self.mode, self.align_corners, s, x.dtype)
                         for n, o, s in zip(x.shape[2:], sizes, scales)]
        for axis, matrix in enumerate(self.matrices, 2):
            x = _along(x, matrix, axis)
        return x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        for axis, matrix in enumerate(self.matrices, 2):
            dout = _along(dout, matrix.T, axis)
        return dout


class PixelShuffle(Module):
    """Channels into space (``nn.PixelShuffle``): [N, C·r², H, W] → [N, C, H·r, W·r], channel c·r² + i·r + j
    going to position (h·r + i, w·r + j); the gradient is the inverse rearrangement."""

    def __init__(self, upscale_factor: int):
        self.upscale_factor = upscale_factor

    def forward(self, x: np.ndarray) -> np.ndarray:
        n, c, h, w = x.shape
        r = self.upscale_factor
        return x.reshape(n, c // (r * r), r, r, h, w).transpose(0, 1, 4, 2, 5, 3).reshape(n, c // (r * r), h * r, w * r)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        n, c, hr, wr = dout.shape
        r = self.upscale_factor
        return dout.reshape(n, c, hr // r, r, wr // r, r).transpose(0, 1, 3, 5, 2, 4).reshape(n, c * r * r, hr // r,
                                                                                              wr // r)



def _pad_pairs_of(padding: tuple[int, ...], ndim: int) -> list[tuple[int, int]]:
    """torch's flat (before, after) list, the last axis first, as one pair per axis of an ``ndim``-D array."""
    given = [(padding[i], padding[i + 1]) for i in range(0, len(padding), 2)]
    return [(0, 0)] * (ndim - len(given)) + given[::-1]


def _pad_index(shape: tuple[int, ...], pairs: list[tuple[int, int]]) -> tuple[tuple[slice, ...], tuple[slice, ...]]:
    """For (before, after) per axis (negative amounts crop): where the kept part of an input of ``shape`` lies
    in the input, and where it lies in the output."""
    source, target = [], []
    for n, (before, after) in zip(shape, pairs):
        source.append(slice(max(-before, 0), n - max(-after, 0)))
        target.append(slice(max(before, 0), max(before, 0) + n - max(-before, 0) - max(-after, 0)))
    return tuple(source), tuple(target)


class ConstantPad(Module):
    """``F.pad(x, padding, value=value)`` (``nn.ZeroPad*d``, ``nn.ConstantPad*d``): ``padding`` is torch's flat
    list of (before, after) pairs, the last axis first; a negative amount crops. The kept input is copied
    into a tensor filled with ``value``; the gradient is the output's gradient at the kept input's place
    (the added positions are constants, the cropped ones never reach the output)."""

    def __init__(self, padding: tuple[int, ...], value: float = 0.0):
        self.padding, self.value = tuple(padding), value

    def _pairs(self, ndim: int) -> list[tuple[int, int]]:
        return _pad_pairs_of(self.padding, ndim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        pairs = self._pairs(x.ndim)
        self.shape = x.shape
        out = np.full([n + before + after for n, (before, after) in zip(x.shape, pairs)], self.value, dtype=x.dtype)
        source, target = _pad_index(x.shape, pairs)
        out[target] = x[source]
        return out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        source, target = _pad_index(self.shape, self._pairs(dout.ndim))
        dx = np.zeros(self.shape, dtype=dout.dtype)
        dx[source] = dout[target]
        return dx



def _source_index(n: int, before: int, after: int, mode: str) -> np.ndarray:
    """Which input position each of the n + before + after outputs of one axis copies, in F.pad's ``mode``:
    reflect mirrors at the edge without repeating it (−1 reads 1), replicate repeats the edge, circular
    wraps around (−1 reads n − 1). The amounts are ≥ 0 and within torch's limits (the layer checked them)."""
    i = np.arange(-before, n + after)
    if mode == "reflect":
        i = np.abs(i)
        return np.where(i >= n, 2 * (n - 1) - i, i)
    if mode == "replicate":
        return np.clip(i, 0, n - 1)
    return i % n


def _copy_pad(x: np.ndarray, pairs, mode: str) -> np.ndarray:
    """``x`` padded by (before, after) per axis (every axis of ``x``, (0, 0) where none) in ``mode``: one
    gather per padded axis, which composes into torch's corners (each axis's index map is independent)."""
    for axis, (before, after) in enumerate(pairs):
        if before or after:
            x = np.take(x, _source_index(x.shape[axis], before, after, mode), axis=axis)
    return x


def _copy_pad_grad(dout: np.ndarray, pairs, mode: str, shape: tuple[int, ...]) -> np.ndarray:
    """The adjoint of :func:`_copy_pad`: each output's gradient added back to the input position it copied
    (the middle in one slice, then the border positions one by one: an input read twice gets both)."""
    for axis in reversed(range(len(pairs))):
        before, after = pairs[axis]
        if not (before or after):
            continue
        n = shape[axis]
        index = _source_index(n, before, after, mode)
        g = np.moveaxis(dout, axis, -1)
        dx = g[..., before:before + n].copy()
        for j in (*range(before), *range(before + n, len(index))):
            dx[..., index[j]] += g[..., j]
        dout = np.moveaxis(dx, -1, axis)
    return dout


class CopyPad(Module):
    """``F.pad(x, padding, mode=mode)`` for the modes that copy the input (``nn.ReflectionPad*d``,
    ``nn.ReplicationPad*d``, ``nn.CircularPad*d``): ``padding`` is torch's flat list of (before, after) pairs,
    the last axis first, amounts ≥ 0. The gradient of an added position goes back to the input position
    it copied, so border inputs gather several."""

    def __init__(self, padding: tuple[int, ...], mode: str = "reflect"):
        self.padding, self.mode = tuple(padding), mode

    def _pairs(self, ndim: int) -> list[tuple[int, int]]:
        return _pad_pairs_of(self.padding, ndim)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return _copy_pad(x, self._pairs(x.ndim), self.mode)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return _copy_pad_grad(dout, self._pairs(dout.ndim), self.mode, self.shape)



class GLU(Module):
    """value·act(gate) for the halves of axis ``dim`` (batch included): ``nn.GLU`` is a·σ(b), the value the
    first half and the sigmoid the gate; ``activation`` another gate function (SwiGLU's SiLU, GeGLU's GELU),
    ``gate_first`` the gate from the first half (Phi-3's fused gate_up). The gradient is act(gate)·dout for
    the value and the gate function's backward of value·dout for the gate."""

    def __init__(self, dim: int = -1, activation: str = "sigmoid", gate_first: bool = False):
        self.dim, self.gate_first = dim, gate_first
        self.act = {"sigmoid": Sigmoid, "silu": SiLU, "relu": ReLU, "tanh": Tanh, "gelu": GELU,
                    "gelu_tanh": lambda: GELU("tanh")}[activation]()

    def forward(self, x: np.ndarray) -> np.ndarray:
        a, b = np.split(x, 2, axis=self.dim)
        self.value, gate = (b, a) if self.gate_first else (a, b)
        self.g = self.act.forward(gate)
        return self.value * self.g

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dvalue, dgate = dout * self.g, self.act.backward(dout * self.value)
        return np.concatenate([dgate, dvalue] if self.gate_first else [dvalue, dgate], axis=self.dim)


class Experts(Module):
    """The E experts' weights, fused as transformers 5 stores Mixtral's: ``gate_up_proj`` (E, 2F, D), the
    gate the first F rows, and ``down_proj`` (E, D, F). A holder: :class:`MoE` computes with them and
    fills ``grads``. Initialised as E linear layers would be: U(±1/√D) and U(±1/√F)."""

    PARAMS = ("gate_up_proj", "down_proj")
    RANDOM = True

    def __init__(self, experts: int, dim: int, hidden: int, rng=None):
        rng = np.random.default_rng(rng)
        self.gate_up_proj = _uniform(rng, dim, (experts, 2 * hidden, dim))
        self.down_proj = _uniform(rng, hidden, (experts, dim, hidden))


class GatedMLP(Module):
    """down(act(gate_proj(x))·up_proj(x)), no biases: Llama's MLP, as Qwen2-MoE's ``shared_expert``."""

    RANDOM = True

    def __init__(self, dim: int, hidden: int, activation: str = "silu", rng=None):
        rng = np.random.default_rng(rng)
        self.gate_proj = Linear(dim, hidden, bias=False, rng=rng)
        self.up_proj = Linear(dim, hidden, bias=False, rng=rng)
        self.down_proj = Linear(hidden, dim, bias=False, rng=rng)
        self.glu = GLU(-1, activation, gate_first=True)

    def children(self) -> list[tuple[str, Module]]:
        return [("gate_proj", self.gate_proj), ("up_proj", self.up_proj), ("down_proj", self.down_proj)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        h = np.concatenate([self.gate_proj.forward(x), self.up_proj.forward(x)], -1)
        return self.down_proj.forward(self.glu.forward(h))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dgate, dup = np.split(self.glu.backward(self.down_proj.backward(dout)), 2, axis=-1)
        return self.gate_proj.backward(dgate) + self.up_proj.backward(dup)


class Router(Linear):
    """The router ``gate`` of :class:`MoE`, a bias-free linear layer (E, D); with ``correction_bias`` it holds
    DeepSeek-V3's ``e_score_correction_bias`` (E), a buffer added to the scores for the choice alone."""

    BUFFERS = ("e_score_correction_bias",)

    def __init__(self, dim: int, experts: int, correction_bias: bool = False, rng=None):
        super().__init__(dim, experts, bias=False, rng=rng)
        self.e_score_correction_bias = np.zeros(experts) if correction_bias else None


class MoE(Module):
    """Mixtral's sparse MoE block on the last axis: the router ``gate`` (no bias) scores E experts, softmax,
    the ``top_k`` largest probabilities kept (renormalised to sum 1 with ``normalize``), each token's
    output Σ weight·down(act(gate)·up) over its experts. Only the chosen experts run, per expert on the
    tokens routed to it (transformers' loop).

    The gradient reaches the router through the kept weights only: the choice of experts is a step
    function of the scores (zero gradient almost everywhere), as autograd treats ``topk``'s indices.
    ``shared`` adds Qwen2-MoE's ``shared_expert`` (a :class:`GatedMLP` every token runs), scaled by
    σ(``shared_expert_gate``(x)), or with ``shared_gate`` false DeepSeek's ``shared_experts``, added as they are.

    DeepSeek's routing: ``scoring="sigmoid"`` scores each expert σ(logit); ``correction_bias`` adds the router's
    buffer to the scores for the choice; ``groups`` keeps the ``top_groups`` best groups (by their two best
    scores' sum, ``group_score="top2"``, or their best, ``"max"``) and chooses among their experts; the kept
    weights are the unbiased scores (normalised with + 1e-20 under sigmoid), times ``scaling``. The bias, the
    groups and the choice are steps of the scores: no gradient. ``router`` names the router (GraniteMoE's ``router``).
    """

    RANDOM = True

    def __init__(self, dim: int, experts: int, top_k: int, hidden: int, activation: str = "silu",
                 normalize: bool = True, shared: int | None = None, rng=None, shared_gate: bool = True,
                 scoring: str = "softmax", correction_bias: bool = False, groups: int | None = None,
                 top_groups: int | None = None, group_score: str = "top2", scaling: float = 1.0,
                 router: str = "gate"):
        rng = np.random.default_rng(rng)
        self.top_k, self.normalize, self.activation, self.router = top_k, normalize, activation, router
        self.scoring, self.groups, self.group_score, self.scaling = scoring, groups, group_score, scaling
        self.top_groups = groups if top_groups is None else top_groups
        self.gate = Router(dim, experts, correction_bias, rng=rng)
        self.experts = Experts(experts, dim, hidden, rng)
        self.shared: list[tuple[str, Module]] = []
        if shared is not None and not shared_gate:
            self.shared = [("shared_experts", GatedMLP(dim, shared, activation, rng))]
        elif shared is not None:
            self.shared = [("shared_expert", GatedMLP(dim, shared, activation, rng)),
                           ("shared_expert_gate", Linear(dim, 1, bias=False, rng=rng))]

    def children(self) -> list[tuple[str, Module]]:
        return [(self.router, self.gate), ("experts", self.experts), *self.shared]

    def choose(self, p: np.ndarray) -> np.ndarray:
        """The top_k experts of each token from its scores p [tokens, E], largest first (torch.topk's order; the
        tests avoid ties): among the top_groups best groups when grouped, by the scores plus the correction bias."""
        bias = self.gate.e_score_correction_bias
        choice = p if bias is None else p + bias
        if self.groups is not None:
            grouped = choice.reshape(choice.shape[0], self.groups, -1)
            best = np.sort(grouped, -1)[..., -2:].sum(-1) if self.group_score == "top2" else grouped.max(-1)
            kept = np.argsort(-best, axis=-1, kind="stable")[:, :self.top_groups]
            mask = np.zeros(best.shape, dtype=bool)
            np.put_along_axis(mask, kept, True, -1)
            choice = np.where(np.repeat(mask, grouped.shape[-1], axis=-1), choice, -np.inf)
        return np.argsort(-choice, axis=-1, kind="stable")[:, :self.top_k]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        x2 = x.reshape(-1, x.shape[-1])
        logits = self.gate.forward(x2)
        probs = Sigmoid() if self.scoring == "sigmoid" else Softmax(-1)
        p = probs.forward(logits)
        chosen = self.choose(p)
        kept = np.take_along_axis(p, chosen, -1)
        total = kept.sum(-1, keepdims=True) + (1e-20 if self.scoring == "sigmoid" else 0.0)
        normal = kept / total if self.normalize else kept
        weights = normal * self.scaling
        y = np.zeros_like(x2)
        self.routes = []
        for e in range(self.experts.gate_up_proj.shape[0]):
            token, slot = np.nonzero(chosen == e)
            glu = GLU(-1, self.activation, gate_first=True)
            h = glu.forward(x2[token] @ self.experts.gate_up_proj[e].T)
            out = h @ self.experts.down_proj[e].T
            y[token] += out * weights[token, slot, None]  # a token meets an expert at most once
            self.routes.append((token, slot, glu, h, out))
        self.cache = (x2, probs, chosen, weights, normal, total)
        if len(self.shared) == 2:
            (_, mlp), (_, gate) = self.shared
            self.shared_out, self.shared_gate = mlp.forward(x2), Sigmoid().forward(gate.forward(x2))
            y = y + self.shared_gate * self.shared_out
        elif self.shared:
            y = y + self.shared[0][1].forward(x2)
        return y.reshape(self.shape)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x2, probs, chosen, weights, normal, total = self.cache
        dy = dout.reshape(-1, dout.shape[-1])
        dx = np.zeros_like(x2)
        dweights = np.zeros_like(weights)
        up, down = self.experts.gate_up_proj, self.experts.down_proj
        dup, ddown = np.zeros_like(up), np.zeros_like(down)
        for e, (token, slot, glu, h, out) in enumerate(self.routes):
            g = dy[token]
            dweights[token, slot] = (g * out).sum(-1)
            g = g * weights[token, slot, None]
            ddown[e] = g.T @ h
            dh = glu.backward(g @ down[e])
            dup[e] = dh.T @ x2[token]
            dx[token] += dh @ up[e]
        self.experts.grads = {"gate_up_proj": dup, "down_proj": ddown}
        dweights = dweights * self.scaling
        if self.normalize:  # w = v / Σv: dv = (dw − Σ dw·w) / Σv
            dweights = (dweights - (dweights * normal).sum(-1, keepdims=True)) / total
        dp = np.zeros((x2.shape[0], up.shape[0]), dtype=x2.dtype)
        np.put_along_axis(dp, chosen, dweights, -1)
        dx = dx + self.gate.backward(probs.backward(dp))
        if len(self.shared) == 2:  # σ(z)·s: ds = dy·σ(z), dz = Σ dy·s · σ(z)(1 − σ(z))
            (_, mlp), (_, gate) = self.shared
            sg = self.shared_gate
            dz = (dy * self.shared_out).sum(-1, keepdims=True) * sg * (1 - sg)
            dx = dx + mlp.backward(dy * sg) + gate.backward(dz)
        elif self.shared:
            dx = dx + self.shared[0][1].backward(dy)
        return dx.reshape(self.shape) if input_grad else None


# -- normalisation and regularisation --------------------------------------------------------------


class BatchNorm(Module):
    """Batch normalisation over every axis but the channels (axis 1), with PyTorch's conventions.

    Training normalises with the batch mean and *biased* variance, and updates
    ``running = (1 − momentum)·running + momentum·batch`` with the *unbiased* variance and counts
    ``num_batches_tracked``; evaluation normalises with the running statistics.
    """

    PARAMS = ("weight", "bias")
    BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = True):
        self.eps, self.momentum = eps, momentum
        self.weight = np.ones(num_features) if affine else None
        self.bias = np.zeros(num_features) if affine else None
        self.running_mean, self.running_var = np.zeros(num_features), np.ones(num_features)
        self.num_batches_tracked = np.zeros((), dtype=np.int64)

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = (0, *range(2, x.ndim))
        shape = (1, -1) + (1,) * (x.ndim - 2)
        if self.training:
            count = x.size // x.shape[1]
            if count < 2:
                raise ValueError(f"batch norm needs more than 1 value per channel when training, got input {x.shape}")
            mean, var = x.mean(axes), x.var(axes)
            m = self.momentum
            self.running_mean[...] = (1 - m) * self.running_mean + m * mean
            self.running_var[...] = (1 - m) * self.running_var + m * var * count / (count - 1)
            self.num_batches_tracked += 1
        else:
            mean, var = self.running_mean, self.running_var
        inv_std = (1 / np.sqrt(var + self.eps)).reshape(shape)
        xhat = (x - mean.reshape(shape)) * inv_std
        self.cache = (xhat, inv_std, axes, shape, self.training)
        return xhat * self.weight.reshape(shape) + self.bias.reshape(shape) if self.weight is not None else xhat

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        xhat, inv_std, axes, shape, training = self.cache
        if self.weight is not None:
            self.grads = {"weight": (dout * xhat).sum(axes), "bias": dout.sum(axes)}
            dout = dout * self.weight.reshape(shape)
        if not training:
            return dout * inv_std
        return inv_std * (dout - dout.mean(axes, keepdims=True) - xhat * (dout * xhat).mean(axes, keepdims=True))


class BatchNorm1d(BatchNorm):
    """``nn.BatchNorm1d``: inputs [N, C] or [N, C, L]."""


class BatchNorm2d(BatchNorm):
    """``nn.BatchNorm2d``: inputs [N, C, H, W]."""


class BatchNorm3d(BatchNorm):
    """``nn.BatchNorm3d``: inputs [N, C, D, H, W]."""


class InstanceNorm(Module):
    """Instance normalisation (``nn.InstanceNorm1d/2d/3d``): each example's channels (axis 1) normalised
    one by one over their positions with their own mean and *biased* variance, then γ·x̂ + β per channel
    (``affine``). With ``track_running_stats``, training also updates ``running = (1 − momentum)·running +
    momentum·s``, s the batch's average of the examples' means and *unbiased* variances (torch runs batch
    norm over the [1, N·C, …] view and averages the N copies of each channel's statistics), and evaluation
    normalises with the running statistics; ``num_batches_tracked`` is registered but, as in torch, never
    counted. Without it both modes use the example's own statistics."""

    PARAMS = ("weight", "bias")
    BUFFERS = ("running_mean", "running_var", "num_batches_tracked")

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1, affine: bool = False,
                 track_running_stats: bool = False):
        self.eps, self.momentum = eps, momentum
        self.weight = np.ones(num_features) if affine else None
        self.bias = np.zeros(num_features) if affine else None
        tracked = track_running_stats
        self.running_mean = np.zeros(num_features) if tracked else None
        self.running_var = np.ones(num_features) if tracked else None
        self.num_batches_tracked = np.zeros((), dtype=np.int64) if tracked else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes, channel = tuple(range(2, x.ndim)), (1, -1) + (1,) * (x.ndim - 2)
        own = self.training or self.running_mean is None  # torch's use_input_stats
        if own:
            count = x[0, 0].size
            if count < 2:
                raise ValueError(f"instance norm needs more than 1 position per channel, got input {x.shape}")
            mean, var = x.mean(axes, keepdims=True), x.var(axes, keepdims=True)
            if self.training and self.running_mean is not None:
                m, n = self.momentum, x.shape[0]
                self.running_mean[...] = (1 - m) * self.running_mean + m * mean.reshape(n, -1).mean(0)
                unbiased = var.reshape(n, -1) * count / (count - 1)
                self.running_var[...] = (1 - m) * self.running_var + m * unbiased.mean(0)
        else:
            mean, var = self.running_mean.reshape(channel), self.running_var.reshape(channel)
        inv_std = 1 / np.sqrt(var + self.eps)
        xhat = (x - mean) * inv_std
        self.cache = (xhat, inv_std, axes, channel, own)
        if self.weight is None:
            return xhat
        return xhat * self.weight.reshape(channel) + self.bias.reshape(channel)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        xhat, inv_std, axes, channel, own = self.cache
        if self.weight is not None:
            self.grads = {"weight": (dout * xhat).sum((0, *axes)), "bias": dout.sum((0, *axes))}
            dout = dout * self.weight.reshape(channel)
        if not input_grad:
            return None
        if not own:  # fixed running statistics: a per-channel scale
            return dout * inv_std
        return inv_std * (dout - dout.mean(axes, keepdims=True) - xhat * (dout * xhat).mean(axes, keepdims=True))


class InstanceNorm1d(InstanceNorm):
    """``nn.InstanceNorm1d``: inputs [N, C, L]."""


class InstanceNorm2d(InstanceNorm):
    """``nn.InstanceNorm2d``: inputs [N, C, H, W]."""


class InstanceNorm3d(InstanceNorm):
    """``nn.InstanceNorm3d``: inputs [N, C, D, H, W]."""


class _FeatureNorm(Module):
    """Shared by layer and RMS normalisation: the statistics of each example's last
    ``len(normalized_shape)`` axes, and a learned γ (and β) of that shape."""

    PARAMS = ("weight", "bias")

    def _axes(self, x: np.ndarray) -> tuple[int, ...]:
        return tuple(range(x.ndim - len(self.normalized_shape), x.ndim))


class LayerNorm(_FeatureNorm):
    """Layer normalisation (``nn.LayerNorm``): each example's last axes normalised by their own mean
    and biased variance, then γ·x̂ + β; the same in training and evaluation (no running statistics)."""

    def __init__(self, normalized_shape: tuple[int, ...], eps: float = 1e-5, elementwise_affine: bool = True,
                 bias: bool = True):
        self.normalized_shape, self.eps = tuple(normalized_shape), eps
        self.weight = np.ones(self.normalized_shape) if elementwise_affine else None
        self.bias = np.zeros(self.normalized_shape) if elementwise_affine and bias else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._axes(x)
        mean = x.mean(axes, keepdims=True)
        inv_std = 1 / np.sqrt(x.var(axes, keepdims=True) + self.eps)
        xhat = (x - mean) * inv_std
        self.cache = (xhat, inv_std, axes)
        out = xhat * self.weight if self.weight is not None else xhat
        return out + self.bias if self.bias is not None else out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        xhat, inv_std, axes = self.cache
        lead = tuple(range(dout.ndim - len(axes)))
        self.grads = {}
        if self.bias is not None:
            self.grads["bias"] = dout.sum(lead)
        if self.weight is not None:
            self.grads["weight"] = (dout * xhat).sum(lead)
            dout = dout * self.weight
        if not input_grad:
            return None
        return inv_std * (dout - dout.mean(axes, keepdims=True) - xhat * (dout * xhat).mean(axes, keepdims=True))


class LayerNorm2d(LayerNorm):
    """torchvision ConvNeXt's ``LayerNorm2d``: :class:`LayerNorm` over the C channels of [N, C, H, W] at
    each position on its own (``normalized_shape`` is (C,)), computed on the channels-last view
    [N, H, W, C] and put back; the gradient goes through the same two transposes the other way."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return super().forward(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dx = super().backward(dout.transpose(0, 2, 3, 1), input_grad)
        return None if dx is None else dx.transpose(0, 3, 1, 2)


class RMSNorm(_FeatureNorm):
    """RMS normalisation (``nn.RMSNorm``, Llama's): x/√(mean(x²) + eps)·γ over the last axes, no mean
    subtracted; ``eps`` None is torch's default, the machine epsilon of the input's dtype. ``offset``
    scales by offset + γ, γ starting at 1 − offset (Gemma's 1 + γ, γ from zeros)."""

    PARAMS = ("weight",)

    def __init__(self, normalized_shape: tuple[int, ...], eps: float | None = None, elementwise_affine: bool = True,
                 offset: float = 0.0):
        self.normalized_shape, self.eps, self.offset = tuple(normalized_shape), eps, offset
        self.weight = np.full(self.normalized_shape, 1.0 - offset) if elementwise_affine else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        axes = self._axes(x)
        eps = np.finfo(x.dtype).eps if self.eps is None else self.eps
        inv_rms = 1 / np.sqrt((x * x).mean(axes, keepdims=True) + eps)
        xhat = x * inv_rms
        self.cache = (xhat, inv_rms, axes)
        return xhat * (self.offset + self.weight) if self.weight is not None else xhat

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        xhat, inv_rms, axes = self.cache
        self.grads = {}
        if self.weight is not None:
            self.grads["weight"] = (dout * xhat).sum(tuple(range(dout.ndim - len(axes))))
            dout = dout * (self.offset + self.weight)
        if not input_grad:
            return None
        return inv_rms * (dout - xhat * (dout * xhat).mean(axes, keepdims=True))


class GroupNorm(Module):
    """Group normalisation (``nn.GroupNorm``): the channels (axis 1) split into ``num_groups`` groups,
    each example's group normalised over its channels and positions with its own mean and biased
    variance, then γ·x̂ + β per channel; the same in training and evaluation."""

    PARAMS = ("weight", "bias")

    def __init__(self, num_groups: int, num_channels: int, eps: float = 1e-5, affine: bool = True):
        self.num_groups, self.eps = num_groups, eps
        self.weight = np.ones(num_channels) if affine else None
        self.bias = np.zeros(num_channels) if affine else None

    def forward(self, x: np.ndarray) -> np.ndarray:
        groups = x.reshape(x.shape[0], self.num_groups, -1)
        inv_std = 1 / np.sqrt(groups.var(2, keepdims=True) + self.eps)
        xhat = ((groups - groups.mean(2, keepdims=True)) * inv_std).reshape(x.shape)
        channel = (1, -1) + (1,) * (x.ndim - 2)
        self.cache = (xhat, inv_std, channel)
        if self.weight is None:
            return xhat
        return xhat * self.weight.reshape(channel) + self.bias.reshape(channel)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        xhat, inv_std, channel = self.cache
        if self.weight is not None:
            others = (0, *range(2, dout.ndim))
            self.grads = {"weight": (dout * xhat).sum(others), "bias": dout.sum(others)}
            dout = dout * self.weight.reshape(channel)
        if not input_grad:
            return None
        n = dout.shape[0]
        d, h = dout.reshape(n, self.num_groups, -1), xhat.reshape(n, self.num_groups, -1)
        dx = inv_std * (d - d.mean(2, keepdims=True) - h * (d * h).mean(2, keepdims=True))
        return dx.reshape(dout.shape)


class Dropout(Module):
    """Inverted dropout (``nn.Dropout``): in training zero each element with probability p and scale
    the survivors by 1/(1 − p), so the expected output is the input; the identity in evaluation."""

    RANDOM = True

    def __init__(self, p: float = 0.5, rng=None):
        self.p, self.rng = p, np.random.default_rng(rng)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = None
        if not self.training or self.p == 0:
            return x
        keep = self.rng.random(x.shape) >= self.p
        self.mask = keep * (1 / (1 - self.p)) if self.p < 1 else np.zeros(x.shape)
        self.mask = self.mask.astype(x.dtype)
        return x * self.mask

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout if self.mask is None else dout * self.mask


class StochasticDepth(Dropout):
    """``torchvision.ops.StochasticDepth``: in training, zero a whole example (``mode='row'``) or the
    whole batch (``'batch'``) with probability p and scale what survives by 1/(1 − p); the identity
    in evaluation. A residual branch so dropped leaves the block its shortcut."""

    def __init__(self, p: float, mode: str = "row", rng=None):
        super().__init__(p, rng)
        self.mode = mode

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = None
        if not self.training or self.p == 0:
            return x
        size = (x.shape[0],) + (1,) * (x.ndim - 1) if self.mode == "row" else (1,) * x.ndim
        keep = self.rng.random(size) >= self.p
        self.mask = (keep * (1 / (1 - self.p)) if self.p < 1 else np.zeros(size)).astype(x.dtype)
        return x * self.mask


class _ChannelDropout(Dropout):
    """Channel dropout (``nn.Dropout1d/2d/3d``): in training each channel (axis 1) of each example zeroed
    whole with probability p, the others scaled by 1/(1 − p); one mask value per (example, channel),
    broadcast over the positions, which the backward multiplies by again; the identity in evaluation."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.mask = None
        if not self.training or self.p == 0:
            return x
        size = x.shape[:2] + (1,) * (x.ndim - 2)
        keep = self.rng.random(size) >= self.p
        self.mask = (keep * (1 / (1 - self.p)) if self.p < 1 else np.zeros(size)).astype(x.dtype)
        return x * self.mask


class Dropout1d(_ChannelDropout):
    """``nn.Dropout1d``: inputs [N, C, L]."""


class Dropout2d(_ChannelDropout):
    """``nn.Dropout2d``: inputs [N, C, H, W]."""


class Dropout3d(_ChannelDropout):
    """``nn.Dropout3d``: inputs [N, C, D, H, W]."""


# -- recurrent layers ------------------------------------------------------------------------------


def _previous(states: np.ndarray, reverse: bool) -> np.ndarray:
    """Each step's previous state, for a time-major ``[T, N, …]`` sequence of states: the sequence shifted
    one step the way the direction reads it, zeros before the first step (the initial state)."""
    prev = np.zeros_like(states)
    if reverse:
        prev[:-1] = states[1:]
    else:
        prev[1:] = states[:-1]
    return prev


class Recurrent(Module):
    """The stacked, optionally bidirectional scan that ``nn.LSTM``, ``nn.GRU`` and ``nn.RNN`` share.

    Input ``[N, T, F]`` (torch's ``batch_first``). Layer l reads the sequence below it (F features, or
    the D·h_r of the layer below) in each of its D directions; a direction's outputs are its hidden
    states, and the two directions sit side by side, forward first. Between layers, in training,
    inverted dropout with probability ``dropout`` (torch applies it to every layer's output but the
    last). ``output`` picks what the layer gives: every step (``sequence``, [N, T, D·h_r]), the last
    step (``last``, torch's ``output[:, -1]``), or the last layer's final hidden states (``hidden``,
    ``h_n`` with its directions side by side: the backward direction's is its state after step 0).

    Parameters are torch's, under torch's names and in torch's order: per layer l and direction
    (``_reverse`` for the second) ``weight_ih_l{l}`` [G·h, i], ``weight_hh_l{l}`` [G·h, h_r],
    ``bias_ih_l{l}``, ``bias_hh_l{l}`` [G·h] and, for an LSTM with ``proj_size``, ``weight_hr_l{l}``
    [h_r, h]; every one drawn from U(±1/√h) as ``RNNBase.reset_parameters`` draws them.

    Backward is backpropagation through time: each direction's scan runs again from its last step to
    its first, carrying the gradient of the state; every step's pre-activation gradient is kept, so the
    weight gradients are one matrix product each over all steps at once, as is the input gradient.
    Internally sequences are time-major ([T, N, …]), so each step reads and writes contiguous rows.
    A subclass gives ``GATES`` and its step in ``_scan`` (forward) and ``_unscan`` (backward).
    """

    RANDOM = True
    GATES = 1

    def _setup(self, input_size: int, hidden_size: int, num_layers: int, bias: bool, bidirectional: bool,
               dropout: float, output: str, proj_size: int, rng) -> None:
        rng = np.random.default_rng(rng)
        self.hidden_size, self.num_layers, self.bias, self.output = hidden_size, num_layers, bias, output
        self.state_size = proj_size or hidden_size
        self.suffixes = ("", "_reverse") if bidirectional else ("",)
        gates, bound = self.GATES * hidden_size, 1 / math.sqrt(hidden_size)
        names = []
        for layer in range(num_layers):
            size = input_size if layer == 0 else len(self.suffixes) * self.state_size
            for suffix in self.suffixes:
                shapes = {"weight_ih": (gates, size), "weight_hh": (gates, self.state_size)}
                if bias:
                    shapes |= {"bias_ih": (gates,), "bias_hh": (gates,)}
                if proj_size:
                    shapes["weight_hr"] = (proj_size, hidden_size)
                for name, shape in shapes.items():
                    names.append(f"{name}_l{layer}{suffix}")
                    setattr(self, names[-1], rng.uniform(-bound, bound, shape))
        self.PARAMS = tuple(names)
        self.drops = [Dropout(dropout, rng) for _ in range(num_layers - 1)] if dropout else []

    def children(self) -> list[tuple[str, Module]]:
        return [(f"dropout{layer}", drop) for layer, drop in enumerate(self.drops)]

    def _weights(self, layer: int, suffix: str) -> dict[str, np.ndarray | None]:
        """One layer and direction's parameters under their short names (``weight_ih``, …)."""
        return {name: getattr(self, f"{name}_l{layer}{suffix}", None)
                for name in ("weight_ih", "weight_hh", "bias_ih", "bias_hh", "weight_hr")}

    def forward(self, x: np.ndarray) -> np.ndarray:
        seq = np.ascontiguousarray(np.swapaxes(x, 0, 1))
        self.caches = []
        for layer in range(self.num_layers):
            outs = []
            for d, suffix in enumerate(self.suffixes):
                out, cache = self._scan(seq, self._weights(layer, suffix), d == 1)
                outs.append(out)
                self.caches.append(cache)
            seq = np.concatenate(outs, -1) if len(outs) > 1 else outs[0]
            if layer < len(self.drops):
                seq = self.drops[layer].forward(seq)
        if self.output == "sequence":
            return np.swapaxes(seq, 0, 1)
        if self.output == "last" or len(self.suffixes) == 1:
            return seq[-1]
        return np.concatenate([seq[-1, :, :self.state_size], seq[0, :, self.state_size:]], -1)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        r = self.state_size
        if self.output == "sequence":
            dseq = np.ascontiguousarray(np.swapaxes(dout, 0, 1))
        else:
            steps = self.caches[-1][0].shape[0]
            dseq = np.zeros((steps, *dout.shape), dout.dtype)
            if self.output == "last" or len(self.suffixes) == 1:
                dseq[-1] = dout
            else:
                dseq[-1, :, :r], dseq[0, :, r:] = dout[:, :r], dout[:, r:]
        self.grads = {}
        caches = iter(reversed(self.caches))
        for layer in reversed(range(self.num_layers)):
            if layer < len(self.drops):
                dseq = self.drops[layer].backward(dseq)
            below = None
            for d, suffix in reversed(list(enumerate(self.suffixes))):
                w = self._weights(layer, suffix)
                dx, grads = self._unscan(dseq[..., d * r:(d + 1) * r], next(caches), w, d == 1,
                                         input_grad or layer > 0)
                self.grads.update({f"{name}_l{layer}{suffix}": g for name, g in grads.items()})
                below = dx if below is None else below + dx
            dseq = below
        return np.swapaxes(dseq, 0, 1) if input_grad else None

    def _input_grads(self, x: np.ndarray, prev: np.ndarray, da: np.ndarray, dh: np.ndarray, w,
                     input_grad: bool) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """The gradients that are one product over all steps: weight_ih from the input-side pre-activation
        gradients ``da``, weight_hh from the hidden-side ones ``dh`` (the same array but for a GRU's new
        gate), the biases their sums, and the input's."""
        flat, flat_h = da.reshape(-1, da.shape[-1]), dh.reshape(-1, dh.shape[-1])
        grads = {"weight_ih": flat.T @ x.reshape(-1, x.shape[-1]),
                 "weight_hh": flat_h.T @ prev.reshape(-1, prev.shape[-1])}
        if self.bias:
            grads |= {"bias_ih": flat.sum(0), "bias_hh": flat_h.sum(0)}
        return (da @ w["weight_ih"] if input_grad else None), grads


class LSTM(Recurrent):
    """``nn.LSTM``: gates i, f, g, o in that order in every weight's rows (torch's layout).

        i, f, o = σ(·), g = tanh(·) of W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh
        c_t = f⊙c_{t−1} + i⊙g        h_t = o⊙tanh(c_t)   (then h_t = W_hr·h_t with ``proj_size``)

    σ(a) is computed as (1 + tanh(a/2))/2, so one tanh over all four blocks gives every gate.
    """

    GATES = 4

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 bidirectional: bool = False, dropout: float = 0.0, output: str = "sequence", proj_size: int = 0,
                 rng=None):
        self._setup(input_size, hidden_size, num_layers, bias, bidirectional, dropout, output, proj_size, rng)

    def _scan(self, x: np.ndarray, w, reverse: bool):
        h, r = self.hidden_size, self.state_size
        steps, n = x.shape[:2]
        xw = x @ w["weight_ih"].T
        if self.bias:
            xw += w["bias_ih"] + w["bias_hh"]
        whh, whr = w["weight_hh"].T, w["weight_hr"]
        scale = np.full(4 * h, 0.5, xw.dtype)
        scale[2 * h:3 * h] = 1  # σ(a) = 0.5·tanh(0.5·a) + 0.5 for i, f, o; tanh(a) for g
        shift = 0.5 * (scale == 0.5).astype(xw.dtype)
        acts, cells = np.empty_like(xw), np.empty((steps, n, h), xw.dtype)
        tanhs, outs = np.empty_like(cells), np.empty((steps, n, r), xw.dtype)
        cores = np.empty_like(cells) if whr is not None else outs
        state, cell = np.zeros((n, r), xw.dtype), np.zeros((n, h), xw.dtype)
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            a = acts[t]
            np.multiply(xw[t] + state @ whh, scale, out=a)
            np.tanh(a, out=a)
            a *= scale
            a += shift
            np.multiply(a[:, h:2 * h], cell, out=cells[t])
            cells[t] += a[:, :h] * a[:, 2 * h:3 * h]
            cell = cells[t]
            np.tanh(cell, out=tanhs[t])
            np.multiply(a[:, 3 * h:], tanhs[t], out=cores[t])
            state = cores[t] @ whr.T if whr is not None else cores[t]
            if whr is not None:
                outs[t] = state
        return outs, (x, acts, cells, tanhs, outs, cores)

    def _unscan(self, dout: np.ndarray, cache, w, reverse: bool, input_grad: bool):
        x, acts, cells, tanhs, outs, cores = cache
        h, whr = self.hidden_size, w["weight_hr"]
        steps, n = x.shape[:2]
        i, f, g, o = (acts[..., k * h:(k + 1) * h] for k in range(4))
        # what each step multiplies the cell's gradient by to give the i, f and g pre-activation gradients,
        # and the output's to give o's and the cell's: the gate functions' derivatives folded in once
        towards = np.stack([g * i * (1 - i), _previous(cells, reverse) * f * (1 - f), i * (1 - g * g)], 2)
        to_o, to_cell = tanhs * o * (1 - o), o * (1 - tanhs * tanhs)
        blocks = np.empty((steps, n, 4, h), acts.dtype)  # da's four gate blocks, written through this view
        da = blocks.reshape(acts.shape)
        dstates = np.empty_like(outs) if whr is not None else None
        dstate, dcell = np.zeros_like(outs[0]), np.zeros_like(cells[0])
        whh = w["weight_hh"]
        for t in range(steps) if reverse else range(steps - 1, -1, -1):
            dstate = dout[t] + dstate
            if whr is not None:
                dstates[t] = dstate
                dstate = dstate @ whr
            dcell = dcell + dstate * to_cell[t]
            np.multiply(dcell[:, None], towards[t], out=blocks[t, :, :3])
            np.multiply(dstate, to_o[t], out=da[t, :, 3 * h:])
            dcell = dcell * f[t]
            dstate = da[t] @ whh
        dx, grads = self._input_grads(x, _previous(outs, reverse), da, da, w, input_grad)
        if whr is not None:
            grads["weight_hr"] = dstates.reshape(-1, dstates.shape[-1]).T @ cores.reshape(-1, h)
        return dx, grads


class GRU(Recurrent):
    """``nn.GRU``: gates r, z, n in that order in every weight's rows (torch's layout).

        r = σ(W_ir·x + b_ir + W_hr·h + b_hr)     z = σ(W_iz·x + b_iz + W_hz·h + b_hz)
        n = tanh(W_in·x + b_in + r⊙(W_hn·h + b_hn))     h_t = (1 − z)⊙n + z⊙h_{t−1}

    b_hn sits inside the reset gate's product, so the hidden-side pre-activation gradient of the new
    gate differs from the input side's (it is r times it): both are kept.
    """

    GATES = 3

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 bidirectional: bool = False, dropout: float = 0.0, output: str = "sequence", rng=None):
        self._setup(input_size, hidden_size, num_layers, bias, bidirectional, dropout, output, 0, rng)

    def _scan(self, x: np.ndarray, w, reverse: bool):
        h = self.hidden_size
        steps, n = x.shape[:2]
        xw = x @ w["weight_ih"].T
        if self.bias:
            xw += w["bias_ih"]
        whh, bhh = w["weight_hh"].T, w["bias_hh"]
        gates, news = np.empty((steps, n, 2 * h), xw.dtype), np.empty((steps, n, h), xw.dtype)
        hidden_news, outs = np.empty_like(news), np.empty_like(news)
        state = np.zeros((n, h), xw.dtype)
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            hw = state @ whh
            if bhh is not None:
                hw += bhh
            rz = gates[t]
            np.add(xw[t, :, :2 * h], hw[:, :2 * h], out=rz)
            rz *= 0.5
            np.tanh(rz, out=rz)
            rz *= 0.5
            rz += 0.5
            hidden_news[t] = hw[:, 2 * h:]
            np.tanh(xw[t, :, 2 * h:] + rz[:, :h] * hidden_news[t], out=news[t])
            np.subtract(state, news[t], out=outs[t])
            outs[t] *= rz[:, h:]
            outs[t] += news[t]
            state = outs[t]
        return outs, (x, gates, news, hidden_news, outs)

    def _unscan(self, dout: np.ndarray, cache, w, reverse: bool, input_grad: bool):
        x, gates, news, hidden_news, outs = cache
        h = self.hidden_size
        steps, n = x.shape[:2]
        reset, update = gates[..., :h], gates[..., h:]
        prev = _previous(outs, reverse)
        # the state's gradient times these gives z's and n's pre-activation gradients; n's times hn·r(1 − r) r's
        towards = np.stack([(prev - news) * update * (1 - update), (1 - update) * (1 - news * news)], 2)
        to_reset = hidden_news * reset * (1 - reset)
        blocks = np.empty((steps, n, 3, h), x.dtype)  # da's three gate blocks, written through this view
        da, dh = blocks.reshape(steps, n, 3 * h), np.empty((steps, n, 3 * h), x.dtype)
        dstate = np.zeros_like(outs[0])
        whh = w["weight_hh"]
        for t in range(steps) if reverse else range(steps - 1, -1, -1):
            dstate = dout[t] + dstate
            a = da[t]
            np.multiply(dstate[:, None], towards[t], out=blocks[t, :, 1:])
            np.multiply(a[:, 2 * h:], to_reset[t], out=a[:, :h])
            dh[t, :, :2 * h] = a[:, :2 * h]
            np.multiply(a[:, 2 * h:], reset[t], out=dh[t, :, 2 * h:])
            dstate = dstate * update[t] + dh[t] @ whh
        return self._input_grads(x, prev, da, dh, w, input_grad)


class RNN(Recurrent):
    """``nn.RNN``: h_t = f(W_ih·x_t + b_ih + W_hh·h_{t−1} + b_hh), f = tanh or relu (``nonlinearity``)."""

    GATES = 1

    def __init__(self, input_size: int, hidden_size: int, num_layers: int = 1, bias: bool = True,
                 bidirectional: bool = False, dropout: float = 0.0, output: str = "sequence",
                 nonlinearity: str = "tanh", rng=None):
        self.nonlinearity = nonlinearity
        self._setup(input_size, hidden_size, num_layers, bias, bidirectional, dropout, output, 0, rng)

    def _scan(self, x: np.ndarray, w, reverse: bool):
        steps, n = x.shape[:2]
        xw = x @ w["weight_ih"].T
        if self.bias:
            xw += w["bias_ih"] + w["bias_hh"]
        whh = w["weight_hh"].T
        outs = np.empty((steps, n, self.hidden_size), xw.dtype)
        state = np.zeros((n, self.hidden_size), xw.dtype)
        for t in range(steps - 1, -1, -1) if reverse else range(steps):
            a = np.add(xw[t], state @ whh, out=outs[t])
            state = np.tanh(a, out=a) if self.nonlinearity == "tanh" else np.maximum(a, 0, out=a)
        return outs, (x, outs)

    def _unscan(self, dout: np.ndarray, cache, w, reverse: bool, input_grad: bool):
        x, outs = cache
        steps = x.shape[0]
        slope = 1 - outs * outs if self.nonlinearity == "tanh" else (outs > 0).astype(outs.dtype)
        da = np.empty_like(outs)
        dstate = np.zeros_like(outs[0])
        whh = w["weight_hh"]
        for t in range(steps) if reverse else range(steps - 1, -1, -1):
            np.multiply(dout[t] + dstate, slope[t], out=da[t])
            dstate = da[t] @ whh
        return self._input_grads(x, _previous(outs, reverse), da, da, w, input_grad)


# -- embeddings ------------------------------------------------------------------------------------


class Embedding(Module):
    """Each integer id picks one row of a learned [vocab, dim] table (``nn.Embedding``), drawn from
    N(0, 1) as torch draws it, the ``padding_idx`` row zero.

    The gradient is sparse: only the rows of the ids seen get one, each the sum of the output
    gradients at its ids (``self.rows`` says which); the padding row gets none, so it stays zero.
    The ids have no gradient (None). Ids given as floats (a data file's ``x``) are read as integers.
    """

    PARAMS = ("weight",)
    RANDOM = True

    def __init__(self, num_embeddings: int, embedding_dim: int, padding_idx: int | None = None,
                 scale: float | None = None, rng=None):
        rng = np.random.default_rng(rng)
        self.padding_idx, self.scale = padding_idx, scale
        self.weight = rng.normal(0.0, 1.0, (num_embeddings, embedding_dim))
        if padding_idx is not None:
            self.weight[padding_idx] = 0.0

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.ids = np.asarray(x).astype(np.int64)
        rows = self.weight[self.ids]
        return rows if self.scale is None else rows * self.factor()

    def factor(self) -> np.generic:
        """The scale rounded to float32, then to the table's dtype, as Gemma casts its normaliser (and the torch
        and ONNX exports)."""
        return self.weight.dtype.type(np.float32(self.scale))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        if self.scale is not None:
            dout = dout * self.factor()
        self.rows, where = np.unique(self.ids.reshape(-1), return_inverse=True)
        summed = np.zeros((len(self.rows), dout.shape[-1]), dtype=dout.dtype)
        np.add.at(summed, where, dout.reshape(-1, dout.shape[-1]))
        grad = np.zeros_like(self.weight)
        grad[self.rows] = summed
        if self.padding_idx is not None:
            grad[self.padding_idx] = 0.0
        self.grads = {"weight": grad}
        return None


class PositionEmbedding(Module):
    """Rows 0 … T−1 of a learned [positions, dim] table for a sequence of T (GPT-2's ``wpe``, BERT's
    position embeddings), or row 0 at every position with ``first`` (BERT's token types, all type 0),
    drawn from N(0, 1); [N, T, …] → [N, T, dim]. It reads only its input's length, so the input's
    gradient is zero; each row's gradient is summed over the batch (and over the positions with ``first``).
    With ``padding_idx`` p it reads the ids, RoBERTa's positions: the k-th token that is not p takes row
    p + k, a padding token row p, which starts at zero and gets no gradient (as ``nn.Embedding``'s). With an
    ``offset`` k position t reads row t + k (OPT's table, read from row 2)."""

    PARAMS = ("weight",)
    RANDOM = True

    def __init__(self, num_embeddings: int, embedding_dim: int, first: bool = False, padding_idx: int | None = None,
                 offset: int = 0, rng=None):
        rng = np.random.default_rng(rng)
        self.weight = rng.normal(0.0, 1.0, (num_embeddings, embedding_dim))
        self.first, self.padding_idx, self.offset = first, padding_idx, offset
        if padding_idx is not None:
            self.weight[padding_idx] = 0.0

    def positions(self, x: np.ndarray) -> np.ndarray:
        """RoBERTa's rows for the ids ``x`` [N, T]: cumsum of the non-padding mask, times it, plus p."""
        mask = (np.asarray(x).astype(np.int64) != self.padding_idx).astype(np.int64)
        return np.cumsum(mask, axis=1) * mask + self.padding_idx

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        if self.padding_idx is not None:
            self.rows = self.positions(x)
            return self.weight[self.rows]
        n, t = x.shape[:2]
        rows = self.weight[:1].repeat(t, 0) if self.first else self.weight[self.offset:self.offset + t]
        return np.broadcast_to(rows, (n, t, self.weight.shape[1]))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        grad = np.zeros_like(self.weight)
        if self.padding_idx is not None:
            np.add.at(grad, self.rows.reshape(-1), dout.reshape(-1, dout.shape[-1]))
            grad[self.padding_idx] = 0.0
            self.grads = {"weight": grad}
            return np.zeros(self.shape, dtype=dout.dtype) if input_grad else None
        per_position = dout.sum(0)
        if self.first:
            grad[0] = per_position.sum(0)
        else:
            grad[self.offset:self.offset + len(per_position)] = per_position
        self.grads = {"weight": grad}
        return np.zeros(self.shape, dtype=dout.dtype) if input_grad else None


class PositionAdd(Module):
    """x plus rows 0 … T−1 of a learned [1, positions, D] table, [N, T, D] → [N, T, D]: torchvision ViT's
    ``x + pos_embedding``, the table drawn from N(0, 0.02²) as torchvision draws it and stored under the
    layer's own name (``BARE``). The input's gradient is the output's; row t's is the output's at
    position t summed over the batch (rows past T get none)."""

    PARAMS = ("weight",)
    RANDOM = True
    BARE = True

    def __init__(self, positions: int, dim: int, rng=None):
        rng = np.random.default_rng(rng)
        self.weight = rng.normal(0.0, 0.02, (1, positions, dim))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x + self.weight[:, :x.shape[1]]

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        grad = np.zeros_like(self.weight)
        grad[:, :dout.shape[1]] = dout.sum(0, keepdims=True)
        self.grads = {"weight": grad}
        return dout if input_grad else None


# -- attention -------------------------------------------------------------------------------------


def _rotary_tables(length: int, r: int, theta: float, dtype, factor: float = 1.0,
                   **scaling) -> tuple[np.ndarray, np.ndarray]:
    """cos and sin of the rotary angles t·f for the inverse frequencies f of :func:`rotary_frequencies` (θ^(−2i/r)
    scaled by ``factor`` as ``scaling`` says: linear, llama3, yarn), [T, r/2], times its factor on cos and sin,
    computed in float32 as torch and Hugging Face compute them (so float64 runs match theirs), then cast to the
    input's dtype."""
    inv, gain = rotary_frequencies(np, r, theta, factor, **scaling)
    angles = np.arange(length, dtype=np.float32)[:, None] * inv[None, :]
    return (np.cos(angles) * gain).astype(dtype), (np.sin(angles) * gain).astype(dtype)


def _rotate(x: np.ndarray, cos: np.ndarray, sin: np.ndarray, interleaved: bool) -> np.ndarray:
    """Rotary position embedding on the first r = 2·cos.shape[-1] dimensions of x [N, H, T, d]: pairs
    (i, i + r/2) (Llama's rotate-half) or (2i, 2i + 1) (GPT-J's interleaved) turned by the angles.
    A rotation: its gradient is the rotation by −angle, which is this with −sin."""
    r = 2 * cos.shape[-1]
    out = x.copy()
    if interleaved:
        a, b = x[..., 0:r:2], x[..., 1:r:2]
        out[..., 0:r:2], out[..., 1:r:2] = a * cos - b * sin, b * cos + a * sin
    else:
        a, b = x[..., :r // 2], x[..., r // 2:r]
        out[..., :r // 2], out[..., r // 2:r] = a * cos - b * sin, b * cos + a * sin
    return out


class Attention(Module):
    """Scaled dot-product attention over heads (``F.scaled_dot_product_attention``), on q, k and v side
    by side in one input [N, T, (h + 2·kv)·d] (GPT-2's ``c_attn``) or apart ([N, T, h·d], [N, S, kv·d]
    twice); output [N, T, h·d].

    Per head: softmax(q·kᵀ·scale + mask)·v, ``scale`` 1/√d by default, ``causal`` masking each key
    after the query's position. ``kv_heads`` below ``heads`` is grouped-query attention: each k, v head
    serves heads/kv_heads query heads in turn (``repeat_interleave``), so their gradients are summed
    over the group. ``rotary`` rotates q and k first (positions 0 … T−1; ``rotary_dim`` leading
    dimensions of each head). ``dropout`` drops attention weights in training (inverted). ``softcap`` caps
    the scores c·tanh(s/c) before the mask (Gemma 2's); ``window`` hides the keys ``window`` or more
    positions before the query (sliding-window attention); ``rotary_factor`` scales the rotary frequencies as
    ``scaling`` says (:func:`rotary_frequencies`: linear by default, llama3, yarn and their settings).
    ``packing="heads"`` reads one input grouped by key/value head, each group its heads/kv_heads queries,
    its key and its value (GPT-NeoX's ``query_key_value``); the gradient goes back in the same order.
    Axes between the batch and [T, D] are independent sequences (Swin's windows): folded into the batch.
    ``relative_bias`` (w_h, w_w) adds Swin's learned bias to the scaled scores, before the mask: row
    ``relative_position_index[i·T + j]`` of ``relative_position_bias_table`` for the pair (i, j), as
    torchvision stores them; the table's gradient sums the scores' over every pair that reads each row.

    Backward: dv = pᵀ·dout, dp = dout·vᵀ, and softmax's gradient p ⊙ (dp − Σ dp ⊙ p) from the saved
    probabilities (which the forward computed shifted by each row's maximum, so nothing overflows and
    a masked score is exactly 0), then dq = ds·k and dk = dsᵀ·q, rotated back.
    """

    RANDOM = True
    PARAMS = ("relative_position_bias_table",)
    BUFFERS = ("relative_position_index",)

    def __init__(self, heads: int, kv_heads: int, head_dim: int, causal: bool = False, scale: float | None = None,
                 rotary: str = "none", theta: float = 10000.0, rotary_dim: int | None = None, dropout: float = 0.0,
                 rng=None, window: int | None = None, softcap: float | None = None, rotary_factor: float = 1.0,
                 packing: str = "qkv", relative_bias: tuple[int, int] | None = None, v_head_dim: int | None = None,
                 **scaling):
        self.heads, self.kv_heads, self.head_dim, self.causal, self.scale = heads, kv_heads, head_dim, causal, scale
        self.v_head_dim = head_dim if v_head_dim is None else v_head_dim  # MLA's values are narrower than its keys
        self.rotary, self.theta, self.rotary_dim, self.dropout = rotary, theta, rotary_dim, dropout
        self.window, self.softcap, self.rotary_factor, self.packing = window, softcap, rotary_factor, packing
        self.scaling = scaling
        self.rng = np.random.default_rng(rng)
        self.relative_position_bias_table = self.relative_position_index = None
        if relative_bias is not None:  # torchvision's: trunc_normal_(std=0.02) within ±2, and the index
            wh, ww = relative_bias
            table = self.rng.normal(0.0, 0.02, ((2 * wh - 1) * (2 * ww - 1), heads))
            self.relative_position_bias_table = np.clip(table, -2.0, 2.0)
            h, w = (a.reshape(-1) for a in np.meshgrid(np.arange(wh), np.arange(ww), indexing="ij"))
            rows = (h[:, None] - h[None, :] + wh - 1) * (2 * ww - 1) + w[:, None] - w[None, :] + ww - 1
            self.relative_position_index = rows.reshape(-1).astype(np.int64)

    def _bias(self, t: int) -> np.ndarray:
        """The relative position bias [heads, T, T]: each pair's row of the table."""
        rows = self.relative_position_bias_table[self.relative_position_index]  # [T·T, heads]
        return rows.T.reshape(-1, t, t)

    def _heads(self, x: np.ndarray, heads: int, dim: int | None = None) -> np.ndarray:
        """[N, T, heads·d] → [N, heads, T, d] (d the head_dim, or ``dim``)."""
        return x.reshape(x.shape[0], x.shape[1], heads, dim or self.head_dim).transpose(0, 2, 1, 3)

    def _tables(self, length: int, dtype) -> tuple[np.ndarray, np.ndarray]:
        r = self.head_dim if self.rotary_dim is None else self.rotary_dim
        return _rotary_tables(length, r, self.theta, dtype, self.rotary_factor, **self.scaling)

    def forward(self, *xs: np.ndarray) -> np.ndarray:
        self.shapes = [x.shape for x in xs]  # the axes before [T, D] fold into the batch: sequences of their own
        out = self._forward(*(x.reshape(-1, *x.shape[-2:]) for x in xs))
        return out.reshape(*xs[0].shape[:-1], out.shape[-1])

    def backward(self, dout: np.ndarray, input_grad: bool = True):
        grads = self._backward(dout.reshape(-1, *dout.shape[-2:]))
        if self.fused:
            return grads.reshape(self.shapes[0])
        return tuple(g.reshape(shape) for g, shape in zip(grads, self.shapes))

    def _forward(self, *xs: np.ndarray) -> np.ndarray:
        h, kv, d = self.heads, self.kv_heads, self.head_dim
        self.fused = len(xs) == 1
        if self.fused and self.packing == "heads":  # [N, T, kv, h/kv + 2, d]: each group's queries, key, value
            groups = xs[0].reshape(*xs[0].shape[:2], kv, h // kv + 2, d)
            q, k, v = (part.reshape(*xs[0].shape[:2], -1) for part in (groups[..., :-2, :], groups[..., -2, :],
                                                                          groups[..., -1, :]))
        else:
            q, k, v = np.split(xs[0], [h * d, (h + kv) * d], axis=-1) if self.fused else xs
        q, k, v = self._heads(q, h), self._heads(k, kv), self._heads(v, kv, self.v_head_dim)
        if self.rotary != "none":
            interleaved = self.rotary == "interleaved"
            q = _rotate(q, *self._tables(q.shape[2], q.dtype), interleaved)
            k = _rotate(k, *self._tables(k.shape[2], k.dtype), interleaved)
        k, v = np.repeat(k, h // kv, axis=1), np.repeat(v, h // kv, axis=1)
        scale = 1 / math.sqrt(d) if self.scale is None else self.scale
        scores = (q @ k.transpose(0, 1, 3, 2)) * scale
        capped = None
        if self.softcap is not None:  # c·tanh(s/c); its slope 1 − tanh² is kept for backward
            capped = np.tanh(scores / self.softcap)
            scores = capped * self.softcap
        if self.relative_position_bias_table is not None:
            scores = scores + self._bias(scores.shape[-1]).astype(scores.dtype)
        if self.causal:
            t, s = scores.shape[-2:]
            seen = np.tril(np.ones((t, s), dtype=bool))
            if self.window is not None:  # not the keys window or more positions back
                seen &= ~np.tril(np.ones((t, s), dtype=bool), -self.window)
            scores = np.where(seen, scores, -np.inf)
        e = np.exp(scores - scores.max(-1, keepdims=True))
        p = e / e.sum(-1, keepdims=True)
        mask = None
        if self.training and self.dropout > 0:
            keep = self.rng.random(p.shape) >= self.dropout
            mask = (keep / (1 - self.dropout) if self.dropout < 1 else np.zeros(p.shape)).astype(p.dtype)
        weights = p if mask is None else p * mask
        self.cache = (q, k, v, p, mask, weights, scale, capped)
        out = weights @ v
        return out.transpose(0, 2, 1, 3).reshape(out.shape[0], out.shape[2], h * self.v_head_dim)

    def _backward(self, dout: np.ndarray):
        h, kv, d = self.heads, self.kv_heads, self.head_dim
        q, k, v, p, mask, weights, scale, capped = self.cache
        n, tq, tk = q.shape[0], q.shape[2], k.shape[2]
        do = self._heads(dout, h, self.v_head_dim)
        dv = weights.transpose(0, 1, 3, 2) @ do
        dp = do @ v.transpose(0, 1, 3, 2)
        if mask is not None:
            dp = dp * mask
        ds = p * (dp - (dp * p).sum(-1, keepdims=True))
        if capped is not None:
            ds = ds * (1 - capped * capped)
        if self.relative_position_bias_table is not None:  # each pair's score gradient, summed into its row
            table = np.zeros_like(self.relative_position_bias_table)
            np.add.at(table, self.relative_position_index, ds.sum(0).reshape(h, -1).T)
            self.grads = {"relative_position_bias_table": table}
        ds = ds * scale
        dq, dk = ds @ k, ds.transpose(0, 1, 3, 2) @ q
        dk = dk.reshape(n, kv, h // kv, tk, d).sum(2)
        dv = dv.reshape(n, kv, h // kv, tk, self.v_head_dim).sum(2)
        if self.rotary != "none":
            interleaved = self.rotary == "interleaved"
            cos, sin = self._tables(tq, dq.dtype)
            dq = _rotate(dq, cos, -sin, interleaved)
            cos, sin = self._tables(tk, dk.dtype)
            dk = _rotate(dk, cos, -sin, interleaved)
        dq, dk, dv = (g.transpose(0, 2, 1, 3).reshape(n, g.shape[2], -1) for g in (dq, dk, dv))
        if self.fused and self.packing == "heads":  # back into each group's queries, key and value
            shape = (n, tq, kv, -1, d)
            return np.concatenate([dq.reshape(shape), dk.reshape(shape), dv.reshape(shape)], 3).reshape(n, tq, -1)
        return np.concatenate([dq, dk, dv], -1) if self.fused else (dq, dk, dv)


class HeadNorm(Module):
    """q or k [N, T, heads, d] normalised over each head's d features with a γ (and β) of each head's own: one
    [heads, d] ``weight`` (Cohere's q_norm), or with ``modules`` a norm per head, ``norms.0`` … (StableLM's
    q_layernorm, :class:`LayerNorm` or :class:`RMSNorm` of [d] each); ``kind`` is ``layernorm`` or ``rmsnorm``,
    and each head is normalised as a norm of its own would normalise it.

    Backward: the γ and β gradients sum over the positions alone (each head keeps its own), and the input's
    is the norm's over each head's d features, with γ of that head."""

    PARAMS = ("weight", "bias")

    def __init__(self, heads: int, head_dim: int, kind: str = "layernorm", eps: float = 1e-5, bias: bool = False,
                 modules: bool = False):
        self.kind, self.eps = kind, eps
        layer_norm = kind == "layernorm"
        self.per: list[Module] = [LayerNorm((head_dim,), eps, bias=bias) if layer_norm else RMSNorm((head_dim,), eps)
                                  for _ in range(heads if modules else 0)]
        self.weight = None if modules else np.ones((heads, head_dim))
        self.bias = np.zeros((heads, head_dim)) if not modules and layer_norm and bias else None

    def children(self) -> list[tuple[str, Module]]:
        return [(f"norms.{i}", norm) for i, norm in enumerate(self.per)]

    def _gamma_beta(self) -> tuple[np.ndarray, np.ndarray | None]:
        if not self.per:
            return self.weight, self.bias
        biases = [getattr(norm, "bias", None) for norm in self.per]
        return (np.stack([norm.weight for norm in self.per]),
                None if biases[0] is None else np.stack(biases))

    def forward(self, x: np.ndarray) -> np.ndarray:
        if self.kind == "layernorm":
            inv = 1 / np.sqrt(x.var(-1, keepdims=True) + self.eps)
            xhat = (x - x.mean(-1, keepdims=True)) * inv
        else:
            inv = 1 / np.sqrt((x * x).mean(-1, keepdims=True) + self.eps)
            xhat = x * inv
        self.cache = (xhat, inv)
        gamma, beta = self._gamma_beta()
        return xhat * gamma if beta is None else xhat * gamma + beta

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        xhat, inv = self.cache
        gamma, beta = self._gamma_beta()
        lead = tuple(range(dout.ndim - 2))
        grads = {"weight": (dout * xhat).sum(lead)}
        if beta is not None:
            grads["bias"] = dout.sum(lead)
        if self.per:
            for i, norm in enumerate(self.per):
                norm.grads = {key: grad[i] for key, grad in grads.items()}
        else:
            self.grads = grads
        if not input_grad:
            return None
        g = dout * gamma
        centred = g - g.mean(-1, keepdims=True) if self.kind == "layernorm" else g
        return inv * (centred - xhat * (g * xhat).mean(-1, keepdims=True))


class MultiheadAttention(Module):
    """Self-attention with its projections, named as Llama's are: ``q_proj``, ``k_proj``, ``v_proj``
    (biases with ``bias``), :class:`Attention`, then ``o_proj`` (a bias with ``out_bias``). ``qk_norm``
    adds ``q_norm`` and ``k_norm``, :class:`RMSNorm` (or with ``qk_norm_kind: layernorm`` :class:`LayerNorm`)
    on q and k before the attention: over each head's dimensions (``head``, Qwen3's), over all heads'
    features (``all``, OLMo 2's), or over each head's with a γ of each head's own (``per_head``,
    :class:`HeadNorm`: Cohere's, or StableLM's ``q_layernorm`` and ``k_layernorm`` with
    ``qk_norm_layout: stablelm``)."""

    RANDOM = True

    def __init__(self, embed_dim: int, heads: int, kv_heads: int, head_dim: int, out_features: int,
                 bias: bool = True, out_bias: bool = True, qk_norm: str = "none", qk_norm_eps: float = 1e-6,
                 causal: bool = False, scale: float | None = None, rotary: str = "none", theta: float = 10000.0,
                 rotary_dim: int | None = None, dropout: float = 0.0, rng=None, qk_norm_offset: float = 0.0,
                 qk_norm_kind: str = "rmsnorm", qk_norm_bias: bool = False, qk_norm_layout: str = "stacked",
                 **gemma: object):
        rng = np.random.default_rng(rng)
        self.q_proj = Linear(embed_dim, heads * head_dim, bias, rng)
        self.k_proj = Linear(embed_dim, kv_heads * head_dim, bias, rng)
        self.v_proj = Linear(embed_dim, kv_heads * head_dim, bias, rng)
        self.o_proj = Linear(heads * head_dim, out_features, out_bias, rng)
        self.head_dim, self.per_head = head_dim, qk_norm in ("head", "per_head")
        self.norms: list[tuple[str, Module]] = []
        if qk_norm == "per_head":
            modules = qk_norm_layout == "stablelm"
            names = ("q_layernorm", "k_layernorm") if modules else ("q_norm", "k_norm")
            self.norms = [(name, HeadNorm(n, head_dim, qk_norm_kind, qk_norm_eps, qk_norm_bias, modules))
                          for name, n in zip(names, (heads, kv_heads))]
        elif qk_norm != "none":
            sizes = (head_dim, head_dim) if self.per_head else (heads * head_dim, kv_heads * head_dim)
            self.norms = [(name, LayerNorm((size,), qk_norm_eps, bias=qk_norm_bias) if qk_norm_kind == "layernorm"
                           else RMSNorm((size,), qk_norm_eps, offset=qk_norm_offset))
                          for name, size in zip(("q_norm", "k_norm"), sizes)]
        # Gemma's window, softcap and rotary_factor, rope scaling's settings, given where the spec sets them
        self.attention = Attention(heads, kv_heads, head_dim, causal, scale, rotary, theta, rotary_dim, dropout, rng,
                                   **gemma)

    def children(self) -> list[tuple[str, Module]]:
        return [("q_proj", self.q_proj), ("k_proj", self.k_proj), ("v_proj", self.v_proj), ("o_proj", self.o_proj),
                *self.norms]

    def _heads(self, x: np.ndarray) -> np.ndarray:
        """x [N, T, h·d] as the norms read it: [N, T, h, d] per head, else as it is."""
        return x.reshape(*x.shape[:-1], -1, self.head_dim) if self.per_head else x

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.attention.training = self.training  # not a child: it holds no parameters
        q, k = self.q_proj.forward(x), self.k_proj.forward(x)
        if self.norms:
            q, k = (norm.forward(self._heads(t)).reshape(t.shape) for (_, norm), t in zip(self.norms, (q, k)))
        return self.o_proj.forward(self.attention.forward(q, k, self.v_proj.forward(x)))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dq, dk, dv = self.attention.backward(self.o_proj.backward(dout))
        if self.norms:
            dq, dk = (norm.backward(self._heads(g)).reshape(g.shape) for (_, norm), g in zip(self.norms, (dq, dk)))
        grads = [proj.backward(g, input_grad) for proj, g in ((self.q_proj, dq), (self.k_proj, dk), (self.v_proj, dv))]
        return grads[0] + grads[1] + grads[2] if input_grad else None


class LatentAttention(Module):
    """DeepSeek-V2/V3's multi-head latent attention (transformers' ``DeepseekV3Attention``): q from ``q_proj``, or
    (``q_rank``) ``q_a_proj``, ``q_a_layernorm`` and ``q_b_proj``; ``kv_a_proj_with_mqa`` gives a latent of
    ``kv_rank`` and one rotary key of ``rope_dim`` that every head shares; the latent, normalised by
    ``kv_a_layernorm``, expanded by ``kv_b_proj`` into each head's key part (``nope_dim``) and value (``v_dim``).
    Each head's query and key end in ``rope_dim`` rotated dimensions; :class:`Attention` on them (keys of
    nope_dim + rope_dim, values of v_dim), then ``o_proj``.

    Backward: the attention's dq, dk and dv; the rotated parts turned back (the rotation by −angle); the shared
    key's gradient the sum over the heads that read it; kv_b_proj's input gradient through kv_a_layernorm, beside
    the key's, into kv_a_proj_with_mqa; the input's gradient the sum of the query's and the latent's paths."""

    RANDOM = True

    def __init__(self, embed_dim: int, heads: int, kv_rank: int, nope_dim: int, rope_dim: int, v_dim: int,
                 out_features: int, q_rank: int | None = None, bias: bool = False, eps: float = 1e-6,
                 causal: bool = False, rotary: str = "interleaved", theta: float = 10000.0, scale: float | None = None,
                 dropout: float = 0.0, rng=None, rotary_factor: float = 1.0, **scaling):
        rng = np.random.default_rng(rng)
        qk = heads * (nope_dim + rope_dim)
        if q_rank is None:
            self.query: list[tuple[str, Module]] = [("q_proj", Linear(embed_dim, qk, False, rng))]
        else:
            self.query = [("q_a_proj", Linear(embed_dim, q_rank, bias, rng)),
                          ("q_a_layernorm", RMSNorm((q_rank,), eps)), ("q_b_proj", Linear(q_rank, qk, False, rng))]
        self.kv_a_proj_with_mqa = Linear(embed_dim, kv_rank + rope_dim, bias, rng)
        self.kv_a_layernorm = RMSNorm((kv_rank,), eps)
        self.kv_b_proj = Linear(kv_rank, heads * (nope_dim + v_dim), False, rng)
        self.o_proj = Linear(heads * v_dim, out_features, bias, rng)
        self.sizes = (heads, kv_rank, nope_dim, rope_dim, v_dim)
        self.interleaved, self.theta = rotary == "interleaved", theta
        # rope scaling's settings (rotary_frequencies'), YaRN's for the published DeepSeeks
        self.rotary_factor, self.scaling = rotary_factor, scaling
        self.attention = Attention(heads, heads, nope_dim + rope_dim, causal, scale, dropout=dropout, rng=rng,
                                   v_head_dim=v_dim)

    def children(self) -> list[tuple[str, Module]]:
        return [*self.query, ("kv_a_proj_with_mqa", self.kv_a_proj_with_mqa), ("kv_a_layernorm", self.kv_a_layernorm),
                ("kv_b_proj", self.kv_b_proj), ("o_proj", self.o_proj)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        h, kv_rank, n, r, v_dim = self.sizes
        b, t = x.shape[:2]
        self.attention.training = self.training  # not a child: it holds no parameters
        q = x
        for _, module in self.query:
            q = module.forward(q)
        q = q.reshape(b, t, h, n + r)
        latent = self.kv_a_proj_with_mqa.forward(x)
        kv = self.kv_b_proj.forward(self.kv_a_layernorm.forward(latent[..., :kv_rank])).reshape(b, t, h, n + v_dim)
        self.tables = _rotary_tables(t, r, self.theta, x.dtype, self.rotary_factor, **self.scaling)
        q_rot = _rotate(q[..., n:].transpose(0, 2, 1, 3), *self.tables, self.interleaved).transpose(0, 2, 1, 3)
        k_rot = _rotate(latent[:, None, :, kv_rank:], *self.tables, self.interleaved)[:, 0]  # [N, T, r], shared
        q = np.concatenate([q[..., :n], q_rot], -1).reshape(b, t, -1)
        k = np.concatenate([kv[..., :n], np.broadcast_to(k_rot[:, :, None], (b, t, h, r))], -1).reshape(b, t, -1)
        return self.o_proj.forward(self.attention.forward(q, k, kv[..., n:].reshape(b, t, -1)))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        h, _, n, r, v_dim = self.sizes
        cos, sin = self.tables
        dq, dk, dv = self.attention.backward(self.o_proj.backward(dout))
        b, t = dq.shape[:2]
        dq, dk = dq.reshape(b, t, h, n + r), dk.reshape(b, t, h, n + r)
        dq_rot = _rotate(dq[..., n:].transpose(0, 2, 1, 3), cos, -sin, self.interleaved).transpose(0, 2, 1, 3)
        dk_rot = _rotate(dk[..., n:].sum(2)[:, None], cos, -sin, self.interleaved)[:, 0]  # every head's, summed
        dkv = np.concatenate([dk[..., :n], dv.reshape(b, t, h, v_dim)], -1).reshape(b, t, -1)
        dlatent = self.kv_a_layernorm.backward(self.kv_b_proj.backward(dkv))
        dx = self.kv_a_proj_with_mqa.backward(np.concatenate([dlatent, dk_rot], -1), input_grad)
        g = np.concatenate([dq[..., :n], dq_rot], -1).reshape(b, t, -1)
        for i, (_, module) in reversed(list(enumerate(self.query))):
            g = module.backward(g, input_grad or i > 0)
        return dx + g if input_grad else None


class SelfAttention(Module):
    """Self-attention stored as PyTorch's ``nn.MultiheadAttention`` stores it (torchvision ViT's
    ``self_attention``): q, k and v projected by one packed ``in_proj_weight`` [3D, D] (rows q, then k,
    then v) and ``in_proj_bias`` [3D], :class:`Attention` with D/heads per head and scale 1/√(D/heads),
    then ``out_proj`` (D → D). torch's initialisation: in_proj_weight Xavier-uniform,
    U(±√(6/(D + 3D))); out_proj's weight a linear layer's default; both biases zero.

    Backward: the attention's gradient of q, k and v side by side is the packed projection's output
    gradient, so the packed weight's gradient is one product, dqkvᵀ·x, and the input's dqkv·W."""

    PARAMS = ("in_proj_weight", "in_proj_bias")
    RANDOM = True

    def __init__(self, embed_dim: int, heads: int, bias: bool = True, causal: bool = False, dropout: float = 0.0,
                 rng=None):
        rng = np.random.default_rng(rng)
        bound = math.sqrt(6 / (embed_dim + 3 * embed_dim))
        self.in_proj_weight = rng.uniform(-bound, bound, (3 * embed_dim, embed_dim))
        self.in_proj_bias = np.zeros(3 * embed_dim) if bias else None
        self.out_proj = Linear(embed_dim, embed_dim, bias, rng)
        if bias:
            self.out_proj.bias[...] = 0.0
        self.attention = Attention(heads, heads, embed_dim // heads, causal, None, dropout=dropout, rng=rng)

    def children(self) -> list[tuple[str, Module]]:
        return [("out_proj", self.out_proj)]

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        self.attention.training = self.training  # not a child: it holds no parameters
        qkv = x @ self.in_proj_weight.T
        if self.in_proj_bias is not None:
            qkv = qkv + self.in_proj_bias
        return self.out_proj.forward(self.attention.forward(qkv))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dqkv = self.attention.backward(self.out_proj.backward(dout))
        flat = dqkv.reshape(-1, dqkv.shape[-1])
        self.grads = {"in_proj_weight": flat.T @ self.x.reshape(-1, self.x.shape[-1])}
        if self.in_proj_bias is not None:
            self.grads["in_proj_bias"] = flat.sum(0)
        return dqkv @ self.in_proj_weight if input_grad else None


# -- shape -----------------------------------------------------------------------------------------


class Flatten(Module):
    """Axes start_dim … end_dim (batch included, both included) joined into one, as ``nn.Flatten``:
    [N, ...] → [N, D] by default."""

    def __init__(self, start_dim: int = 1, end_dim: int = -1):
        self.start_dim = start_dim
        self.end_dim = end_dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        end = self.end_dim % x.ndim
        return x.reshape(*x.shape[:self.start_dim], -1, *x.shape[end + 1:])

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout.reshape(self.shape)


class Reshape(Module):
    """Each example reshaped to ``shape`` (batch excluded): [N, …] → [N, *shape]; the gradient reshaped back."""

    def __init__(self, shape: tuple[int, ...]):
        self.shape = tuple(shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.in_shape = x.shape
        return x.reshape(x.shape[0], *self.shape)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout.reshape(self.in_shape)


class Permute(Module):
    """The axes after the batch reordered: output axis i is input axis dims[i] (batch excluded); the
    gradient goes back through the inverse order. ``transpose`` is the permutation that swaps two axes."""

    def __init__(self, dims: tuple[int, ...]):
        self.dims = tuple(dims)

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x.transpose(0, *(d + 1 for d in self.dims))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout.transpose(0, *(int(i) + 1 for i in np.argsort(self.dims)))


class Select(Module):
    """One position along an axis (batch excluded), the axis removed (``x.select``); the gradient is
    zero everywhere but that position."""

    def __init__(self, axis: int, index: int):
        self.axis, self.index = axis, index

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return np.take(x, self.index, axis=self.axis + 1)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        dx = np.zeros(self.shape, dtype=dout.dtype)
        where = [slice(None)] * len(self.shape)
        where[self.axis + 1] = self.index
        dx[tuple(where)] = dout
        return dx


class Mean(Module):
    """The mean over the given axes (batch excluded), kept as size 1 with ``keepdim``; each input
    element gets the output's gradient divided by the number averaged."""

    def __init__(self, dims: tuple[int, ...], keepdim: bool = False):
        self.dims, self.keepdim = tuple(dims), keepdim

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.shape = x.shape
        return x.mean(tuple(d + 1 for d in self.dims), keepdims=self.keepdim)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        axes = tuple(d + 1 for d in self.dims)
        count = math.prod(self.shape[a] for a in axes)
        d = dout if self.keepdim else np.expand_dims(dout, axes)
        return np.broadcast_to(d / count, self.shape)


class ClassToken(Module):
    """A learned [1, 1, D] token put before each sequence, [N, T, D] → [N, T+1, D] (torchvision ViT's
    ``class_token``, zeros at the start). The parameter is stored under the layer's own name
    (``BARE``), as torchvision's state dict has it; its gradient is the token row's, summed over the batch."""

    PARAMS = ("weight",)
    BARE = True

    def __init__(self, dim: int):
        self.weight = np.zeros((1, 1, dim))

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.concatenate([np.broadcast_to(self.weight, (x.shape[0], 1, x.shape[2])).astype(x.dtype), x], 1)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        self.grads = {"weight": dout[:, :1].sum(0, keepdims=True)}
        return dout[:, 1:] if input_grad else None


class LayerScale(Module):
    """x times a learned scale γ of ``shape`` (the channel axis, then 1 per later axis, so it
    broadcasts), every γ starting at ``value``: ConvNeXt's ``layer_scale``, stored under the layer's
    own name (``BARE``). Given ``view``, γ is stored as ``shape`` (timm's [C]) and applied as ``view``."""

    PARAMS = ("weight",)
    BARE = True

    def __init__(self, shape: tuple[int, ...], value: float, view: tuple[int, ...] | None = None):
        self.weight = np.full(tuple(shape), value)
        self.view = tuple(view or shape)

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return self.weight.reshape(self.view) * x

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        part = dout * self.x
        lead = part.ndim - len(self.view)
        axes = (*range(lead), *(lead + i for i, n in enumerate(self.view) if n == 1))
        self.grads = {"weight": part.sum(axes).reshape(self.weight.shape)}
        return dout * self.weight.reshape(self.view) if input_grad else None


class Identity(Module):
    """Passes its input through (``nn.Identity``)."""


class Scale(Module):
    """x · factor, a constant; gradient the factor."""

    def __init__(self, factor: float):
        self.factor = factor

    def forward(self, x: np.ndarray) -> np.ndarray:
        return x * self.factor

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.factor if input_grad else None


# -- activations -----------------------------------------------------------------------------------


class ReLU(Module):
    """max(x, 0); gradient 1 where x > 0, else 0 (PyTorch's choice at 0)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        return np.maximum(x, 0)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.positive


class ReLU6(Module):
    """min(max(x, 0), 6); gradient 1 strictly between 0 and 6 (``nn.ReLU6`` = hardtanh(0, 6))."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.inside = (x > 0) & (x < 6)
        return np.clip(x, 0, 6)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.inside


class LeakyReLU(Module):
    """x for x > 0, negative_slope·x otherwise (``nn.LeakyReLU``)."""

    def __init__(self, negative_slope: float = 0.01):
        self.negative_slope = negative_slope

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.slope = np.where(x > 0, 1.0, self.negative_slope).astype(x.dtype)
        return x * self.slope

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.slope


class Sigmoid(Module):
    """1/(1 + e^−x), computed as (1 + tanh(x/2))/2, which never overflows; gradient s(1 − s)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = 0.5 * (1 + np.tanh(0.5 * x))
        return self.out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.out * (1 - self.out)


class Tanh(Module):
    """tanh x; gradient 1 − tanh² x."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.out = np.tanh(x)
        return self.out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * (1 - self.out * self.out)


class SoftCap(Module):
    """c·tanh(x/c) (Gemma 2's logit soft-capping); gradient 1 − tanh²(x/c)."""

    def __init__(self, cap: float):
        self.cap = cap

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.t = np.tanh(x / self.cap)
        return self.t * self.cap

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * (1 - self.t * self.t)


class SiLU(Module):
    """x·σ(x) (``nn.SiLU``, swish); gradient σ(x)·(1 + x·(1 − σ(x)))."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x, self.s = x, 0.5 * (1 + np.tanh(0.5 * x))
        return x * self.s

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.s * (1 + self.x * (1 - self.s))


class Hardswish(Module):
    """x·relu6(x + 3)/6 (``nn.Hardswish``); gradient 0 below −3, 1 above 3, (2x + 3)/6 between
    (torch's choices at the edges: 0 at −3, 1 at 3)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        return x * np.clip(x + 3, 0, 6) / 6

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self.x
        return dout * np.where(x <= -3, 0.0, np.where(x < 3, (2 * x + 3) / 6, 1.0)).astype(x.dtype)


class Hardsigmoid(Module):
    """relu6(x + 3)/6 (``nn.Hardsigmoid``); gradient 1/6 strictly between −3 and 3."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.inside = (x > -3) & (x < 3)
        return np.clip(x + 3, 0, 6) / 6

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * self.inside / 6


class ELU(Module):
    """x for x > 0, α(eˣ − 1) otherwise (``nn.ELU``); gradient 1, or α·eˣ."""

    def __init__(self, alpha: float = 1.0):
        self.alpha = alpha

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.positive = x > 0
        self.e = np.exp(np.minimum(x, 0))  # never overflows
        return np.where(self.positive, x, self.alpha * (self.e - 1))

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * np.where(self.positive, 1.0, self.alpha * self.e)


class PReLU(Module):
    """x for x > 0, a·x otherwise, with learned slopes a (``nn.PReLU``): one for the layer, or one per
    channel (axis 1, after the batch); every slope starts at ``init``."""

    PARAMS = ("weight",)

    def __init__(self, num_parameters: int = 1, init: float = 0.25):
        self.weight = np.full(num_parameters, init)

    def _slope(self, x: np.ndarray) -> np.ndarray:
        return self.weight.reshape((1, -1) + (1,) * (x.ndim - 2)) if self.weight.size > 1 else self.weight

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x, self.positive = x, x > 0
        return np.where(self.positive, x, self._slope(x) * x)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x, negative = self.x, ~self.positive
        part = dout * x * negative
        if self.weight.size > 1:
            self.grads = {"weight": part.sum(tuple(i for i in range(x.ndim) if i != 1))}
        else:
            self.grads = {"weight": part.sum().reshape(1)}
        return dout * np.where(self.positive, 1.0, self._slope(x)) if input_grad else None


def _softplus(x: np.ndarray) -> np.ndarray:
    """log(1 + eˣ) without overflow: max(x, 0) + log1p(e^−|x|)."""
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


class Mish(Module):
    """x·tanh(softplus(x)) (``nn.Mish``); gradient tanh(sp) + x·(1 − tanh²(sp))·σ(x)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x, self.t = x, np.tanh(_softplus(x))
        return x * self.t

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x, t = self.x, self.t
        return dout * (t + x * (1 - t * t) * 0.5 * (1 + np.tanh(0.5 * x)))


class Softplus(Module):
    """log(1 + e^(βx))/β, and x itself where βx > threshold (``nn.Softplus``); gradient σ(βx), or 1."""

    def __init__(self, beta: float = 1.0, threshold: float = 20.0):
        self.beta, self.threshold = beta, threshold

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.bx = self.beta * x
        self.linear = self.bx > self.threshold
        return np.where(self.linear, x, _softplus(self.bx) / self.beta)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout * np.where(self.linear, 1.0, 0.5 * (1 + np.tanh(0.5 * self.bx)))


class Softmax(Module):
    """exp(x_i)/Σ_j exp(x_j) along ``dim`` (batch included, as in ``nn.Softmax(dim=1)``), shifted by
    the maximum so it never overflows."""

    def __init__(self, dim: int = 1):
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        e = np.exp(x - x.max(self.dim, keepdims=True))
        self.out = e / e.sum(self.dim, keepdims=True)
        return self.out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return self.out * (dout - (dout * self.out).sum(self.dim, keepdims=True))


class LogSoftmax(Module):
    """x_i − log Σ_j exp(x_j) along ``dim`` (``nn.LogSoftmax(dim=1)``), shifted by the maximum; the gradient
    is dout − softmax·Σ dout."""

    def __init__(self, dim: int = 1):
        self.dim = dim

    def forward(self, x: np.ndarray) -> np.ndarray:
        shifted = x - x.max(self.dim, keepdims=True)
        self.out = shifted - np.log(np.exp(shifted).sum(self.dim, keepdims=True))
        return self.out

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return dout - np.exp(self.out) * dout.sum(self.dim, keepdims=True)


def _erf(x: np.ndarray) -> np.ndarray:
    """The error function to about 1e-15 with NumPy alone (NumPy has no erf ufunc).

    |x| < 2.5: erf x = (2/√π)·e^(−x²)·Σ_n 2ⁿx^(2n+1)/(1·3···(2n+1)), a series of positive terms
    (no cancellation); otherwise 1 − erfc x from erfc's continued fraction
    e^(−x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + …)))), evaluated from the bottom.
    """
    a = np.abs(x).astype(np.float64)
    out = np.empty_like(a)
    small = a < 2.5
    s = a[small]
    term, total, s2 = s.copy(), s.copy(), 2 * s * s
    for n in range(1, 40):
        term = term * s2 / (2 * n + 1)
        total += term
    out[small] = 2 / math.sqrt(math.pi) * np.exp(-s * s) * total
    b = a[~small]
    f = b.copy()
    for k in range(40, 0, -1):
        f = b + (k / 2) / f
    out[~small] = 1 - np.exp(-b * b) / (math.sqrt(math.pi) * f)
    return (np.sign(x) * out).astype(x.dtype)


class GELU(Module):
    """x·Φ(x) (``nn.GELU``), exact with erf, or PyTorch's tanh approximation
    ½x(1 + tanh(√(2/π)(x + 0.044715x³))) with ``approximate='tanh'``."""

    def __init__(self, approximate: str = "none"):
        self.approximate = approximate

    def forward(self, x: np.ndarray) -> np.ndarray:
        self.x = x
        if self.approximate == "tanh":
            self.t = np.tanh(math.sqrt(2 / math.pi) * (x + 0.044715 * (x * x * x)))  # x * x * x: ** 3 is a slow pow
            return 0.5 * x * (1 + self.t)
        self.cdf = 0.5 * (1 + _erf(x / math.sqrt(2)))
        return x * self.cdf

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        x = self.x
        if self.approximate == "tanh":
            inner = math.sqrt(2 / math.pi) * (1 + 3 * 0.044715 * x * x)
            return dout * (0.5 * (1 + self.t) + 0.5 * x * (1 - self.t * self.t) * inner)
        return dout * (self.cdf + x * np.exp(-0.5 * x * x) / math.sqrt(2 * math.pi))


class Step(Module):
    """The perceptron's threshold unit sign(x) ∈ {−1, 0, 1}; its gradient is zero (as torch.sign's)."""

    def forward(self, x: np.ndarray) -> np.ndarray:
        return np.sign(x)

    def backward(self, dout: np.ndarray, input_grad: bool = True) -> np.ndarray | None:
        return np.zeros_like(dout)
