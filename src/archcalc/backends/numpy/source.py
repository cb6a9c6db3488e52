"""``archcalc export SPEC --to numpy``: one readable Python file that trains the network with NumPy alone.

The file is assembled, not templated: the layer, structure, loss, optimizer and training-loop
definitions it needs are copied with :func:`inspect.getsource` from this package's runtime
modules (so there is one implementation), found by following the names each definition uses.
Then come the model's own parts: ``build_model()`` written from the same :class:`~.build.Call`
tree the runtime builds from, ``build_loss()``, ``build_optimizer()``, the ``train:`` settings, and a
small command line. Safe generation: no identifier comes from the spec (the file's names are
fixed, so there is nothing for :class:`~archcalc.backends.naming.Namer` to sanitise); every value
from the spec is a validated plain literal written with ``repr`` — layer and model names included,
so a hostile name stays a string; the text must parse before it is written, atomically.
"""

from __future__ import annotations

import ast
import functools
import inspect
import textwrap

from archcalc import symbolic
from archcalc.backends import check_depth, rope
from archcalc.backends.common import code
from archcalc.backends.data_check import check_data_lines
from archcalc.backends.numpy import layers, losses, optim, structures, training
from archcalc.backends.numpy.build import (
    LOSSES,
    OPTIMIZERS,
    Call,
    clip_kwargs,
    loss_kwargs,
    optimizer_kwargs,
    plan_graph,
)
from archcalc.files import write_atomic
from archcalc.layers.base import shape_text
from archcalc.layers.sigmoid import Sigmoid
from archcalc.layers.softmax import Softmax
from archcalc.model import Model
from archcalc.spec.train import TrainSpec, dense_axes
from archcalc.training import loop, schedule

#: the runtime modules, in the order their definitions appear in the file
RUNTIME = (rope, layers, structures, losses, optim, schedule, loop, training)
#: what the training part of every file uses
LOOP = ("fit", "evaluate", "predict", "save_weights", "load_weights")
#: the deepest graph this exporter writes: each level costs 3 nested brackets (``Sequential([("name", …``)
#: and Python parses at most 200
MAX_DEPTH = 60


def export(model: Model, path: str, force: bool = False) -> None:
    """Write ``model`` as a standalone NumPy file at ``path``."""
    write_atomic(path, render(model), force=force)


def render(model: Model) -> str:
    model.require_values("export")
    check_depth(model, MAX_DEPTH, "numpy")
    train = TrainSpec.of(model.spec)
    network = plan_graph(model.graph)
    loss, optimizer = LOSSES[train.loss], OPTIMIZERS[train.optimizer.name]
    roots = {*_classes(network), loss.__name__, optimizer.__name__, *LOOP}
    if dense_axes(train, tuple(int(d) for d in model.output_shape)):  # a class per position: PerPosition's mean
        roots.add(losses.per_position_loss.__name__)
    if train.scheduler is not None:
        rule = train.scheduler
        roots.add((schedule.Plateau if rule.monitor else schedule.OneCycle if rule.per_batch else
                   schedule.Schedule).__name__)
    if clip_kwargs(train):
        roots.add(optim.ClipGradients.__name__)
    definitions = _definitions(roots)
    body = "\n\n\n".join([*definitions.values(), _model_part(model, network, train)])
    # ruff's import sorting wants one blank line after the imports when a comment (a section title) follows
    text = f"{_header(model)}\n\n{_imports(definitions)}\n\n{body}\n"
    ast.parse(text)  # a SyntaxError here is a bug in this module (the CLI reports an internal error); nothing written
    return text


def _classes(call: Call) -> set[str]:
    names = {call.cls.__name__}
    for value in call.kwargs.values():
        if isinstance(value, Call):
            names |= _classes(value)
        elif isinstance(value, list):
            for _, child in value:
                names |= _classes(child)
    return names


@functools.cache
def _trees() -> dict[object, ast.Module]:
    """Each runtime module's syntax tree, parsed once per process (parsing was most of an export's time)."""
    return {module: ast.parse(inspect.getsource(module)) for module in RUNTIME}


@functools.cache
def _lines(module: object) -> list[str]:
    return inspect.getsource(module).splitlines()


def _source(obj: object, node: ast.AST) -> str:
    """The source of a top-level definition, decorators included, cut from its module's text by the lines
    its syntax tree spans: what :func:`inspect.getsource` gives, without parsing the module again for
    each class (Python 3.11's ``getsource`` of a class does, which took most of an export's time)."""
    first = min([d.lineno for d in getattr(node, "decorator_list", [])] + [node.lineno])
    return "\n".join(_lines(inspect.getmodule(obj))[first - 1:node.end_lineno])


