"""``archcalc export --to numpy``: one standalone file, trained in a process where archcalc cannot be imported."""

from __future__ import annotations

import ast
import json
import subprocess
import sys

import numpy as np
import pytest

import archcalc
from archcalc.backends.numpy import to_numpy
from archcalc.backends.numpy.source import render
from archcalc.errors import SpecError
from tests.conftest import ROOT, SPECS
from tests.numpy_torch import KITCHENS

EXAMPLE = ROOT / "docs" / "examples" / "digits_mlp_numpy.py"
#: runs code in a fresh interpreter where archcalc, torch and scikit-learn cannot be imported (a None entry in
#: sys.modules makes ``import`` fail), from a folder outside the repository
ISOLATED = ("import sys; sys.modules.update(archcalc=None, torch=None, sklearn=None); import runpy; "
            "sys.argv = sys.argv[1:] or ['-']; ")


def run_isolated(code: str, *args: str, cwd) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", ISOLATED + code, *map(str, args)], capture_output=True, text=True,
                          cwd=cwd, timeout=300)


def load_file(path) -> dict:
    """The exported module's namespace (imported, not run as a script)."""
    import runpy

    return runpy.run_path(str(path))


def test_export_writes_a_file_that_parses_and_imports_only_numpy(run, tmp_path):
    out = tmp_path / "model.py"
    result = run("export", SPECS / "digits-mlp.yaml", "--to", "numpy", "-o", out)
    assert result.exit_code == 0, result.output
    tree = ast.parse(out.read_text())
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom):
            imported.add(node.module)
    assert imported == {"__future__", "argparse", "math", "time", "numpy"}
    names = {n.name for n in tree.body if isinstance(n, (ast.ClassDef, ast.FunctionDef))}
    assert {"Linear", "ReLU", "Dropout", "Sequential", "CrossEntropyLoss", "Adam", "fit", "predict", "build_model",
            "save_weights", "load_weights"} <= names
    assert "Conv2d" not in names and "SGD" not in names  # only what this network uses


def test_export_refuses_to_overwrite_without_force(run, tmp_path):
    out = tmp_path / "model.py"
    out.write_text("keep me")
    result = run("export", SPECS / "seed-mlp.yaml", "--to", "numpy", "-o", out)
    assert result.exit_code == 2
    assert "already exists" in result.stderr and out.read_text() == "keep me"
    assert run("export", SPECS / "seed-mlp.yaml", "--to", "numpy", "-o", out, "--force").exit_code == 0
    assert "def build_model" in out.read_text()


def test_export_needs_concrete_symbols(run, tmp_path):
    result = run("export", SPECS / "symbolic-cnn.yaml", "--to", "numpy", "-o", tmp_path / "m.py")
    assert result.exit_code == 2 and "must have values" in result.stderr
    assert not (tmp_path / "m.py").exists()


@pytest.mark.parametrize("name", sorted(KITCHENS))
def test_exported_build_model_is_the_runtime_model(name, tmp_path):
    model = archcalc.loads(KITCHENS[name])
    path = tmp_path / "model.py"
    path.write_text(render(model))
    exported = load_file(path)["build_model"](seed=3, dtype="float64")
    runtime = to_numpy(model, seed=3, dtype="float64")
    assert list(exported.state_dict()) == list(runtime.state_dict())
    assert all(np.array_equal(v, runtime.state_dict()[k]) for k, v in exported.state_dict().items())
    x = np.random.default_rng(0).normal(size=(4, *model.input_shape))
    exported.eval(), runtime.eval()
    assert np.array_equal(exported.forward(x), runtime.forward(x))


