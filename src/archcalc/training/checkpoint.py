"""Checkpoints of ``archcalc train``: everything a run needs to continue bit for bit, in one safe file.

A checkpoint is ``DIR/step-000000120.npz`` (the number counts optimizer steps): a zip of NumPy
arrays, each stored uncompressed (``np.savez``), and one more, ``__checkpoint__``, holding UTF-8
JSON. The JSON has the format version, what the run was (:func:`fingerprint`: backend, network,
``train:`` settings, seed, data, processes, precision), the loop's position
(:meth:`Checkpoints.capture`: epoch, step within it, running sums, records, early-stopping state),
the backend's own state (optimizer, a plateau schedule's counters, random generators: :func:`pack`), and
a SHA-256 digest of all of it. Arrays hold the numbers: ``model/…`` the weights and buffers, ``best/…``
early stopping's best epoch, ``order/…`` the current epoch's batches, the optimizer's tensors and the
generators' states.

Nothing is ever unpickled: arrays are read with ``allow_pickle=False``, members must be stored
(so a member's size is bounded by the file's), and the JSON is plain data decoded by :func:`unpack`.
Files are written with :func:`archcalc.files.write_atomic` (a temporary file in the folder, synced,
then renamed), so a run killed while writing leaves the previous checkpoints as they were and, at
worst, a temporary file that the next run removes. A checkpoint that cannot be read whole, fails
its digest, or belongs to another run is refused with a located error before anything is loaded.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from archcalc.errors import Loc, SpecError
from archcalc.files import check_writable, write_atomic
from archcalc.training.loop import Loop

FORMAT = 1
#: the JSON member of a checkpoint
META = "__checkpoint__"
PATTERN = re.compile(r"step-(\d{9,})\.npz")
#: what a killed write can leave behind (:class:`archcalc.files._Temporary`'s names)
LEFTOVER = re.compile(r"\.step-\d{9,}\.npz\.archcalc-[0-9a-f]{8}\.tmp")
#: how a run is described in its checkpoints, in the order mismatches are reported
FIELDS = ("backend", "processes", "precision", "network", "train", "seed", "data")
#: what a checkpoint records of the loop (:func:`_loop_state`)
LOOP = {"epochs", "epoch", "batch", "seen", "total", "hits", "steps", "ended", "history", "ordered", "stopping"}
#: ``--every`` units
UNITS = {"step": "steps", "steps": "steps", "epoch": "epochs", "epochs": "epochs"}


def name(step: int) -> str:
    return f"step-{step:09d}.npz"


@dataclass(frozen=True, slots=True)
class Every:
    """How often to write: every ``n`` optimizer steps, or every ``n`` epochs."""

    n: int
    unit: str  # "steps" or "epochs"

    @classmethod
    def parse(cls, text: str) -> Every:
        """``5`` or ``5epochs`` (every 5 epochs), ``200steps`` (every 200 optimizer steps)."""
        match = re.fullmatch(r"\s*(\d+)\s*([a-z]*)\s*", text.lower())
        if not match or int(match[1]) < 1 or (match[2] and match[2] not in UNITS):
            raise ValueError(f"{text!r}: give a whole number ≥ 1 of epochs or steps, e.g. 1epoch, 2epochs or "
                             "500steps")
        return cls(int(match[1]), UNITS.get(match[2], "epochs"))

    def due(self, loop: Loop) -> bool:
        """Whether ``loop``, just after a step or an epoch's end, is at a point to save."""
        if self.unit == "steps":
            return loop.order is not None and loop.steps % self.n == 0
        return loop.order is None and (loop.epoch - 1) % self.n == 0

    def __str__(self) -> str:
        return f"{self.n} {self.unit[:-1] if self.n == 1 else self.unit}"


@dataclass(slots=True)
class Saved:
    """A checkpoint read whole and checked: its JSON and its arrays."""

    path: str
    meta: dict
    arrays: dict[str, np.ndarray]

    @property
    def run(self) -> dict:
        return self.meta["run"]


