"""Sparse mixture of experts: a router picks top_k of E SwiGLU experts per token (Mixtral, Qwen-MoE, OLMoE)."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Choice, Int, Size
from archcalc.layers.base import (
    GLOBAL,
    MIX,
    POINT,
    AxisMap,
    Count,
    Derivation,
    Layer,
    Shape,
    Work,
    derive,
    layer,
    numel,
)
from archcalc.layers.glu import GATES
from archcalc.layers.traits import Trait

#: what the router's parameter is called: Mixtral's gate.weight, or GraniteMoE's router.weight (the same linear map:
#: GraniteMoE's softmax over the top_k logits is Mixtral's softmax over all of them, kept and renormalised)
ROUTERS = ("gate", "router")


@layer("moe")
class MoE(Layer):
    """A sparse mixture-of-experts MLP on the last axis, laid out as Hugging Face's Mixtral block
    (``MixtralSparseMoeBlock``): a router ``gate`` (D → E, no bias) scores the E experts per token,
    softmax over them, the ``top_k`` best are kept and (``normalize``) rescaled to sum to 1; each
    kept expert is a gated MLP ``down(act(gate(x)) · up(x))`` of ``hidden`` features, and the token's
    output is the weighted sum of its experts' outputs. ``[..., D]`` → ``[..., D]``.

    The experts are stored fused, as transformers 5 stores them: ``experts.gate_up_proj`` [E, 2F, D]
    (the gate the first F rows) and ``experts.down_proj`` [E, D, F]; the router is ``gate.weight``
    [E, D] (``router: router``: ``router.weight``, as GraniteMoE names it). Named ``mlp``, the layer's
    ``state_dict`` keys are Mixtral's, Qwen3-MoE's and OLMoE's (and, with ``shared``, Qwen2-MoE's; named
    ``block_sparse_moe`` with ``router: router``, GraniteMoE's).

    Parameters count every expert: D·E + E·3·D·F (Mixtral-8x7B's layer: 4096·8 + 8·3·4096·14336).
    MACs count what one token computes, the *active* work: the router's D·E and k experts' 3·D·F
    each, as fvcore and DeepSpeed report a sparse model. ``normalize: false`` keeps the softmax
    probabilities of the k experts as they are (Qwen-MoE's and OLMoE's ``norm_topk_prob: false``).

    ``shared: S`` adds Qwen2-MoE's shared expert, which every token runs beside its routed ones: a gated
    MLP ``shared_expert`` (``gate_proj``, ``up_proj``: D → S, ``down_proj``: S → D, no biases) whose output
    is scaled by σ(``shared_expert_gate``(x)) (D → 1) and added: 3·D·S + D more parameters, all active.

    Example: ``- moe: {experts: 8, top_k: 2, hidden: 14336}`` (Mixtral-8x7B's MLP)
    """

    TRAITS = Trait.WEIGHTED
    RANKS = None

    experts = Size(doc="experts E, each a gated MLP (Mixtral's num_local_experts)")
    top_k = Size(2, doc="experts k each token is routed to (num_experts_per_tok)")
    hidden = Size(doc="hidden features F of each expert (intermediate_size)")
    activation = Choice(GATES, "silu", doc="the experts' gate function: silu (SwiGLU, Mixtral's), gelu, gelu_tanh, "
                                           "relu, tanh or sigmoid")
    normalize = Bool(True, doc="rescale the top_k routing weights to sum to 1 (Mixtral; norm_topk_prob)")
    shared = Int(None, doc="hidden features of a shared expert every token runs, sigmoid-gated (Qwen2-MoE's "
                           "shared_expert_intermediate_size); none by default")
    router = Choice(ROUTERS, "gate", doc="the router's name: gate (Mixtral's, Qwen-MoE's, OLMoE's gate.weight) or "
                                         "router (GraniteMoE's router.weight)")

    def output_shape(self, x: Shape) -> Shape:
        if not x:
            raise self.error("needs at least one input axis (the features D)", code="bad-input-shape")
        if self.init is not None:  # init: names a weight and a bias; the backends would have no tensor to apply it to
            raise self.error("init: sets a layer's weight and bias, but a mixture of experts holds a router and "
                             "expert tensors instead", arg="init",
                             hint="remove init: (the experts start as E linear layers would, U(±1/√fan_in))")
        fewer = self.experts < self.top_k if symbolic.is_int(self.experts) and symbolic.is_int(self.top_k) else \
            symbolic.positive(self.top_k - self.experts)
        if fewer:
            raise self.error(f"routes each token to top_k {symbolic.fmt(self.top_k)} experts but has only "
                             f"{symbolic.fmt(self.experts)}", arg="top_k",
                             hint="top_k is at most experts (Mixtral: 2 of 8)")
        return x

    def shared_params(self, d: object) -> object:
        """The shared expert's gate, up and down projections and its sigmoid gate (none without ``shared``)."""
        return 3 * d * self.shared + d if self.shared is not None else 0

    def params(self, x: Shape) -> Count:
        d = x[-1]
        return Count(d * self.experts + self.experts * 3 * d * self.hidden + self.shared_params(d))

    def geometry(self, x: Shape) -> str:
        return GLOBAL

    def axes(self, x: Shape) -> AxisMap:
        """Each token on its own (routing is per token); its features mixed."""
        return (*(((i, POINT),) for i in range(len(x) - 1)), ((len(x) - 1, MIX),))

    def work(self, x: Shape, y: Shape) -> Work:
        """Per token, the active work: the router's D·E MACs and k experts' 3·D·F (gate, up, down); in the
        activation column the softmax over E, each kept expert's F gate values and F products, and the
        k·D products that weight the experts' outputs; a shared expert adds its 3·D·S + D MACs, its S gate
        values and S products, the sigmoid and the D products that scale it."""
        d, k, f = x[-1], self.top_k, self.hidden
        tokens = numel(x[:-1])
        shared = 2 * self.shared + 1 + d if self.shared is not None else 0
        return Work(macs=tokens * (d * self.experts + k * 3 * d * f + self.shared_params(d)),
                    act=tokens * (self.experts + k * 2 * f + k * d + shared))

    def explain_params(self, x: Shape) -> Derivation:
        note = f"router {self.router}; each expert's gate, up and down (every expert counted)"
        if self.shared is None:
            return derive("{D}×{E}+{E}×3×{D}×{F}", self.params(x).trainable, D=x[-1], E=self.experts,
                          F=self.hidden, note=note)
        return derive("{D}×{E}+{E}×3×{D}×{F}+3×{D}×{S}+{D}", self.params(x).trainable, D=x[-1], E=self.experts,
                      F=self.hidden, S=self.shared, note=note + "; the shared expert and its gate")

    def explain_shape(self, x: Shape) -> list[Derivation]:
        d, k, f = x[-1], self.top_k, self.hidden
        macs = d * self.experts + k * 3 * d * f + self.shared_params(d)
        if self.shared is None:
            return [derive("{D}×{E}+{k}×3×{D}×{F}", macs, label="MACs per token", D=d, E=self.experts, k=k, F=f,
                           note="router and the k experts a token runs (active, not total)")]
        return [derive("{D}×{E}+{k}×3×{D}×{F}+3×{D}×{S}+{D}", macs, label="MACs per token", D=d, E=self.experts,
                       k=k, F=f, S=self.shared, note="router, the k experts a token runs and the shared expert")]
