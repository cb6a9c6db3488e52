"""Attention over [G…, T, D] (independent sequences: Swin's windows) and Swin's relative position bias, against
a Swin block written from torchvision's definition (``torchvision/models/swin_transformer.py``:
``ShiftedWindowAttention`` with shift 0, ``SwinTransformerBlock``), in every backend; and the located errors."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

import archcalc
from archcalc.backends.onnx import to_onnx
from archcalc.backends.torch.source import export
from archcalc.calc.flops import work
from archcalc.errors import SpecError
from tests.test_spec_doc import EXAMPLES
from tests.torch_helpers import import_file

#: the Swin block of docs/spec.md (the doc test builds it too): Swin-T's first stage at 56×56
[BLOCK] = [e for e in EXAMPLES if "name: swin-t-block" in e]
#: the same at a size the NumPy float64 gradient check runs quickly: a 4×6 map of 2×3 windows, 2 heads of 3
SMALL = (BLOCK.replace("[56, 56, 96]", "[4, 6, 6]").replace("[8, 7, 8, 7, 96]", "[2, 2, 2, 3, 6]")
         .replace("[64, 49, 96]", "[4, 6, 6]").replace("[8, 8, 7, 7, 96]", "[2, 2, 2, 3, 6]")
         .replace("out: 288", "out: 18").replace("heads: 3, relative_bias: [7, 7]", "heads: 2, relative_bias: [2, 3]")
         .replace("out: 96", "out: 6").replace("linear: 384", "linear: 24").replace("linear: 96", "linear: 6"))


class WindowAttention(nn.Module):
    """torchvision's ``ShiftedWindowAttention`` without a shift (W-MSA), as ``shifted_window_attention`` computes
    it: partition into windows, ``qkv``, q scaled, q·kᵀ plus the relative position bias, softmax, ·v, ``proj``,
    reverse the windows."""

    def __init__(self, dim: int, window: tuple[int, int], heads: int):
        super().__init__()
        self.window, self.heads = window, heads
        self.qkv = nn.Linear(dim, dim * 3)
        self.proj = nn.Linear(dim, dim)
        wh, ww = window
        self.relative_position_bias_table = nn.Parameter(torch.zeros((2 * wh - 1) * (2 * ww - 1), heads))
        coords = torch.flatten(torch.stack(torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")), 1)
        relative = (coords[:, :, None] - coords[:, None, :]).permute(1, 2, 0).contiguous()
        relative[:, :, 0] += wh - 1
        relative[:, :, 1] += ww - 1
        relative[:, :, 0] *= 2 * ww - 1
        self.register_buffer("relative_position_index", relative.sum(-1).flatten())
        nn.init.trunc_normal_(self.relative_position_bias_table, std=0.02)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, h, w, c = x.shape
        (wh, ww), n = self.window, self.window[0] * self.window[1]
        bias = self.relative_position_bias_table[self.relative_position_index].view(n, n, -1)
        bias = bias.permute(2, 0, 1).contiguous().unsqueeze(0)
        x = x.view(b, h // wh, wh, w // ww, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(-1, n, c)
        qkv = nn.functional.linear(x, self.qkv.weight, self.qkv.bias)
        q, k, v = qkv.reshape(x.size(0), n, 3, self.heads, c // self.heads).permute(2, 0, 3, 1, 4)
        q = q * (c // self.heads) ** -0.5
        attn = (q.matmul(k.transpose(-2, -1)) + bias).softmax(-1)
        x = attn.matmul(v).transpose(1, 2).reshape(x.size(0), n, c)
        x = nn.functional.linear(x, self.proj.weight, self.proj.bias)
        return x.view(b, h // wh, w // ww, wh, ww, c).permute(0, 1, 3, 2, 4, 5).reshape(b, h, w, c)


class SwinBlock(nn.Module):
    """torchvision's ``SwinTransformerBlock`` (shift 0, no dropout or stochastic depth): x + attn(norm1(x)), then
    x + mlp(norm2(x)), the MLP torchvision's ``MLP``: Linear, GELU, Dropout, Linear, Dropout."""

    def __init__(self, dim: int, window: tuple[int, int], heads: int):
        super().__init__()
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.attn = WindowAttention(dim, window, heads)
        self.mlp = nn.Sequential(nn.Linear(dim, 4 * dim), nn.GELU(), nn.Dropout(0.0), nn.Linear(4 * dim, dim),
                                 nn.Dropout(0.0))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x + self.attn(self.norm1(x))
        return x + self.mlp(self.norm2(x))


