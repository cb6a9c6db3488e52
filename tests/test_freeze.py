"""``trainable: false`` (docs/spec.md#trainable-false-frozen-layers): frozen parameters in the counts, the reports,
the torch module and its generated source, the NumPy model and file, both trainers, the plan, the importer and lint,
each against real torch."""

from __future__ import annotations

import json
import runpy

import numpy as np
import pytest

import archcalc
from archcalc.errors import SpecError

torch = pytest.importorskip("torch")

#: 8 → linear 16 (144) → batchnorm1d (32, buffers 33) → relu → linear 3 (51)
HEAD = "input: [8]\nblocks:\n  fc(d): [linear: d, relu]\n  wrap(body): [{body: {trainable: false}}]\nlayers:\n"


def counts(text: str) -> tuple[int, int, int]:
    """(trainable, non-trainable, total) as archcalc counts them, after checking them against the torch module's
    parameters and their requires_grad."""
    model = archcalc.loads(text)
    module = archcalc.to_torch(model)
    trainable = sum(p.numel() for p in module.parameters() if p.requires_grad)
    total = sum(p.numel() for p in module.parameters())
    assert (model.trainable_params, model.total_params) == (trainable, total)
    assert model.non_trainable_params == total - trainable
    return model.trainable_params, model.non_trainable_params, model.total_params


@pytest.mark.parametrize("layers, frozen, total", [
    ("  - linear: {out: 16, trainable: false}\n  - linear: 3\n", 144, 144 + 51),  # among the arguments
    ("  - {linear: 16, trainable: false}\n  - linear: 3\n", 144, 144 + 51),  # beside the kind
    ("  - {name: body, trainable: false, layers: [linear: 16, batchnorm1d, relu]}\n  - linear: 3\n", 176, 176 + 51),
    ("  - {repeat: 2, trainable: false, layers: [linear: 8]}\n  - linear: 3\n", 144, 144 + 27),
    ("  - fc: {d: 16, trainable: false}\n  - linear: 3\n", 144, 144 + 51),  # a block use, among its arguments
    ("  - {fc: 16, trainable: false}\n  - linear: 3\n", 144, 144 + 51),  # beside its arguments in order
    ("  - {fc: 16, inline: true, trainable: false}\n  - linear: 3\n", 144, 144 + 51),
    ("  - {residual: [linear: 8], trainable: false}\n  - linear: 3\n", 72, 72 + 27),
    ("  - {concat: [[linear: 4], [linear: 4]], trainable: false}\n  - linear: 3\n", 72, 72 + 27),
    ("  - concat: {branches: [[linear: 4], [linear: 4]], trainable: false}\n  - linear: 3\n", 72, 72 + 27),
    ("  - wrap: {body: [linear: 8, relu]}\n  - linear: 3\n", 72, 72 + 27),  # a layer parameter written frozen
    # the projection of shortcut: auto is built inside the residual, so it is frozen with it
    ("  - {residual: {body: [linear: 4], shortcut: auto}, trainable: false}\n  - linear: 3\n", 36 + 32 + 8, 76 + 15),
    # the nearest setting wins: the group is frozen, its first layer trains
    ("  - name: body\n    trainable: false\n    layers: [linear: {out: 16, trainable: true}, batchnorm1d]\n"
     "  - linear: 3\n", 32, 144 + 32 + 51),
    # a branch from an earlier layer's output, its layers frozen (an unnamed group adds no level)
    ("  - {linear: 8, name: a}\n  - concat: [{from: a, layers: [linear: 4], trainable: false}, []]\n"
     "  - linear: 3\n", 36, 72 + 36 + 39),
    ("  - linear: 16\n  - linear: 3\n", 0, 144 + 51),
])
def test_every_place_trainable_is_written_freezes_what_is_inside(layers, frozen, total):
    assert counts(HEAD + layers) == (total - frozen, frozen, total)


