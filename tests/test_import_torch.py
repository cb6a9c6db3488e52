"""``archcalc import path/to/model.py:Class``: a user's own nn.Module traced with torch.fx into a spec,
checked against the module (weights load with strict=True, outputs agree) before it is written; what
cannot be written is located in the user's file. torchvision's models are imported the same way in
tests/test_torchvision.py (they need the second environment)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import archcalc
from archcalc.cli import main

torch = pytest.importorskip("torch")

MODEL = '''\
import torch
from torch import nn
import torch.nn.functional as F


class SE(nn.Module):
    def __init__(self, c, r):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(c, c // r, 1)
        self.fc2 = nn.Conv2d(c // r, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc2(F.relu(self.fc1(self.pool(x)))))


class Block(nn.Module):
    def __init__(self, c, stride=1):
        super().__init__()
        self.conv = nn.Conv2d(c, c, 3, stride=1, padding=1, bias=False)
        self.bn = nn.BatchNorm2d(c)
        self.se = SE(c, 4)

    def forward(self, x):
        return F.relu(x + self.se(self.bn(self.conv(x))))


class Net(nn.Module):
    def __init__(self, classes=10, width=16):
        super().__init__()
        self.stem = nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU())
        self.blocks = nn.Sequential(Block(width), Block(width), Block(width))
        self.left = nn.Conv2d(width, 8, 1)
        self.right = nn.Conv2d(width, 8, 3, padding=1)
        self.head = nn.Linear(16, classes)

    def forward(self, x):
        x = self.blocks(self.stem(x))
        x = torch.cat([self.left(x), self.right(x)], dim=1)
        return self.head(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))
'''


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def imported(tmp_path: Path, source: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", source, "-o", str(out), *extra])
    return result.exit_code, result.output, out


def test_a_users_module_imports_to_a_spec_that_is_the_module(tmp_path):
    path = write(tmp_path, MODEL)
    code, output, out = imported(tmp_path, f"{path}:Net", "--args", '{"classes": 7}', "--input", "3,32,32")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "block:" in text and "repeat: 3" in text  # three equal blocks: one block, repeated
    model = archcalc.load(str(out))
    import importlib.util

    spec = importlib.util.spec_from_file_location("user_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    real = module.Net(classes=7).eval()
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert model.trainable_params == sum(p.numel() for p in real.parameters())
    x = torch.randn(2, 3, 32, 32)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)
    assert model.output_shape == (7,)
    assert "input: [3, H, W]" in text  # it takes any size, so the size is a symbol with the given default
    result = CliRunner().invoke(main, ["lint", str(out), "--format", "json", "--isolated"])
    assert not [f for f in __import__("json").loads(result.output) if f["code"].startswith("E")]


@pytest.mark.parametrize(("body", "line", "says"), [
    ("    def forward(self, x):\n        if x.sum() > 0:\n            return self.a(x)\n        return x\n",
     10, "torch.fx cannot trace its forward"),
    ("    def forward(self, x):\n        return self.a(x) + self.a(x)\n", 10,
     "calls 'a' (Linear) 2 times, one module's parameters used by each call, which torch counts once"),
    ("    def forward(self, x):\n        return self.a(x).clamp(0, 1)\n", 5, "call_method 'clamp'"),
    ("    def forward(self, x):\n        return x\n", 5, "'a' (Linear) holds weights its forward never uses"),
])
def test_what_archcalc_cannot_express_is_located_in_the_users_file(tmp_path, body, line, says):
    path = write(tmp_path, "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n        self.a = nn.Linear(4, 4)\n\n" + body)
    code, output, out = imported(tmp_path, f"{path}:M", "--input", "4")
    assert code == 2, output
    assert f"{path}:{line}:" in output and says in output, output
    assert not out.exists()


HEAD_MODEL = """\
import torch
from torch import nn
import torch.nn.functional as F


class Head(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 3)

    def forward(self, x, pre_logits: bool = False, scale=None):
        if pre_logits:
            return x
        return self.fc(x) if scale is None else self.fc(x) * scale


class Net(nn.Module):
    def __init__(self, flag=False):
        super().__init__()
        self.body = nn.Linear(4, 8)
        self.head = Head()
        self.flag = flag

    def forward(self, x, mask=None):
        return self.head(F.gelu(self.body(x), approximate="tanh"), pre_logits=self.flag)
"""


def test_arguments_with_defaults_are_traced_at_them_and_a_call_may_pass_only_those(tmp_path):
    """timm's heads take ``pre_logits=False`` and branch on it: a spec layer is called with its input alone, so
    the arguments after it are fixed at their defaults, and a call that passes another value is refused."""
    path = write(tmp_path, HEAD_MODEL)
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "4")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "gelu: {approximate: tanh}" in text and "fc" in text
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "4", "--args", '{"flag": true}', "--force")
    assert code == 2 and f"{path}:24:" in output, output  # Net.forward
    assert "calls 'head' (Head) with pre_logits=True: a spec layer is called with its input alone" in output


PIECES_MODEL = """\
import torch
from torch import nn


