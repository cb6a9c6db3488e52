"""``python -m archcalc`` is the ``archcalc`` command."""

from archcalc.cli import run

run()
