"""The ``table`` format: an aligned text table with the block tree drawn in the first column.

Drawn by hand rather than with rich's Table: a ResNet-50 has ~300 rows, which rich lays out in
about 0.15 s, twice what the whole computation costs.

A table wider than the terminal is fitted in steps, each only when the one before was not enough:
text columns fold onto continuation lines at natural breaks (after ``, `` in shapes, ``_`` or ``:``
in names), the column where the fewest cells fold first, never narrower than their longest
unbreakable piece; when that folds many rows, counts are shortened to three significant digits
(``1.81G``) with a note saying so (the footer and JSON stay exact); then formulas and the layer
tree fold too; then the columns of least ``keep`` are left out, one at a time, with a note naming
them; last, the tree column gives way, a row whose branches fill it ending in ``…``. Continuation
lines keep the tree's branches. The title, the footer, the notes and free text lines wrap too.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from bisect import bisect_right
from typing import TextIO

from archcalc.report import Column, Report, Row, tree_labels

BOLD, DIM, RESET = "\x1b[1m", "\x1b[2m", "\x1b[0m"
GAP = 2
MIN_FOLD = 10
MIN_NAME = 6  # a tree name folds into pieces no narrower than this; with less room it ends in "…"
_BREAK = re.compile(r"(?<=[ ,_:*+])")  # a fold may follow any of these characters
#: text of only these takes one cell a character (checked against unicodedata by a test): ASCII and
#: Latin, Greek, punctuation, arrows, mathematical operators, box drawing (the tree) and the like
_ONE_CELL = re.compile("[\\x00-\u02ff\u0391-\u03a1\u03a3-\u03ff\u2000-\u2064\u2066-\u206f\u2190-\u2319"
                       "\u2500-\u257f]*")
_COUNT = re.compile(r"-?\d{1,3}(,\d{3})+")
_NUMBER = re.compile(r"-?[\d,.]+( B)?")  # a footer value that is a count or a size


def render_table(report: Report, out: TextIO, width: int, color: bool = False) -> None:
    def style(text: str, code: str) -> str:
        return f"{code}{text}{RESET}" if color else text

    write = out.write
    write(style(_wrap(report.title, width), BOLD) + "\n")
    notes = list(report.notes)
    if report.columns:
        shortened, dropped = _draw(report, write, width, style)
        if shortened:
            pick = ", or pick fewer --columns" if report.pick_columns else ""
            notes.append(f"counts shortened to fit {width} columns; the totals above and --format json are exact "
                         f"(or widen the terminal{pick})")
        if dropped:
            pick = ", or pick them with --columns" if report.pick_columns else ""
            notes.append(f"left out to fit {width} columns: {', '.join(dropped)} (widen the terminal{pick}; "
                         f"{report.every_column} every column)")
    for line in report.text:
        write(_text_line(line, width, report.hang) + "\n")
    if report.footer:
        _footer(report.footer, write, width)
    for note in notes:
        write(style(_wrap(note, width, "note: "), DIM) + "\n")


def _wrap(text: str, width: int, first: str = "", indent: int | None = None) -> str:
    """``text`` after ``first`` in lines of at most ``width``, continued ``indent`` spaces in (under
    the text by default); a formula breaks at its spaces, a word longer than a line where it must."""
    hang = " " * (len(first) if indent is None else indent)
    width = max(width, len(hang) + 10)
    if not (first + text).isascii():  # a wide character takes two cells
        return "\n".join(_wrap_cells(text.split(), width, first, hang)) or first.rstrip()
    return "\n".join(_wrap_ascii(text, width, first, hang)) or first.rstrip()


_SPACES = re.compile(r"([\t\n\x0b\x0c\r ]+)")


def _wrap_ascii(text: str, width: int, first: str, hang: str) -> list[str]:
    """``textwrap.wrap(text, width, initial_indent=first, subsequent_indent=hang,
    break_on_hyphens=False)``, line for line, in time linear in the text: textwrap cuts a word longer
    than a line by slicing off the rest of the word again for every line, so one long word (a 9.9 MB
    model name) took it minutes. Here the word is read at an offset instead."""
    chunks = [c for c in _SPACES.split(text.expandtabs().translate(_WHITESPACE)) if c]
    blank = [not c.strip() for c in chunks]
    lines: list[str] = []
    i, offset = 0, 0  # the next chunk, and how much of it earlier lines took (a word cut across lines)
    while i < len(chunks):
        indent = hang if lines else first
        room = width - len(indent)
        if lines and (blank[i] or offset == len(chunks[i])):  # a line never starts with the spaces that broke it
            i, offset = i + 1, 0
        line: list[str] = []
        used = 0
        while i < len(chunks) and used + len(chunks[i]) - offset <= room:
            line.append(chunks[i][offset:] if offset else chunks[i])
            used += len(chunks[i]) - offset
            i, offset = i + 1, 0
        if i < len(chunks) and len(chunks[i]) - offset > room:  # a word longer than a line: cut it
            take = 1 if room < 1 else room - used
            line.append(chunks[i][offset:offset + take])
            offset += take
        if line and not line[-1].strip():
            line.pop()
        if line:
            lines.append(indent + "".join(line))
    return lines


#: textwrap's replace_whitespace: each whitespace character becomes one space
_WHITESPACE = str.maketrans("\t\n\x0b\x0c\r", "     ")


def _wrap_cells(words: list[str], width: int, first: str, hang: str) -> list[str]:
    """Greedy wrapping measured in terminal cells; a word wider than a line is cut where it must.
    Linear in the text: each word's cells are counted once, and a long word is cut at offsets."""
    lines, line, used, fresh = [], [first], _cells(first), True  # fresh: no word on this line yet
    for word in words:
        size = _cells(word)
        if used + size + (0 if fresh else 1) <= width:
            line += [word] if fresh else [" ", word]
            used, fresh = used + size + (0 if fresh else 1), False
            continue
        if not fresh:
            lines.append("".join(line))
            line, used = [hang], len(hang)
        start = 0
        while used + size > width:
            end = _prefix_end(word, start, width - used)
            lines.append("".join(line) + word[start:end])
            size -= _cells(word[start:end])
            line, used, start = [hang], len(hang), end
        line.append(word[start:] if start else word)
        used, fresh = used + size, False
    return [*lines, "".join(line)] if not fresh else lines


