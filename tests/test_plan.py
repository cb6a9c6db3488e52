"""``archcalc plan``: every figure checked against the real thing (docs/plan.md).

- optimizer state: the bytes of ``optimizer.state`` after one real ``torch.optim`` step;
- saved activations: what autograd saves in one real training step of the exported module
  (``saved_tensors_hooks``, each storage once), with and without checkpointing;
- ZeRO model states: DeepSpeed's own estimator formulas (deepspeed is not installed here; the two
  functions below are transcribed from ``deepspeed/runtime/zero/stage_1_and_2.py`` and
  ``stage3.py``, non-offload branches);
- the summary's training step is the plan's figure.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

import archcalc
from archcalc.calc.plan import OPTIMIZER_STATE, Options, optimizer_bytes, param_tensors, plan
from archcalc.calc.saved import saved
from archcalc.cli import main

torch = pytest.importorskip("torch")
from tests.conftest import shipped_specs  # noqa: E402
from tests.export_cases import SIZES  # noqa: E402
from tests.saved_hooks import measure  # noqa: E402

SPECS_DIR = Path(__file__).parent.parent / "specs"
LLAMA = Path(__file__).parent / "specs" / "plan" / "tiny-llama.yaml"
SPECS = ("specs/lenet5.yaml", "specs/digits-cnn.yaml", "specs/resnet18.yaml", "tests/specs/plan/tiny-llama.yaml",
         "tests/specs/plan/recurrent.yaml", "specs/gpt2.yaml")
SLOW = ("specs/resnet18.yaml", "specs/gpt2.yaml")
#: the sets that keep a spec small enough for a quick step, and its input
SMALL = {"specs/gpt2.yaml": {"T": 8, "depth": 1, "V": 500}}

#: plan optimizer → the torch.optim step that allocates its state
TORCH_OPTIMIZERS = {
    "sgd": lambda ps: torch.optim.SGD(ps, lr=0.1),
    "momentum": lambda ps: torch.optim.SGD(ps, lr=0.1, momentum=0.9),
    "adam": lambda ps: torch.optim.Adam(ps),
    "adamw": lambda ps: torch.optim.AdamW(ps),
    "adam-amsgrad": lambda ps: torch.optim.Adam(ps, amsgrad=True),
    "adagrad": lambda ps: torch.optim.Adagrad(ps),
    "rmsprop": lambda ps: torch.optim.RMSprop(ps),
    "rmsprop-momentum": lambda ps: torch.optim.RMSprop(ps, momentum=0.9),
    "rmsprop-centered": lambda ps: torch.optim.RMSprop(ps, centered=True),
    "rmsprop-momentum-centered": lambda ps: torch.optim.RMSprop(ps, momentum=0.9, centered=True),
    "adadelta": lambda ps: torch.optim.Adadelta(ps),
    "adamax": lambda ps: torch.optim.Adamax(ps),
    "nadam": lambda ps: torch.optim.NAdam(ps),
    "radam": lambda ps: torch.optim.RAdam(ps),
    "adafactor": lambda ps: torch.optim.Adafactor(ps),
}


def _step(spec: str, make) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    sets = SMALL.get(spec, {})
    model = archcalc.load(spec, **sets)
    module = archcalc.to_torch(spec, **sets)
    opt = make(list(module.parameters()))
    shape = model.graph.input_shape
    tokens = next(model.graph.layers()).kind == "embedding"
    x = torch.randint(0, 100, (2, *shape)) if tokens else torch.randn(2, *shape)
    logits = module(x).flatten(0, -2)
    torch.nn.functional.cross_entropy(logits, torch.zeros(len(logits), dtype=torch.long)).backward()
    opt.step()
    return module, opt


@pytest.mark.parametrize("spec", [pytest.param(s, marks=pytest.mark.slow) if s in SLOW else s for s in SPECS])
@pytest.mark.parametrize("name", sorted(TORCH_OPTIMIZERS))
def test_optimizer_state_is_what_torch_optim_allocates(spec, name):
    module, opt = _step(spec, TORCH_OPTIMIZERS[name])
    real = sum(t.nbytes for state in opt.state.values() for t in state.values() if torch.is_tensor(t))
    tensors = param_tensors(archcalc.load(spec, **SMALL.get(spec, {})).graph)
    assert optimizer_bytes(name, tensors, 4) == real
    assert sorted(s for _, s in tensors) == sorted(tuple(p.shape) for p in module.parameters())


def test_every_plan_optimizer_is_checked_or_documented():
    assert set(OPTIMIZER_STATE) - set(TORCH_OPTIMIZERS) == {"adam8bit"}  # bitsandbytes needs CUDA: formula only


def test_8bit_adam_follows_bitsandbytes_blocks():
    # bitsandbytes Optimizer2State: uint8 state1/state2 and one fp32 absmax per 256 elements each;
    # tensors under 4096 elements keep fp32 states
    assert optimizer_bytes("adam8bit", [("w", (64, 64))], 4) == 2 * 4096 + 2 * 16 * 4
    assert optimizer_bytes("adam8bit", [("w", (1000, 5))], 4) == 2 * 5000 + 2 * 20 * 4
    assert optimizer_bytes("adam8bit", [("b", (100,))], 4) == 2 * 100 * 4


def _saved(spec, mode: str, target: torch.Tensor, ids: int = 0, **sets) -> tuple[tuple[int, int], tuple[int, int]]:
    """(measured, predicted) (stored, largest recomputation) bytes of one training step at batch 2; ``ids``:
    the input is token ids below it."""
    model = archcalc.load(spec, **sets)
    s = saved(model.graph, mode, "cross_entropy")
    module = archcalc.to_torch(spec, **sets)
    torch.manual_seed(0)
    if ids:
        x = torch.randint(0, ids, (2, *model.graph.input_shape))
    else:  # a checkpointed first unit needs an input that requires grad, or it has no gradient at all
        x = torch.randn(2, *model.graph.input_shape, requires_grad=mode != "none")

    def loss(y: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.cross_entropy(y.flatten(0, -2), target)

    real = measure(module, x, loss, s.units)
    # on the CPU, dropout saves a noise tensor of the activations' type, not a bool mask (docs/plan.md)
    return real, (s.bytes(s.stored, 2, 4, mask=4), s.bytes(s.recompute, 2, 4, mask=4))


@pytest.mark.parametrize("spec", ["specs/lenet5.yaml", "specs/digits-cnn.yaml", "specs/digits-mlp.yaml",
                                  *(pytest.param(s, marks=pytest.mark.slow) for s in
                                    ("specs/alexnet.yaml", "specs/vgg11.yaml", "specs/resnet18.yaml"))])
def test_saved_activations_are_what_autograd_saves(spec):
    real, predicted = _saved(spec, "none", torch.tensor([1, 2]))
    assert predicted == real


def test_a_constant_scale_saves_nothing_as_autograd_saves_nothing(tmp_path):
    # x * c by a Python number: mul's backward is grad * c, so only the layers around it save (Granite's multipliers)
    path = tmp_path / "scaled.yaml"
    path.write_text("input: [8]\nlayers:\n  - linear: 16\n  - scale: 0.22\n  - tanh\n  - scale: -3\n"
                    "  - linear: 4\n  - scale: 0.125\n", encoding="utf-8")
    real, predicted = _saved(path, "none", torch.tensor([1, 2]))
    assert predicted == real


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_resnet50_saved_activations_per_checkpointing_mode(mode):
    real, predicted = _saved("specs/resnet50.yaml", mode, torch.tensor([3, 4]), H=64, W=64)
    assert predicted == real
    if mode == "full":
        assert 0 < real[0] < _saved("specs/resnet50.yaml", "none", torch.tensor([3, 4]), H=64, W=64)[0][0]


def test_full_checkpointing_of_top_level_layers_without_blocks():
    real, predicted = _saved("specs/lenet5.yaml", "full", torch.tensor([1, 2]))
    assert predicted == real


def _gpt2(tmp_path, dropout: str = "0.0"):
    """GPT-2 with its dropout rate replaced: on the CPU, attention with dropout runs PyTorch's math kernel
    (it saves the T×T attention weights), where a GPU runs flash attention, which the plan models."""
    text = re.sub(r"(dropout: |p: )0\.1", rf"\g<1>{dropout}", (SPECS_DIR / "gpt2.yaml").read_text())
    path = tmp_path / "gpt2.yaml"
    path.write_text(text)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_gpt2_saved_activations_per_checkpointing_mode(tmp_path, mode):
    path = _gpt2(tmp_path)
    target = torch.randint(0, 1000, (2, 16))
    real, predicted = _saved(path, mode, target.flatten(), T=16, depth=2, V=1000, ids=1000)
    assert predicted == real


@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_llama_saved_activations_per_checkpointing_mode(mode):
    # grouped-query attention, rotary embedding, RMSNorm, SwiGLU
    real, predicted = _saved(LLAMA, mode, torch.randint(0, 100, (16,)), ids=100)
    assert predicted == real


LLAMA3_SMALL = {"T": 8, "V": 100, "D": 64, "F": 128, "heads": 4, "kv": 2, "depth": 2}


@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_llama3_multihead_attention_saved_activations(mode):
    # specs/llama-3-8b.yaml at toy sizes: multihead_attention holds q/k/v/o projections around the core
    spec = SPECS_DIR / "llama-3-8b.yaml"
    real, predicted = _saved(spec, mode, torch.randint(0, 100, (16,)), ids=100, **LLAMA3_SMALL)
    assert predicted == real
    module = archcalc.to_torch(spec, **LLAMA3_SMALL)
    tensors = param_tensors(archcalc.load(spec, **LLAMA3_SMALL).graph)
    assert sorted(s for _, s in tensors) == sorted(tuple(p.shape) for p in module.parameters())


@pytest.mark.parametrize("qk_norm", ["head", "all", "per_head",
                                     "per_head, qk_norm_kind: layernorm, qk_norm_bias: false",
                                     "per_head, qk_norm_kind: layernorm, qk_norm_layout: stablelm",
                                     "head, qk_norm_kind: layernorm", "all, qk_norm_kind: layernorm"])
@pytest.mark.parametrize("mode", ["none", "selective"])
def test_qk_norm_saved_activations(tmp_path, qk_norm, mode):
    # Qwen3's q_norm and k_norm over each head, OLMo 2's over all heads' features: rms_norm on q and k; Command R+'s
    # and StableLM 2 12B's a γ of each head's own, LayerNorms (layer_norm on each head's view of q and k)
    path = tmp_path / "qk.yaml"
    text = (SPECS_DIR / "llama-3-8b.yaml").read_text()
    settings = f"qk_norm: {qk_norm}".replace(", ", "\n            ")
    path.write_text(text.replace("bias: false\n", f"bias: false\n            {settings}\n", 1))
    assert "qk_norm" in path.read_text()
    real, predicted = _saved(path, mode, torch.randint(0, 100, (16,)), ids=100, **LLAMA3_SMALL)
    assert predicted == real
    module = archcalc.to_torch(path, **LLAMA3_SMALL)
    tensors = param_tensors(archcalc.load(path, **LLAMA3_SMALL).graph)
    assert [s for _, s in tensors] == [tuple(p.shape) for p in module.parameters()]


def test_llama3_8b_kv_cache_at_8192_tokens():
    # 32 layers × (k + v) × 8 kv heads × 128 dims × 8192 tokens × 2 B (bf16): 1 GiB per sequence
    assert _kv_plan(SPECS_DIR / "llama-3-8b.yaml", 8192, 1, precision="bf16") == 32 * 2 * 8 * 128 * 8192 * 2


def _cache_bytes(cache) -> int:
    """Bytes of the keys and values a transformers cache holds (its layers, or the older key/value lists)."""
    if hasattr(cache, "layers"):
        tensors = [t for layer in cache.layers for t in (layer.keys, layer.values)]
    else:
        tensors = [*cache.key_cache, *cache.value_cache]
    return sum(t.nbytes for t in tensors)


def _kv_plan(spec, tokens: int, batch: int, precision: str = "fp32", **sets) -> int:
    graph = archcalc.load(spec, **sets).graph
    return plan(graph, Options(precision=precision, inference=True, context=tokens, batch=batch), flops=False).kv_cache


@pytest.mark.parametrize("tokens", [1, 7, 32])
def test_kv_cache_is_what_transformers_holds_for_a_tiny_llama(tokens):
    transformers = pytest.importorskip("transformers")
    config = transformers.LlamaConfig(vocab_size=100, hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                                      num_attention_heads=4, num_key_value_heads=2, tie_word_embeddings=False)
    model = transformers.LlamaForCausalLM(config).eval()
    assert sum(p.numel() for p in model.parameters()) == archcalc.load(LLAMA).trainable_params
    with torch.no_grad():
        cache = model(torch.randint(0, 100, (3, tokens)), use_cache=True).past_key_values
    assert _kv_plan(LLAMA, tokens, 3, T=tokens) == _cache_bytes(cache) == 2 * 2 * (2 * 16) * tokens * 3 * 4


def test_kv_cache_is_what_transformers_holds_for_gpt2():
    transformers = pytest.importorskip("transformers")
    model = transformers.GPT2LMHeadModel(transformers.GPT2Config(n_layer=2, vocab_size=1000)).eval()
    with torch.no_grad():
        cache = model(torch.randint(0, 1000, (2, 10)), use_cache=True).past_key_values
    assert _kv_plan(SPECS_DIR / "gpt2.yaml", 10, 2, depth=2, V=1000) == _cache_bytes(cache)


def _deepspeed_zero2(total_params: int, gpus: int) -> int:
    return 4 * total_params + int(16 * total_params / gpus)


def _deepspeed_zero3(total_params: int, largest_layer_params: int, gpus: int) -> int:
    return 4 * largest_layer_params + int(18 * total_params / gpus)


@pytest.mark.parametrize("spec", ["specs/resnet50.yaml", "specs/vgg16.yaml"])
def test_zero_model_states_against_deepspeeds_estimators(spec):
    graph = archcalc.load(spec).graph
    module = archcalc.to_torch(spec)
    total = sum(p.numel() for p in module.parameters())
    largest = max(sum(p.numel() for p in m.parameters(recurse=False)) for m in module.modules())
    def states(stage: str, gpus: int) -> int:
        p = plan(graph, Options(precision="mixed-bf16", optimizer="adam", dp=gpus, sharding=stage), flops=False)
        return p.weights + p.gradients + p.master + p.optimizer + p.gathered

    for gpus in (8, 4):
        assert total % gpus == 0
        step = 4  # Adam's 0-d step counter on the one flat fp32 partition, which DeepSpeed leaves out
        assert states("zero3", gpus) == _deepspeed_zero3(total, largest, gpus) + step
        assert states("zero1", gpus) == _deepspeed_zero2(total, gpus) + step
        # DeepSpeed's stage-2 estimate keeps the 16-bit gradients whole; stage 2 shards them
        assert states("zero2", gpus) == _deepspeed_zero2(total, gpus) - 2 * total + 2 * total // gpus + step


def test_summary_training_step_is_the_plans():
    out = json.loads(CliRunner().invoke(main, ["summary", "specs/resnet50.yaml", "--format", "json"]).output)
    training = out["memory"]["training"]
    p = plan(archcalc.load("specs/resnet50.yaml").graph,
             Options(precision="fp32", optimizer="momentum", batch=256, reserve=0, loss="cross_entropy"))
    assert training["training_total"] == p.total
    assert training["activations"] == p.saved


def _run(*args: str):
    return CliRunner().invoke(main, ["plan", *args])


@pytest.mark.parametrize("fmt", ["table", "json", "markdown", "csv"])
def test_formats(fmt):
    result = _run("specs/resnet50.yaml", "--format", fmt, "--dp", "8", "--zero", "3", "--tokens", "1.28M")
    assert result.exit_code == 0, result.output
    if fmt == "json":
        data = json.loads(result.output)
        assert data["params"] == 25_557_032 and data["fits"] is True and data["max_batch"] > 256


def test_largest_batch_fits_and_one_more_does_not():
    graph = archcalc.load("specs/resnet50.yaml").graph
    p = plan(graph, Options(batch=64, gpu="l4"))
    assert plan(graph, Options(batch=p.max_batch, gpu="l4")).fits
    assert not plan(graph, Options(batch=p.max_batch + 1, gpu="l4")).fits


def test_explain_shows_the_formulas():
    result = _run("specs/resnet50.yaml", "--explain", "--precision", "fp32")
    assert "25,557,032 parameters × 4 B = 102,228,128 B" in result.output
    assert "layer4.2.8 (relu)" in result.output


@pytest.mark.parametrize(("args", "message"), [
    (["--zero", "3", "--fsdp", "full", "--dp", "8"], "not both"),
    (["--zero", "2"], "give --dp N > 1"),
    (["--inference", "--context", "100"], "no attention layer"),
    (["--checkpoint-block", "bottlenek", "--checkpointing", "full"], "did you mean 'bottleneck'"),
    (["--tp", "7"], "no weighted layer's output features divide by 7"),
    (["--tokens", "lots"], "give a positive number of tokens"),
    (["--tokens", "1e400"], "more tokens than archcalc counts"),
    (["--reserve", "nan"], "give the GiB kept per GPU, from 0 to 1024"),
    (["--shard-size", "4"], "give --fsdp hybrid too"),
    (["--fsdp", "hybrid", "--dp", "8", "--shard-size", "3"], "--shard-size 3 must divide --dp 8"),
    (["--reserve", "inf"], "give the GiB kept per GPU, from 0 to 1024"),
    (["--mfu", "nan"], "above 0 and at most 1"),
    (["--mfu", "0"], "above 0 and at most 1"),
    (["--seq-len", "128"], "not a symbol"),
    (["--gpu", "t4"], "no bf16"),
])
def test_bad_options_are_located_errors(args, message):
    result = _run("specs/resnet50.yaml", *args)
    assert result.exit_code == 2
    assert message.lower() in result.output.lower()
    assert "Traceback" not in result.output


def test_a_context_longer_than_the_position_table_is_refused_at_the_table():
    result = _run("specs/gpt2.yaml", "--inference", "--context", "5000")
    assert result.exit_code == 2
    assert "error: --context 5000: the position table `transformer.wpe` holds 1024 positions" in result.output
    assert _run("specs/gpt2.yaml", "--inference", "--context", "1024").exit_code == 0


def test_a_table_read_after_the_padding_row_serves_fewer_tokens_than_its_rows(tmp_path):
    """RoBERTa's positions start after the padding row (``padding_idx: 1``): 10 rows serve 8 tokens."""
    spec = tmp_path / "padded.yaml"
    spec.write_text("input: [T]\nsymbols: {T: 8}\nlayers:\n"
                    "  - add: [[embedding: {vocab: 50, dim: 16}], [pos_embedding: {positions: 10, dim: 16, "
                    "padding_idx: 1, name: wpe}]]\n"
                    "  - multihead_attention: {heads: 2, causal: true}\n", encoding="utf-8")
    result = _run(str(spec), "--inference", "--context", "9")
    assert result.exit_code == 2
    assert ":4:74: error: --context 9: the position table `0.wpe` holds 8 positions" in result.output
    assert _run(str(spec), "--inference", "--context", "8").exit_code == 0