@functools.cache
def _top_level() -> dict[str, tuple[object, ast.AST]]:
    """Every class and function the runtime modules define: name → (object, its syntax tree)."""
    found = {}
    for module, tree in _trees().items():
        for node in tree.body:
            if isinstance(node, (ast.ClassDef, ast.FunctionDef)):
                found[node.name] = (getattr(module, node.name), node)
    return found


def _definitions(roots: set[str]) -> dict[str, str]:
    """The sources of ``roots`` and of every runtime definition they use, in the runtime's order,
    each module's part opened by a comment with the first line of its docstring."""
    every = _top_level()
    needed, todo = set(), list(roots)
    while todo:
        name = todo.pop()
        if name in needed:
            continue
        needed.add(name)
        todo += [n.id for n in ast.walk(every[name][1]) if isinstance(n, ast.Name) and n.id in every]
    out, opened = {}, set()
    for name, (obj, node) in every.items():
        if name in needed:
            module = inspect.getmodule(obj)
            source = _source(obj, node).rstrip()
            if module not in opened:
                opened.add(module)
                source = f"{_section(module.__name__.rsplit('.', 1)[-1])}\n\n{source}"
            out[name] = source
    return out


def _imports(definitions: dict[str, str]) -> str:
    """The runtime modules' own imports that the copied code uses (the standard library, then NumPy)."""
    every = _top_level()
    used = {n.id for name in definitions for n in ast.walk(every[name][1]) if isinstance(n, ast.Name)}
    used |= {"np", "argparse"}
    found = {"import argparse"}
    for tree in _trees().values():
        for node in tree.body:
            external = isinstance(node, ast.Import) or (isinstance(node, ast.ImportFrom) and node.module not in
                                                        ("__future__", None) and not node.module.startswith("archcalc"))
            if external and {a.asname or a.name.split(".")[0] for a in node.names} & used:
                found.add(ast.unparse(node))
    standard = sorted(line for line in found if "numpy" not in line)
    numpy = sorted((line for line in found if "numpy" in line), key=lambda line: (line.startswith("from"), line))
    return "\n".join(["from __future__ import annotations", "", *standard, "", *numpy])


def _section(title: str) -> str:
    return f"# -- {title} {'-' * (94 - len(title))}"


def _header(model: Model) -> str:
    last = model.layers[-1].kind
    output = {Softmax.kind: "probabilities, as the spec ends in\nsoftmax",
              Sigmoid.kind: "probabilities (each in (0, 1)), as the\nspec ends in sigmoid"}.get(
        last, "scores (logits, for a classifier), not\nprobabilities: the spec ends in " + last)
    rule = TrainSpec.of(model.spec).scheduler
    # the spec's learning-rate schedule; a one-cycle one spans the run's steps: epochs × batches per epoch
    fit_schedule = "" if rule is None else ", schedule=build_schedule(10)" if not rule.per_batch else \
        ",\n        schedule=build_schedule(10, batch_count(len(x), 32))"
    return f'''"""A neural network in plain NumPy, written by ``archcalc export --to numpy`` from the spec named
in NAME below: {shape_text(model.input_shape)} → {shape_text(model.output_shape)}, \
{_counted(model)}.

It needs only NumPy. Layers keep PyTorch's weight layouts and initialisation; every layer has
its forward and backward pass; losses and optimizers follow torch.nn and torch.optim exactly.

Train from the command line on an .npz file holding arrays ``x`` (samples first) and ``y``::

    python this_file.py DATA.npz --epochs 20 -o weights.npz

The inputs are used as they are in the file: scale them as they were scaled for any weights you
load (``archcalc train --data digits`` divides the digits' 0…16 pixel values by 16).

Or use it as a module::

    model = build_model(seed=0)
    fit(model, build_loss(), build_optimizer(model), x, y, epochs=10, batch_size=32,
        rng=np.random.default_rng(0){fit_schedule})
    scores = predict(model, x)
    save_weights(model, "weights.npz")      # PyTorch's state_dict names; load_weights(model, path) reads them

``predict`` returns the network's output: {output}.
"""'''


def _counted(model: Model) -> str:
    """``1,623 parameters``, and how many are frozen when the spec freezes some."""
    text = f"{symbolic.fmt(model.total_params, commas=True)} parameters"
    frozen = model.non_trainable_params
    return text if not frozen else f"{text} ({symbolic.fmt(frozen, commas=True)} of them frozen)"


