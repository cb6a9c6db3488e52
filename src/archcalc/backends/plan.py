"""Graph → module plan: which modules a backend builds, under which names, and how each runs.

Every backend that builds modules (the torch runtime and generated source, the NumPy runtime and
standalone file) and every backend that names weights (ONNX) reads this plan, so they agree on
``state_dict`` keys and on the order things run.

A :class:`Container` is made for the root and for every residual, merge or sequence node that has
a module of its own. It *registers* its children under keys relative to it: a layer, a nested
container, or a bare parameter (a kind that stores its one parameter under its own name, as
torchvision's ViT stores ``class_token``); a key with dots (``attention.output.dense``) goes into
nested holder modules. Its *program* says how ``forward`` runs them: a tree of :data:`Step`. An
``inline`` node has no container: its structure appears in its parent's program and its children
register in the parent, which is how ``h.0.ln_1`` sits beside ``h.0.attn`` with a residual
between them.

Keys are the graph's names, except that a name a container already uses (``forward``,
``training``, ``append``) gets ``_`` appended, part by part, the same way for every backend
(``taken`` holds the names each backend's containers use).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

from archcalc.graph import Graph, LayerNode, MergeNode, Node, ResidualNode, SeqNode


@dataclass(frozen=True, slots=True)
class Call:
    """Run the child registered under ``key`` (a layer module or a nested container)."""

    key: str


@dataclass(frozen=True, slots=True)
class Bare:
    """Apply the bare-parameter layer ``node`` with the parameter registered under ``key``."""

    key: str
    node: LayerNode


@dataclass(frozen=True, slots=True)
class Seq:
    """Run ``steps`` one after the other; no steps is the identity."""

    steps: tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class Sum:
    """A residual: ``then(body(x) + shortcut(x))``; with no shortcut, ``+ x`` when ``identity``, else
    nothing is added (``if_same`` with a changed shape)."""

    body: Step
    shortcut: Step | None
    identity: bool
    then: Step
    node: ResidualNode


@dataclass(frozen=True, slots=True)
class Join:
    """A merge: each branch run on the same input, then ``node.layer`` (concat, add, …) on their outputs.
    A branch whose entry of ``sources`` is a slot runs on the output :class:`Keep` stored there instead."""

    branches: tuple[Step, ...]
    node: MergeNode
    sources: tuple[str | None, ...] = ()


@dataclass(frozen=True, slots=True)
class Keep:
    """Run ``step`` and keep its output under ``slot`` (the node's path) for a later branch's ``from:``."""

    step: Step
    slot: str


Step = Call | Bare | Seq | Sum | Join | Keep


@dataclass(eq=False, slots=True)
class Container:
    """One module: the graph ``node`` it is made for, its children by relative key, and its program."""

    node: Node
    children: dict[str, LayerNode | Container] = field(default_factory=dict)
    program: Step = Seq(())

    @property
    def plain(self) -> bool:
        """A sequence of its children in order, each under a key without dots: what ``nn.Sequential`` is."""
        program = self.program
        return isinstance(program, Seq) and all(isinstance(s, Call) for s in program.steps) and \
            [s.key for s in program.steps] == list(self.children) and not any("." in k for k in self.children) \
            and not any(isinstance(c, LayerNode) and c.layer.BARE for c in self.children.values())

    def containers(self) -> Iterator[Container]:
        """This container and every one nested in it, parents first."""
        yield self
        for child in self.children.values():
            if isinstance(child, Container):
                yield from child.containers()


def plan(graph: Graph, taken: frozenset[str] = frozenset()) -> Container:
    """The root container of ``graph``; ``taken`` are the attribute names a container holds already."""
    return _Planner(taken, kept(graph)).container(graph.root)


def kept(graph: Graph) -> frozenset[str]:
    """The paths of the nodes whose output a later merge branch reads (``from:``)."""
    return frozenset(source.path for node, _ in graph.walk() if isinstance(node, MergeNode)
                     for source in node.sources if source is not None)


class _Planner:
    def __init__(self, taken: frozenset[str], kept: frozenset[str] = frozenset()):
        self.taken = taken
        self.kept = kept
        #: per container (by id), the dotted prefixes of the names it holds ('attn' of 'attn.qkv'): a name among
        #: them has children registered before it, found without scanning every name (linear in the layers)
        self.prefixes: dict[int, set[str]] = {}

    def structure(self, node: Node, box: Container, own: bool = False) -> Step:
        """:meth:`step`, keeping the output of a node a later ``from:`` reads (its caller keeps a container's)."""
        step = self.step(node, box, own)
        return Keep(step, node.path) if not own and node.path in self.kept else step

    def container(self, node: Node) -> Container:
        box = Container(node)
        box.program = self.structure(node, box, own=True)
        return box

    def step(self, node: Node, box: Container, own: bool = False) -> Step:
        """The step that runs ``node`` inside ``box``: its structure when it is ``box``'s own node or
        inline, else a call of the child it becomes."""
        if not own and not node.inline:
            key = self.register(box, node, self.child(node))
            return Bare(key, node) if isinstance(node, LayerNode) and node.layer.BARE else Call(key)
        if isinstance(node, SeqNode):
            return Seq(tuple(self.structure(child, box) for child in node.items))
        if isinstance(node, ResidualNode):
            body = Seq(tuple(self.structure(child, box) for child in node.body))
            shortcut = self.structure(node.shortcut, box) if node.shortcut is not None else None
            then = Seq(tuple(self.structure(child, box) for child in node.then))
            return Sum(body, shortcut, node.mode == "identity", then, node)
        assert isinstance(node, MergeNode), node
        sources = tuple(source.path if source is not None else None for source in node.sources)
        return Join(tuple(self.structure(branch, box) for branch in node.branches), node, sources)

    def child(self, node: Node) -> LayerNode | Container:
        return node if isinstance(node, LayerNode) else self.container(node)

    def register(self, box: Container, node: Node, child: LayerNode | Container) -> str:
        """``child`` under its name relative to ``box`` (dotted when nested or named with dots), each part
        moved past the names a container already holds."""
        relative = node.path[len(box.node.path) + 1:] if box.node.path else node.path
        key = ".".join(self.free(part) for part in relative.split("."))
        while key in box.children:  # only a renamed part can collide ('forward_' beside a real 'forward_')
            key += "_"
        prefixes = self.prefixes.setdefault(id(box), set())
        held = next((i for i, other in enumerate(box.children) if other.startswith(key + ".")), None) \
            if key in prefixes else None
        parts = key.split(".")
        prefixes.update(".".join(parts[:i]) for i in range(1, len(parts)))
        if held is None:
            box.children[key] = child
        else:  # a module that holds children registered before it ('attn' after 'attn.qkv', as Swin's attention
            # holds qkv and proj): registered before them, so they go into it rather than into a holder it replaces
            items = list(box.children.items())
            box.children.clear()
            box.children.update([*items[:held], (key, child), *items[held:]])
        return key

    def free(self, part: str) -> str:
        while part in self.taken:
            part += "_"
        return part


def steps(step: Step) -> Iterator[Step]:
    """``step`` and every step inside it, in the order they run."""
    yield step
    if isinstance(step, Seq):
        for inner in step.steps:
            yield from steps(inner)
    elif isinstance(step, Sum):
        yield from steps(step.body)
        if step.shortcut is not None:
            yield from steps(step.shortcut)
        yield from steps(step.then)
    elif isinstance(step, Join):
        for branch in step.branches:
            yield from steps(branch)
    elif isinstance(step, Keep):
        yield from steps(step.step)


def layer_keys(root: Container) -> Iterator[tuple[str, LayerNode]]:
    """Every layer with its full key from the root (``layer4.1.conv2``), in registration order."""
    def walk(box: Container, prefix: str) -> Iterator[tuple[str, LayerNode]]:
        for key, child in box.children.items():
            full = f"{prefix}.{key}" if prefix else key
            if isinstance(child, Container):
                yield from walk(child, full)
            else:
                yield full, child

    yield from walk(root, "")


def frozen_keys(root: Container) -> list[tuple[str, bool]]:
    """What a backend freezes for the spec's ``trainable: false``: (full key from the root, whether it is a bare
    parameter) for each outermost module whose every parameter is frozen (``features`` rather than each of its
    layers, as a torch user writes ``model.features.requires_grad_(False)``), and each frozen layer with
    parameters in a container that also holds trainable ones. A layer whose weight is tied is reached through its
    owner (a tie joins layers of one setting, :func:`archcalc.graph.build.check_ties`)."""
    out: list[tuple[str, bool]] = []

    def holding(box: Container) -> list[LayerNode]:
        return [node for _, node in layer_keys(box) if _holds(node)]

    def visit(box: Container, prefix: str) -> None:
        for key, child in box.children.items():
            full = f"{prefix}.{key}" if prefix else key
            if isinstance(child, Container):
                held = holding(child)
                if held and all(node.frozen for node in held):
                    out.append((full, False))
                elif any(node.frozen for node in held):
                    visit(child, full)
            elif child.frozen and _holds(child):
                out.append((full, child.layer.BARE))

    visit(root, "")
    return out


def _holds(node: LayerNode) -> bool:
    """Whether a layer holds parameters of its own (a concrete count)."""
    return bool(node.layer.params(node.in_shape).trainable)