def test_blocks_and_repeats_on_a_real_network_match_requires_grad():
    """ResNet-18 (11,689,512 parameters) with its stem and first two stages frozen, as a transfer-learning
    recipe does it: torchvision's count, and exactly the stem's and stages' parameters frozen."""
    text = (archcalc.load("specs/resnet18.yaml").spec.source
            .replace("- conv2d: {out: 64, kernel: 7, stride: 2, padding: 3, bias: false, name: conv1}",
                     "- {conv2d: {out: 64, kernel: 7, stride: 2, padding: 3, bias: false, name: conv1}, "
                     "trainable: false}")
            .replace("- batchnorm2d: {name: bn1}\n  - relu", "- batchnorm2d: {name: bn1, trainable: false}\n  - relu")
            .replace("{name: layer1, layers:", "{name: layer1, trainable: false, layers:")
            .replace("{name: layer2, layers: [basic: [128, 2], basic: 128]}",
                     "{name: layer2, layers: [{basic: [128, 2], trainable: false}, basic: {c: 128, trainable: "
                     "false}]}"))
    trainable, frozen, total = counts(text.replace("{H: 224, W: 224}", "{H: 32, W: 32}"))
    assert total == 11_689_512 and frozen == 9_408 + 128 + 147_968 + 525_568 and trainable == total - frozen


def test_tied_weights_are_one_tensor_so_both_layers_take_one_setting():
    tied = ("input: [T]\nsymbols: {T: 4}\nlayers:\n  - {embedding: {vocab: 50, dim: 8, name: wte}, trainable: false}\n"
            "  - {linear: {out: 50, bias: false, tie: wte}, trainable: false}\n")
    assert counts(tied) == (0, 400, 400)
    with pytest.raises(SpecError) as error:
        archcalc.loads(tied.replace("tie: wte}, trainable: false}", "tie: wte}}"), path="t.yaml")
    assert (str(error.value.loc), error.value.message, error.value.hint) == (
        "t.yaml:5:42", "linear: ties its weight to 'wte', but this layer is trainable and 'wte' is frozen: a tied "
        "weight is one tensor, which learns or does not", "give both layers the same trainable: setting")


@pytest.mark.parametrize("layers, at, message, hint", [
    ("  - linear: {out: 3, trainable: no}\n", "6:33", "'trainable' must be true or false, got 'no'",
     "YAML 1.2 reads 'no' as a word, not a boolean: write false"),
    ("  - {linear: 3, trainable: 0}\n", "6:28", "'trainable' must be true or false, got 0",
     "trainable: false freezes the parameters of everything it is written on (true, the default, trains them)"),
    ("  - {name: g, trainable: [false], layers: [linear: 3]}\n", "6:26", "'trainable' must be true or false, got "
     "a list", "trainable: false freezes the parameters of everything it is written on (true, the default, trains "
     "them)"),
    ("  - fc: {d: 3, trainable: off}\n", "6:27", "'trainable' must be true or false, got 'off'",
     "YAML 1.2 reads 'off' as a word, not a boolean: write false"),
    ("  - {linear: {out: 3, trainable: false}, trainable: false}\n", "6:53", "'trainable' is given twice: beside "
     "linear and among its arguments", "keep one of them"),
    ("  - {if: true, then: [linear: 3], trainable: false}\n", "6:35", "unexpected key 'trainable' beside 'if'",
     "allowed here: if, then, else"),
    ("  - linear: {out: 3, requires_grad: false}\n", "6:22", "linear has no argument 'requires_grad'",
     "write trainable: false (beside or among the arguments of any layer, block use, repeat or group): it freezes "
     "their parameters"),
])
def test_a_bad_setting_is_a_located_error(layers, at, message, hint):
    with pytest.raises(SpecError) as error:
        archcalc.loads(HEAD + layers, path="x.yaml")
    assert (str(error.value.loc), error.value.message, error.value.hint) == (f"x.yaml:{at}", message, hint)


def test_a_block_parameter_cannot_be_named_trainable(run, write):
    spec = write("input: [4]\nblocks:\n  fc(d, trainable): [linear: d]\nlayers: [fc: [3, 1]]\n")
    result = run("params", spec)
    assert result.exit_code == 2
    assert result.stderr == f"{spec}:3:9: error: block parameter name 'trainable' is reserved: 'trainable: false' " \
        "on a use freezes the block's layers\n  hint: choose another name\n"


