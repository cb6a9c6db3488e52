"""Backends turn a built graph into something that runs: a PyTorch module, an ONNX file, NumPy code.

Each backend keeps a table from layer kind to emitter, one entry per kind, and a test checks that
every registered kind has an entry. ``EXPORTERS`` lists what ``archcalc export --to`` can write;
each entry names a module whose ``export(model, path, force)`` writes the file.
"""

from __future__ import annotations

#: --to target → (module, function, default file suffix)
EXPORTERS: dict[str, tuple[str, str, str]] = {
    "torch": ("archcalc.backends.torch.source", "export", ".py"),
    "onnx": ("archcalc.backends.onnx", "export", ".onnx"),
    "numpy": ("archcalc.backends.numpy.source", "export", ".py"),
}
#: suffixes of the exports that are text, which ``export -o -`` prints; any other is binary
TEXT_SUFFIXES = (".py",)
#: --to target → the optional packages its export imports (the ONNX file's weights come from torch)
NEEDS: dict[str, tuple[str, ...]] = {"torch": ("torch",), "onnx": ("onnx", "torch"), "numpy": ("numpy",)}


def check_depth(model, limit: int, target: str) -> None:
    """Refuse, with a located error, a graph nested deeper than generated source can express.

    A source exporter writes each level of nesting as brackets inside brackets, and Python's parser
    stops at 200 nested brackets ("too many nested parentheses"): each exporter states how many graph
    levels it can write and a test exports its worst case at exactly that depth.
    """
    from archcalc.errors import SpecError

    deepest, depth = max(model.graph.walk(), key=lambda pair: pair[1])
    if depth > limit:
        raise SpecError(deepest.loc, f"`{deepest.path}` is nested {depth} levels deep; the {target} export writes "
                        f"at most {limit} (Python cannot parse brackets nested deeper)", code="export-unsupported",
                        hint="flatten some blocks or named groups; the calculators and archcalc.to_torch have no "
                        "such limit")

