"""Training curves as a PNG, drawn with NumPy and written with zlib (no plotting library needed).

Two panels side by side, loss and accuracy per epoch, training in blue and validation in orange,
with the axis ranges written in a 3×5 pixel font. Small on purpose: enough to see a model learn,
overfit or stall.
"""

from __future__ import annotations

import itertools
import struct
import zlib

import numpy as np

WIDTH, HEIGHT, SCALE = 900, 380, 2
BLUE, ORANGE, GREY, INK, WHITE = (31, 119, 180), (255, 127, 14), (225, 225, 225), (40, 40, 40), (255, 255, 255)

_GLYPHS = {  # 3 columns × 5 rows each
    "0": "###|#.#|#.#|#.#|###", "1": ".#.|##.|.#.|.#.|###", "2": "###|..#|###|#..|###", "3": "###|..#|###|..#|###",
    "4": "#.#|#.#|###|..#|..#", "5": "###|#..|###|..#|###", "6": "###|#..|###|#.#|###", "7": "###|..#|..#|..#|..#",
    "8": "###|#.#|###|#.#|###", "9": "###|#.#|###|..#|###", ".": "...|...|...|...|.#.", "-": "...|...|###|...|...",
    "%": "#.#|..#|.#.|#..|#.#", " ": "...|...|...|...|...", "A": ".#.|#.#|###|#.#|#.#", "C": "###|#..|#..|#..|###",
    "D": "##.|#.#|#.#|#.#|##.", "E": "###|#..|###|#..|###", "H": "#.#|#.#|###|#.#|#.#", "I": "###|.#.|.#.|.#.|###",
    "L": "#..|#..|#..|#..|###", "N": "##.|#.#|#.#|#.#|#.#", "O": ".#.|#.#|#.#|#.#|.#.", "P": "###|#.#|###|#..|#..",
    "R": "##.|#.#|##.|#.#|#.#", "S": "###|#..|###|..#|###", "T": "###|.#.|.#.|.#.|.#.", "U": "#.#|#.#|#.#|#.#|###",
    "V": "#.#|#.#|#.#|#.#|.#.", "Y": "#.#|#.#|.#.|.#.|.#.",
}


def curves_png(epochs: list[int], series: dict[str, dict[str, list[float | None]]], best: int | None = None) -> bytes:
    """``series`` = {panel title: {"train": values, "validation": values}}, one value (or None) per epoch;
    ``best`` marks an epoch with a vertical line (the one early stopping kept)."""
    image = np.full((HEIGHT, WIDTH, 3), WHITE, dtype=np.uint8)
    panels = [(title, lines) for title, lines in series.items() if any(v is not None for vs in lines.values()
                                                                       for v in vs)]
    width = WIDTH // max(len(panels), 1)
    for i, (title, lines) in enumerate(panels):
        _panel(image, i * width, width, title, epochs, lines, best)
    _text(image, WIDTH - 190, 12, "TRAIN", BLUE)
    _text(image, WIDTH - 120, 12, "VALIDATION", ORANGE)
    return _png(image)


def _panel(image: np.ndarray, left: int, width: int, title: str, epochs: list[int],
           lines: dict[str, list[float | None]], best: int | None) -> None:
    x0, x1, y0, y1 = left + 60, left + width - 20, 40, HEIGHT - 40
    values = [v for vs in lines.values() for v in vs if v is not None]
    low, high = min(values), max(values)
    if high - low < 1e-12:
        low, high = low - 0.5, high + 0.5
    first, last = epochs[0], max(epochs[-1], epochs[0] + 1)
    for k in range(5):  # grid
        y = round(y0 + k * (y1 - y0) / 4)
        image[y, x0:x1] = GREY
        _text(image, left + 4, y - 5, _number(high - k * (high - low) / 4), INK)
    if best is not None:
        x = round(x0 + (best - first) / (last - first) * (x1 - x0))
        image[y0:y1:4, x] = INK  # dotted
    image[y0:y1 + 1, x0] = INK
    image[y1, x0:x1 + 1] = INK
    _text(image, x0, y1 + 10, str(first), INK)
    _text(image, x1 - 6 * len(str(last)), y1 + 10, str(last), INK)
    _text(image, (x0 + x1) // 2 - 15, y1 + 10, "EPOCH", INK)
    _text(image, x0, 14, title.upper(), INK)
    for name, color in (("train", BLUE), ("validation", ORANGE)):
        points = [(x0 + (e - first) / (last - first) * (x1 - x0), y1 - (v - low) / (high - low) * (y1 - y0))
                  for e, v in zip(epochs, lines.get(name, [])) if v is not None]
        for (ax, ay), (bx, by) in itertools.pairwise(points):
            _segment(image, ax, ay, bx, by, color)
        if points:  # a dot on the last value
            px, py = points[-1]
            image[int(py) - 2:int(py) + 3, int(px) - 2:int(px) + 3] = color


def _number(value: float) -> str:
    return f"{value:.3g}" if abs(value) < 1000 else f"{value:.0f}"


def _segment(image: np.ndarray, ax: float, ay: float, bx: float, by: float, color: tuple[int, int, int]) -> None:
    """A 2-pixel line: points sampled densely along the segment (vectorised, no per-pixel loop)."""
    steps = int(max(abs(bx - ax), abs(by - ay))) * 2 + 2
    t = np.linspace(0, 1, steps)
    xs, ys = np.rint(ax + t * (bx - ax)).astype(int), np.rint(ay + t * (by - ay)).astype(int)
    for dy in (0, 1):
        image[np.clip(ys + dy, 0, HEIGHT - 1), np.clip(xs, 0, WIDTH - 1)] = color


def _text(image: np.ndarray, x: int, y: int, text: str, color: tuple[int, int, int]) -> None:
    for i, char in enumerate(text):
        rows = _GLYPHS.get(char, _GLYPHS[" "]).split("|")
        mask = np.array([[c == "#" for c in row] for row in rows]).repeat(SCALE, 0).repeat(SCALE, 1)
        top, left = y, x + i * 4 * SCALE
        patch = image[top:top + mask.shape[0], left:left + mask.shape[1]]
        patch[mask[:patch.shape[0], :patch.shape[1]]] = color


def _png(image: np.ndarray) -> bytes:
    height, width, _ = image.shape
    raw = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, -1)], axis=1).tobytes()

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)  # 8-bit RGB
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b"")
