"""The transformer kinds in the calculator: located errors for every new argument, shapes, params and
MACs as formulas in a free T, the KV cache, receptive fields along T, and weight tying."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.calc.flops import work
from archcalc.calc.memory import kv_values
from archcalc.calc.rf import receptive_fields
from archcalc.errors import SpecError
from tests.conftest import SPECS

SEQ = "input: [T, 64]\nsymbols: {T: 16}\nlayers:\n"


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as raised:
        archcalc.loads(text)
    return raised.value


@pytest.mark.parametrize("layers, where, code, says, hint", [
    ("  - linear: 192\n  - attention: {heads: 3, kv_heads: 2}\n", (5, 37), "attention-mismatch",
     "kv_heads 2 does not divide heads 3", "use a divisor of 3"),
    ("  - linear: 200\n  - attention: 6\n", (5, 16), "attention-mismatch",
     "do not split into q, k and v", "give q, k and v as three branches"),
    ("  - attention:\n      heads: 5\n      branches: [[linear: 64], [linear: 64], [linear: 64]]\n", (6, 18),
     "attention-mismatch", "do not split into 5 heads", "divides 64"),
    ("  - attention:\n      heads: 4\n      kv_heads: 2\n      branches: [[linear: 64], [linear: 64], [linear: 32]]\n",
     (7, 32), "attention-mismatch", "k has 64 features but kv_heads × head_dim is 2×16 = 32",
     "make the k projection give 32 features"),
    ("  - linear: 192\n  - attention: {heads: 2, rotary: half, rotary_dim: 5}\n", (5, 53), "attention-mismatch",
     "5 is odd", "even rotary_dim"),
    ("  - attention: {heads: 2, branches: [[linear: 64], [linear: 64]]}\n", (4, 52), "bad-structure", "got two",
     "attention: [[q], [k], [v]]"),
    ("  - multihead_attention: {heads: 5, causal: true}\n", (4, 34), "attention-mismatch",
     "dim 64 is not divisible by heads 5", "divides 64"),
    ("  - multihead_attention: {heads: 8, kv_heads: 3}\n", (4, 47), "attention-mismatch",
     "kv_heads 3 does not divide heads 8", "divisor of 8"),
    ("  - embedding: {vocab: 10, dim: 4, padding_idx: 10}\n", (4, 49), "bad-argument",
     "padding_idx 10 is not a row of the 10-row table", "0…9, or -1…-10 from the end"),
    ("  - embedding: {vocab: 10, dim: 4, padding_idx: -11}\n", (4, 49), "bad-argument",
     "padding_idx -11 is not a row of the 10-row table", "0…9, or -1…-10 from the end"),
    # RoBERTa's positions from the ids: 16 tokens after padding_idx 1 need rows 2 … 17, 18 rows
    ("  - pos_embedding: {positions: 17, dim: 4, padding_idx: 1}\n", (4, 32), "bad-argument",
     "the sequence has 16 positions, rows 2 … 17 with padding_idx 1, but the table only 17 rows",
     "use positions ≥ 18 (the sequence and padding_idx + 1)"),
    ("  - pos_embedding: {positions: 40, dim: 4, padding_idx: 40}\n", (4, 57), "bad-argument",
     "padding_idx 40 is not a row of the 40-row table", "a row below 40"),
    ("  - pos_embedding: {positions: 40, dim: 4, padding_idx: -1}\n", (4, 57), "bad-argument",
     "'padding_idx' must be an integer ≥ 0, got -1", None),
    ("  - pos_embedding: {positions: 40, dim: 4, index: first, padding_idx: 1}\n", (4, 71), "bad-argument",
     "padding_idx counts positions from the ids; it cannot go with index: first", "remove index: first or "
     "padding_idx"),
    # OPT's offset: 16 tokens from row 2 need rows 2 … 17, 18 rows
    ("  - pos_embedding: {positions: 17, dim: 4, offset: 2}\n", (4, 32), "bad-argument",
     "the sequence has 16 positions, rows 2 … 17 with offset 2, but the table only 17 rows",
     "use positions ≥ 18 (the sequence and the offset)"),
    ("  - pos_embedding: {positions: 40, dim: 4, offset: 40}\n", (4, 52), "bad-argument",
     "offset 40 leaves no row of the 40-row table", "an offset below 40"),
    ("  - pos_embedding: {positions: 40, dim: 4, offset: -2}\n", (4, 52), "bad-argument",
     "'offset' must be an integer ≥ 0, got -2", None),
    ("  - pos_embedding: {positions: 40, dim: 4, padding_idx: 1, offset: 2}\n", (4, 68), "bad-argument",
     "offset cannot go with padding_idx, which counts the rows from the ids", "remove offset or padding_idx"),
    ("  - pos_embedding: {positions: 40, dim: 4, index: first, offset: 2}\n", (4, 66), "bad-argument",
     "offset cannot go with index: first, which reads row 0 alone", "remove offset or index"),
    ("  - embedding: {vocab: 10, dim: 4}\n  - pos_embedding: {positions: 40, add: true, offset: 2}\n", (5, 55),
     "bad-argument",
     "offset cannot go with add: true", "remove offset or add"),
    ("  - embedding: {vocab: 10, dim: 4}\n  - pos_embedding: {positions: 40, dim: 4, padding_idx: 1}\n", (5, 57),
     "bad-input-shape", "padding_idx counts positions from the token ids, so it needs the [T] ids, got [16, 4]",
     "give it the model's input of ids"),
])
def test_new_arguments_have_located_errors(layers, where, code, says, hint):
    text = ("input: [T]\nsymbols: {T: 16}\nlayers:\n" if "embedding" in layers else SEQ) + layers
    e = error(text)
    assert (e.code, (e.loc.line, e.loc.col)) == (code, where), e
    assert says in e.message and (e.hint is None if hint is None else hint in e.hint), e


def test_a_located_error_reaches_the_cli_with_exit_2(run, write):
    spec = write(SEQ + "  - linear: 192\n  - attention: {heads: 3, kv_heads: 2}\n")
    result = run("params", spec)
    assert result.exit_code == 2
    assert result.stderr.startswith(f"{spec}:5:37: error: attention: kv_heads 2 does not divide heads 3")


TIED = "input: [T]\nsymbols: {T: 8}\nlayers:\n  - embedding: {vocab: 50, dim: 16, name: wte}\n"


@pytest.mark.parametrize("head, says, hint", [
    ("  - linear: {out: 50, bias: false, tie: wtx}\n", "'wtx', which names no layer", "did you mean 'wte'"),
    ("  - linear: {out: 40, bias: false, tie: wte}\n", "ties its weight [40, 16] to 'wte', whose weight is [50, 16]",
     "one shape"),
    ("  - linear: {out: 50, bias: false, tie: out}\n", "ties its weight to itself", ""),
    ("  - relu: {name: act}\n  - linear: {out: 50, tie: act}\n", "a relu layer, which has no weight", "embedding"),
])
def test_a_bad_tie_is_a_located_error(head, says, hint):
    text = TIED + head.replace("bias: false, tie: out}", "bias: false, tie: out, name: out}")
    e = error(text)
    assert e.code == "bad-tie" and says in e.message and hint in e.hint, e
    last = text.splitlines()[-1]
    assert e.loc.line == text.count("\n")  # at the tie's value
    assert last[e.loc.col - 1:].startswith(last.split("tie: ")[1][:3])


def test_a_tie_counts_the_weight_once_and_keeps_the_bias():
    model = archcalc.loads(TIED + "  - linear: {out: 50, tie: wte}\n")
    assert model.trainable_params == 50 * 16 + 50
    assert archcalc.loads(TIED + "  - linear: {out: 50}\n").trainable_params == 2 * 50 * 16 + 50


def test_a_tie_is_one_parameter_in_torch():
    module = archcalc.to_torch(archcalc.loads(TIED + "  - linear: {out: 50, tie: wte, name: head}\n"))
    assert module.head.weight is module.wte.weight
    assert sum(p.numel() for p in module.parameters()) == 50 * 16 + 50


def test_numpy_and_onnx_keep_a_tie_as_one_array():
    """A linear layer tied to another: NumPy holds one array (one parameter for the optimizer), ONNX one
    initialiser read by both MatMuls, and both compute what torch computes with the shared weight."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from archcalc.backends.numpy import to_numpy
    from archcalc.backends.onnx import to_onnx

    model = archcalc.loads("input: [16]\nlayers:\n  - linear: {out: 16, name: a}\n  - linear: {out: 16, tie: a}\n")
    net = to_numpy(model, seed=0, dtype="float64")
    assert sum(p.size for p in net.parameters()) == model.trainable_params == 16 * 16 + 2 * 16
    module = archcalc.to_torch(model).eval()
    proto = to_onnx(model, module.state_dict())
    assert [i.name for i in proto.graph.initializer if i.name.endswith("weight")] == ["a.weight"]
    x = np.random.default_rng(0).normal(size=(3, 16))
    with torch.no_grad():
        expected = module(torch.from_numpy(x).float()).numpy()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(["output"], {"input": x.astype(np.float32)})[0], expected, atol=1e-5)
    net.load_state_dict({k: v.double().numpy() for k, v in module.state_dict().items()})
    np.testing.assert_allclose(net.eval().forward(x), expected, atol=1e-5)


