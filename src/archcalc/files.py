"""Writing files safely: atomically, never over an existing file without ``force``.

Exports and ``lint --fix`` write through :func:`write_atomic`: the content goes to a temporary file
in the target's folder and is renamed over the target in one step, so an interrupted run (Ctrl-C,
a full disk) leaves either the old file or the new one, never half of one.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from archcalc.errors import Loc, SpecError


def write_atomic(path: str, data: str | bytes, *, force: bool = False, overwrite_ok: bool = False) -> None:
    """Write ``data`` to ``path``. An existing file is an error unless ``force`` (or ``overwrite_ok``,
    for in-place edits such as ``--fix``). Problems are located errors at ``path:1:1``."""
    where = Loc(path, 1, 1)
    if os.path.isdir(path):
        raise SpecError(where, "is a directory", code="output-error", hint="give a file name, e.g. model.py")
    if os.path.exists(path) and not (force or overwrite_ok):
        raise SpecError(where, "already exists", code="output-error", hint="pass --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SpecError(where, f"folder {folder} does not exist", code="output-error", hint="create it first")
    mode = "wb" if isinstance(data, bytes) else "w"
    try:
        fd, tmp = tempfile.mkstemp(prefix=".archcalc-", suffix=".tmp", dir=folder)
    except PermissionError:
        raise SpecError(where, f"cannot write in {folder}: permission denied", code="output-error",
                        hint="choose a writable folder with -o") from None
    except OSError as e:
        raise SpecError(where, f"cannot write in {folder}: {e.strerror or e}", code="output-error") from None
    try:
        with os.fdopen(fd, mode, **({} if mode == "wb" else {"encoding": "utf-8", "newline": "\n"})) as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if os.path.exists(path):
            os.chmod(tmp, os.stat(path).st_mode & 0o7777)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException as e:  # includes KeyboardInterrupt: never leave the temporary file behind
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(e, OSError):
            raise SpecError(where, f"cannot write: {e.strerror or e}", code="output-error") from None
        raise
