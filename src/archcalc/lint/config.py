"""Lint configuration: ``[tool.archcalc.lint]`` in ``pyproject.toml`` or ``[lint]`` in ``archcalc.toml``.

For each linted file the closest configuration wins, searched upward from the file's folder (from
the working folder for standard input): in each folder an ``archcalc.toml`` is used if present,
else a ``pyproject.toml`` that has a ``[tool.archcalc]`` table; nothing is merged from further up.
Keys (kebab-case, as in ruff)::

    [tool.archcalc.lint]
    select = ["E", "A", "N105"]        # codes, prefixes or names; "ALL"; replaces the default set
    extend-select = ["S103"]           # added to the selection
    ignore = ["N102"]                  # removed from it
    exclude = ["experiments/*"]        # globs of files not to lint when folders or globs are expanded
    per-file-ignores = {"legacy/*.yaml" = ["S101"]}

Selection follows ruff: the default set (every rule but the informational ones) is replaced by a
``select``, then ``extend-select`` adds and ``ignore`` removes; the command line is a second layer
applied the same way on top of the file's. The core rules (``E``) stay on whatever is selected, and
an ``ignore`` that names one is an error. Globs are relative to the configuration's folder; a
glob without ``/`` also matches a file's name alone.
"""

from __future__ import annotations

import fnmatch
import os
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

from archcalc.errors import Loc, SpecError, choices_hint
from archcalc.lint.registry import DEFAULT, CoreSelector, UnknownSelector, ignorable, select

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

KEYS = ("select", "extend-select", "ignore", "exclude", "per-file-ignores")


@dataclass(frozen=True, slots=True)
class Layer:
    """One layer of selection: a ``select`` (None = keep what came before), additions, removals."""

    select: frozenset[str] | None = None
    extend: frozenset[str] = frozenset()
    ignore: frozenset[str] = frozenset()

    def apply(self, codes: frozenset[str]) -> frozenset[str]:
        base = self.select if self.select is not None else codes
        return (base | self.extend) - self.ignore


@dataclass(frozen=True, slots=True)
class Config:
    """A configuration file's lint settings (or none: ``path`` None)."""

    path: str | None = None
    layer: Layer = Layer()
    exclude: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, frozenset[str]], ...] = ()
    root: str = field(default_factory=os.getcwd)

    def enabled(self, file: str | None, cli: Layer) -> frozenset[str]:
        """The codes enabled for ``file``: defaults, this file's layer, the command line, per-file ignores."""
        codes = cli.apply(self.layer.apply(DEFAULT))
        if file is not None:
            for pattern, ignored in self.per_file_ignores:
                if self.matches(pattern, file):
                    codes -= ignored
        return codes

    def excluded(self, file: str) -> bool:
        return any(self.matches(pattern, file) for pattern in self.exclude)

    def matches(self, pattern: str, file: str) -> bool:
        path = Path(os.path.abspath(file))
        try:
            relative = path.relative_to(self.root).as_posix()
        except ValueError:
            relative = path.as_posix()
        if fnmatch.fnmatchcase(relative, pattern) or fnmatch.fnmatchcase(relative, pattern.rstrip("/") + "/*"):
            return True
        return "/" not in pattern and fnmatch.fnmatchcase(path.name, pattern)


def cli_layer(select_: str | None, extend: tuple[str, ...], ignore: tuple[str, ...]) -> Layer:
    """The command line's ``--select``, ``--extend-select`` and ``--ignore`` (comma-separated, repeatable)."""
    try:
        return Layer(frozenset(select(_split([select_]))) if select_ is not None else None,
                     frozenset(select(_split(extend))), frozenset(ignorable(_split(ignore))))
    except (UnknownSelector, CoreSelector) as e:
        raise SpecError(None, str(e), code="usage") from None


def _split(values) -> list[str]:
    return [part for value in values if value for part in value.split(",")]


