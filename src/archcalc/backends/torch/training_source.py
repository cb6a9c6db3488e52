"""The training entry point at the end of a file written by ``archcalc export --to torch``.

The file trains its network with the spec's ``train:`` section, in one process or data-parallel
under ``torchrun`` (the textbook recipe: a process group, ``DistributedDataParallel``, a
``DistributedSampler``)::

    python model.py DATA.npz --epochs 10 -o weights.pt
    torchrun --nproc-per-node=4 model.py DATA.npz --epochs 10 -o weights.pt

It needs torch, and NumPy to read the ``.npz``. Every value written comes from the validated
``train:`` settings (numbers, booleans, tuples of numbers) as a literal that
``ast.literal_eval`` gives back; no identifier comes from the spec, and the names it defines at
module level (:data:`NAMES`) are reserved for it, so no class generated from a spec name can take them.
"""

from __future__ import annotations

from torch import nn

from archcalc.backends.common import code
from archcalc.backends.data_check import check_data_lines
from archcalc.backends.torch.layout import Brackets, Text, layout, string
from archcalc.backends.torch.training import (
    LOSS_HELPERS,
    OPTIMIZERS,
    SCHEDULER_CLASSES,
    criterion_call,
    scheduler_settings,
    token_ids,
)
from archcalc.model import Model
from archcalc.spec.train import INDEX_LOSSES, SIGN_LOSSES, YES_NO_LOSSES, TrainSpec, dense_axes

_NLL = "Cross-entropy as NLL of the log-probabilities"
#: the module-level names the entry point defines
NAMES = frozenset({"TRAINING", "CLASS_AXES", "build_loss", "build_optimizer", "build_scheduler", "targets",
                   "class_dim", "validate", "train", "main",
                   *(cls.__name__ for cls in LOSS_HELPERS)})


def loss_call(train: TrainSpec) -> str:
    """The expression that makes the spec's loss: torch's class (``nn.HuberLoss(delta=0.5)``) or one of
    :data:`LOSS_HELPERS`, whose code the file carries (:func:`loss_helper`)."""
    cls, kwargs = criterion_call(train)
    name = f"nn.{cls.__name__}" if getattr(nn, cls.__name__, None) is cls else cls.__name__
    written = {key: string(value) if isinstance(value, str) else code(value) for key, value in kwargs.items()}
    return f"{name}({', '.join(f'{key}={value}' for key, value in written.items())})"


def loss_helper(train: TrainSpec) -> type[nn.Module] | None:
    """The class of :data:`LOSS_HELPERS` the spec's loss needs in the exported file, if any."""
    cls = criterion_call(train)[0]
    return cls if cls in LOSS_HELPERS else None


def build_scheduler(train: TrainSpec) -> list[str]:
    """``build_scheduler(optimizer, epochs)``: the spec's schedule as torch's own schedulers, stepped once
    per epoch; a warm-up is a ``LinearLR`` followed by the schedule in a ``SequentialLR``, as torch
    chains them. Cosine's T_max, unless the spec gives it, is the run's epochs after the warm-up. The same
    schedulers as :func:`archcalc.backends.torch.training.build_scheduler` builds for ``archcalc train``."""
    rule = train.scheduler
    warmup = rule.warmup_epochs
    settings = scheduler_settings(train, None)
    if rule.name == "cosine" and "T_max" not in settings:
        settings = {"T_max": Text(f"max(1, epochs - {warmup})" if warmup else "epochs"), **settings}
    if rule.per_batch:  # OneCycleLR: its cycle spans the run's optimizer steps
        settings = {"epochs": Text("epochs"), "steps_per_epoch": Text("steps_per_epoch"), **settings}
    args = [Text("optimizer"), *(Text(f"{k}={v.text if isinstance(v, Text) else _literal(v)}")
                                 for k, v in settings.items())]
    schedule = Brackets(f"lr_scheduler.{SCHEDULER_CLASSES[rule.name]}", "(", args, ")")
    what = f"{rule.name} after {warmup} warm-up epochs" if warmup else rule.name
    if rule.per_batch:
        return [
            "def build_scheduler(",
            "    optimizer: torch.optim.Optimizer, epochs: int, steps_per_epoch: int",
            ") -> torch.optim.lr_scheduler.LRScheduler:",
            f"    \"\"\"The spec's learning-rate schedule ({what}), stepped after",
            "    every optimizer step: its cycle spans epochs * steps_per_epoch steps, and it",
            '    sets the rate from max_lr (the optimizer\'s lr is not used)."""',
            "    lr_scheduler = torch.optim.lr_scheduler",
            *layout(schedule, 4, "return "),
        ]
    lines = [
        "def build_scheduler(",
        "    optimizer: torch.optim.Optimizer, epochs: int",
        ") -> torch.optim.lr_scheduler.LRScheduler:",
        f"    \"\"\"The spec's learning-rate schedule ({what}),",
        '    stepped once per epoch."""',
        "    lr_scheduler = torch.optim.lr_scheduler",
    ]
    if not warmup:
        return [*lines, *layout(schedule, 4, "return ")]
    ramp = Brackets("lr_scheduler.LinearLR", "(", [Text("optimizer"), Text(f"total_iters={warmup}"),
                                                    Text(f"start_factor={code(rule.warmup_start_factor)}")], ")")
    return [*lines, *layout(ramp, 4, "warmup = "), *layout(schedule, 4, "decay = "),
            *layout(Brackets("lr_scheduler.SequentialLR", "(", [Text("optimizer"), Text("[warmup, decay]"),
                                                                 Text(f"milestones=[{warmup}]")], ")"), 4, "return ")]