def test_gpt2_with_t_free_is_formulas_in_t(run):
    """Shapes, parameters and MACs with the sequence length free: T², from attention, and T."""
    result = run("flops", SPECS / "gpt2.yaml", "--symbolic", "--set", "depth=2", "--format", "json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["total_macs"] == "24*D**2*T + 4*D*T**2 + D*T*V"  # two layers, all free
    model = archcalc.load(str(SPECS / "gpt2.yaml"), symbolic_dims=True, V=50257, P=1024, D=768, heads=12, depth=12)
    assert model.graph.free == ["T"]
    assert [str(d) for d in model.output_shape] == ["T", "50257"]
    assert model.trainable_params == 124_439_808  # no parameter depends on T
    # per layer 12·T·D² in the projections and the MLP and 2·T²·D in attention; lm_head T·D·V
    assert str(work(model.graph)[model.graph.root].macs) == "18432*T**2 + 123532032*T"
    assert 12 * 2 * 768 == 18432 and 12 * 12 * 768**2 + 768 * 50257 == 123532032


def test_kv_cache_is_two_times_layers_kv_heads_head_dim_positions():
    gpt2 = archcalc.load(str(SPECS / "gpt2.yaml"))
    assert kv_values(gpt2.graph) == 2 * 12 * 12 * 64 * 1024
    llama = archcalc.load(str(SPECS / "llama-3-8b.yaml"))
    assert kv_values(llama.graph) == 2 * 32 * 8 * 128 * 8192  # grouped-query: 8 kv heads, not 32


def test_summary_shows_the_kv_cache_for_the_batch_and_dtype(run):
    result = run("summary", SPECS / "llama-3-8b.yaml", "--batch-size", "2", "--dtype", "bf16", "--format", "json")
    assert json.loads(result.stdout)["memory"]["forward"]["kv_cache"] == 2 * 32 * 8 * 128 * 8192 * 2 * 2
    text = run("summary", SPECS / "gpt2.yaml").stdout
    assert "KV cache (1024 positions, batch 1)     75,497,472 B (75.50 MB)" in text
    assert "KV cache" not in run("summary", SPECS / "resnet18.yaml").stdout


def test_an_encoder_has_no_kv_cache():
    model = archcalc.loads(SEQ + "  - linear: 192\n  - attention: 4\n")
    assert kv_values(model.graph) == 0


def test_attention_mixes_t_but_a_linear_layer_is_pointwise_along_t():
    linear = archcalc.loads(SEQ + "  - linear: 32\n  - layernorm\n  - linear: 8\n")
    fields, _ = receptive_fields(linear.graph)
    assert fields[linear.graph.root].size[0] == 1  # each position on its own: a field of 1, not global
    attention = archcalc.loads(SEQ + "  - linear: 192\n  - attention: 4\n  - linear: 8\n")
    fields, _ = receptive_fields(attention.graph)
    assert fields[attention.graph.root].status == "global"


def test_linear_collapse_does_not_fire_across_attention(run, write):
    """q, k, v projection → attention → output projection: softmax(q·kᵀ)·v is not linear, so the two
    linear layers around it are no collapsed pair; two linear layers in a row still are."""
    attention = write(SEQ + "  - linear: 192\n  - attention: 4\n  - linear: 64\n")
    assert run("lint", "--isolated", attention).exit_code == 0
    plain = run("lint", "--isolated", write(SEQ + "  - linear: 192\n  - linear: 64\n"))
    assert "A101" in plain.stdout


def test_the_shipped_transformers_lint_clean(run):
    for name in ("gpt2", "llama-3-8b", "bert-base"):
        result = run("lint", "--isolated", SPECS / f"{name}.yaml")
        assert result.exit_code == 0, result.stdout


def test_attention_dropout_obeys_eval_in_the_runtime_module():
    """A merge's attention is no child module, so ``eval()`` must still reach it: two calls in eval mode
    give the same output (its dropout was left on once, and BERT's outputs differed from the real one's)."""
    torch = pytest.importorskip("torch")
    spec = ("input: [T]\nsymbols: {T: 5}\nlayers:\n  - embedding: {vocab: 10, dim: 8}\n"
            "  - attention:\n      heads: 2\n      dropout: 0.5\n      branches: [linear: 8, linear: 8, linear: 8]\n")
    module = archcalc.to_torch(archcalc.loads(spec)).eval()
    x = torch.randint(0, 10, (3, 5))
    with torch.no_grad():
        assert torch.equal(module(x), module(x))
    module.train()
    with torch.no_grad():
        assert not torch.equal(module(x), module(x))


def test_an_embedding_tied_to_a_linear_layer_reads_its_weight_in_numpy_and_onnx():
    """``tie`` on the embedding (the other direction): the embedding's table is the linear layer's [V, D]."""
    import numpy as np
    import onnxruntime as ort
    import torch

    from archcalc.backends.numpy import to_numpy
    from archcalc.backends.onnx import to_onnx

    model = archcalc.loads("input: [5]\nlayers:\n  - embedding: {vocab: 9, dim: 4, tie: head}\n"
                           "  - linear: {out: 9, bias: false, name: head}\n")
    net = to_numpy(model, seed=0, dtype="float64")
    assert sum(p.size for p in net.parameters()) == model.trainable_params == 9 * 4
    module = archcalc.to_torch(model).eval()
    proto = to_onnx(model, module.state_dict())
    assert [i.name for i in proto.graph.initializer if i.name.endswith("weight")] == ["head.weight"]
    ids = np.random.default_rng(0).integers(0, 9, size=(2, 5))
    with torch.no_grad():
        expected = module(torch.from_numpy(ids)).numpy()
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    np.testing.assert_allclose(session.run(["output"], {"input": ids})[0], expected, atol=1e-5)
    net.load_state_dict({k: v.double().numpy() for k, v in module.state_dict().items()})
    np.testing.assert_allclose(net.forward(ids), expected, atol=1e-5)


def test_free_heads_and_kv_heads_stay_a_formula():
    """Under --symbolic the key/value heads may be free: their quotient is checked once they have values."""
    text = ("input: [T, D]\nsymbols: {T: 8, D: 64, heads: 8, kv: 2}\nlayers:\n"
            "  - multihead_attention: {heads: heads, kv_heads: kv, bias: false}\n")
    model = archcalc.loads(text, symbolic_dims=True)
    assert str(model.total_params) == "2*D**2 + 2*D**2*kv/heads"
    with pytest.raises(SpecError, match="kv_heads 3 does not divide heads 8"):
        archcalc.loads(text.replace("kv: 2", "kv: 3"))


def test_a_negative_padding_idx_counts_from_the_end_as_torch_does():
    """nn.Embedding(10, 4, padding_idx=-1) keeps row 9 at zero: the spec, the torch export and the NumPy model
    agree (a core error refused it)."""
    pytest.importorskip("torch")
    from archcalc.backends.numpy import to_numpy

    model = archcalc.loads("input: [T]\nsymbols: {T: 6}\nlayers:\n"
                           "  - embedding: {vocab: 10, dim: 4, padding_idx: -1}\n")
    module = archcalc.to_torch(model)
    table = next(m for m in module.modules() if m.__class__.__name__.endswith("Embedding"))
    assert table.padding_idx == 9 and not table.weight[9].any()
    assert not to_numpy(model, seed=0).state_dict()["0.weight"][9].any()
