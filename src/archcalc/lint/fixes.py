"""Safe fixes as text edits at located YAML positions, so comments and formatting survive.

Rules build their edits with the helpers here (:func:`set_argument`, :func:`delete`); the engine
applies the edits of all fixes that do not overlap with :func:`apply`, then lints the result again
to prove it still loads (see :func:`archcalc.lint.engine.fix_source`).

Text that YAML shares is never edited: an anchor's node is the very node each alias (``*a``) of
it reads, and a mapping that merges an anchor (``<<: *a``) holds the anchor's own keys and values,
so one edit there would change every layer that uses it (:func:`shared_nodes`).
"""

from __future__ import annotations

from dataclasses import replace

from archcalc.errors import Loc
from archcalc.limits import Limits
from archcalc.lint.diagnostic import Change, Edit, Fix

__all__ = ["Edit", "Fix", "Text", "apply", "delete", "expected_data", "fix", "set_argument", "shared_nodes",
           "yaml_data"]
from archcalc.spec.ast import LayerItem, Lit
from archcalc.spec.source import LINE_BREAK, YMap, YNode, YScalar, YSeq, scalar_value


class Text:
    """Spec text with (line, column) → offset conversion (columns count characters, as YAML marks do).

    Lines are the YAML reader's own (:data:`archcalc.spec.source.LINE_BREAK`: CR LF, CR, LF, NEL, LS,
    PS), so a position the reader reports is the same character here whatever breaks the file uses.
    """

    def __init__(self, source: str):
        self.source = source
        self.starts = [0]
        self.ends = []  # where each line's text ends (its break starts)
        for match in LINE_BREAK.finditer(source):
            self.ends.append(match.start())
            self.starts.append(match.end())
        self.ends.append(len(source))

    def offset(self, loc: Loc) -> int:
        if loc.line > len(self.starts):
            return len(self.source)
        return min(self.starts[loc.line - 1] + loc.col - 1, len(self.source))

    def line(self, number: int) -> str:
        """Line ``number`` (1-based) without its line break."""
        if not 1 <= number <= len(self.starts):
            return ""
        return self.source[self.starts[number - 1]:self.ends[number - 1]]

    @property
    def newline(self) -> str:
        """The file's first line break (``\\n`` in a file of one line): new lines are written as the file's are."""
        return self.source[self.ends[0]:self.starts[1]] if len(self.starts) > 1 else "\n"

    def break_after(self, number: int) -> str:
        """The line break that ends line ``number`` (the file's first one when that line has none)."""
        if 1 <= number < len(self.starts):
            return self.source[self.ends[number - 1]:self.starts[number]]
        return self.newline

    def line_end(self, path: str, number: int) -> Loc:
        return Loc(path, number, len(self.line(number)) + 1)


def apply(source: str, fixes: list[Fix]) -> tuple[str, list[Fix]]:
    """``source`` with the edits of every fix applied, skipping a fix that overlaps one taken before."""
    text = Text(source)
    taken: list[tuple[int, int, str]] = []
    applied = []
    for fix in fixes:
        spans = [(text.offset(e.start), text.offset(e.end), e.content) for e in fix.edits]
        if any(_overlap(a, b, s, e) for a, b, _ in spans for s, e, _ in taken):
            continue
        taken += spans
        applied.append(fix)
    out = source
    for start, end, content in sorted(taken, key=lambda span: (span[0], span[1]), reverse=True):
        out = out[:start] + content + out[end:]
    return out, applied


def _overlap(a: int, b: int, s: int, e: int) -> bool:
    """Two edits conflict when their spans intersect, or both insert at the same point."""
    return (a < e and s < b) or a == s


def shared_nodes(root: YNode) -> frozenset[int]:
    """The ``id`` of every node that the tree reaches by more than one path, and of everything inside one.

    The composer (:mod:`archcalc.spec.source`) gives an alias the anchor's node object itself, and a
    merged mapping the merged keys' and values' objects, so a node reached twice is written once and
    used twice.
    """
    children: dict[int, list[YNode]] = {}
    twice: list[YNode] = []
    stack: list[YNode] = [root]
    while stack:
        node = stack.pop()
        if id(node) in children:
            twice.append(node)
            continue
        children[id(node)] = _children(node)
        stack.extend(children[id(node)])
    shared: set[int] = set()
    while twice:
        node = twice.pop()
        if id(node) not in shared:
            shared.add(id(node))
            twice.extend(children[id(node)])
    return frozenset(shared)


def _children(node: YNode) -> list[YNode]:
    if isinstance(node, YMap):
        return [part for pair in node.items for part in pair]
    return list(node.items) if isinstance(node, YSeq) else []


