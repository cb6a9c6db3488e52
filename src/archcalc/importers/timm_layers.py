"""timm's own layers as layer kinds, for ``archcalc import timm:NAME`` and models built from timm's layers.

timm subclasses torch's layers to call their functional form itself (``F.linear``, ``F.layer_norm``,
``F.batch_norm``: for TorchScript and mixed precision), and fuses a normalisation with what follows it
(``BatchNormAct2d``: batch norm, then its ``drop`` and ``act`` children, in that order). Each is the
torch layer it subclasses, then those children's layers; the normalisation keeps the module's name,
since the parameters are its own (:func:`leaves`). Its ``Attention`` is written as items directly:
``qkv``, the ``attention`` kind, ``proj`` (:func:`composites`).

:func:`archcalc.importers.torch_module.leaf` loads these the first time it meets a class of timm's; the
import checks the spec's outputs against the model's.
"""

from __future__ import annotations

from collections.abc import Callable

from torch import nn

from archcalc.importers.torch_module import (
    LEAVES,
    Converter,
    Item,
    Layer,
    _batchnorm,
    _layernorm,
    _layernorm2d,
    _no_op,
    joined_name,
    leaf,
    module_error,
)


def _then_children(first: Callable[[nn.Module], Layer]) -> Callable[[nn.Module], list[Layer]]:
    """A normalisation fused with its ``drop`` and ``act`` children: its own layer, then theirs (no-ops left out)."""
    def make(m: nn.Module) -> list[Layer]:
        layers = [first(m)]
        for part in (m.drop, m.act):
            to_layer = leaf(type(part))
            if to_layer is None:
                raise module_error(part, "is not a layer archcalc maps, inside a fused normalisation")
            made = to_layer(part)
            layers.extend(layer for layer in (made if isinstance(made, list) else [made]) if not _no_op(layer))
        return layers
    return make


def leaves() -> dict[type, Callable[[nn.Module], Layer | list[Layer]]]:
    """timm's layers that map to kinds (imported here, not at the top: this module is collected without timm)."""
    from timm.layers import linear, norm, norm_act

    return {
        linear.Linear: LEAVES[nn.Linear],
        norm.LayerNorm: _layernorm,
        norm.LayerNorm2d: _layernorm2d,
        norm_act.BatchNormAct2d: _then_children(_batchnorm),
        norm_act.GroupNormAct: _then_children(LEAVES[nn.GroupNorm]),
        norm_act.LayerNormAct: _then_children(_layernorm),
        norm_act.LayerNormAct2d: _then_children(_layernorm2d),
    }


def _attention(conv: Converter, m: nn.Module, qualname: str) -> list[Item]:
    """timm's ``Attention``: ``qkv``, then scaled dot-product attention over its heads (q, k and v side by side,
    each ``heads × head_dim``, as the ``attention`` kind splits them), then ``proj`` and its dropout. What it
    adds to that (a gate, q/k or output normalisation, dropout on the attention weights) is refused."""
    extras = [name for name in ("q_norm", "k_norm", "norm") if type(getattr(m, name, nn.Identity())) is not nn.Identity]
    if getattr(m, "gate", None) is not None or extras or getattr(m.attn_drop, "p", 0):
        what = extras or (["gate"] if getattr(m, "gate", None) is not None else ["attn_drop"])
        raise module_error(m, f"attention with {', '.join(what)} has no spec form",
                           "the attention kind is softmax(q·kᵀ/√d)·v over the heads, and nothing between")
    items: list[Item] = [conv.child(m.qkv, joined_name(qualname, "qkv"), "qkv"),
                         Layer("attention", {"heads": m.num_heads}),
                         conv.child(m.proj, joined_name(qualname, "proj"), "proj")]
    if getattr(m.proj_drop, "p", 0):
        items.append(Layer("dropout", {"p": m.proj_drop.p}))
    return items


def composites() -> dict[type, Callable[[Converter, nn.Module, str], list[Item]]]:
    """timm's modules written as items directly."""
    from timm.layers import attention

    return {attention.Attention: _attention}
