"""``--explain`` derivations read as a student writes them, and their arithmetic checks out."""

from __future__ import annotations

from tests.conftest import SPECS


def explained(run, path, command: str) -> list[str]:
    result = run(command, path, "--explain", env={"COLUMNS": "200"})  # wide: no line wraps
    assert result.exit_code == 0, result.stderr
    return result.stdout.splitlines()


def test_batch_norm_shows_the_trainable_count_then_the_buffers(run, write):
    path = write("input: [64, 4, 4]\nlayers:\n  - batchnorm2d\n  - batchnorm2d: {affine: false}\n")
    assert explained(run, path, "params")[1:4] == [
        "0      batchnorm2d  2×C = 2×64 = 128 (γ and β; buffers: 2×C+1 = 2×64+1 = 129, a running mean and "
        "variance per channel and a batch count)",
        "1      batchnorm2d  0 (affine: false, no γ and β; buffers: 2×C+1 = 2×64+1 = 129, a running mean and "
        "variance per channel and a batch count)",
        "total               128 + 0 = 128",
    ]


def test_same_padding_keeps_each_axis_its_own_size(run, write):
    path = write("input: [3, 5, 4]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: same}\n"
                 "  - maxpool2d: {kernel: 3, stride: 1, padding: same}\n")
    assert explained(run, path, "shapes")[1:-3] == [
        "0  conv2d  [3, 5, 4] → [4, 5, 4]",
        "    H_o = H = 5 (padding 'same' keeps the size)",
        "    W_o = W = 4 (padding 'same' keeps the size)",
        "1  maxpool2d  [4, 5, 4] → [4, 5, 4]",
        "    H_o = H = 5 (padding 'same' keeps the size)",
        "    W_o = W = 4 (padding 'same' keeps the size)",
    ]


def test_same_padding_on_a_square_input_is_one_line(run, write):
    path = write("input: [3, H, H]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: same}\n")
    assert explained(run, path, "shapes")[2] == "    H_o = W_o = H (padding 'same' keeps the size)"


def test_ceil_mode_shows_the_window_torch_drops(run, write):
    path = write("input: [1, 5, 6]\nlayers:\n  - maxpool2d: {kernel: 2, stride: 2, padding: 1, ceil_mode: true}\n")
    assert explained(run, path, "shapes")[1:-3] == [
        "0  maxpool2d  [1, 5, 6] → [1, 3, 4]",
        "    H_o = ⌈(H+2×P−F)/S⌉+1−1 = ⌈(5+2×1−2)/2⌉+1−1 = 3 (PyTorch drops the last window, which would start in "
        "the padding)",
        "    W_o = ⌈(W+2×P−F)/S⌉+1 = ⌈(6+2×1−2)/2⌉+1 = 4",
    ]


def test_symbolic_explanations_use_one_notation_without_redundant_parentheses(run):
    shapes = run("shapes", SPECS / "symbolic-cnn.yaml", "--explain", "--symbolic", env={"COLUMNS": "200"}).stdout
    assert "1.0  conv2d  [16, ⌊H/2⌋, ⌊W/2⌋] → [32, ⌊H/2⌋, ⌊W/2⌋]\n" \
        "    H_o = ⌊(H+2×P−F)/S⌋+1 = ⌊(⌊H/2⌋+2×1−3)/1⌋+1 = ⌊H/2⌋\n" in shapes
    assert "    D = C×H×W = 32×⌊H/4⌋×⌊W/4⌋ = 32×⌊H/4⌋×⌊W/4⌋\n" not in shapes  # said once, not twice
    assert "    D = C×H×W = 32×⌊H/4⌋×⌊W/4⌋\n" in shapes
    params = run("params", SPECS / "symbolic-cnn.yaml", "--explain", "--symbolic", env={"COLUMNS": "200"}).stdout
    assert "3      linear  (D_i×D)+D = (32×⌊H/4⌋×⌊W/4⌋×10)+10 = 320×⌊H/4⌋×⌊W/4⌋ + 10\n" in params
    assert "total          448 + 4640 + 320×⌊H/4⌋×⌊W/4⌋ + 10 = 320×⌊H/4⌋×⌊W/4⌋ + 5098\n" in params
    for text in (shapes, params):
        assert "floor" not in text and "*" not in text and "((" not in text


def test_an_odd_size_halved_reads_as_one_fraction(run, write):
    out = run("shapes", write("input: [3, H, W]\nlayers:\n  - conv2d: {out: 8, kernel: 3, stride: 2, padding: 1}\n"),
              "--explain").stdout
    assert "[3, H, W] → [8, ⌊(H + 1)/2⌋, ⌊(W + 1)/2⌋]" in out


def test_wrapped_derivations_keep_their_columns(run):
    """A derivation too long for the terminal wraps under itself; the path and kind columns before it
    keep their alignment (they used to collapse to single spaces)."""
    for spec, flags in (("symbolic-cnn.yaml", ("--symbolic",)), ("resnet18.yaml", ())):
        out = run("params", SPECS / spec, "--explain", *flags, env={"COLUMNS": "70"}).stdout
        lines = out.splitlines()[1:]
        starts = {line.index(kind) for line in lines for kind in ("conv2d", "linear", "batchnorm2d")
                  if not line.startswith(" ") and f" {kind} " in line}
        assert len(starts) == 1, out
        assert all(len(line) <= 70 for line in lines)
        assert all(line.startswith("    ") for line in lines if line.startswith(" ")), out
    out = run("params", SPECS / "symbolic-cnn.yaml", "--explain", "--symbolic", env={"COLUMNS": "70"}).stdout
    assert "3      linear  (D_i×D)+D = (32×⌊H/4⌋×⌊W/4⌋×10)+10 = 320×⌊H/4⌋×⌊W/4⌋ +\n" \
        "               10\n" in out  # continued under the derivation, which starts left of the middle