# -- reports ------------------------------------------------------------------------------------------------

REPORTED = HEAD + "  - {name: body, trainable: false, layers: [linear: 16, batchnorm1d, relu]}\n  - linear: 3\n"


def test_params_moves_frozen_parameters_to_non_trainable_with_the_total_unchanged(run, write):
    spec = write(REPORTED)
    table = run("params", spec).stdout
    assert "Layer   Kind         Output shape  Params  Frozen       %  Buffers" in table
    assert "├─body  group        [16]             176     176  77.53%       33" in table
    assert table.endswith("Trainable params       51\nNon-trainable params  176\nTotal params          227\n"
                          "Buffers                33\nInput                 [8]\nOutput                [3]\n")
    data = json.loads(run("params", spec, "--format", "json").stdout)
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"], data["buffers"]) == \
        (227, 51, 176, 33)
    assert [(row["path"], row["params"], row["frozen"]) for row in data["layers"]] == \
        [("body.0", 144, 144), ("body.1", 32, 32), ("body.2", 0, 0), ("1", 51, 0)]
    explained = run("params", spec, "--explain").stdout.splitlines()
    assert explained[1] == "body.0     linear       (D_i×D)+D = (8×16)+16 = 144  (frozen)"
    assert explained[4] == "                        count) (frozen)"  # batch norm's, wrapped
    assert explained[-3:] == ["total                   144 + 32 + 51 = 227",
                              "frozen                  144 + 32 = 176",
                              "trainable               227 − 176 = 51"]
    csv = run("params", spec, "--format", "csv", "--columns", "params,frozen").stdout.splitlines()
    assert csv[:3] == ["path,params,frozen_params,depth,leaf", "body,176,176,1,false", "body.0,144,144,2,true"]
    unfrozen = run("params", write(REPORTED.replace("trainable: false, ", ""))).stdout
    assert "Frozen" not in unfrozen and "Non-trainable params    0\n" in unfrozen


def test_summary_and_memory_give_frozen_parameters_weights_but_no_gradient_or_optimizer_state(run, write):
    text = REPORTED + "train: {optimizer: adam}\n"
    summary = run("summary", write(text)).stdout
    assert "Total params                 227\nTrainable params              51\nNon-trainable params         176\n" \
        in summary
    assert "Params size (fp32)         908 B\n" in summary  # every parameter is a weight: 227 × 4
    assert "  gradients                204 B\n" in summary  # 51 × 4
    assert "  optimizer state          416 B\n" in summary  # adam: 2 × 51 × 4 + a 4-byte step per tensor (2)
    assert "a gradient per trainable parameter" in summary.replace("\n      ", " ")


def test_a_frozen_layer_shows_in_diff_and_diagrams(run, write):
    old, new = write(REPORTED.replace("trainable: false, ", "")), write(REPORTED)
    text = " ".join(run("diff", old, new).stdout.split())
    assert "Params 227 (unchanged) Trainable params 227 → 51 (-176, -77.53%)" in text
    data = json.loads(run("diff", old, new, "--format", "json").stdout)
    assert [(n["path"], n["details"]) for n in data["nodes"]] == [
        ("body", ["2 layers changed"]), ("body.0", ["trainable → frozen"]), ("body.1", ["trainable → frozen"])]
    assert data["totals"]["trainable_params"] == {"old": 227, "new": 51, "delta": -176}
    assert "176 params, frozen" in run("diagram", new).stdout


# -- torch: the module, its generated source, the optimizer ------------------------------------------------