def test_a_table_read_from_an_offset_serves_fewer_tokens_than_its_rows(tmp_path):
    """OPT's positions start at row 2 (``offset: 2``): 10 rows serve 8 tokens."""
    spec = tmp_path / "offset.yaml"
    spec.write_text("input: [T]\nsymbols: {T: 8}\nlayers:\n"
                    "  - add: [[embedding: {vocab: 50, dim: 16}], [pos_embedding: {positions: 10, dim: 16, "
                    "offset: 2, name: wpe}]]\n"
                    "  - multihead_attention: {heads: 2, causal: true}\n", encoding="utf-8")
    result = _run(str(spec), "--inference", "--context", "9")
    assert result.exit_code == 2
    assert ":4:74: error: --context 9: the position table `0.wpe` holds 8 positions" in result.output
    assert _run(str(spec), "--inference", "--context", "8").exit_code == 0


def test_readme_and_docs_plan_examples_are_real():
    """Every `$ archcalc plan …` block of the README and docs/plan.md is what the command prints at 100
    columns (its notes left out)."""
    import shlex

    root = Path(__file__).parent.parent
    blocks = []
    for doc in ("README.md", "docs/plan.md"):
        text = (root / doc).read_text()
        blocks += re.findall(r"```console\n\$ (archcalc plan [^\n]*)\n(.*?)```", text, re.S)
    assert len(blocks) >= 3
    for command, shown in blocks:
        result = CliRunner().invoke(main, shlex.split(command)[1:], env={"COLUMNS": "100"}, catch_exceptions=False)
        printed = "\n".join(line for line in result.output.splitlines()
                            if not line.startswith(("note:", "      ")))
        assert printed.strip() == shown.strip(), command