def test_exported_lstm_classifier_matches_the_torch_runtime(run, tmp_path):
    """The LSTM classifier's NumPy file, in a process without archcalc or torch, gives for its weights
    what ``archcalc.to_torch`` gives for the same weights: the same names, layouts and gate order."""
    import torch

    from archcalc.backends.torch import to_torch
    from tests.export_cases import SIZES

    sizes = {**SIZES["lstm-classifier"], "E": 12, "H": 10}
    out = tmp_path / "model.py"
    result = run("export", SPECS / "lstm-classifier.yaml", "--to", "numpy", "--set",
                 ",".join(f"{k}={v}" for k, v in sizes.items()), "-o", out)
    assert result.exit_code == 0, result.output
    model = archcalc.load(str(SPECS / "lstm-classifier.yaml"), **sizes)
    ids = np.random.default_rng(0).integers(0, model.input_ids, size=(3, *model.input_shape))
    np.save(tmp_path / "ids.npy", ids)
    check = ("m = runpy.run_path('model.py'); net = m['build_model'](seed=1, dtype='float64').eval()\n"
             "import numpy as np\n"
             "np.savez('state.npz', **net.state_dict())\n"
             "np.save('out.npy', net.forward(np.load('ids.npy')))\n"
             "print(sorted(k for k in ('archcalc', 'torch') if sys.modules.get(k)))")
    proc = run_isolated(check, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    module = to_torch(model).double().eval()
    with np.load(tmp_path / "state.npz") as state:
        module.load_state_dict({k: torch.from_numpy(state[k]) for k in state.files}, strict=True)
    with torch.no_grad():
        expected = module(torch.from_numpy(ids)).numpy()
    assert expected.shape == (3, 4)
    assert np.abs(np.load(tmp_path / "out.npy") - expected).max() < 1e-6


@pytest.mark.parametrize("name", ["gpt2", "bert-base", "llama-3-8b"])
def test_exported_transformers_run_with_only_numpy(name, run, tmp_path):
    """GPT-2, BERT and Llama at a small ``--set``: the CLI writes a file that, in a process without
    archcalc or torch, builds the network (torch's state dict keys, GPT-2's tied head one array) and
    runs a forward pass on token ids that gives what the runtime model gives."""
    from tests.export_cases import SIZES

    sizes = ",".join(f"{k}={v}" for k, v in SIZES[name].items())
    out = tmp_path / "model.py"
    result = run("export", SPECS / f"{name}.yaml", "--to", "numpy", "--set", sizes, "-o", out)
    assert result.exit_code == 0, result.output
    model = archcalc.load(str(SPECS / f"{name}.yaml"), **SIZES[name])
    ids = np.random.default_rng(0).integers(0, model.input_ids, size=(2, *model.input_shape))
    np.save(tmp_path / "ids.npy", ids)
    check = ("m = runpy.run_path('model.py'); net = m['build_model'](seed=1, dtype='float64').eval()\n"
             "import numpy as np, json\n"
             "state = net.state_dict()\n"
             "np.save('out.npy', net.forward(np.load('ids.npy')))\n"
             "print(json.dumps({'keys': list(state), 'arrays': len({id(v) for v in state.values()}),"
             " 'modules': sorted(k for k in ('archcalc', 'torch') if sys.modules.get(k))}))")
    proc = run_isolated(check, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    from archcalc.backends.torch import to_torch

    assert data["keys"] == list(to_torch(model).state_dict()) and data["modules"] == []
    assert data["arrays"] == len(data["keys"]) - (name == "gpt2")  # lm_head holds transformer.wte's array
    runtime = to_numpy(model, seed=1, dtype="float64").eval()
    assert np.array_equal(np.load(tmp_path / "out.npy"), runtime.forward(ids))
    assert np.load(tmp_path / "out.npy").shape == (2, *model.output_shape)


@pytest.mark.parametrize("name, sizes", [pytest.param("unet", {"H": 16, "W": 16}, marks=pytest.mark.slow),  # 31M
                                         ("cnn1d-timeseries", {"T": 16})])
def test_exported_window_specs_run_with_only_numpy_and_match_torch(name, sizes, run, tmp_path):
    """The U-Net (max pools, up-convolutions, four skip connections) and the 1-D CNN at a small ``--set``: the
    CLI's file runs a forward pass in a process without archcalc or torch, and its network, given the same
    weights as ``archcalc.to_torch``'s module, computes what torch computes, in evaluation and (without dropout,
    whose masks each backend draws) in training."""
    import torch

    from archcalc.backends.torch import to_torch

    out = tmp_path / "model.py"
    result = run("export", SPECS / f"{name}.yaml", "--to", "numpy", "--set",
                 ",".join(f"{k}={v}" for k, v in sizes.items()), "-o", out)
    assert result.exit_code == 0, result.output
    model = archcalc.load(str(SPECS / f"{name}.yaml"), **sizes)
    x = np.random.default_rng(0).normal(size=(2, *model.input_shape))
    np.save(tmp_path / "x.npy", x.astype(np.float32))
    check = ("m = runpy.run_path('model.py'); net = m['build_model'](seed=1).eval()\n"
             "import numpy as np\n"
             "np.save('out.npy', net.forward(np.load('x.npy')))\n"
             "print(sorted(k for k in ('archcalc', 'torch') if sys.modules.get(k)))")
    proc = run_isolated(check, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "[]"
    net = load_file(out)["build_model"](seed=1, dtype="float64")
    reference = to_torch(model).double()
    reference.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in net.state_dict().items()})
    dropout = any(node.layer.kind == "dropout" for node in model.graph.layers())
    for training in (False, True) if not dropout else (False,):  # each backend draws its own dropout mask
        net.train(training), reference.train(training)
        expected = reference(torch.from_numpy(x)).detach().numpy()
        assert expected.shape == (2, *model.output_shape)
        assert np.abs(net.forward(x) - expected).max() < 1e-9 * max(1.0, np.abs(expected).max())
        if not training:  # the isolated float32 run, in evaluation (the running statistics as initialised)
            assert np.abs(np.load(tmp_path / "out.npy") - expected).max() < 1e-4 * max(1.0, np.abs(expected).max())


def test_example_in_docs_is_the_current_export():
    """docs/examples/digits_mlp_numpy.py is generated; regenerate it with
    ``archcalc export specs/digits-mlp.yaml --to numpy -o docs/examples/digits_mlp_numpy.py --force``."""
    assert EXAMPLE.read_text(encoding="utf-8") == render(archcalc.load(str(SPECS / "digits-mlp.yaml")))


def test_exported_digits_mlp_trains_with_only_numpy(tmp_path):
    from sklearn.datasets import load_digits

    digits = load_digits()
    order = np.random.default_rng(0).permutation(len(digits.target))
    test, train = order[:360], order[360:]
    np.savez(tmp_path / "train.npz", x=digits.data[train] / 16, y=digits.target[train])
    np.savez(tmp_path / "test.npz", x=digits.data[test] / 16, y=digits.target[test])
    (tmp_path / "digits_mlp.py").write_text(EXAMPLE.read_text(encoding="utf-8"))

    cli = run_isolated("runpy.run_path('digits_mlp.py', run_name='__main__')", "digits_mlp.py", "train.npz",
                       "-o", "weights.npz", cwd=tmp_path)
    assert cli.returncode == 0, cli.stderr
    assert "best epoch" in cli.stdout and (tmp_path / "weights.npz").exists()

    check = ("m = runpy.run_path('digits_mlp.py'); model = m['build_model']()\n"
             "m['load_weights'](model, 'weights.npz')\n"
             "import numpy as np, json\n"
             "with np.load('test.npz') as d: x, y = d['x'].astype(np.float32), d['y']\n"
             "p = m['predict'](model, x)\n"
             "print(json.dumps({'accuracy': float((p.argmax(1) == y).mean()),"
             " 'modules': sorted(k for k in ('archcalc', 'torch', 'sklearn', 'scipy') if sys.modules.get(k))}))")
    result = run_isolated(check, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert data["accuracy"] >= 0.95
    assert data["modules"] == []


Q3 = '"' * 3
HOSTILE = "\n".join([
    f"name: 'x{Q3}; import os; os.system(\"touch PWNED\"); {Q3}'",
    "input: [3]",
    "layers:",
    "  - linear: {out: 4, name: '''); import os as o; getattr(o, \"system\")(\"touch PWNED\"); ('''}",
    r'''  - relu: {name: "\n\"\"\"\nimport os\ngetattr(os, 'system')('touch PWNED')\n#"}''',
    "  - linear: {out: 2, name: __class__}",
    "  - softmax: {name: build_model}",
])


def test_hostile_names_stay_inert_strings(run, write, tmp_path):
    out = tmp_path / "model.py"
    result = run("export", write(HOSTILE), "--to", "numpy", "-o", out)
    assert result.exit_code == 0, result.output
    ast.parse(out.read_text())
    proc = run_isolated("import json; m = runpy.run_path('model.py')\n"
                        "print(json.dumps([list(m['build_model'](seed=0).state_dict()), m['NAME']]))", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert not (tmp_path / "PWNED").exists()
    model = archcalc.loads(HOSTILE)
    keys, name = json.loads(proc.stdout)
    assert keys == list(to_numpy(model).state_dict())
    assert keys[0] == '\'); import os as o; getattr(o, "system")("touch PWNED"); (\'.weight'
    assert name == model.name and name.startswith('x"""')
    assert [n.name for n in model.graph.layers()][1].startswith("\n")


@pytest.mark.parametrize("optimizer", [
    "{sgd: {lr: 0.1, momentum: 0.9, nesterov: true}}", "{adagrad: {lr_decay: 0.01}}",
    "{rmsprop: {centered: true, momentum: 0.5}}", "{adam: {amsgrad: true}}", "adamw", "{adadelta: {rho: 0.95}}",
    "{adamax: {lr: 0.01}}", "{nadam: {momentum_decay: 0.01}}", "{nadam: {decoupled_weight_decay: true}}",
    "{radam: {lr: 0.01}}", "{radam: {decoupled_weight_decay: true}}"])
def test_the_exported_optimizer_steps_as_torch_optim(optimizer, tmp_path):
    """The file's own copy of the optimizer, built by its build_optimizer with the spec's hyperparameters and
    weight decay, against torch.optim's class on the same float64 weights and gradients: 30 steps to 1e-12."""
    import torch

    from archcalc.backends.torch.training import OPTIMIZERS

    model = archcalc.loads(f"input: [4]\nlayers: [linear: 3]\ntrain: {{optimizer: {optimizer}, weight_decay: 0.01}}\n")
    path = tmp_path / "model.py"
    path.write_text(render(model), encoding="utf-8")
    namespace = load_file(path)
    net = namespace["build_model"](seed=0, dtype="float64")
    ours = namespace["build_optimizer"](net)
    train = model.spec.train
    params = [np.asarray(p) for p in net.parameters()]
    start = [p.copy() for p in params]
    tensors = [torch.tensor(p.copy(), requires_grad=True) for p in params]
    theirs = OPTIMIZERS[train.optimizer.name](tensors, weight_decay=train.weight_decay, **train.optimizer.hyper)
    rng = np.random.default_rng(0)
    for _ in range(30):
        grads = [rng.normal(size=p.shape) for p in params]
        ours.step(grads)
        for g, t in zip(grads, tensors):
            t.grad = torch.from_numpy(g)
        theirs.step()
        assert max(float(np.abs(p - t.detach().numpy()).max()) for p, t in zip(params, tensors)) < 1e-12
    assert all(np.abs(p - p0).max() > 1e-3 for p, p0 in zip(params, start))


@pytest.mark.slow
def test_generated_files_are_ruff_clean(tmp_path):
    """The shipped specs, the export test specs, the parity kitchen sinks and a network without weights
    (which draws no random numbers), under the repository's ruff configuration; the PyTorch export's own
    test runs the same check on its files."""
    pytest.importorskip("ruff")
    from tests.conftest import shipped_specs
    from tests.export_cases import SIZES

    texts = {spec.stem: spec.read_text(encoding="utf-8")
             for spec in [*shipped_specs(), *sorted((ROOT / "tests" / "specs" / "export").glob("*.yaml"))]}
    texts |= {**KITCHENS, "no-weights": "input: [3, 8, 8]\nlayers: [maxpool2d: 2, flatten]\n"}
    sizes = {"H": 32, "W": 32, "D_i": 50, "D": 30, "D_o": 3}
    refused = 0
    for name, text in texts.items():
        model = archcalc.loads(text)
        given = {**sizes, **SIZES.get(name, {})}  # a shipped spec's own small sizes (its T, its V) where it has them
        model = archcalc.loads(text, **{k: given[k] for k in model.graph.free})
        try:
            code = render(model)
        except SpecError as e:  # a kind NumPy cannot compute yet (tests/kinds.py records which)
            assert e.code == "export-unsupported", e
            refused += 1
            continue
        (tmp_path / f"{name.replace('-', '_')}.py").write_text(code, encoding="utf-8")
    proc = subprocess.run([sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"),
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert len(list(tmp_path.glob("*.py"))) == len(texts) - refused >= 20


@pytest.mark.parametrize("spec, says", [
    ("input: [4]\nlayers: [linear: 3]\n", "scores (logits, for a classifier), not\nprobabilities: the spec ends in "
     "linear."),
    ("input: [4]\nlayers: [linear: 3, softmax]\n", "probabilities, as the spec ends in\nsoftmax."),
    ("input: [4]\nlayers: [linear: 1, sigmoid]\n", "probabilities (each in (0, 1)), as the\nspec ends in sigmoid."),
])
def test_the_docstring_says_what_predict_returns(spec, says):
    text = render(archcalc.loads(spec))
    assert f"``predict`` returns the network's output: {says}" in text
    assert "scale them as they were scaled for any weights you\nload (``archcalc train --data digits`` divides" in text


@pytest.mark.parametrize("scaling", ["rotary_scaling: llama3, rotary_factor: 8.0, original_positions: 16",
                                     "rotary_scaling: yarn, rotary_factor: 4.0, original_positions: 16"])
def test_an_exported_rope_scaled_decoder_runs_with_only_numpy(scaling, run, write, tmp_path):
    """The scaled rotary frequencies come from archcalc.backends.rope, which the file must carry with it."""
    spec = write("input: [T]\nsymbols: {T: 40}\nlayers:\n  - embedding: {vocab: 50, dim: 32}\n"
                 "  - residual: [rmsnorm, multihead_attention: {heads: 2, causal: true, rotary: half, "
                 f"{scaling}}}]\n  - linear: 50\n")
    out = tmp_path / "model.py"
    assert run("export", spec, "--to", "numpy", "-o", out).exit_code == 0
    ids = np.random.default_rng(0).integers(0, 50, size=(2, 40))
    np.save(tmp_path / "ids.npy", ids)
    proc = run_isolated("m = runpy.run_path('model.py'); net = m['build_model'](seed=1, dtype='float64').eval()\n"
                        "import numpy as np\nnp.save('out.npy', net.forward(np.load('ids.npy')))\n", cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    runtime = to_numpy(archcalc.load(str(spec)), seed=1, dtype="float64").eval()
    assert np.array_equal(np.load(tmp_path / "out.npy"), runtime.forward(ids))