def _text_line(line: str, width: int, hang: int) -> str:
    """A free line wrapped to ``width``: under the report's ``hang`` column when that leaves room
    (half the width), else four spaces past the line's own indent."""
    if _cells(line) <= width:
        return line
    indent = len(line) - len(line.lstrip())
    under = hang if indent < hang <= width // 2 else indent + 4
    if indent < hang < len(line) and line[hang - 1] == " " and hang <= width - 20:
        # the columns before ``hang`` (a derivation's path and kind) stay as they are, spaces and all
        return _wrap(line[hang:].lstrip(), width, line[:hang], under)
    return _wrap(line[indent:], width, " " * indent, under)


def _footer(footer: list[tuple[str, str]], write, width: int) -> None:
    """Labels, then values: counts right-aligned on their number (a ``(4.09 G)`` suffix hangs after
    it), anything else left-aligned where the numbers start. A value too long for the line wraps
    under itself, or, when the labels take half the width, under its label, indented."""
    label_width = max(len(label) for label, _ in footer)
    parts = [value.partition(" (") if _NUMBER.fullmatch(value.partition(" (")[0]) else None for _, value in footer]
    number_width = max((len(p[0]) for p in parts if p), default=0)
    write("\n")
    for (label, value), part in zip(footer, parts):
        if part is None:
            text = value
        else:
            head, sep, tail = part
            text = f"{head:>{number_width}}" + (f" ({tail}" if sep else "")
        line = f"{label:<{label_width}}  {text}".rstrip()
        if len(line) > width:
            if label_width + 2 <= width // 2:
                line = _wrap(text, width, f"{label:<{label_width}}  ")
            else:
                line = _wrap(label, width, indent=4) + "\n" + _wrap(text.strip(), width, " " * 4)
        write(line + "\n")