def test_seq_len_sets_the_sequence_symbol():
    short = json.loads(_run("specs/gpt2.yaml", "--seq-len", "128", "--format", "json").output)
    full = json.loads(_run("specs/gpt2.yaml", "--format", "json").output)
    assert short["params"] == full["params"] == 124_439_808  # GPT-2 small, its lm_head tied to wte
    assert short["bytes"]["saved_activations"] < full["bytes"]["saved_activations"]
    assert short["tokens_per_example"] == 128


def test_verdict_says_by_how_much_it_does_not_fit():
    result = _run("specs/resnet50.yaml", "--precision", "fp32", "--batch", "2048", "--gpu", "t4")
    assert result.exit_code == 0
    assert "does not fit:" in result.output and "over 16.00 GiB" in result.output


def test_inference_plans_weights_and_kv_cache():
    data = json.loads(_run("specs/gpt2.yaml", "--inference", "--batch", "4", "--context", "1000",
                           "--format", "json").output)
    # 12 layers × (k + v of 768) × 1000 tokens × 4 sequences × 2 B (bf16)
    assert data["bytes"]["kv_cache"] == 12 * 2 * 768 * 1000 * 4 * 2
    assert data["bytes"]["weights"] == 124_439_808 * 2
    assert data["bytes"]["gradients"] == data["bytes"]["optimizer_state"] == 0