def test_generated_source_freezes_what_the_runtime_module_freezes_and_optimizes_the_rest(tmp_path, run, write):
    spec = write(REPORTED.replace("layers:\n", "layers:\n  - {class_token: {name: cls}, trainable: false}\n", 1)
                 .replace("input: [8]", "input: [5, 8]") + "  - select\n" + "train: {optimizer: adam}\n")
    model = archcalc.load(spec)
    runtime = archcalc.to_torch(model)
    out = tmp_path / "frozen_torch.py"
    assert run("export", spec, "--to", "torch", "-o", out).exit_code == 0
    source = out.read_text(encoding="utf-8")
    assert '    model.get_parameter("cls").requires_grad_(False)\n' in source
    assert '    model.get_submodule("body").requires_grad_(False)\n' in source
    assert "(p for p in model.parameters() if p.requires_grad)," in source
    namespace = runpy.run_path(str(out))
    built = namespace["build_model"]()
    flags = {name: p.requires_grad for name, p in runtime.named_parameters()}
    assert {name: p.requires_grad for name, p in built.named_parameters()} == flags
    assert sum(not flag for flag in flags.values()) == 5  # the token, body.0's weight and bias, body.1's γ and β
    held = [p for group in namespace["build_optimizer"](built).param_groups for p in group["params"]]
    assert sum(p.numel() for p in held) == model.trainable_params == 51


def test_numpy_gradients_are_torch_autograds_for_the_parameters_that_learn():
    """float64: the NumPy backward of a network frozen at its start and in its middle gives the gradients of the
    parameters that learn, in the optimizer's order, as autograd does; the frozen prefix runs no backward."""
    from archcalc.backends.numpy.build import build_model

    model = archcalc.loads("input: [6]\nlayers:\n  - {name: stem, trainable: false, layers: [linear: 8, tanh]}\n"
                           "  - linear: 8\n  - {layernorm: {}, trainable: false}\n  - {linear: 8, trainable: false}\n"
                           "  - gelu\n  - linear: 3\n")
    net = build_model(model.graph, 0, dtype="float64")
    module = archcalc.to_torch(model).double()
    module.load_state_dict({k: torch.from_numpy(v) for k, v in net.state_dict().items()})
    x, r = np.random.default_rng(1).normal(size=(5, 6)), np.random.default_rng(2).normal(size=(5, 3))
    out = net.forward(x)
    net.backward(r, input_grad=False)
    (module(torch.from_numpy(x)) * torch.from_numpy(r)).sum().backward()
    learning = [p for p in module.parameters() if p.requires_grad]
    assert [p.size for p in net.trainable_parameters()] == [p.numel() for p in learning] == [64, 8, 24, 3]
    for ours, theirs in zip(net.gradients(), learning, strict=True):
        np.testing.assert_allclose(ours, theirs.grad.numpy(), rtol=1e-12, atol=1e-12)
    assert all(p.grad is None for p in module.parameters() if not p.requires_grad)
    stem = dict(net.named_modules())["stem.0"]
    assert not hasattr(stem, "grads") or not stem.grads  # nothing before the first layer that learns ran backward
    np.testing.assert_allclose(out, module(torch.from_numpy(x)).detach().numpy(), rtol=1e-12)


TRAINED = """input: [8]
layers:
  - name: stem
    trainable: false
    layers: [linear: 16, batchnorm1d, relu]
  - linear: 16
  - relu
  - {linear: 3, trainable: true}
train: {classes: 3, optimizer: {OPTIMIZER}, epochs: 3, batch_size: 16, weight_decay: 0.1, l1: 0.001, seed: 4}
"""


@pytest.mark.parametrize("backend", ["numpy", "torch"])
@pytest.mark.parametrize("optimizer", ["{adamw: {lr: 0.01}}", "{sgd: {lr: 0.1, momentum: 0.9}}"])
def test_a_frozen_prefix_trains_and_its_weights_stay_bit_identical(tmp_path, run, write, backend, optimizer):
    """Both trainers: weight decay (coupled, and AdamW's decoupled) and the L1 term never touch a frozen weight;
    batch norm under trainable: false still updates its running statistics in training mode, as torch's does."""
    spec = write(TRAINED.replace("{OPTIMIZER}", optimizer))
    rng = np.random.default_rng(0)
    x = rng.normal(size=(120, 8)).astype(np.float32)
    np.savez(tmp_path / "data.npz", x=x, y=(x[:, 0] > 0).astype(np.int64) + (x[:, 1] > 0))
    result = run("train", spec, "--backend", backend, "--data", tmp_path / "data.npz", "-o", tmp_path / "w.npz")
    assert result.exit_code == 0, result.output
    model = archcalc.load(spec)
    if backend == "numpy":
        from archcalc.backends.numpy.build import build_model

        start = build_model(model.graph, np.random.default_rng(4)).state_dict()
    else:
        torch.manual_seed(4)
        start = {k: v.numpy() for k, v in archcalc.to_torch(model).state_dict().items()}
    with np.load(tmp_path / "w.npz") as trained:
        changed = {k for k in trained.files if not np.array_equal(trained[k], start[k])}
    assert changed == {"stem.1.running_mean", "stem.1.running_var", "stem.1.num_batches_tracked",
                       "1.weight", "1.bias", "3.weight", "3.bias"}


