"""What transformers does with a JSON ``null`` at each key ``archcalc import`` reads, family by family.

For every family the importer supports, one tiny config (the import tests' own) is saved as a user has it;
the keys the importer reads for it are recorded (every top-level key its :class:`Config` looks up, present
or not); then, one key at a time, the config with that key set to ``null`` is given to transformers'
config class (``from_dict``, as ``from_pretrained`` passes it) and the family's model is built and run on
13 tokens (an image for ViT). What transformers does with the null is one of:

* ``refused``: the config class, the model's constructor or its forward pass raises (``hidden * None``);
* ``default``: the model has the same parameters as without the key and, loaded with the same weights,
  the same outputs (to 1e-6);
* ``other``: it builds and runs, but computes something else (an "off": no window, no soft cap …).

and archcalc's import of the same file either refuses it (exit 2) or writes a spec whose model, loaded
with transformers' weights, gives transformers' outputs (to 1e-5), or not. ``python -m tests.null_probe``
prints the table; tests/test_import_nulls.py asserts that archcalc refuses exactly where transformers
refuses and computes transformers' model where it accepts.
"""

from __future__ import annotations

import json
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import torch
from click.testing import CliRunner

import archcalc
from archcalc.cli import main
from archcalc.importers import hf_config
from tests.test_import_config import CASES, GEMMA_CASES, GRANITE_COHERE_CASES, LAYERNORM_CASES, POOLED, VIT_CASES
from tests.test_import_deepseek import CASES as DEEPSEEK_CASES
from tests.test_transformers import logits

#: one tiny case per family, the import tests' own (name in their tables)
FAMILY_CASES = {
    "gpt2": "gpt2", "bert": "bert", "roberta": "roberta", "xlm-roberta": "xlm-roberta", "camembert": "camembert",
    "electra": "electra", "distilbert": "distilbert", "vit": "vit", "llama": "llama-gqa", "mistral": "mistral",
    "qwen2": "qwen2", "qwen3": "qwen3", "olmo2": "olmo2", "phi3": "phi3", "mixtral": "mixtral",
    "qwen3_moe": "qwen3-moe", "qwen2_moe": "qwen2-moe", "olmoe": "olmoe", "gemma": "gemma-mqa-tied",
    "gemma2": "gemma2-gqa-capped", "gemma3_text": "gemma3-pattern-linear-rope", "gpt_neox": "gpt-neox-parallel",
    "phi": "phi", "starcoder2": "starcoder2", "stablelm": "stablelm", "opt": "opt", "gptj": "gptj",
    "gpt_bigcode": "gpt-bigcode", "granite": "granite", "granitemoe": "granitemoe", "cohere": "cohere",
    "deepseek_v3": "v3-low-rank-groups-dense-first", "deepseek_v2": "v2-group-limited",
}
TABLES = {**CASES, **GEMMA_CASES, **GRANITE_COHERE_CASES, **LAYERNORM_CASES, **DEEPSEEK_CASES,
          **{name: case[:2] for name, case in VIT_CASES.items()}}
#: keys of a config.json that are no setting of the model (read to find the family and its head)
NOT_SETTINGS = {"model_type", "architectures"}


@dataclass(frozen=True)
class Outcome:
    """One key set to null: what transformers does with it, and what archcalc's import does."""

    family: str
    key: str
    transformers: str  # refused, default, other
    why: str  # transformers' error, for refused
    archcalc: str  # refused, same (transformers' outputs), differs
    message: str  # archcalc's error or the difference


def base_config(family: str) -> tuple[dict, type]:
    """The family's tiny config as its config.json holds it, and the model class it names."""
    config, real_class = TABLES[FAMILY_CASES[family]]
    with tempfile.TemporaryDirectory() as folder:
        config.save_pretrained(folder)
        data = json.loads((Path(folder) / "config.json").read_text(encoding="utf-8"))
    return data, real_class


