"""``archcalc import``: a readable spec from a Hugging Face config.json or a PyTorch model."""

from __future__ import annotations

import click

from archcalc.cli.common import handle_errors, limit_option, output_options, write_output
from archcalc.limits import Limits


def _parse_json(ctx: click.Context, param: click.Parameter, value: str | None) -> dict[str, object]:
    if value is None:
        return {}
    import json

    try:
        args = json.loads(value)
    except ValueError as e:
        raise click.BadParameter(f"not JSON: {e}", ctx, param) from None
    if not isinstance(args, dict):
        raise click.BadParameter("give the constructor's keyword arguments as a JSON object, e.g. "
                                 "'{\"num_classes\": 10}'", ctx, param)
    return args


def _parse_shape(ctx: click.Context, param: click.Parameter, value: str | None) -> tuple[int, ...] | None:
    if value is None:
        return None
    try:
        shape = tuple(int(part) for part in value.split(","))
    except ValueError:
        shape = ()
    if not shape or any(d < 1 for d in shape):
        raise click.BadParameter(f"'{value}': sizes after the batch, e.g. 3,224,224", ctx, param)
    return shape


@click.command("import")
@click.argument("source")
@click.option("--base", is_flag=True, help="config.json: import the base model (LlamaModel, BertModel …) whatever "
              "head 'architectures' names.")
@click.option("--args", "args", callback=_parse_json, metavar="JSON",
              help="A model's constructor arguments as a JSON object ('{\"num_classes\": 10}').")
@click.option("--input", "input_shape", callback=_parse_shape, metavar="C,H,W or T",
              help="A model's input shape after the batch; for a model whose input goes into an nn.Embedding, "
                   "the number of token ids T [default: a timm model's own (its pretrained_cfg); 32 token ids; "
                   "else 3,224,224].")
@output_options((".yaml", ".yml"), "model.yaml")
@limit_option
@handle_errors
def import_command(source: str, base: bool, args: dict[str, object], input_shape: tuple[int, ...] | None,
                   output: str | None, force: bool, limits: Limits) -> None:
    """Write a spec for a model that exists elsewhere. SOURCE is one of:

    \b
      config.json               a Hugging Face config (GPT-2, BERT, RoBERTa, XLM-RoBERTa,
                                CamemBERT, DistilBERT, ELECTRA, ViT, OPT, GPT-J, GPT-NeoX and
                                Pythia, SantaCoder and StarCoder (GPT-BigCode), Llama, Mistral,
                                Qwen2, Qwen3, OLMo 2, Phi-1 to Phi-4, StarCoder2, StableLM,
                                Granite, Command-R and R+, Gemma 1 to 3; the mixtures of experts
                                Mixtral, Qwen2-MoE, Qwen3-MoE, OLMoE, GraniteMoE, DeepSeek-V2
                                and V3), read as data: no transformers, no torch, nothing
                                downloaded, no code run
      torchvision:NAME          a torchvision model (needs torch and torchvision)
      timm:NAME                 a timm model (needs timm)
      path/to/model.py:Class    your own nn.Module: this IMPORTS the file, so it runs its code;
                                import only files you trust

    The spec names its layers as the model does, so the model's weights load into `archcalc export
    --to torch`'s module; a model is traced with torch.fx and the spec is checked against it (weights
    load with strict=True, outputs agree) before anything is written. What archcalc cannot express is
    an error located in the model's source, and nothing is written.

        archcalc import torchvision:resnet50 -o resnet50.yaml && archcalc summary resnet50.yaml
    """
    import sys

    if base and not source.endswith(".json"):
        raise click.UsageError("--base picks a Hugging Face config.json's base model; this source is not one")
    if source.endswith(".json"):
        from archcalc.importers.hf_config import import_config

        text, warnings = import_config(source, limits, base=base)
        for warning in warnings:
            print(warning.render().replace(": error: ", ": warning: ", 1), file=sys.stderr)
    else:
        from archcalc.backends.optional import require

        require("torch")
        from archcalc.importers.torch_module import import_model

        text = import_model(source, args, input_shape)
    write_output(text, output, force)