def _literal(value: object) -> str:
    """A setting as the file writes it: a word (plateau's mode) as a string in double quotes, as ruff formats it."""
    return string(value) if isinstance(value, str) else code(value)


def _validate(train: TrainSpec, forward: list[str], scores: str, tally: str, dense: bool) -> list[str]:
    """``validate(model, loss_fn, x, y)``: the validation totals the plateau schedule's number divides (the loss
    summed over the samples, the samples, and right answers when classifying), in evaluation mode, as
    ``archcalc train``'s validation computes them; ``forward`` are the training loop's lines that make ``out``
    and ``scores``."""
    what = "summed loss, samples" + (" and right answers" if train.task == "classification" else "")
    return [
        "@torch.no_grad()",
        "def validate(",
        f"    model: nn.Module, loss_fn: nn.Module, x: torch.Tensor, y: torch.Tensor{', dim: int' if dense else ''}",
        ") -> torch.Tensor:",
        f'    """The {what} over ``(x, y)``, in evaluation',
        '    mode and float64: what the plateau schedule\'s validation number divides."""',
        "    net, was_training = model, model.training",
        "    model.eval()",
        f"    total = torch.zeros({3 if train.task == 'classification' else 2}, dtype=torch.float64, device=x.device)",
        "    for xb, yb in zip(x.split(256), y.split(256), strict=True):",
        *(line[4:] for line in forward),
        f"        loss = loss_fn({scores}, targets(yb, out))",
        *layout(Brackets("torch.tensor", "(", [Text(tally), Text("dtype=torch.float64"), Text("device=x.device")],
                         ")"), 8, "total += "),
        "    model.train(was_training)",
        "    return total",
        "",
        "",
    ]


def fold_dims(train: TrainSpec, output: tuple[int, ...]) -> set[int]:
    """The dims of the output (batch included) that can hold the class scores: 1 for a class per sample, or,
    when the output can take a class index per position, each class axis of :func:`dense_axes` plus one. A
    final softmax over one of them is the loss's own for the targets that put the classes there."""
    dense = dense_axes(train, output)
    return {1 + axis for axis in dense.values()} if dense else {1}