def _draw(report: Report, write, width: int, style) -> tuple[bool, list[str]]:
    """Write the header and rows; whether counts had to be shortened to fit ``width``, and the
    titles of the columns left out."""
    columns, rows = report.columns, report.rows
    labels = tree_labels(rows)
    grid = [list(cells) for cells in zip(*(labels if c.key == "layer" else [row.cells.get(c.key, "") for row in rows]
                                           for c in columns))]
    dropped: list[str] = []
    while True:
        cells, widths, shortened = _layout(grid, columns, rows, width)
        droppable = [j for j, c in enumerate(columns) if c.key != "layer"]
        if _total(widths) <= width or len(droppable) < 2:
            break
        j = min(reversed(droppable), key=lambda i: columns[i].keep)  # the least kept, the rightmost on a tie
        dropped.append(columns[j].title)
        columns = columns[:j] + columns[j + 1:]
        grid = [row[:j] + row[j + 1:] for row in grid]
    over = _total(widths) - width
    if over > 0 and columns[0].key == "layer":  # a tree too deep for the terminal: its names give way
        widths[0] = max(widths[0] - over, 1)
    header = _fit(_line([c.title for c in columns], widths, columns), width)
    write(style(header, BOLD) + "\n")
    write("─" * _cells(header) + "\n")
    drawn: dict[tuple, str] = {}  # a repeated block's rows look alike: each look is drawn once
    for row, line_cells in zip(rows, cells):
        key = (*line_cells, row.depth, row.last, row.container)
        text = drawn.get(key)
        if text is None:
            text = drawn[key] = _row_text(row, line_cells, widths, columns, width, style)
        write(text)
    return shortened, dropped


def _row_text(row: Row, line_cells: list[str], widths: list[int], columns: list[Column], width: int, style) -> str:
    """A row's lines: its cells folded to ``widths``, continuation lines keeping the tree's branches."""
    folded = [_cell_lines(text, w, c, row) for text, w, c in zip(line_cells, widths, columns)]
    fill = [_tree(text, row) if c.key == "layer" else "" for text, c in zip(line_cells, columns)]
    lines = []
    for k in range(max(len(f) for f in folded)):
        line = _fit(_line([f[k] if k < len(f) else blank for f, blank in zip(folded, fill)], widths, columns), width)
        lines.append((style(line, BOLD) if row.container else line) + "\n")
    return "".join(lines)


def _fit(line: str, width: int) -> str:
    """``line``, or as much of it as takes ``width`` − 1 cells and ``…`` when it is wider."""
    return line if _cells(line) <= width else line[:_prefix(line, width - 1)] + "…"


