"""Read spec text into a tree of YAML nodes that know where they came from.

PyYAML's own composer is recursive and silently expands aliases, so this module builds the tree
itself from libyaml's event stream: one loop with an explicit stack, which lets it bound depth and
alias expansion (see :mod:`archcalc.limits`), refuse tags (no ``!!python/object`` ever reaches a
constructor) and keep every node's start and end position. Scalars are typed by the YAML 1.2 core
rules (``yes``/``no`` stay strings, ``1e-4`` is a float); quoted scalars are always strings.
"""

from __future__ import annotations

import os
import re
import stat
import sys
from dataclasses import dataclass, field

import yaml

from archcalc.errors import Loc, SpecError
from archcalc.limits import Limits

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

STDIN = "-"
_CORE_TAGS = {f"tag:yaml.org,2002:{t}" for t in ("str", "int", "float", "bool", "null", "seq", "map")}
_DIGITS = r"[0-9](?:_?[0-9])*"  # 1_000 is 1000, as in Python; 1__0 and 0_ are strings
_INT = re.compile(r"[-+]?[0-9](?:_?[0-9])*$")  # YAML 1.2 core: 04 is the integer 4 (leading zeros allowed)
_FLOAT = re.compile(rf"[-+]?(\.{_DIGITS}|{_DIGITS}(\.({_DIGITS})?)?)([eE][-+]?[0-9]+)?$")
_NULL = {"", "~", "null", "Null", "NULL"}
#: the line breaks of the YAML reader (libyaml and PyYAML alike): CR LF, CR, LF, NEL, LS and PS; a ``\r\r\n``
#: is two breaks. Everything that numbers lines of a spec (fixes, comments, reports) uses these, so a
#: line and column mean one place in the text whichever breaks the file was saved with.
LINE_BREAK = re.compile("\r\n|[\r\n\x85\u2028\u2029]")
_BOOL = {"true": True, "True": True, "TRUE": True, "false": False, "False": False, "FALSE": False}


@dataclass(slots=True)
class YScalar:
    value: object  # str | int | float | bool | None
    text: str
    quoted: bool
    loc: Loc
    end: Loc


@dataclass(slots=True)
class YSeq:
    items: list[YNode]
    loc: Loc
    end: Loc
    flow: bool


@dataclass(slots=True)
class YMap:
    items: list[tuple[YScalar, YNode]]
    loc: Loc
    end: Loc
    flow: bool
    _index: dict[str, int] = field(default_factory=dict, repr=False)

    def get(self, key: str) -> YNode | None:
        i = self._index.get(key)
        return None if i is None else self.items[i][1]

    def key(self, key: str) -> YScalar | None:
        i = self._index.get(key)
        return None if i is None else self.items[i][0]

    def keys(self) -> list[str]:
        return [k.text for k, _ in self.items]


YNode = YScalar | YSeq | YMap


def describe(node: YNode) -> str:
    """How a node reads in an error message: ``a mapping``, ``'abc'``, ``3``."""
    if isinstance(node, YMap):
        return "a mapping"
    if isinstance(node, YSeq):
        return "a list"
    return "nothing" if node.value is None else repr(node.value) if isinstance(node.value, str) else str(node.value)


def read_text(path: str, limits: Limits, what: str = "a YAML spec") -> str:
    """The text of ``path`` (``-`` = standard input), or a located error saying why it cannot be read
    (``what`` the file should have been, for a binary one)."""
    return decode(read_bytes(path, limits), "<stdin>" if path == STDIN else path, what)


def read_bytes(path: str, limits: Limits) -> bytes:
    """The bytes of ``path`` (``-`` = standard input) for :func:`decode`, or a located error saying why they
    cannot be read (a writer that keeps a byte-order mark reads them with this)."""
    where = Loc("<stdin>" if path == STDIN else path, 1, 1)
    if path == STDIN:
        if sys.stdin is None:  # started with standard input closed (<&-)
            raise SpecError(where, "standard input is closed: there is no spec to read", code="unreadable-file",
                            hint="pipe the spec in (- < model.yaml), or pass its path")
        try:
            data = sys.stdin.buffer.read(limits.max_bytes + 1)
        except OSError as e:
            raise SpecError(where, f"cannot read standard input: {e.strerror or e}", code="unreadable-file",
                            hint="pipe the spec in (- < model.yaml), or pass its path") from None
    else:
        try:
            info = os.stat(path)
            if stat.S_ISDIR(info.st_mode):
                raise SpecError(where, "is a directory, not a spec file", code="unreadable-file",
                                hint="pass the YAML files inside it, or a glob such as 'specs/*.yaml'")
            if info.st_size > limits.max_bytes:
                raise _too_big(where, limits)
            with open(path, "rb") as f:
                data = f.read(limits.max_bytes + 1)
        except FileNotFoundError:
            raise SpecError(where, "no such file", code="unreadable-file", hint="check the path") from None
        except PermissionError:
            raise SpecError(where, "permission denied", code="unreadable-file",
                            hint="make the file readable (chmod +r)") from None
        except OSError as e:
            raise SpecError(where, f"cannot read: {e.strerror or e}", code="unreadable-file") from None
    if len(data) > limits.max_bytes:
        raise _too_big(where, limits)
    return data


