"""Blocks that take layers as arguments (docs/spec.md, "Layers as arguments"): the layers a use passes
are built in the parameter's place, in the caller's names; the torch module and its generated source
hold them; every misuse is a located error."""

from __future__ import annotations

import json

import pytest

import archcalc
from archcalc.errors import SpecError

BLOCKS = """\
input: [T, 64]
symbols: {T: 16}
blocks:
  mlp(d, act = relu):
    - linear: 4 * d
    - act: {name: act_fn}
    - linear: d
  prenorm(body):
    - residual:
        - layernorm
        - body
  outer(d, act):
    - prenorm: {body: [mlp: {d: d, act: act}]}
layers:
"""

USES = """\
  - mlp: {d: 64}
  - mlp: {d: 64, act: gelu}
  - mlp: {d: 64, act: {gelu: {approximate: tanh}}}
  - prenorm: {body: [linear: 64, silu, linear: 64]}
  - prenorm: {body: {mlp: {d: 64, act: silu}}}
  - outer: {d: 64, act: mish}
  - {name: h, repeat: 2, index: i, layers: [prenorm: {body: [linear: 64 * (i + 1), relu, linear: 64]}]}
  - {name: named, layers: [prenorm: {body: [linear: 64]}]}
"""

MLP = (64 * 256 + 256) + (256 * 64 + 64)  # 33,088
NORM = 2 * 64


def test_layers_given_take_the_parameters_place():
    model = archcalc.loads(BLOCKS + USES)
    nodes = {node.path: node for node in model.graph.layers()}
    assert [(p, nodes[p].kind) for p in ("0.act_fn", "1.act_fn", "2.act_fn", "5.1.act_fn")] == [
        ("0.act_fn", "relu"), ("1.act_fn", "gelu"), ("2.act_fn", "gelu"), ("5.1.act_fn", "mish")]
    assert nodes["2.act_fn"].layer.config()["approximate"] == "tanh"
    assert [nodes[f"3.{i}"].kind for i in range(4)] == ["layernorm", "linear", "silu", "linear"]
    assert nodes["4.1.act_fn"].kind == "silu"
    # the repeat's index is the caller's: the argument is read where the use is written
    assert nodes["h.0.1"].out_shape == (16, 64) and nodes["h.1.1"].out_shape == (16, 128)
    assert model.trainable_params == (3 * MLP + (NORM + 2 * (64 * 64 + 64)) + 2 * (NORM + MLP)
                                      + (NORM + 64 * 64 + 64 + 64 * 64 + 64)
                                      + (NORM + 64 * 128 + 128 + 128 * 64 + 64) + (NORM + 64 * 64 + 64))


def test_the_torch_module_and_its_generated_source_hold_the_layers(tmp_path):
    torch = pytest.importorskip("torch")
    from archcalc.backends.torch.source import emit
    from tests.torch_helpers import import_file

    model = archcalc.loads(BLOCKS + USES)
    built = archcalc.to_torch(model)
    assert sum(p.numel() for p in built.parameters()) == model.trainable_params
    assert isinstance(built.get_submodule("1.act_fn"), torch.nn.GELU)
    path = tmp_path / "blocks.py"
    path.write_text(emit(model), encoding="utf-8")
    generated = import_file(path).build_model()
    assert str(generated.load_state_dict(built.state_dict(), strict=True)) == "<All keys matched successfully>"
    x = torch.randn(2, 16, 64)
    with torch.no_grad():
        assert torch.equal(generated(x), built(x))


def test_lint_locates_a_finding_inside_the_layers_given():
    from click.testing import CliRunner

    from archcalc.cli import main

    text = BLOCKS + "  - prenorm: {body: [linear: 64, linear: 64]}\n"
    result = CliRunner().invoke(main, ["lint", "-", "--format", "json"], input=text)
    findings = [f for f in json.loads(result.output) if f["code"] == "A101"]
    assert [(f["location"]["row"], f["location"]["column"]) for f in findings] == [(15, 22)]


def error(text: str) -> SpecError:
    with pytest.raises(SpecError) as raised:
        archcalc.loads(text)
    return raised.value


@pytest.mark.parametrize(("use", "where", "says"), [
    ("  - mlp: {d: 64, act: 3}", (15, 23), "expected a layer, got 3"),
    ("  - mlp: {d: 64, act: nope}", (15, 23), "unknown layer kind 'nope'"),
    ("  - prenorm: {body: {linear: {out: 64, bogus: 1}}}", (15, 40), "linear has no argument 'bogus'"),
    ("  - prenorm", (15, 5), "block 'prenorm' needs 'body'"),
])
def test_a_bad_layer_argument_is_located_at_the_use(use, where, says):
    e = error(BLOCKS + use + "\n")
    assert (e.loc.line, e.loc.col) == where and says in e.message


def test_a_layer_parameter_in_an_expression_is_an_error():
    text = BLOCKS.replace("    - linear: d\n", "    - linear: d * act\n") + "  - mlp: {d: 8}\n"
    e = error(text)
    assert (e.loc.line, e.loc.col) == (7, 15) and "'act' is a layer parameter" in e.message


def test_a_layer_parameters_default_must_be_a_layer():
    e = error(BLOCKS.replace("act = relu", "act = 3") + "  - mlp: {d: 8}\n")
    assert (e.loc.line, e.loc.col) == (4, 16) and "its default must be a layer kind or a block" in e.message


def test_a_layer_parameter_takes_no_arguments_in_the_body():
    e = error(BLOCKS.replace("    - act: {name: act_fn}\n", "    - act: {negative_slope: 0.1}\n") + "  - mlp: 8\n")
    assert (e.loc.line, e.loc.col) == (6, 13) and "takes none here" in e.message


def test_a_parameter_named_like_a_kind_stays_a_number():
    """``dropout(p)`` with ``- dropout: {p: dropout}`` is the kind, as it always was, not a layer parameter."""
    text = "input: [8]\nblocks:\n  b(dropout = 0.5): [linear: 8, dropout: {p: dropout}]\nlayers: [b]\n"
    (_, node) = archcalc.loads(text).graph.layers()
    assert node.kind == "dropout" and node.layer.config()["p"] == 0.5


def test_the_editor_schema_accepts_layers_as_arguments():
    """What an editor checks with ``archcalc schema`` (yaml-language-server) takes the same spec."""
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    from archcalc.spec.schema import spec_schema

    jsonschema.validate(yaml.safe_load(BLOCKS + USES), spec_schema())