def entry_point(model: Model, logits: bool, probabilities: bool = False, final: int | None = None) -> list[str]:
    """The lines that follow ``build_model()``. ``logits``: the model's ``forward`` takes ``logits=True``
    (its last layer is the activation the loss applies itself). ``probabilities``: it ends in the
    softmax that the default loss, cross-entropy, applies, but (the spec having no ``train:``
    section) takes no ``logits``: the loss is then NLL on the log of its output, which is
    cross-entropy on the logits. ``final``: the dim that final softmax normalises.

    An output that can take a class index per position (``[T, V]`` against ``[T]``) gets ``CLASS_AXES``
    (:func:`dense_axes`: the target shapes and their class axes) and ``class_dim(y)``; the loop moves the
    class scores to dim 1 for the loss, which averages over every position, and stops before the final
    softmax only when it normalises the class scores, as ``archcalc train`` does."""
    train = TrainSpec.of(model.spec)
    output = tuple(int(d) for d in model.output_shape)
    dense = dense_axes(train, output)
    settings = {"epochs": train.epochs, "batch_size": train.batch_size, "seed": train.seed or 0, "l1": train.l1}
    # torch.nn.utils' clipping after backward (after DDP has averaged the gradients), as archcalc train clips
    clip = next((key for key in ("clip_grad_norm", "clip_grad_value") if getattr(train, key) is not None), None)
    clipping = []
    if clip is not None:
        settings[clip] = getattr(train, clip)
        call = Brackets(f"nn.utils.{clip}_", "(", [Text("model.parameters()"), Text(f'TRAINING["{clip}"]')], ")")
        clipping = layout(call, 12)
    optimizer = OPTIMIZERS[train.optimizer.name]
    # a spec that freezes parameters (trainable: false) trains those that require grad, as torch users write it
    params = "model.parameters()" if not model.non_trainable_params else \
        "(p for p in model.parameters() if p.requires_grad)"
    penalised = "list(model.parameters())" if not model.non_trainable_params else \
        "[p for p in model.parameters() if p.requires_grad]"
    hyper = [Text(params), *(Text(f"{k}={code(v)}") for k, v in train.optimizer.hyper.items()),
             Text(f"weight_decay={code(train.weight_decay)}")]
    # loss: {cross_entropy: {inputs: probabilities}} is archcalc's ProbabilityCrossEntropyLoss, which the file
    # carries (nn.CrossEntropyLoss would take log-softmax of the probabilities)
    given = train.loss == "cross_entropy" and train.takes == "probabilities"
    what = _NLL if probabilities else f"The spec's loss ({train.loss}{', of probabilities' if given else ''})"
    fold = "True" if not dense or final is None else f"dim == {final}"  # the final softmax is the loss's own
    forward = [f"            out = {f'net(xb, logits={fold})' if logits else 'net(xb)'}"]
    if probabilities:  # the model ends in the softmax cross-entropy applies: NLL of its log is that loss
        log = "out.clamp_min(torch.finfo(out.dtype).tiny).log()"
        forward += [f"            out = {log}"] if fold == "True" else [
            "            # over the class scores, NLL of its log is cross-entropy of the logits",
            f"            log = {log}", f"            out = log if {fold} else out.log_softmax(dim)"]
    if dense:  # the class scores at dim 1, as torch wants
        forward.append("            scores = out.movedim(dim, 1).contiguous()")
    scores = "scores" if dense else "out"
    classify = train.task == "classification"
    tally = f"[loss.item() * len(xb), len(xb){f', correct({scores}, yb)' if classify else ''}]"
    monitor = train.scheduler.monitor if train.scheduler else None
    parts = ['f"epoch {epoch + 1}/{epochs}: loss {total[0] / total[1]:.6f}"',
             *(['f" accuracy {total[2] / total[1]:.4f}"'] if classify else []),
             *([f'f" {monitor} {{metric:.6f}}"'] if monitor else [])]
    report = [f"            print({parts[0]})"] if len(parts) == 1 else [
        "            print(", *(f"                {p[:-1]},\"" if i < len(parts) - 1 else f"                {p}"
                               for i, p in enumerate(parts)), "            )"]
    per_batch = train.scheduler is not None and train.scheduler.per_batch
    stepping = ["        scheduler.step()"] if train.scheduler and not monitor and not per_batch else []
    if monitor:  # the plateau schedule: each epoch's validation number, summed over the processes, steps it
        settings["validation"] = 0.15
        at = 2 if monitor == "val_accuracy" else 0
        stepping = [f"        seen = validate(model, loss_fn, *validation{', dim' if dense else ''})",
                    "        if world > 1:", "            distributed.all_reduce(seen)",
                    f"        metric = (seen[{at}] / seen[1]).item()  # {monitor}, which the schedule watches",
                    "        scheduler.step(metric)"]
    l1 = ["            loss = loss + TRAINING[\"l1\"] * sum(p.abs().sum() for p in params)"] if train.l1 else []
    return [
        "",
        "",
        "# -- training: python FILE.py DATA.npz, or torchrun --nproc-per-node=N FILE.py DATA.npz",
        "",
        "#: the spec's train: section" if model.spec.train else "#: the defaults (the spec has no train: section)",
        "TRAINING = {",
        *(f'    "{key}": {code(value)},' for key, value in settings.items()),
        "}",
        "",
        "",
        "def build_loss() -> nn.Module:",
        f'    """{what}, averaged over the batch."""',
        f"    return {'nn.NLLLoss()' if probabilities else loss_call(train)}",
        "",
        "",
        "def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:",
        f'    """The spec\'s optimizer ({train.optimizer.name}) over every parameter."""',
        *layout(Brackets(f"torch.optim.{optimizer.__name__}", "(", hyper, ")"), 4, "return "),
        "",
        "",
        *([*build_scheduler(train), "", ""] if train.scheduler else []),
        "def targets(y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:",
        '    """The targets ``y`` as the loss compares them with the output ``out``."""',
        *_targets(train, int(model.output_shape[-1]) if model.output_shape else 1),
        "",
        "",
        *(_class_dim(dense, output) if dense else []),
        *(_correct(0.0 if train.takes == "logits" else 0.5, train.loss in YES_NO_LOSSES + SIGN_LOSSES,
                   train.multi_label) if classify else []),
        *(_validate(train, forward, scores, tally, bool(dense)) if monitor else []),
        "def train(",
        "    x: torch.Tensor,",
        "    y: torch.Tensor,",
        '    epochs: int = TRAINING["epochs"],',
        '    batch_size: int = TRAINING["batch_size"],',
        '    seed: int = TRAINING["seed"],',
        "    output: str | None = None,",
        *(["    validation: tuple[torch.Tensor, torch.Tensor] | None = None,"] if monitor else []),
        ") -> nn.Module:",
        '    """A new model trained on ``(x, y)`` with the spec\'s loss and optimizer.',
        "",
        "    Under torchrun every process runs this: they join one process group (NCCL on GPUs,",
        "    gloo on the CPU), each trains on its share of the samples (DistributedSampler) in",
        "    DistributedDataParallel, which averages the gradients, so ``batch_size`` is the",
        f"    global batch. Rank 0 prints the loss{' and accuracy' if classify else ''} after each epoch, averaged",
        "    over all processes, and saves the trained state_dict to ``output`` (``torch.save``).",
        *([f"    The plateau schedule steps on the {monitor} of ``validation`` after each epoch,",
           "    each process measuring its share of it."] if monitor else []),
        '    """',
        "    distributed = torch.distributed",
        "    launched = distributed.is_torchelastic_launched()  # by torchrun",
        "    if torch.cuda.is_available():",
        "        device = torch.device(\"cuda\", distributed.get_node_local_rank(fallback_rank=0))",
        "        torch.cuda.set_device(device)",
        "    else:",
        '        device = torch.device("cpu")',
        "    if launched:",
        '        distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")',
        "    world = distributed.get_world_size() if launched else 1",
        "    first = not launched or distributed.get_rank() == 0  # prints and saves",
        *(["    if validation is None:",
           *layout(Brackets("ValueError", "(", [Text(string(f"the plateau schedule watches {monitor}: give "
                                                           "validation=(x, y)"))], ")"), 8, "raise ")]
          if monitor else []),
        "    if batch_size % world:",
        '        raise ValueError(f"{world} processes cannot share batches of {batch_size}")',
        "    torch.manual_seed(seed)  # the same initial weights in every process",
        "    model = build_model().to(device)",
        "    net = model",
        "    if world > 1:",
        '        ids = [device.index] if device.type == "cuda" else None',
        "        net = torch.nn.parallel.DistributedDataParallel(model, device_ids=ids)",
        "    data = torch.utils.data.TensorDataset(x, y)",
        "    sampler = None",
        "    if world > 1:",
        "        sampler = torch.utils.data.distributed.DistributedSampler(data, seed=seed)",
        "    loader = torch.utils.data.DataLoader(",
        "        data,",
        "        batch_size // world,",
        "        shuffle=sampler is None,",
        "        sampler=sampler,",
        "        generator=torch.Generator().manual_seed(seed),",
        "    )",
        *(["    rank = distributed.get_rank() if launched else 0",
           "    validation = [v[rank::world].to(device) for v in validation]  # this process's share"]
          if monitor else []),
        "    loss_fn, optimizer = build_loss(), build_optimizer(model)",
        *(["    scheduler = build_scheduler(optimizer, epochs, len(loader))"] if per_batch else
          ["    scheduler = build_scheduler(optimizer, epochs)"] if train.scheduler else []),
        *(["    dim = class_dim(y)  # the output's dim that holds the class scores"] if dense else []),
        *([f"    params = {penalised}"] if train.l1 else []),
        "    for epoch in range(epochs):",
        "        if sampler is not None:",
        "            sampler.set_epoch(epoch)  # a new shuffle, the same in every process",
        f"        total = torch.zeros({3 if classify else 2}, dtype=torch.float64, device=device)",
        "        for xb, yb in loader:",
        "            xb, yb = xb.to(device), yb.to(device)",
        *forward,
        f"            loss = loss_fn({scores}, targets(yb, out))",
        *l1,
        "            optimizer.zero_grad()",
        "            loss.backward()",
        *clipping,
        "            optimizer.step()",
        *(["            scheduler.step()  # after every optimizer step: the one-cycle schedule"] if per_batch else []),
        f"            step = {tally}",
        "            total += torch.tensor(step, device=device)",
        *stepping,
        "        if world > 1:",
        "            distributed.all_reduce(total)",
        "        if first:",
        *report,
        "    if first and output:",
        "        torch.save(model.state_dict(), output)",
        "    if launched:",
        "        distributed.destroy_process_group()",
        "    return model",
        "",
        "",
        *check_data_lines(train, None if len(output) != 1 else train.classes or max(output[0], 2), output),
        "",
        "",
        "def main() -> None:",
        '    """Train on an .npz file of arrays ``x`` (samples first) and ``y``."""',
        "    import argparse",
        "    import os",
        "    import sys",
        "",
        "    import numpy as np",
        "",
        '    parser = argparse.ArgumentParser(description="Train the network on DATA.npz.")',
        '    parser.add_argument("data", help=".npz file with arrays x (samples first) and y")',
        '    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])',
        '    parser.add_argument("--batch-size", type=int, default=TRAINING["batch_size"])',
        '    parser.add_argument("--seed", type=int, default=TRAINING["seed"])',
        '    parser.add_argument("-o", "--output", help="save the state_dict here (torch.save)")',
        *(["    parser.add_argument(",
           '        "--validation",',
           "        type=float,",
           '        default=TRAINING["validation"],',
           f'        help="fraction held out for the {monitor} the plateau schedule watches",',
           "    )"] if monitor else []),
        "    args = parser.parse_args()",
        "    try:",
        "        with np.load(args.data, allow_pickle=False) as data:",
        '            x, y = data["x"], data["y"]',
        "        check_data(x, y)",
        "    except Exception as error:  # unreadable or unusable: a usage error, not a traceback",
        '        parser.error(f"{args.data}: {error}")',
        f'    x = torch.as_tensor(x, dtype=torch.{"long" if token_ids(model) else "float32"})'
        ".reshape(-1, *INPUT_SHAPE)",
        "    y = torch.as_tensor(y)",
        *(["    try:", "        class_dim(y)", "    except ValueError as error:", "        parser.error(str(error))"]
          if dense else []),
        *(_held_out(monitor) if monitor else
          ["    train(x, y, args.epochs, args.batch_size, args.seed, args.output)"]),
        "    if torch.distributed.is_torchelastic_launched():",
        "        # Everything is saved and printed. Under torchrun, leave without Python's own",
        "        # teardown: a gloo worker thread can still be letting go of the last all-reduced",
        "        # gradients when the interpreter shuts down, and the process then aborts",
        "        # (measured: 1 run in 10 on a busy machine; pytorch/pytorch#190489).",
        "        sys.stdout.flush()",
        "        sys.stderr.flush()",
        "        os._exit(0)",
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
    ]


