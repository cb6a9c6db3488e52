"""Files: every command on a missing, folder, unreadable, binary, non-UTF-8, empty or endless input and on
standard input; every writer atomic, never over an existing file without --force, refused by a
read-only folder, and leaving nothing behind when interrupted.

Tests run as root here, and root reads and writes through file permissions. The permission cases
therefore run archcalc under ``setpriv`` with the two capabilities that let root ignore them
(CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH) removed, after checking that this really makes a mode-000
file unreadable; a read-only file system is a tmpfs mounted read-only in a private mount namespace
(``unshare -m``). Where neither is possible the test is skipped and says why.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from archcalc.errors import SpecError
from archcalc.files import check_writable, write_atomic
from tests.conftest import SPECS, output_file

SPEC = "name: tiny\ninput: [4]\nlayers:\n  - linear: 3\ntrain: {epochs: 1, batch_size: 4}\n"
#: every command that reads a spec; the writers get an output path in the test's folder
COMMANDS = {
    "params": [], "shapes": ["--explain"], "rf": [], "flops": [], "summary": ["--format", "json"],
    "lint": ["--isolated", "--format", "concise"], "export-torch": ["--to", "torch"], "export-onnx": ["--to", "onnx"],
    "export-numpy": ["--to", "numpy"], "train": ["--epochs", "1"],
}


def argv(command: str, spec: str, out: Path) -> list[str]:
    name = command.split("-")[0]
    extra = []
    if name == "export":
        extra = ["-o", str(output_file([name, *COMMANDS[command]], out, "model"))]
    elif name == "train":
        data = out / "data.npz"
        if not data.exists():
            np.savez(data, x=np.random.default_rng(0).standard_normal((20, 4)).astype(np.float32),
                     y=np.arange(20) % 3)
        extra = ["--data", str(data), "-o", str(out / "weights.npz")]
    return [name, spec, *COMMANDS[command], *extra]


def outputs(out: Path) -> list[str]:
    return sorted(p for p in os.listdir(out) if p != "data.npz")


def archcalc(*args: str, prefix: list[str] | None = None, timeout: float = 300, **kwargs
             ) -> subprocess.CompletedProcess:
    return subprocess.run([*(prefix or []), sys.executable, "-m", "archcalc", *map(str, args)], capture_output=True,
                          text=True, timeout=timeout, **kwargs)


# -- inputs ------------------------------------------------------------------------------------------

#: case → (what to put at the path, located message; lint's exit code, message)
INPUTS = {
    "missing": (None, ":1:1: error: no such file", 2, ":1:1: error: no such file or folder"),
    "folder": ("folder", ":1:1: error: is a directory, not a spec file", 2,
               ":1:1: error: folder holds no YAML specs (*.yaml, *.yml)"),
    "binary": (b"\x7fELF\x02\x01\x01\x00\x00\x00layers", ":1:1: error: binary file, not a YAML spec", 2,
               ":1:1: error: binary file, not a YAML spec"),
    "not-utf8": ("input: [4]\nlayers: [relu]  # caf\xe9\n".encode("latin-1"),
                 ":2:22: error: not UTF-8 text (byte 0xe9)", 2, ":2:22: error: not UTF-8 text (byte 0xe9)"),
    "utf16": ("input: [4]\nlayers: [relu]\n".encode("utf-16"), ":1:1: error: binary file, not a YAML spec", 2,
              ":1:1: error: binary file, not a YAML spec"),
    "empty": (b"", ":1:1: error: empty spec", 1, ":1:1: E003 [empty-spec] empty spec"),
    "only-a-bom": (b"\xef\xbb\xbf", ":1:1: error: empty spec", 1, ":1:1: E003 [empty-spec] empty spec"),
}


def make_input(tmp_path: Path, case: str) -> Path:
    content = INPUTS[case][0]
    path = tmp_path / f"{case}.yaml"
    if content == "folder":
        path.mkdir()
    elif content is not None:
        path.write_bytes(content)
    return path


@pytest.mark.parametrize("command", sorted(COMMANDS))
@pytest.mark.parametrize("case", sorted(INPUTS))
def test_a_bad_input_file_is_a_located_error_and_nothing_is_written(case, command, run, tmp_path):
    path = make_input(tmp_path, case)
    out = tmp_path / "out"
    out.mkdir()
    result = run(*argv(command, str(path), out))
    _, message, lint_code, lint_message = INPUTS[case]
    if command == "lint":
        assert result.exit_code == lint_code, result.output
        assert f"{path}{lint_message}" in result.output, result.output
    else:
        assert result.exit_code == 2, result.output
        assert result.stderr.startswith(f"{path}{message}"), result.stderr
        assert result.stdout == ""
    assert "Traceback" not in result.output
    assert outputs(out) == []


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_device_that_never_ends_stops_at_the_size_limit(command, run, tmp_path):
    result = run(*argv(command, "/dev/zero", tmp_path))
    assert result.exit_code == (1 if command == "lint" else 2)
    assert "/dev/zero:1:1: " in result.output and "larger than the 10,000,000-byte limit" in result.output


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_standard_input_works_for_every_command(command, run, tmp_path):
    result = run(*argv(command, "-", tmp_path), input=SPEC)
    assert result.exit_code == 0, result.output
    if command.startswith("export") or command == "train":
        assert outputs(tmp_path) == [{"export-onnx": "model.onnx", "train": "weights.npz"}.get(command, "model.py")]


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_a_bad_spec_on_standard_input_is_located_as_stdin(command, run, tmp_path):
    result = run(*argv(command, "-", tmp_path), input="input: [4]\nlayers:\n  - linaer: 3\n")
    expected = "<stdin>:3:5: E105 [unknown-kind]" if command == "lint" else "<stdin>:3:5: error: unknown layer kind"
    assert expected in result.output, result.output
    assert result.exit_code == (1 if command == "lint" else 2)
    assert outputs(tmp_path) == []


@pytest.mark.parametrize("command", ["lint", "params"])
def test_a_closed_standard_input_is_a_located_error(command):
    """Started with standard input closed (``<&-``), Python has no sys.stdin at all."""
    result = subprocess.run([sys.executable, "-m", "archcalc", command, "-"], capture_output=True, text=True,
                            preexec_fn=lambda: os.close(0), timeout=60)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.startswith("<stdin>:1:1: error: standard input is closed: there is no spec to read\n")


def test_lint_skips_a_named_pipe_in_a_folder_instead_of_waiting_for_it(tmp_path):
    (tmp_path / "ok.yaml").write_text(SPEC)
    os.mkfifo(tmp_path / "pipe.yaml")  # opening it for reading would block until someone writes
    for target in (str(tmp_path), f"{tmp_path}/*.yaml"):
        proc = archcalc("lint", target, "--isolated", "--format", "concise", timeout=60)
        assert proc.returncode == 0 and proc.stdout == "All checks passed!\n", proc.stdout + proc.stderr


def test_a_pipe_named_on_the_command_line_is_read(tmp_path):
    """``archcalc params <(generate-spec)``: the shell passes a pipe, which is read like a file."""
    pipe = tmp_path / "spec.yaml"
    os.mkfifo(pipe)
    proc = subprocess.Popen([sys.executable, "-m", "archcalc", "params", str(pipe), "--format", "json"],
                            stdout=subprocess.PIPE, text=True)
    with open(pipe, "w") as writer:
        writer.write(SPEC)
    assert json.loads(proc.communicate(timeout=60)[0])["trainable_params"] == 15


# -- permissions, as root ---------------------------------------------------------------------------


def _restricted_prefix() -> tuple[list[str] | None, str]:
    """The command prefix under which file permissions apply, or None and the reason there is none."""
    if os.geteuid() != 0:
        return [], ""
    if not shutil.which("setpriv"):
        return None, "running as root, which ignores file permissions, and setpriv is not installed"
    prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search"]
    probe = Path(os.environ.get("TMPDIR", "/tmp")) / f"archcalc-probe-{os.getpid()}"
    probe.write_text("x")
    probe.chmod(0)
    try:
        blocked = subprocess.run([*prefix, "cat", str(probe)], capture_output=True).returncode != 0
    finally:
        probe.unlink()
    if not blocked:
        return None, "running as root, and setpriv could not drop the capabilities that ignore permissions"
    return prefix, ""


RESTRICTED, WHY_NOT = _restricted_prefix()
needs_permissions = pytest.mark.skipif(RESTRICTED is None, reason=WHY_NOT)


@needs_permissions
@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_an_unreadable_file_is_a_located_error(command, tmp_path):
    path = tmp_path / "secret.yaml"
    path.write_text(SPEC)
    path.chmod(0)
    out = tmp_path / "out"
    out.mkdir()
    proc = archcalc(*argv(command, str(path), out), prefix=RESTRICTED)
    assert proc.returncode == 2, proc.stderr
    assert proc.stderr.startswith(f"{path}:1:1: error: permission denied"), proc.stderr
    assert "hint: make the file readable" in proc.stderr
    assert outputs(out) == []


def writers(spec: Path, out: Path, fixable: Path) -> dict[str, list[str]]:
    data = out.parent / "data.npz"
    np.savez(data, x=np.zeros((20, 4), np.float32), y=np.arange(20) % 3)
    return {
        "export-torch": ["export", spec, "--to", "torch", "-o", out / "model.py"],
        "export-onnx": ["export", spec, "--to", "onnx", "-o", out / "model.onnx"],
        "export-numpy": ["export", spec, "--to", "numpy", "-o", out / "model.py"],
        "train-o": ["train", spec, "--data", data, "-o", out / "weights.npz"],
        "train-plot": ["train", spec, "--data", data, "--plot", out / "curves.png"],
        "lint-fix": ["lint", fixable, "--fix", "--extend-select", "N105", "--isolated"],
    }


FIXABLE = ("input: [3, 8, 8]\nlayers:\n  - conv2d: {out: 4, kernel: 3}\n  - batchnorm2d\n  - relu\n  - flatten\n"
           "  - linear: 2\n")


def _output_folder(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A spec, an output folder ``out`` and a spec in it for ``lint --fix`` to edit in place."""
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    out.mkdir()
    fixable = out / "fix.yaml"
    fixable.write_text(FIXABLE)
    return spec, out, fixable