def load(path: str) -> Config:
    """Read a configuration file; every problem is an error located in it (exit 2)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except OSError as e:
        raise SpecError(Loc(path, 1, 1), f"cannot read configuration: {e.strerror or e}", code="usage") from None
    return parse(path, raw)


def parse(path: str, raw: bytes) -> Config:
    """The configuration in the bytes ``raw`` of the file ``path``."""
    return _from_data(path, *_decode(path, raw))


def _decode(path: str, raw: bytes) -> tuple[str, dict]:
    """The text and the TOML data of a configuration file, or a located error."""
    try:
        text = raw.decode("utf-8-sig")  # a byte-order mark, as some Windows editors write it, is no statement
        return text, tomllib.loads(text)
    except UnicodeDecodeError as e:
        raise SpecError(Loc(path, 1, 1), f"configuration is not UTF-8 text: {e.reason}", code="usage") from None
    except tomllib.TOMLDecodeError as e:
        raise _toml_error(path, text, e) from None


def _archcalc_table(path: str, text: str, data: dict) -> dict:
    """A pyproject.toml's [tool.archcalc] table, or a located error when it or [tool] is not a table."""
    table: object = data
    for key in ("tool", "tool.archcalc"):
        table = table.get(key.rsplit(".", 1)[-1], {})
        if not isinstance(table, dict):
            short = re.escape(key.rsplit(".", 1)[-1])
            line = _line_of(text, rf"(?:{re.escape(key)}|{short})\s*=") or 1
            raise SpecError(Loc(path, line, 1), f"{key} must be a table, got {type(table).__name__} {table!r}",
                            code="usage", hint=f"write [{key}] as a table header, with its keys below it")
    return table


def _from_data(path: str, text: str, data: dict) -> Config:
    """The configuration that the parsed TOML ``data`` of the file ``path`` (whose ``text`` locates errors) holds."""
    pyproject = path.endswith("pyproject.toml")
    ours = _archcalc_table(path, text, data) if pyproject else data
    _check_tables(path, text, ours, pyproject)
    table = ours.get("lint", {})
    section = "[tool.archcalc.lint]" if pyproject else "[lint]"
    header = _line_of(text, rf"\[\s*{re.escape(section[1:-1])}\s*\]")

    def where(key: str | None = None) -> Loc:
        """The line of ``key`` (in the section if it can, else anywhere), else of the section's header, else 1."""
        line = None
        if key is not None:
            name = rf"[\"']?{re.escape(key)}[\"']?\s*="
            line = _line_of(text, name, header, section[1:-1]) or _line_of(text, rf".*(?<![\w.-]){name}")
        return Loc(path, line or header or 1, 1)

    if not isinstance(table, dict):
        raise SpecError(where(), f"{section} must be a table", code="usage")
    for key in table:
        if key not in KEYS:
            raise SpecError(where(key), f"unknown key '{key}' in {section}", code="usage",
                            hint=choices_hint(key, KEYS, "keys"))

    def codes(key: str, value: object, resolve=select, at: str | None = None) -> frozenset[str]:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SpecError(where(at or key), f"'{key}' in {section} must be a list of rule codes or names",
                            code="usage")
        try:
            return frozenset(resolve(value))
        except (UnknownSelector, CoreSelector) as e:
            raise SpecError(where(at or key), f"'{key}' in {section}: {e}", code="usage") from None

    layer = Layer(codes("select", table["select"]) if "select" in table else None,
                  codes("extend-select", table.get("extend-select", [])),
                  codes("ignore", table.get("ignore", []), ignorable))
    exclude = table.get("exclude", [])
    if not isinstance(exclude, list) or not all(isinstance(v, str) for v in exclude):
        raise SpecError(where("exclude"), f"'exclude' in {section} must be a list of globs", code="usage")
    ignores = table.get("per-file-ignores", {})
    if not isinstance(ignores, dict):
        raise SpecError(where("per-file-ignores"), f"'per-file-ignores' in {section} must be a table of "
                        "glob = [codes]", code="usage")
    per_file = tuple((pattern, codes(f"per-file-ignores.{pattern}", value, ignorable, pattern))
                     for pattern, value in ignores.items())
    return Config(path, layer, tuple(exclude), per_file, os.path.dirname(os.path.abspath(path)))


