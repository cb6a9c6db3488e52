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

from archcalc.backends.common import code
from archcalc.backends.torch.layout import Brackets, Text, layout
from archcalc.backends.torch.training import CRITERIA, OPTIMIZERS
from archcalc.model import Model
from archcalc.spec.train import TrainSpec

_NLL = "Cross-entropy as NLL of the log-probabilities"
#: the module-level names the entry point defines
NAMES = frozenset({"TRAINING", "build_loss", "build_optimizer", "targets", "train", "main"})


def entry_point(model: Model, logits: bool, probabilities: bool = False) -> list[str]:
    """The lines that follow ``build_model()``. ``logits``: the model's ``forward`` takes ``logits=True``
    (its last layer is the activation the loss applies itself). ``probabilities``: it ends in the
    softmax that the default loss, cross-entropy, applies, but (the spec having no ``train:``
    section) takes no ``logits``: the loss is then NLL on the log of its output, which is
    cross-entropy on the logits."""
    train = TrainSpec.of(model.spec)
    settings = {"epochs": train.epochs, "batch_size": train.batch_size, "seed": train.seed or 0, "l1": train.l1}
    optimizer = OPTIMIZERS[train.optimizer.name]
    hyper = [Text("model.parameters()"), *(Text(f"{k}={code(v)}") for k, v in train.optimizer.hyper.items()),
             Text(f"weight_decay={code(train.weight_decay)}")]
    what = _NLL if probabilities else f"The spec's loss ({train.loss})"
    forward = [f"            out = {'net(xb, logits=True)' if logits else 'net(xb)'}"]
    if probabilities:  # the model ends in the softmax cross-entropy applies: NLL of its log is that loss
        forward.append("            out = out.clamp_min(torch.finfo(out.dtype).tiny).log()")
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
        f"    return nn.{'NLLLoss' if probabilities else CRITERIA[train.loss].__name__}()",
        "",
        "",
        "def build_optimizer(model: nn.Module) -> torch.optim.Optimizer:",
        f'    """The spec\'s optimizer ({train.optimizer.name}) over every parameter."""',
        *layout(Brackets(f"torch.optim.{optimizer.__name__}", "(", hyper, ")"), 4, "return "),
        "",
        "",
        "def targets(y: torch.Tensor, out: torch.Tensor) -> torch.Tensor:",
        '    """The targets ``y`` as the loss compares them with the output ``out``."""',
        *_targets(train, int(model.output_shape[-1]) if model.output_shape else 1),
        "",
        "",
        "def train(",
        "    x: torch.Tensor,",
        "    y: torch.Tensor,",
        '    epochs: int = TRAINING["epochs"],',
        '    batch_size: int = TRAINING["batch_size"],',
        '    seed: int = TRAINING["seed"],',
        "    output: str | None = None,",
        ") -> nn.Module:",
        '    """A new model trained on ``(x, y)`` with the spec\'s loss and optimizer.',
        "",
        "    Under torchrun every process runs this: they join one process group (NCCL on GPUs,",
        "    gloo on the CPU), each trains on its share of the samples (DistributedSampler) in",
        "    DistributedDataParallel, which averages the gradients, so ``batch_size`` is the",
        "    global batch. Rank 0 prints the loss after each epoch, averaged over all processes,",
        "    and saves the trained state_dict to ``output`` (``torch.save``).",
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
        "    loss_fn, optimizer = build_loss(), build_optimizer(model)",
        *(["    params = list(model.parameters())"] if train.l1 else []),
        "    for epoch in range(epochs):",
        "        if sampler is not None:",
        "            sampler.set_epoch(epoch)  # a new shuffle, the same in every process",
        "        total = torch.zeros(2, dtype=torch.float64, device=device)",
        "        for xb, yb in loader:",
        "            xb, yb = xb.to(device), yb.to(device)",
        *forward,
        "            loss = loss_fn(out, targets(yb, out))",
        *l1,
        "            optimizer.zero_grad()",
        "            loss.backward()",
        "            optimizer.step()",
        "            total += torch.tensor([loss.item() * len(xb), len(xb)], device=device)",
        "        if world > 1:",
        "            distributed.all_reduce(total)",
        "        if first:",
        '            print(f"epoch {epoch + 1}/{epochs}: loss {total[0] / total[1]:.4f}")',
        "    if first and output:",
        "        torch.save(model.state_dict(), output)",
        "    if launched:",
        "        distributed.destroy_process_group()",
        "    return model",
        "",
        "",
        "def main() -> None:",
        '    """Train on an .npz file of arrays ``x`` (samples first) and ``y``."""',
        "    import argparse",
        "",
        "    import numpy as np",
        "",
        '    parser = argparse.ArgumentParser(description="Train the network on DATA.npz.")',
        '    parser.add_argument("data", help=".npz file with arrays x (samples first) and y")',
        '    parser.add_argument("--epochs", type=int, default=TRAINING["epochs"])',
        '    parser.add_argument("--batch-size", type=int, default=TRAINING["batch_size"])',
        '    parser.add_argument("--seed", type=int, default=TRAINING["seed"])',
        '    parser.add_argument("-o", "--output", help="save the state_dict here (torch.save)")',
        "    args = parser.parse_args()",
        "    with np.load(args.data, allow_pickle=False) as data:",
        '        x = torch.as_tensor(data["x"], dtype=torch.float32).reshape(-1, *INPUT_SHAPE)',
        '        y = torch.as_tensor(data["y"])',
        "    train(x, y, args.epochs, args.batch_size, args.seed, args.output)",
        "",
        "",
        'if __name__ == "__main__":',
        "    main()",
    ]


def _targets(train: TrainSpec, width: int) -> list[str]:
    """What :func:`archcalc.backends.torch.training.targets` does for this loss and output width."""
    if train.loss == "cross_entropy":
        return ["    return y.long()"]
    if train.task == "classification" and width > 1:
        return [f"    return nn.functional.one_hot(y.long(), {width}).to(out.dtype)"]
    return ["    return y.to(out.dtype).reshape(out.shape)"]