def test_checkpoint_block_needs_full_checkpointing():
    result = _run("specs/resnet50.yaml", "--checkpoint-block", "bottleneck")
    assert result.exit_code == 2 and "--checkpointing full" in result.output


@pytest.mark.parametrize("spec", shipped_specs(), ids=lambda p: p.stem)
def test_every_shipped_specs_parameter_tensors_are_the_modules(spec):
    """Per-tensor optimizer state (Adam's step counters, Adafactor's factored moments) needs each tensor's
    stored shape: ViT's [1, 1, D] class token and ConvNeXt's [C, 1, 1] layer scales, not flat vectors."""
    sets = SIZES.get(spec.stem, {})
    with torch.device("meta"):
        module = archcalc.to_torch(spec, **sets)
    tensors = param_tensors(archcalc.load(spec, **sets).graph)
    assert sorted(s for _, s in tensors) == sorted(tuple(p.shape) for p in module.parameters())


def test_pad_and_glu_save_what_autograd_saves(tmp_path):
    """constant_pad_nd's backward needs only the amounts (a crop too); glu_backward its input."""
    spec = tmp_path / "gated.yaml"
    spec.write_text("input: [3, 12]\nlayers:\n  - conv1d: {out: 4, kernel: 1}\n  - pad: [2, 0]\n"
                    "  - conv1d: {out: 4, kernel: 3}\n  - glu: 0\n  - relu\n  - pad: {padding: [-1, 3], value: 1}\n"
                    "  - glu\n  - flatten\n  - linear: 3\n", encoding="utf-8")
    real, predicted = _saved(str(spec), "none", torch.tensor([1, 2]))
    assert predicted == real