@needs_permissions
@pytest.mark.parametrize("writer", ["export-torch", "export-onnx", "export-numpy", "train-o", "train-plot",
                                    "lint-fix"])
def test_a_read_only_folder_is_a_clear_error_before_any_work(writer, tmp_path):
    spec, out, fixable = _output_folder(tmp_path)
    out.chmod(0o555)
    proc = archcalc(*writers(spec, out, fixable)[writer], prefix=RESTRICTED)
    target = fixable if writer == "lint-fix" else Path(writers(spec, out, fixable)[writer][-1])
    assert proc.returncode == 2, proc.stderr
    assert f"{target}:1:1: error: cannot write in {out}: permission denied" in proc.stderr, proc.stderr
    assert "hint: choose a writable folder" in proc.stderr
    assert "epoch" not in proc.stderr  # train checked before training
    assert os.listdir(out) == ["fix.yaml"] and fixable.read_text() == FIXABLE


def _read_only_mount_works() -> tuple[bool, str]:
    if not shutil.which("unshare"):
        return False, "unshare is not installed"
    probe = subprocess.run(["unshare", "-m", "sh", "-c", "mount -t tmpfs -o ro tmpfs /mnt && ! touch /mnt/x"],
                           capture_output=True)
    return probe.returncode == 0, "cannot mount a read-only tmpfs in a private namespace (needs CAP_SYS_ADMIN)"