def _layout(grid: list[list[str]], columns: list[Column], rows: list[Row], width: int):
    """Choose the cells and column widths. Exact counts with text folded as far as needed, when that
    fits and folds few rows (at most a tenth, or 2); else, of those and the shortened counts, what
    fits in the fewest lines, or when neither fits the narrower. Then fold whatever must still fold."""
    natural = _widths(grid, columns)
    if _total(natural) <= width:  # it fits as it is: nothing to fold or shorten
        return grid, natural, False
    text = [not c.numeric and c.key != "layer" for c in columns]
    plans = []
    for cells in (grid, _shortened(grid, columns)):
        if plans and cells == plans[0][0]:
            break  # nothing to shorten
        widths = _widths(cells, columns)
        _shrink(widths, _floors(cells, columns, rows), width, text, cells)
        extra = _extra_lines(cells, widths, columns, rows)
        over = _total(widths) - width
        plans.append((cells, widths, (over, 0) if over > 0 else (0, extra)))
    exact = plans[0]
    if exact[2][0] > 0 or exact[2][1] > max(2, len(rows) // 10):
        exact = min(plans, key=lambda p: p[2])
    cells, widths, _ = exact
    _shrink(widths, _floors(cells, columns, rows), width, [True] * len(columns), cells)
    return cells, widths, cells is not grid


def _columns(grid: list[list[str]], n: int) -> list[tuple[str, ...]]:
    """``grid`` by column. The layout works on each column's distinct texts: a table repeats its cells
    (``linear``, ``[8192, 4096]``, ``–``) and a repeated block its rows, so measuring each text once
    made Llama 3 8B's 421 rows cost a quarter of what they did."""
    return list(zip(*grid)) if grid else [()] * n


def _extra_lines(grid: list[list[str]], widths: list[int], columns: list[Column], rows: list[Row]) -> int:
    """How many continuation lines folding the cells to ``widths`` adds to the table."""
    counts = []
    for column, w, col in zip(columns, widths, _columns(grid, len(columns))):
        if column.key == "layer":  # the tree folds after its branches, which depend on the row's depth
            depths = [row.depth for row in rows]
            first = {key: i for i, key in enumerate(zip(col, depths))}  # a row of each (text, depth)
            seen = {key: len(_cell_lines(key[0], w, column, rows[i])) for key, i in first.items()}
            counts.append([seen[key] for key in zip(col, depths)])
        else:
            seen = {t: len(_fold(t, w)) for t in set(col)}
            counts.append([seen[t] for t in col])
    return sum(map(max, zip(*counts))) - len(rows) if rows else 0


def _cell_lines(text: str, width: int, column: Column, row: Row) -> list[str] | tuple[str, ...]:
    """``text`` folded to ``width``; the tree column folds the name only, under its branches."""
    if column.key != "layer":
        return _fold(text, width)
    hang = 2 * row.depth  # the tree drawing before the name
    if width - hang < MIN_NAME:  # too little room left to fold the name into
        return [_fit(text, width)]
    pieces = _fold(text[hang:], width - hang)
    return [text[:hang] + pieces[0], *(_tree(text, row) + p for p in pieces[1:])]


def _tree(label: str, row: Row) -> str:
    """The tree drawing on a row's continuation lines: the branches that go on past it."""
    return label[:2 * row.depth - 2] + ("  " if row.last else "│ ")


def _widths(grid: list[list[str]], columns: list[Column]) -> list[int]:
    return [max([len(c.title), *map(_cells, set(col))]) for c, col in zip(columns, _columns(grid, len(columns)))]


def _prefix(text: str, width: int) -> int:
    """How many characters of ``text`` fit in ``width`` cells (at least one)."""
    return _prefix_end(text, 0, width)


def _prefix_end(text: str, start: int, width: int) -> int:
    """The end of the longest piece of ``text`` from ``start`` that fits in ``width`` cells (at least one
    character): reads at most the piece itself, so cutting a long text costs its length, once."""
    if text.isascii():
        return min(len(text), start + max(width, 1))
    end, used = start, 0
    while end < len(text):
        used += _cell(text[end])
        if used > width:
            break
        end += 1
    return max(end, start + 1) if start < len(text) else end


def _cell(ch: str) -> int:
    return 0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in "WF" else 1


def _cells(text: str) -> int:
    """How many terminal cells ``text`` takes: wide and full-width characters (CJK) two, combining
    marks none, everything else one."""
    if text.isascii() or _ONE_CELL.fullmatch(text):
        return len(text)
    return sum(map(_cell, text))


def _total(widths: list[int]) -> int:
    return sum(widths) + GAP * (len(widths) - 1)


def _floors(grid: list[list[str]], columns: list[Column], rows: list[Row]) -> list[int]:
    """How narrow each column may fold: its longest unbreakable piece (for the tree, after the
    branches), its title, and MIN_FOLD."""
    floors = []
    for c, col in zip(columns, _columns(grid, len(columns))):
        if c.key == "layer":
            pieces = [2 * depth + _piece(text[2 * depth:]) for text, depth in set(zip(col, (r.depth for r in rows)))]
        else:
            pieces = map(_piece, set(col))
        floors.append(max(MIN_FOLD, len(c.title), *pieces))
    return floors


def _shrink(widths: list[int], floors: list[int], width: int, allowed: list[bool], grid: list[list[str]]) -> None:
    """Narrow the ``allowed`` columns one character at a time until the table fits ``width`` or each
    is at its floor; each step takes the column where the fewest cells would fold (the widest on a
    tie), so one long kind name folds before every shape does. A column wider than the whole line
    starts at the line's width (or its floor): it has to get there to fit, and stepping a 9.9 MB
    name down one character at a time took minutes."""
    for j, ok in enumerate(allowed):
        if ok and widths[j] > width:
            widths[j] = max(width, floors[j])
    lengths = [sorted(map(len, col)) for col in _columns(grid, len(widths))]
    while _total(widths) > width:
        candidates = [j for j, ok in enumerate(allowed) if ok and widths[j] > floors[j]]
        if not candidates:
            return
        j = min(candidates, key=lambda i: (len(lengths[i]) - bisect_right(lengths[i], widths[i] - 1), -widths[i]))
        widths[j] -= 1


@functools.lru_cache(maxsize=4096)  # a table repeats its cells (relu, [64, 56, 56], –) many times
def _piece(text: str) -> int:
    """Length of the longest part of ``text`` that cannot be folded."""
    return max((len(p.rstrip()) for p in _BREAK.split(text)), default=0)


def _shortened(grid: list[list[str]], columns: list[Column]) -> list[list[str]]:
    """``grid`` with counts in numeric columns to three significant digits (``1,814,073,344`` → ``1.81G``)."""
    def short(text: str) -> str:
        return si(int(text.replace(",", ""))) if _COUNT.fullmatch(text) else text

    shortened = []
    for c, col in zip(columns, _columns(grid, len(columns))):
        if c.numeric:
            short_of = {text: short(text) for text in set(col)}
            col = [short_of[text] for text in col]
        shortened.append(col)
    return [list(row) for row in zip(*shortened)]


def si(n: int, sep: str = "") -> str:
    """Three significant digits with an SI prefix: ``1.81G``, ``553k``; ``999`` stays as it is.

    >>> si(1_814_073_344), si(553_000, " "), si(999)
    ('1.81G', '553 k', '999')
    """
    if abs(n) >= 10**300:  # past a float (a --batch-size of 10**400): the exact digits
        return str(n)
    scaled, steps = float(n), 0
    while abs(scaled) >= 999.5 and steps < len(PREFIXES) - 1:
        scaled, steps = scaled / 1000, steps + 1
    if abs(scaled) >= 999.5:  # past the last prefix (10³⁰): scientific notation
        return f"{float(n):.2e}"
    return f"{scaled:.3g}{sep}{PREFIXES[steps]}" if steps else str(n)


#: SI prefixes for 10^(3k), up to quetta (10³⁰)
PREFIXES = ("", "k", "M", "G", "T", "P", "E", "Z", "Y", "R", "Q")


@functools.lru_cache(maxsize=4096)
def _fold(text: str, width: int) -> tuple[str, ...]:
    """Split ``text`` into pieces of at most ``width``, breaking after ``, `` ``_`` ``:`` … when it can.
    Linear in the text: it is read at an offset, and each piece's cells are counted once."""
    pieces = []
    start, left = 0, _cells(text)  # where the rest begins, and its cells
    while left > width:
        fits = _prefix_end(text, start, width) - start
        cuts = [c for m in _BREAK.finditer(text, start + 1, start + fits + 1)
                if (c := m.start() - start) <= fits or text[start + c - 1] == " "]
        cut = cuts[-1] if cuts else fits
        pieces.append(text[start:start + cut].rstrip())
        end = start + cut
        while end < len(text) and text[end].isspace():  # str.lstrip's whitespace
            end += 1
        left -= _cells(text[start:end])
        start = end
    pieces.append(text[start:])
    return tuple(pieces)


def _line(cells: list[str], widths: list[int], columns: list[Column]) -> str:
    pads = [" " * max(w - _cells(cell), 0) for cell, w in zip(cells, widths)]
    parts = [pad + cell if c.numeric else cell + pad for cell, pad, c in zip(cells, pads, columns)]
    return (" " * GAP).join(parts).rstrip()
