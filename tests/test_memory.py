"""Memory: parameter bytes per dtype, activations, the training estimate and its optimizer state."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.calc.memory import activations, memory, nbytes, optimizer_slots
from archcalc.graph import LayerNode
from tests.conftest import SPECS

RESNET50 = 25_557_032


def summary_json(run, spec, *args: str) -> dict:
    result = run("summary", spec, "--format", "json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_parameter_bytes_per_dtype(run):
    data = summary_json(run, SPECS / "resnet50.yaml")
    assert data["memory"]["params_bytes"] == {"fp32": 4 * RESNET50, "fp16": 2 * RESNET50, "bf16": 2 * RESNET50,
                                              "int8": RESNET50}
    assert data["memory"]["training"]["params"] == 102_228_128  # torchinfo's "Params size (MB): 102.23"
    fp16 = summary_json(run, SPECS / "resnet50.yaml", "--dtype", "fp16")
    assert fp16["memory"]["dtype"] == "fp16"
    assert fp16["memory"]["training"]["params"] == 51_114_064
    # 53,173 buffer values: 53,120 running statistics in the dtype, 53 num_batches_tracked in int64 (torch's
    # sum of buffer nbytes: 212,904 in fp32, 106,664 in fp16)
    assert data["memory"]["buffers_bytes"] == 4 * 53_120 + 8 * 53 == 212_904
    assert fp16["memory"]["buffers_bytes"] == 2 * 53_120 + 8 * 53 == 106_664
    assert fp16["memory"]["forward"]["inference_total"] == 51_114_064 + 106_664 + 2 * 150_528 + 2 * 37_559_784


def test_resnet50_forward_activations():
    # every conv and its BN write 11,113,984 elements each, the ReLUs 9,608,704, the max-pool 200,704, the 16
    # residual sums 5,519,360, the global pool 2,048 and fc 1,000; flatten is a view
    model = archcalc.load(str(SPECS / "resnet50.yaml"))
    acts = activations(model.graph)
    assert acts[model.graph.root] == 2 * 11_113_984 + 9_608_704 + 200_704 + 5_519_360 + 2_048 + 1_000 == 37_559_784
    assert acts[model.graph.find("9")] == 0
    m = memory(model.graph, model.trainable_params, model.buffers, batch=2)
    assert m.activations == 2 * 4 * 37_559_784
    assert m.input == 2 * 4 * 3 * 224 * 224


def test_torchinfo_forward_backward_size_from_our_rows():
    # torchinfo: 2 × Σ output bytes of the leaf layers that have parameters. At (2, 3, 224, 224) it prints
    # "Forward/backward pass size (MB): 355.66" for ResNet-50 (calculators.md §1.2); our rows give it exactly.
    model = archcalc.load(str(SPECS / "resnet50.yaml"))
    acts = activations(model.graph)
    with_params = sum(acts[node] for node in model.graph.layers() if model.counts[node].trainable)
    assert 2 * with_params * 2 * 4 == 355_663_488
    assert nbytes(355_663_488) == "355,663,488 B (355.66 MB)"


def test_torchinfo_single_input_net_sizes():
    # batch 7: F/B 2 × 49,700 × 4 B = 0.40 MB; params 21,840 × 4 = 87,360 B (calculators.md §4.4)
    model = archcalc.loads("input: [1, 28, 28]\nlayers:\n  - conv2d: {out: 10, kernel: 5}\n  - maxpool2d: 2\n  - relu\n"
                           "  - conv2d: {out: 20, kernel: 5}\n  - dropout\n  - maxpool2d: 2\n  - relu\n  - flatten\n"
                           "  - linear: 50\n  - relu\n  - dropout\n  - linear: 10\n")
    acts = activations(model.graph)
    assert sum(acts[n] for n in model.graph.layers() if model.counts[n].trainable) * 7 == 49_700
    assert memory(model.graph, model.trainable_params, 0, batch=7).params == 87_360


def test_residual_sums_and_concats_are_new_tensors():
    model = archcalc.loads("input: [8, 6, 6]\nlayers:\n  - residual:\n      body: [relu]\n      shortcut: identity\n"
                           "  - concat:\n      - [relu]\n      - []\n  - flatten\n  - identity\n")
    acts = activations(model.graph)
    residual, concat, flatten, identity = model.graph.root.items
    assert acts[residual] == 288 + 288  # the ReLU's output and the sum
    assert acts[concat] == 288 + 576  # the ReLU's output and the joined [16, 6, 6]
    assert acts[flatten] == acts[identity] == 0
    assert all(isinstance(n, LayerNode) for n in (flatten, identity))


SPEC = "input: [10]\nlayers: [linear: 5]\ntrain: {{optimizer: {optimizer}, batch_size: 4}}\n"


@pytest.mark.parametrize(("optimizer", "slots", "text"), [
    ("sgd", 0, "sgd: no state"),
    ("{sgd: {momentum: 0.9}}", 1, "sgd (momentum 0.9): momentum_buffer"),
    ("adam", 2, "adam: exp_avg, exp_avg_sq"),
    ("{adamw: {amsgrad: true}}", 3, "adamw: exp_avg, exp_avg_sq, max_exp_avg_sq"),
    ("adagrad", 1, "adagrad: sum"),
    ("rmsprop", 1, "rmsprop: square_avg"),
    ("{rmsprop: {momentum: 0.9, centered: true}}", 3, "rmsprop: square_avg, momentum_buffer, grad_avg"),
    ("adadelta", 2, "adadelta: square_avg, acc_delta"),
    ("adamax", 2, "adamax: exp_avg, exp_inf"),
    ("{nadam: {decoupled_weight_decay: true}}", 2, "nadam: exp_avg, exp_avg_sq"),
    ("radam", 2, "radam: exp_avg, exp_avg_sq"),
])
def test_optimizer_state_follows_torch_optim(run, write, optimizer, slots, text):
    data = summary_json(run, write(SPEC.format(optimizer=optimizer)))
    training = data["memory"]["training"]
    params = 4 * 55  # (10×5)+5 fp32 parameters
    # a 0-d fp32 `step` per parameter tensor (and NAdam's `mu_product` beside it)
    steps = (2 if "nadam" in text else 1) * 2 * 4 if slots and "sgd" not in text else 0
    assert (training["optimizer_slots"], training["optimizer"]) == (slots, text)
    assert training["optimizer_state"] == slots * params + steps
    assert training["gradients"] == params
    assert training["batch_size"] == 4  # the spec's train.batch_size
    # saved for backward: linear's input (4×10 fp32), cross-entropy's log-probabilities (4×5 fp32), the class
    # indices (4 int64) and its 0-d total_weight; the temporary bound: the linear's input + output gradients
    saved = 4 * 10 * 4 + 4 * 5 * 4 + 4 * 8 + 4
    assert training["activations"] == saved
    assert training["training_total"] == (2 + slots) * params + steps + saved + (10 + 5) * 4 * 4


def test_every_optimizer_has_a_state_entry():
    from archcalc.calc.memory import OPTIMIZER_STATE
    from archcalc.spec.train import OPTIMIZERS

    assert set(OPTIMIZER_STATE) == set(OPTIMIZERS)


def test_no_train_section_has_no_optimizer_state():
    model = archcalc.load(str(SPECS / "vgg16.yaml"))
    assert optimizer_slots(None) == (0, "no train: section, so no optimizer state")
    assert optimizer_slots(model.spec.train) == (1, "sgd (momentum 0.9): momentum_buffer")


def test_batch_size_option_sets_the_training_batch_too(run):
    default = summary_json(run, SPECS / "resnet50.yaml")
    assert default["memory"]["forward"]["batch_size"] == 1
    assert default["memory"]["training"]["batch_size"] == 256  # train.batch_size
    chosen = summary_json(run, SPECS / "resnet50.yaml", "--batch-size", "2")
    forward, training = chosen["memory"]["forward"], chosen["memory"]["training"]
    assert forward["batch_size"] == training["batch_size"] == 2
    assert forward["activations"] == 2 * 4 * 37_559_784
    # what autograd saves (tests/test_plan.py measures it): 85,913,512 B per image, 212,484 B of BN statistics
    assert training["activations"] == 2 * 85_913_512 + 212_484
    assert training["training_total"] == (3 * 4 * RESNET50 + 212_904 + training["activations"]
                                          + training["temporary"])


def test_training_total_is_the_sum_of_its_parts(run):
    training = summary_json(run, SPECS / "alexnet.yaml")["memory"]["training"]
    parts = ("params", "buffers", "activations", "temporary", "gradients", "optimizer_state")
    assert training["training_total"] == sum(training[k] for k in parts)


def test_symbolic_memory_is_a_formula(run):
    data = summary_json(run, SPECS / "symbolic-cnn.yaml")
    assert data["memory"]["forward"]["input"] == "12*H*W"
    assert data["memory"]["params_bytes"]["int8"] == "320*floor(H/4)*floor(W/4) + 5098"


@pytest.mark.parametrize("dtype", ["fp32", "fp16"])
def test_buffer_bytes_are_torchs(run, dtype):
    torch = pytest.importorskip("torch")
    module = archcalc.to_torch(SPECS / "resnet18.yaml")
    if dtype == "fp16":
        module = module.half()  # the running statistics halve; num_batches_tracked stays int64
    expected = sum(b.numel() * b.element_size() for b in module.buffers())
    assert any(b.dtype == torch.int64 for b in module.buffers())
    assert summary_json(run, SPECS / "resnet18.yaml", "--dtype", dtype)["memory"]["buffers_bytes"] == expected


def test_huge_numbers_keep_proper_units():
    from archcalc.report.table import si

    assert [si(4_089_184_256 * 10**12), si(4 * 10**33), si(999)] == ["4.09Z", "4.00e+33", "999"]
    assert [nbytes(150_239_136 * 10**12), nbytes(10**34)] == [
        "150,239,136,000,000,000,000 B (150.24 EB)", f"{10**34:,} B (1.00e+34 B)"]