def _held_out(monitor: str) -> list[str]:
    """``main``'s end under the plateau schedule: a seeded share of the samples held out for validation (the
    NumPy file's ``--validation``), refused when it leaves none to watch or none to train on."""
    return [
        "    if not 0 <= args.validation <= 1:  # nan too",
        "        parser.error(",
        '            f"--validation {args.validation:g}:"',
        '            " give the fraction to hold out, from 0 to 1"',
        "        )",
        "    held = round(len(x) * args.validation)",
        "    if not 0 < held < len(x):",
        "        parser.error(",
        f'            f"the spec\'s plateau schedule watches {monitor}:"',
        '            f" --validation {args.validation:g} holds out {held} of {len(x)} samples;"',
        '            " give a fraction that holds out some, and leaves some to train on"',
        "        )",
        "    order = torch.randperm(len(x), generator=torch.Generator().manual_seed(args.seed))",
        "    held_out = order[:held]",
        "    validation = x[held_out], y[held_out]",
        "    x, y = x[order[held:]], y[order[held:]]",
        "    train(x, y, args.epochs, args.batch_size, args.seed, args.output, validation)",
    ]


def _class_dim(dense: dict[tuple[int, ...], int], output: tuple[int, ...]) -> list[str]:
    """``CLASS_AXES`` and ``class_dim(y)``: where the class scores are for the targets ``y``."""
    table = ", ".join(f"{code(shape)}: {code(axis)}" for shape, axis in dense.items())
    return [
        "#: a class index per position: the targets' shape (after the batch) -> the output",
        "#: axis that holds the class scores (the spec's class_axis, or the one axis whose",
        "#: removal leaves that shape)",
        f"CLASS_AXES = {{{table}}}",
        "",
        "",
        "def class_dim(y: torch.Tensor) -> int:",
        '    """The dim of the output (batch included) that holds the class scores for the',
        "    targets ``y``: 1 for a class per sample, else the class axis of their shape",
        '    (CLASS_AXES) plus one."""',
        "    if y.ndim == 1:",
        "        return 1",
        "    shape = tuple(y.shape[1:])",
        "    if shape not in CLASS_AXES:",
        "        raise ValueError(",
        '            f"y holds targets of shape {list(shape)} per sample; a class index per"',
        '            f" position needs one of {[list(s) for s in CLASS_AXES]}"',
        f'            " (the output {list(output)} without its class axis:"',
        '            " the spec\'s train: class_axis says which)"',
        "        )",
        "    return CLASS_AXES[shape] + 1",
        "",
        "",
    ]


