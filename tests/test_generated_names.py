"""Generated code from adversarial names computes the runtime module's network (issue 18).

A spec's names become attributes, keys and classes in the exported PyTorch file and keys in the NumPy
file. A name Python gives a meaning inside a class (``__w`` is mangled to ``_M__w``, another layer's
attribute), a name ``nn.Module`` or the generated class already has (``forward``, ``training``,
``_modules``), a keyword, a builtin, a helper of the NumPy file or a name that NFKC folds into
another must never rewire the network. Property, for names hypothesis draws from all of those and
from unicode text: the generated module has the runtime module's (``archcalc.to_torch``)
``state_dict`` keys and parameter shapes, computes its outputs from its weights exactly, and the
NumPy file, loaded with the same weights, computes them too.
"""

from __future__ import annotations

import builtins
import keyword

import numpy as np
import pytest
import torch
import yaml
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from torch import nn

import archcalc
from archcalc.backends.numpy import source as numpy_source
from archcalc.backends.numpy import to_numpy
from archcalc.backends.torch.source import EMITTER_NAMES, emit
from archcalc.errors import SpecError
from tests.torch_helpers import import_file


def _numpy_helpers() -> list[str]:
    """The names the NumPy file defines (its layers, structures, losses, optimizers, loop)."""
    return sorted(numpy_source._top_level())


#: names with a meaning: mangled, dunder, nn.Module's and the containers', the emitter's, the NumPy
#: file's, Python's keywords and builtins, names NFKC folds into others, digits, lone underscores
ADVERSARIAL = sorted({
    "__w", "_M__w", "_Model__w", "__", "_", "___", "__init__", "__class__", "__dict__", "__call__", "__getattr__",
    "_Network__program", "_program", "_calls", "_ops",
    *dir(nn.Module()), *(n for n in dir(nn.Sequential()) if not n.startswith("__")), "M", "Model", "Block",
    *EMITTER_NAMES, "np", "argparse", "NAME", "TRAINING", "OUTPUT_SHAPE", "main", *_numpy_helpers(),
    *keyword.kwlist, *keyword.softkwlist, "print", "open", "exec", "eval", "__import__", "__builtins__",
    "ﬁ", "fi", "𝔘", "U", "ǅ", "名前", "x\u0301", "Σ", "0", "1", "00", "1e3", "a-b", "a b", "-", "\u200b",
})
ADVERSARIAL = [n for n in ADVERSARIAL if "." not in n]  # a dot separates a path's parts: never in a name

NAMES = st.one_of(
    st.sampled_from(ADVERSARIAL),
    st.text(st.sampled_from("_aM0é名ﬁ𝔘w"), min_size=1, max_size=6),
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=".\x00"), min_size=1, max_size=5),
)


def spec_text(model: str, names: list[str], block: str) -> str:
    """A network using every name: the model's, a block's (a generated class) and its layers', and
    layers at the top, some around a residual (a class of its own in the file)."""
    a, b, c, d, e = names
    spec = {
        "name": model,
        "input": [4],
        "blocks": {block: [{"linear": {"out": 6, "name": c}}, {"relu": {"name": d}}]},
        "layers": [
            {"linear": {"out": 6, "name": a}},
            {"relu": {"name": b}},
            {block: {"name": e}},
            {"residual": [{"linear": {"out": 6, "name": a}}, "relu"]},
            {"linear": {"out": 3, "name": d}},
        ],
    }
    return yaml.safe_dump(spec, allow_unicode=True, sort_keys=False)


