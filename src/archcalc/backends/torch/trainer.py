"""``archcalc train --backend torch``: :func:`archcalc.to_torch` and the torch steps of :mod:`.training`,
run by the one training loop (:class:`~archcalc.training.loop.Loop`) behind the backend-neutral
trainer interface (:mod:`archcalc.training`), on a chosen device and precision, in one process or
data-parallel across several (:mod:`.distributed`), with checkpoints it can resume from exactly."""

from __future__ import annotations

import numpy as np
import torch

from archcalc.backends.torch import distributed, to_torch, training
from archcalc.errors import SpecError
from archcalc.model import Model
from archcalc.spec.train import TrainSpec
from archcalc.training import Epoch, Outcome, Progress, Splits, early_stopping
from archcalc.training.checkpoint import (
    Checkpoints,
    Saved,
    pack,
    process_rng,
    schedule_state,
    set_process_rng,
    unpack,
)
from archcalc.training.loop import Loop, batch_count

#: ``--precision`` → the autocast dtype (None: float32 throughout)
PRECISIONS: dict[str, torch.dtype | None] = {"fp32": None, "bf16": torch.bfloat16}


def check_device(device: str, precision: str) -> None:
    """What this machine cannot run, as a clear error before anything is loaded."""
    if device == "cuda" and not torch.cuda.is_available():
        raise SpecError(None, "--device cuda: this machine has no CUDA GPU that PyTorch can use "
                        f"(torch {torch.__version__}, built {'with' if torch.version.cuda else 'without'} CUDA)",
                        code="usage", hint="train with --device cpu")
    if device == "mps" and not torch.backends.mps.is_available():
        raise SpecError(None, "--device mps: Apple's Metal GPU is not available on this machine", code="usage",
                        hint="train with --device cpu")
    if precision == "bf16" and device == "cuda" and not torch.cuda.is_bf16_supported():
        raise SpecError(None, "--precision bf16: this GPU has no bfloat16 arithmetic", code="usage",
                        hint="train in fp32 (leave out --precision)")