def _correct(threshold: float, binary: bool, multi_label: bool) -> list[str]:
    """``correct(scores, y)``: what :meth:`archcalc.backends.torch.training.Loss.correct` counts, so that the
    file's accuracy is the one ``archcalc train`` prints; ``binary`` for a yes/no loss (binary cross-entropy,
    Dice, the hinges), which may score rows of labels (``multi_label``) or a yes/no per position label by label."""
    when = "y.numel() == scores.numel()" + ("" if multi_label else " and scores.ndim > 2")
    rows = [
        f"    if {when}:  # {'rows of labels' if multi_label else 'a yes/no per position'}",
        f"        right = (scores > {threshold}) == (y.reshape(scores.shape) > 0.5)",
        "        return right.flatten(1).double().mean(1).sum().item()",
    ] if binary else []
    return [
        "@torch.no_grad()",
        "def correct(scores: torch.Tensor, y: torch.Tensor) -> float:",
        '    """How many samples the batch ``scores`` (what the loss reads) classify right: by',
        f"    the largest score, or for a single output whether it exceeds {threshold}; with a",
        '    class per position, each sample counts the share of its positions that are right' +
        (f';\n    with {"rows of labels" if multi_label else "a yes/no per position"}, the share of those right."""'
         if binary else '."""'),
        *rows,
        "    if scores.ndim > 2 and scores.ndim == y.ndim + 1:",
        "        return (scores.argmax(1) == y.long()).flatten(1).double().mean(1).sum().item()",
        "    if scores.ndim > 1 and scores.shape[1] > 1:",
        "        predicted = scores.argmax(1)",
        "    else:",
        f"        predicted = (scores.reshape(len(scores)) > {threshold}).long()",
        "    truth = y.argmax(1) if y.ndim == 2 and y.shape[1] > 1 else y.reshape(len(y))",
        "    return (predicted == truth.long()).sum().item()",
        "",
        "",
    ]


def _targets(train: TrainSpec, width: int) -> list[str]:
    """What :func:`archcalc.backends.torch.training.targets` does for this loss and output width: class
    indices for the class-index losses (cross-entropy, NLL, the multi-class margins)."""
    if train.loss in INDEX_LOSSES:
        return ["    return y.long()"]
    if train.task == "classification" and width > 1:  # class indices become one-hot rows; rows stay
        return ["    if y.ndim == 1:", f"        y = nn.functional.one_hot(y.long(), {width})",
                "    return y.to(out.dtype).reshape(out.shape)"]
    return ["    return y.to(out.dtype).reshape(out.shape)"]