def test_onnx_is_the_same_graph_whether_layers_are_frozen_or_not(tmp_path, run, write):
    onnx = pytest.importorskip("onnx")
    graphs = []
    for i, text in enumerate((REPORTED, REPORTED.replace("trainable: false, ", ""))):
        out = tmp_path / f"m{i}.onnx"
        assert run("export", write(text), "--to", "onnx", "-o", out).exit_code == 0
        graph = onnx.load(out).graph
        graphs.append(([n.op_type for n in graph.node], [(t.name, list(t.dims)) for t in graph.initializer]))
    assert graphs[0] == graphs[1]


# -- the plan: gradients, optimizer state, saved activations and FLOPs, against torch ----------------------

PLANNED = """input: [1, 8, 8]
layers:
  - name: stem
    trainable: false
    layers: [conv2d: {out: 4, kernel: 3, padding: 1}, batchnorm2d, relu]
  - {linear: 8, trainable: false}
  - conv2d: {out: 4, kernel: 3}
  - relu
  - {conv2d: {out: 4, kernel: 3}, trainable: false}
  - {layernorm: {axes: 3}, trainable: false}
  - flatten
  - {linear: 16, trainable: false}
  - gelu
  - linear: 3
"""


def test_the_plan_of_a_frozen_network_is_what_a_torch_step_holds_and_computes(write):
    from torch.utils.flop_counter import FlopCounterMode

    from archcalc.calc.plan import Options, optimizer_bytes, param_tensors, plan
    from tests.test_plan import _saved

    spec = write(PLANNED)
    model = archcalc.load(spec)
    module = archcalc.to_torch(model)
    learning = [p for p in module.parameters() if p.requires_grad]
    optimizer = torch.optim.Adam(learning)
    x = torch.randn(2, 1, 8, 8)
    with FlopCounterMode(display=False) as flops:
        torch.nn.functional.cross_entropy(module(x), torch.tensor([1, 2])).backward()
    optimizer.step()
    state = sum(t.nbytes for s in optimizer.state.values() for t in s.values() if torch.is_tensor(t))
    assert optimizer_bytes("adam", param_tensors(model.graph), 4) == state
    p = plan(model.graph, Options(precision="fp32", optimizer="adam", batch=2))
    assert p.gradients == 4 * sum(q.numel() for q in learning) == 4 * model.trainable_params
    assert p.weights == 4 * model.total_params and p.optimizer == state
    assert 2 * p.training_flops == flops.get_total_flops()  # no backward before the first layer that learns,
    real, predicted = _saved(spec, "none", torch.tensor([1, 2]))  # no weight gradients in frozen ones
    assert predicted == real


def test_frozen_linear_and_attention_save_only_what_their_inputs_gradients_need(write):
    from tests.test_plan import _saved

    spec = write("input: [6, 16]\nlayers:\n  - linear: 32\n  - {linear: 16, trainable: false}\n"
                 "  - {layer_scale: {axis: -1}, trainable: false}\n"
                 "  - {multihead_attention: {heads: 4, causal: true}, trainable: false}\n"
                 "  - {multihead_attention: {heads: 4, layout: torch}, trainable: false}\n"
                 "  - {multihead_attention: {heads: 4, rotary: half}, trainable: false}\n  - gelu\n  - linear: 5\n")
    real, predicted = _saved(spec, "none", torch.tensor([1, 2] * 6))
    assert predicted == real