READ_ONLY_MOUNT, WHY_NO_MOUNT = _read_only_mount_works()


@pytest.mark.skipif(not READ_ONLY_MOUNT, reason=WHY_NO_MOUNT)
@pytest.mark.parametrize("writer", ["export-torch", "export-onnx", "export-numpy", "train-o", "train-plot",
                                    "lint-fix"])
def test_a_read_only_file_system_is_a_clear_error(writer, tmp_path):
    spec, out, fixable = _output_folder(tmp_path)
    args = writers(spec, out, fixable)[writer]
    # the folder's files are copied into a tmpfs mounted read-only over it, in a namespace of its own
    script = (f"cp -a {out} {tmp_path}/copy && mount -t tmpfs tmpfs {out} && cp -a {tmp_path}/copy/. {out} && "
              f"mount -o remount,ro {out} && exec \"$@\"")
    proc = subprocess.run(["unshare", "-m", "sh", "-c", script, "sh", sys.executable, "-m", "archcalc",
                           *map(str, args)], capture_output=True, text=True, timeout=300)
    target = fixable if writer == "lint-fix" else args[-1]
    assert proc.returncode == 2, proc.stderr
    assert f"{target}:1:1: error: cannot write in {out}: read-only file system" in proc.stderr, proc.stderr
    assert "epoch" not in proc.stderr