def _check_tables(path: str, text: str, ours: object, pyproject: bool) -> None:
    """archcalc's own namespace (``[tool.archcalc]`` of a pyproject.toml, the whole of an archcalc.toml) holds
    the ``lint`` table alone: anything else there is a typo (``[tool.archcalc.lnt]``) or a key one level
    too high (``ignore`` beside ``[lint]``), which would otherwise be ignored without a word."""
    space = "[tool.archcalc]" if pyproject else os.path.basename(path)
    if not isinstance(ours, dict):
        raise SpecError(Loc(path, _line_of(text, r"(\[\s*)?tool\.archcalc\b") or 1, 1), f"{space} must be a table",
                        code="usage")
    for key in ours:
        if key == "lint":
            continue
        prefix = r"\[\s*tool\.archcalc\." if pyproject else r"\[\s*"
        line = _line_of(text, rf"{prefix}{re.escape(key)}\b") or _line_of(text, rf"[\"']?{re.escape(key)}[\"']?\s*=")
        if key == "tool" and not pyproject:
            hint = "archcalc.toml takes [lint] (the [tool.archcalc.lint] form is pyproject.toml's)"
        elif key in KEYS:
            hint = f"put it in the lint table: {'[tool.archcalc.lint]' if pyproject else '[lint]'}"
        else:
            hint = choices_hint(key, ["lint"], "tables")
        raise SpecError(Loc(path, line or 1, 1), f"unknown {'table' if isinstance(ours[key], dict) else 'key'} "
                        f"'{key}' in {space}: it holds only the lint table", code="usage", hint=hint)


def _toml_error(path: str, text: str, error: tomllib.TOMLDecodeError) -> SpecError:
    """The decoder's message at its line and column (attributes since Python 3.14, in the message before)."""
    message = str(error)
    line, col = getattr(error, "lineno", None), getattr(error, "colno", None)
    at = re.search(r" \(at line (\d+), column (\d+)\)$", message)
    if at:
        line, col = line or int(at.group(1)), col or int(at.group(2))
    elif message.endswith(" (at end of document)"):
        lines = text.split("\n")
        line, col = line or len(lines), col or len(lines[-1]) + 1
    reason = getattr(error, "msg", None) or re.sub(r" \(at (line \d+, column \d+|end of document)\)$", "", message)
    return SpecError(Loc(path, line or 1, col or 1), f"invalid TOML: {reason}", code="usage")


def _line_of(text: str, pattern: str, after: int | None = None, table: str = "") -> int | None:
    """The 1-based number of the first line that starts with ``pattern``; with ``after``, only among the
    lines after it that belong to ``table`` or its sub-tables (up to another table's header)."""
    for number, line in enumerate(text.split("\n"), 1):
        if after is not None and number <= after:
            continue
        stripped = line.lstrip()
        if after is not None and stripped.startswith("[") and not stripped.startswith(f"[{table}."):
            return None
        if re.match(pattern, stripped):
            return number
    return None


class Finder:
    """Finds (and caches, by folder) the configuration that applies to each file."""

    def __init__(self, forced: str | None = None, isolated: bool = False):
        self.forced = load(forced) if forced else None
        self.isolated = isolated
        self.cache: dict[str, Config] = {}

    def for_file(self, file: str | None) -> Config:
        if self.forced is not None:
            return self.forced
        if self.isolated:
            return Config()
        folder = os.path.dirname(os.path.abspath(file)) if file else os.getcwd()
        return self._for_folder(folder)

    def _for_folder(self, folder: str) -> Config:
        if folder in self.cache:
            return self.cache[folder]
        config = _config_in(folder)
        if config is None:
            parent = os.path.dirname(folder)
            config = Config() if parent == folder else self._for_folder(parent)
        self.cache[folder] = config
        return config


def _config_in(folder: str) -> Config | None:
    """The configuration in ``folder``: its archcalc.toml, or its pyproject.toml if that has a
    ``[tool.archcalc]`` table (each file read and parsed once)."""
    candidate = os.path.join(folder, "archcalc.toml")
    if os.path.isfile(candidate):
        return load(candidate)
    candidate = os.path.join(folder, "pyproject.toml")
    if not os.path.isfile(candidate):
        return None
    try:
        with open(candidate, "rb") as f:
            raw = f.read()
    except OSError:
        return None
    try:
        text, data = _decode(candidate, raw)
    except SpecError:
        if b"tool.archcalc" in raw:  # a broken pyproject.toml is ours to report only when it mentions us
            raise
        return None
    tool = data.get("tool", {})
    return _from_data(candidate, text, data) if isinstance(tool, dict) and "archcalc" in tool else None