@pytest.mark.parametrize("first", ["reflect", "replicate", "circular"])
def test_copying_pads_and_padding_modes_save_what_autograd_saves(tmp_path, first):
    """reflection_pad and replication_pad backward take the input itself (circular pads are narrows and a cat:
    sizes only); a convolution with a padding_mode pads with F.pad, then saves the padded copy it convolves.
    On the network's input the pad inside the convolution is not recorded: only the padded copy is saved."""
    spec = tmp_path / "pads.yaml"
    spec.write_text(f"input: [3, 8, 8]\nlayers:\n  - conv2d: {{out: 4, kernel: 3, padding: 1, padding_mode: {first}}}\n"
                    "  - pad: {padding: [1, 2, 0, 1], mode: reflect}\n"
                    "  - conv2d: {out: 4, kernel: 3, padding: [2, 1], padding_mode: replicate}\n  - relu\n"
                    "  - pad: {padding: [1, 1, 1, 1], mode: circular}\n"
                    "  - conv2d: {out: 4, kernel: 4, padding: same, padding_mode: circular}\n"
                    "  - pad: {padding: [1, 0, 0, 1], mode: replicate}\n  - conv2d: {out: 4, kernel: 1, "
                    "padding_mode: reflect}\n  - flatten\n  - linear: 5\n", encoding="utf-8")
    real, predicted = _saved(str(spec), "none", torch.tensor([1, 2]))
    assert predicted == real


