"""``python -m archcalc`` is the ``archcalc`` command."""

from archcalc.cli import main

main(prog_name="archcalc")