def reference(dim: int = 96, window: tuple[int, int] = (7, 7), heads: int = 3, seed: int = 0) -> SwinBlock:
    torch.manual_seed(seed)
    block = SwinBlock(dim, window, heads)
    for norm in (block.norm1, block.norm2):  # not the identity: γ and β away from 1 and 0
        nn.init.normal_(norm.weight, 1.0, 0.2)
        nn.init.normal_(norm.bias, 0.0, 0.2)
    return block


def macs(module: nn.Module, x: torch.Tensor) -> int:
    """Half of torch.utils.flop_counter's FLOPs, sdpa on its math kernel (the counter has no formula for the CPU's
    flash kernel, and counts 0 for it)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, sdpa_kernel(SDPBackend.MATH):
        module(x)
    return counter.get_total_flops() // 2


def test_a_swin_block_is_torchvisions_block(one_thread):
    """The spec's state dict is torchvision's (keys and shapes, the table and the index buffer), loads strictly,
    computes the same block, and archcalc counts its parameters, buffers and MACs exactly."""
    theirs = reference()
    model = archcalc.loads(BLOCK)
    ours = archcalc.to_torch(model).eval()
    assert {k: tuple(v.shape) for k, v in ours.state_dict().items()} == {
        k: tuple(v.shape) for k, v in theirs.state_dict().items()}
    ours.load_state_dict(theirs.state_dict(), strict=True)
    assert torch.equal(archcalc.to_torch(model).attn.relative_position_index, theirs.attn.relative_position_index)
    x = torch.randn(2, 56, 56, 96)
    with torch.no_grad():
        assert (ours(x) - theirs(x)).abs().max() < 1e-5
    assert model.trainable_params == sum(p.numel() for p in theirs.parameters()) == 112_347
    assert model.buffers == sum(b.numel() for b in theirs.buffers()) == 49 * 49
    # torch.utils.flop_counter: the four linear layers and the two batched products of every window
    assert work(model.graph)[model.graph.root].macs == macs(theirs, x[:1]) == macs(ours, x[:1]) == 376_320_000


def test_the_generated_source_is_torchvisions_block(tmp_path, one_thread):
    path = tmp_path / "swin_block.py"
    export(archcalc.loads(BLOCK), str(path))
    theirs = reference(seed=1)
    ours = import_file(path).build_model().eval()
    ours.load_state_dict(theirs.state_dict(), strict=True)
    x = torch.randn(2, 56, 56, 96)
    with torch.no_grad():
        assert (ours(x) - theirs(x)).abs().max() < 1e-5


def test_numpy_forward_and_gradients_are_autograds(one_thread):
    """float64: the NumPy block's output and the gradients of the input, the bias table and every weight are
    autograd's on torchvision's block."""
    from archcalc.backends.numpy import to_numpy
    from tests.numpy_torch import numpy_grads

    theirs = reference(dim=6, window=(2, 3), heads=2).double()
    net = to_numpy(archcalc.loads(SMALL), seed=0, dtype="float64")
    net.load_state_dict({k: v.numpy() for k, v in theirs.state_dict().items()})
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 6, 6))
    r = rng.normal(size=(3, 4, 6, 6))
    tx = torch.from_numpy(x).requires_grad_(True)
    out = theirs(tx)
    (out * torch.from_numpy(r)).sum().backward()
    assert np.abs(net.forward(x) - out.detach().numpy()).max() < 1e-12
    dx = net.backward(r)
    assert np.abs(dx - tx.grad.numpy()).max() < 1e-12
    grads = numpy_grads(net)
    assert set(grads) == {name for name, _ in theirs.named_parameters()}
    for name, p in theirs.named_parameters():
        assert np.abs(grads[name] - p.grad.numpy()).max() < 1e-12, name
    assert np.abs(grads["attn.relative_position_bias_table"]).max() > 1e-3  # the table learns


def test_onnx_computes_torchvisions_block(one_thread):
    import onnxruntime as ort

    theirs = reference(seed=2)
    proto = to_onnx(archcalc.loads(BLOCK), weights=theirs.state_dict())
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    x = torch.randn(2, 56, 56, 96)
    [y] = session.run(None, {session.get_inputs()[0].name: x.numpy()})
    with torch.no_grad():
        assert np.abs(y - theirs(x).numpy()).max() < 1e-5


def test_grouped_attention_counts_every_sequence(one_thread):
    """MACs of attention on [G, T, D] are G times one sequence's, as torch.utils.flop_counter counts sdpa on a
    batch of sequences; the KV cache of a causal one holds every sequence's keys and values."""
    from archcalc.calc.memory import kv_values
    from archcalc.calc.plan import kv_cache_per_token

    text = "input: [5, 7, 24]\nlayers:\n  - attention: {heads: 2, kv_heads: 1, causal: true, rotary: half}\n"
    model = archcalc.loads(text)
    assert work(model.graph)[model.graph.root].macs == 2 * 5 * 2 * 7 * 7 * 6
    assert macs(archcalc.to_torch(model), torch.randn(1, 5, 7, 24)) == 2 * 5 * 2 * 7 * 7 * 6
    assert kv_values(model.graph) == 5 * 7 * (6 + 6)
    assert kv_cache_per_token(model.graph) == [("0", 5 * (6 + 6))]
    mha = archcalc.loads("input: [2, 3, 5, 16]\nlayers:\n  - multihead_attention: {heads: 4, layout: torch}\n")
    x = torch.randn(1, 2, 3, 5, 16)
    assert work(mha.graph)[mha.graph.root].macs == macs(archcalc.to_torch(mha), x) == 6 * (5 * 4 * 16 * 16
                                                                                         + 2 * 4 * 5 * 5 * 4)


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as raised:
        archcalc.loads(text, path="s.yaml")
    return raised.value