def test_instance_norm_and_channel_dropout_save_what_autograd_saves(tmp_path):
    """instance_norm runs batch norm on the [1, N·C, …] view: the input, fp32 mean and inverse deviation per
    example and channel, and the copies it makes of γ and of the running statistics; feature dropout saves its
    [N, C, 1, …] noise."""
    spec = tmp_path / "norms.yaml"
    spec.write_text("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3, padding: 1}\n  - instancenorm2d\n"
                    "  - dropout2d: 0.3\n  - conv2d: {out: 4, kernel: 1}\n  - instancenorm2d: {affine: true}\n"
                    "  - conv2d: {out: 4, kernel: 1}\n"
                    "  - instancenorm2d: {affine: true, track_running_stats: true}\n  - relu\n"
                    "  - flatten: {start: 1}\n  - instancenorm1d: {track_running_stats: true}\n  - dropout1d: 0.2\n"
                    "  - flatten\n  - linear: 5\n", encoding="utf-8")
    real, predicted = _saved(str(spec), "none", torch.tensor([1, 2]))
    assert predicted == real


@pytest.mark.parametrize("gate", ["{activation: silu, gate: first}", "{activation: gelu_tanh}", "{activation: relu}",
                                  "{gate: first}"])
def test_a_gated_unit_saves_its_input_and_the_gate(tmp_path, gate):
    """SwiGLU, GeGLU, ReGLU or a first-half gate (archcalc's GatedUnit): the gate function saves its input (a
    view of the layer's input) or its output, the product the value half (a view) and act(gate)."""
    spec = tmp_path / "gated.yaml"
    spec.write_text(f"input: [6, 8]\nlayers:\n  - linear: 16\n  - glu: {gate}\n  - linear: 4\n  - flatten\n"
                    "  - linear: 3\n", encoding="utf-8")
    real, predicted = _saved(str(spec), "none", torch.tensor([1, 2]))
    assert predicted == real