def line_starts(text: str) -> list[int]:
    """The offset where each line of ``text`` starts, numbered as the YAML reader numbers them (:data:`LINE_BREAK`)."""
    return [0, *(m.end() for m in LINE_BREAK.finditer(text))]


def split_lines(text: str) -> list[str]:
    """The lines of ``text`` without their breaks, as the YAML reader counts them (one more than the breaks)."""
    return LINE_BREAK.split(text)


def offset_loc(text: str, offset: int, path: str) -> Loc:
    """The 1-based line and column (in characters) of character ``offset`` of ``text``."""
    starts = line_starts(text[:offset])
    return Loc(path, len(starts), offset - starts[-1] + 1)


def _too_big(where: Loc, limits: Limits) -> SpecError:
    return SpecError(where, f"file is larger than the {limits.max_bytes:,}-byte limit", code="resource-limit",
                     hint="raise it with --limit max_bytes=N if the file is really a spec")


def decode(data: bytes, path: str, what: str = "a YAML spec") -> str:
    """UTF-8 text (a BOM is dropped); a binary or non-UTF-8 file is an error at the first bad byte."""
    if b"\x00" in data[:8192]:
        raise SpecError(Loc(path, 1, 1), f"binary file, not {what}", code="unreadable-file")
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        before = data[:e.start].decode("utf-8-sig")  # valid up to the bad byte
        raise SpecError(offset_loc(before, len(before), path), f"not UTF-8 text (byte 0x{data[e.start]:02x})",
                        code="unreadable-file", hint="save the file as UTF-8") from None


def _loc(path: str, mark) -> Loc:
    return Loc(path, mark.line + 1, mark.column + 1)


def scalar_value(text: str, quoted: bool, loc: Loc, limits: Limits) -> object:
    """The typed value of a scalar by the YAML 1.2 core rules, bounded by ``limits.max_int``."""
    if quoted:
        return text
    if text in _NULL:
        return None
    if text in _BOOL:
        return _BOOL[text]
    if _INT.match(text):
        digits = len(text.lstrip("+-").replace("_", ""))
        value = int(text) if digits <= 40 else None
        if value is None or abs(value) > limits.max_int:
            raise SpecError(loc, f"integer {text[:20]}{'...' if len(text) > 20 else ''} is too large",
                            code="resource-limit", hint=f"integers are limited to ±{limits.max_int:,}")
        return value
    if _FLOAT.match(text):
        return float(text)
    return text


class _Open:
    """A collection being read: its items so far and how many nodes its expansion holds."""

    __slots__ = ("is_map", "items", "loc", "anchor", "flow", "size", "keys")

    def __init__(self, is_map: bool, loc: Loc, anchor: str | None, flow: bool):
        self.is_map, self.loc, self.anchor, self.flow = is_map, loc, anchor, flow
        self.items: list = []
        self.size = 1
        self.keys: dict[str, int] = {}


