"""``archcalc schema``: a valid draft 2020-12 schema, generated from the registries so it cannot drift,
that accepts every spec archcalc ships or documents and rejects what the parser refuses for structure."""

from __future__ import annotations

import ast
import inspect
import json
import re
from pathlib import Path

import jsonschema
import pytest

import archcalc
from archcalc.errors import SpecError
from archcalc.layers import LAYERS
from archcalc.layers.args import REQUIRED, Int, yaml_text
from archcalc.layers.merge import Merge
from archcalc.layers.traits import Trait
from archcalc.limits import Limits
from archcalc.spec import parser, schema
from archcalc.spec.budget import LIMITS
from archcalc.spec.reparam import KINDS as REPARAM_KINDS
from archcalc.spec.source import YMap, YScalar, YSeq, parse_yaml
from archcalc.spec.train import KEYS, OPTIMIZERS
from tests.conftest import ROOT, shipped_specs

SCHEMA = schema.spec_schema()
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
#: core error codes for structure the schema can see without the rest of the file (blocks aside)
STRUCTURAL = {"unknown-key", "missing-key", "unknown-argument", "missing-argument"}


def plain(node):
    """The located YAML tree as plain data, merge keys applied: what an editor's validator sees."""
    if isinstance(node, YMap):
        return {key.text: plain(value) for key, value in node.items}
    if isinstance(node, YSeq):
        return [plain(item) for item in node.items]
    assert isinstance(node, YScalar)
    return node.value


def data(text: str):
    return plain(parse_yaml(text, "<test>", Limits()))


def errors(text: str) -> list[str]:
    return [e.message for e in VALIDATOR.iter_errors(data(text))]


def is_spec(text: str) -> bool:
    return re.search(r"^layers:", text, re.M) is not None


def doc_examples() -> list[tuple[str, str]]:
    found = []
    for path in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        blocks = re.findall(r"```yaml\n(.*?)```", path.read_text(encoding="utf-8"), re.S)
        found += [(f"{path.name}#{i}", text) for i, text in enumerate(blocks) if is_spec(text)]
    return found


def spec_files() -> list[Path]:
    fixtures = ROOT / "tests" / "lint" / "fixtures"
    return [*shipped_specs(), *sorted((ROOT / "tests" / "specs").rglob("*.yaml")), *sorted(fixtures.glob("*.yaml"))]


def load_error(text: str) -> SpecError | None:
    try:
        archcalc.loads(text, path="doc.yaml")
    except SpecError as e:
        return e
    return None


def test_the_schema_is_valid_draft_2020_12():
    jsonschema.Draft202012Validator.check_schema(SCHEMA)
    assert SCHEMA["$schema"] == "https://json-schema.org/draft/2020-12/schema"


def test_the_command_prints_it_and_writes_it(run, tmp_path):
    result = run("schema")
    assert result.exit_code == 0 and json.loads(result.stdout) == SCHEMA
    path = tmp_path / "spec.schema.json"
    assert run("schema", "-o", path).exit_code == 0
    assert json.loads(path.read_text(encoding="utf-8")) == SCHEMA
    again = run("schema", "-o", path)
    assert again.exit_code == 2 and "already exists" in again.stderr
    assert run("schema", "-o", path, "--force").exit_code == 0
    wrong = run("schema", "-o", tmp_path / "schema.yaml")
    assert wrong.exit_code == 2 and "name it" in wrong.stderr


@pytest.mark.parametrize("path", spec_files(), ids=lambda p: str(p.relative_to(ROOT)))
def test_every_spec_archcalc_reads_validates(path):
    agrees(path.read_text(encoding="utf-8"))


def agrees(text: str) -> None:
    """A spec archcalc reads is valid; one it refuses for its structure is not (blocks aside: a block's
    parameters are the spec's own). Other errors (values, expressions, shapes) the schema may or may not see."""
    error = load_error(text)
    if error is None:
        assert errors(text) == []
    elif error.code in STRUCTURAL and "blocks:" not in text:
        assert errors(text), f"the parser refuses it ({error.code}: {error.message}) but the schema accepts it"


EXAMPLES = doc_examples()


def test_the_docs_have_examples():
    assert len(EXAMPLES) >= 100  # docs/spec.md, docs/lint.md (two per rule), README.md


@pytest.mark.parametrize("name, text", EXAMPLES, ids=[name for name, _ in EXAMPLES])
def test_every_yaml_example_in_the_docs_agrees_with_the_parser(name, text):
    agrees(text)


