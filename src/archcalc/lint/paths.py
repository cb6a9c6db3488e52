"""Which files ``archcalc lint PATH...`` lints: files as named, folders and globs expanded to YAML specs.

A file named on the command line is linted whatever its extension (as ruff does). A folder is
searched recursively for ``*.yaml`` and ``*.yml`` that are regular files, skipping hidden files and
folders (``.git``, ``.venv``, ``.pre-commit-config.yaml``); a glob (``'specs/**/*.yaml'``, quoted so the shell leaves
it alone) is expanded the same way. Files found by expanding a folder or glob are skipped when the
configuration's ``exclude`` matches them; named files only with ``--force-exclude``. A missing path,
a folder with no specs and a glob that matches nothing are usage errors (exit 2).
"""

from __future__ import annotations

import glob
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

from archcalc.errors import Loc, SpecError
from archcalc.limits import Limits
from archcalc.spec.source import STDIN

SUFFIXES = (".yaml", ".yml")
_GLOB = set("*?[")
#: the keys that make a YAML file a spec, at its top level (``--only-specs``)
SPEC_KEYS = ("layers", "input")
_SPEC_KEY = re.compile(rf"^(?:{'|'.join(SPEC_KEYS)})\s*:", re.M)


def is_spec(text: str, limits: Limits | None = None) -> bool:
    r"""Whether YAML ``text`` is an archcalc spec: its top level is a mapping with a ``layers:`` or an
    ``input:`` key. A line that starts with one of them counts too, so a spec whose YAML is broken is
    still linted (and its syntax error reported); a CI workflow, a docker-compose file or an empty
    file is not a spec.

    >>> is_spec("input: [3]\nlayers: [relu]\n"), is_spec("{layers: [relu]}"), is_spec("jobs: {a: 1}\n")
    (True, True, False)
    """
    if _SPEC_KEY.search(text):
        return True
    from archcalc.spec.source import YMap, parse_yaml

    try:
        root = parse_yaml(text, "<spec?>", limits or Limits())
    except SpecError:
        return False
    return isinstance(root, YMap) and any(root.key(key) is not None for key in SPEC_KEYS)


@dataclass(frozen=True, slots=True)
class Target:
    path: str  # a file path, or "-" for standard input
    named: bool  # given on the command line itself (not found in a folder or by a glob)


def expand(args: tuple[str, ...], excluded: Callable[[str], bool],
           force_exclude: bool = False) -> tuple[list[Target], list[SpecError]]:
    """The files to lint, in order and without repeats, and an error for every argument that gives none."""
    targets: list[Target] = []
    errors: list[SpecError] = []
    seen: set[str] = set()

    def add(path: str, named: bool) -> None:
        key = path if path == STDIN else os.path.realpath(path)
        if key in seen or (path != STDIN and (not named or force_exclude) and excluded(path)):
            return
        seen.add(key)
        targets.append(Target(path, named))

    for arg in args:
        where = Loc(arg, 1, 1)
        if arg == STDIN:
            add(arg, True)
        elif os.path.isdir(arg):
            found = _specs_in(arg)
            if not found:
                errors.append(SpecError(where, "folder holds no YAML specs (*.yaml, *.yml)", code="usage",
                                        hint="pass the spec files, or a folder that contains some"))
            for path in found:
                add(path, False)
        elif os.path.exists(arg):
            add(arg, True)
        elif _GLOB & set(arg):
            matches = sorted(glob.glob(arg, recursive=True))
            files = [p for m in matches for p in (_specs_in(m) if os.path.isdir(m) else [m])
                     if p.endswith(SUFFIXES) and os.path.isfile(p)]
            if not files:
                errors.append(SpecError(where, "glob matches no YAML specs", code="usage",
                                        hint="check the pattern; quote it so that archcalc, not the shell, expands it"))
            for path in files:
                add(path, False)
        else:
            errors.append(SpecError(where, "no such file or folder", code="unreadable-file", hint="check the path"))
    return targets, errors


def _specs_in(folder: str) -> list[str]:
    """The YAML files under ``folder``: regular files only (a FIFO named ``x.yaml`` would block the read forever)."""
    found = []
    for root, dirs, files in os.walk(folder):
        dirs[:] = sorted(d for d in dirs if not d.startswith("."))
        found += [path for path in (os.path.join(root, f) for f in sorted(files)
                                    if f.endswith(SUFFIXES) and not f.startswith(".")) if os.path.isfile(path)]
    return found
