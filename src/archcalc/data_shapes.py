"""``archcalc train --data shapes``: synthetic segmentation, circles and squares on noise, a class per pixel.

Each image is Gaussian noise (standard deviation :data:`NOISE`) with one to three shapes drawn on it, each a
filled circle or an axis-aligned filled square of a random size (radius or half side 1/8 to 1/4 of the image),
place and brightness (0.6 to 1.0 above the background); a shape that would overlap one drawn before is left
out, so every outline is whole. Each pixel's target is its class: 0 background, 1 circle, 2 square. The
network must tell a circle from a square by its outline, since both are equally bright.
The images have the spec's input shape ``[C, H, W]`` (the same picture in every channel, each channel with its
own noise). The data set is the same on every machine: :data:`SAMPLES` images drawn from NumPy's PCG64 with
seed :data:`SEED`, whatever the run's ``--seed`` (which shuffles and splits them).
"""

from __future__ import annotations

import numpy as np

#: images in the data set, the seed that draws them and the background noise's standard deviation
SAMPLES, SEED, NOISE = 1500, 0, 0.3
#: the classes, by target value
CLASSES = ("background", "circle", "square")
#: the inputs this data set fills (the hint of the error when a spec's input is another)
FITS = "a segmentation network takes [C, H, W] images of at least 16×16, e.g. input: [1, 32, 32]"


def unfit(input_shape: tuple[int, ...]) -> str | None:
    """Why a network taking ``input_shape`` cannot train on this data set, or None when it can."""
    if len(input_shape) != 3:
        return f"the images are [C, H, W], but the input is {list(input_shape)}"
    if min(input_shape[1:]) < 16:
        return f"the shapes need images of at least 16×16 pixels, but the input is {list(input_shape)}"
    return None


def draw(rng: np.random.Generator, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """One picture without noise ([H, W] brightness) and its per-pixel classes ([H, W] int64)."""
    picture = np.zeros((height, width))
    classes = np.zeros((height, width), dtype=np.int64)
    rows, cols = np.mgrid[0:height, 0:width]
    small = min(height, width)
    for _ in range(int(rng.integers(1, 4))):
        kind = int(rng.integers(1, 3))
        size = rng.uniform(small / 8, small / 4)  # a circle's radius, half a square's side
        cy, cx = rng.uniform(size, height - size), rng.uniform(size, width - size)
        if kind == 1:
            inside = (rows + 0.5 - cy) ** 2 + (cols + 0.5 - cx) ** 2 <= size * size
        else:
            inside = (np.abs(rows + 0.5 - cy) <= size) & (np.abs(cols + 0.5 - cx) <= size)
        brightness = rng.uniform(0.6, 1.0)
        if (classes[inside] > 0).any():  # shapes never overlap: an outline stays whole (the draws are made anyway)
            continue
        picture[inside] = brightness
        classes[inside] = kind
    return picture, classes


def make(input_shape: tuple[int, ...], samples: int = SAMPLES, seed: int = SEED) -> tuple[np.ndarray, np.ndarray]:
    """``samples`` images ``[N, C, H, W]`` (float32) and their classes ``[N, H, W]`` (int64)."""
    channels, height, width = (int(d) for d in input_shape)
    rng = np.random.default_rng(seed)
    x = np.empty((samples, channels, height, width), dtype=np.float32)
    y = np.empty((samples, height, width), dtype=np.int64)
    for i in range(samples):
        picture, y[i] = draw(rng, height, width)
        x[i] = picture + rng.normal(0.0, NOISE, (channels, height, width))
    return x, y