# -- never over an existing file without --force -----------------------------------------------------


@pytest.mark.parametrize("writer", ["export-torch", "export-onnx", "export-numpy", "train-o", "train-plot"])
def test_an_existing_file_is_kept_without_force_and_replaced_with_it(writer, run, tmp_path):
    spec = tmp_path / "tiny.yaml"
    spec.write_text(SPEC)
    out = tmp_path / "out"
    out.mkdir()
    args = writers(spec, out, out / "unused.yaml")[writer]
    target = Path(args[-1])
    target.write_bytes(b"mine")
    target.chmod(0o640)
    result = run(*args)
    assert result.exit_code == 2
    assert result.stderr == f"{target}:1:1: error: already exists\n  hint: pass --force to overwrite it\n"
    assert target.read_bytes() == b"mine"
    assert run(*args, "--force").exit_code == 0
    assert target.read_bytes() != b"mine" and target.stat().st_mode & 0o777 == 0o640  # its mode is kept
    assert os.listdir(out) == [target.name]


@pytest.mark.parametrize(("name", "written"), [("../escaped", "escaped.py"), ("/etc/evil", "etc_evil.py"),
                                               (".hidden", "hidden.py"), ("--force", "force.py"),
                                               ("a/../../b", "a_b.py"), ("///", "model.py")])
def test_the_default_output_stays_in_the_current_folder_whatever_the_name(name, written, run, tmp_path,
                                                                          monkeypatch):
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    monkeypatch.chdir(work)
    spec = tmp_path / "spec.yaml"
    spec.write_text(f"name: {json.dumps(name)}\ninput: [4]\nlayers: [linear: 2]\n")
    result = run("export", spec, "--to", "numpy")
    assert result.exit_code == 0 and result.stderr == f"wrote {written}\n", result.output
    assert os.listdir(work) == [written]
    assert sorted(os.listdir(tmp_path)) == ["a", "spec.yaml"] and os.listdir(tmp_path / "a") == ["b"]


def test_a_dangling_symbolic_link_counts_as_an_existing_file(run, tmp_path):
    link = tmp_path / "model.py"
    link.symlink_to(tmp_path / "elsewhere.py")
    result = run("export", SPECS / "seed-mlp.yaml", "--to", "torch", "-o", link)
    assert result.exit_code == 2 and "already exists" in result.stderr
    assert not (tmp_path / "elsewhere.py").exists() and link.is_symlink()


def test_lint_fix_edits_the_file_a_link_points_to(run, tmp_path):
    real = tmp_path / "real.yaml"
    real.write_text(FIXABLE)
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    result = run("lint", link, "--fix", "--extend-select", "N105", "--isolated")
    assert result.exit_code == 0, result.output
    assert link.is_symlink() and "bias: false" in real.read_text()
    assert sorted(os.listdir(tmp_path)) == ["link.yaml", "real.yaml"]


def test_a_file_that_appears_while_writing_is_not_overwritten(monkeypatch, tmp_path):
    """Another process creates the target between the check and the rename: the link fails, theirs stays."""
    target = tmp_path / "model.py"
    real_fsync = os.fsync

    def racing_fsync(fd):
        real_fsync(fd)
        target.write_text("theirs")

    monkeypatch.setattr(os, "fsync", racing_fsync)
    with pytest.raises(SpecError, match="already exists"):
        write_atomic(str(target), "ours")
    assert target.read_text() == "theirs"
    assert os.listdir(tmp_path) == ["model.py"]


def test_check_writable_names_each_problem(tmp_path):
    (tmp_path / "exists.py").write_text("")
    cases = {str(tmp_path): "is a directory", str(tmp_path / "exists.py"): "already exists",
             str(tmp_path / "no" / "x.py"): f"folder {tmp_path / 'no'} does not exist"}
    for path, message in cases.items():
        with pytest.raises(SpecError, match=message):
            check_writable(path)
    check_writable(str(tmp_path / "exists.py"), force=True)
    assert os.listdir(tmp_path) == ["exists.py"]  # the probe file is gone