WRONG = {
    "unknown top-level key": "input: [3]\nlayer: [relu]\n",
    "no input": "layers: [relu]\n",
    "no layers": "input: [3]\n",
    "empty layers": "input: [3]\nlayers: []\n",
    "unknown argument": "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernal: 3}\n",
    "missing argument": "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8}\n",
    "kind that needs arguments, bare": "input: [3]\nlayers: [linear]\n",
    "kernel 0": "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: 0}\n",
    "kernel of three": "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: [3, 3, 3]}\n",
    "padding word": "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: 3, padding: 'full!'}\n",
    "bias: yes": "input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 8, kernel: 3, bias: yes}\n",
    "dropout p of 1": "input: [3]\nlayers:\n  - dropout: {p: 1.5}\n",
    "argument as a mapping": "input: [3]\nlayers:\n  - linear: {out: {a: 1}}\n",
    "two kinds in one item": "input: [3]\nlayers:\n  - {linear: 3, relu: null}\n",
    "repeat without layers": "input: [3]\nlayers:\n  - repeat: 2\n",
    "repeat with a stray key": "input: [3]\nlayers:\n  - {repeat: 2, layers: [relu], times: 3}\n",
    "residual with layers: for body:": "input: [3]\nlayers:\n  - residual: {layers: [relu]}\n",
    "unknown shortcut": "input: [3]\nlayers:\n  - residual: {body: [relu], shortcut: projection}\n",
    "concat of one branch": "input: [3]\nlayers:\n  - concat: [[relu]]\n",
    "block named like a kind": "input: [3]\nblocks:\n  relu(c): [linear: c]\nlayers: [relu]\n",
    "symbol default 0": "input: [H]\nsymbols: {H: 0}\nlayers: [relu]\n",
    "unknown optimizer": "input: [3]\nlayers: [linear: 2]\ntrain: {optimizer: adamm}\n",
    "unknown hyperparameter": "input: [3]\nlayers: [linear: 2]\ntrain: {optimizer: {adam: {momentum: 0.9}}}\n",
    "adadelta with betas": "input: [3]\nlayers: [linear: 2]\ntrain: {optimizer: {adadelta: {betas: [0.9, 0.99]}}}\n",
    "decoupled decay as a number": "input: [3]\nlayers: [linear: 2]\n"
                                   "train: {optimizer: {radam: {decoupled_weight_decay: 1}}}\n",
    "unknown train key": "input: [3]\nlayers: [linear: 2]\ntrain: {epoch: 3}\n",
    "schedule without its step": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: step}\n",
    "schedule setting misspelt": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {cosine: {tmax: 3}}}\n",
    "milestones as a number": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {multistep: {milestones: 30}}}\n",
    "plateau factor of 1": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {plateau: {factor: 1}}}\n",
    "plateau mode against its monitor": "input: [3]\nlayers: [linear: 2]\n"
                                        "train: {scheduler: {plateau: {monitor: val_accuracy, mode: min}}}\n",
    "plateau mode max on val_loss": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {plateau: {mode: max}}}\n",
    "plateau after a warm-up": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {plateau: {warmup_epochs: 2}}}\n",
    "linear end_factor above 1": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {linear: {end_factor: 2}}}\n",
    "polynomial power below 0": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {polynomial: {power: -1}}}\n",
    "onecycle without max_lr": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: onecycle}\n",
    "onecycle pct_start of 1": "input: [3]\nlayers: [linear: 2]\n"
                               "train: {scheduler: {onecycle: {max_lr: 0.1, pct_start: 1}}}\n",
    "onecycle after a warm-up": "input: [3]\nlayers: [linear: 2]\n"
                                "train: {scheduler: {onecycle: {max_lr: 0.1, warmup_epochs: 2}}}\n",
    "onecycle three_phase: yes": "input: [3]\nlayers: [linear: 2]\n"
                                 "train: {scheduler: {onecycle: {max_lr: 0.1, three_phase: yes}}}\n",
    "cosine_restarts T_0 of 0": "input: [3]\nlayers: [linear: 2]\ntrain: {scheduler: {cosine_restarts: {T_0: 0}}}\n",
    "cosine_restarts T_mult of 1.5": "input: [3]\nlayers: [linear: 2]\n"
                                     "train: {scheduler: {cosine_restarts: {T_0: 5, T_mult: 1.5}}}\n",
    "label smoothing above 1": "input: [3]\nlayers: [linear: 2]\n"
                               "train: {loss: {cross_entropy: {label_smoothing: 2}}}\n",
    "clip_grad_norm of 0": "input: [3]\nlayers: [linear: 2]\ntrain: {clip_grad_norm: 0}\n",
    "clip_grad_value as a word": "input: [3]\nlayers: [linear: 2]\ntrain: {clip_grad_value: high}\n",
    "both clippings": "input: [3]\nlayers: [linear: 2]\ntrain: {clip_grad_norm: 0.25, clip_grad_value: 1}\n",
    "budget in bytes for params": "input: [3]\nlayers: [linear: 2]\nbudget: {params: 3MB}\n",
    "budget with no limit": "input: [3]\nlayers: [linear: 2]\nbudget: {batch_size: 2}\n",
}


