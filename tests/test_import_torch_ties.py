"""``archcalc import model.py:Class`` of models that share a parameter between modules, which torch counts once
(``model.parameters()`` gives a shared tensor once): a tied weight (word_language_model's decoder, nanoGPT's
``lm_head``) is the spec's ``tie:``, and so is a second call of a bias-free linear layer; the spec then counts
what torch counts, and the model's weights load into ``archcalc.to_torch(spec)`` with equal outputs. Sharing a
spec cannot say (a bias, a convolution's weight, a module of several layers called twice) is refused, located,
rather than counted twice. Also: token ids cast to int32 (``self.emb(x.int())``) are ids."""

from __future__ import annotations

import importlib.util
import json
import textwrap
from pathlib import Path

import pytest
from click.testing import CliRunner

import archcalc
from archcalc.cli import main

torch = pytest.importorskip("torch")

MODELS = '''\
import torch
from torch import nn
import torch.nn.functional as F


class RNNModel(nn.Module):
    """pytorch/examples' word_language_model/model.py, batch first and with the state left to the layer (the
    import takes one input and batch-first layers); the rest as the example writes it."""

    def __init__(self, rnn_type="LSTM", ntoken=120, ninp=24, nhid=24, nlayers=2, dropout=0.5, tie_weights=True):
        super().__init__()
        self.ntoken = ntoken
        self.drop = nn.Dropout(dropout)
        self.encoder = nn.Embedding(ntoken, ninp)
        self.rnn = getattr(nn, rnn_type)(ninp, nhid, nlayers, dropout=dropout, batch_first=True)
        self.decoder = nn.Linear(nhid, ntoken)
        if tie_weights:
            if nhid != ninp:
                raise ValueError("When using the tied flag, nhid must be equal to emsize")
            self.decoder.weight = self.encoder.weight
        self.init_weights()

    def init_weights(self):
        initrange = 0.1
        nn.init.uniform_(self.encoder.weight, -initrange, initrange)
        nn.init.zeros_(self.decoder.bias)
        nn.init.uniform_(self.decoder.weight, -initrange, initrange)

    def forward(self, input):
        emb = self.drop(self.encoder(input))
        output, _ = self.rnn(emb)
        output = self.drop(output)
        decoded = self.decoder(output)
        return F.log_softmax(decoded, dim=-1)


class Block(nn.Module):
    def __init__(self, d, heads):
        super().__init__()
        self.ln_1 = nn.LayerNorm(d)
        self.attn = nn.MultiheadAttention(d, heads, batch_first=True)
        self.ln_2 = nn.LayerNorm(d)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x):
        h = self.ln_1(x)
        x = x + self.attn(h, h, h, need_weights=False)[0]
        return x + self.mlp(self.ln_2(x))


class GPT(nn.Module):
    """nanoGPT's layout and tie: the token table is the head's weight (``wte.weight = lm_head.weight``)."""

    def __init__(self, vocab=100, block_size=16, d=32, heads=4, layers=2):
        super().__init__()
        self.transformer = nn.ModuleDict(dict(
            wte=nn.Embedding(vocab, d),
            wpe=nn.Embedding(block_size, d),
            drop=nn.Dropout(0.1),
            h=nn.ModuleList([Block(d, heads) for _ in range(layers)]),
            ln_f=nn.LayerNorm(d),
        ))
        self.lm_head = nn.Linear(d, vocab, bias=False)
        self.transformer.wte.weight = self.lm_head.weight

    def forward(self, idx):
        t = idx.size(1)
        pos = torch.arange(0, t, dtype=torch.long, device=idx.device)
        x = self.transformer.drop(self.transformer.wte(idx) + self.transformer.wpe(pos))
        for block in self.transformer.h:
            x = block(x)
        return self.lm_head(self.transformer.ln_f(x))


class Twice(nn.Module):
    def __init__(self):
        super().__init__()
        self.inp = nn.Linear(8, 16)
        self.mix = nn.Linear(16, 16, bias=False)
        self.out = nn.Linear(16, 3)

    def forward(self, x):
        return self.out(self.mix(torch.relu(self.mix(torch.relu(self.inp(x))))))


class Aliased(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(6, 6, bias=False)
        self.b = self.a

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


class TiedTwice(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4, bias=False)
        self.b = nn.Linear(4, 4, bias=False)
        self.b.weight = self.a.weight

    def forward(self, x):
        return self.b(torch.tanh(self.b(self.a(x))))


class IntIds(nn.Module):
    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(300, 16)
        self.fc = nn.Linear(16, 4)

    def forward(self, x):
        return self.fc(self.emb(x.int()).mean(dim=1))
'''