def parse_yaml(text: str, path: str, limits: Limits) -> YNode:
    """The single document in ``text`` as located nodes, or a located :class:`SpecError`."""
    stack: list[_Open] = []
    anchors: dict[str, tuple[YNode, int]] = {}
    root: YNode | None = None
    expanded = 0
    documents = 0

    def add(node: YNode, size: int, anchor: str | None) -> None:
        nonlocal root
        if anchor:
            anchors[anchor] = (node, size)
        if not stack:
            root = node
            return
        top = stack[-1]
        top.size += size
        if top.is_map and len(top.items) % 2 == 0:  # a key
            if not isinstance(node, YScalar):
                raise SpecError(node.loc, "a key must be a plain name, not a list or mapping", code="yaml-syntax")
            if node.text in top.keys:
                first = top.items[top.keys[node.text]].loc
                raise SpecError(node.loc, f"duplicate key '{node.text}' (first at line {first.line})",
                                code="yaml-syntax", hint="remove one of the two")
            top.keys[node.text] = len(top.items)
        top.items.append(node)

    loader = _Loader(text)
    try:
        while True:
            event = loader.get_event()
            kind = type(event)
            if kind is yaml.StreamEndEvent:
                break
            if kind is yaml.ScalarEvent:
                loc = _loc(path, event.start_mark)
                _check_tag(event, loc)
                quoted = event.style in ("'", '"', "|", ">")
                node = YScalar(scalar_value(event.value, quoted, loc, limits), event.value, quoted, loc,
                               _loc(path, event.end_mark))
                expanded += 1
                add(node, 1, event.anchor)
            elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
                loc = _loc(path, event.start_mark)
                _check_tag(event, loc)
                if len(stack) >= limits.max_depth:
                    raise SpecError(loc, f"nesting deeper than {limits.max_depth} levels", code="resource-limit",
                                    hint="raise it with --limit max_depth=N")
                expanded += 1
                stack.append(_Open(kind is yaml.MappingStartEvent, loc, event.anchor, bool(event.flow_style)))
            elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
                done = stack.pop()
                end = _loc(path, event.end_mark)
                if done.is_map:
                    node = _mapping(list(zip(done.items[::2], done.items[1::2])), done.loc, end, done.flow)
                else:
                    node = YSeq(done.items, done.loc, end, done.flow)
                add(node, done.size, done.anchor)
            elif kind is yaml.AliasEvent:
                loc = _loc(path, event.start_mark)
                if event.anchor not in anchors:
                    raise SpecError(loc, f"alias *{event.anchor} refers to an anchor that is not defined before it",
                                    code="yaml-syntax")
                node, size = anchors[event.anchor]
                expanded += size
                if expanded > limits.max_nodes:
                    raise SpecError(loc, f"aliases expand to more than {limits.max_nodes:,} YAML nodes",
                                    code="resource-limit",
                                    hint="a spec this size is almost surely an alias bomb; raise --limit max_nodes=N "
                                    "if it is not")
                add(node, size, None)
            elif kind is yaml.DocumentStartEvent:
                documents += 1
                if documents > 1:
                    raise SpecError(_loc(path, event.start_mark), "a spec file holds one YAML document, found a second",
                                    code="yaml-syntax", hint="split the documents into separate files")
            if expanded > limits.max_nodes:
                raise SpecError(_loc(path, event.start_mark), f"more than {limits.max_nodes:,} YAML nodes",
                                code="resource-limit", hint="raise it with --limit max_nodes=N")
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        loc = _loc(path, mark) if mark else Loc(path, 1, 1)
        problem = e.problem or e.context or "invalid YAML"
        if "maximum nesting depth" in problem:  # libyaml's scanner stops at 1,000 open brackets, before we see them
            raise SpecError(loc, "nesting deeper than 1,000 levels (the YAML parser's own limit)",
                            code="resource-limit", hint=f"archcalc reads {limits.max_depth} (--limit max_depth=N)") \
                from None
        raise SpecError(loc, f"YAML syntax: {problem}", code="yaml-syntax",
                        hint=_syntax_hint(problem)) from None
    except yaml.reader.ReaderError as e:  # a control character: no mark, a position in the reader's input
        raise _reader_error(text, path, e) from None
    except yaml.YAMLError as e:
        raise SpecError(Loc(path, 1, 1), f"YAML syntax: {e}", code="yaml-syntax") from None
    finally:
        loader.dispose()
    if root is None or (isinstance(root, YScalar) and root.value is None):
        raise SpecError(Loc(path, 1, 1), "empty spec", code="empty-spec",
                        hint="a spec needs at least 'input:' and 'layers:' (see docs/spec.md)")
    return root


def _reader_error(text: str, path: str, e: yaml.reader.ReaderError) -> SpecError:
    """The reader's refusal of a character, at its line and column: libyaml counts the position in bytes
    of UTF-8, PyYAML's own reader in characters."""
    position = e.position
    if _Loader is not yaml.SafeLoader:
        position = len(text.encode("utf-8")[:position].decode("utf-8", "ignore"))
    position = min(max(position, 0), len(text))
    char = text[position] if position < len(text) else ""
    what = f"character U+{ord(char):04X}" if char else "character"
    return SpecError(offset_loc(text, position, path), f"YAML syntax: {what} is not allowed ({e.reason})",
                     code="yaml-syntax", hint="remove it, or write it as an escape inside a double-quoted string")


def _mapping(pairs: list[tuple[YScalar, YNode]], loc: Loc, end: Loc, flow: bool) -> YMap:
    """A mapping, with YAML merge keys (``<<: *base`` or ``<<: [*a, *b]``) resolved: merged keys
    come after the mapping's own and never override them."""
    merges = [value for key, value in pairs if key.text == "<<" and not key.quoted]
    if merges:
        pairs = [(k, v) for k, v in pairs if not (k.text == "<<" and not k.quoted)]
        own = {k.text for k, _ in pairs}
        for source in merges:
            for base in source.items if isinstance(source, YSeq) else [source]:
                if not isinstance(base, YMap):
                    raise SpecError(base.loc, "'<<' merges mappings only", code="yaml-syntax",
                                    hint="write <<: *anchor where the anchor names a mapping")
                for k, v in base.items:
                    if k.text not in own:
                        own.add(k.text)
                        pairs.append((k, v))
    return YMap(pairs, loc, end, flow, {k.text: i for i, (k, _) in enumerate(pairs)})


def _check_tag(event, loc: Loc) -> None:
    tag = event.tag
    if tag and tag not in _CORE_TAGS and tag != "!":
        raise SpecError(loc, f"YAML tag '{tag}' is not allowed", code="forbidden-tag",
                        hint="specs are plain data: remove the tag (archcalc never constructs objects from YAML)")


def _syntax_hint(problem: str) -> str | None:
    if "tab" in problem:
        return "indent with spaces, not tabs"
    if "mapping values are not allowed" in problem:
        return "a ':' inside a value needs quotes, or the line above is indented wrongly"
    if "expected ',' or ']'" in problem or "expected ',' or '}'" in problem:
        return "a bracket is not closed"
    return None
