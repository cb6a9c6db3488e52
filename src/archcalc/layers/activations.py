"""Temporary: the activations now live one kind per file (``relu.py``, ``sigmoid.py``, …).

Only ``archcalc.lint.structure`` still imports ``Sigmoid`` from here; once it imports
``archcalc.layers.sigmoid``, delete this file.
"""

from archcalc.layers.sigmoid import Sigmoid

__all__ = ["Sigmoid"]
