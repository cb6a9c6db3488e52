"""Data-parallel training on ``torch.distributed``: ``archcalc train SPEC --backend torch --nproc N``.

The command checks everything in its own process (spec, data, outputs, checkpoints), then
:func:`launch` starts N worker processes with ``torchrun`` (``python -m torch.distributed.run
--standalone``), each running ``archcalc train SPEC --worker JOB`` on the same job. Each worker
joins the process group (:func:`join`: gloo on the CPU, NCCL on GPUs, one GPU a process), builds
the same module from the same seed, and trains it wrapped in ``DistributedDataParallel``
(:class:`DistributedSteps`).

**The same steps as one process.** Every process draws the same permutation (the generator is
seeded alike everywhere) and cuts it into the same global batches as a single-process run; a
:class:`BatchShards` sampler gives each process its share of every batch, interleaved as
``DistributedSampler`` interleaves (``batch[rank::N]``). The share of a batch whose size does not
divide by N differs by one sample, so each process scales its loss by its share
(``n_rank · N / n``): DDP's average of the gradients is then the gradient of the global batch's
mean loss, as one process computes it. Training metrics (loss, right answers, samples) and
validation totals are summed over the processes before dividing. What still differs from one
process: the order of floating-point sums (so results agree to about 1e-6, not bit for bit),
dropout masks (each process seeds its own: ``seed + rank``), and, on the CPU, batch norm, which
normalises each process's share of the batch (torch's ``SyncBatchNorm`` needs GPUs; on GPUs it
is used).

Rank 0 alone draws the progress line, writes checkpoints (with every process's random generator
states, gathered) and the outputs, and hands the result to the launching process
(:func:`report`), which prints it.
"""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from typing import NoReturn

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel
from torch.utils.data.distributed import DistributedSampler

from archcalc.backends.torch.training import Steps, totals
from archcalc.errors import Loc, SpecError

#: where a worker finds its job, and where rank 0 leaves the result (set by :func:`launch`)
RESULT_ENV = "ARCHCALC_TRAIN_RESULT"


@dataclass(frozen=True, slots=True)
class Group:
    """This process's place in the run: its rank among ``world`` processes, and its GPU (``local_rank``)."""

    rank: int
    world: int
    local_rank: int

    @property
    def main(self) -> bool:
        return self.rank == 0