def fingerprint(model, settings, splits, *, backend: str, seed: int, processes: int = 1,
                precision: str = "fp32") -> dict:
    """What makes a checkpoint this run's: the fields of :data:`FIELDS`, as JSON.

    ``network`` lists every node (path, kind, arguments, shapes, and ``frozen`` under ``trainable: false``, which
    decides what the optimizer's state holds), so a changed layer is named;
    ``train`` holds the settings a step depends on (not ``epochs``: a finished run may be given more);
    ``data`` is a digest of the training and validation arrays."""
    network = []
    for node, _ in model.graph.walk():
        layer = getattr(node, "layer", None)
        config = layer.config() if layer is not None else {"mode": getattr(node, "mode", None)}
        network.append(f"{node.path} {node.kind} {_text(_plain(config))} {list(node.in_shape)} → "
                       f"{list(node.out_shape)}" + (" frozen" if node.frozen else ""))
    stopping = settings.early_stopping
    train = {"task": settings.task, "classes": settings.classes, "loss": settings.loss,
             "optimizer": {"name": settings.optimizer.name, **_plain(settings.optimizer.hyper)},
             "batch_size": settings.batch_size, "weight_decay": settings.weight_decay, "l1": settings.l1,
             "early_stopping": None if stopping is None else {"patience": stopping.patience,
                                                              "min_delta": stopping.min_delta,
                                                              "monitor": stopping.monitor}}
    # each only when given, so that earlier runs' fingerprints stay as they were (the loss's settings were not
    # recorded before 2026-12-07: a checkpoint of a spec with non-default ones from before then is refused)
    if settings.class_axis is not None:
        train["class_axis"] = settings.class_axis
    if settings.loss_settings or settings.loss_inputs is not None:
        inputs = {"inputs": settings.loss_inputs} if settings.loss_inputs is not None else {}
        train["loss_settings"] = {**settings.loss_settings, **inputs}
    for key in ("clip_grad_norm", "clip_grad_value"):  # a step clips by them (since 2026-12-07)
        if getattr(settings, key) is not None:
            train[key] = getattr(settings, key)
    if settings.scheduler is not None:
        rule = settings.scheduler
        train["scheduler"] = _plain({"name": rule.name, **rule.settings, "warmup_epochs": rule.warmup_epochs,
                                     "warmup_start_factor": rule.warmup_start_factor})
    digest = hashlib.sha256()
    for x, y in (splits.train, splits.validation):
        for array in (x, y):
            array = np.ascontiguousarray(array)
            digest.update(f"{array.dtype.str}{array.shape}".encode())
            digest.update(array.data)
    data = {"samples": [len(splits.train[0]), len(splits.validation[0])], "sha256": digest.hexdigest()}
    return {"backend": backend, "processes": processes, "precision": precision, "network": network,
            "train": train, "seed": seed, "data": data}


def _plain(value: object) -> object:
    """``value`` as JSON would give it back (tuples as lists), so a fingerprint compares equal to its copy."""
    return json.loads(json.dumps(value))


class Resumable(Protocol):
    """What a trainer gives :class:`Checkpoints`: its state as JSON and arrays, and back."""

    def capture(self) -> tuple[dict, dict[str, np.ndarray]]:
        """The weights (arrays ``model/…``), the optimizer's and scheduler's state and the random
        generators. In a distributed run every process calls it (it gathers their generators)."""

    def restore(self, saved: Saved) -> None:
        """Load a checkpoint's ``capture`` back; check everything before changing anything."""

    def to_array(self, value: object) -> np.ndarray:
        """The backend's array or tensor (a batch's indices, a weight) as a NumPy array."""

    def from_array(self, array: np.ndarray) -> object:
        """And back."""


