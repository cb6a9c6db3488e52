"""Source locations and the one error type every stage raises.

Every node read from a spec carries a :class:`Loc`; every problem found from YAML syntax to shape
propagation is a :class:`SpecError` that points at one. The CLI turns it into
``path:line:col: error: message`` plus a hint and exit code 2, so no stage ever needs to print.
"""

from __future__ import annotations

from typing import NamedTuple


class Loc(NamedTuple):
    """A 1-based position in a spec file (``<stdin>`` when read from standard input).

    A named tuple rather than a dataclass: a spec of 100,000 layers creates ~10⁶ of them.
    """

    path: str
    line: int
    col: int

    def __str__(self) -> str:
        return f"{self.path}:{self.line}:{self.col}"


class SpecError(Exception):
    """A problem in a spec, located in its source.

    ``code`` is a stable kebab-case name (``unknown-kind``, ``channel-mismatch`` ...): the linter
    reports each one as a rule of the same name, so the catalogue of core errors lives with the rules.
    ``notes`` say where the located line was reached from, innermost first (``in block 'stage' used
    at x.yaml:9:5 (layer2)``): an error inside a block body is located in the body, which every use
    of the block shares.
    """

    def __init__(self, loc: Loc | None, message: str, *, code: str = "invalid-spec", hint: str | None = None):
        super().__init__(message)
        self.loc = loc
        self.message = message
        self.code = code
        self.hint = hint
        self.notes: list[str] = []
        #: the graph of the layers that built before the error (a build error after some top-level layers
        #: built), so that the linter's layer-local rules can still check them
        self.partial: object | None = None
        #: whether ``partial`` is the whole model (the error is about the train: section): every rule reads it
        self.whole = False
        #: further errors of the same file, independent of this one (another layer's unknown kind or
        #: argument), found in the same run so that a user fixes them all at once, as with a compiler
        self.others: list[SpecError] = []

    @property
    def all(self) -> list[SpecError]:
        """This error and the independent ones found with it, in the order of the file."""
        return [self, *self.others]

    def render(self) -> str:
        """``path:line:col: error: message``, then an indented hint line and note lines when there are any."""
        where = f"{printable(str(self.loc))}: " if self.loc else ""
        text = f"{where}error: {printable(self.message)}"
        if self.hint:
            text += f"\n  hint: {printable(self.hint, newlines=True)}"
        for note in self.notes:
            text += f"\n  note: {printable(note)}"
        return text

    def __str__(self) -> str:
        return self.render()


#: characters a terminal obeys rather than shows: C0 and C1 controls (ESC starts colour and cursor
#: moves, CR overwrites a line, BEL rings) and the bidirectional overrides that reorder what is read
_CONTROLS = {*range(0x20), *range(0x7F, 0xA0), 0x61C, 0x200E, 0x200F, *range(0x202A, 0x202F), *range(0x2066, 0x206A)}
_VISIBLE = {code: ascii(chr(code))[1:-1] for code in _CONTROLS}


class Collector:
    """Gathers the independent errors of one parse: each part that fails is recorded and the parse
    goes on with the next part (a layer, a block, a section); :meth:`raise_any` then raises the first
    error found, carrying the others (:attr:`SpecError.others`). Errors caught from a nested collector
    bring their own others with them."""

    #: past this many errors the parse stops (a generated spec with a mistake in every layer)
    LIMIT = 20

    def __init__(self) -> None:
        self.errors: list[SpecError] = []

    def add(self, error: SpecError) -> None:
        self.errors += error.all
        error.others = []
        if len(self.errors) >= self.LIMIT:
            self.raise_any()

    def raise_any(self) -> None:
        if self.errors:
            first, *rest = self.errors
            first.others = rest
            raise first


def printable(text: str, *, newlines: bool = False) -> str:
    """``text`` safe to print: control characters from a spec (a name, a path, a message quoting
    them) become visible escapes, so a file cannot recolour, rewrite or hide what a terminal shows.
    ``newlines`` keeps line breaks (a hint may show lines of YAML).

    >>> print(printable("a\\x1b[31mred\\r"), printable("résumé ✓"))
    a\\x1b[31mred\\r résumé ✓
    """
    if text.isprintable():
        return text
    if newlines:
        return "\n".join(printable(line) for line in text.split("\n"))
    return text.translate(_VISIBLE)


def did_you_mean(word: str, choices: list[str] | tuple[str, ...] | set[str], cutoff: float = 0.6) -> str | None:
    """A ``did you mean 'x'?`` hint for a misspelt name, or ``None`` when nothing is close (``cutoff``:
    difflib's similarity ratio, 0 to 1)."""
    if len(word) > MAX_SUGGESTED:
        return None
    from difflib import SequenceMatcher, get_close_matches

    same = [choice for choice in sorted(choices) if choice.lower() == word.lower()]
    if same:  # only the case differs (Keras' and torch's class names: 'RAdam', 'BatchNorm2d')
        return f"did you mean '{same[0]}'?"
    close = get_close_matches(word, sorted(choices), n=5, cutoff=cutoff)
    if not close:
        return None
    # several equally close ('batchnrm': batchnorm1d, 2d and 3d) are all offered
    ratios = [SequenceMatcher(None, word, choice).ratio() for choice in close]
    tied = [f"'{choice}'" for choice, ratio in sorted(zip(close, ratios)) if ratio == ratios[0]]
    return f"did you mean {', '.join(tied[:-1])} or {tied[-1]}?" if len(tied) > 1 else f"did you mean {tied[0]}?"


#: the longest word a did-you-mean looks for: difflib indexes the word character by character for each
#: lookup, which for a 9.9 MB unknown kind took seconds, and nobody misspells a name that long
MAX_SUGGESTED = 200


def close_match(word: str, choices: list[str] | tuple[str, ...] | set[str], cutoff: float = 0.6) -> str | None:
    """The choice most like ``word`` (difflib's ratio at least ``cutoff``), or None; None at once for a
    word longer than :data:`MAX_SUGGESTED`. A choice much longer than the word is never compared
    character by character (difflib's length bound rules it out first), so the work is bounded too."""
    if len(word) > MAX_SUGGESTED:
        return None
    from difflib import get_close_matches

    close = get_close_matches(word, sorted(choices), n=1, cutoff=cutoff)
    return close[0] if close else None


def choices_hint(word: str, choices: list[str] | tuple[str, ...] | set[str], what: str) -> str:
    """A did-you-mean when one fits, else the list of valid ``what``."""
    return did_you_mean(word, choices) or f"valid {what}: {', '.join(sorted(choices))}"
