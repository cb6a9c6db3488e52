"""Writing files safely: atomically, never over an existing file without ``force``.

Exports, ``train -o`` / ``--plot`` and ``lint --fix`` write through :func:`write_atomic`: the content
goes to a temporary file in the target's folder, which then becomes the target in one step, so an
interrupted run (Ctrl-C, a full disk) leaves either the old file or the new one, never half of one,
and never the temporary file. Without ``force`` the last step is a hard link, which fails if the
target appeared in the meantime (``os.replace`` would silently overwrite it). The path ``-`` is
standard output, for text only.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat

from archcalc.errors import Loc, SpecError

#: the output path that means standard output
STDOUT = "-"
#: characters of the target's name in a temporary file's name: at most 32 × 4 bytes of UTF-8, so with the rest
#: (23 bytes) it stays far below the 255 bytes a file name may have
NAME_CHARS = 32


def check_writable(path: str, *, force: bool = False) -> None:
    """Raise the error :func:`write_atomic` would raise for ``path``, before any work is done: the
    target is a folder, exists (without ``force``), or its folder is missing or not writable."""
    if path == STDOUT:
        return
    where = Loc(path, 1, 1)
    if os.path.isdir(path):
        raise SpecError(where, "is a directory", code="output-error", hint="give a file name, e.g. model.py")
    if os.path.lexists(path) and not force:
        raise SpecError(where, "already exists", code="output-error", hint="pass --force to overwrite it")
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise SpecError(where, f"folder {folder} does not exist", code="output-error", hint="create it first")
    tmp = _Temporary(folder, path)
    try:  # the only sure test of a folder (read-only mounts, permissions, root): create a file in it
        os.close(tmp.create())
    except OSError as e:
        raise _cannot_write(where, folder, e) from None
    finally:
        tmp.remove()


def write_atomic(path: str, data: str | bytes, *, force: bool = False, overwrite_ok: bool = False) -> None:
    """Write ``data`` to ``path``. An existing file is an error unless ``force`` (or ``overwrite_ok``,
    for in-place edits such as ``--fix``, which edit the file a symbolic link points to). Problems are
    located errors at ``path:1:1``."""
    where = Loc(path, 1, 1)
    if path == STDOUT:
        _print(data)
        return
    if overwrite_ok:
        path = os.path.realpath(path)
    replace = force or overwrite_ok
    check_writable(path, force=replace)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = _Temporary(folder, path)
    try:  # from here on, whatever happens (Ctrl-C included), the temporary file does not outlive the call
        with os.fdopen(tmp.create(), "wb") as f:
            f.write(data if isinstance(data, bytes) else data.encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp.name, _mode(path))
        if replace:
            os.replace(tmp.name, path)
        else:
            _link(tmp.name, path)
    except OSError as e:
        if isinstance(e, FileExistsError) and not replace:
            raise SpecError(where, "already exists", code="output-error", hint="pass --force to overwrite it") \
                from None
        raise _cannot_write(where, folder, e) from None
    finally:
        tmp.remove()  # gone after os.replace; after a link, the target's second name


def _print(data: str | bytes) -> None:
    """Text to standard output; binary data never (it would garble a terminal, and a pipe is a shell
    redirection away from a file, which is written atomically)."""
    import sys

    if isinstance(data, bytes):
        raise SpecError(Loc("<stdout>", 1, 1), "binary output is not written to standard output",
                        code="output-error", hint="give a file name with -o")
    sys.stdout.write(data)
    sys.stdout.flush()


def _mode(path: str) -> int:
    """The mode the written file gets: the replaced regular file's, else the usual one for a new file (0o666
    less the umask). Never one read from something else, such as a device a link points to (/dev/full is
    writable by everyone)."""
    try:
        info = os.stat(path)
    except OSError:
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        return info.st_mode & 0o7777
    return 0o666 & ~_umask()


class _Temporary:
    """A private temporary file beside the target, ``.NAME.archcalc-XXXXXXXX.tmp``, NAME being the target's name
    cut to :data:`NAME_CHARS` characters (a legal target name of 255 bytes leaves no room for more).

    Its name is stored before the file is created, so an interrupt that arrives between creating the
    file and returning its descriptor still leaves :meth:`remove` knowing what to delete."""

    def __init__(self, folder: str, path: str):
        self.folder, self.base = folder, os.path.basename(path)
        self.name: str | None = None

    def create(self) -> int:
        import secrets  # here, not at the top: every command imports this module, few write (hashlib: 10 ms)

        for _ in range(100):
            self.name = os.path.join(self.folder, f".{self.base[:NAME_CHARS]}.archcalc-{secrets.token_hex(4)}.tmp")
            try:
                return os.open(self.name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # someone else's file: leave it, draw another name
                self.name = None
            except OSError:  # not created (a read-only folder): nothing to remove
                self.name = None
                raise
        raise FileExistsError(errno.EEXIST, "no free temporary name", self.folder)

    def remove(self) -> None:
        if self.name is not None:
            with contextlib.suppress(OSError):  # already renamed, or cleaning up after a failure
                os.unlink(self.name)


def _link(tmp: str, path: str) -> None:
    """Give ``tmp`` the name ``path`` unless ``path`` exists: a hard link fails if the target appeared since
    it was checked, where ``os.replace`` would overwrite it. Where links are not supported, replace."""
    try:
        os.link(tmp, path)
    except FileExistsError:
        raise
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.EXDEV):
            raise
        if os.path.lexists(path):
            raise FileExistsError(errno.EEXIST, "already exists", path) from None
        os.replace(tmp, path)


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _cannot_write(where: Loc, folder: str, e: OSError) -> SpecError:
    reason = {errno.EACCES: "permission denied", errno.EPERM: "permission denied",
              errno.EROFS: "read-only file system", errno.ENOSPC: "no space left on the device"}.get(e.errno)
    return SpecError(where, f"cannot write in {folder}: {reason or e.strerror or e}", code="output-error",
                     hint="free some space" if e.errno == errno.ENOSPC else "choose a writable folder")
