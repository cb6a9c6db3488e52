"""The layer kinds as a package: one kind per file, named after it."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import archcalc
import archcalc.layers
from archcalc.errors import SpecError
from archcalc.layers import LAYERS
from archcalc.layers.base import Activation, Layer, layer
from archcalc.layers.traits import Trait


def test_each_kind_lives_in_a_file_named_after_it():
    assert {cls.kind: cls.__module__ for cls in LAYERS.values()} == \
        {cls.kind: f"archcalc.layers.{cls.kind}" for cls in LAYERS.values()}


def test_the_package_holds_the_kinds_and_their_shared_bases_only():
    modules = {m.name for m in pkgutil.iter_modules(archcalc.layers.__path__)}
    kinds = {cls.kind for cls in LAYERS.values()}
    assert modules - kinds == {"args", "base", "batchnorm", "conv", "conv_transpose", "instancenorm", "merge", "pool",
                               "recurrent", "spatial", "traits"}


def test_the_table_of_kinds_is_the_modules_and_what_they_register():
    """archcalc.layers.KINDS and ALIASES name every kind without importing it: they must be exactly
    the kind modules present, and each name must be registered by the module the table gives."""
    modules = {m.name for m in pkgutil.iter_modules(archcalc.layers.__path__)}
    shared = {"args", "base", "batchnorm", "conv", "conv_transpose", "instancenorm", "merge", "pool", "recurrent",
              "spatial", "traits"}
    assert sorted(archcalc.layers.KINDS) == list(archcalc.layers.KINDS) == sorted(modules - shared)
    registered = {name: cls.__module__ for name, cls in LAYERS.items()}  # imports every kind
    assert registered == {**{kind: f"archcalc.layers.{kind}" for kind in archcalc.layers.KINDS},
                          **{alias: f"archcalc.layers.{kind}" for alias, kind in archcalc.layers.ALIASES.items()}}
    assert list(LAYERS) == list(registered) and len(LAYERS) == len(registered)
    assert all(name == cls.kind or name in archcalc.layers.ALIASES for name, cls in LAYERS.items())


def test_a_kind_is_imported_when_first_looked_up_not_before():
    code = ("import sys, archcalc.layers as L\n"
            "loaded = lambda: {m for m in sys.modules if m.startswith('archcalc.layers.')}\n"
            "before = loaded()\n"
            "assert 'archcalc.layers.gru' not in before and 'gru' in L.LAYERS and 'gru' in list(L.LAYERS)\n"
            "assert 'archcalc.layers.gru' not in loaded() and L.LAYERS.get('nope') is None\n"
            "assert L.LAYERS['gru'].kind == 'gru' and loaded() - before == {'archcalc.layers.gru', "
            "'archcalc.layers.recurrent'}\n"
            "assert L.LAYERS['dense'] is L.LAYERS['linear']\n")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_params_imports_the_kind_modules_its_spec_uses_and_no_other():
    """``archcalc params`` pays only for the kinds a spec uses (issue 11's speed target: importing all of
    them was a sixth of the command): Llama 3 8B's, merges included, and what their modules import
    (rmsnorm's base is layernorm's class)."""
    spec = str(Path(__file__).parent.parent / "specs" / "llama-3-8b.yaml")
    loaded = ("from archcalc.layers import KINDS\n"
              "modules = {m.rpartition('.')[2] for m in sys.modules if m.startswith('archcalc.layers.')}\n"
              "print(' '.join(sorted(modules & set(KINDS))))\n")
    command = ("import sys, io, contextlib, archcalc\n"
               "from archcalc.cli import main\n"
               f"sys.argv = ['archcalc', 'params', {spec!r}]\n"
               "with contextlib.redirect_stdout(io.StringIO()):\n"
               "    try: main(prog_name='archcalc')\n"
               "    except SystemExit as e: assert e.code == 0, e.code\n"
               + loaded +
               f"nodes = [n for n, _ in archcalc.load({spec!r}).graph.walk()]\n"
               "print(' '.join(sorted({type(n.layer).kind for n in nodes if hasattr(n, 'layer')})))\n")
    after, used = subprocess.run([sys.executable, "-c", command], capture_output=True, text=True,
                                 check=True).stdout.splitlines()
    assert used == "embedding linear multihead_attention multiply rmsnorm silu"
    assert set(after.split()) - set(used.split()) == {"attention", "layernorm"}  # not the other 56 kinds
    alone = "import sys, importlib\n" + "".join(f"importlib.import_module('archcalc.layers.{kind}')\n"
                                                for kind in used.split()) + loaded
    assert after == subprocess.run([sys.executable, "-c", alone], capture_output=True, text=True,
                                   check=True).stdout.strip()


def test_a_kind_registered_under_a_name_the_table_gives_another_module_is_refused():
    class Stray(Layer):
        TRAITS = Trait(0)

    with pytest.raises(RuntimeError, match=rf"layer kind 'linear' registered by {__name__}, but archcalc\.layers lists "
                                           r"it in archcalc\.layers\.linear"):
        layer("linear")(Stray)
    assert LAYERS["linear"].__name__ == "Linear"
    with pytest.raises(RuntimeError, match=r"layer kind 'stray' is not in archcalc\.layers\.KINDS"):
        layer("stray")(Stray)
    assert "stray" not in LAYERS


def test_a_kind_without_traits_is_refused_at_registration():
    class Unsure(Layer):
        pass

    with pytest.raises(RuntimeError, match="layer kind 'unsure' declares no TRAITS"):
        layer("unsure")(Unsure)
    assert "unsure" not in LAYERS


def test_every_kind_declares_its_traits():
    assert all(isinstance(cls.TRAITS, Trait) for cls in LAYERS.values())
    assert LAYERS["linear"].TRAITS == LAYERS["conv2d"].TRAITS == Trait.WEIGHTED | Trait.LINEAR
    assert LAYERS["batchnorm2d"].TRAITS == Trait.NORMALIZES | Trait.LINEAR
    assert LAYERS["sigmoid"].TRAITS == Trait.ACTIVATION | Trait.SATURATES
    assert LAYERS["flatten"].TRAITS == Trait.ALIASES | Trait.LINEAR | Trait.KEEPS_RANGE


def test_instance_norm_is_linear_at_inference_only_with_running_statistics():
    """Without running statistics it divides by each example's own deviation (as layer norm: not LINEAR); with
    them, inference is a per-channel scale and shift (as batch norm), and num_batches_tracked is an int64 counter."""
    model = archcalc.loads("input: [4, 6, 6]\nlayers:\n  - instancenorm2d\n"
                           "  - instancenorm2d: {affine: true, track_running_stats: true}\n")
    plain, tracked = (node.layer for node in model.layers)
    assert LAYERS["instancenorm2d"].TRAITS == plain.TRAITS == Trait.NORMALIZES
    assert tracked.TRAITS == Trait.NORMALIZES | Trait.LINEAR
    assert (plain.COUNTERS, tracked.COUNTERS) == (0, 1)
    from archcalc.calc.memory import memory

    # running mean and variance in fp32, the count in int64
    assert memory(model.graph, model.trainable_params, model.buffers).buffers == (2 * 4) * 4 + 8
    assert plain.axes((4, 6, 6)) == (((0, "keep"),), ((1, "whole"),), ((2, "whole"),))  # its statistics
    assert tracked.axes((4, 6, 6)) == (((0, "keep"),), ((1, "keep"),), ((2, "keep"),))  # element by element


def test_the_activations_share_one_base():
    assert sorted(cls.kind for cls in set(LAYERS.values()) if issubclass(cls, Activation)) == \
        ["elu", "gelu", "hardsigmoid", "hardswish", "leaky_relu", "mish", "prelu", "relu", "relu6", "sigmoid",
         "silu", "softcap", "softplus", "step", "tanh"]


def test_a_kinds_page_reads_as_yaml_with_aligned_columns(run):
    lines = run("layers", "conv2d").stdout.splitlines()
    assert lines[:3] == ["# conv2d (also: conv)", "", "2-D convolution over a `[C, H, W]` input (PyTorch `nn.Conv2d`)."]
    assert "``" not in "\n".join(lines)
    table = lines[lines.index("Arguments:") + 1:]
    assert table[0] == "  name          type                                    default   description"
    assert table[4] == ("  padding       int, [ph, pw], same or valid            0         padding P: p or [p_h, p_w], "
                        "same (stride 1) or valid; zeros unless padding_mode")
    assert table[7] == ("  bias          true or false                           true      add one learned bias per "
                        "output channel")
    assert table[8] == ("  in            int                                     inferred  input channels C_i; "
                        "inferred, checked when given")
    assert table[9].startswith("  padding_mode  zeros | reflect | replicate | circular  zeros     what the padding")
    batchnorm = run("layers", "batchnorm2d").stdout
    assert "  eps       number         1e-05     added to the variance" in batchnorm
    assert "  affine    true or false  true      learn a scale" in batchnorm
    assert "True" not in batchnorm and "False" not in run("layers", "maxpool2d").stdout


def test_the_list_shows_aliases(run):
    lines = run("layers").stdout.splitlines()
    assert "conv2d (conv)                      2-D convolution over a `[C, H, W]` input (PyTorch `nn.Conv2d`)." in lines
    assert [line.split("  ")[0] for line in lines if "(" in line.split("  ")[0]] == [
        "avgpool2d (avgpool)", "conv2d (conv)", "global_avgpool2d (global_avgpool)", "linear (dense)",
        "maxpool2d (maxpool)", "reshape (view)", "silu (swish)", "step (sign)",
            "stochastic_depth (drop_path)"]


@pytest.mark.parametrize("arguments, message", [
    ("linear: {out: true}", "linear: 'out' must be an integer ≥ 1, got true"),
    ("linear: {out: 3, bias: [true, 2]}", "linear: 'bias' must be true or false, got [true, 2]"),
    ("dropout: {p: 1.5}", "dropout: 'p' must be in [0, 1], got 1.5"),
])
def test_argument_errors_echo_the_value_as_yaml(arguments, message):
    with pytest.raises(SpecError) as error:
        archcalc.loads(f"input: [3]\nlayers:\n  - {arguments}\n")
    assert error.value.message == message


def test_a_convolution_checks_its_input_rank_once(monkeypatch):
    from archcalc.layers.base import Layer

    calls = []
    check = Layer.check_rank
    monkeypatch.setattr(Layer, "check_rank", lambda self, x: calls.append(self.kind) or check(self, x))
    archcalc.loads("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - maxpool2d: 2\n")
    assert calls == ["conv2d", "maxpool2d"]