def current() -> Group | None:
    """The process group this process belongs to, or None outside a distributed run."""
    if not (dist.is_available() and dist.is_initialized()):
        return None
    return Group(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", dist.get_rank())))


def join(device: str) -> Group:
    """Join the process group torchrun set up (its address and rank are in the environment): NCCL
    between GPUs, gloo between CPU processes."""
    backend = "nccl" if device == "cuda" else "gloo"
    if device == "cuda":
        torch.cuda.set_device(int(os.environ["LOCAL_RANK"]))
    dist.init_process_group(backend)
    return current()


def leave() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def finish() -> NoReturn:
    """End a worker whose work is done (written and printed) without Python's own teardown: a gloo
    worker thread can still be letting go of the last all-reduced gradients when the interpreter
    shuts down, and the process then aborts (``terminate called without an active exception``; 1
    run in 10 on a busy machine, pytorch/pytorch#190489), which torchrun reports as a failed run."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


def check(nproc: int, device: str) -> None:
    """What the machine cannot do with ``--nproc``, as clear errors before anything starts."""
    if not dist.is_available():
        raise SpecError(None, "--nproc needs torch.distributed, which this build of PyTorch lacks", code="usage",
                        hint="train in one process (leave out --nproc)")
    if device == "mps":
        raise SpecError(None, "--nproc cannot train on mps: torch.distributed has no backend for Apple GPUs",
                        code="usage", hint="use --device cpu with --nproc, or one process on mps")
    if device == "cuda" and nproc > torch.cuda.device_count():
        raise SpecError(None, f"--nproc {nproc} needs {nproc} GPUs, this machine has {torch.cuda.device_count()}",
                        code="usage", hint="one process per GPU: lower --nproc")


def check_batches(n: int, batch_size: int, nproc: int, loc: Loc) -> None:
    """Every global batch must give each process at least one sample (DDP steps all of them together)."""
    sizes = [batch_size] * (n // batch_size) + ([n % batch_size] if n % batch_size else [])
    if len(sizes) > 1 and sizes[-1] == 1:  # it joins the batch before it (see training.batches)
        sizes[-2:] = [sizes[-2] + 1]
    if min(sizes) < nproc:
        raise SpecError(loc, f"with {n} training samples in batches of {batch_size}, a step has {min(sizes)} "
                        f"sample{'s' if min(sizes) != 1 else ''} for {nproc} processes: each process needs one",
                        code="bad-train", hint=f"use --nproc {min(sizes)} or fewer, or a larger batch_size")


class BatchShards(DistributedSampler):
    """This process's share of one global batch, the positions ``rank, rank + N, rank + 2N, …``:
    ``DistributedSampler``'s interleaving over a batch in order (``shuffle=False``; the batch is
    already drawn from the epoch's permutation), without its padding, which would count the
    samples it repeats twice. :meth:`take` applies it to a batch of indices."""

    def __init__(self, batch: torch.Tensor, num_replicas: int, rank: int):
        super().__init__(range(len(batch)), num_replicas=num_replicas, rank=rank, shuffle=False)
        self.batch = batch

    def __iter__(self):
        return iter(range(self.rank, len(self.dataset), self.num_replicas))

    def __len__(self) -> int:
        return len(range(self.rank, len(self.dataset), self.num_replicas))

    def take(self) -> torch.Tensor:
        return self.batch[list(self)]


class DistributedSteps(Steps):
    """:class:`~archcalc.backends.torch.training.Steps` across the process group: the module the loss
    sees runs inside ``DistributedDataParallel``; every process steps on its shard of the same global
    batch, its loss scaled by its share; metrics and validation totals are summed over processes."""

    def __init__(self, *args: object, group: Group, **kwargs: object):
        super().__init__(*args, **kwargs)
        self.group = group
        device = self.x.device
        logits = self.loss.logits if isinstance(self.loss.logits, nn.Module) else self.module
        self.ddp = DistributedDataParallel(logits, device_ids=[device.index] if device.type == "cuda" else None)

    def step(self, index: torch.Tensor) -> tuple[float, int, int]:
        from archcalc.backends.torch.training import autocast, clip_gradients, l1_penalty

        local = BatchShards(index, self.group.world, self.group.rank).take()
        self.optimizer.zero_grad()
        with autocast(self.x, self.precision):
            out = self.ddp(self.x[local])
            mean = self.loss.compare(out, self.y[local])
            penalty = l1_penalty(self.train, self.module)
        share = len(local) * self.group.world / len(index)
        (mean * share + penalty).backward()  # DDP averages: Σ (n_r/n)·∇mean_r + ∇penalty
        clip_gradients(self.train, self.module)  # the averaged gradients, the same in every process
        self.optimizer.step()
        hits = self.loss.correct(out.detach(), self.y[local]) if self.classify else 0
        summed = self.sum([mean.item() * len(local), hits])
        hits = int(summed[1]) if summed[1].is_integer() else summed[1]  # a fraction per sample: dense targets
        return summed[0] / len(index) + penalty.item(), hits, len(index)

    def validate(self) -> tuple[float, float | None] | None:
        if self.validation is None:
            return None
        x, y = self.validation
        mine = torch.arange(self.group.rank, len(x), self.group.world)
        total, hits, count = self.sum(totals(self.module, self.train, x[mine], y[mine], precision=self.precision))
        return total / count, (hits / count if self.classify else None)

    def sum(self, values: list[float] | tuple[float, ...]) -> list[float]:
        """``values`` summed over the processes (float64, so counts stay exact)."""
        tensor = torch.tensor(values, dtype=torch.float64, device=self.x.device)
        dist.all_reduce(tensor)
        return tensor.tolist()


def gather(state: object) -> list[object]:
    """Every process's ``state`` (plain data and CPU tensors), in rank order; this process's alone
    outside a distributed run."""
    if current() is None:
        return [state]
    states: list[object] = [None] * dist.get_world_size()
    dist.all_gather_object(states, state)
    return states


# -- the launching process ---------------------------------------------------------------------------


def launch(spec: str, job: dict, nproc: int) -> dict:
    """Run ``archcalc train`` in ``nproc`` processes under torchrun and return rank 0's result.

    The job (every option, resolved) goes to the workers as a JSON file; rank 0 writes the result,
    or the error that ended the run, back to another. ``OMP_NUM_THREADS`` defaults to 1 per process
    (what torchrun itself would set, without its warning)."""
    sweep_stale_folders()
    with tempfile.TemporaryDirectory(prefix=f"{FOLDER_PREFIX}{os.getpid()}-") as folder:
        job_file, result_file = os.path.join(folder, "job.json"), os.path.join(folder, "result.json")
        with open(job_file, "w", encoding="utf-8") as f:
            json.dump(job, f)
        command = [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nnodes=1",
                   f"--nproc-per-node={nproc}", "-m", "archcalc", "train", spec, "--worker", job_file]
        env = {**os.environ, RESULT_ENV: result_file, "OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")}
        # torchrun and its workers in a session of their own, each dying with its parent: a Ctrl-C reaches
        # this process alone, and a SIGKILL of it (or of torchrun) leaves no worker training on, writing
        # checkpoints and weights for a run nobody waits for
        process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, start_new_session=True,
                                   preexec_fn=die_with_parent)
        try:
            code = process.wait()
        except BaseException:  # Ctrl-C, SIGTERM: stop them at once (checkpoints are written atomically, so a
            # kill at any point is safe to resume from); a terminate would print torchrun's tracebacks
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            raise
        try:
            with open(result_file, encoding="utf-8") as f:
                outcome = json.load(f)
        except (OSError, ValueError):
            raise SpecError(None, f"the {nproc} training processes failed (torchrun exited with code {code})",
                            code="training-failed", hint="their messages are above") from None
    if "error" in outcome:
        error = outcome["error"]
        raised = SpecError(Loc(*error["loc"]) if error["loc"] else None, error["message"], code=error["code"],
                           hint=error["hint"])
        raised.notes = error["notes"]
        raise raised
    return outcome["result"]


#: the launcher's folder for the job and result files, named with its process id
FOLDER_PREFIX = "archcalc-train-"


def sweep_stale_folders() -> None:
    """Delete the folders of launchers that were killed (a SIGKILL leaves no chance to clean up): those whose
    process id, in the name, no longer runs. A folder of a running launcher, or of a reused process id, stays."""
    for folder in glob.glob(os.path.join(tempfile.gettempdir(), f"{glob.escape(FOLDER_PREFIX)}*-*")):
        pid = os.path.basename(folder)[len(FOLDER_PREFIX):].split("-", 1)[0]
        if not pid.isdigit():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(folder, ignore_errors=True)
        except (PermissionError, OverflowError):  # another user's process, or not a process id at all
            continue


def die_with_parent() -> None:
    """Have the kernel kill this process when the one that started it dies (Linux's PR_SET_PDEATHSIG, kept
    across exec); if that parent is already gone, leave now. Elsewhere nothing: a killed launcher's workers
    then finish on their own."""
    if not sys.platform.startswith("linux"):
        return
    import ctypes

    parent = os.getppid()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1: PR_SET_PDEATHSIG
    if os.getppid() != parent:
        os._exit(1)


def report(result: dict | None = None, error: SpecError | None = None) -> None:
    """Rank 0's outcome for :func:`launch`: the result, or the error to print."""
    if error is not None:
        outcome = {"error": {"loc": list(error.loc) if error.loc else None, "message": error.message,
                             "code": error.code, "hint": error.hint, "notes": error.notes}}
    else:
        outcome = {"result": result}
    with open(os.environ[RESULT_ENV], "w", encoding="utf-8") as f:
        json.dump(outcome, f)