# -- lint and train: nothing to train ----------------------------------------------------------------------

def test_a_spec_with_nothing_trainable_is_refused_by_lint_and_train(run, write):
    spec = write(HEAD + "  - {name: body, trainable: false, layers: [linear: 16, relu]}\n  - {linear: 3, "
                 "trainable: false}\ntrain: {classes: 3}\n")
    lint = run("lint", spec, "--format", "concise", "--isolated")
    assert lint.exit_code == 1
    assert f"{spec}:6:29: T115 [nothing-trainable] every parameter of the network (195) is frozen by trainable: " \
           "false, so training with sgd has nothing to change" in lint.stdout
    train = run("train", spec)
    assert train.exit_code == 2
    assert train.stderr.splitlines() == [
        f"{spec}:6:29: error: every parameter of the network (195) is frozen by trainable: false: there is nothing "
        "to train", "  hint: set trainable: true on the part to train, such as the new head (the nearest setting "
        "wins)"]



@pytest.mark.parametrize("target", ["torch", "numpy"])
def test_an_export_that_would_train_nothing_is_refused_and_writes_nothing(run, write, tmp_path, target):
    """The exported file trains as the spec's train: section says; with everything frozen torch's optimizer
    refuses an empty parameter list (and the NumPy file would run epochs that change nothing)."""
    frozen = HEAD + "  - {name: body, trainable: false, layers: [linear: 16, relu, linear: 3]}\n"
    out = tmp_path / "model.py"
    result = run("export", "--to", target, write(frozen + "train: {classes: 3}\n"), "-o", out)
    assert result.exit_code == 2 and not out.exists()
    assert "is frozen by trainable: false: there is nothing to train" in result.stderr
    assert run("export", "--to", target, write(frozen), "-o", out).exit_code == 0  # a frozen model, for inference


def test_the_memory_check_names_all_the_parameters_frozen_ones_too(run, write, monkeypatch):
    monkeypatch.setattr("archcalc.cli.train.physical_memory", lambda: 2**30)
    spec = write("input: [64]\nlayers:\n  - linear: {out: 4000000, trainable: false}\n  - linear: 2\n"
                 "train: {classes: 2}\n")
    result = run("train", spec)
    assert result.exit_code == 2
    assert "this layer holds 260,000,000 of the 268,000,002 parameters" in result.stderr  # not "of the 8,000,002"


# -- import: requires_grad → trainable: false -----------------------------------------------------------------

FROZEN_MODEL = '''

class Frozen(Net):
    """Net with its stem and first block frozen whole, the second block's convolution alone, or (part) the head's
    bias alone."""

    def __init__(self, part=0):
        super().__init__()
        self.stem.requires_grad_(False)
        self.blocks[0].requires_grad_(False)
        self.blocks[1].conv.requires_grad_(False)
        if part:
            self.head.bias.requires_grad_(False)
'''


def test_an_imported_model_is_frozen_where_its_parameters_require_no_grad(tmp_path):
    import importlib.util
    import textwrap

    from click.testing import CliRunner

    from archcalc.cli import main
    from tests.test_import_torch import MODEL

    path = tmp_path / "model.py"
    path.write_text(textwrap.dedent(MODEL) + FROZEN_MODEL, encoding="utf-8")
    out = tmp_path / "spec.yaml"
    result = CliRunner().invoke(main, ["import", f"{path}:Frozen", "--input", "3,32,32", "-o", str(out)])
    assert result.exit_code == 0, result.output
    text = out.read_text(encoding="utf-8")
    # written once where a module is frozen whole, so block 0 stays a use of the block its siblings use
    assert "  - name: stem\n    trainable: false\n" in text and "      - block: {trainable: false}\n" in text
    assert "name: conv, trainable: false}" in text and text.count("trainable: false") == 3
    spec = importlib.util.spec_from_file_location("frozen_model", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    real = module.Frozen()
    ours = archcalc.to_torch(archcalc.load(str(out)))
    assert {n: p.requires_grad for n, p in ours.named_parameters()} == \
        {n: p.requires_grad for n, p in real.named_parameters()}
    assert archcalc.load(str(out)).trainable_params == sum(p.numel() for p in real.parameters() if p.requires_grad)
    partly = CliRunner().invoke(main, ["import", f"{path}:Frozen", "--args", '{"part": 1}', "--input", "3,32,32",
                                       "-o", str(tmp_path / "partly.yaml")])
    assert partly.exit_code == 2 and not (tmp_path / "partly.yaml").exists()
    line = text_line(path, "class Frozen")
    assert partly.stderr == (
        f"{path}:{line}:1: error: archcalc_user_model.Frozen: 'head' (Linear): its bias requires no grad but its "
        "weight does: a spec freezes whole layers (trainable: false), not some of a layer's parameters\n  hint: "
        "freeze the whole layer (module.requires_grad_(False)) or none of it before importing, and set "
        "requires_grad on the rest after archcalc.to_torch(spec)\n")


def text_line(path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1) if line.startswith(text))