def test_a_free_symbol_is_located_where_it_is_declared(run, write):
    """As export and train do: at the symbol's declaration, with a value that builds, not at the input."""
    spec = write("input: [4, 16]\nsymbols: {K: null}\nlayers:\n  - linear: K\n")
    result = run("plan", spec)
    assert result.exit_code == 2
    assert result.stderr == (f"{spec}:2:11: error: K must have a value to plan\n"
                             "  hint: give it with --set, e.g. --set K=32\n")


@pytest.mark.parametrize("first", ["glu", "gelu", "dropout: 0.2", "pad: [1, 1]",
                                   "pad: {padding: [1, 1], mode: reflect}", "maxpool1d: 2", "residual: [relu]",
                                   "concat: [[relu], [tanh]]"])
def test_layers_without_weights_on_the_data_save_nothing(tmp_path, first):
    """The network's input does not require grad: a layer without weights on it (or on what such layers made
    of it) is not recorded by autograd and saves nothing; the first weighted layer saves its input."""
    spec = tmp_path / "first.yaml"
    spec.write_text(f"input: [4, 8]\nlayers:\n  - {first}\n  - flatten\n  - linear: 3\n", encoding="utf-8")
    real, predicted = _saved(str(spec), "none", torch.tensor([1, 2]))
    assert predicted == real


@pytest.mark.parametrize("normalize", ["true", "false", "false, shared: 12"])
def test_moe_saves_what_autograd_saves(tmp_path, normalize):
    """The router's probabilities, indices and (normalize) the renormalisation's operands, then per expert what
    its tokens pass through: the total is exact whatever the routing, as every expert's tensors are linear in
    its number of tokens and these add up to top_k per token (experts: 4, top_k: 2 here)."""
    spec = tmp_path / "moe.yaml"
    spec.write_text(f"input: [6, 16]\nlayers:\n  - linear: 16\n  - moe: {{experts: 4, top_k: 2, hidden: 8, "
                    f"normalize: {normalize}}}\n  - linear: 5\n", encoding="utf-8")
    real, predicted = _saved(str(spec), "none", torch.randint(0, 5, (12,)))
    assert predicted == real
    module, tensors = archcalc.to_torch(str(spec)), param_tensors(archcalc.load(str(spec)).graph)
    assert [s for _, s in tensors] == [tuple(p.shape) for p in module.parameters()]
    for name, optimizer in TORCH_OPTIMIZERS.items():  # the state torch.optim allocates for the 3-D expert weights
        opt = optimizer(module.parameters())
        module(torch.randn(2, 6, 16)).sum().backward()
        opt.step()
        real = sum(t.nbytes for state in opt.state.values() for t in state.values() if torch.is_tensor(t))
        assert optimizer_bytes(name, tensors, 4) == real, name


@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_a_moe_decoder_saves_what_autograd_saves_per_checkpointing_mode(mode):
    """tests/specs/export/moe-decoder.yaml: Mixtral-like decoder layers (their moe inside residual blocks, each
    layer a unit of full checkpointing) and a moe with a shared expert."""
    spec = Path(__file__).resolve().parent / "specs" / "export" / "moe-decoder.yaml"
    real, predicted = _saved(spec, mode, torch.randint(0, 50, (12,)), ids=50)
    assert predicted == real