class Checkpoints:
    """The checkpoints of one run in ``folder``: which one to resume from, and writing new ones.

    Built before training (so every problem with the folder or the checkpoint is reported before
    the first step): the folder is created if missing and must be writable; checkpoints of an
    earlier run are resumed (``resume``), deleted (``force``, when training starts) or refused.
    Only the ``writer`` (rank 0 of a distributed run) writes and deletes files.
    """

    def __init__(self, folder: str, every: Every | None = None, *, keep: int = 3, resume: bool = False,
                 force: bool = False, writer: bool = True):
        self.folder, self.every, self.keep, self.writer = folder, every or Every(1, "epochs"), keep, writer
        self.where = Loc(folder, 1, 1)
        self.written: str | None = None  # the last checkpoint this run wrote
        self.run: dict | None = None  # this run's fingerprint, set by begin()
        self.saved: Saved | None = None  # the checkpoint to resume from
        self._last = -1  # the step count of the last checkpoint written, so the end is not written twice
        self._prepare()
        existing = self.existing()
        self.stale = [] if resume else existing
        if existing and not resume and not force:
            raise SpecError(self.where, f"holds the checkpoints of an earlier run (the newest is {existing[-1]})",
                            code="usage", hint="pass --resume to continue that run, or --force to start over "
                                               "(which deletes them)")
        if resume and existing:
            self.saved = read(os.path.join(folder, existing[-1]))

    def _prepare(self) -> None:
        """Refuse a folder that is a file or cannot be written in; one that does not exist yet is
        created by :meth:`begin`, once every other check has passed, in a folder that can be written."""
        if os.path.lexists(self.folder) and not os.path.isdir(self.folder):
            raise SpecError(self.where, "is not a folder", code="output-error",
                            hint="--checkpoint-dir names a folder for the run's checkpoints")
        existing = os.path.abspath(self.folder)
        while not os.path.isdir(existing) and not os.path.lexists(existing):
            existing = os.path.dirname(existing)
        if not os.path.isdir(existing):
            raise SpecError(self.where, f"cannot be created: {existing} is not a folder", code="output-error",
                            hint="choose another place for the checkpoints")
        try:
            check_writable(os.path.join(existing, name(0)), force=True)
        except SpecError:
            raise SpecError(self.where, f"cannot be written: {existing} is not writable", code="output-error",
                            hint="choose a writable place for the checkpoints") from None

    def existing(self) -> list[str]:
        """The checkpoint files in the folder, oldest first."""
        if not os.path.isdir(self.folder):
            return []
        return sorted((f for f in os.listdir(self.folder) if PATTERN.fullmatch(f)), key=lambda f: int(f[5:-4]))

    def begin(self, run: dict) -> None:
        """Check the checkpoint to resume from against ``run`` (this run's :func:`fingerprint`), and
        clear what an earlier run (with ``force``) or a killed write left in the folder."""
        self.run = run
        if self.saved is not None:
            check_run(self.saved, run)
            self._last = self.saved.meta["loop"]["steps"]
        if self.writer:
            try:
                os.makedirs(self.folder, exist_ok=True)
            except OSError as e:
                raise SpecError(self.where, f"cannot create the folder: {e.strerror or e}", code="output-error",
                                hint="choose a writable place for the checkpoints") from None
            for leftover in os.listdir(self.folder):
                if LEFTOVER.fullmatch(leftover) or leftover in self.stale:
                    os.unlink(os.path.join(self.folder, leftover))

    def load(self, loop: Loop, trainer: Resumable, saved: Saved) -> None:
        """Put ``loop`` and ``trainer`` where ``saved`` left them, or refuse with a located error: the
        parts are all decoded and checked before the trainer's state changes, the loop's last."""
        try:
            position = _loop_position(saved, trainer)
            trainer.restore(saved)
        except (KeyError, ValueError, TypeError, IndexError, RuntimeError) as e:
            raise SpecError(Loc(saved.path, 1, 1), f"cannot be resumed: {e}", code="bad-checkpoint",
                            hint="it does not fit this run; start over with --force") from None
        stopping = position.pop("stopping")
        for key, value in stopping.items():
            setattr(loop.stopping, key, value)
        for key, value in position.items():
            setattr(loop, key, value)

    def after(self, loop: Loop, trainer: Resumable) -> None:
        """The loop's hook: save when a checkpoint is due, and when the run has ended, even right after the
        last step's own checkpoint (that one was written before the last epoch's validation and end)."""
        if loop.ended or (self.every.due(loop) and loop.steps != self._last):
            self.write(loop, trainer)

    def write(self, loop: Loop, trainer: Resumable) -> str | None:
        """Save the run's state now (atomically), and drop all but the newest ``keep`` checkpoints.
        Every process of a distributed run calls it; the writer alone writes."""
        state, arrays = trainer.capture()
        position = _loop_state(loop, trainer, arrays)
        self._last = loop.steps
        if not self.writer:
            return None
        path = os.path.join(self.folder, name(loop.steps))
        write_atomic(path, encode({"format": FORMAT, "run": self.run, "loop": position, "backend": state}, arrays),
                     force=True)
        self.written = path
        for old in self.existing()[:-self.keep]:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(os.path.join(self.folder, old))
        return path