@pytest.mark.parametrize("text", WRONG.values(), ids=WRONG.keys())
def test_wrong_specs_are_rejected_by_the_schema_and_by_archcalc(text):
    assert errors(text)
    with pytest.raises(SpecError):
        archcalc.loads(text)


def test_what_the_schema_leaves_to_lint():
    """A block's name is the spec's own, so a mapping with an unknown key reads as a block use."""
    assert errors("input: [3]\nlayers:\n  - tokennorm: {dim: 3}\n") == []
    assert load_error("input: [3]\nlayers:\n  - tokennorm: {dim: 3}\n").code == "unknown-kind"


# -- drift: everything the language has is in the schema ----------------------------------------


def test_every_kind_and_argument_with_its_type_default_and_doc():
    defs = SCHEMA["$defs"]
    refs = {rule["then"]["$ref"] for rule in defs["item"]["allOf"]}
    titles = {form.get("title") for form in defs["item"]["anyOf"]}
    for name, cls in LAYERS.items():
        assert f"#/$defs/kind-{name}" in refs and name in titles
        kind = defs[f"kind-{name}"]
        assert kind["required"] == [name] and cls.kind in kind["description"]
        forms = kind["properties"][name]["anyOf"]
        args = forms[0]["properties"]
        assert set(args) == {*cls.ARGS, "name", "trainable", *(["branches"] if issubclass(cls, Merge) else []),
                             *(["init"] if Trait.WEIGHTED in cls.TRAITS else []),
                             *(["weight_norm", "spectral_norm"] if cls.kind in REPARAM_KINDS else [])}
        assert forms[0].get("required", []) == [a for a, spec in cls.ARGS.items() if spec.required]
        for arg, spec in cls.ARGS.items():
            assert args[arg]["description"].startswith(f"{spec.doc} ({spec.type_name}; ")
            if spec.default not in (REQUIRED, None):
                assert args[arg]["default"] == json.loads(json.dumps(spec.default))
                assert f"default {yaml_text(spec.default)})" in args[arg]["description"]


def test_every_construct_top_level_train_and_budget_key():
    titles = {item.get("title") for item in SCHEMA["$defs"]["item"]["anyOf"]}
    refs = {rule["then"]["$ref"] for rule in SCHEMA["$defs"]["item"]["allOf"]}
    assert set(parser.CONSTRUCTS) <= titles
    assert {f"#/$defs/construct-{c}" for c in parser.CONSTRUCTS} <= refs
    assert list(SCHEMA["properties"]) == list(parser.TOP_KEYS)
    train = SCHEMA["properties"]["train"]["properties"]
    assert list(train) == list(KEYS)
    assert set(train["optimizer"]["anyOf"][1]["properties"]) == set(OPTIMIZERS)
    assert set(LIMITS) <= set(SCHEMA["properties"]["budget"]["properties"])


def test_every_construct_the_parser_dispatches_on_is_in_its_table():
    """The parser recognises a construct by ``"key" in keys``; each such key must be in CONSTRUCT_KEYS,
    which the schema is drawn from (a construct added to the parser alone fails here)."""
    tree = ast.parse(inspect.getsource(parser._Parser.item).strip().replace("\n    ", "\n"))
    tested = {node.left.value for node in ast.walk(tree) if isinstance(node, ast.Compare)
              and isinstance(node.left, ast.Constant) and isinstance(node.ops[0], ast.In)}
    assert tested and tested == set(parser.CONSTRUCT_KEYS)


def test_a_construct_or_argument_type_the_schema_cannot_draw_is_an_error(monkeypatch):
    monkeypatch.setattr(parser, "CONSTRUCTS", (*parser.CONSTRUCTS, "multiply"))
    with pytest.raises(schema.SchemaGap, match="construct 'multiply' has no schema"):
        schema.spec_schema()
    monkeypatch.undo()

    class Triple(Int):
        pass

    from archcalc.layers.conv2d import Conv2d

    monkeypatch.setitem(Conv2d.ARGS, "kernel", Triple(doc="k"))
    with pytest.raises(schema.SchemaGap, match="argument type Triple"):
        schema.spec_schema()


def test_the_documented_excerpt_is_real(run):
    doc = (ROOT / "docs" / "spec.md").read_text(encoding="utf-8")
    command, shown = re.search(r"```console\n\$ archcalc schema \| python3 -c '(.*?)'\n(.*?)```", doc, re.S).groups()
    d = SCHEMA["$defs"]["kind-dropout"]
    assert 'd["properties"]["dropout"]["anyOf"][0]["properties"]["p"]' in command
    assert json.loads(shown) == d["properties"]["dropout"]["anyOf"][0]["properties"]["p"]
