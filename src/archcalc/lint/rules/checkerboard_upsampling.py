"""A transposed convolution whose kernel is not a multiple of its stride paints a checkerboard.

## What it does
Reports a `conv_transpose1d/2d/3d` with a stride above 1 whose effective kernel d(F − 1) + 1 is
not a multiple of the stride along some axis. Each input position scatters a kernel-wide patch
every S output positions, so the patches overlap unevenly: some outputs receive ⌈k/S⌉
contributions and their neighbours ⌊k/S⌋.

## Why is this bad?
The uneven overlap gives neighbouring outputs systematically different magnitudes: the
checkerboard artifacts of generated images, decoders and super-resolution (Odena, Dumoulin and
Olah 2016). Training can learn to hide them but rarely does completely. A kernel that the stride
divides (4 with stride 2, 2 with stride 2, as a U-Net's up-convolution) overlaps evenly, and
resize-then-convolve (`upsample` followed by a convolution) cannot produce them at all. It is
information, not a warning: widely used generators and decoders (CycleGAN's and pix2pix's ResNet
generator, ERFNet, LinkNet) upsample with kernel 3, stride 2 and train well.

## Example
```yaml
input: [64, 16, 16]
layers:
  - conv_transpose2d: {out: 32, kernel: 3, stride: 2, padding: 1, output_padding: 1}
  - relu
```

Use instead:
```yaml
input: [64, 16, 16]
layers:
  - conv_transpose2d: {out: 32, kernel: 4, stride: 2, padding: 1}
  - relu
```

## References
- Odena, Dumoulin and Olah, "Deconvolution and Checkerboard Artifacts", Distill 2016.
- Dumoulin & Visin, "A guide to convolution arithmetic for deep learning", 2016, §4 (transposed convolution).
"""

from __future__ import annotations

from collections.abc import Iterator

from archcalc import symbolic
from archcalc.layers.conv_transpose import ConvTranspose
from archcalc.lint.context import Context
from archcalc.lint.diagnostic import INFO, Finding

SEVERITY = INFO  # a risk, not a fault: CycleGAN, pix2pix and ERFNet upsample with kernel 3, stride 2 and train well
#: runs on the layers that built when a later one does not
PREFIX = True


def check(ctx: Context) -> Iterator[Finding]:
    for node in ctx.layers:
        layer = node.layer
        if not isinstance(layer, ConvTranspose):
            continue
        uneven = [f"{k} along {name} with stride {s}" for name, k, s in
                  zip(layer.axis_names, layer.effective_kernel(), layer.strides)
                  if symbolic.is_int(k) and symbolic.is_int(s) and s > 1 and k % s]
        if uneven:
            yield Finding(node.loc, f"`{node.path}` ({node.kind}) has a kernel its stride does not divide "
                          f"({', '.join(uneven)}): its patches overlap unevenly, a checkerboard pattern",
                          hint="use a kernel that is a multiple of the stride (kernel 4, stride 2), or "
                          "upsample followed by a convolution")
