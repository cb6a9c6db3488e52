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

import pytest
from click.testing import CliRunner

import archcalc
from archcalc.calc.plan import OPTIMIZER_STATE, Options, optimizer_bytes, param_tensors, plan
from archcalc.calc.saved import saved
from archcalc.cli import main

torch = pytest.importorskip("torch")
from tests.saved_hooks import measure  # noqa: E402

SPECS = ("specs/lenet5.yaml", "specs/digits-cnn.yaml", "specs/resnet18.yaml")

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
    "adafactor": lambda ps: torch.optim.Adafactor(ps),
}


def _step(spec: str, make) -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    model = archcalc.load(spec)
    module = archcalc.to_torch(spec)
    opt = make(list(module.parameters()))
    x = torch.randn(2, *model.graph.input_shape)
    torch.nn.functional.cross_entropy(module(x), torch.tensor([0, 1])).backward()
    opt.step()
    return module, opt


@pytest.mark.parametrize("spec", SPECS)
@pytest.mark.parametrize("name", sorted(TORCH_OPTIMIZERS))
def test_optimizer_state_is_what_torch_optim_allocates(spec, name):
    module, opt = _step(spec, TORCH_OPTIMIZERS[name])
    real = sum(t.nbytes for state in opt.state.values() for t in state.values() if torch.is_tensor(t))
    tensors = param_tensors(archcalc.load(spec).graph)
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


def _saved(spec: str, mode: str, loss: torch.Tensor, **sets) -> tuple[tuple[int, int], tuple[int, int]]:
    model = archcalc.load(spec, **sets)
    s = saved(model.graph, mode, "cross_entropy")
    module = archcalc.to_torch(spec, **sets)
    torch.manual_seed(0)
    x = torch.randn(2, *model.graph.input_shape, requires_grad=mode != "none")
    real = measure(module, x, lambda y: torch.nn.functional.cross_entropy(y, loss), s.units)
    # on the CPU, dropout saves a noise tensor of the activations' type, not a bool mask (docs/plan.md)
    return real, (s.bytes(s.stored, 2, 4, mask=4), s.bytes(s.recompute, 2, 4, mask=4))


@pytest.mark.parametrize("spec", ["specs/lenet5.yaml", "specs/digits-cnn.yaml", "specs/digits-mlp.yaml",
                                  "specs/alexnet.yaml", "specs/vgg11.yaml", "specs/resnet18.yaml"])
def test_saved_activations_are_what_autograd_saves(spec):
    real, predicted = _saved(spec, "none", torch.tensor([1, 2]))
    assert predicted == real


@pytest.mark.parametrize("mode", ["none", "selective", "full"])
def test_resnet50_saved_activations_per_checkpointing_mode(mode):
    real, predicted = _saved("specs/resnet50.yaml", mode, torch.tensor([3, 4]), H=64, W=64)
    assert predicted == real
    if mode == "full":
        assert 0 < real[0] < _saved("specs/resnet50.yaml", "none", torch.tensor([3, 4]), H=64, W=64)[0][0]


def test_full_checkpointing_of_top_level_layers_without_blocks():
    real, predicted = _saved("specs/lenet5.yaml", "full", torch.tensor([1, 2]))
    assert predicted == real


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
    for gpus in (8, 4):
        assert total % gpus == 0

        def states(stage: str) -> int:
            p = plan(graph, Options(precision="mixed-bf16", optimizer="adam", dp=gpus, sharding=stage))
            return p.weights + p.gradients + p.master + p.optimizer + p.gathered

        step = 4  # Adam's 0-d step counter on the one flat fp32 partition, which DeepSpeed leaves out
        assert states("zero3") == _deepspeed_zero3(total, largest, gpus) + step
        assert states("zero1") == _deepspeed_zero2(total, gpus) + step
        # DeepSpeed's stage-2 estimate keeps the 16-bit gradients whole; stage 2 shards them
        assert states("zero2") == _deepspeed_zero2(total, gpus) - 2 * total + 2 * total // gpus + step


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
    (["--seq-len", "128"], "not a symbol"),
    (["--gpu", "t4"], "no bf16"),
])
def test_bad_options_are_located_errors(args, message):
    result = _run("specs/resnet50.yaml", *args)
    assert result.exit_code == 2
    assert message.lower() in result.output.lower()
    assert "Traceback" not in result.output