def test_the_docs_example_counts_what_it_says_and_the_schema_takes_every_form():
    import jsonschema

    from archcalc.spec.schema import spec_schema
    from tests.conftest import ROOT
    from tests.test_schema import data

    text = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    example = text[text.index("name: frozen-backbone"):]
    assert counts(example[:example.index("```")]) == (9_610, 5_136, 14_746)
    validator = jsonschema.Draft202012Validator(spec_schema())

    def errors(spec: str) -> list[str]:
        return [e.message for e in validator.iter_errors(data(spec))]

    for layers in ("  - linear: {out: 3, trainable: false}\n", "  - {linear: 3, trainable: false}\n",
                   "  - {name: g, trainable: false, layers: [linear: 3]}\n",
                   "  - {repeat: 2, trainable: false, layers: [linear: 3]}\n", "  - fc: {d: 3, trainable: false}\n",
                   "  - {fc: 3, trainable: false, inline: true}\n", "  - {residual: [linear: 8], trainable: false}\n",
                   "  - concat: {branches: [[linear: 4], []], trainable: false}\n"):
        assert errors(HEAD + layers) == [], layers
    assert errors(HEAD + "  - linear: {out: 3, trainable: no}\n") != []
    assert errors(HEAD + "  - {fc: 3, trainable: false, inline: true, stage: 2}\n") != []  # one block use per item


def test_free_sizes_stay_formulas_frozen_or_not(run, write):
    spec = write("input: [D_i]\nsymbols: [D]\nlayers:\n  - {linear: D, trainable: false}\n  - relu\n  - linear: 3\n")
    data = json.loads(run("params", spec, "--format", "json").stdout)
    assert (data["total_params"], data["trainable_params"], data["non_trainable_params"]) == \
        ("D*D_i + 4*D + 3", "3*D + 3", "D*D_i + D")
    assert run("params", spec, "--explain").stdout.splitlines()[-3:-1] == [
        "frozen             D×D_i + D", "trainable          D×D_i + 4×D + 3 − (D×D_i + D) = 3×D + 3"]


def test_a_long_frozen_path_is_laid_out_as_ruff_formats_it(tmp_path, run, write):
    import subprocess
    import sys

    name = "a" * 70
    spec = write(f"input: [4]\nlayers:\n  - {{name: {name}, trainable: false, layers: [linear: 4]}}\n  - linear: 2\n")
    out = tmp_path / "long_torch.py"
    assert run("export", spec, "--to", "torch", "-o", out).exit_code == 0
    text = out.read_text(encoding="utf-8")
    assert f'    model.get_submodule(\n        "{name}"\n    ).requires_grad_(False)\n' in text
    # build_model() alone: the class above it has a long attribute that ruff would lay out otherwise (as before)
    built = text[text.index("def build_model"):text.index("    return model\n") + len("    return model\n")]
    proc = subprocess.run([sys.executable, "-m", "ruff", "format", "--isolated", "-"], input=built,
                          capture_output=True, text=True)
    assert proc.returncode == 0 and proc.stdout == built, proc.stdout + proc.stderr