def _loop_state(loop: Loop, trainer: Resumable, arrays: dict[str, np.ndarray]) -> dict:
    """The loop's position as JSON, its current batches and early stopping's best weights into ``arrays``."""
    stopping = loop.stopping
    if loop.order is not None:
        parts = [trainer.to_array(part) for part in loop.order]
        arrays["order/indices"] = np.concatenate(parts)
        arrays["order/sizes"] = np.array([len(part) for part in parts], dtype=np.int64)
    for key, value in (stopping.weights or {}).items():
        arrays[f"best/{key}"] = trainer.to_array(value)
    return {"epochs": loop.epochs, "epoch": loop.epoch, "batch": loop.batch, "seen": loop.seen,
            "total": float(loop.total), "hits": int(loop.hits), "steps": loop.steps, "ended": loop.ended,
            "history": [{k: pack(v, arrays, "") for k, v in record.items()} for record in loop.history],
            "ordered": loop.order is not None,
            "stopping": {"score": stopping.score, "epoch": stopping.epoch, "waited": stopping.waited,
                         "weights": stopping.weights is not None}}


def _loop_position(saved: Saved, trainer: Resumable) -> dict:
    """The attributes of a :class:`Loop` that ``saved`` records, checked."""
    state, arrays = saved.meta["loop"], saved.arrays
    numbers = {key: state[key] for key in ("epoch", "batch", "seen", "hits", "steps")}
    if not all(type(v) is int and v >= 0 for v in numbers.values()) or not isinstance(state["total"], float):
        raise ValueError("its loop position is not made of counts")
    order = None
    if state["ordered"]:
        sizes, indices = arrays["order/sizes"], arrays["order/indices"]
        samples = saved.run["data"]["samples"][0]  # the training set's size (the run's, as checked)
        if sizes.ndim != 1 or indices.ndim != 1 or not len(sizes) or int(sizes.sum()) != len(indices) \
                or sizes.min() < 1 or indices.dtype.kind not in "iu" or indices.min() < 0 or indices.max() >= samples:
            raise ValueError(f"its batches are not batches of the {samples} training samples")
        order = [trainer.from_array(part) for part in np.split(indices, np.cumsum(sizes)[:-1])]
        if not 0 <= numbers["batch"] <= len(order):
            raise ValueError(f"it is at batch {numbers['batch']} of an epoch of {len(order)}")
    stopping = dict(state["stopping"])
    weights = stopping.pop("weights")
    stopping["weights"] = {k[5:]: trainer.from_array(v) for k, v in arrays.items() if k.startswith("best/")} \
        if weights else None
    history = [dict(record) for record in state["history"]]
    if state["ended"] not in ("", "done", "stopped", "diverged"):
        raise ValueError(f"its run ended in an unknown way ({state['ended']!r})")
    return {**numbers, "total": state["total"], "ended": state["ended"], "order": order, "history": history,
            "stopping": stopping}


#: what a checkpoint keeps of a plateau schedule (``Plateau.state_dict``; the torch backend's the same, read from
#: torch's ``ReduceLROnPlateau``): its rate, the best number so far and its counters
PLATEAU_STATE = {"lr": float, "best": float, "num_bad_epochs": int, "cooldown_counter": int, "last_epoch": int}


def schedule_state(saved: Saved, settings) -> dict | None:
    """The state ``saved`` keeps of the spec's learning-rate schedule (``settings``, a
    :class:`~archcalc.spec.train.TrainSpec`): a plateau's, checked against the loop's position; None for a
    schedule of the epoch alone, whose rate the loop's epoch gives (a resumed run steps it there afresh)."""
    rule = settings.scheduler
    if rule is None or rule.monitor is None:
        return None
    state = saved.meta["backend"].get("scheduler")
    if not isinstance(state, dict) or set(state) != set(PLATEAU_STATE) or any(
            isinstance(state[key], bool) or not isinstance(state[key], int if kind is int else (int, float))
            or (kind is int and state[key] < 0) for key, kind in PLATEAU_STATE.items()):
        raise ValueError(f"it holds no state of the {rule.name} schedule (its rate, best number and counters)")
    if not 0 < state["lr"] < float("inf"):
        raise ValueError(f"its {rule.name} schedule's learning rate is {state['lr']}")
    if state["last_epoch"] != saved.meta["loop"]["epoch"] - 1:
        raise ValueError(f"its {rule.name} schedule has seen {state['last_epoch']} epochs, but the run is in epoch "
                         f"{saved.meta['loop']['epoch']}")
    return dict(state)