def _schedule_part(train) -> tuple[str, str]:
    """``build_schedule(epochs)``, the spec's learning-rate schedule (a copy of archcalc's ``Schedule``),
    and the argument that hands it to ``fit``; nothing without a ``scheduler:``."""
    rule = train.scheduler
    if rule is None:
        return "", ""
    if rule.monitor is not None:  # ReduceLROnPlateau: a state stepped with each epoch's validation number
        settings = textwrap.fill(", ".join(f"{k}={code(v)}" for k, v in rule.settings.items()), 100,
                                 initial_indent=" " * 8, subsequent_indent=" " * 8, break_long_words=False)
        return f"""

def build_schedule(epochs):
    \"\"\"The learning rate of each epoch: the spec's plateau schedule, which lowers it when {rule.monitor} stops
    improving (torch's ReduceLROnPlateau; ``epochs`` does not change it).\"\"\"
    return Plateau(
        {code(train.optimizer.lr)},
{settings})
""", "schedule=build_schedule(args.epochs), "
    if rule.per_batch:  # OneCycleLR: stepped after every optimizer step, over the run's steps
        settings = textwrap.fill(", ".join(f"{k}={code(v)}" for k, v in rule.settings.items()), 100,
                                 initial_indent=" " * 8, subsequent_indent=" " * 8, break_long_words=False)
        return f"""

def build_schedule(epochs, steps_per_epoch):
    \"\"\"The learning rate (and momentum) of each optimizer step: the spec's onecycle schedule over ``epochs`` ×
    ``steps_per_epoch`` steps (torch's OneCycleLR; the optimizer's own lr is not used).\"\"\"
    return OneCycle(
        total_steps=epochs * steps_per_epoch,
{settings})
""", "schedule=build_schedule(args.epochs, steps), "
    settings = ", ".join(f"{code(k)}: {code(v)}" for k, v in rule.settings.items())
    return f"""

def build_schedule(epochs):
    \"\"\"The learning rate of each epoch: the spec's {rule.name} schedule for a run of ``epochs``.\"\"\"
    return Schedule({code(rule.name)}, {code(train.optimizer.lr)}, epochs, {{{settings}}},
                    warmup_epochs={code(rule.warmup_epochs)}, warmup_start_factor={code(rule.warmup_start_factor)})
""", "schedule=build_schedule(args.epochs), "