class Gate(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Conv2d(c, c, 1)

    def forward(self, x):
        return x * torch.sigmoid(self.fc(self.pool(x))).expand_as(x)


class Cross(nn.Module):
    def __init__(self, c):
        super().__init__()
        self.conv = nn.Conv2d(c // 2, c // 2, 3, padding=1)
        self.gate = Gate(c)

    def forward(self, x):
        a, b = x.split(x.shape[1] // 2, dim=1)
        return self.gate(torch.cat([a, self.conv(b)], dim=1))
"""


def test_expand_as_into_a_product_and_a_split_into_equal_pieces_import(tmp_path):
    """ECA's ``x * y.expand_as(x)`` is the product that broadcasts y itself; CSPNet's ``x.split(c // 2, 1)`` is
    two equal pieces, as ``chunk(2, 1)`` is."""
    path = write(tmp_path, PIECES_MODEL)
    code, output, out = imported(tmp_path, f"{path}:Cross", "--args", '{"c": 8}', "--input", "8,6,6")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "multiply" in text and "reshape: [2, -1, 'in_shape[1]', 'in_shape[2]']" in text and "select: 1" in text


def test_a_model_that_refuses_the_input_size_says_to_give_it(tmp_path):
    path = write(tmp_path, "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n        self.a = nn.Linear(4, 4)\n\n"
                 "    def forward(self, x):\n        torch._assert(x.shape[1] == 4, 'four features')\n"
                 "        return self.a(x)\n")
    code, output, out = imported(tmp_path, f"{path}:M", "--input", "5")
    assert code == 2 and f"{path}:10:" in output, output
    assert "its forward fails on an input of [5]" in output and "--input C,H,W" in output
    assert not out.exists()


@pytest.mark.parametrize(("text", "args", "line", "says"), [
    ("import torch\nfrom torch import nn\n\nclass M(nn.Module:\n    pass\n", "{}", 4,
     "importing the file fails (SyntaxError: invalid syntax"),
    ("import torch\nimport not_a_module_of_anyone\n", "{}", 2,
     "importing the file fails (ModuleNotFoundError: No module named 'not_a_module_of_anyone')"),
    ("import sys\nimport argparse\n\nargparse.ArgumentParser().parse_args(['--lr'])\n", "{}", 4,
     "importing the file fails (SystemExit: 2)"),  # a training script's top level, argparse included
    ("import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n    def __init__(self, n=4):\n"
     "        super().__init__()\n        assert n > 0, 'n must be positive'\n        self.a = nn.Linear(n, n)\n",
     '{"n": -1}', 5, "building M fails (AssertionError: n must be positive)"),
    ("import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n    pass\n", '{"width": 3}', 5,
     "building M fails (TypeError: M.__init__() got an unexpected keyword argument 'width')"),
])
def test_a_file_or_constructor_that_fails_is_a_located_error(tmp_path, text, args, line, says):
    path = write(tmp_path, text)
    code, output, out = imported(tmp_path, f"{path}:M", "--args", args, "--input", "4")
    assert code == 2 and f"{path}:{line}:" in output and says in output, output
    assert "internal error" not in output and not out.exists()


@pytest.mark.parametrize(("source", "says"), [
    ("nowhere.py:Net", "no such file"),
    ("resnet50", "cannot tell what model 'resnet50' names"),
])
def test_a_bad_source_is_an_error(tmp_path, source, says):
    code, output, out = imported(tmp_path, source)
    assert code == 2 and says in output and not out.exists()


def test_a_name_that_is_no_module_class(tmp_path):
    path = write(tmp_path, MODEL)
    code, output, _ = imported(tmp_path, f"{path}:torch")
    assert code == 2 and "'torch' is not an nn.Module class in this file" in output


def _class_and_input(source: str) -> tuple[str, str]:
    """The model class and input shape a generated file declares (``def build_model() -> Class``)."""
    import re

    cls = re.search(r"^def build_model\(\) -> (\w+):", source, re.M).group(1)
    shape = re.search(r"^INPUT_SHAPE = \(([\d, ]+)\)", source, re.M).group(1).replace(" ", "").rstrip(",")
    return cls, shape


def assert_same_spec(first, back) -> None:
    """An imported spec is the spec it came from: parameters, buffers, output shape, state_dict keys and shapes,
    and every weighted layer's output shape by path."""
    assert (back.trainable_params, back.buffers) == (first.trainable_params, first.buffers)
    assert back.output_shape == first.output_shape
    with torch.device("meta"):
        states = [archcalc.to_torch(m).state_dict() for m in (first, back)]
    assert [(k, tuple(v.shape)) for k, v in states[1].items()] == [(k, tuple(v.shape)) for k, v in states[0].items()]
    shapes = [{n.path: n.out_shape for n in m.layers if m.counts.get(n) and m.counts[n].trainable}
              for m in (first, back)]
    assert shapes[1] == shapes[0] and shapes[0]


@pytest.mark.parametrize("name", ["resnet18", "squeezenet1_0", "lenet5",
                                  pytest.param("vit_b_16", marks=pytest.mark.slow),
                                  pytest.param("densenet121", marks=pytest.mark.slow),
                                  pytest.param("convnext_tiny", marks=pytest.mark.slow)])
def test_importing_a_specs_generated_source_gives_the_spec_back(tmp_path, name):
    """``archcalc export --to torch`` then ``archcalc import FILE.py:Class``: the same parameters and buffers,
    the same state_dict keys and shapes (the spec's layer names), and every layer with weights the same
    output shape; archcalc's own modules copied into the file (SelfAttention, LayerNorm2d, Select …) are
    read back as their kinds, the apply() of a bare parameter (ClassToken, PositionAdd, LayerScale) too."""
    spec = Path(__file__).resolve().parent.parent / "specs" / f"{name}.yaml"
    back = round_trip(spec, tmp_path)
    assert_same_spec(archcalc.load(str(spec)), archcalc.load(str(back)))


def test_llama_style_attention_in_generated_source_imports_back(tmp_path):
    """archcalc's MultiheadAttention (q_proj … o_proj, and Qwen3's, OLMo 2's, Command R+'s or StableLM's q and k
    norms) reads back with every argument it was written with."""
    layers = ["multihead_attention: {heads: 4, kv_heads: 2, head_dim: 12, bias: false, qk_norm: head, "
              "qk_norm_eps: 1.0e-05, causal: true, rotary: half, theta: 500000.0}",
              "multihead_attention: {heads: 4, out_bias: false, qk_norm: all, rotary: interleaved, out: 24}",
              "multihead_attention: {heads: 2, scale: 0.5, dropout: 0.1}",
              # Command R+'s and StableLM 2 12B's LayerNorms of each head's own, a shared LayerNorm with β
              "multihead_attention: {heads: 4, kv_heads: 2, qk_norm: per_head, qk_norm_kind: layernorm, "
              "qk_norm_bias: false, qk_norm_eps: 1.0e-05, rotary: interleaved}",
              "multihead_attention: {heads: 4, qk_norm: per_head, qk_norm_kind: layernorm, qk_norm_layout: stablelm}",
              "multihead_attention: {heads: 2, qk_norm: per_head}",
              "multihead_attention: {heads: 2, qk_norm: head, qk_norm_kind: layernorm}"]
    spec = tmp_path / "llama.yaml"
    spec.write_text("input: [6, 32]\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers[:2]) +
                    "  - linear: 32\n" + "".join(f"  - {layer}\n" for layer in layers[2:]), encoding="utf-8")
    back = round_trip(spec, tmp_path)
    first, second = archcalc.load(str(spec)), archcalc.load(str(back))
    assert_same_spec(first, second)
    assert [n.layer.config() for n in second.layers if n.kind == "multihead_attention"] == \
        [n.layer.config() for n in first.layers if n.kind == "multihead_attention"]


def test_a_mixture_of_experts_in_generated_source_imports_back(tmp_path):
    """archcalc's MoE (Mixtral's gate, experts.gate_up_proj, experts.down_proj) reads back with its routing."""
    layers = ["moe: {experts: 4, top_k: 1, hidden: 12, activation: gelu, normalize: false}",
              "moe: {experts: 3, hidden: 8, name: mlp}", "moe: {experts: 2, top_k: 1, hidden: 4, shared: 6}",
              "moe: {experts: 3, hidden: 4, router: router, name: block_sparse_moe}",
              # DeepSeek-V3's and V2's routing and ungated shared_experts
              "moe: {experts: 8, top_k: 3, hidden: 4, scoring: sigmoid, correction_bias: true, groups: 4, "
              "top_groups: 2, scaling: 2.5, shared: 6, shared_gate: false}",
              "moe: {experts: 6, hidden: 4, normalize: false, groups: 3, top_groups: 2, group_score: max}"]
    spec = tmp_path / "moe.yaml"
    spec.write_text("input: [6, 16]\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers), encoding="utf-8")
    back = round_trip(spec, tmp_path)
    first, second = archcalc.load(str(spec)), archcalc.load(str(back))
    assert_same_spec(first, second)
    assert [n.layer.config() for n in second.layers] == [n.layer.config() for n in first.layers]


def test_latent_attention_in_generated_source_imports_back(tmp_path):
    """archcalc's LatentAttention (DeepSeek's q_proj or q_a_proj … o_proj) reads back with every argument, its rope
    scaling too."""
    layers = ["mla: {heads: 2, q_rank: 6, kv_rank: 8, nope_dim: 4, rope_dim: 2, v_dim: 3, causal: true, "
              "name: self_attn}",
              "mla: {heads: 3, kv_rank: 6, nope_dim: 2, rope_dim: 4, v_dim: 5, rotary: half, bias: true, out: 12, "
              "theta: 500.0, eps: 1.0e-05, scale: 0.3, rotary_factor: 4.0, rotary_scaling: yarn, "
              "original_positions: 4, attention_factor: 1.2}"]
    spec = tmp_path / "mla.yaml"
    spec.write_text("input: [6, 16]\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers), encoding="utf-8")
    back = round_trip(spec, tmp_path)
    first, second = archcalc.load(str(spec)), archcalc.load(str(back))
    assert_same_spec(first, second)
    assert [n.layer.config() for n in second.layers] == [n.layer.config() for n in first.layers]


def round_trip(spec: Path, folder: Path) -> Path:
    """The spec ``archcalc import`` writes back from the torch source ``archcalc export`` wrote for ``spec``."""
    source, out = folder / "m.py", folder / "back.yaml"
    runner = CliRunner()
    assert runner.invoke(main, ["export", str(spec), "--to", "torch", "-o", str(source)]).exit_code == 0
    cls, shape = _class_and_input(source.read_text(encoding="utf-8"))
    result = runner.invoke(main, ["import", f"{source}:{cls}", "--input", shape, "-o", str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_a_flat_layer_scale_in_generated_source_imports_back(tmp_path):
    """``layer_scale: {flat: true}`` (timm ConvNeXt's [C] gamma) is written ``LayerScale.apply(x, self.gamma,
    view=(-1, 1, 1))``: the view of a vector reads back as a flat layer_scale, in a block too."""
    text = ("name: flat\ninput: [8, 6, 6]\nblocks:\n  cn(c):\n    - residual:\n        - conv2d: {out: c, kernel: 3, "
            "padding: 1, groups: c}\n        - layer_scale: {flat: true, name: gamma}\n"
            "layers:\n  - cn: 8\n  - cn: 8\n  - global_avgpool2d\n  - linear: 4\n")
    spec, source, out = tmp_path / "flat.yaml", tmp_path / "m.py", tmp_path / "back.yaml"
    spec.write_text(text, encoding="utf-8")
    runner = CliRunner()
    assert runner.invoke(main, ["export", str(spec), "--to", "torch", "-o", str(source)]).exit_code == 0
    assert "view=(-1, 1, 1)" in source.read_text(encoding="utf-8")
    cls, shape = _class_and_input(source.read_text(encoding="utf-8"))
    result = runner.invoke(main, ["import", f"{source}:{cls}", "--input", shape, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "layer_scale: {flat: true, name: gamma}" in out.read_text(encoding="utf-8")
    assert_same_spec(archcalc.load(str(spec)), archcalc.load(str(out)))


#: skip connections beside a U-Net's: from a layer inside a block nested in a group into a concat, from a block
#: (with layers of its own on the branch) and from a root layer into an add of three, from an inline residual
SKIPS = """\
name: skips
input: [3, H, W]
symbols: {H: 16, W: 16}
blocks:
  enc(c):
    - conv2d: {out: c, kernel: 3, padding: 1, name: conv}
    - relu
layers:
  - name: stem
    layers:
      - enc: {c: 8, name: a}
      - enc: {c: 8, name: b}
  - conv2d: {out: 8, kernel: 3, padding: 1, name: mid}
  - concat: [{from: stem.b.conv}, []]
  - name: body
    layers:
      - conv2d: {out: 8, kernel: 1, name: squeeze}
      - residual: [conv2d: {out: 8, kernel: 3, padding: 1, name: c2}]
        inline: true
  - add: [{from: stem.a, layers: [conv2d: {out: 8, kernel: 1, name: proj}, relu]}, [], {from: mid}]
    name: join
  - multiply: [[], {from: body.1}]
  - global_avgpool2d
  - linear: 4
"""


def _spec_path(tmp_path: Path, name: str) -> Path:
    if name == "skips":
        path = tmp_path / "skips.yaml"
        path.write_text(SKIPS, encoding="utf-8")
        return path
    return Path(__file__).resolve().parent.parent / "specs" / f"{name}.yaml"


def _load_generated(source: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(f"generated_{source.stem}", source)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["unet", "unet-shapes", "skips"])
def test_a_specs_generated_source_with_skip_connections_imports_back(tmp_path, name):
    """Generated modules share a store of kept outputs (``share_kept``); the import follows it: each read
    of the store is a ``from:`` branch naming the path of what was kept there. The same parameters, buffers,
    state_dict keys and shapes, layer shapes, skip connections, and outputs equal to the generated model's."""
    from archcalc.backends.plan import kept

    spec = _spec_path(tmp_path, name)
    source, out = tmp_path / "m.py", tmp_path / "back.yaml"
    runner = CliRunner()
    assert runner.invoke(main, ["export", str(spec), "--to", "torch", "-o", str(source)]).exit_code == 0
    cls, shape = _class_and_input(source.read_text(encoding="utf-8"))
    result = runner.invoke(main, ["import", f"{source}:{cls}", "--input", shape, "-o", str(out)])
    assert result.exit_code == 0, result.output
    first, back = archcalc.load(str(spec)), archcalc.load(str(out))
    assert_same_spec(first, back)
    assert kept(back.graph) == kept(first.graph) and kept(first.graph)
    torch.manual_seed(0)
    generated = _load_generated(source).build_model().eval()
    ours = archcalc.to_torch(back).eval()
    assert str(ours.load_state_dict(generated.state_dict(), strict=True)) == "<All keys matched successfully>"
    x = torch.randn(2, *first.graph.input_shape[:1], 32, 32) if name != "skips" else torch.randn(2, 3, 16, 16)
    with torch.no_grad():
        assert torch.equal(ours(x), generated(x))


SHARE_KEPT = '''
def share_kept(model: nn.Module) -> None:
    """Give every module of model one store for the outputs that a later
    branch reads (a skip connection: its from:)."""
    kept: dict = {}
    for module in model.modules():
        module.kept = kept
'''


@pytest.mark.parametrize(("old", "new", "reader", "says"), [
    # share_kept with other code (it keeps its store fresh per call): the user's store, which fx cannot follow
    ("        module.kept = kept\n", "        module.kept = kept\n        kept.clear()\n", "Concat2",
     "reads a store of outputs ('kept') that is not the one archcalc's generated source shares"),
    # a read that starts no branch of a merge
    ('return torch.cat([self.kept["down1"], x], dim=1)', 'return torch.relu(self.kept["down1"])', "Concat",
     "reads the output kept under 'down1' other than as a branch of a merge"),
    # a read of a slot nothing keeps
    ('        self.kept["down1"] = x\n', "", "Concat", "reads the output kept under 'down1', which no module keeps"),
    # a kept value no layer or construct computes (a copy the forward never uses)
    ('        self.kept["down1"] = x\n', '        self.kept["down1"] = x.contiguous()\n', "Concat",
     "reads the output kept under 'down1', which is the output of no layer or construct"),
    # a keep of a copy on the forward's chain: no layer or construct computes what is kept
    ('        x = self.down1(x)\n', '        x = self.down1(x).contiguous()\n', "UnetShapes",
     "keeps under 'down1' an output that no layer or construct of its own computes"),
    # a merge of kept outputs only
    ('return torch.cat([self.kept["down1"], x], dim=1)',
     'return torch.cat([self.kept["down1"], self.kept["down1"]], dim=1)', "Concat", "merges only outputs kept earlier"),
])
def test_a_store_the_import_cannot_follow_is_refused_where_it_is_read(tmp_path, old, new, reader, says):
    """Generated source edited by hand: what a spec's from: cannot say is located at the forward of the module
    that reads (or keeps) it (``reader``), nothing written."""
    spec = Path(__file__).resolve().parent.parent / "specs" / "unet-shapes.yaml"
    source, out = tmp_path / "m.py", tmp_path / "back.yaml"
    assert CliRunner().invoke(main, ["export", str(spec), "--to", "torch", "-o", str(source)]).exit_code == 0
    text = source.read_text(encoding="utf-8")
    assert SHARE_KEPT in text and text.count(old) == 1
    source.write_text(text.replace(old, new), encoding="utf-8")
    cls, shape = _class_and_input(text)
    lines = text.replace(old, new).splitlines()
    at = next(i for i, text in enumerate(lines) if text.startswith(f"class {reader}("))
    line = lines.index("    def forward(self, x: torch.Tensor) -> torch.Tensor:", at) + 1
    result = CliRunner().invoke(main, ["import", f"{source}:{cls}", "--input", shape, "-o", str(out)])
    assert result.exit_code == 2 and f"{source}:{line}:1: error: archcalc_user_model.{reader}: {says}" in \
        result.output, result.output
    assert not out.exists()


def test_a_users_own_store_named_kept_is_traced_as_the_users(tmp_path):
    """A dict named ``kept`` that is not generated source's shared store (no share_kept of archcalc's) is the
    user's: the forward that fills it is traced as it is, and nothing in it becomes a from: branch."""
    path = write(tmp_path, """\
        import torch
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.a = nn.Conv2d(3, 4, 3, padding=1)
                self.b = nn.Conv2d(4, 4, 1)
                self.kept = {}

            def forward(self, x):
                x = self.a(x)
                self.kept["a"] = x
                return torch.cat([x, self.b(x)], dim=1)
        """)
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "3,8,8")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "from:" not in text and "concat:" in text
    assert archcalc.load(str(out)).trainable_params == 3 * 4 * 9 + 4 + 4 * 4 + 4


def test_a_kept_output_reshaped_by_its_sizes_is_a_from_branch_with_the_reshape(tmp_path):
    """A read of the store reshaped by sizes the forward reads (``.view(x.size(0), …)``): the sizes come from
    one fake run of the model, the store's kept outputs included, and the reshape is the from: branch's layer."""
    spec = Path(__file__).resolve().parent.parent / "specs" / "unet-shapes.yaml"
    source, out = tmp_path / "m.py", tmp_path / "back.yaml"
    assert CliRunner().invoke(main, ["export", str(spec), "--to", "torch", "-o", str(source)]).exit_code == 0
    text = source.read_text(encoding="utf-8")
    old = 'return torch.cat([self.kept["down1"], x], dim=1)'
    source.write_text(text.replace(old, 'return torch.cat([self.kept["down1"].view(x.size(0), -1, x.size(2), '
                                        'x.size(3)), x], dim=1)'), encoding="utf-8")
    cls, shape = _class_and_input(text)
    result = CliRunner().invoke(main, ["import", f"{source}:{cls}", "--input", shape, "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert "- from: down1\n            layers:\n              - reshape: [32, 'in_shape[1]', 'in_shape[2]']" in \
        out.read_text(encoding="utf-8")
    first, back = archcalc.load(str(spec)), archcalc.load(str(out))
    assert (back.trainable_params, back.buffers, back.output_shape) == \
        (first.trainable_params, first.buffers, first.output_shape)


def test_base_belongs_to_a_config_json_and_is_refused_elsewhere(tmp_path):
    path = write(tmp_path, MODEL)
    code, output, out = imported(tmp_path, f"{path}:Net", "--base", "--input", "3,32,32")
    assert code == 2 and "--base picks a Hugging Face config.json's base model" in output and not out.exists()


def test_a_3d_network_with_batch_norm_imports_and_round_trips(tmp_path):
    """nn.BatchNorm3d imports as batchnorm3d: a 3-D U-Net's or a video network's normalisation."""
    spec = tmp_path / "v.yaml"
    spec.write_text("name: v\ninput: [2, 4, 8, 8]\nlayers:\n  - conv3d: {out: 4, kernel: 3, padding: 1, bias: false}\n"
                    "  - batchnorm3d\n  - relu\n  - global_avgpool3d\n  - linear: 3\n", encoding="utf-8")
    out = round_trip(spec, tmp_path)
    assert "batchnorm3d" in out.read_text(encoding="utf-8")
    assert_same_spec(archcalc.load(str(spec)), archcalc.load(str(out)))


COPY_PAD_MODEL = """\
import torch
from torch import nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1), nn.Conv2d(3, 4, 3), nn.ReplicationPad2d((1, 0, 2, 1)),
            nn.Conv2d(4, 4, 3, padding=1, padding_mode="circular"), nn.CircularPad2d((0, 1, 1, 0)),
            nn.Conv2d(4, 4, 3, padding=1, padding_mode="reflect"),
            nn.Conv2d(4, 2, 3, padding=2, padding_mode="replicate"))
        self.seq = nn.Sequential(nn.ReflectionPad1d((2, 1)), nn.Conv1d(2, 2, 3, padding=1, padding_mode="reflect"))
        self.head = nn.Linear(2 * 147, 3)

    def forward(self, x):
        x = F.pad(self.body(x), (1, 1, 0, 0), mode="circular")
        x = self.seq(x.flatten(2))
        return self.head(torch.flatten(x, 1))
"""


def test_reflection_replication_and_circular_padding_import_as_pad_modes_and_round_trip(tmp_path):
    """nn.ReflectionPad*d, nn.ReplicationPad*d, nn.CircularPad*d and F.pad's modes → pad with that mode and
    torch's amounts; a convolution's padding_mode → conv's padding_mode. The import checks the spec's outputs
    against the model's, and the spec's torch export imports back to the same spec."""
    path = write(tmp_path, COPY_PAD_MODEL)
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "3,6,6")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    for expected in ("{padding: [1, 1, 1, 1], mode: reflect}", "{padding: [1, 0, 2, 1], mode: replicate}",
                     "padding_mode: circular", "{padding: [0, 1, 1, 0], mode: circular}", "padding_mode: reflect",
                     "padding_mode: replicate", "{padding: [1, 1, 0, 0], mode: circular}",
                     "{padding: [2, 1], mode: reflect}"):
        assert expected in text, (expected, text)
    spec = archcalc.load(str(out))
    assert [(n.kind, n.out_shape) for n in spec.layers][:8] == [
        ("pad", (3, 8, 8)), ("conv2d", (4, 6, 6)), ("pad", (4, 9, 7)), ("conv2d", (4, 9, 7)), ("pad", (4, 10, 8)),
        ("conv2d", (4, 10, 8)), ("conv2d", (2, 12, 10)), ("pad", (2, 12, 12))]
    (tmp_path / "again").mkdir()
    back = round_trip(out, tmp_path / "again")
    assert_same_spec(spec, archcalc.load(str(back)))


PAD_MODEL = """\
import torch
from torch import nn
import torch.nn.functional as F


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(4, 8, 3), nn.ZeroPad2d((1, 0, 2, 1)), nn.GLU(dim=1),
                                  nn.ConstantPad1d((0, 1), 0.5), nn.GLU())
        self.head = nn.Linear(4 * 7 * 3, 3)

    def forward(self, x):
        x = F.glu(F.pad(self.body(x), (1, 2), value=-1.0), dim=-1)
        return self.head(torch.flatten(x, 1))
"""


def test_constant_pads_and_glu_import_and_round_trip(tmp_path):
    """nn.ZeroPad2d, nn.ConstantPad1d and F.pad (constant) → pad with torch's amounts as they are; nn.GLU and
    F.glu → glu with the axis counted after the batch (dim=1 → 0); the spec's torch export (nn.ZeroPad2d,
    nn.ConstantPad1d, nn.GLU) imports back to the same spec."""
    path = write(tmp_path, PAD_MODEL)
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "4,6,6")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "pad: [1, 0, 2, 1]" in text and "glu: 0" in text and "value: 0.5" in text and "value: -1.0" in text, text
    spec = archcalc.load(str(out))
    assert [(n.kind, n.out_shape) for n in spec.layers][:7] == [
        ("conv2d", (8, 4, 4)), ("pad", (8, 7, 5)), ("glu", (4, 7, 5)), ("pad", (4, 7, 6)), ("glu", (4, 7, 3)),
        ("pad", (4, 7, 6)), ("glu", (4, 7, 3))]
    (tmp_path / "again").mkdir()
    back = round_trip(out, tmp_path / "again")
    assert_same_spec(spec, archcalc.load(str(back)))


CHANNEL_NORMS = '''\
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(3, 8, 3, padding=1), nn.InstanceNorm2d(8, affine=True), nn.ReLU(), nn.Dropout2d(0.2),
            nn.Conv2d(8, 6, 3, padding=1, bias=False), nn.InstanceNorm2d(6, track_running_stats=True, momentum=0.2),
            nn.ReLU(), nn.Dropout2d(0.0))
        self.seq = nn.Sequential(nn.Conv1d(6, 4, 3), nn.InstanceNorm1d(4), nn.Dropout1d(0.1))
        self.head = nn.Linear(4, 3)

    def forward(self, x):
        x = self.features(x).flatten(2)
        return self.head(self.seq(x).mean(2))
'''


def test_instance_norm_and_channel_dropout_import_as_their_kinds_and_round_trip_weights(tmp_path):
    """nn.InstanceNorm1d/2d and nn.Dropout1d/2d import as instancenorm1d/2d and dropout1d/2d with torch's arguments
    (affine, track_running_stats and momentum where they differ from torch's defaults; a dropout of 0 left
    out); the model's weights and running statistics load strictly into the spec's module and give its outputs."""
    path = write(tmp_path, CHANNEL_NORMS)
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "3,6,6")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "- instancenorm2d: {affine: true}\n" in text and "- dropout2d: 0.2\n" in text
    assert "- instancenorm2d: {momentum: 0.2, track_running_stats: true}\n" in text
    assert "- instancenorm1d\n" in text and "- dropout1d: 0.1\n" in text and text.count("dropout") == 2
    model = archcalc.load(str(out))
    import importlib.util

    spec = importlib.util.spec_from_file_location("channel_norms", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    torch.manual_seed(0)
    real = module.Net()
    with torch.no_grad():  # weights and running statistics far from their initial values
        for p in [*real.parameters(), *(b for b in real.buffers() if b.is_floating_point())]:
            p.copy_(torch.rand_like(p) + 0.5)
    real.eval()
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert model.trainable_params == sum(p.numel() for p in real.parameters()) == 3 * 8 * 9 + 8 + 2 * 8 + 8 * 6 * 9 \
        + 6 * 4 * 3 + 4 + 4 * 3 + 3
    assert model.buffers == 2 * 6 + 1
    x = torch.randn(2, 3, 6, 6)
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)


def test_functional_channel_dropout_imports_as_its_kind(tmp_path):
    """F.dropout1d/2d/3d in a forward are the channel-dropout kinds, with their rate, as F.dropout is dropout."""
    path = write(tmp_path, '''\
        import torch.nn.functional as F
        from torch import nn


        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.conv = nn.Conv2d(3, 4, 3)
                self.seq = nn.Conv1d(4, 2, 1)

            def forward(self, x):
                x = F.dropout2d(self.conv(x), 0.3, self.training)
                return F.dropout1d(self.seq(x.flatten(2)), p=0.1, training=self.training)
        ''')
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "3,8,8")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "  - dropout2d: 0.3\n" in text and "  - dropout1d: 0.1\n" in text


def test_a_pad_computed_from_the_input_is_refused_and_instance_norms_momentum_none_is_zero(tmp_path):
    """F.pad by amounts the forward computes from x.shape has no fixed spec form: a located error, not an
    internal one; nn.InstanceNorm's momentum=None is torch's 0 (its running statistics never move)."""
    path = write(tmp_path, """\
        import torch.nn.functional as F
        from torch import nn


        class Net(nn.Module):
            def __init__(self, fixed=True):
                super().__init__()
                self.fixed = fixed
                self.conv = nn.Conv1d(3, 4, 3)
                self.norm = nn.InstanceNorm1d(4, momentum=None, track_running_stats=True)

            def forward(self, x):
                return self.norm(self.conv(F.pad(x, (0, 2) if self.fixed else (0, 10 - x.shape[-1]))))
        """)
    code, output, out = imported(tmp_path, f"{path}:Net", "--args", '{"fixed": false}', "--input", "3,8")
    assert code == 2 and not out.exists(), output
    assert f"{path}:5:1: error: archcalc_user_model.Net: F.pad with amounts (or a value) computed in forward" in output
    code, output, out = imported(tmp_path, f"{path}:Net", "--input", "3,8")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "- pad: [0, 2]\n" in text and "instancenorm1d: {momentum: 0.0, track_running_stats: true" in text


def test_gated_units_in_generated_source_import_back(tmp_path):
    """SwiGLU with the gate first (Phi-3's MLP) and GeGLU are written as archcalc's GatedUnit, which reads back
    as the glu it came from."""
    spec = tmp_path / "gated.yaml"
    spec.write_text("input: [6, 16]\nlayers:\n  - linear: 32\n  - glu: {activation: silu, gate: first}\n"
                    "  - linear: 8\n  - glu: {dim: 0, activation: gelu_tanh}\n  - linear: 4\n", encoding="utf-8")
    back = round_trip(spec, tmp_path)
    text = back.read_text(encoding="utf-8")
    assert "glu: {activation: silu, gate: first}" in text and "glu: {dim: 0, activation: gelu_tanh}" in text, text
    assert_same_spec(archcalc.load(str(spec)), archcalc.load(str(back)))


def test_gemmas_attention_and_soft_cap_in_generated_source_import_back(tmp_path):
    """Gemma 3's attention (a window, q and k norms with Gemma's offset, linear rope scaling) and Gemma 2's
    soft caps are kept as options by archcalc's MultiheadAttention and SoftCap, which read back as written."""
    spec = tmp_path / "gemma.yaml"
    spec.write_text("input: [6, 16]\nlayers:\n  - multihead_attention: {heads: 4, kv_heads: 2, head_dim: 6, "
                    "bias: false, causal: true, window: 3, scale: 0.25, softcap: 3.0, rotary: half, "
                    "rotary_factor: 8.0, qk_norm: head, qk_norm_offset: 1.0}\n  - linear: 8\n  - softcap: 5.0\n",
                    encoding="utf-8")
    back = round_trip(spec, tmp_path)
    text = back.read_text(encoding="utf-8")
    assert "window: 3" in text and "softcap: 3.0" in text and "rotary_factor: 8.0" in text, text
    assert "qk_norm_offset: 1.0" in text and "- softcap: 5.0" in text, text
    assert_same_spec(archcalc.load(str(spec)), archcalc.load(str(back)))


TEXT_MODELS = """\
import torch
from torch import nn


class TextClassifier(nn.Module):
    def __init__(self, vocab=500, dim=32, hidden=24, classes=5, take="hidden"):
        super().__init__()
        self.embedding = nn.Embedding(vocab, dim, padding_idx=0)
        self.lstm = nn.LSTM(dim, hidden, num_layers=2, batch_first=True, bidirectional=True, dropout=0.2)
        self.dropout = nn.Dropout(0.3)
        self.fc = nn.Linear(2 * hidden, classes)
        self.take = take

    def forward(self, ids):
        out, (h, c) = self.lstm(self.embedding(ids))
        if self.take == "hidden":
            z = torch.cat((h[-2, :, :], h[-1, :, :]), dim=1)
        else:
            z = out[:, -1, :]
        return self.fc(self.dropout(z))


class CharGRU(nn.Module):
    def __init__(self, vocab=65, dim=16, hidden=48):
        super().__init__()
        self.embed = nn.Embedding(vocab, dim)
        self.gru = nn.GRU(dim, hidden, num_layers=2, batch_first=True)
        self.head = nn.Linear(hidden, vocab)

    def forward(self, x):
        out, _ = self.gru(self.embed(x))
        return self.head(out)


class Elman(nn.Module):
    def __init__(self):
        super().__init__()
        self.rnn = nn.RNN(6, 5, nonlinearity="relu", bias=False, batch_first=True)
        self.fc = nn.Linear(5, 2)

    def forward(self, x):
        _, h = self.rnn(x)
        return self.fc(h.squeeze(0))


class Projected(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(6, 8, num_layers=3, proj_size=4, batch_first=True)

    def forward(self, x):
        _, (h, _) = self.lstm(x)
        return h[-1]
"""


def _user_class(path: Path, name: str) -> type:
    import importlib.util

    spec = importlib.util.spec_from_file_location("text_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return getattr(module, name)


def assert_same_module(out: Path, real, x) -> archcalc.Model:
    """The imported spec is the model: its parameter count, its state dict loaded with strict=True into
    archcalc.to_torch, and the outputs on ``x`` (eval mode)."""
    model = archcalc.load(str(out))
    ours = archcalc.to_torch(model).eval()
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert model.trainable_params == sum(p.numel() for p in real.parameters())
    with torch.no_grad():
        torch.testing.assert_close(ours(x), real(x), atol=1e-5, rtol=1e-5)
    return model


@pytest.mark.parametrize(("take", "output"), [("hidden", "hidden"), ("last", "last")])
def test_a_text_classifier_with_a_bidirectional_lstm_imports_on_token_ids(tmp_path, take, output):
    """Embedding → bidirectional 2-layer LSTM → both directions' final states (or the last step) → Linear: the
    input goes into the embedding, so the model is traced and checked on int64 ids, and the spec reads ``[T]``
    ids of any length; ``--input 40`` is the length."""
    path = write(tmp_path, TEXT_MODELS)
    code, output_text, out = imported(tmp_path, f"{path}:TextClassifier", "--args", f'{{"take": "{take}"}}',
                                      "--input", "40")
    assert code == 0, output_text
    text = out.read_text(encoding="utf-8")
    assert "input: [T]" in text and "symbols: {T: 40}" in text, text
    assert "embedding: {vocab: 500, dim: 32, padding_idx: 0, name: embedding}" in text
    assert f"lstm: {{hidden: 24, num_layers: 2, bidirectional: true, dropout: 0.2, output: {output}, " \
           "name: lstm}" in text, text
    torch.manual_seed(1)
    real = _user_class(path, "TextClassifier")(take=take).eval()
    ids = torch.randint(0, 500, (3, 17))
    model = assert_same_module(out, real, ids)
    assert model.output_shape == (5,) and model.input_ids == 500


CASTS = """\
import torch
from torch import nn


class Bag(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(300, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        h = self.emb(x.long()).float()
        return self.fc(h.mean(dim=1)).to(torch.float32)


class Truncates(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(10, 4)
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(self.emb(x).long().float())


class Doubles(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(4, 2)

    def forward(self, x):
        return self.fc(x).double()
"""


def test_a_cast_to_the_type_a_value_already_has_imports_as_nothing(tmp_path):
    """``x.long()`` of the token ids, ``.float()`` and ``.to(torch.float32)`` of float32 values: common in
    users' forwards, they change no number, so the spec has nothing for them."""
    path = write(tmp_path, CASTS)
    code, output, out = imported(tmp_path, f"{path}:Bag")
    assert code == 0, output
    assert "embedding: {vocab: 300, dim: 16, name: emb}" in out.read_text(encoding="utf-8")
    torch.manual_seed(0)
    assert_same_module(out, _user_class(path, "Bag")().eval(), torch.randint(0, 300, (3, 9)))


@pytest.mark.parametrize(("name", "args", "says"), [
    ("Truncates", (), "call_method 'long'"),  # floats truncated to integers
    ("Doubles", ("--input", "4"), "call_method 'double'"),  # float64's precision
])
def test_a_cast_that_changes_the_numbers_is_refused(tmp_path, name, args, says):
    path = write(tmp_path, CASTS)
    code, output, out = imported(tmp_path, f"{path}:{name}", *args)
    assert code == 2 and says in output and not out.exists(), output


def test_a_char_level_gru_language_model_imports_with_the_default_length(tmp_path):
    """A character model without ``--input``: traced on 32 token ids; a logit per character and position."""
    path = write(tmp_path, TEXT_MODELS)
    code, output, out = imported(tmp_path, f"{path}:CharGRU")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "symbols: {T: 32}" in text and "gru: {hidden: 48, num_layers: 2, name: gru}" in text, text
    torch.manual_seed(2)
    real = _user_class(path, "CharGRU")().eval()
    model = assert_same_module(out, real, torch.randint(0, 65, (2, 50)))
    assert archcalc.load(str(out), T=50).output_shape == (50, 65) and model.input_ids == 65


@pytest.mark.parametrize(("name", "says"), [
    ("Elman", "rnn: {hidden: 5, bias: false, nonlinearity: relu, output: hidden, name: rnn}"),
    ("Projected", "lstm: {hidden: 8, num_layers: 3, proj_size: 4, output: hidden, name: lstm}"),
])
def test_an_rnn_and_a_projected_lstm_on_features_import(tmp_path, name, says):
    """A plain RNN (relu, no biases) whose one state is squeezed, an LSTM with a projection whose last layer's
    state is taken: ``output: hidden``; the input is features, not ids, its length T free."""
    path = write(tmp_path, TEXT_MODELS)
    code, output, out = imported(tmp_path, f"{path}:{name}", "--input", "10,6")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert says in text and "input: [T, 6]\nsymbols: {T: 10}" in text, text  # any length, as the layer reads
    torch.manual_seed(3)
    assert_same_module(out, _user_class(path, name)().eval(), torch.randn(2, 10, 6))


REFUSED_TEXT = """\
import torch
from torch import nn


class M(nn.Module):
    def __init__(self, bi=False, first=True, **kw):
        super().__init__()
        self.emb = nn.Embedding(50, 8, **kw)
        self.gru = nn.GRU(8, 6, num_layers=2, bidirectional=bi, batch_first=first)

    def forward(self, x):
{body}
"""


@pytest.mark.parametrize(("args", "body", "says"), [
    ('{"max_norm": 1.0}', "out, _ = self.gru(self.emb(x))\nreturn out", "max_norm=1 (the rows looked up"),
    ('{"sparse": true}', "out, _ = self.gru(self.emb(x))\nreturn out", "sparse=True (its gradients)"),
    ('{"first": false}', "out, _ = self.gru(self.emb(x))\nreturn out", "batch_first=False"),
    ('{"first": false}', "out, _ = self.gru(self.emb(x).transpose(0, 1))\nreturn out[-1]", "batch_first=False"),
    ('{"bi": true}', "_, h = self.gru(self.emb(x))\nreturn h[-1]", "its backward direction alone"),
    ("{}", "_, h = self.gru(self.emb(x))\nreturn h[0]", "uses h_n[0] of 'gru', an earlier layer's"),
    ("{}", "out, h = self.gru(self.emb(x))\nreturn out[:, -1] + h[-1]", "uses both the output and the final"),
    ("{}", "return self.gru(self.emb(x))", "uses the pair (output, h_n) it returns whole of 'gru'"),
    ("{}", "e = self.emb(x)\nout, _ = self.gru(e, torch.zeros(2, e.shape[0], 6))\nreturn out",
     "calls 'gru' (GRU) with hx="),
])
def test_what_a_text_model_cannot_say_is_refused_and_located(tmp_path, args, body, says):
    path = write(tmp_path, REFUSED_TEXT.replace("{body}", textwrap.indent(body, " " * 8)))
    code, output, out = imported(tmp_path, f"{path}:M", "--args", args, "--input", "12")
    assert code == 2 and says in output, output
    assert "Traceback" not in output and not out.exists()
    assert output.startswith((f"{path}:5:1: error: ", f"{path}:11:1: error: ")), output  # the class, its forward


def test_an_lstm_cell_state_is_refused_where_it_is_used(tmp_path):
    path = write(tmp_path, "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n"
                 "        self.lstm = nn.LSTM(4, 4, batch_first=True)\n\n"
                 "    def forward(self, x):\n        _, (h, c) = self.lstm(x)\n        return c[-1]\n")
    code, output, out = imported(tmp_path, f"{path}:M", "--input", "7,4")
    assert code == 2 and f"{path}:10:" in output and "cell state c_n of 'lstm'" in output, output
    assert not out.exists()


def test_a_recurrent_classifiers_generated_source_imports_back(tmp_path):
    """specs/lstm-classifier.yaml exported to torch (archcalc's LSTM, which gives output[:, -1] itself) and
    imported back: the same spec, on token ids."""
    spec = Path(__file__).resolve().parent.parent / "specs" / "lstm-classifier.yaml"
    small = tmp_path / "small.yaml"
    small.write_text(spec.read_text(encoding="utf-8").replace("V: 10000", "V: 300"), encoding="utf-8")
    source, out = tmp_path / "m.py", tmp_path / "back.yaml"
    runner = CliRunner()
    result = runner.invoke(main, ["export", str(small), "--to", "torch", "--set", "T=12", "-o", str(source)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["import", f"{source}:LstmClassifier", "--input", "12", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert_same_spec(archcalc.load(str(small), T=12), archcalc.load(str(out), T=12))
    assert "output: last" in out.read_text(encoding="utf-8")


MORE_KINDS = """\
import torch
from torch import nn
import torch.nn.functional as F


class Seq1d(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(4, 8, 3, padding=1)
        self.act = nn.PReLU(8)
        self.pool = nn.MaxPool1d(2, dilation=1)
        self.avg = nn.AvgPool1d(3, stride=1, padding=1, count_include_pad=False)
        self.ada = nn.AdaptiveAvgPool1d(4)
        self.clip = nn.Hardtanh(0, 6)
        self.fc = nn.Linear(32, 5)
        self.norm = nn.RMSNorm(5, eps=1e-6)
        self.out = nn.LogSoftmax(dim=-1)

    def forward(self, x):
        x = F.max_pool1d(self.pool(self.act(self.conv(x))), 1)
        x = F.elu(F.avg_pool1d(self.avg(x), 1), 0.5)
        x = self.clip(F.leaky_relu(self.ada(x), 0.2))
        return self.out(self.norm(self.fc(torch.flatten(F.adaptive_avg_pool1d(x, 4), 1))))


class Vol(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv3d(2, 4, 3, padding=1)
        self.pool = nn.MaxPool3d(2)
        self.avg = nn.AvgPool3d((1, 2, 2))
        self.ada = nn.AdaptiveAvgPool3d((1, 2, 2))
        self.sm = nn.Softmax(dim=1)

    def forward(self, x):
        x = F.softplus(self.avg(self.pool(self.conv(x))), beta=2.0)
        return self.sm(torch.flatten(self.ada(x), 1)).softmax(-1)


class Up(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(3, 16, 3, padding=1)
        self.shuffle = nn.PixelShuffle(2)
        self.up = nn.Upsample(scale_factor=2, mode="bilinear", align_corners=False)
        self.up2 = nn.UpsamplingBilinear2d(scale_factor=2)
        self.prelu = nn.PReLU()

    def forward(self, x):
        x = self.up(self.shuffle(self.conv(x)))
        x = F.interpolate(x, scale_factor=0.5, mode="nearest")
        return F.log_softmax(self.prelu(F.pixel_shuffle(self.up2(x), 2)), dim=1)
"""


@pytest.mark.parametrize(("name", "shape", "says"), [
    ("Seq1d", "4,16", ["prelu: {per_channel: true, name: act}", "maxpool1d: 2",
                       "avgpool1d: {kernel: 3, stride: 1, padding: 1, count_include_pad: false}", "elu: 0.5",
                       "adaptive_avgpool1d: 4", "leaky_relu: 0.2", "relu6", "rmsnorm: {eps: 1.0e-06, name: norm}",
                       "log_softmax: {dim: -1}"]),
    ("Vol", "2,4,8,8", ["maxpool3d: 2", "avgpool3d: [1, 2, 2]", "softplus: 2.0", "adaptive_avgpool3d: [1, 2, 2]",
                        "  - softmax\n", "softmax: {dim: -1}"]),
    ("Up", "3,8,8", ["pixel_shuffle: 2", "upsample: {scale: 2, mode: bilinear}", "upsample: 0.5",
                     "upsample: {scale: 2, mode: bilinear, align_corners: true}", "prelu: {name: prelu}",
                     "  - log_softmax"]),
])
def test_1d_and_3d_pools_softmax_upsampling_pixel_shuffle_prelu_and_rms_norm_import(tmp_path, name, shape, says):
    """The kinds archcalc has beyond the image classifiers' (modules and their functional forms): 1-D and 3-D
    pools, softmax and log-softmax over an axis, upsampling (Upsample, UpsamplingBilinear2d, F.interpolate),
    pixel shuffle, PReLU, Hardtanh(0, 6), ELU, leaky ReLU and softplus with their arguments, RMSNorm."""
    path = write(tmp_path, MORE_KINDS)
    code, output, out = imported(tmp_path, f"{path}:{name}", "--input", shape)
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert all(s in text for s in says), text
    torch.manual_seed(4)
    real = _user_class(path, name)().eval()
    assert_same_module(out, real, torch.randn(2, *map(int, shape.split(","))))


@pytest.mark.parametrize(("layer", "says"), [
    ("nn.Softmax()", "Softmax over an implicit dim (None) has no spec form"),
    ("nn.Hardtanh(-1, 1)", "Hardtanh(-1, 1) has no spec form"),
    ("nn.Upsample(scale_factor=2, mode='bicubic')", "interpolation mode 'bicubic' has no spec form"),
    ("nn.AvgPool3d(2, divisor_override=3)", "divisor_override has no spec form"),
])
def test_settings_of_those_layers_archcalc_lacks_are_refused(tmp_path, layer, says):
    path = write(tmp_path, "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                 f"    def __init__(self):\n        super().__init__()\n        self.a = {layer}\n\n"
                 "    def forward(self, x):\n        return self.a(x)\n")
    code, output, out = imported(tmp_path, f"{path}:M", "--input", "4,8,8,8")
    assert code == 2 and says in output and output.startswith(f"{path}:5:1: error: "), output  # the class
    assert "Traceback" not in output and not out.exists()


def test_a_sequence_models_generated_source_imports_back_with_every_argument(tmp_path):
    """archcalc's ScaledEmbedding, OffsetRMSNorm, Conv1D (GPT-2's [in, out] weight), GRU, LSTM and RNN (which give
    the output they are built to give) read back with every argument, and the input as token ids."""
    layers = ["embedding: {vocab: 50, dim: 16, padding_idx: 1, scale: 4.0}", "rmsnorm: {eps: 1.0e-06, offset: 1.0}",
              "rmsnorm", "linear: {out: 20, bias: false, transposed: true}",
              "gru: {hidden: 8, num_layers: 2, bidirectional: true}", "lstm: {hidden: 6, proj_size: 3}",
              "rnn: {hidden: 4, nonlinearity: relu, output: hidden}", "linear: 3", "log_softmax"]
    spec = tmp_path / "seq.yaml"
    spec.write_text("input: [12]\nlayers:\n" + "".join(f"  - {layer}\n" for layer in layers), encoding="utf-8")
    back = round_trip(spec, tmp_path)
    first, second = archcalc.load(str(spec)), archcalc.load(str(back), T=12)
    assert_same_spec(first, second)
    assert [n.layer.config() for n in second.layers] == [n.layer.config() for n in first.layers]
    assert second.input_ids == 50


def test_an_embedding_times_a_constant_is_a_scaled_embedding(tmp_path):
    """``self.tok(x) * math.sqrt(d)``, the scaled embedding of "Attention Is All You Need": ``scale``."""
    path = write(tmp_path, "import math\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n        self.tok = nn.Embedding(100, 12)\n"
                 "        self.norm = nn.LayerNorm(12)\n\n"
                 "    def forward(self, x):\n        return self.norm(self.tok(x) * math.sqrt(12))\n")
    code, output, out = imported(tmp_path, f"{path}:M", "--input", "10")
    assert code == 0, output
    assert "embedding: {vocab: 100, dim: 12, scale: 3.46410161514, name: tok}" in out.read_text(encoding="utf-8")
    torch.manual_seed(5)
    assert_same_module(out, _user_class(path, "M")().eval(), torch.randint(0, 100, (2, 7)))


POSITIONS = """\
import torch
from torch import nn


class Tiny(nn.Module):
    def __init__(self, vocab=100, d=16, ctx=64):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = nn.Embedding(ctx, d)
        self.ln = nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab, bias=False)

    def forward(self, x):
        h = self.tok(x) + self.pos(torch.arange(x.size(1), device=x.device))
        return self.head(self.ln(h))


class Later(nn.Module):
    def __init__(self, vocab=100, d=16, ctx=64):
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.fc = nn.Linear(d, d)
        self.pos = nn.Embedding(ctx, d)

    def forward(self, x):
        h = self.fc(self.tok(x))
        return h + self.pos(torch.arange(h.shape[1])).unsqueeze(0)
"""


@pytest.mark.parametrize(("name", "says"), [
    ("Tiny", "  - add:\n      - embedding: {vocab: 100, dim: 16, name: tok}\n"
             "      - pos_embedding: {positions: 64, dim: 16, name: pos}\n"),
    ("Later", "  - residual:\n      - pos_embedding: {positions: 64, dim: 16, name: pos}\n"),
])
def test_learned_positions_from_an_arange_are_a_pos_embedding(tmp_path, name, says):
    """``self.tok(x) + self.pos(torch.arange(x.size(1)))``: GPT-2's sum of token and position embeddings; added to
    another sequence, a residual branch (the positions read its length alone)."""
    path = write(tmp_path, POSITIONS)
    code, output, out = imported(tmp_path, f"{path}:{name}", "--input", "10")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert says in text and "input: [T]" in text, text
    torch.manual_seed(6)
    assert_same_module(out, _user_class(path, name)().eval(), torch.randint(0, 100, (2, 30)))


def test_generated_roberta_positions_import_back(tmp_path):
    """archcalc's PositionEmbedding with padding_idx (RoBERTa's rows counted from the ids) reads back with it."""
    spec = tmp_path / "padded.yaml"
    spec.write_text("input: [12]\nlayers:\n"
                    "  - add: [[embedding: {vocab: 50, dim: 16, padding_idx: 1, name: tok}], "
                    "[pos_embedding: {positions: 20, dim: 16, padding_idx: 1, name: pos}]]\n"
                    "  - linear: 3\n", encoding="utf-8")
    first, second = archcalc.load(str(spec)), archcalc.load(str(round_trip(spec, tmp_path)))
    assert_same_spec(first, second)
    assert [n.layer.config() for n in second.layers] == [n.layer.config() for n in first.layers]
    assert second.layers[1].layer.padding_idx == 1


def test_generated_position_embeddings_import_back_and_a_length_up_to_the_table_is_free(tmp_path):
    """archcalc's PositionEmbedding (rows 0 … T−1, or row 0 everywhere: BERT's token types) reads back; a
    length as long as the table of positions is the symbol T's default (a longer one the model refuses)."""
    spec = tmp_path / "gpt.yaml"
    spec.write_text("input: [32]\nlayers:\n"
                    "  - add: [[embedding: {vocab: 50, dim: 16, name: wte}], "
                    "[pos_embedding: {positions: 32, dim: 16, name: wpe}]]\n"
                    "  - add: [[], [pos_embedding: {positions: 2, dim: 16, index: first, name: types}]]\n"
                    "  - linear: 3\n", encoding="utf-8")
    back = round_trip(spec, tmp_path)
    assert "input: [T]\nsymbols: {T: 32}" in back.read_text(encoding="utf-8")
    first, second = archcalc.load(str(spec)), archcalc.load(str(back))
    assert_same_spec(first, second)
    assert [n.layer.config() for n in second.layers] == [n.layer.config() for n in first.layers]


def test_a_tensor_times_or_over_a_number_is_a_scale(tmp_path):
    """``x * c``, ``c * x`` and ``x / c`` by a Python number (Granite's multipliers, a divided logit): ``scale``,
    x / c as the factor 1 / c; a product of two tensors stays a merge, and a rounding division no scale. The
    generated source's ``Scale`` reads back as the kind."""
    path = write(tmp_path, "import torch\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n        self.a = nn.Linear(8, 8)\n"
                 "        self.b = nn.Linear(8, 4)\n\n"
                 "    def forward(self, x):\n        y = self.a(x) * 0.5\n        y = -2 * torch.tanh(y)\n"
                 "        return self.b(y) / 8\n")
    code, output, out = imported(tmp_path, f"{path}:M", "--input", "8")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "  - scale: 0.5\n  - tanh\n  - scale: -2.0\n" in text and text.endswith("  - scale: 0.125\n"), text
    torch.manual_seed(5)
    assert_same_module(out, _user_class(path, "M")().eval(), torch.randn(3, 8))
    floor = write(tmp_path, "import torch\nfrom torch import nn\n\n\nclass F(nn.Module):\n"
                  "    def forward(self, x):\n        return torch.div(x, 2, rounding_mode='floor')\n")
    code, output, _ = imported(tmp_path, f"{floor}:F", "--input", "8")
    assert code == 2 and "Traceback" not in output

    spec = tmp_path / "scaled.yaml"
    spec.write_text("input: [6]\nlayers:\n  - linear: 4\n  - scale: 0.22\n  - scale: {factor: -8.0}\n",
                    encoding="utf-8")
    back = round_trip(spec, tmp_path)
    first, second = archcalc.load(str(spec)), archcalc.load(str(back))
    assert_same_spec(first, second)
    assert [n.layer.config() for n in second.layers] == [n.layer.config() for n in first.layers]


def test_a_tensor_times_a_numpy_number_is_a_scale(tmp_path):
    """``self.s = np.sqrt(d)`` then ``x * self.s`` (hand-written attention's scale): a NumPy float64 is a number
    too (the review found it refused as a call archcalc cannot express); a factor that overflows is no scale."""
    path = write(tmp_path, "import numpy as np\nfrom torch import nn\n\n\nclass M(nn.Module):\n"
                 "    def __init__(self):\n        super().__init__()\n        self.l = nn.Linear(8, 8)\n"
                 "        self.s = np.sqrt(8)\n\n    def forward(self, x):\n        return self.l(x) * self.s\n")
    code, output, out = imported(tmp_path, f"{path}:M", "--input", "8")
    assert code == 0, output
    assert out.read_text(encoding="utf-8").endswith("  - scale: 2.82842712475\n")
    torch.manual_seed(5)
    assert_same_module(out, _user_class(path, "M")().eval(), torch.randn(3, 8))
    tiny = write(tmp_path, "from torch import nn\n\n\nclass T(nn.Module):\n    def __init__(self):\n"
                 "        super().__init__()\n        self.l = nn.Linear(8, 8)\n\n"
                 "    def forward(self, x):\n        return self.l(x) / 1e-320\n")
    code, output, _ = imported(tmp_path, f"{tiny}:T", "--input", "8")
    assert code == 2 and "calls call_function 'truediv', which archcalc cannot express" in output
