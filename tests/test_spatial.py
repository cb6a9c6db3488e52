"""The sliding-window rule: symbolic sizes agree with concrete ones, and pools pad as PyTorch allows."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import archcalc
from archcalc import symbolic
from archcalc.errors import SpecError
from archcalc.layers.spatial import dropped_window, out_size

SIZES = range(1, 65)


@st.composite
def window_layers(draw) -> str:
    """One conv or pool with kernel 1–5, stride 1–4, dilation 1–3 and the padding its kind allows."""
    kind = draw(st.sampled_from(["conv2d", "maxpool2d", "avgpool2d"]))
    kernel, stride = draw(st.integers(1, 5)), draw(st.integers(1, 4))
    args = {"kernel": kernel, "stride": stride}
    if kind != "avgpool2d":
        args["dilation"] = draw(st.integers(1, 3))
    args["padding"] = draw(st.integers(0, 3 if kind == "conv2d" else kernel // 2))
    if kind == "conv2d":
        args["out"] = 2
    else:
        args["ceil_mode"] = draw(st.booleans())
    return f"{kind}: {{{', '.join(f'{k}: {str(v).lower()}' for k, v in args.items())}}}"


def spec(layers: list[str]) -> str:
    return "input: [1, H, H]\nlayers:\n" + "".join(f"  - {text}\n" for text in layers)


@pytest.mark.slow
@settings(max_examples=150, deadline=None, derandomize=True)
@given(st.lists(window_layers(), min_size=1, max_size=3))
def test_symbolic_sizes_substituted_equal_the_concrete_sizes(layers):
    """For H = 1…64, each layer's symbolic output size at H equals what the layer computes for the
    concrete input, up to the first layer the concrete input does not fit (where the formula is ≤ 0)."""
    try:
        model = archcalc.loads(spec(layers))
    except SpecError as e:  # ceil_mode whose size is not one formula: refused, and that is all
        assert e.message.endswith("in a way archcalc cannot express"), e.message
        return
    nodes = list(model.graph.layers())
    for h in SIZES:
        shape = (1, h, h)
        for node in nodes:
            formula = symbolic.subs(node.out_shape[1], {"H": h})
            try:
                shape = node.layer.output_shape(shape)
            except SpecError as e:
                assert e.code == "non-positive-size" and formula <= 0, (h, node.path, formula, e.message)
                break
            assert (formula, symbolic.subs(node.out_shape[2], {"H": h})) == shape[1:], (h, node.path)


def test_a_kernel_narrower_than_the_stride_with_ceil_mode_is_refused_when_h_is_free():
    """k=2, s=3 on H=3: ⌈(3−2)/3⌉+1 = 2, but the second window would start at 3, in the (empty)
    right padding, so torch gives 1; at H=4 it gives 2. No single formula: give H a value."""
    with pytest.raises(SpecError) as error:
        archcalc.loads("input: [1, H, H]\nlayers:\n  - maxpool2d: {kernel: 2, stride: 3, ceil_mode: true}\n")
    assert error.value.hint == "give H a value with --set"
    assert [out_size(n, 2, 3, 0, ceil_mode=True) for n in (3, 4, 5, 6)] == [1, 2, 2, 2]


@pytest.mark.parametrize("kernel, stride, padding, dilation", [(3, 2, 0, 1), (3, 2, 1, 1), (2, 2, 0, 1),
                                                               (3, 3, 0, 1), (2, 1, 1, 1), (2, 2, 0, 2)])
def test_no_window_can_start_in_the_padding_when_the_kernel_covers_stride_plus_padding(kernel, stride, padding,
                                                                                         dilation):
    h = symbolic.symbol("H")
    assert dropped_window(h, kernel, stride, padding, dilation) == 0
    assert not any(dropped_window(n, kernel, stride, padding, dilation) for n in SIZES)


def test_dropped_windows_at_concrete_sizes():
    assert [dropped_window(n, 2, 2, 1) for n in (4, 5, 6, 7)] == [0, 1, 0, 1]
    assert [out_size(n, 2, 2, 1, ceil_mode=True) for n in (4, 5, 6, 7)] == [3, 3, 4, 4]


def _archcalc_size(kind: str, n: int, **args: object) -> tuple[int, int] | str:
    text = ", ".join(f"{k}: {str(v).lower()}" for k, v in args.items())
    try:
        return archcalc.loads(f"input: [1, {n}, {n}]\nlayers:\n  - {kind}: {{{text}}}\n").output_shape[1:]
    except SpecError as e:
        return e.code


def _torch_size(fn, n: int, **args: object) -> tuple[int, int] | str:
    import torch

    try:
        return tuple(fn(torch.zeros(1, 1, n, n), **args).shape[2:])
    except RuntimeError as e:
        return "non-positive-size" if "too small" in str(e) else "bad-argument"


@pytest.mark.parametrize("ceil_mode", [False, True])
@pytest.mark.parametrize("dilation", [1, 2, 3])
def test_max_pooling_accepts_exactly_what_torch_runs(dilation, ceil_mode):
    """torch 2.13 refuses pad > kernel // 2 with the raw kernel, dilated or not (at forward time)."""
    import torch.nn.functional as F

    for n in (3, 7):
        for kernel in range(1, 6):
            for stride in (1, 2, 3):
                for padding in range(4):
                    args = {"kernel_size": kernel, "stride": stride, "padding": padding, "dilation": dilation,
                            "ceil_mode": ceil_mode}
                    expected = _torch_size(F.max_pool2d, n, **args)
                    got = _archcalc_size("maxpool2d", n, kernel=kernel, stride=stride, padding=padding,
                                         dilation=dilation, ceil_mode=ceil_mode)
                    assert got == expected, (n, args)


@pytest.mark.parametrize("ceil_mode", [False, True])
def test_average_pooling_accepts_exactly_what_torch_runs(ceil_mode):
    import torch.nn.functional as F

    for n in (3, 7):
        for kernel in range(1, 6):
            for stride in (1, 2, 3):
                for padding in range(4):
                    args = {"kernel_size": kernel, "stride": stride, "padding": padding, "ceil_mode": ceil_mode}
                    expected = _torch_size(F.avg_pool2d, n, **args)
                    got = _archcalc_size("avgpool2d", n, kernel=kernel, stride=stride, padding=padding,
                                         ceil_mode=ceil_mode)
                    assert got == expected, (n, args)


def test_a_dilated_pool_is_refused_padding_beyond_half_its_raw_kernel(write, run):
    path = write("input: [1, 8, 8]\nlayers:\n  - maxpool2d: {kernel: 3, stride: 1, padding: 2, dilation: 2}\n")
    result = run("shapes", path)
    assert result.exit_code == 2
    assert result.stderr == (f"{path}:3:48: error: maxpool2d: padding 2 is more than half the kernel 3\n"
                             "  hint: PyTorch allows at most kernel // 2\n")


def test_same_padding_on_a_dilated_pool_is_checked_too(write, run):
    path = write("input: [1, 8, 8]\nlayers:\n  - maxpool2d: {kernel: 3, stride: 1, padding: same, dilation: 2}\n")
    result = run("shapes", path)
    assert result.exit_code == 2
    assert result.stderr.splitlines()[0] == (f"{path}:3:48: error: maxpool2d: padding 'same' pads 2, which is "
                                             "more than half the kernel 3")
    assert archcalc.loads("input: [1, 8, 8]\nlayers:\n  - maxpool2d: {kernel: 2, stride: 1, padding: same, "
                          "dilation: 2}\n").output_shape == (1, 8, 8)