def _model_part(model: Model, network: Call, train) -> str:
    loss = LOSSES[train.loss].__name__
    optimizer = OPTIMIZERS[train.optimizer.name].__name__
    stopping = train.early_stopping
    training = {
        "task": train.task, "epochs": train.epochs, "batch_size": train.batch_size, "l1": train.l1,
        "patience": stopping.patience if stopping else None, "min_delta": stopping.min_delta if stopping else 0.0,
        "monitor": stopping.monitor if stopping else "val_loss", "seed": train.seed if train.seed is not None else 0,
    }
    settings = "\n".join(f"    {code(k)}: {code(v)}," for k, v in training.items())
    # a network without weights or dropout draws no random numbers
    rng = "rng = np.random.default_rng(seed)\n    " if "rng=rng" in network.source(4, 12) else ""
    kwargs = ", ".join(f"{k}={code(v)}" for k, v in optimizer_kwargs(train).items())
    # a spec that freezes parameters (trainable: false) steps those that learn, as a torch user's optimizer does
    params = "model.parameters()" if not model.non_trainable_params else "model.trainable_parameters()"
    built = f"return {optimizer}({params}, {kwargs})"
    clip = clip_kwargs(train)
    if clip:  # the gradients clipped before each step, as torch.nn.utils.clip_grad_norm_ (or _value_) does
        (key, value), = clip.items()
        clipping = f"clip_grad_{'norm' if key == 'max_norm' else 'value'}_"
        built = (f"optimizer = {optimizer}({params}, {kwargs})\n"
                 f"    # each step's gradients clipped first, as torch.nn.utils.{clipping} clips them\n"
                 f"    return ClipGradients(optimizer, {key}={code(value)})")
    loss_args = ", ".join(f"{k}={code(v)}" for k, v in loss_kwargs(train).items())
    dense = dense_axes(train, tuple(int(d) for d in model.output_shape))
    # targets with a class index per position: the table that says where their class scores are, and the loss
    # that averages over every position (what archcalc train does: archcalc.spec.train.dense_axes, PerPosition)
    table = f"""
#: a class index per position: the targets' shape (after the batch) -> the output axis that holds the class
#: scores (the spec's class_axis, or the one axis whose removal leaves that shape)
CLASS_AXES = {{{", ".join(f"{code(k)}: {code(v)}" for k, v in dense.items())}}}
""" if dense else ""
    targets = """    loss = per_position_loss(build_loss(), y, CLASS_AXES)
    if y.ndim > 1 and not isinstance(loss, PerPosition):
        parser.error(f"y holds targets of shape {list(y.shape[1:])} per sample; a class index per position "
                     f"needs one of {[list(s) for s in CLASS_AXES]} (the output {list(OUTPUT_SHAPE)} without its "
                     "class axis: the spec's train: class_axis says which)")""" if dense else \
        "    loss = build_loss()"
    build_schedule, schedule_arg = _schedule_part(train)
    monitor = train.scheduler.monitor if train.scheduler else None
    watched = f"""    if not 0 < held < len(x):  # the plateau schedule steps on the validation number
        parser.error(f"the spec's plateau schedule watches {monitor}: --validation {{args.validation:g}} holds out "
                     f"{{held}} of {{len(x)}} samples; give a fraction that holds out some, and leaves some to "
                     "train on")
""" if monitor else ""
    # a one-cycle schedule spans the run's optimizer steps: its epochs × the batches an epoch has
    steps = '    steps = batch_count(len(train), TRAINING["batch_size"])  # optimizer steps per epoch\n' \
        if train.scheduler is not None and train.scheduler.per_batch else ""
    output = tuple(int(d) for d in model.output_shape)
    check = "\n".join(check_data_lines(train, None if len(output) != 1 else train.classes or max(output[0], 2),
                                        output))
    return f'''{_section("this network")}

NAME = {code(model.name)}
INPUT_SHAPE = {code(tuple(model.input_shape))}
OUTPUT_SHAPE = {code(tuple(model.output_shape))}
#: the spec's train: section
TRAINING = {{
{settings}
}}
{table}

def build_model(seed=None, dtype="float32"):
    """The network, initialised like PyTorch's defaults from ``seed`` (an int, a Generator or None)."""
    {rng}model = {network.source(4, 12)}
    return model.astype(dtype)


def build_loss():
    return {loss}({loss_args})


def build_optimizer(model):
    {built}
{build_schedule}

{check}


def main(argv=None):
    parser = argparse.ArgumentParser(description="Train the network on DATA.npz (arrays x and y) with NumPy.")
    parser.add_argument("data", help=".npz file with x (samples first) and y")
    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    parser.add_argument("--seed", type=int, default=TRAINING["seed"])
    parser.add_argument("--validation", type=float, default=0.15, help="fraction held out for validation")
    parser.add_argument("-o", "--output", help="save the trained weights to this .npz file")
    args = parser.parse_args(argv)
    try:
        with np.load(args.data, allow_pickle=False) as data:
            x, y = data["x"], data["y"]
        check_data(x, y)
    except Exception as error:  # unreadable or unusable: a usage error, not a traceback
        parser.error(f"{{args.data}}: {{error}}")
    x = x.astype(np.float32).reshape(len(x), *INPUT_SHAPE)
    classify = TRAINING["task"] == "classification"
{targets}
    y = loss.targets(y, OUTPUT_SHAPE[-1], classify)
    rng = np.random.default_rng(args.seed)
    order = rng.permutation(len(x))
    if not 0 <= args.validation <= 1:  # nan too
        parser.error(f"--validation {{args.validation:g}}: give the fraction to hold out, from 0 to 1")
    held = round(len(x) * args.validation)
{watched}    val, train = order[:held], order[held:]
{steps}    model = build_model(rng)
    result = fit(model, loss, build_optimizer(model), x[train], y[train], epochs=args.epochs,
                 batch_size=TRAINING["batch_size"], rng=rng, validation=(x[val], y[val]) if held else None,
                 l1=TRAINING["l1"], patience=TRAINING["patience"], min_delta=TRAINING["min_delta"],
                 monitor=TRAINING["monitor"], {schedule_arg}classify=classify,
                 on_epoch=lambda r: print(", ".join(f"{{k}} {{v:.6g}}" for k, v in r.items() if v is not None)))
    print(f"best epoch {{result['best_epoch']}} of {{len(result['history'])}}")
    if args.output:
        save_weights(model, args.output)


if __name__ == "__main__":
    main()'''