class TorchTrainer:
    """The spec's module in float32 with torch's own initialisation, loss and optimizer, on ``device``,
    under autocast to bfloat16 for ``precision="bf16"``.

    The seed seeds torch's generator before the module is built (the initial weights) and again
    when training starts (dropout masks; the batch order comes from a generator of the loop's own
    seeded alike), so a seed fixes the whole run. In a distributed run every process builds the
    same module, and dropout masks are drawn from ``seed + rank``.
    """

    def __init__(self, model: Model, train: TrainSpec, seed: int, *, device: str = "cpu", precision: str = "fp32"):
        self.train, self.seed, self.precision = train, seed, PRECISIONS[precision]
        self.group = distributed.current()
        if device == "cuda":
            torch.use_deterministic_algorithms(True, warn_only=True)
            torch.backends.cudnn.benchmark = False
            device = f"cuda:{self.group.local_rank}" if self.group else "cuda"
        self.device = torch.device(device)
        torch.manual_seed(seed)
        module = to_torch(model)
        if self.group is not None and self.device.type == "cuda":
            module = torch.nn.SyncBatchNorm.convert_sync_batchnorm(module)
        self.module = module.to(self.device)
        self.steps: training.Steps | None = None
        self.schedule: training.Scheduled | None = None  # torch's own scheduler, once fit builds the optimizer
        #: the input is token ids (the first layer is an embedding): nn.Embedding indexes with integers, and
        #: the data arrive as float32 (the NumPy backend's embedding reads them as integers itself)
        self.ids = training.token_ids(model)

    def fit(self, splits: Splits, epochs: int, progress: Progress, checkpoints: Checkpoints | None = None) -> Outcome:
        generator = torch.Generator().manual_seed(self.seed)  # the same batches in every process
        torch.manual_seed(self.seed + (self.group.rank if self.group else 0))
        x, y = self._tensors(splits.train)
        options = {"batch_size": self.train.batch_size, "generator": generator,
                   "validation": self._tensors(splits.validation), "precision": self.precision}
        if self.group is None:
            self.steps = training.Steps(self.module, self.train, x, y, **options)
        else:
            self.steps = distributed.DistributedSteps(self.module, self.train, x, y, group=self.group, **options)
        self.module.train()
        if self.train.scheduler is not None:
            self.schedule = training.Scheduled(self.train, self.steps.optimizer, epochs,
                                               batch_count(len(x), self.train.batch_size))
        run = Loop(epochs, early_stopping(self.train), self.steps.classify, self.schedule)
        if checkpoints is not None and checkpoints.saved is not None:
            checkpoints.load(run, self, checkpoints.saved)
        after = None if checkpoints is None else (lambda loop: checkpoints.after(loop, self))
        run.run(self.steps, progress.batch, lambda record: progress.epoch(Epoch.of(record)), after)
        return Outcome.of(run)

    def _tensors(self, data: tuple[np.ndarray, np.ndarray]) -> tuple[torch.Tensor, torch.Tensor]:
        x, y = (training._tensor(a).to(self.device) for a in data)
        return (x.long() if self.ids else x), y

    def evaluate(self, x: np.ndarray, y: np.ndarray) -> tuple[float, float | None]:
        x, y = self._tensors((x, y))
        return training.evaluate(self.module, self.train, x, y, precision=self.precision)

    @torch.no_grad()
    def predict_classes(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The predicted class at every position of a dense output (class indices shaped like the targets
        ``y``, whose shape tells the class axis), in evaluation mode, for the command's mean IoU; under a binary
        loss (a yes/no per position) 1 where the output exceeds the loss's threshold."""
        x, y = self._tensors((x, y))
        loss = training.build_loss(self.train, self.module)
        was_training = self.module.training
        self.module.eval()
        try:
            parts = []
            for xs, ys in zip(x.split(256), y.split(256)):
                with training.autocast(xs, self.precision):
                    scores = loss.scores(loss.logits(xs), ys)
                    binary = isinstance(loss.criterion, training.BINARY)
                    parts.append((scores > loss.threshold if binary else scores.argmax(dim=1)).long().cpu().numpy())
            return np.concatenate(parts)
        finally:
            self.module.train(was_training)

    def state_dict(self) -> dict[str, np.ndarray]:
        return {name: value.detach().cpu().numpy().copy() for name, value in self.module.state_dict().items()}

    # -- checkpoints (archcalc.training.checkpoint.Resumable) ---------------------------------------

    def to_array(self, value: torch.Tensor) -> np.ndarray:
        return _array(value)

    def from_array(self, array: np.ndarray) -> torch.Tensor:
        return torch.from_numpy(np.array(array))

    def capture(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The module, the optimizer's state, a plateau schedule's state and every process's random generators
        (gathered: a collective call, made by every process)."""
        arrays = {f"model/{k}": _array(v) for k, v in self.module.state_dict().items()}
        generators = {"torch": torch.get_rng_state(), "order": self.steps.generator.get_state(),
                      "cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
                      **process_rng()}
        state = {"optimizer": pack(self.steps.optimizer.state_dict()["state"], arrays, "optimizer", _leaf),
                 "scheduler": self.schedule.state_dict() if self.schedule is not None else None,
                 "rng": pack(distributed.gather(generators), arrays, "rng", _leaf)}
        return state, arrays

    def restore(self, saved: Saved) -> None:
        """Put the module, the optimizer, a plateau schedule and this process's generators back as ``saved`` has
        them; everything is decoded and checked before anything is changed."""
        state, arrays = saved.meta["backend"], saved.arrays
        weights = {k[6:]: torch.from_numpy(np.array(v)) for k, v in arrays.items() if k.startswith("model/")}
        optimizer = unpack(state["optimizer"], arrays, _unleaf)
        generators = unpack(state["rng"], arrays, _unleaf)[self.group.rank if self.group else 0]
        scheduler = schedule_state(saved, self.train)
        own = self.module.state_dict()
        if set(weights) != set(own) or any(weights[k].shape != v.shape for k, v in own.items()):
            raise ValueError("its weights do not fit the network")
        params = training.trainable(self.module)  # what the optimizer holds, and its state is indexed by
        if not isinstance(optimizer, dict) or any(
                not isinstance(i, int) or not 0 <= i < len(params) or not isinstance(s, dict) or any(
                    isinstance(v, torch.Tensor) and v.ndim and v.shape != params[i].shape for v in s.values())
                for i, s in optimizer.items()):
            raise ValueError("the optimizer's state does not fit the network's parameters")
        self.module.load_state_dict(weights)
        current = self.steps.optimizer.state_dict()
        self.steps.optimizer.load_state_dict({"state": optimizer, "param_groups": current["param_groups"]})
        if scheduler is not None:
            self.schedule.load_state_dict(scheduler)
        torch.set_rng_state(generators["torch"])
        self.steps.generator.set_state(generators["order"])
        if self.device.type == "cuda" and generators["cuda"]:
            torch.cuda.set_rng_state_all(generators["cuda"])
        set_process_rng(generators)


def _array(tensor: torch.Tensor) -> np.ndarray:
    tensor = tensor.detach().cpu()
    return tensor.view(torch.int16).numpy().copy() if tensor.dtype == torch.bfloat16 else tensor.numpy().copy()


def _leaf(value: object) -> tuple[str, np.ndarray] | None:
    """A tensor for :func:`~archcalc.training.checkpoint.pack`: tagged with its dtype."""
    if isinstance(value, torch.Tensor):
        return str(value.dtype).removeprefix("torch."), _array(value)
    return None


def _unleaf(tag: str, array: np.ndarray) -> torch.Tensor:
    tensor = torch.from_numpy(np.array(array))
    if tag == "bfloat16":
        return tensor.view(torch.bfloat16)
    if str(tensor.dtype).removeprefix("torch.") != tag:
        raise ValueError(f"a {tag} tensor was stored as {array.dtype}")
    return tensor


make_trainer = TorchTrainer