def keys_read(data: dict) -> list[str]:
    """The top-level keys archcalc's import of ``data`` looks up (present or not), in the order first read."""
    seen: dict[str, None] = {}
    original = hf_config.Config.node

    def node(self, key):
        if self.root is top[0]:
            seen.setdefault(key)
        return original(self, key)

    top: list[object] = [None]
    read = hf_config.read_config

    def read_config(path, limits):
        config = read(path, limits)
        top[0] = config.root
        return config

    hf_config.Config.node = node
    hf_config.read_config = read_config
    try:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "config.json"
            path.write_text(json.dumps(data), encoding="utf-8")
            from archcalc.limits import Limits
            hf_config.import_config(str(path), Limits())
    finally:
        hf_config.Config.node = original
        hf_config.read_config = read
    return [key for key in seen if key not in NOT_SETTINGS]


def example(config: object) -> torch.Tensor:
    torch.manual_seed(1)
    if hasattr(config, "image_size"):
        size = config.image_size if isinstance(config.image_size, list | tuple) else [config.image_size] * 2
        return torch.randn(2, config.num_channels, *size)
    return torch.randint(2, config.vocab_size, (2, 13))


def output(real: torch.nn.Module, ids: torch.Tensor) -> torch.Tensor:
    with torch.no_grad():
        out = real(ids)
    return out.pooler_output if type(real) in POOLED else logits(out)


def stir(model: torch.nn.Module) -> torch.nn.Module:
    torch.manual_seed(2)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(0.2 * torch.randn_like(parameter))
    return model.eval()


def real_model(data: dict, real_class: type) -> torch.nn.Module:
    config = type(TABLES[FAMILY_CASES[data["model_type"]]][0]).from_dict(data)
    config._attn_implementation = "eager"
    torch.manual_seed(0)
    return real_class(config).eval()


def probe(family: str, only: list[str] | None = None) -> list[Outcome]:
    data, real_class = base_config(family)
    reference = stir(real_model(data, real_class))
    ids = example(reference.config)
    expected = output(reference, ids)
    outcomes = []
    for key in only or keys_read(data):
        nulled = {**data, key: None}
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                real = real_model(nulled, real_class)
                shapes = {k: v.shape for k, v in real.state_dict().items()}
                if shapes == {k: v.shape for k, v in reference.state_dict().items()}:
                    real.load_state_dict(reference.state_dict())
                else:
                    stir(real)
                got = output(real, ids)
        except Exception as e:
            verdict, why, real = "refused", f"{type(e).__name__}: {str(e).splitlines()[0][:120]}", None
        else:
            same = shapes == {k: v.shape for k, v in reference.state_dict().items()} and got.shape == expected.shape \
                and torch.allclose(got, expected, atol=1e-6, rtol=1e-6)
            verdict, why = ("default" if same else "other"), ""
        ours, message = archcalc_outcome(nulled, real, ids)
        outcomes.append(Outcome(family, key, verdict, why, ours, message))
    return outcomes


def archcalc_outcome(data: dict, real: torch.nn.Module | None, ids: torch.Tensor) -> tuple[str, str]:
    """archcalc's import of ``data``: refused (its message), or whether its model with ``real``'s weights
    gives ``real``'s outputs."""
    with tempfile.TemporaryDirectory() as folder:
        path, spec = Path(folder) / "config.json", Path(folder) / "spec.yaml"
        path.write_text(json.dumps(data, indent=2), encoding="utf-8")
        result = CliRunner().invoke(main, ["import", str(path), "-o", str(spec)])
        if result.exit_code != 0:
            return "refused", result.output.strip().splitlines()[0] if result.output.strip() else repr(result)
        if real is None:
            return "differs", "imported a config transformers refuses"
        try:
            model = archcalc.load(str(spec), **({"T": ids.shape[1]} if ids.dim() == 2 else {}))
            ours = archcalc.to_torch(model).eval()
            ours.load_state_dict(real.state_dict(), strict=True)
            with torch.no_grad():
                got = ours(ids)
            torch.testing.assert_close(got, output(real, ids), atol=1e-5, rtol=1e-5)
        except Exception as e:
            return "differs", f"{type(e).__name__}: {str(e).splitlines()[0][:160]}"
        return "same", ""


def main_() -> None:
    import sys

    families = sys.argv[1:] or list(FAMILY_CASES)
    for family in families:
        for o in probe(family):
            print(f"{o.family:12} {o.key:34} {o.transformers:8} {o.archcalc:8} {o.why[:70]} | {o.message[:110]}",
                  flush=True)


if __name__ == "__main__":
    main_()