def process_rng() -> dict:
    """The random generators every Python process has: NumPy's global one and Python's ``random``
    (archcalc draws from neither, but code that runs beside it may)."""
    import random

    return {"numpy": np.random.get_state(legacy=False), "python": random.getstate()}


def set_process_rng(state: dict) -> None:
    import random

    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


# -- the file --------------------------------------------------------------------------------------


def encode(meta: dict, arrays: dict[str, np.ndarray]) -> bytes:
    """The checkpoint's bytes: the arrays and the JSON, which carries a digest of both."""
    meta = {**meta, "sha256": _digest(meta, arrays)}
    buffer = io.BytesIO()
    text = json.dumps(meta, separators=(",", ":")).encode("utf-8")
    np.savez(buffer, **arrays, **{META: np.frombuffer(text, dtype=np.uint8)})
    return buffer.getvalue()


def _digest(meta: dict, arrays: dict[str, np.ndarray]) -> str:
    digest = hashlib.sha256(json.dumps(meta, sort_keys=True, separators=(",", ":")).encode("utf-8"))
    for key in sorted(arrays):
        array = np.ascontiguousarray(arrays[key])
        digest.update(f"\n{key} {array.dtype.str} {array.shape}\n".encode())
        digest.update(array.data)
    return digest.hexdigest()


def read(path: str) -> Saved:
    """The checkpoint at ``path``, read whole and checked against its digest; a located error if it
    cannot be (truncated, corrupt, not a checkpoint, written by a newer archcalc)."""
    where = Loc(path, 1, 1)

    def corrupt(why: str) -> SpecError:
        return SpecError(where, f"is not a readable checkpoint: {why}", code="bad-checkpoint",
                         hint="it was damaged after it was written; delete it to resume from the one before it")

    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise SpecError(where, f"cannot be read: {e.strerror or e}", code="bad-checkpoint") from None
    if data[:4] != b"PK\x03\x04":
        raise corrupt("it is not a zip archive of arrays")
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            infos = archive.infolist()
            if any(info.compress_type != zipfile.ZIP_STORED for info in infos):
                raise corrupt("a member is compressed (archcalc stores them)")
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            arrays = {key: npz[key] for key in npz.files}
        text = arrays.pop(META)
        meta = json.loads(text.tobytes().decode("utf-8"))
    except SpecError:
        raise
    except KeyError:
        raise corrupt(f"it has no {META} member") from None
    except Exception as e:  # zipfile, numpy and json raise many kinds on damaged input
        raise corrupt(f"{type(e).__name__}: {e}" if str(e) else type(e).__name__) from None
    if not isinstance(meta, dict) or not isinstance(meta.get("format"), int):
        raise corrupt("its description has no format number")
    if meta["format"] > FORMAT:
        raise SpecError(where, f"was written in checkpoint format {meta['format']}, newer than this archcalc reads "
                        f"({FORMAT})", code="bad-checkpoint", hint="resume it with the archcalc that wrote it")
    digest = meta.pop("sha256", None)
    if digest != _digest(meta, arrays):
        raise corrupt("its contents do not match their SHA-256 digest")
    if not all(isinstance(meta.get(key), dict) for key in ("run", "loop", "backend")) \
            or not set(meta["run"]) >= set(FIELDS) or not set(meta["loop"]) >= LOOP:
        raise corrupt("its description lacks the run, the loop or the backend's state")
    return Saved(path, meta, arrays)


def check_run(saved: Saved, run: dict) -> None:
    """Refuse a checkpoint of another run, naming the first thing that differs and how to match it."""
    theirs = saved.run
    for field in FIELDS:
        if theirs.get(field) != run[field]:
            message, hint = _mismatch(field, theirs.get(field), run[field])
            raise SpecError(Loc(saved.path, 1, 1), f"belongs to another run: {message}", code="checkpoint-mismatch",
                            hint=hint + "; or start over with --force (which deletes the folder's checkpoints)")


