"""Sparse mixture of experts: a router picks top_k of E gated MLPs per token (Mixtral, Qwen-MoE, OLMoE, DeepSeek)."""

from __future__ import annotations

from archcalc import symbolic
from archcalc.layers.args import Bool, Choice, Float, Int, Size
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

#: the routing arguments DeepSeek added, and their defaults (Mixtral's routing): the backends pass a layer's
#: only where the spec sets them, so that a Mixtral's generated files stay as they were
ROUTING = {"router": "gate", "shared_gate": True, "scoring": "softmax", "correction_bias": False, "groups": None,
           "top_groups": None, "group_score": "top2", "scaling": 1.0}


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

    DeepSeek's routing (transformers' ``DeepseekV3TopkRouter``, ``DeepseekV2TopkRouter``): ``scoring:
    sigmoid`` scores each expert σ(logit) instead of the softmax; ``correction_bias`` adds a per-expert
    bias to the scores for the choice only (V3's ``e_score_correction_bias``, a buffer [E], zeros until a
    checkpoint fills it; the weights stay the unbiased scores); ``groups`` G splits the experts into G
    groups of E/G, scores each group by its two best experts' sum (``group_score: top2``, V3) or its best
    (``max``, V2's ``group_limited_greedy``) and chooses among the experts of the ``top_groups`` best
    groups only; ``normalize`` divides the kept weights by their sum (+ 1e-20 under sigmoid, as V3);
    ``scaling`` multiplies them (``routed_scaling_factor``). ``shared_gate: false`` is DeepSeek's shared
    experts: a gated MLP of ``shared`` features named ``shared_experts``, added without a sigmoid gate
    (3·D·S parameters; transformers sizes it moe_intermediate_size × n_shared_experts).

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
    shared_gate = Bool(True, doc="scale the shared expert by σ(shared_expert_gate(x)) (Qwen2-MoE); false: "
                                 "DeepSeek's ungated shared_experts")
    scoring = Choice(("softmax", "sigmoid"), "softmax", doc="how the router scores the experts: softmax over "
                                                            "them (Mixtral) or each one's sigmoid (DeepSeek-V3)")
    correction_bias = Bool(False, doc="a per-expert bias added to the scores for the choice alone, a buffer "
                                      "(DeepSeek-V3's e_score_correction_bias)")
    groups = Int(None, doc="expert groups G for group-limited routing (n_group) [default: none]")
    top_groups = Int(None, doc="groups a token's experts come from (topk_group) [default: all]")
    group_score = Choice(("top2", "max"), "top2", doc="a group's score: its two best experts' sum (DeepSeek-V3) "
                                                      "or its best (DeepSeek-V2)")
    scaling = Float(1.0, doc="factor on the kept routing weights (routed_scaling_factor)", lo=0, lo_open=True)

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
        self.check_routing()
        return x

    def check_routing(self) -> None:
        """Group-limited routing's sizes (transformers' router views the scores [G, E/G]), and the settings
        that mean something only with another one given, each a located error."""
        if self.shared is None and "shared_gate" in self.arg_locs:
            raise self.error("shared_gate is given but there is no shared expert", arg="shared_gate",
                             hint="add shared: S (its hidden features), or drop shared_gate")
        for arg in ("top_groups", "group_score"):
            if self.groups is None and arg in self.arg_locs:
                raise self.error(f"{arg} is given but groups is not", arg=arg,
                                 hint="add groups: G (n_group), or drop " + arg)
        if self.groups is None or not all(symbolic.is_int(v) for v in (self.experts, self.groups, self.top_k)):
            return
        e, g = self.experts, self.groups
        if e % g:
            raise self.error(f"groups {g} does not divide the {e} experts", arg="groups",
                             hint="each group holds E/G experts: use a divisor of experts")
        if self.group_score == "top2" and e // g < 2:
            raise self.error(f"a group's score is its two best experts' sum, but {g} groups of {e} experts hold "
                             f"{e // g} each", arg="groups", hint="at least two experts per group, or "
                             "group_score: max")
        top = g if self.top_groups is None else self.top_groups
        if symbolic.is_int(top) and top > g:
            raise self.error(f"top_groups {top} is more than the {g} groups", arg="top_groups",
                             hint=f"at most groups ({g})")
        if symbolic.is_int(top) and self.top_k > top * (e // g):
            raise self.error(f"top_k {self.top_k} is more than the {top * (e // g)} experts of the top_groups "
                             f"{top} groups ({e // g} each)", arg="top_k",
                             hint="top_k is at most top_groups × experts / groups")

    def shared_params(self, d: object) -> object:
        """The shared expert's gate, up and down projections and its sigmoid gate (none without ``shared``)."""
        if self.shared is None:
            return 0
        return 3 * d * self.shared + (d if self.shared_gate else 0)

    def params(self, x: Shape) -> Count:
        d = x[-1]
        return Count(d * self.experts + self.experts * 3 * d * self.hidden + self.shared_params(d),
                     buffers=self.experts if self.correction_bias else 0)

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
        shared = 0 if self.shared is None else 2 * self.shared + (1 + d if self.shared_gate else 0)
        return Work(macs=tokens * (d * self.experts + k * 3 * d * f + self.shared_params(d)),
                    act=tokens * (self.experts + k * 2 * f + k * d + shared))

    def explain_params(self, x: Shape) -> Derivation:
        note = f"router {self.router}; each expert's gate, up and down (every expert counted)"
        if self.shared is None:
            return derive("{D}×{E}+{E}×3×{D}×{F}", self.params(x).trainable, D=x[-1], E=self.experts,
                          F=self.hidden, note=note)
        gate = "+{D}" if self.shared_gate else ""
        return derive("{D}×{E}+{E}×3×{D}×{F}+3×{D}×{S}" + gate, self.params(x).trainable, D=x[-1], E=self.experts,
                      F=self.hidden, S=self.shared,
                      note=note + ("; the shared expert and its gate" if self.shared_gate else "; the shared experts"))

    def explain_shape(self, x: Shape) -> list[Derivation]:
        d, k, f = x[-1], self.top_k, self.hidden
        macs = d * self.experts + k * 3 * d * f + self.shared_params(d)
        if self.shared is None:
            return [derive("{D}×{E}+{k}×3×{D}×{F}", macs, label="MACs per token", D=d, E=self.experts, k=k, F=f,
                           note="router and the k experts a token runs (active, not total)")]
        gate = "+{D}" if self.shared_gate else ""
        return [derive("{D}×{E}+{k}×3×{D}×{F}+3×{D}×{S}" + gate, macs, label="MACs per token", D=d, E=self.experts,
                       k=k, F=f, S=self.shared, note="router, the k experts a token runs and the shared expert")]
