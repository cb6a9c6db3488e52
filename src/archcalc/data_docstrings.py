"""``archcalc train --data docstrings``: text every machine with Python has, for a character-level language model.

The text is the docstrings of the Python standard library's top-level modules (:data:`sys.stdlib_module_names`,
sorted; each a ``NAME.py`` file or a package's ``NAME/__init__.py`` in the library directory of the Python that
runs archcalc), each module's own docstring then its classes' and functions' in source order, joined by blank
lines. The sources are read and parsed with :mod:`ast`, never imported, so nothing runs (``antigravity`` opens a
browser when imported; ``this`` prints). Modules whose names start with ``_`` (implementation details) are left
out, as is a file that cannot be read or parsed. Nothing is random: the same Python gives the same text.

The vocabulary is the text's distinct characters in code-point order (about 100 for CPython 3.11), each
character's id its place in that order. The text is cut into consecutive windows of T characters (T, the
spec's input ``[T]``); a window's targets are the T characters that follow each of its characters (the window
shifted by one), so the network's output ``[T, V]`` has a class per position.
"""

from __future__ import annotations

import ast
import functools
import os
import sys
import sysconfig
from collections import Counter

import numpy as np


def module_files() -> list[str]:
    """The source file of every public top-level standard-library module that is written in Python, sorted by name."""
    root = sysconfig.get_paths()["stdlib"]
    files = []
    for name in sorted(sys.stdlib_module_names):
        if name.startswith("_"):
            continue
        for path in (os.path.join(root, f"{name}.py"), os.path.join(root, name, "__init__.py")):
            if os.path.isfile(path):
                files.append(path)
                break
    return files


def docstrings(tree: ast.AST) -> list[str]:
    """The docstrings of a module, its classes and its functions (methods and nested ones too), in source order."""
    found = []
    if isinstance(tree, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
        text = ast.get_docstring(tree)
        if text:
            found.append(text)
    for child in ast.iter_child_nodes(tree):
        found += docstrings(child)
    return found


@functools.cache
def text() -> str:
    """Every docstring of :func:`module_files`, joined by blank lines."""
    parts = []
    for path in module_files():
        try:
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
            continue
        parts += docstrings(tree)
    return "\n\n".join(parts)


def vocabulary(source: str) -> str:
    """The distinct characters of ``source`` in code-point order: character ``vocabulary[i]`` has id ``i``."""
    return "".join(sorted(set(source)))


def unigram_entropy(source: str) -> float:
    """The entropy of the character distribution of ``source`` in nats per character: the cross-entropy a
    model that ignores context (it predicts every character with its frequency) reaches, the baseline a
    language model must beat."""
    counts = np.array(list(Counter(source).values()), dtype=np.float64)
    p = counts / counts.sum()
    return float(-(p * np.log(p)).sum())


def windows(source: str, length: int) -> tuple[np.ndarray, np.ndarray]:
    """Consecutive windows of ``length`` character ids (x) and the ids that follow each (y, x shifted by one):
    both ``[N, length]`` int64, ``N = (len(source) − 1) // length``."""
    ids = {c: i for i, c in enumerate(vocabulary(source))}
    codes = np.array([ids[c] for c in source], dtype=np.int64)
    n = (len(codes) - 1) // length
    x = codes[:n * length].reshape(n, length)
    y = codes[1:n * length + 1].reshape(n, length)
    return x, y


#: the inputs this data set fills (the hint of the error when a spec's input is another)
FITS = "a character-level model takes [T] character ids, e.g. input: [T] with symbols: {T: 64}"


def unfit(input_shape: tuple[int, ...]) -> str | None:
    """Why a network taking ``input_shape`` cannot train on this data set, or None when it can."""
    if len(input_shape) != 1:
        return f"the text comes in windows of T character ids, but the input is {list(input_shape)}"
    if input_shape[0] < 1 or input_shape[0] >= len(text()):
        return f"a window of {input_shape[0]} characters does not fit the text's {len(text()):,}"
    return None


def make(input_shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The data set for a network whose input is ``[T]`` character ids: :func:`windows` of the docstrings."""
    (length,) = input_shape
    return windows(text(), int(length))


def baseline() -> float:
    """The unigram baseline of this data set: :func:`unigram_entropy` of the whole text, nats per character."""
    return unigram_entropy(text())