WINDOWS = "input: [4, 6, 12]\nlayers:\n"


@pytest.mark.parametrize("text, where, code, message, hint", [
    ("input: [12]\nlayers:\n  - attention: 2\n", (3, 5), "bad-input-shape",
     "attention: needs [T, D] or [G…, T, D] inputs, got [12]",
     "attention runs over T within each index of the axes before [T, D] (windows, frames: [G…, T, D]); give at "
     "least a sequence of vectors, e.g. reshape: [-1, D] or reshape a map into windows [nW, Wh·Ww, D]"),
    ("input: [12]\nlayers:\n  - multihead_attention: 2\n", (3, 5), "bad-input-shape",
     "multihead_attention: needs a [T, D] sequence or [G…, T, D] sequences, got [12]",
     "attention runs over T within each index of the axes before [T, D] (windows, frames: [G…, T, D]); give at "
     "least a sequence of vectors, e.g. reshape: [-1, D] or reshape a map into windows [nW, Wh·Ww, D]"),
    (WINDOWS + "  - attention: {heads: 2, relative_bias: [2, 2]}\n", (3, 42), "attention-mismatch",
     "attention: relative_bias [2, 2] covers a window of 4 positions, but the sequence has 6",
     "partition the map into windows of w_h·w_w positions first (reshape, permute, reshape to [nW, w_h·w_w, D]), or "
     "give the window the sequence is"),
    (WINDOWS + "  - attention: {heads: 2, relative_bias: 0}\n", (3, 42), "bad-argument",
     "attention: 'relative_bias' must be an integer ≥ 1 or [h, w], got 0", None),
    (WINDOWS + "  - attention: {heads: 2, relative_bias: [2, 3], softcap: 5.0}\n", (3, 42), "bad-argument",
     "attention: relative_bias and softcap together: no model adds a relative bias to capped scores",
     "drop softcap or relative_bias"),
    (WINDOWS + "  - attention:\n      heads: 2\n      relative_bias: [2, 3]\n"
     "      branches: [[linear: 4], [linear: 4], [linear: 4]]\n", (5, 22), "bad-argument",
     "attention: relative_bias is a learned table, held by an attention on one fused input, not on three branches",
     "project q, k and v with one linear layer of 3·D features (Swin's qkv) and give its output to attention"),
    (WINDOWS + "  - multihead_attention: {heads: 2, relative_bias: [2, 3]}\n", (3, 52), "bad-argument",
     "multihead_attention: multihead_attention holds no relative position bias table",
     "write Swin's attention as its parts: linear: 3·D {name: qkv}, attention: {heads: h, relative_bias: [w_h, "
     "w_w]}, linear: D {name: proj}"),
    (WINDOWS + "  - attention:\n      heads: 2\n      branches: [[linear: 4], [reshape: [2, 12, 12], linear: 4], "
     "[linear: 4]]\n", (5, 31), "attention-mismatch",
     "attention: k [2, 12, 4] has other leading axes than q [4, 6, 4]",
     "the axes before [T, D] are independent sequences (windows, frames): q, k and v need the same ones"),
    ("input: [4, 6, 12]\nlayers:\n  - pos_embedding: {positions: 6, add: true}\n", (3, 5), "bad-input-shape",
     "pos_embedding: needs a sequence [T] of ids or [T, D] of vectors, got [4, 6, 12]",
     "one table numbers the positions of one sequence: add it before partitioning into windows (on the [T, D] "
     "sequence or a flattened map), or give the attention within each window relative_bias: [w_h, w_w] (Swin)"),
])
def test_located_errors(text, where, code, message, hint):
    e = error(text)
    assert (e.loc.line, e.loc.col) == where
    assert (e.code, e.message, e.hint) == (code, message, hint)