def _mismatch(field: str, theirs: object, ours: object) -> tuple[str, str]:
    if field == "backend":
        return f"it was written by the {theirs} backend, not {ours}", f"resume with --backend {theirs}"
    if field == "processes":
        return (f"it was written by {theirs} process{'es' if theirs != 1 else ''}, this run has {ours}",
                f"resume with --nproc {theirs}")
    if field == "precision":
        return f"it was trained in {theirs}, this run asks for {ours}", f"resume with --precision {theirs}"
    if field == "seed":
        return f"it was written by a run with seed {theirs}, this one has seed {ours}", f"resume with --seed {theirs}"
    if field == "data":
        return ("it was trained on other data (another file, or the same file changed)",
                "resume with the --data it was trained on")
    if field == "network":
        theirs, ours = list(theirs or []), list(ours)
        for mine, other in zip(ours, theirs):
            if mine != other:
                return f"the network differs at `{mine.split()[0]}`: it was {other}, the spec now has {mine}", \
                    "resume with the spec it was written for"
        return (f"it was written for a network of {len(theirs)} nodes, the spec now has {len(ours)}",
                "resume with the spec it was written for")
    theirs, ours = theirs or {}, dict(ours)  # train
    for key in dict.fromkeys([*ours, *theirs]):  # a key that only one side gives (a scheduler taken out)
        if theirs.get(key) != ours.get(key):
            was, now = ("not set" if v is None else _text(v) for v in (theirs.get(key), ours.get(key)))
            return (f"the train: section's {key} was {was} and is now {now}",
                    "resume with the train: settings it was written with")
    return "its train: settings differ", "resume with the train: settings it was written with"


def _text(value: object) -> str:
    if isinstance(value, dict):
        if "name" in value:
            rest = {k: v for k, v in value.items() if k != "name"}
            return f"{value['name']} {_text(rest)}" if rest else str(value["name"])
        return "{" + ", ".join(f"{k}: {_text(v)}" for k, v in value.items()) + "}"
    return json.dumps(value)


# -- plain data with arrays in it ------------------------------------------------------------------


def pack(value: object, arrays: dict[str, np.ndarray], prefix: str,
         leaf: Callable[[object], tuple[str, np.ndarray] | None] | None = None) -> object:
    """``value`` (dicts, lists, tuples, numbers, strings, None, arrays) as JSON, its arrays moved into
    ``arrays`` under keys starting with ``prefix``. Containers are tagged (``{"dict": [[k, v], …]}``,
    ``{"list": …}``, ``{"tuple": …}``) so keys keep their types and tuples stay tuples; an array is
    ``{"array": key}``; ``leaf(value)`` may turn other objects (a torch tensor) into ``(tag, array)``,
    written ``{"array": key, "as": tag}``, which :func:`unpack`'s ``leaf`` turns back."""
    if isinstance(value, np.generic):
        return value.item()
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if isinstance(value, dict):
        return {"dict": [[pack(k, arrays, f"{prefix}/{i}k", leaf), pack(v, arrays, f"{prefix}/{i}", leaf)]
                         for i, (k, v) in enumerate(value.items())]}
    if isinstance(value, (list, tuple)):
        items = [pack(v, arrays, f"{prefix}/{i}", leaf) for i, v in enumerate(value)]
        return {"tuple" if isinstance(value, tuple) else "list": items}
    if isinstance(value, np.ndarray):
        arrays[prefix] = value
        return {"array": prefix}
    converted = leaf(value) if leaf is not None else None
    if converted is None:
        raise TypeError(f"cannot checkpoint a {type(value).__name__}")
    arrays[prefix] = converted[1]
    return {"array": prefix, "as": converted[0]}


def unpack(value: object, arrays: dict[str, np.ndarray],
           leaf: Callable[[str, np.ndarray], object] | None = None) -> object:
    """The inverse of :func:`pack`; a reference to an array the file lacks is a ``KeyError``."""
    if not isinstance(value, dict):
        return value
    if "dict" in value:
        return {unpack(k, arrays, leaf): unpack(v, arrays, leaf) for k, v in value["dict"]}
    if "list" in value:
        return [unpack(v, arrays, leaf) for v in value["list"]]
    if "tuple" in value:
        return tuple(unpack(v, arrays, leaf) for v in value["tuple"])
    array = arrays[value["array"]]
    if "as" in value:
        if leaf is None:
            raise KeyError(value["as"])
        return leaf(value["as"], array)
    return array