def _models(tmp_path: Path) -> tuple[Path, object]:
    path = tmp_path / "models.py"
    path.write_text(MODELS, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("tied_models", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


def _import(tmp_path: Path, source: str, *extra: str) -> tuple[int, str, Path]:
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", source, "-o", str(out), *extra])
    return result.exit_code, result.output, out


def _params(out: Path) -> dict:
    result = CliRunner().invoke(main, ["params", str(out), "--format", "json"])
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def _same_outputs(ours, real, x) -> None:
    with torch.no_grad():
        torch.testing.assert_close(ours.eval()(x), real.eval()(x), atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize(("rnn_type", "tied", "count"), [
    ("LSTM", True, 12_600), ("LSTM", False, 15_480), ("GRU", True, 10_200),
])
def test_word_language_models_tied_decoder_is_counted_once(tmp_path, rnn_type, tied, count):
    """``self.decoder.weight = self.encoder.weight``: the decoder (with its own bias) ties its weight to the
    encoder's table, so ``archcalc params`` gives torch's count (the table once) and the model's state dict, which
    names the table twice, loads with strict=True."""
    path, models = _models(tmp_path)
    code, output, out = _import(tmp_path, f"{path}:RNNModel", "--input", "20", "--args",
                                json.dumps({"rnn_type": rnn_type, "tie_weights": tied}))
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert ("linear: {out: 120, tie: encoder, name: decoder}" in text) == tied, text
    torch.manual_seed(0)
    real = models.RNNModel(rnn_type=rnn_type, tie_weights=tied)
    assert sum(p.numel() for p in real.parameters()) == count  # torch's own count, the table once when tied
    assert _params(out)["total_params"] == count
    ours = archcalc.to_torch(archcalc.load(str(out)))
    assert (ours.decoder.weight is ours.encoder.weight) == tied
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    assert sum(p.numel() for p in ours.parameters()) == count
    _same_outputs(ours, real, torch.randint(0, 120, (3, 11)))


def test_a_nanogpt_tied_head_is_counted_once(tmp_path):
    """nanoGPT ties the other way round (the table is the head's weight): the spec's owner is the first name
    torch registers, ``transformer.wte``, and ``lm_head`` ties to it; positions from nanoGPT's
    ``torch.arange(0, t, dtype=torch.long, device=…)``."""
    path, models = _models(tmp_path)
    code, output, out = _import(tmp_path, f"{path}:GPT", "--input", "16")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "linear: {out: 100, bias: false, tie: transformer.wte, name: lm_head}" in text, text
    assert "pos_embedding: {positions: 16, dim: 32, name: transformer.wpe}" in text, text
    torch.manual_seed(0)
    real = models.GPT()
    assert sum(p.numel() for p in real.parameters()) == 29_184
    assert _params(out)["total_params"] == 29_184  # 32,384 counted twice
    ours = archcalc.to_torch(archcalc.load(str(out)))
    assert ours.lm_head.weight is ours.get_submodule("transformer.wte").weight
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    _same_outputs(ours, real, torch.randint(0, 100, (2, 16)))


def test_a_bias_free_linear_called_twice_is_a_second_layer_tied_to_the_first(tmp_path):
    """``self.mix`` called twice: torch counts its weight once; the spec's second call is ``mix_2``, tied to
    ``mix``. The model's state dict has no ``mix_2.weight``, so it loads with strict=False, that key alone
    missing (and set, being ``mix.weight``); the spec's header says so."""
    path, models = _models(tmp_path)
    code, output, out = _import(tmp_path, f"{path}:Twice", "--input", "8")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "  - linear: {out: 16, bias: false, name: mix}\n  - relu\n" \
           "  - linear: {out: 16, bias: false, tie: mix, name: mix_2}\n" in text, text
    head = [line for line in text.splitlines() if line.startswith("#")]
    assert all(len(line) <= 100 for line in head), head
    assert " ".join(line[2:] for line in head) == (
        f"Imported by `archcalc import {path}:Twice`: the layer names are the model's, so its state dict loads into "
        "`archcalc.to_torch(spec)` with strict=False, which leaves out only mix_2.weight (= mix.weight): the second "
        "name of the weight of a module called twice, which the spec ties to the first."), head
    torch.manual_seed(0)
    real = models.Twice()
    assert sum(p.numel() for p in real.parameters()) == _params(out)["total_params"] == 451
    ours = archcalc.to_torch(archcalc.load(str(out)))
    result = ours.load_state_dict(real.state_dict(), strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (["mix_2.weight"], [])
    assert ours.mix_2.weight is ours.mix.weight
    _same_outputs(ours, real, torch.randn(4, 8))


def test_a_module_held_under_two_names_takes_the_second_name_for_its_second_call(tmp_path):
    """``self.b = self.a``: torch's state dict names the weight ``a.weight`` and ``b.weight``; so does the
    spec's module, its second call's layer named ``b``, and the state dict loads with strict=True."""
    path, models = _models(tmp_path)
    code, output, out = _import(tmp_path, f"{path}:Aliased", "--input", "6")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "linear: {out: 6, bias: false, tie: a, name: b}" in text and "strict=True" in text, text
    torch.manual_seed(0)
    real = models.Aliased()
    assert _params(out)["total_params"] == sum(p.numel() for p in real.parameters()) == 36
    ours = archcalc.to_torch(archcalc.load(str(out)))
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    _same_outputs(ours, real, torch.randn(3, 6))


def test_a_tied_specs_generated_source_imports_back_with_its_tie(tmp_path):
    """``archcalc export --to torch`` writes a tie as ``self.lm_head.weight = self.wte.weight``; imported back, that
    is the tie again (counted once; before, the table was counted twice)."""
    spec = tmp_path / "tied.yaml"
    spec.write_text("input: [12]\nlayers:\n  - embedding: {vocab: 50, dim: 16, scale: 4.0, name: wte}\n"
                    "  - layernorm: {name: ln}\n  - linear: {out: 50, name: lm_head, tie: wte}\n", encoding="utf-8")
    source = tmp_path / "m.py"
    result = CliRunner().invoke(main, ["export", str(spec), "--to", "torch", "-o", str(source)])
    assert result.exit_code == 0, result.output
    code, output, out = _import(tmp_path, f"{source}:Tied", "--input", "12")
    assert code == 0, output
    assert "  - linear: {out: 50, tie: wte, name: lm_head}\n" in out.read_text(encoding="utf-8")
    assert _params(out)["total_params"] == _params(spec)["total_params"] == 50 * 16 + 2 * 16 + 50


SHARED_IN_BLOCKS = '''\
import torch
from torch import nn


class Block(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.norm = nn.LayerNorm(d)
        self.proj = nn.Linear(d, d, bias=False)

    def forward(self, x):
        return x + self.proj(torch.relu(self.norm(x)))


class Shared(nn.Module):
    """Every block's projection is the first block's weight; the norms are their own."""

    def __init__(self, d=8, n=3):
        super().__init__()
        self.inp = nn.Linear(4, d)
        self.blocks = nn.Sequential(*[Block(d) for _ in range(n)])
        for b in self.blocks[1:]:
            b.proj.weight = self.blocks[0].proj.weight

    def forward(self, x):
        return self.blocks(self.inp(x))


class Twice(nn.Module):
    def __init__(self, d):
        super().__init__()
        self.mix = nn.Linear(d, d, bias=False)

    def forward(self, x):
        return self.mix(torch.tanh(self.mix(x)))


class Nested(nn.Module):
    def __init__(self, d=8, n=3):
        super().__init__()
        self.blocks = nn.Sequential(*[Twice(d) for _ in range(n)])

    def forward(self, x):
        return self.blocks(x)
'''


@pytest.mark.parametrize(("name", "width", "says", "count", "missing"), [
    ("Shared", 4, "linear: {out: 8, bias: false, tie: blocks.0.proj, name: proj}", 152, []),
    ("Nested", 8, "linear: {out: 8, bias: false, tie: blocks.2.mix, name: mix_2}", 192,
     ["blocks.0.mix_2.weight", "blocks.1.mix_2.weight", "blocks.2.mix_2.weight"]),
])
def test_ties_inside_blocks(tmp_path, name, width, says, count, missing):
    """A weight shared by the blocks of a stack (the tie a block's body in the spec: one path), and a module
    called twice inside each of several blocks (each tied within its own block, so the blocks stay apart)."""
    path = tmp_path / "model.py"
    path.write_text(SHARED_IN_BLOCKS, encoding="utf-8")
    spec = importlib.util.spec_from_file_location("shared_blocks", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    code, output, out = _import(tmp_path, f"{path}:{name}", "--input", str(width))
    assert code == 0, output
    assert says in out.read_text(encoding="utf-8"), out.read_text(encoding="utf-8")
    torch.manual_seed(0)
    real = getattr(module, name)()
    assert _params(out)["total_params"] == sum(p.numel() for p in real.parameters()) == count
    ours = archcalc.to_torch(archcalc.load(str(out)))
    result = ours.load_state_dict(real.state_dict(), strict=False)
    assert (result.missing_keys, result.unexpected_keys) == (missing, [])
    _same_outputs(ours, real, torch.randn(3, width))


def test_a_tied_module_called_twice_ties_both_calls_to_the_owner(tmp_path):
    """``b`` shares ``a``'s weight and is called twice: ``b`` and ``b_2`` both tie to ``a`` (a tie to a layer that
    ties in turn has no owner to count, and the spec refuses it): 16 parameters, torch's count."""
    path, models = _models(tmp_path)
    code, output, out = _import(tmp_path, f"{path}:TiedTwice", "--input", "4")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "linear: {out: 4, bias: false, tie: a, name: b}" in text and \
        "linear: {out: 4, bias: false, tie: a, name: b_2}" in text, text
    torch.manual_seed(0)
    real = models.TiedTwice()
    assert _params(out)["total_params"] == sum(p.numel() for p in real.parameters()) == 16
    ours = archcalc.to_torch(archcalc.load(str(out)))
    assert ours.load_state_dict(real.state_dict(), strict=False).missing_keys == ["b_2.weight"]
    _same_outputs(ours, real, torch.randn(3, 4))


REFUSED = '''\
import torch
from torch import nn


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.gamma = nn.Parameter(torch.ones(4))

    def forward(self, x):
        return x * self.gamma


class Pair(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(4, 4)
        self.b = nn.Linear(4, 4)

    def forward(self, x):
        return self.b(torch.tanh(self.a(x)))


class Net(nn.Module):
    def __init__(self, case="conv"):
        super().__init__()
        self.a = nn.Conv2d(4, 4, 3, padding=1)
        self.b = nn.Conv2d(4, 4, 3, padding=1)
        self.c = nn.Linear(4, 4)
        self.s = Scale()
        self.t = Scale()
        self.pair = Pair()
        self.case = case
        if case == "conv":
            self.b.weight = self.a.weight
        elif case == "bias":
            self.c.bias = self.a.bias
        elif case == "scale":
            self.t.gamma = self.s.gamma
        elif case == "inner":
            self.pair.b.bias = self.pair.a.bias

    def forward(self, x):
        y = self.b(self.a(x)).mean(dim=(2, 3))
        if self.case == "twice":
            return self.c(self.c(y))
        if self.case == "block":
            return self.pair(self.pair(y))
        return self.pair(self.t(self.s(self.c(y))))
'''


@pytest.mark.parametrize(("case", "line", "message", "hint"), [
    ("conv", 24, "archcalc_user_model.Net: 'a.weight' and 'b.weight' are one parameter, which torch counts once; "
     "a spec shares only the weight of a linear layer or an embedding (tie:), and 'a.weight' is a conv2d layer's "
     "weight", "give each module a parameter of its own, or share only linear and embedding weights "
     "(self.head.weight = self.embed.weight)"),
    ("bias", 24, "archcalc_user_model.Net: 'a.bias' and 'c.bias' are one parameter, which torch counts once; a spec "
     "shares only the weight of a linear layer or an embedding (tie:), and 'a.bias' is a bias", None),
    ("scale", 24, "archcalc_user_model.Net: 's.gamma' and 't.gamma' are one parameter, which torch counts once; a "
     "spec shares only the weight of a linear layer or an embedding (tie:), and 's.gamma' is a parameter of "
     "Scale's own", None),
    ("inner", 14, "archcalc_user_model.Pair: 'pair.a.bias' and 'pair.b.bias' are one parameter, which torch "
     "counts once; a spec shares only the weight of a linear layer or an embedding (tie:), and 'pair.a.bias' is "
     "a bias", None),
    ("twice", 43, "archcalc_user_model.Net: calls 'c' (Linear) 2 times, one module's parameters used by each call, "
     "which torch counts once; a spec shares only the weight of a linear layer or an embedding (tie:), and 'c' is "
     "a linear layer with bias beside its weight", "give each call a module of its own (its own parameters), or "
     "share only a linear layer's weight: self.b.weight = self.a.weight"),
    ("block", 43, "archcalc_user_model.Net: calls 'pair' (Pair) 2 times, one module's parameters used by each call, "
     "which torch counts once; a spec shares only the weight of a linear layer or an embedding (tie:), and 'pair' "
     "is a module of several layers", None),
])
def test_sharing_a_spec_cannot_say_is_refused_where_it_is_written(tmp_path, case, line, message, hint):
    """A shared bias, convolution weight or bare parameter, or a module with a bias (or of several layers) called
    twice: counted twice it would be wrong, and a spec ties only a linear layer's or an embedding's weight. The
    error is located at the class that holds both names (its ``forward`` for a second call), exit 2, no file."""
    path = tmp_path / "model.py"
    path.write_text(REFUSED, encoding="utf-8")
    code, output, out = _import(tmp_path, f"{path}:Net", "--input", "4,5,5", "--args", json.dumps({"case": case}))
    assert code == 2, output
    first, *rest = output.splitlines()
    assert first == f"{path}:{line}:1: error: {message}", output
    if hint is not None:
        assert rest == [f"  hint: {hint}"], output
    assert "Traceback" not in output and not out.exists()


def test_the_refusals_fail_without_the_sharing(tmp_path):
    """The same model with nothing shared imports (what the refusals above refuse is the sharing alone)."""
    path = tmp_path / "model.py"
    path.write_text(REFUSED, encoding="utf-8")
    code, output, _ = _import(tmp_path, f"{path}:Net", "--input", "4,5,5", "--args", '{"case": "none"}')
    assert code == 0, output


def test_token_ids_cast_to_int32_are_ids(tmp_path):
    """``self.emb(x.int())``: an embedding takes int32 indices as it takes int64 ones, so the model reads token ids
    and the cast changes no number (before, the cast hid the ids and the import refused ``call_method 'int'``)."""
    path, models = _models(tmp_path)
    code, output, out = _import(tmp_path, f"{path}:IntIds")
    assert code == 0, output
    text = out.read_text(encoding="utf-8")
    assert "input: [T]" in text and "embedding: {vocab: 300, dim: 16, name: emb}" in text, text
    torch.manual_seed(0)
    real = models.IntIds()
    ours = archcalc.to_torch(archcalc.load(str(out)))
    assert str(ours.load_state_dict(real.state_dict(), strict=True)) == "<All keys matched successfully>"
    _same_outputs(ours, real, torch.randint(0, 300, (3, 9)))


@pytest.mark.parametrize("cast", ["x.to(torch.int16).long()", "x.to(torch.bool).long()"])
def test_a_cast_of_token_ids_that_changes_them_is_refused(tmp_path, cast):
    """int16 wraps ids above 32,767 round; bool makes every id above 0 a 1: only int64 and int32 keep every id
    (before, any integer type passed as ids)."""
    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(f"""\
        import torch
        from torch import nn


        class M(nn.Module):
            def __init__(self):
                super().__init__()
                self.emb = nn.Embedding(40000, 4)
                self.gate = nn.Embedding(40000, 4)

            def forward(self, x):
                return self.emb(x) * self.gate({cast})
        """), encoding="utf-8")
    code, output, out = _import(tmp_path, f"{path}:M")
    assert code == 2, output
    assert output.startswith(f"{path}:5:1: error: archcalc_user_model.M: its forward calls call_method 'long', "
                             "which archcalc cannot express"), output
    assert not out.exists()


def test_a_module_never_called_whose_weight_another_uses_is_named_as_such(tmp_path):
    """``self.b.weight = self.a.weight`` with only ``b`` called: 'a' holds no weight of its own, so the refusal says
    it is never called and whose weight it holds, not that the forward never uses its weights (review)."""
    path = tmp_path / "alias.py"
    path.write_text("from torch import nn\n\n\nclass Alias(nn.Module):\n    def __init__(self):\n"
                    "        super().__init__()\n        self.a = nn.Linear(8, 8, bias=False)\n"
                    "        self.b = nn.Linear(8, 8, bias=False)\n        self.b.weight = self.a.weight\n\n"
                    "    def forward(self, x):\n        return self.b(x)\n", encoding="utf-8")
    code, output, out = _import(tmp_path, f"{path}:Alias", "--input", "8")
    assert code == 2 and not out.exists(), output
    assert output.splitlines()[1:] == [
        "  hint: delete 'a' (or call it in forward)"] and "'a' (Linear) is never called, and its weights are another " \
        "module's ('a.weight' is 'b.weight')" in output.splitlines()[0], output