def test_a_bad_window_exits_2_with_its_location(run, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(WINDOWS + "  - attention: {heads: 2, relative_bias: [2, 2]}\n", encoding="utf-8")
    result = run("params", str(path))
    assert result.exit_code == 2 and "Traceback" not in result.output
    assert f"{path}:3:42: error: attention: relative_bias [2, 2] covers a window of 4 positions" in result.output


PATCHES = """input: [3, 56, 56]
layers:
  - conv2d: {out: 96, kernel: 4, stride: 4}
  - permute: [1, 2, 0]
  - reshape: [2, 7, 2, 7, 96]
  - permute: [0, 2, 1, 3, 4]
  - reshape: [4, 49, 96]
  - linear: 288
  - ATTENTION
"""


def test_attention_within_windows_reads_each_windows_patches():
    """S113 counts the positions of each window, not the windows, and a relative bias tells positions."""
    from archcalc.lint import lint

    [finding] = lint(PATCHES.replace("ATTENTION", "attention: 3"), select=["S113"]).diagnostics
    assert finding.message.startswith("`6` (attention) reads the 49 patches of each of its 4 sequences as a set")
    assert finding.hint.startswith("add the patches' positions, `pos_embedding: {positions: N, add: true}` on the "
                                   "[N, D] patches (as ViT), or `relative_bias: [w_h, w_w]` on attention within "
                                   "windows (as Swin)")
    assert not lint(PATCHES.replace("ATTENTION", "attention: {heads: 3, relative_bias: 7}"),
                    select=["S113"]).diagnostics


@pytest.mark.parametrize("layer", [
    "attention: {heads: 2}",
    "attention: {heads: 2, kv_heads: 1, causal: true, rotary: half}",
    "attention: {heads: 2, relative_bias: [2, 3], dropout: 0.1}",
    "multihead_attention: {heads: 2, kv_heads: 1, causal: true, rotary: half, qk_norm: head}",
])
def test_grouped_attention_saves_what_autograd_saves(tmp_path, layer, one_thread):
    """The plan's saved activations of attention on [G, G', T, D] are the bytes one real training step saves."""
    from tests.test_plan import _saved

    width = 8 if "kv_heads" in layer else 12
    path = tmp_path / "grouped.yaml"
    path.write_text(f"input: [2, 3, 6, 12]\nlayers:\n  - linear: {width}\n  - {layer}\n  - linear: 5\n",
                    encoding="utf-8")
    real, predicted = _saved(path, "none", torch.randint(0, 5, (2 * 2 * 3 * 6,)))
    assert predicted == real