GEMMA_LAYERS = [
    "embedding: {vocab: 101, dim: 16, scale: 4.0}",  # Gemma's rows times √dim: a 0-d factor saved
    "rmsnorm: {eps: 1.0e-6, offset: 1}",  # Gemma's norm in plain fp32 operations
    "multihead_attention: {heads: 2, causal: true, rotary: half, window: 4}",  # eager: a sliding window
    "multihead_attention: {heads: 2, kv_heads: 1, causal: true, rotary: half, rotary_factor: 8.0, softcap: 2.0, "
    "qk_norm: head, qk_norm_offset: 1}",
    "multihead_attention: {heads: 2, causal: true, softcap: 3.0, dropout: 0.1}",
    "softcap: 3.0",
]


@pytest.mark.parametrize("layer", GEMMA_LAYERS)
def test_gemmas_layers_save_what_autograd_saves(tmp_path, layer):
    """Gemma's options run other code than the plain kinds (eager attention, fp32 norms): measured too."""
    path = tmp_path / "gemma.yaml"
    first = layer if layer.startswith("embedding") else "embedding: {vocab: 101, dim: 16}"
    rest = "" if layer.startswith("embedding") else f"  - {layer}\n"
    path.write_text(f"input: [T]\nsymbols: {{T: 13}}\nlayers:\n  - {first}\n{rest}"
                    "  - linear: {out: 101, bias: false}\n")
    real, predicted = _saved(str(path), "none", torch.randint(0, 101, (26,)), ids=101)
    assert predicted == real


@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_an_imported_gemma3_saves_what_autograd_saves(tmp_path, mode):
    transformers = pytest.importorskip("transformers")
    from tests.test_import_config import GEMMA, imported

    config = transformers.Gemma3TextConfig(num_hidden_layers=4, num_key_value_heads=2, head_dim=16, sliding_window=4,
                                           sliding_window_pattern=2, final_logit_softcapping=5.0, **GEMMA)
    config.architectures = ["Gemma3ForCausalLM"]
    real, predicted = _saved(str(imported(tmp_path, config)), mode, torch.randint(0, 101, (26,)), ids=101, T=13)
    assert predicted == real


@pytest.mark.parametrize("tokens", [1, 3, 7, 13])
def test_kv_cache_is_what_transformers_holds_for_a_tiny_gemma3(tmp_path, tokens):
    """Gemma 3's local layers keep the last window − 1 keys and values (the next token sees them and
    itself), its global layers every one; the summary's KV cache counts the same."""
    transformers = pytest.importorskip("transformers")
    from archcalc.calc.memory import kv_values
    from tests.test_import_config import GEMMA, imported

    config = transformers.Gemma3TextConfig(num_hidden_layers=4, num_key_value_heads=2, head_dim=16, sliding_window=4,
                                           sliding_window_pattern=2, **GEMMA)
    config.architectures = ["Gemma3ForCausalLM"]
    spec = imported(tmp_path, config)
    model = transformers.Gemma3ForCausalLM(config).eval()
    with torch.no_grad():
        out = model(torch.randint(0, 101, (3, tokens)), use_cache=True)
    expected = 2 * (2 * 2 * 16) * (min(3, tokens) + tokens) * 3 * 4  # two local and two global layers
    assert _kv_plan(spec, tokens, 3, T=tokens) == _cache_bytes(out.cache) == expected
    assert kv_values(archcalc.load(spec, T=tokens).graph) * 3 * 4 == expected


@pytest.mark.parametrize(("window", "kept"), [(None, 16), (1, 0), (5, 4), (40, 16)])
def test_a_sliding_window_keeps_window_minus_one_positions_in_the_kv_cache(window, kept):
    """Each cached position holds k and v (2 × 4 heads × 8 here); a window keeps the last window − 1 (the next
    token sees them and itself), so window 1 keeps none (it was a ZeroDivisionError in plan --inference)."""
    from archcalc.calc.plan import kv_cache_at, kv_cache_per_token

    extra = f", window: {window}" if window else ""
    model = archcalc.loads("input: [T]\nsymbols: {T: 16}\nlayers:\n  - embedding: {vocab: 100, dim: 32}\n"
                           f"  - multihead_attention: {{heads: 4, causal: true{extra}}}\n  - linear: 100\n")
    assert kv_cache_per_token(model.graph) == [("1", 64)]
    assert kv_cache_at(model.graph, 16) == (64 * kept, 64 * kept if window else 0)
    result = CliRunner().invoke(main, ["plan", "-", "--inference"], input="input: [T]\nsymbols: {T: 16}\nlayers:\n"
                                "  - embedding: {vocab: 100, dim: 32}\n"
                                f"  - multihead_attention: {{heads: 4, causal: true{extra}}}\n")
    assert result.exit_code == 0, result.output