def set_argument(item: LayerItem, arg: str, value: str, text: Text, primary: str | None,
                 shared: frozenset[int] = frozenset()) -> tuple[Edit, ...] | None:
    """Edits that make ``item``'s argument ``arg`` read ``value``; None when the spec cannot be edited safely:
    the argument is an expression, the arguments are written in a way this does not handle, or the
    edit would touch a node in ``shared`` (:func:`shared_nodes`) or text outside the item's arguments."""
    node, path = item.source, item.loc.path
    if node is None or id(node) in shared:
        return None
    edits = _set(node, path, item.args.get(arg), arg, value, text, primary, shared)
    if edits is None or not all(_inside(node, e.start) and _inside(node, e.end) for e in edits):
        return None
    change = Change(node, arg, value, primary if isinstance(node, YScalar) else None)
    return (replace(edits[0], change=change), *edits[1:])


def _set(node: YNode, path: str, written: object, arg: str, value: str, text: Text, primary: str | None,
         shared: frozenset[int]) -> tuple[Edit, ...] | None:
    if isinstance(node, YMap):
        current = node.get(arg)
        if current is not None:
            if not isinstance(current, YScalar) or not isinstance(written, Lit) or id(current) in shared:
                return None
            return (Edit(current.loc, current.end, value),)
        own = [pair for pair in node.items if id(pair[0]) not in shared]  # merged keys come last and are shared
        if not own:
            return None
        last = _last_scalar(own[-1][1])
        if node.flow:
            return (Edit(last.end, last.end, f", {arg}: {value}"),)
        indent = " " * (own[0][0].loc.col - 1)
        end = text.line_end(path, last.end.line)
        return (Edit(end, end, f"{text.break_after(last.end.line)}{indent}{arg}: {value}"),)
    if isinstance(node, YScalar) and primary is not None and node.value is not None:
        original = text.source[text.offset(node.loc):text.offset(node.end)]
        if node.loc.line != node.end.line or original.startswith(("|", ">")):
            return None  # a block scalar (linear: |) or a value over several lines reads otherwise in braces
        return (Edit(node.loc, node.end, f"{{{primary}: {original}, {arg}: {value}}}"),)
    return None


def _inside(node: YNode, loc: Loc) -> bool:
    """Whether ``loc`` lies within ``node``'s own text (a last value that is an alias points elsewhere)."""
    return (node.loc.line, node.loc.col) <= (loc.line, loc.col) <= (node.end.line, node.end.col)


def _last_scalar(node: YNode) -> YScalar:
    while not isinstance(node, YScalar):
        if isinstance(node, YSeq) and node.items:
            if node.flow:
                return YScalar(None, "", False, node.end, node.end)
            node = node.items[-1]
        elif isinstance(node, YMap) and node.items:
            if node.flow:
                return YScalar(None, "", False, node.end, node.end)
            node = node.items[-1][1]
        else:  # an empty collection: its end is where it was written
            return YScalar(None, "", False, node.end, node.end)
    return node


def delete(start: Loc, end: Loc) -> Edit:
    return Edit(start, end, "")


def fix(message: str, *edits: Edit) -> Fix:
    return Fix(message, tuple(edits))


def yaml_data(root: YNode, changes: dict[tuple, list[Change]] | None = None, limits: Limits | None = None) -> object:
    """The data of a YAML tree, positions and formatting dropped, typed strictly (``1``, ``1.0`` and ``true``
    differ), with ``changes`` made (keyed by :func:`_place`, as the tree may be a new reading of the same
    text): what ``--fix`` compares before it writes a file.

    Mappings compare as dicts (key order carries no meaning in YAML); a node an alias repeats is read once.
    """
    memo: dict[int, object] = {}

    def typed(text: str, loc: Loc) -> tuple[str, str]:
        value = scalar_value(text, False, loc, limits) if limits is not None else text
        return type(value).__name__, repr(value)

    def data(node: YNode) -> object:
        key = id(node)
        if key in memo:
            return memo[key]
        if isinstance(node, YScalar):
            out: object = (type(node.value).__name__, repr(node.value))
        elif isinstance(node, YSeq):
            out = ("seq", tuple(data(item) for item in node.items))
        else:
            out = ("map", {k.text: data(v) for k, v in node.items})
        for change in (changes or {}).get(_place(node), ()):
            if change.primary is not None:
                out = ("map", {change.primary: out, change.arg: typed(change.value, node.loc)})
            elif isinstance(out, tuple) and out[0] == "map":
                out = ("map", {**out[1], change.arg: typed(change.value, node.loc)})
        memo[key] = out
        return out

    return data(root)


def expected_data(root: YNode, applied: list[Fix], limits: Limits) -> object:
    """The data ``root``'s text should read after the edits of ``applied``: the same, but for their changes."""
    changes: dict[tuple, list[Change]] = {}
    for f in applied:
        for e in f.edits:
            if e.change is not None:
                changes.setdefault(_place(e.change.node), []).append(e.change)
    return yaml_data(root, changes, limits)


def _place(node: YNode) -> tuple:
    """A node of a text by what it is and where it is written: the same in every reading of that text
    (a block mapping starts where its first key does, but ends later)."""
    return type(node).__name__, node.loc.line, node.loc.col, node.end.line, node.end.col