@pytest.mark.slow  # about a minute: each example builds, writes and imports three networks (CI runs --slow)
@settings(max_examples=40, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(model=NAMES, names=st.lists(NAMES, min_size=5, max_size=5), block=NAMES)
def test_generated_files_wire_what_the_runtime_module_wires(model, names, block, tmp_path_factory):
    try:
        loaded = archcalc.loads(spec_text(model, names, block), path="names.yaml")
        runtime = archcalc.to_torch(loaded).eval()
    except SpecError:
        assume(False)  # a name the spec language refuses (a duplicate, a block name that is not one)
    folder = tmp_path_factory.mktemp("names")
    file = folder / "generated.py"
    file.write_text(emit(loaded), encoding="utf-8")
    generated = import_file(file).build_model().eval()
    expected = runtime.state_dict()
    assert list(generated.state_dict()) == list(expected)
    assert {k: v.shape for k, v in generated.state_dict().items()} == {k: v.shape for k, v in expected.items()}
    generated.load_state_dict(expected)
    x = torch.randn(5, 4, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    runtime.double(), generated.double()
    with torch.no_grad():
        want = runtime(x)
        torch.testing.assert_close(generated(x), want, rtol=0, atol=0)

    numpy_file = folder / "generated_numpy.py"
    numpy_file.write_text(numpy_source.render(loaded), encoding="utf-8")
    namespace = import_file(numpy_file)
    network = namespace.build_model(seed=0, dtype="float64")
    weights = folder / "weights.npz"
    np.savez(weights, **{k: v.numpy() for k, v in expected.items()})
    namespace.load_weights(network, str(weights))
    network.eval()
    np.testing.assert_allclose(namespace.predict(network, x.numpy()), want.numpy(), rtol=1e-12, atol=1e-12)
    # the runtime NumPy model names its weights as the file does
    assert list(to_numpy(loaded, seed=0, dtype="float64").state_dict()) == list(network.state_dict())


@pytest.mark.parametrize("name", ["__v", "_M__v", "forward", "training", "_modules", "self", "x", "build_model",
                                  "predict", "Linear"])
def test_the_issue_18_reproducer_and_its_relatives(name, tmp_path):
    """Issue 18's spec (layers named ``__w`` and ``_M__w``, which Python's name mangling made one
    attribute of the generated class), and the same with names of the class, torch and the files."""
    text = f"name: m\ninput: [4]\nlayers:\n  - linear: {{out: 8, name: __w}}\n  - relu\n" \
           f"  - linear: {{out: 8, name: _M__w}}\n  - linear: {{out: 8, name: '{name}_'}}\n" \
           f"  - linear: {{out: 3, name: '{name}'}}\n"
    loaded = archcalc.loads(text, path="m.yaml")
    runtime = archcalc.to_torch(loaded).eval()
    file = tmp_path / "m.py"
    file.write_text(emit(loaded), encoding="utf-8")
    generated = import_file(file).build_model().eval()
    assert list(generated.state_dict()) == list(runtime.state_dict())
    generated.load_state_dict(runtime.state_dict())
    x = torch.randn(2, 4)
    with torch.no_grad():
        torch.testing.assert_close(generated(x), runtime(x), rtol=0, atol=0)


def test_the_names_drawn_include_every_kind_of_meaning():
    """The strategy's fixed names cover what the issue lists (a guard against the list rotting)."""
    for name in ("__w", "_M__w", "forward", "training", "state_dict", "class", "match", "print", "x", "nn",
                 "build_model", "fit", "predict", "Sequential", "ﬁ"):
        assert name in ADVERSARIAL, name
    assert set(dir(builtins)) - set(ADVERSARIAL) and "open" in ADVERSARIAL  # a sample of the builtins


def test_the_numpy_backend_knows_the_names_torch_takes():
    """The NumPy backend renames a weight's name part as torch's containers force it to (without
    importing torch): its frozen list must be what this torch takes."""
    import json
    import subprocess
    import sys

    from archcalc.backends.naming import TORCH_TAKEN

    # in a process of its own: transformers, once imported by another test, adds methods to nn.Module
    code = ("import json; from archcalc.backends.torch.build import taken_by_torch; "
            "print(json.dumps(sorted(taken_by_torch())))")
    taken = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert frozenset(json.loads(taken)) == TORCH_TAKEN


@pytest.mark.parametrize("use", ["- {name: layers, repeat: 2, layers: [layer: 16]}",
                                 "- {name: layers, layers: [layer: 16, layer: 16]}"])
def test_a_block_of_one_inline_residual_keeps_its_level(use, tmp_path):
    """A block whose body is one inline residual (a parallel attention-and-MLP block, Phi's) is a level of
    its own: each use names its layers layers.N.ln, as Hugging Face's model.layers.N.input_layernorm."""
    text = ("input: [8, 16]\nblocks:\n  layer(d):\n    - residual: [layernorm: {name: ln}, linear: {out: d, "
            f"name: fc}}]\n      inline: true\nlayers:\n  {use}\n")
    loaded = archcalc.loads(text, path="m.yaml")
    keys = [f"layers.{i}.{layer}.{p}" for i in (0, 1) for layer in ("ln", "fc") for p in ("weight", "bias")]
    assert list(archcalc.to_torch(loaded).state_dict()) == keys
    file = tmp_path / "m.py"
    file.write_text(emit(loaded), encoding="utf-8")
    assert list(import_file(file).build_model().state_dict()) == keys
    assert list(to_numpy(loaded, seed=0).state_dict()) == keys