def test_train_refuses_the_same_file_for_plot_and_weights(run, tmp_path):
    (tmp_path / "x.png").symlink_to(tmp_path / "x.npz")  # the suffixes differ, the file is one
    result = run("train", SPECS / "digits-mlp.yaml", "-o", tmp_path / "x.npz", "--plot", tmp_path / "x.png")
    assert result.exit_code == 2 and "--plot and -o name the same file" in result.stderr


def test_a_full_disk_is_a_clear_error_and_leaves_nothing(monkeypatch, tmp_path):
    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "fsync", full)
    with pytest.raises(SpecError, match="no space left on the device") as error:
        write_atomic(str(tmp_path / "model.py"), "x" * 1000)
    assert error.value.hint == "free some space"
    assert os.listdir(tmp_path) == []


# -- interrupted while writing -----------------------------------------------------------------------

BIG = 9_000_000  # bytes of output: enough for the write and its fsync to take a moment


#: the signals that stop a run, and how archcalc reports each (Ctrl-C; kill, timeout or a cancelled CI job)
STOPS = {"SIGINT": (signal.SIGINT, 130, "interrupted"), "SIGTERM": (signal.SIGTERM, 143, "terminated")}


def interrupt_while_writing(args: list[str], folder: Path, target: str, sig: int = signal.SIGINT
                            ) -> tuple[int, str]:
    """Run archcalc, send ``sig`` as soon as its temporary file holds data, and return (exit code, stderr).

    The temporary file is ``.TARGET.archcalc-XXXXXXXX.tmp``; the empty one made to probe the folder
    before any work is ignored, so the signal lands between the first byte written and the rename."""
    proc = subprocess.Popen([sys.executable, "-m", "archcalc", *map(str, args)], stderr=subprocess.PIPE, text=True)
    prefix = f".{target}.archcalc-"
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        for name in os.listdir(folder):
            try:
                if name.startswith(prefix) and os.stat(folder / name).st_size > 0:
                    proc.send_signal(sig)
                    return proc.wait(60), proc.stderr.read()
            except FileNotFoundError:
                continue
    proc.wait(60)
    return proc.returncode, proc.stderr.read()


@pytest.mark.slow
@pytest.mark.parametrize("stop", sorted(STOPS))
def test_an_export_interrupted_while_writing_leaves_no_file(stop, tmp_path):
    sig, exit_code, message = STOPS[stop]
    spec = tmp_path / "big.yaml"
    spec.write_text(f"name: \"{'a' * BIG}\"\ninput: [4]\nlayers: [linear: 3]\n")
    out = tmp_path / "out"
    out.mkdir()
    for _ in range(10):  # the run may win the race: then it must have written the whole file
        code, stderr = interrupt_while_writing(["export", spec, "--to", "numpy", "-o", out / "model.py"], out,
                                               "model.py", sig)
        if code == exit_code:
            assert stderr.strip() == message
            assert os.listdir(out) == []
            return
        assert code == 0 and os.listdir(out) == ["model.py"], stderr
        assert len((out / "model.py").read_text()) > BIG
        (out / "model.py").unlink()
    pytest.fail("the signal never arrived while the file was being written, in 10 runs")


@pytest.mark.slow
@pytest.mark.parametrize("stop", sorted(STOPS))
def test_lint_fix_interrupted_while_writing_keeps_the_old_file(stop, tmp_path):
    sig, exit_code, message = STOPS[stop]
    original = FIXABLE + f"x-pad: \"{'a' * BIG}\"\n"
    spec = tmp_path / "big.yaml"
    for _ in range(10):
        spec.write_text(original)
        code, stderr = interrupt_while_writing(["lint", spec, "--fix", "--extend-select", "N105", "--isolated"],
                                               tmp_path, "big.yaml", sig)
        if code == exit_code:
            assert stderr.strip() == message
            assert spec.read_text() == original
            assert sorted(os.listdir(tmp_path)) == ["big.yaml"]
            return
        assert code == 0 and "bias: false" in spec.read_text(), stderr
        assert sorted(os.listdir(tmp_path)) == ["big.yaml"]
    pytest.fail("the signal never arrived while the file was being written, in 10 runs")

